"""The backup step engine: one backup as domains done in time-bounded, resumable steps.

A backup is a sequence of domains, each made of phases:

    init      initialise          log the site and settings
    db        dump → add          dump the database into the backup's working folder (in
                                  slices), then add the SQL files + databases.json
    files     scan → archive      list the tree into a list file (in slices of
                                  directories), then archive entry by entry
    finalise  prepare → add →     write extrainfo.json / README.html / password.json,
              close               add them and the restorer runtime, close the archive

Full backups run all four domains, files-only backups skip ``db`` (and carry no
installer), database-only backups skip ``files`` (their archive holds
``installation/sql/*`` and ``installation/extrainfo.json``, the layout the restorer
imports from).

``BackupJob.step()`` works until the profile's ``max_exec`` seconds are used (it pads
to ``min_exec`` when it stops early without finishing), then saves the whole state
atomically (temp file + fsync + rename) in ``<data dir>/jobs/<id>/state.json`` (0600:
it holds the encrypted formats' derived key). The saved state is the truth: after a
kill at any point, ``BackupJob.load(id)`` resumes the archive writer from its
checkpoint (cutting away anything written after it), the dumper from its state and the
scan from its list-file length, so nothing is lost or duplicated. One process at a time
steps a backup (an advisory lock in the working folder).

Backup failures never raise from ``step()``: the report says ``failed`` with a clear
error, the incomplete parts and the working folder are deleted, the record is marked
failed and the log kept. The CLI (``run_to_completion``) and the web UI (one step per
request) drive exactly this API.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import fcntl
import json
import os
import shutil
import time
import traceback
from pathlib import Path
from typing import Callable

from restorer.errors import ConfigError, SitepackError

from . import profiles, records
from .archive import ArchiveWriter, SourceChangedError, open_writer, writer_class
from .archive.parts import check_part_size
from .filters import Filters, relative_inside
from .home import data_dir, jobs_dir, private_dir, write_private_json
from .installer import (INSTALLATION, SQL_DIR, databases_json, extrainfo,
                        installer_password_record, runtime_entries, write_generated)
from .logs import BackupLog, log_path_for
from .naming import NamingContext, archive_base_name, default_description, expand
from .scan import DIR, FILE, LINK, EntryList, Scanner, dir_identity

STATE_VERSION = 1
DEFAULT_OUTPUT_DIR_NAME = "sitepack-backups"
DOMAIN_TITLES = {
    "init": "Initialising",
    "db": "Backing up the database",
    "files": "Backing up files",
    "finalise": "Finalising the archive",
}
DOMAINS_BY_TYPE = {
    "full": ("init", "db", "files", "finalise"),
    "files": ("init", "files", "finalise"),
    "db": ("init", "db", "finalise"),
}
FIRST_PHASE = {"init": "init", "db": "dump", "files": "scan", "finalise": "prepare"}
# Share of the progress bar per domain (normalised over the domains a backup has).
_WEIGHTS = {"init": 1.0, "db": 30.0, "files": 64.0, "finalise": 5.0}
# Bytes of archive work one file costs besides its data (headers, open/close).
_PER_FILE_COST = 4096

DEFAULT_OUTPUT_WARNING = (
    "Default output directory is in use: {path} is a well-known place inside the site. "
    "sitepack put .htaccess and web.config files there that deny web access, but a server "
    "that ignores them would serve the archives to anyone. Use an output directory outside "
    "the web root (--output-dir, or output_dir in the profile).")
INCLUDE_TRICK_NOTE = "the restore wizard will show blanks for these settings"

_HTACCESS = """# Written by sitepack: backup archives must never be served over the web.
<IfModule mod_authz_core.c>
  Require all denied
</IfModule>
<IfModule !mod_authz_core.c>
  Order deny,allow
  Deny from all
</IfModule>
"""
_WEB_CONFIG = """<?xml version="1.0" encoding="utf-8"?>
<!-- Written by sitepack: backup archives must never be served over the web. -->
<configuration>
  <system.webServer>
    <authorization>
      <deny users="*" />
    </authorization>
    <security>
      <requestFiltering>
        <hiddenSegments>
          <add segment="." />
        </hiddenSegments>
      </requestFiltering>
    </security>
  </system.webServer>
</configuration>
"""


@dataclasses.dataclass
class StepReport:
    """What one step did, or where a backup stands (the web UI's JSON, the CLI's lines)."""

    backup_id: int
    domains: list[dict]
    current_domain: str
    last_item: str
    minor: str
    progress: float
    new_warnings: list[str]
    warnings_total: int
    finished: bool
    failed: bool
    error: str | None
    archive: str | None
    parts: list[str]
    size: int
    duration: float

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc)


def _user_message(exc: BaseException) -> str:
    """A one-line message for a failure, saying what went wrong and what to do."""
    if isinstance(exc, SitepackError):
        return str(exc)
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return (f"the disk is full{where}: free some space or choose an output directory "
                    f"on another disk (--output-dir), then run the backup again")
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return (f"permission denied writing{where}: make that folder writable for this "
                    f"user or choose another output directory (--output-dir)")
        return f"{exc.strerror or exc}{where}"
    return f"internal error: {type(exc).__name__}: {exc} (the backup log has the details)"


def default_output_dir(site_root: Path) -> Path:
    return Path(site_root) / DEFAULT_OUTPUT_DIR_NAME


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SitepackError(f"cannot create the output directory {folder}: {exc.strerror}; "
                            f"create it yourself or choose another (--output-dir)") from None
    if not folder.is_dir():
        raise SitepackError(f"the output directory {folder} is not a directory; "
                            f"choose another (--output-dir)")
    probe = folder / f".sitepack-write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise SitepackError(f"the output directory {folder} is not writable ({exc.strerror}): "
                            f"fix its permissions or choose another (--output-dir)") from None


def _protect(folder: Path) -> None:
    """Deny web access to ``folder`` on Apache (.htaccess) and IIS (web.config)."""
    for name, text in ((".htaccess", _HTACCESS), ("web.config", _WEB_CONFIG)):
        path = folder / name
        if not path.exists():
            path.write_text(text, encoding="utf-8")
            path.chmod(0o644)


class BackupJob:
    """One backup, driven step by step (see the module docstring)."""

    def __init__(self, state: dict, *, log: BackupLog | None = None,
                 writer: ArchiveWriter | None = None, terminal: records.Record | None = None):
        self.state = state
        self.id: int = state["id"]
        self._log = log
        self._writer = writer
        self._scanner: Scanner | None = None
        self._entries: EntryList | None = None
        self._dumper = None
        self._site = None
        self._terminal = terminal  # the record of a finished/failed backup
        self._new_warnings: list[str] = []

    # -- creating and loading ----------------------------------------------------------
    @classmethod
    def start(cls, site_root: Path, *, profile: str = "default", backup_type: str | None = None,
              fmt: str | None = None, output_dir: Path | None = None,
              name_template: str | None = None, part_size: int | None = None,
              description: str | None = None, comment: str | None = None,
              archive_password: str | None = None, installer_password: str | None = None,
              origin: str = "cli") -> "BackupJob":
        """Checks everything that can be checked up front, creates the record and state.

        Raises ``SitepackError`` with a clear message (and creates no record) when the
        site, the settings or the output directory are not usable.
        """
        prof = profiles.load(profile)
        root = Path(site_root).expanduser()
        if not root.is_dir():
            raise SitepackError(f"{site_root} is not a directory: give the root folder of the site")
        root = root.resolve()
        backup_type = backup_type or prof.backup_type
        if backup_type not in profiles.BACKUP_TYPES:
            raise SitepackError(f"unknown backup type {backup_type!r}: use full, files or db")
        fmt = fmt or prof.format
        if fmt not in profiles.FORMATS:
            raise SitepackError(f"unknown archive format {fmt!r}: use {', '.join(profiles.FORMATS)}")
        part_size = part_size if part_size is not None else prof.part_size
        check_part_size(part_size)
        if origin not in ("cli", "web"):
            raise ValueError(f"origin must be 'cli' or 'web', not {origin!r}")

        warnings: list[str] = []
        site = _detect(root, backup_type, warnings)
        if backup_type != "files":
            site.db.connect().close()  # bad credentials are said now, not minutes later

        password = None
        if fmt in profiles.ENCRYPTED_FORMATS:
            password = archive_password or prof.archive_password
            if not password:
                raise SitepackError(
                    f"the {fmt} format encrypts the archive and needs an archive password: give "
                    f"one (--password-env VAR or --password-file FILE) or store a default in the "
                    f"profile")
        password_record = None
        if installer_password and backup_type == "full":
            password_record = installer_password_record(installer_password)

        if output_dir is None and prof.output_dir:
            output_dir = Path(prof.output_dir)
        is_default_output = output_dir is None
        out = default_output_dir(root) if is_default_output else Path(output_dir).expanduser()
        if not out.is_absolute():
            out = Path.cwd() / out
        _check_writable(out)
        out = out.resolve()
        if relative_inside(root, out) is not None or out == root:
            _protect(out)
        if out == root:
            raise SitepackError("the output directory cannot be the site root itself: "
                                "choose a sub-folder or a folder outside the site")
        if is_default_output:
            warnings.insert(0, DEFAULT_OUTPUT_WARNING.format(path=out))

        naming = NamingContext.for_now(
            host=site.host if site else None, site_name=site.name if site else root.name,
            platform_name=_platform_name(site), platform_version=site.platform_version if site else None)
        suffix = writer_class(fmt).suffix
        archive = out / (archive_base_name(name_template or prof.name_template, naming) + suffix)
        if archive.exists() or archive.with_suffix(f".{suffix[1]}01").exists():
            raise SitepackError(f"{archive} already exists: choose another name (--name) or "
                                f"another output directory")
        description = expand(description, naming) if description else default_description(naming)
        comment = expand(comment, naming) if comment else ""

        record = records.create(type=backup_type, format=fmt, description=description,
                                comment=comment, origin=origin, profile=prof.name,
                                site_root=str(root), output_dir=str(out),
                                archive_name=archive.name)
        log_path = log_path_for(record.id)
        log = BackupLog(log_path, prof.log_level,
                        secrets=(password or "", installer_password or "",
                                 site.db.password if site and site.db else ""))
        records.update(record.id, log_path=str(log_path))
        private_dir(jobs_dir() / str(record.id))  # created owner-only before any state lands in it
        settings = prof.to_dict()
        settings.pop("archive_password", None)
        started = time.time()
        state = {
            "version": STATE_VERSION, "id": record.id, "seq": 0, "status": "running",
            "site_root": str(root), "backup_type": backup_type, "format": fmt,
            "part_size": part_size, "output_dir": str(out), "archive": str(archive),
            "default_output": is_default_output, "description": description,
            "comment": comment, "origin": origin, "profile": settings, "started": started,
            "site": _site_summary(site, root), "password_record": password_record,
            "excluded": [list(i) for i in {dir_identity(out), dir_identity(data_dir())} if i],
            "domain": "init", "phase": "init", "warnings": [], "last_item": "", "minor": "",
            "writer": None, "dumper": None, "dump_warnings_seen": 0, "scan": None,
            "archive_offset": 0, "files_done": 0, "bytes_done": 0, "plan_index": 0,
            "plan_size": 0, "parts": [], "size": 0,
        }
        job = cls(state, log=log)
        log.info(f"sitepack backup #{record.id} ({backup_type}, {fmt}) of {root}, origin {origin}")
        for message in warnings:
            job._warn(message)
        try:
            job._writer = open_writer(fmt, archive, part_size=part_size, password=password)
            state["writer"] = job._writer.checkpoint()
            job._save()
        except Exception as exc:  # noqa: BLE001 - any failure here fails the new record
            report = job._fail(exc)
            raise SitepackError(report.error) from None
        return job

    @classmethod
    def load(cls, backup_id: int) -> "BackupJob":
        """The backup ``backup_id`` as saved by its last step (in any process)."""
        path = jobs_dir() / str(int(backup_id)) / "state.json"
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            record = records.get(backup_id)
            if record.status == "pending":
                raise SitepackError(
                    f"backup #{backup_id} was interrupted before it saved any state and cannot be "
                    f"resumed: delete it (sitepack backups delete {backup_id}) and start again") from None
            return cls(_state_from_record(record), terminal=record)
        except ValueError:
            raise SitepackError(f"the saved state of backup #{backup_id} is damaged; delete the "
                                f"backup (sitepack backups delete {backup_id}) and start again") from None
        if state.get("version") != STATE_VERSION:
            raise SitepackError(f"backup #{backup_id} was started by another sitepack version and "
                                f"cannot be resumed; delete it and start again")
        return cls(state)

    # -- the step --------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self.state["status"] in ("done", "failed")

    def step(self) -> StepReport:
        """Works for min_exec..max_exec seconds, saves the state, reports. Never raises
        for a backup failure (the report says ``failed``)."""
        if self.finished:
            return self.report()
        self._new_warnings = []
        settings = self.state["profile"]
        began = time.monotonic()
        with self._step_lock():
            if self.finished:
                return self.report()
            try:
                self._open()
                deadline = began + settings["max_exec"]
                while not self.finished:
                    self._advance(deadline)
                    if time.monotonic() >= deadline:
                        break
                if not self.finished:
                    self._save()
            except BaseException as exc:  # noqa: BLE001 - a failed backup is a report
                if isinstance(exc, KeyboardInterrupt):
                    self._release()
                    raise
                return self._fail(exc)
        spare = settings["min_exec"] - (time.monotonic() - began)
        if spare > 0 and not self.finished:
            time.sleep(spare)
        return self.report()

    def warnings(self) -> list[str]:
        return list(self.state["warnings"])

    def report(self) -> StepReport:
        state = self.state
        keys = DOMAINS_BY_TYPE[state["backup_type"]]
        current = state["domain"]
        done_all = state["status"] == "done"
        domains = []
        for key in keys:
            if done_all or keys.index(key) < keys.index(current):
                status = "done"
            elif key == current and state["status"] == "running":
                status = "running"
            else:
                status = "pending"
            domains.append({"key": key, "title": DOMAIN_TITLES[key], "status": status})
        end = state.get("finished_at") or time.time()
        return StepReport(
            backup_id=self.id, domains=domains, current_domain=current,
            last_item=state["last_item"], minor=state["minor"],
            progress=100.0 if done_all else round(self._progress(), 1),
            new_warnings=list(self._new_warnings), warnings_total=len(state["warnings"]),
            finished=self.finished, failed=state["status"] == "failed", error=state.get("error"),
            archive=state["archive"] if done_all else None, parts=list(state["parts"]),
            size=state["size"], duration=round(end - state["started"], 3))

    # -- state ------------------------------------------------------------------------
    @property
    def job_dir(self) -> Path:
        return jobs_dir() / str(self.id)

    def _save(self) -> None:
        state = self.state
        if self._writer is not None:
            state["writer"] = self._writer.checkpoint()
            final = self._writer.path
            for path in [*self._writer.out.paths, *final.parent.glob(f"{final.name}.*-tmp")]:
                if path.exists():
                    os.chmod(path, 0o600)
        if self._scanner is not None:
            state["scan"] = self._scanner.state()
        if self._entries is not None:
            state["archive_offset"] = self._entries.offset
        if self._dumper is not None:
            state["dumper"] = self._dumper.state()
        state["seq"] += 1
        write_private_json(self.job_dir / "state.json", state)

    @contextlib.contextmanager
    def _step_lock(self):
        """Holds the backup's lock (one stepping process at a time) and catches up."""
        try:
            fd = os.open(self.job_dir / "lock", os.O_WRONLY | os.O_CREAT, 0o600)
        except FileNotFoundError:  # the working folder is gone: finished elsewhere
            self._catch_up()
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._catch_up()
            yield
        finally:
            os.close(fd)

    def _catch_up(self) -> None:
        """Reloads the state when another process stepped this backup meanwhile."""
        path = self.job_dir / "state.json"
        try:
            on_disk = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:  # finished or failed elsewhere
            self._release()
            record = records.get(self.id)
            self.state = _state_from_record(record)
            self._terminal = record
            return
        if on_disk["seq"] != self.state["seq"]:
            self._release()
            self.state = on_disk

    def _release(self) -> None:
        """Lets go of open files without finishing anything (the saved state stays true)."""
        if self._writer is not None:
            self._writer.out.close_handle()
            self._writer._pool.shutdown(wait=True, cancel_futures=True)
        for holder in (self._scanner, self._entries, self._dumper):
            if holder is not None:
                holder.close()
        self._writer = self._scanner = self._entries = self._dumper = None

    # -- opening what a resumed step needs ---------------------------------------------
    def _open(self) -> None:
        state = self.state
        if self._log is None:
            self._log = BackupLog(log_path_for(self.id), state["profile"]["log_level"])
            self._log.info(f"resuming at {state['domain']}/{state['phase']} (state #{state['seq']})")
        if self._writer is None and state["phase"] != "closing":
            self._writer = ArchiveWriter.resume(state["writer"])

    def _site_info(self):
        """The site read again (only the database password is needed from it)."""
        if self._site is None:
            from .site import detect_site
            self._site = detect_site(Path(self.state["site_root"]))
            self._log.add_secret(self._site.db.password if self._site.db else None)
        return self._site

    def _warn(self, message: str) -> None:
        self.state["warnings"].append(message)
        self._new_warnings.append(message)
        self._log.warning(message)

    # -- the work ---------------------------------------------------------------------
    def _advance(self, deadline: float) -> None:
        state = self.state
        handler = getattr(self, f"_{state['domain']}_{state['phase']}")
        handler(deadline)

    def _next_domain(self) -> None:
        keys = DOMAINS_BY_TYPE[self.state["backup_type"]]
        nxt = keys[keys.index(self.state["domain"]) + 1]
        self.state["domain"], self.state["phase"] = nxt, FIRST_PHASE[nxt]
        self._log.info(f"--- {DOMAIN_TITLES[nxt]}")

    def _init_init(self, deadline: float) -> None:
        state = self.state
        site = state["site"]
        self._log.info(f"site: {site['platform']} {site['platform_version'] or ''} "
                       f"'{site['name']}' at {state['site_root']}")
        if site.get("db"):
            db = site["db"]
            self._log.info(f"database: {db['database']} at {db['host']}:{db['port']} as "
                           f"{db['user']}, prefix {site['prefix']!r}")
        self._log.info(f"archive: {state['archive']} (format {state['format']}, part size "
                       f"{state['part_size'] or 'unsplit'})")
        self._log.debug(f"profile: {json.dumps(state['profile'], sort_keys=True)}")
        state["last_item"] = "initialised"
        self._next_domain()

    # database
    def _db_dump(self, deadline: float) -> None:
        from .dump.mysql import DEFAULT_DATA_EXCLUSIONS, Dumper, DumpOptions
        state = self.state
        if self._dumper is None:
            conn = self._site_info().db
            if state["dumper"]:
                self._dumper = Dumper.resume(state["dumper"], conn)
            else:
                rules = state["profile"]["db"]
                options = DumpOptions(
                    prefix=state["site"]["prefix"] or "", extra_tables=rules["extra_tables"],
                    exclude_tables=rules["exclude_tables"],
                    exclude_data=[*DEFAULT_DATA_EXCLUSIONS, *rules["exclude_data"]],
                    split_size=state["profile"].get("sql_split_size"))
                self._dumper = Dumper(conn, self.job_dir / "sql", options)
        dumper = self._dumper
        done = dumper.run(max(0.0, deadline - time.monotonic()))
        for message in dumper.warnings[state["dump_warnings_seen"]:]:
            self._warn(message)
        state["dump_warnings_seen"] = len(dumper.warnings)
        progress = dumper.progress
        state["minor"] = progress.message
        state["db_fraction"] = (progress.items_done / progress.items_total
                                if progress.items_total else 0.0)
        if progress.items_done:
            state["last_item"] = f"{progress.items_done} of {progress.items_total} database objects"
        if done:
            meta = self.job_dir / "sql-meta"
            meta.mkdir(exist_ok=True)
            (meta / "databases.json").write_bytes(databases_json(dumper.databases_json_entry()))
            plan = [(f"{SQL_DIR}/{p.name}", str(p)) for p in dumper.files]
            plan.append((f"{SQL_DIR}/databases.json", str(meta / "databases.json")))
            self._log.info(f"database dumped: {len(dumper.files)} SQL file(s), "
                           f"{sum(p.stat().st_size for p in dumper.files)} bytes")
            state["dumper"] = dumper.state()
            self._dumper = None
            state["last_item"] = "database dump"
            self._set_plan(plan)
            state["phase"] = "add"

    def _db_add(self, deadline: float) -> None:
        if self._add_plan(deadline):
            self._next_domain()

    # files
    def _filters(self) -> Filters:
        state = self.state
        settings = state["profile"]
        rules = {k: list(v) for k, v in settings["filters"].items()}
        if state["backup_type"] == "full":
            # The archive's own installer goes to installation/; the site's would clash.
            rules["exclude_dirs"].append(INSTALLATION)
        return Filters.for_site(rules, site_root=Path(state["site_root"]),
                                tmp_path=state["site"]["tmp_path"],
                                log_path=state["site"]["log_path"],
                                defaults=settings["default_filters"])

    def _files_scan(self, deadline: float) -> None:
        state = self.state
        if self._scanner is None:
            list_path = self.job_dir / "scan.list"
            if state["scan"] is None:
                root = Path(state["site_root"])
                if state["backup_type"] == "full" and (root / INSTALLATION).is_dir():
                    self._warn(f"the site's own {INSTALLATION}/ folder was left out: the "
                               f"archive's installer takes its place")
            self._scanner = Scanner(Path(state["site_root"]), list_path, self._filters(),
                                    {tuple(i) for i in state["excluded"]}, state["scan"])
        scanner = self._scanner
        done = scanner.run(deadline, self._warn, self._log.debug)
        state["last_item"] = scanner.last_dir
        state["minor"] = f"{scanner.files} files found"
        state["scan_fraction"] = scanner.dirs / max(1, scanner.dirs + len(scanner.stack))
        if done:
            state["scan"] = scanner.state()
            state["scan_files"], state["scan_bytes"] = scanner.files, scanner.bytes
            scanner.close()
            self._scanner = None
            self._log.info(f"scan: {scanner.files} files, {scanner.dirs} directories, "
                           f"{scanner.bytes} bytes")
            state["phase"] = "archive"

    def _files_archive(self, deadline: float) -> None:
        state = self.state
        if self._entries is None:
            self._entries = EntryList(self.job_dir / "scan.list", state["archive_offset"])
        root = Path(state["site_root"])
        writer = self._writer
        finished = True
        for entry in self._entries:
            if entry.kind == DIR:
                writer.add_dir(entry.path, entry.mode, entry.mtime)
                state["last_item"] = entry.path
            elif entry.kind == LINK:
                writer.add_symlink(entry.path, entry.target, entry.mode, entry.mtime)
            elif entry.kind == FILE:
                self._add_site_file(writer, root, entry)
            if time.monotonic() >= deadline:
                finished = False
                break
        state["minor"] = f"{state['files_done']} of {state.get('scan_files', 0)} files, " \
                         f"part {writer.out.numbered(writer.out.index).name}"
        if finished:
            self._entries.close()
            self._entries = None
            state["archive_offset"] = (self.job_dir / "scan.list").stat().st_size
            self._log.info(f"files archived: {state['files_done']}")
            self._next_domain()

    def _add_site_file(self, writer: ArchiveWriter, root: Path, entry) -> None:
        state = self.state
        try:
            fd = os.open(root / entry.path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            self._warn(f"cannot read {entry.path}: {exc.strerror or exc} (skipped)")
            return
        with os.fdopen(fd, "rb") as handle:
            st = os.fstat(fd)
            if not (st.st_mode & 0o170000 == 0o100000):
                self._warn(f"{entry.path} is no longer a regular file (skipped)")
                return
            try:
                writer.add_file(entry.path, handle, mode=entry.mode, mtime=int(st.st_mtime),
                                size=st.st_size)
            except SourceChangedError as exc:
                self._warn(f"{exc} (skipped)")
                return
            except OSError as exc:
                if exc.filename is None and exc.errno in (errno.EIO, errno.EACCES):
                    self._warn(f"cannot read {entry.path}: {exc.strerror or exc} (skipped)")
                    return
                raise
        state["files_done"] += 1
        state["bytes_done"] += st.st_size

    # finalise
    def _finalise_prepare(self, deadline: float) -> None:
        state = self.state
        site = state["site"]
        full = state["backup_type"] == "full"
        plan: list[tuple[str, str]] = []
        if state["backup_type"] != "files":
            info = extrainfo(host=site["host"] or "", root=state["site_root"],
                             backup_id=self.id, description=state["description"],
                             started_utc=_utc(state["started"]), platform=site["platform"],
                             platform_version=site["platform_version"], prefix=site["prefix"],
                             live_site=site["live_site"], site_name=site["name"])
            generated = write_generated(self.job_dir / "installation", info=info,
                                        description=state["description"],
                                        comment=state["comment"], full=full,
                                        password_record=state["password_record"])
            plan.extend((arc, str(path)) for arc, path in generated)
        if full:
            plan.extend((arc, str(path)) for arc, path in runtime_entries())
        self._set_plan(plan)
        state["phase"] = "add"

    def _finalise_add(self, deadline: float) -> None:
        if self._add_plan(deadline):
            self.state["phase"] = "close"

    def _finalise_close(self, deadline: float) -> None:
        state = self.state
        state["last_item"] = "archive complete"
        self._save()
        # From here a kill may leave a closed archive; "closing" tells a resume to look.
        state["phase"] = "closing"
        write_private_json(self.job_dir / "state.json", state)
        parts = self._writer.close()
        self._writer = None
        self._complete([str(p) for p in parts])

    def _finalise_closing(self, deadline: float) -> None:
        """Resumed after a kill during close: finish it or redo it."""
        state = self.state
        final = Path(state["archive"])
        if final.exists():  # the writer names the last part only when it is complete
            numbered = []
            index = 1
            while final.with_suffix(f".{final.suffix[1]}{index:02d}").exists():
                numbered.append(final.with_suffix(f".{final.suffix[1]}{index:02d}"))
                index += 1
            for sidecar in final.parent.glob(f"{final.name}.*-tmp"):
                sidecar.unlink(missing_ok=True)
            self._complete([str(p) for p in [*numbered, final]])
            return
        self._writer = ArchiveWriter.resume(state["writer"])
        state["phase"] = "close"

    def _set_plan(self, plan: list[tuple[str, str]]) -> None:
        write_private_json(self.job_dir / "plan.json", plan)
        self.state["plan_index"] = 0
        self.state["plan_size"] = len(plan)

    def _add_plan(self, deadline: float) -> bool:
        """Adds the planned (archive path, file) pairs; True when all are in."""
        state = self.state
        plan = json.loads((self.job_dir / "plan.json").read_text(encoding="utf-8"))
        mtime = int(state["started"])
        while state["plan_index"] < len(plan):
            arc, source = plan[state["plan_index"]]
            self._writer.add_file(arc, Path(source), mode=0o100644, mtime=mtime)
            state["plan_index"] += 1
            state["minor"] = arc
            if time.monotonic() >= deadline:
                break
        return state["plan_index"] >= len(plan)

    # -- endings ---------------------------------------------------------------------
    def _complete(self, parts: list[str]) -> None:
        state = self.state
        now = time.time()
        size = sum(Path(p).stat().st_size for p in parts)
        for part in parts:
            os.chmod(part, 0o600)
        state.update(status="done", parts=parts, size=size, finished_at=now, minor="",
                     domain=DOMAINS_BY_TYPE[state["backup_type"]][-1])
        records.update(self.id, status="ok", parts=[Path(p).name for p in parts], size=size,
                       finished=records.utc_now(), duration=round(now - state["started"], 3),
                       warnings=len(state["warnings"]), warning_messages=state["warnings"],
                       archive_name=Path(state["archive"]).name)
        self._log.info(f"backup complete: {len(parts)} part(s), {size} bytes, "
                       f"{len(state['warnings'])} warning(s), {now - state['started']:.1f} s")
        self._log.close()
        shutil.rmtree(self.job_dir, ignore_errors=True)

    def _fail(self, exc: BaseException) -> StepReport:
        state = self.state
        message = _user_message(exc)
        if self._log is None:
            self._log = BackupLog(log_path_for(self.id), state["profile"]["log_level"])
        self._log.error(f"backup failed: {message}")
        if not isinstance(exc, (SitepackError, OSError)):
            self._log.error("".join(traceback.format_exception(exc)))
        self._discard_archive()
        for holder in (self._scanner, self._entries, self._dumper):
            if holder is not None:
                holder.close()
        self._scanner = self._entries = self._dumper = None
        shutil.rmtree(self.job_dir, ignore_errors=True)
        now = time.time()
        state.update(status="failed", error=message, finished_at=now, parts=[], size=0)
        records.update(self.id, status="failed", error=message, finished=records.utc_now(),
                       duration=round(now - state["started"], 3), parts=[], size=0,
                       warnings=len(state["warnings"]), warning_messages=state["warnings"])
        self._log.close()
        return self.report()

    def _discard_archive(self) -> None:
        """Deletes every part and sidecar of the unfinished archive."""
        writer = self._writer
        if writer is None and self.state.get("writer"):
            try:
                writer = ArchiveWriter.resume(self.state["writer"])
            except Exception:  # noqa: BLE001 - then delete by name below
                writer = None
        if writer is not None:
            try:
                writer.abort()
            except OSError:
                pass
        self._writer = None
        final = Path(self.state["archive"])
        index = 1
        while True:
            part = final.with_suffix(f".{final.suffix[1]}{index:02d}")
            if not part.exists():
                break
            part.unlink()
            index += 1
        if self.state["phase"] != "closing":
            final.unlink(missing_ok=True)
        for sidecar in final.parent.glob(f"{final.name}.*-tmp"):
            sidecar.unlink(missing_ok=True)

    def abandon(self) -> StepReport:
        """Stops an unfinished backup for good: parts deleted, record failed."""
        if self.finished:
            return self.report()
        with self._step_lock():
            if self.finished:
                return self.report()
            return self._fail(SitepackError("the backup was cancelled"))

    # -- progress ------------------------------------------------------------------------
    def _progress(self) -> float:
        state = self.state
        keys = DOMAINS_BY_TYPE[state["backup_type"]]
        total = sum(_WEIGHTS[k] for k in keys)
        done = sum(_WEIGHTS[k] for k in keys[:keys.index(state["domain"])])
        domain, phase = state["domain"], state["phase"]
        part = 0.0
        if domain == "db":
            part = state.get("db_fraction", 0.0) * 0.9 if phase == "dump" else \
                0.9 + 0.1 * state["plan_index"] / max(1, state["plan_size"])
        elif domain == "files":
            if phase == "scan":
                part = 0.1 * state.get("scan_fraction", 0.0)
            else:
                work = state.get("scan_bytes", 0) + _PER_FILE_COST * state.get("scan_files", 0)
                did = state["bytes_done"] + _PER_FILE_COST * state["files_done"]
                part = 0.1 + 0.9 * min(1.0, did / work) if work else 0.1
        elif domain == "finalise" and phase in ("add", "close", "closing"):
            part = state["plan_index"] / max(1, state["plan_size"])
        return 100.0 * (done + _WEIGHTS[domain] * part) / total


# -- helpers ---------------------------------------------------------------------------
def _detect(root: Path, backup_type: str, warnings: list[str]):
    """The site's configuration, or None for a files-only backup of an unreadable one."""
    from .site import detect_site
    try:
        site = detect_site(root)
    except ConfigError as exc:
        if backup_type != "files":
            raise
        warnings.append(f"the site's configuration could not be read ({exc}); backing up the "
                        f"files only")
        return None
    if backup_type != "files" and site.db is None:
        what = "full" if backup_type == "full" else "database-only"
        if site.platform == "generic":
            raise SitepackError(
                f"no site configuration was found in {root} (neither Joomla's configuration.php "
                f"nor WordPress's wp-config.php): a {what} backup needs the database settings; "
                f"give the site's root folder, or make a files-only backup (--type files)")
        raise SitepackError(
            f"{site.config_path} gives no complete database settings: a {what} backup needs "
            f"them; fix the configuration or make a files-only backup (--type files)")
    warnings.extend(site.warnings)
    return site


def _platform_name(site) -> str | None:
    if site is None:
        return None
    return {"joomla": "Joomla!", "wordpress": "WordPress"}.get(site.platform, site.platform)


def _site_summary(site, root: Path) -> dict:
    if site is None:
        return {"platform": "generic", "platform_version": None, "name": root.name, "host": None,
                "prefix": None, "live_site": None, "tmp_path": None, "log_path": None, "db": None}
    return {"platform": site.platform, "platform_version": site.platform_version,
            "name": site.name, "host": site.host, "prefix": site.prefix,
            "live_site": site.live_site, "tmp_path": site.tmp_path, "log_path": site.log_path,
            "db": site.db.to_public_dict() if site.db else None}


def _state_from_record(record: records.Record) -> dict:
    """The state of a finished or failed backup, rebuilt from its record."""
    started = dt.datetime.strptime(record.started, "%Y-%m-%d %H:%M:%S").replace(
        tzinfo=dt.timezone.utc).timestamp()
    status = {"ok": "done", "obsolete": "done", "remote": "done"}.get(record.status, "failed")
    output = Path(record.output_dir)
    parts = [str(output / name) for name in record.parts]
    return {
        "id": record.id, "seq": -1, "status": status, "backup_type": record.type,
        "domain": DOMAINS_BY_TYPE[record.type][-1], "phase": "closing", "last_item": "",
        "minor": "", "warnings": list(record.warning_messages), "error": record.error,
        "archive": str(output / record.archive_name), "parts": parts, "size": record.size,
        "started": started, "finished_at": started + record.duration, "plan_index": 0,
        "plan_size": 0, "profile": profiles.Profile().to_dict(),
    }


def run_to_completion(job: BackupJob, on_report: Callable[[StepReport], None] | None = None
                      ) -> StepReport:
    """Steps ``job`` until it finishes or fails (the CLI loop); returns the last report."""
    while True:
        report = job.step()
        if on_report is not None:
            on_report(report)
        if report.finished:
            return report


def list_incomplete() -> list[records.Record]:
    """Records of backups that were interrupted and can be resumed (``--resume ID``)."""
    return [r for r in records.list_records()
            if r.status == "pending" and (jobs_dir() / str(r.id) / "state.json").exists()]


def delete_backup(backup_id: int) -> None:
    """Deletes a backup's record, files and log; an unfinished one is abandoned first."""
    record = records.get(backup_id)
    if record.status == "pending" and not record.frozen:
        if (jobs_dir() / str(record.id) / "state.json").exists():
            BackupJob.load(backup_id).abandon()
        elif record.archive_name and "/" not in record.archive_name and record.output_dir:
            # Killed before its first saved state: only numbered parts can exist.
            final = Path(record.output_dir) / record.archive_name
            index = 1
            while final.with_suffix(f".{final.suffix[1]}{index:02d}").exists():
                final.with_suffix(f".{final.suffix[1]}{index:02d}").unlink()
                index += 1
            for sidecar in final.parent.glob(f"{final.name}.*-tmp"):
                sidecar.unlink()
    records.delete(backup_id)
