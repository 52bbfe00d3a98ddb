"""A backup record's drill while it runs: which process runs it, the step it is at, and one
drill at a time per profile.

``drill-results/<id>.running.json`` (private) holds the drilling process's PID and start
time, whether it waits its turn or drills, and its current step ("restoring into the
throwaway folder and database"); Manage Backups, the progress page and ``sitepack backups``
read it. The drill removes it when it ends. A drill killed without that chance (SIGKILL,
a power cut, the machine restarted) leaves it behind naming a PID that no longer runs the
same process: ``read`` tells it is stale, so a record never stays "drilling…" for good.

One drill at a time per profile: an exclusive ``flock`` on ``drill-locks/<profile>.lock``,
released by the kernel when its holder dies however it dies. A drill of a profile whose
previous drill still runs waits its turn (queued): every backup of a ``drill: true``
profile is drilled, the newest one included, and two drills never compete for the
machine. Records of other profiles drill side by side.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
from pathlib import Path
from typing import Callable, Iterator

from restorer.privatefile import write_private_json

from ..home import data_dir, private_dir
from .run import start_time


def results_dir() -> Path:
    """Each record's latest drill result and, while one runs, its status (0700)."""
    return private_dir(data_dir() / "drill-results")


def _path(record_id: int) -> Path:
    return results_dir() / f"{int(record_id)}.running.json"


def _lock_path(profile: str) -> Path:
    return private_dir(data_dir() / "drill-locks") / f"{profile}.lock"


def announce(record_id: int, pid: int) -> None:
    """Records that process ``pid`` is about to drill backup ``record_id``: the record shows
    "drill queued" from now on, before the process has even started its work."""
    _write(record_id, _queued(pid))


def read(record_id: int) -> dict | None:
    """The running drill of ``record_id`` (``state`` "queued" or "drilling", ``step``,
    ``started``, ``alive``: False once its process is gone), None when none runs."""
    try:
        status = json.loads(_path(record_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    status["alive"] = status.get("since") is not None and start_time(int(status["pid"])) == status["since"]
    return status


def forget(record_id: int) -> None:
    _path(record_id).unlink(missing_ok=True)


@contextlib.contextmanager
def tracked(record_id: int, profile: str, say: Callable[[str], None]) -> Iterator[Callable[[str], None]]:
    """Runs the drill of ``record_id`` as the only one of ``profile`` (waiting its turn,
    told through ``say``) with its status kept; yields the function that tells its steps
    (to ``say`` and to the status). The status goes when the drill ends."""
    status = _queued(os.getpid())

    def tell(line: str) -> None:
        status["step"] = line
        _write(record_id, status)
        say(line)

    _write(record_id, status)
    lock = open(_lock_path(profile), "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            tell(f"waiting for the drill of backup #{lock.read().strip() or '?'} (profile {profile}) to end")
            fcntl.flock(lock, fcntl.LOCK_EX)
        lock.seek(0)
        lock.truncate()
        lock.write(str(int(record_id)))
        lock.flush()
        status["state"] = "drilling"
        tell("preparing the throwaway folder")
        yield tell
    finally:
        forget(record_id)
        lock.close()   # releases the lock


@contextlib.contextmanager
def idle(profile: str) -> Iterator[bool]:
    """Holds ``profile``'s drill lock if no drill of it runs (True), else yields False at once."""
    with open(_lock_path(profile), "a+", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
        else:
            yield True


def _queued(pid: int) -> dict:
    """The status of a drill by process ``pid`` that has not begun its work."""
    return {"pid": pid, "since": start_time(pid), "state": "queued", "step": "starting the drill",
            "started": _now()}


def _write(record_id: int, status: dict) -> None:
    write_private_json(_path(record_id), status)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
