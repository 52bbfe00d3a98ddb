"""A drill of a backup whose parts were deleted from this disk once stored off-site (a real
S3 server, moto on loopback): fetched into the drill's own folder, checked, removed with it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from packer import profiles, records
from tests.drill.test_drill import drill_databases, drill_leftovers
from tests.restore.bundles import demo_site  # noqa: F401 (fixture)
from tests.storage.test_s3_offsite import _local_parts, _only_record


def _run(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(["sitepack", *map(str, args)], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})


def _drill_backup(mariadb, record_id: int) -> tuple[subprocess.CompletedProcess, dict]:
    """``sitepack drill --backup ID --json``, its throwaway database on the test server."""
    result = _run("drill", "--backup", record_id, "--json", "--db-host", "127.0.0.1",
                  "--db-port", mariadb.port, "--db-user", mariadb.USER,
                  "--db-password-env", "DRILL_DB_PW", env={"DRILL_DB_PW": mariadb.password})
    return result, json.loads(result.stdout)


def _nothing_left(home: Path, mariadb, out: Path) -> None:
    assert drill_leftovers(home) == [] and drill_databases(mariadb) == []
    assert _local_parts(out) == []                       # nothing fetched beside the record
    assert not (home / "downloads").exists()


@pytest.fixture
def remote_backup(s3, demo_site, tmp_path, sitepack_home):  # noqa: F811 (fixture)
    """A split backup of the demo site, every part stored off-site and deleted here, made by a
    ``drill: true`` profile: its drill right after the backup already needs the fetch."""
    profiles.save({"part_size": 256 * 1024, "drill": True,
                   "storage": s3.storage(prefix="drilled", delete_local=True)}, name="offsite")
    out = tmp_path / "backups"
    made = _run("backup", demo_site.root, "--type", "full", "--format", "jpa", "--profile",
                "offsite", "--output-dir", out, "--quiet")
    record = _only_record()
    assert record.status == "remote" and len(record.parts) > 3 and _local_parts(out) == []
    return made, record, out


def test_a_backup_whose_parts_are_only_off_site_drills_green_and_leaves_its_record_as_it_was(
        remote_backup, mariadb, sitepack_home):
    made, record, out = remote_backup
    assert made.returncode == 0, made.stdout + made.stderr
    assert "drill: restorable: verified " in made.stdout

    result, report = _drill_backup(mariadb, record.id)
    assert result.returncode == 0, result.stdout + result.stderr
    assert report["exit_code"] == 0 and report["problems"] == []
    assert report["files"] > 100 and report["tables"] == 12 and report["rows"] > 0
    assert report["database"].startswith("database verified: 12 tables")
    assert records.get(record.id) == record            # still remote, parts still off-site only
    _nothing_left(sitepack_home, mariadb, out)


@pytest.mark.proof("security", "a part altered on the off-site storage, drilled from the record")
def test_a_part_altered_off_site_drills_red_naming_it(remote_backup, s3, mariadb, sitepack_home, proof):
    made, record, out = remote_backup
    key = next(k for k in s3.keys() if k.endswith(record.parts[1]))
    body = bytearray(s3.client.get_object(Bucket=s3.name, Key=key)["Body"].read())
    body[len(body) // 2] ^= 0xFF                        # same size: only the SHA-256 can tell
    s3.client.put_object(Bucket=s3.name, Key=key, Body=bytes(body))
    result, report = _drill_backup(mariadb, record.id)
    assert result.returncode == 1 and report["exit_code"] == 1
    assert record.parts[1] in report["problems"][0], report["problems"]
    assert report["files"] == 0                          # nothing extracted from a bad part
    proof.cases += 1
    assert records.get(record.id) == record
    _nothing_left(sitepack_home, mariadb, out)
    proof.note("1 altered part of 1 split backup: red, the part named, nothing left behind")
