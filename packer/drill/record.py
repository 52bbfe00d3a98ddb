"""A drill's result kept for its backup record: one private JSON file per record id, read by
Manage Backups and ``sitepack backups`` ("restorable: verified 2026-12-07, ...")."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from restorer.errors import SitepackError
from restorer.privatefile import write_private_json

from .. import records
from ..home import data_dir, private_dir


def _path(record_id: int) -> Path:
    return private_dir(data_dir() / "drill-results") / f"{int(record_id)}.json"


def store(record_id: int, report) -> None:
    """Keeps ``report`` (a ``DrillReport``) as the latest drill of backup ``record_id``."""
    write_private_json(_path(record_id), report.to_dict())


def drill_backup(record_id: int, password: str | None, say=lambda line: None, **options):
    """Drills backup ``record_id`` (``options``: ``drill()``'s ``db``, ``check_pages``), stores
    and returns the report: ``sitepack drill --backup ID`` and a ``drill: true`` profile's
    drill right after a backup. Parts deleted from this disk once stored off-site are
    fetched into the drill's own folder; the record and its output folder stay as they are."""
    from .run import drill
    record = records.get(record_id)
    parts = record.part_paths()
    local = bool(parts) and all(p.is_file() for p in parts)
    if not local and not record.offsite:
        raise SitepackError(f"the archive files of backup #{record_id} are not on this machine "
                            f"and it has no off-site copy")
    fetch = None if local else (lambda folder: _fetch(record, folder))
    report = drill(parts[-1], password=password, earlier=load(record_id), fetch=fetch, say=say, **options)
    store(record_id, report)
    return report


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
    """"restorable: verified 2026-12-07, 14,625 files, 81 tables, 12 pages", or "" when never drilled."""
    result = load(record_id)
    return str(result.get("summary", "")) if result else ""


def load(record_id: int) -> dict | None:
    """The latest drill of backup ``record_id`` (``DrillReport.to_dict()``), None when never drilled."""
    try:
        return json.loads(_path(record_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
