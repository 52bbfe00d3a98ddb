"""Runs a dump or an import in small slices, saving state after each, until done.

Used by the kill-and-resume tests: the test SIGKILLs this process at random moments and
starts it again; each start resumes from the last saved state. Usage:
``python slice_driver.py JOB_DIR`` with ``JOB_DIR/job.json`` describing the work and the
database password in the environment variable ``SITEPACK_TEST_DB_PASSWORD``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from packer.dump import Dumper, DumpOptions  # noqa: E402
from restorer.db import DbConnectionInfo  # noqa: E402
from restorer.dbimport.importer import Importer  # noqa: E402


def save(path: Path, state: dict) -> None:
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(state))
    os.replace(temp, path)


def main(job_dir: Path) -> None:
    job = json.loads((job_dir / "job.json").read_text())
    info = DbConnectionInfo.from_public_dict(job["connection"], os.environ["SITEPACK_TEST_DB_PASSWORD"])
    state_path = job_dir / "state.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else None
    if job["kind"] == "dump":
        worker = Dumper.resume(state, info) if state else \
            Dumper(info, Path(job["out_dir"]), DumpOptions(**job["options"]))
    else:
        worker = Importer.resume(state, info) if state else \
            Importer(info, Path(job["sql_dir"]), job["entry"], new_prefix=job["new_prefix"])
    while not worker.run(budget_seconds=job["budget"]):
        save(state_path, worker.state())
        print("saved", flush=True)  # lets the test kill after a chosen number of slices
    save(state_path, worker.state())
    if job["kind"] == "dump":
        (job_dir / "entry.json").write_text(json.dumps(worker.databases_json_entry()))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
