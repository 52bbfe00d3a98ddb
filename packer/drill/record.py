"""A drill's result kept for its backup record: one private JSON file per record id, read by
Manage Backups and ``sitepack backups`` ("restorable: verified 2026-12-07, ...")."""

from __future__ import annotations

import json
from pathlib import Path

from restorer.privatefile import write_private_json

from ..home import data_dir, private_dir


def _path(record_id: int) -> Path:
    return private_dir(data_dir() / "drill-results") / f"{int(record_id)}.json"


def store(record_id: int, report) -> None:
    """Keeps ``report`` (a ``DrillReport``) as the latest drill of backup ``record_id``."""
    write_private_json(_path(record_id), report.to_dict())


def drill_backup(record_id: int, archive: Path, password: str | None, say=lambda line: None):
    """The drill a ``drill: true`` profile runs right after backup ``record_id``; stored, returned."""
    from .run import drill
    report = drill(archive, password=password, earlier=load(record_id), say=say)
    store(record_id, report)
    return report


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
