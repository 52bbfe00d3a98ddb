"""One backup as a job: start, load, step, save, lock, and how it ends.

``BackupJob.step()`` works until the profile's ``max_exec`` seconds are used or a new
domain starts (so its first report names it), running the phase handlers of
``phases.DOMAINS`` in order; a browser-driven step that stops early pads to ``min_exec``
(throttled hosts count requests; a CLI or cron run has no reason to wait). It then saves the whole state atomically in
``<data dir>/jobs/<id>/state.json`` (``state.py``). The saved state is the truth: after
a kill at any point, ``BackupJob.load(id)`` resumes the archive writer from its
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
import errno
import fcntl
import json
import os
import shutil
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from restorer.errors import SitepackError
from restorer.privatefile import write_private_json

from .. import records
from ..archive import ArchiveWriter, open_writer
from ..home import jobs_dir, private_dir
from ..logs import BackupLog, log_path_for
from ..storage import StorageError
from ..prune import after_backup as prune_after_backup, delete_everywhere
from .domain import Domain
from .output import archive_name_taken, output_notes, remove_unfinished
from .phases import DOMAINS, DOMAINS_BY_TYPE, domain_keys, next_position
from .start import new_backup
from .state import STATE_VERSION, JobState

_PRIVATE_FILE_MODE = 0o600
# A pending backup whose state was saved this recently is taken as running: the web UI
# steps it one request at a time, so between two requests nobody holds its lock.
RUNNING_SECONDS = 60.0


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


def _user_message(exc: BaseException) -> str:
    """A one-line message for a failure, saying what went wrong and what to do."""
    if isinstance(exc, SitepackError):
        return str(exc)
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return (f"the disk is full{where}: free some space or choose an output directory "
                    f"on another disk (--output-dir), then run the backup again")
        if exc.errno == errno.EFBIG:
            return (f"a file grew larger than this system allows{where} (a file size limit such "
                    f"as ulimit -f, or the file system's largest file): choose a smaller part size "
                    f"(--part-size) or an output directory on another disk, then run the backup again")
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return (f"permission denied writing{where}: make that folder writable for this "
                    f"user or choose another output directory (--output-dir)")
        return f"{exc.strerror or exc}{where}"
    return f"internal error: {type(exc).__name__}: {exc} (the backup log has the details)"


def _state_path(backup_id: int) -> Path:
    return jobs_dir() / str(int(backup_id)) / "state.json"


def _terminal_state(record: records.Record) -> JobState:
    return JobState.from_record(record, last_domain=DOMAINS_BY_TYPE[record.type][-1])


class BackupJob:
    """One backup, driven step by step (see the module docstring)."""

    def __init__(self, state: JobState, *, log: BackupLog | None = None,
                 writer: ArchiveWriter | None = None):
        self.state = state
        self.id: int = state.id
        self.log = log
        self.writer = writer
        self._domains: dict[str, Domain] = {}
        self._site = None
        self._new_warnings: list[str] = []

    # -- creating and loading ----------------------------------------------------------
    @classmethod
    def start(cls, site_root: Path, *, profile: str = "default", backup_type: str | None = None,
              fmt: str | None = None, output_dir: Path | None = None,
              name_template: str | None = None, part_size: int | None = None,
              description: str | None = None, comment: str | None = None,
              archive_password: str | None = None, installer_password: str | None = None,
              origin: str = "cli") -> "BackupJob":
        """Checks everything that can be checked up front (``start.new_backup``), then
        creates the record, the state and the archive's first part as one step: the
        record becomes visible only once the first state is saved, so a process killed
        at any moment leaves either a backup ``--resume`` completes or no record (what it
        wrote is cleared by the next start, which gets the same id). Raises
        ``SitepackError`` when something is not usable."""
        new = new_backup(site_root, profile=profile, backup_type=backup_type, fmt=fmt,
                         output_dir=output_dir, name_template=name_template,
                         part_size=part_size, description=description, comment=comment,
                         archive_password=archive_password,
                         installer_password=installer_password, origin=origin)
        settings = new.settings
        failure = None
        try:
            with records.creating(**new.record_fields()) as record:
                _clear_unrecorded_start(record.id)
                _refuse_while_running(settings.profile.name, record.id)
                archive = Path(settings.archive)
                if archive_name_taken(archive):  # checked once a killed start's parts are gone
                    raise SitepackError(f"{archive} already exists: choose another name (--name) "
                                        f"or another output directory")
                job = cls(new.first_state(record.id))
                private_dir(job.job_dir)
                job.write_state()  # names the archive before it exists (_clear_unrecorded_start)
                job.log = new.open_log(record.id)
                job.log.info(f"sitepack backup #{job.id} ({settings.backup_type}, "
                             f"{settings.format}) of {settings.site_root}, origin {origin}")
                for message in job.notes():
                    job.log.note(message)
                for message in new.warnings:
                    job.warn(message)
                try:
                    job.writer = open_writer(settings.format, archive,
                                             part_size=settings.part_size, password=new.password)
                    job.save()
                except Exception as exc:  # noqa: BLE001 - any failure here fails the new record
                    failure = exc
        except OSError as exc:  # the data folder itself: no record was made
            raise SitepackError(_user_message(exc)) from None
        if failure is not None:
            raise SitepackError(job._fail(failure).error) from None
        return job

    @classmethod
    def load(cls, backup_id: int) -> "BackupJob":
        """The backup ``backup_id`` as saved by its last step (in any process)."""
        try:
            data = json.loads(_state_path(backup_id).read_text(encoding="utf-8"))
        except FileNotFoundError:
            record = records.get(backup_id)
            if record.status == "pending":
                raise SitepackError(
                    f"backup #{backup_id} was interrupted before it saved any state and cannot be "
                    f"resumed: delete it (sitepack backups delete {backup_id}) and start again") from None
            return cls(_terminal_state(record))
        except ValueError:
            raise SitepackError(f"the saved state of backup #{backup_id} is damaged; delete the "
                                f"backup (sitepack backups delete {backup_id}) and start again") from None
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise SitepackError(f"backup #{backup_id} was started by another sitepack version and "
                                f"cannot be resumed; delete it and start again")
        return cls(JobState.from_dict(data))

    # -- the step --------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self.state.finished

    def step(self) -> StepReport:
        """Works until max_exec seconds are used or a new domain starts (at least
        min_exec seconds when the browser drives it), saves the state, reports. Never
        raises for a backup failure (the report says ``failed``)."""
        if self.finished:
            return self.report()
        self._new_warnings = []
        began = time.monotonic()
        with self._step_lock():
            if self.finished:
                return self.report()
            settings = self.state.settings.profile
            try:
                self._open()
                deadline = began + settings.max_exec
                while not self.finished:
                    domain = self.state.domain
                    self._advance(deadline)
                    if time.monotonic() >= deadline or self.state.domain != domain:
                        break
                if not self.finished:
                    self.save()
            except BaseException as exc:  # noqa: BLE001 - a failed backup is a report
                if isinstance(exc, KeyboardInterrupt):
                    self._release()
                    raise
                return self._fail(exc)
        spare = settings.min_exec - (time.monotonic() - began)
        if spare > 0 and not self.finished and self.state.settings.origin == "web":
            time.sleep(spare)
        return self.report()

    def _advance(self, deadline: float) -> None:
        """Runs the current phase's handler; moves on when it says the phase is done."""
        state = self.state
        spec = DOMAINS[state.domain]
        if state.settings.profile.storage and state.domain != "upload":
            self._domain("upload").send_settled(deadline)
        if not spec.handler(state.phase)(self._domain(state.domain), deadline) or self.finished:
            return
        after = next_position(state.settings, state.domain, state.phase)
        if after is None:  # only closing the archive ends a backup, and it completes it
            raise SitepackError(f"internal error: nothing follows {state.domain}/{state.phase}")
        if after[0] != state.domain:
            self.log.info(f"--- {DOMAINS[after[0]].title}")
        state.domain, state.phase = after

    def handler_due(self, deadline: float) -> bool:
        """Whether a handler should return now: the step's time is up, or (with off-site
        storage) the archive has started a new part, so the finished one goes off-site
        before the next one is written (local disk stays at a few parts)."""
        if time.monotonic() >= deadline:
            return True
        saved = self.state.checkpoints.writer
        return bool(self.state.settings.profile.storage and self.writer is not None and saved
                    and self.writer.part_number > saved["part"]["index"])

    def _domain(self, key: str) -> Domain:
        if key not in self._domains:
            self._domains[key] = DOMAINS[key].handler_class(self)
        return self._domains[key]

    def warnings(self) -> list[str]:
        return list(self.state.warnings)

    def notes(self) -> list[str]:
        """Reminders that are no warnings (the default output folder is in use)."""
        settings = self.state.settings
        return output_notes(settings.output_dir, settings.default_output)

    def report(self) -> StepReport:
        state = self.state
        keys = domain_keys(state.settings)
        current = state.domain
        done_all = state.status == "done"
        domains = []
        for key in keys:
            if done_all or keys.index(key) < keys.index(current):
                status = "done"
            elif key == current and state.status == "running":
                status = "running"
            else:
                status = "pending"
            domains.append({"key": key, "title": DOMAINS[key].title, "status": status})
        end = state.finished_at or time.time()
        return StepReport(
            backup_id=self.id, domains=domains, current_domain=current,
            last_item=state.progress.last_item, minor=state.progress.minor,
            progress=100.0 if done_all else round(self._progress(), 1),
            new_warnings=list(self._new_warnings), warnings_total=len(state.warnings),
            finished=self.finished, failed=state.status == "failed", error=state.error,
            archive=state.settings.archive if done_all else None, parts=list(state.parts),
            size=state.size, duration=round(end - state.settings.started, 3))

    def _progress(self) -> float:
        state = self.state
        keys = domain_keys(state.settings)
        total = sum(DOMAINS[k].weight for k in keys)
        done = sum(DOMAINS[k].weight for k in keys[:keys.index(state.domain)])
        part = self._domain(state.domain).fraction(state.phase)
        return 100.0 * (done + DOMAINS[state.domain].weight * part) / total

    # -- state ------------------------------------------------------------------------
    @property
    def job_dir(self) -> Path:
        return jobs_dir() / str(self.id)

    def save(self) -> None:
        """Checkpoints the writer and the domains' workers, then saves the state."""
        if self.writer is not None:
            self.state.checkpoints.writer = self.writer.checkpoint()
            for path in self.writer.written_files():
                if path.exists():
                    os.chmod(path, _PRIVATE_FILE_MODE)
        for domain in self._domains.values():
            domain.checkpoint()
        self.state.seq += 1
        self.write_state()

    def write_state(self) -> None:
        """Saves the state as it is (no checkpoint taken)."""
        write_private_json(self.job_dir / "state.json", self.state.to_dict())

    @contextlib.contextmanager
    def _step_lock(self):
        """Holds the backup's lock (one stepping process at a time) and catches up."""
        try:
            fd = os.open(self.job_dir / "lock", os.O_WRONLY | os.O_CREAT, _PRIVATE_FILE_MODE)
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
        try:
            on_disk = json.loads((self.job_dir / "state.json").read_text(encoding="utf-8"))
        except FileNotFoundError:  # finished or failed elsewhere
            self._release()
            self.state = _terminal_state(records.get(self.id))
            return
        if on_disk["seq"] != self.state.seq:
            self._release()
            self.state = JobState.from_dict(on_disk)

    def _release(self) -> None:
        """Lets go of open files without finishing anything (the saved state stays true)."""
        if self.writer is not None:
            self.writer.release()
        for domain in self._domains.values():
            domain.close()
        self.writer = None
        self._domains = {}

    # -- what a resumed step needs -----------------------------------------------------
    def _open(self) -> None:
        state = self.state
        if self.log is None:
            self.log = BackupLog(log_path_for(self.id), state.settings.profile.log_level)
            self.log.info(f"resuming at {state.domain}/{state.phase} (state #{state.seq})")
        if self.writer is None and state.phase != "closing" and state.checkpoints.writer:
            self.writer = ArchiveWriter.resume(state.checkpoints.writer)

    def site_info(self):
        """The site read again (only the database password is needed from it)."""
        if self._site is None:
            from ..site import detect_site
            self._site = detect_site(Path(self.state.settings.site_root))
            self.log.add_secret(self._site.db.password if self._site.db else None)
        return self._site

    def warn(self, message: str) -> None:
        self.state.warnings.append(message)
        self._new_warnings.append(message)
        self.log.warning(message)

    # -- endings ---------------------------------------------------------------------
    def closed(self, parts: list[Path]) -> None:
        """The archive is closed: the backup completes, or goes on sending it off-site."""
        if self.state.settings.profile.storage:
            self.state.parts = [str(p) for p in parts]
            self.state.checkpoints.writer = None  # closed: nothing may resume (cut) it again
        else:
            self.complete(parts)

    def complete(self, parts: list[Path], *, offsite: dict | None = None) -> None:
        """Ends the backup as a good one; ``offsite``: where its parts were sent
        (``upload.offsite_record``), parts stored there may be gone locally."""
        state = self.state
        now = time.time()
        remote = (offsite or {}).get("parts", {})
        local = [p for p in parts if p.exists()]
        size = sum(p.stat().st_size for p in local) + sum(
            remote[p.name]["size"] for p in parts if p not in local)
        for part in local:
            os.chmod(part, _PRIVATE_FILE_MODE)
        state.status, state.parts, state.size, state.finished_at = "done", [str(p) for p in parts], size, now
        state.progress.minor = ""
        state.domain = domain_keys(state.settings)[-1]
        duration = now - state.settings.started
        status = records.status_after_upload(offsite, local) if offsite else "ok"
        records.update(self.id, status=status, parts=[p.name for p in parts], size=size,
                       finished=records.utc_now(), duration=round(duration, 3),
                       warnings=len(state.warnings), warning_messages=state.warnings,
                       archive_name=Path(state.settings.archive).name, offsite=offsite or {})
        where = f", {status} on {offsite['location']}" if offsite else ""
        self._apply_retention()
        self.log.info(f"backup complete: {len(parts)} part(s), {size} bytes, "
                      f"{len(state.warnings)} warning(s), {duration:.1f} s{where}")
        self.log.close()
        shutil.rmtree(self.job_dir, ignore_errors=True)

    def _apply_retention(self) -> None:
        """The profile's retention policy, applied once this backup is good; a backup
        that cannot be pruned is a warning of this one, never its failure."""
        try:
            deleted, errors = prune_after_backup(self.id)
        except (SitepackError, OSError) as exc:
            deleted, errors = [], [f"retention not applied: {_user_message(exc)}"]
        for backup_id in deleted:
            self.log.info(f"retention: deleted backup #{backup_id}")
        for message in errors:
            self.warn(message)
        if errors:
            records.update(self.id, warnings=len(self.state.warnings),
                           warning_messages=self.state.warnings)

    def _fail(self, exc: BaseException) -> StepReport:
        state = self.state
        message = _user_message(exc)
        if self.log is None:
            self.log = BackupLog(log_path_for(self.id), state.settings.profile.log_level)
        left = self._discard_archive()
        if left:
            message = f"{message}; {left}"
        self.log.error(f"backup failed: {message}")
        if not isinstance(exc, (SitepackError, OSError)):
            self.log.error("".join(traceback.format_exception(exc)))
        if state.offsite.uploads:
            self._domain("upload").discard()
        for domain in self._domains.values():
            domain.close()
        self._domains = {}
        now = time.time()
        state.status, state.error, state.finished_at, state.parts, state.size = \
            "failed", message, now, [], 0
        # The record first: a kill between the two leaves a failed record and a stale
        # folder (deleted with the record), never a pending record without its state.
        records.update(self.id, status="failed", error=message, finished=records.utc_now(),
                       duration=round(now - state.settings.started, 3), parts=[], size=0,
                       warnings=len(state.warnings), warning_messages=state.warnings)
        shutil.rmtree(self.job_dir, ignore_errors=True)
        self.log.close()
        return self.report()

    def _discard_archive(self) -> str | None:
        """Deletes every part and sidecar of the unfinished archive; says what it could not
        delete (a folder that became unwritable), which none of them looks complete: the
        archive's real name is given to the last part only when it is."""
        writer = self.writer
        if writer is None and self.state.checkpoints.writer:
            try:
                writer = ArchiveWriter.resume(self.state.checkpoints.writer)
            except Exception:  # noqa: BLE001 - then delete by name below
                writer = None
        if writer is not None:
            try:
                writer.abort()
            except OSError:
                pass
        self.writer = None
        # A kill during close may have left the complete archive: "closing" keeps it.
        archive = Path(self.state.settings.archive)
        try:
            remove_unfinished(archive, keep_final=self.state.phase == "closing")
        except OSError as exc:
            return (f"its unfinished parts could not be deleted ({exc.strerror}): delete "
                    f"{archive.parent / archive.stem}.* by hand")
        return None

    def abandon(self) -> StepReport:
        """Stops an unfinished backup for good: parts deleted, record failed."""
        if self.finished:
            return self.report()
        with self._step_lock():
            if self.finished:
                return self.report()
            return self._fail(SitepackError("the backup was cancelled"))


def _clear_unrecorded_start(backup_id: int) -> None:
    """Deletes what a start killed before its record was committed left under this id:
    the working folder, the log and the archive's unfinished parts. Called by the start
    that got the same id (ids of uncommitted records are given again), under the
    records' write lock, so nothing else can own ``backup_id``."""
    job_dir = jobs_dir() / str(int(backup_id))
    try:
        archive = json.loads((job_dir / "state.json").read_text(encoding="utf-8"))["settings"]["archive"]
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        archive = None  # killed before the state named the archive: none was written yet
    if archive:
        remove_unfinished(Path(archive), keep_final=True)  # the final name comes at the end only
    log_path_for(backup_id).unlink(missing_ok=True)
    shutil.rmtree(job_dir, ignore_errors=True)


def _refuse_while_running(profile: str, new_id: int) -> None:
    """Refuses a second backup of ``profile`` while one is running (its lock held, or its
    state saved within ``RUNNING_SECONDS``): two would race for the same output names and
    double the load on the site. Called inside ``records.creating``, so two starts at the
    same moment are serialised and the second sees the first."""
    for record in records.list_records():
        if record.status != "pending" or record.profile != profile or record.id == new_id:
            continue
        state = _state_path(record.id)
        try:
            idle = time.time() - state.stat().st_mtime
        except FileNotFoundError:  # killed before its first state: nothing runs
            continue
        if idle < RUNNING_SECONDS or _lock_held(state.parent / "lock"):
            raise SitepackError(
                f"backup #{record.id} of profile {profile!r} is already running (last step "
                f"{idle:.0f} s ago): wait for it to finish, or stop it (sitepack backups delete "
                f"{record.id}); if it was interrupted, resume it (sitepack backup --resume {record.id})")


def _lock_held(lock: Path) -> bool:
    """Whether a process is stepping the backup whose lock file is ``lock`` right now."""
    try:
        fd = os.open(lock, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


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
            if r.status == "pending" and _state_path(r.id).exists()]


def delete_backup(backup_id: int, *, keep_remote: bool = False) -> list[str]:
    """Deletes a backup everywhere: its off-site parts (those its record names; none with
    ``keep_remote``), its files, log and record; an unfinished one is abandoned first.
    Returns the names deleted off-site. When the storage cannot delete them nothing else
    is deleted and the record stays, so the same command can be run again."""
    record = records.get(backup_id)
    records.refuse_frozen(record, "deleted")
    if record.status == "pending":
        if _state_path(record.id).exists():
            BackupJob.load(backup_id).abandon()
        elif record.archive_name and "/" not in record.archive_name and record.output_dir:
            # Killed before its first saved state: only numbered parts can exist.
            remove_unfinished(Path(record.output_dir) / record.archive_name, keep_final=True)
        record = records.get(backup_id)
    if keep_remote:
        records.delete(backup_id)
        return []
    try:
        return delete_everywhere(record)
    except StorageError as exc:
        raise StorageError(f"backup #{backup_id} was not deleted, its off-site copy could not "
                           f"be: {exc}. The record and local files are kept: run the delete again "
                           f"once the storage can be reached (if it is gone for good: sitepack "
                           f"backups delete {backup_id} --keep-remote)") from None


def what_was_deleted(deleted_offsite: list[str]) -> str:
    """What ``delete_backup`` deleted, for the CLI's and the web UI's sentence."""
    offsite = f"; off-site: {', '.join(deleted_offsite)}" if deleted_offsite else ""
    return f"record, archive files and log{offsite}"
