"""A backup's saved state, typed: what is fixed at the start, where it stands, how to resume.

It is saved whole after every step as ``<data dir>/jobs/<id>/state.json`` (JSON through
``restorer.privatefile``: temp file, fsync, rename, mode 0600, because the archive
writer's checkpoint holds an encrypted format's derived key). A state file written by
another ``STATE_VERSION`` is refused with a clear message, never half-read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from .. import records
from ..profiles import Profile
from ..storage import PartUpload

STATE_VERSION = 2


@dataclasses.dataclass
class SiteSummary:
    """What the backup needs from the site's configuration (never the DB password)."""

    platform: str = "generic"
    platform_version: str | None = None
    name: str = ""
    host: str | None = None
    prefix: str | None = None
    live_site: str | None = None
    tmp_path: str | None = None
    log_path: str | None = None
    db: dict | None = None      # DbConnectionInfo.to_public_dict()


@dataclasses.dataclass
class Settings:
    """Fixed when the backup starts."""

    site_root: str
    backup_type: str            # full, files, db
    format: str
    archive: str                # the final (last-part) path
    started: float
    profile: Profile            # the profile's settings, without its archive password
    site: SiteSummary = dataclasses.field(default_factory=SiteSummary)
    part_size: int | None = None
    output_dir: str = ""
    default_output: bool = False
    description: str = ""
    comment: str = ""
    origin: str = "cli"
    password_record: str | None = None      # the installer password's salted hash
    excluded: list[list[int]] = dataclasses.field(default_factory=list)  # (dev, inode) pairs
    storage_folder: str = ""    # the profile's storage folder expanded for this backup


@dataclasses.dataclass
class Checkpoints:
    """Where each worker resumes after a kill (each part owned by that worker)."""

    writer: dict | None = None          # ArchiveWriter.checkpoint()
    dumper: dict | None = None          # Dumper.state()
    dump_warnings_seen: int = 0
    scan: dict | None = None            # Scanner.state()
    archive_offset: int = 0             # bytes of the scan list already archived
    plan_index: int = 0                 # entries of plan.json already added
    plan_size: int = 0


@dataclasses.dataclass
class Progress:
    """What the reports show; fractions are of the current domain's own work."""

    last_item: str = ""
    minor: str = ""
    db_fraction: float = 0.0
    scan_fraction: float = 0.0
    scan_files: int = 0
    scan_bytes: int = 0
    files_done: int = 0
    bytes_done: int = 0


@dataclasses.dataclass
class Offsite:
    """How far sending the parts off-site got (``upload.py``); saved after every piece."""

    uploads: list[PartUpload] = dataclasses.field(default_factory=list)
    error: str | None = None    # why uploading stopped: the backup ends "upload pending"

    def upload(self, name: str) -> PartUpload | None:
        return next((u for u in self.uploads if u.name == name), None)


@dataclasses.dataclass
class JobState:
    id: int
    settings: Settings
    domain: str
    phase: str
    status: str = "running"     # running, done, failed
    seq: int = 0                # saved steps so far: another process's save shows here
    version: int = STATE_VERSION
    checkpoints: Checkpoints = dataclasses.field(default_factory=Checkpoints)
    progress: Progress = dataclasses.field(default_factory=Progress)
    warnings: list[str] = dataclasses.field(default_factory=list)
    parts: list[str] = dataclasses.field(default_factory=list)
    size: int = 0
    finished_at: float | None = None
    error: str | None = None
    offsite: Offsite = dataclasses.field(default_factory=Offsite)

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "JobState":
        """The state saved as ``data`` (``KeyError``/``TypeError`` when it is not one)."""
        settings = dict(data["settings"])
        settings["profile"] = Profile(**settings["profile"])
        settings["site"] = SiteSummary(**settings["site"])
        offsite = dict(data.get("offsite") or {})
        offsite["uploads"] = [PartUpload(**u) for u in offsite.get("uploads", [])]
        return cls(**{**data, "settings": Settings(**settings), "offsite": Offsite(**offsite),
                      "checkpoints": Checkpoints(**data["checkpoints"]),
                      "progress": Progress(**data["progress"])})

    @classmethod
    def from_record(cls, record: records.Record, last_domain: str) -> "JobState":
        """The state of a finished or failed backup, rebuilt from its record."""
        started = dt.datetime.strptime(record.started, "%Y-%m-%d %H:%M:%S").replace(
            tzinfo=dt.timezone.utc).timestamp()
        output = Path(record.output_dir)
        settings = Settings(site_root=record.site_root, backup_type=record.type,
                            format=record.format, archive=str(output / record.archive_name),
                            started=started, profile=Profile(), output_dir=record.output_dir,
                            description=record.description, comment=record.comment,
                            origin=record.origin)
        status = "done" if record.status in records.FINISHED else "failed"
        return cls(id=record.id, settings=settings, domain=last_domain, phase="closing",
                   status=status, seq=-1, warnings=list(record.warning_messages),
                   parts=[str(output / name) for name in record.parts], size=record.size,
                   finished_at=started + record.duration, error=record.error)
