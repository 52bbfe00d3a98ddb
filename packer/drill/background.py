"""A ``drill: true`` profile's drill after a backup made from the web UI, in a process of its own.

A drill restores the whole site (seconds for a small site, minutes for a big one): it cannot
live inside a web request, and closing the page or restarting the server must not stop it.
``start`` runs ``python -m packer.drill.background ID`` in a session of its own, which runs
the CLI's own ``record.drill_backup`` (one drill per profile at a time, its status for the
pages, its result on the record, cleanup even when killed: ``run.py``, ``status.py``).

The archive key a user typed for the backup reaches the child through a pipe on its
standard input, read before anything else: never its command line (``ps`` shows every
user's), never its environment. Its output, the drill's steps and report (no secret in
either), goes to ``logs/drill-ID.log`` (0600).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading

from restorer.errors import SitepackError

from ..home import data_dir, logs_dir
from . import status


def start(record_id: int, archive_key: str | None) -> None:
    """Starts the drill of backup ``record_id`` and returns at once (see the module docstring)."""
    log = os.open(logs_dir() / f"drill-{int(record_id)}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        child = subprocess.Popen([sys.executable, "-m", __name__, str(int(record_id))],
                                 stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                                 cwd=data_dir(), start_new_session=True, close_fds=True)
    finally:
        os.close(log)
    status.announce(record_id, child.pid)   # before the child may begin: it waits for its stdin
    child.stdin.write((archive_key or "").encode("utf-8"))
    child.stdin.close()
    # Waited for, so it never lingers as a zombie that looks alive to ``status.read``.
    threading.Thread(target=child.wait, name=f"drill-{record_id}", daemon=True).start()


def _main(record_id: int) -> int:
    from .record import drill_backup, store_unrun
    from .run import Interrupted
    archive_key = sys.stdin.buffer.read().decode("utf-8") or None   # whatever the locale

    def say(line: str) -> None:
        print(f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M:%S} {line}", flush=True)

    try:
        report = drill_backup(record_id, archive_key, say)
    except Interrupted as exc:   # stored as interrupted on the record
        say(str(exc))
        return 1
    except SitepackError as exc:
        say(f"error: {exc}")
        store_unrun(record_id, str(exc))
        return 1
    print(report.text(), flush=True)
    return report.exit_code


if __name__ == "__main__":
    sys.exit(_main(int(sys.argv[1])))
