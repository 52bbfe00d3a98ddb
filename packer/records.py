"""Backup records (B10): one row per backup attempt in ``<data dir>/records.sqlite``.

Statuses: ``pending`` (running or interrupted), ``ok``, ``failed``, ``obsolete`` (files
deleted, record kept), ``remote`` (files only elsewhere), ``upload-pending`` (the archive
is complete but some parts are not yet stored off-site: ``sitepack backups upload ID``).
``offsite`` says where the parts went (``offsite_info``). A ``frozen`` record can
neither be deleted nor lose its files. File deletion is confined: a record's parts are
plain file names inside its output directory and its log lies in the logs folder;
anything else is refused instead of deleted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from restorer.errors import SitepackError

from .home import jobs_dir, logs_dir, records_path
from .logs import log_path_for

STATUSES = ("pending", "ok", "failed", "obsolete", "remote", "upload-pending")
#: Statuses of a backup whose archive was made completely.
FINISHED = ("ok", "obsolete", "remote", "upload-pending")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS backups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    description TEXT NOT NULL DEFAULT '',
    comment TEXT NOT NULL DEFAULT '',
    origin TEXT NOT NULL DEFAULT 'cli',
    type TEXT NOT NULL,
    format TEXT NOT NULL,
    profile TEXT NOT NULL DEFAULT 'default',
    site_root TEXT NOT NULL DEFAULT '',
    archive_name TEXT NOT NULL DEFAULT '',
    parts TEXT NOT NULL DEFAULT '[]',
    output_dir TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL DEFAULT 0,
    started TEXT NOT NULL,
    finished TEXT,
    duration REAL NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending',
    frozen INTEGER NOT NULL DEFAULT 0,
    log_path TEXT NOT NULL DEFAULT '',
    warnings INTEGER NOT NULL DEFAULT 0,
    warning_messages TEXT NOT NULL DEFAULT '[]',
    error TEXT
)
"""
#: Columns added after the first release: name → definition (added to older files).
_ADDED_COLUMNS = {"offsite": "TEXT NOT NULL DEFAULT '{}'"}


@dataclasses.dataclass
class Record:
    id: int
    description: str
    comment: str
    origin: str
    type: str
    format: str
    profile: str
    site_root: str
    archive_name: str
    parts: list[str]
    output_dir: str
    size: int
    started: str
    finished: str | None
    duration: float
    status: str
    frozen: bool
    log_path: str
    warnings: int
    warning_messages: list[str]
    error: str | None
    offsite: dict = dataclasses.field(default_factory=dict)

    def part_paths(self) -> list[Path]:
        """The parts as paths, each checked to be a plain name inside the output dir."""
        return [_inside(Path(self.output_dir), name) for name in self.parts]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _inside(folder: Path, name: str) -> Path:
    if not name or "/" in name or "\\" in name or name in (".", "..") or "\0" in name:
        raise SitepackError(f"the record names the file {name!r}, which is not a plain file "
                            f"name; refusing to touch it")
    return folder / name


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


@contextlib.contextmanager
def _db():
    path = records_path()
    fresh = not path.exists()
    conn = sqlite3.connect(path, timeout=30)
    try:
        if fresh:
            os.chmod(path, 0o600)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(_SCHEMA)
        present = {row[1] for row in conn.execute("PRAGMA table_info(backups)")}
        for name, definition in _ADDED_COLUMNS.items():
            if name not in present:
                conn.execute(f"ALTER TABLE backups ADD COLUMN {name} {definition}")
        with conn:
            yield conn
    finally:
        conn.close()


def _from_row(row: sqlite3.Row) -> Record:
    data = dict(row)
    data["parts"] = json.loads(data["parts"])
    data["warning_messages"] = json.loads(data["warning_messages"])
    data["offsite"] = json.loads(data["offsite"])
    data["frozen"] = bool(data["frozen"])
    return Record(**data)


def create(**fields) -> Record:
    """A new ``pending`` record (fields as ``creating`` takes them)."""
    with creating(**fields) as record:
        return record


@contextlib.contextmanager
def creating(*, type: str, format: str, description: str = "", comment: str = "",
             origin: str = "cli", profile: str = "default", site_root: str = "",
             output_dir: str = "", archive_name: str = "", logged: bool = False
             ) -> Iterator[Record]:
    """A new ``pending`` record that exists for others only once the block ends without
    an exception: a process killed inside it leaves no record (the insert is rolled
    back, and the next record gets the same id). The block holds the database's write
    lock, so it must be short and must not write records itself. ``logged``: the record
    names its log (``logs.log_path_for``)."""
    with _db() as conn:
        conn.row_factory = sqlite3.Row
        cur = conn.execute(
            "INSERT INTO backups (description, comment, origin, type, format, profile, site_root,"
            " output_dir, archive_name, started, status) VALUES (?,?,?,?,?,?,?,?,?,?,'pending')",
            (description, comment, origin, type, format, profile, site_root, output_dir,
             archive_name, utc_now()))
        if logged:
            conn.execute("UPDATE backups SET log_path = ? WHERE id = ?",
                         (str(log_path_for(cur.lastrowid)), cur.lastrowid))
        row = conn.execute("SELECT * FROM backups WHERE id = ?", (cur.lastrowid,)).fetchone()
        yield _from_row(row)


def status_after_upload(offsite: dict, local: list[Path]) -> str:
    """A complete backup's status from where its parts are: ``upload-pending`` while one
    is not stored off-site, ``remote`` once none is left locally, else ``ok`` (both)."""
    if offsite.get("error") or not all(p["stored"] for p in offsite["parts"].values()):
        return "upload-pending"
    return "ok" if local else "remote"


def get(record_id: int) -> Record:
    with _db() as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM backups WHERE id = ?", (int(record_id),)).fetchone()
    if row is None:
        raise SitepackError(f"there is no backup record #{record_id} (see `sitepack backups list`)")
    return _from_row(row)


def update(record_id: int, **fields) -> Record:
    allowed = {f.name for f in dataclasses.fields(Record)} - {"id"}
    bad = set(fields) - allowed
    if bad:
        raise ValueError(f"unknown record fields: {sorted(bad)}")
    if "status" in fields and fields["status"] not in STATUSES:
        raise ValueError(f"unknown status {fields['status']!r}")
    for name in ("parts", "warning_messages"):
        if name in fields:
            fields[name] = json.dumps(list(fields[name]))
    if "offsite" in fields:
        fields["offsite"] = json.dumps(fields["offsite"])
    if "frozen" in fields:
        fields["frozen"] = int(bool(fields["frozen"]))
    if fields:
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with _db() as conn:
            conn.execute(f"UPDATE backups SET {assignments} WHERE id = ?",
                         (*fields.values(), int(record_id)))
    return get(record_id)


def list_records() -> list[Record]:
    """All records, newest first."""
    with _db() as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM backups ORDER BY id DESC").fetchall()
    return [_from_row(r) for r in rows]


def refuse_frozen(record: Record, action: str) -> None:
    if record.frozen:
        raise SitepackError(f"backup #{record.id} is frozen and cannot be {action}; unfreeze it "
                            f"first (Unfreeze in Manage Backups, or sitepack backups freeze "
                            f"{record.id} --unfreeze)")


def _delete_parts(record: Record) -> None:
    for path in record.part_paths():
        path.unlink(missing_ok=True)


def _delete_log(record: Record) -> None:
    if not record.log_path:
        return
    log = Path(record.log_path)
    if log.parent.resolve() != logs_dir().resolve():
        raise SitepackError(f"the log of backup #{record.id} ({log}) is outside sitepack's log "
                            f"folder; refusing to delete it")
    log.unlink(missing_ok=True)


def delete_files(record_id: int) -> Record:
    """Deletes the local archive parts; the record stays, as ``obsolete`` (``remote``
    when every part is stored off-site).

    A failed backup has no archive to keep: its files are its log (failures keep the log
    until the user clears it, as the backup page documentation describes), so the log
    goes and the record stays ``failed``.
    """
    record = get(record_id)
    refuse_frozen(record, "emptied")
    if record.status == "pending":
        raise SitepackError(f"backup #{record.id} is still running or interrupted; resume it "
                            f"(sitepack backup --resume {record.id}) or delete it")
    _delete_parts(record)
    if record.status == "failed":
        _delete_log(record)
        return get(record_id)
    if record.offsite and status_after_upload(record.offsite, []) == "remote":
        return update(record_id, status="remote")  # the off-site copy is still whole
    return update(record_id, status="obsolete")


def delete(record_id: int) -> None:
    """Deletes the archive parts, the log, any leftover working folder and the record."""
    record = get(record_id)
    refuse_frozen(record, "deleted")
    _delete_parts(record)
    _delete_log(record)
    shutil.rmtree(jobs_dir() / str(record.id), ignore_errors=True)
    with _db() as conn:
        conn.execute("DELETE FROM backups WHERE id = ?", (record.id,))


def freeze(record_id: int, frozen: bool = True) -> Record:
    get(record_id)
    return update(record_id, frozen=frozen)


def unfreeze(record_id: int) -> Record:
    return freeze(record_id, False)
