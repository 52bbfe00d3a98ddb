"""A drill's result kept for its backup record: one private JSON file per record id, read by
Manage Backups and ``sitepack backups`` ("restorable: verified 2026-12-07, ..."); while a
drill runs, its status (``status.py``) stands in for it ("drilling… (extracting ...)")."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from restorer.errors import SitepackError
from restorer.privatefile import write_private_json

from .. import profiles, records
from . import status


def _path(record_id: int) -> Path:
    return status.results_dir() / f"{int(record_id)}.json"


def store(record_id: int, report) -> None:
    """Keeps ``report`` (a ``DrillReport``) as the latest drill of backup ``record_id``."""
    write_private_json(_path(record_id), report.to_dict())


def drill_backup(record_id: int, password: str | None, say=lambda line: None, **options):
    """Drills backup ``record_id`` (``options``: ``drill()``'s ``db``, ``check_pages``), stores
    and returns the report: ``sitepack drill --backup ID`` and a ``drill: true`` profile's
    drill right after a backup (CLI, or the web UI's ``background.py``). One drill of a
    profile at a time: a second waits its turn (``status.tracked``). Without a typed key,
    the profile's default one. Parts deleted from this disk once stored off-site are
    fetched into the drill's own folder; the record and its output folder stay as they are."""
    from .run import Interrupted, drill
    record = records.get(record_id)
    parts = record.part_paths()
    local = bool(parts) and all(p.is_file() for p in parts)
    if not local and not record.offsite:
        raise SitepackError(f"the archive files of backup #{record_id} are not on this machine "
                            f"and it has no off-site copy")
    fetch = None if local else (lambda folder: _fetch(record, folder))
    if password is None:
        password = _default_key(record.profile)
    with status.tracked(record_id, record.profile, say) as tell:
        try:
            report = drill(parts[-1], password=password, earlier=load(record_id), fetch=fetch,
                           say=tell, **options)
        except Interrupted:
            _store_interrupted(record_id, status.read(record_id) or {})
            raise
        store(record_id, report)
    return report


def store_unrun(record_id: int, problem: str) -> None:
    """Keeps why the drill of ``record_id`` could not even start (its archive is gone...)."""
    status.forget(record_id)
    write_private_json(_path(record_id), {"exit_code": 1, "problems": [problem],
                                          "summary": f"NOT drilled: {problem}"})


def _default_key(profile_name: str) -> str | None:
    """The profile's default archive key: the one its backups use when none was typed."""
    try:
        return profiles.load(profile_name).archive_password
    except SitepackError:   # the profile was deleted since
        return None


def _fetch(record: records.Record, folder: Path) -> Path:
    """Every part of ``record`` in ``folder``: those stored off-site downloaded and checked
    against the record's SHA-256s, one never stored copied from this disk (its only copy)."""
    from ..storage.offsite import fetch_backup
    folder.mkdir(mode=0o700)
    stored = record.offsite.get("parts", {})
    for path in record.part_paths():
        if path.is_file() and not stored.get(path.name, {}).get("stored"):
            shutil.copyfile(path, folder / path.name)
    return fetch_backup(record.id, folder)[-1]


def summary(record_id: int) -> str:
    """"restorable: verified 2026-12-07, 14,625 files, 81 tables, 12 pages", "drilling… (...)"
    while a drill runs, "drill interrupted ..." after one was killed, or "" when never drilled."""
    result = latest(record_id)
    return str(result.get("summary", "")) if result else ""


def latest(record_id: int) -> dict | None:
    """The drill of ``record_id`` to show: the running one (``running``: True; ``state``
    "queued" or "drilling", ``step``), else the latest result (``load``), None when never
    drilled. A running drill whose process is gone is stored as interrupted here, and what
    it left (folder, private servers) removed when no other drill of its profile runs."""
    running = status.read(record_id)
    if running is None:
        return load(record_id)
    if running["alive"]:
        title = "drilling…" if running["state"] == "drilling" else "drill queued:"
        return {**running, "running": True, "summary": f"{title} ({running['step']})"
                if running["state"] == "drilling" else f"{title} {running['step']}"}
    result = _store_interrupted(record_id, running)
    status.forget(record_id)
    from .run import cleanup_leftovers
    with status.idle(records.get(record_id).profile) as idle:
        if idle:
            cleanup_leftovers()
    return result


def _store_interrupted(record_id: int, running: dict) -> dict:
    """Keeps "the drill was interrupted" as the drill of ``record_id``: no verdict on the backup."""
    result = {"started": running.get("started", ""), "interrupted": True, "exit_code": None,
              "summary": f"drill interrupted ({running.get('started', '')[:16]} UTC, while "
                         f"{running.get('step', 'starting')}): drill it again with "
                         f"sitepack drill --backup {int(record_id)}"}
    write_private_json(_path(record_id), result)
    return result


def failed(result: dict | None) -> bool:
    """Whether a drill result (``latest``) is shown red: not restorable, or interrupted."""
    return bool(result) and (result.get("exit_code") == 1 or bool(result.get("interrupted")))


def load(record_id: int) -> dict | None:
    """The latest drill of backup ``record_id`` (``DrillReport.to_dict()``), None when never drilled."""
    try:
        return json.loads(_path(record_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
