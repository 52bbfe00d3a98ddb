"""Domain ``files``: list the site into a list file (resumable, in slices of folders),
then archive the listed entries one by one."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from restorer.bundle import INSTALLATION

from ..archive import ArchiveWriter, SourceChangedError
from ..filters import Filters
from ..scan import DIR, FILE, LINK, Entry, EntryList, Scanner
from .domain import Domain

# Bytes of archive work one file costs besides its data (headers, open/close).
_PER_FILE_COST = 4096
_REGULAR_FILE = 0o100000
_FILE_TYPE_BITS = 0o170000


class FilesDomain(Domain):
    def __init__(self, job):
        super().__init__(job)
        self._scanner: Scanner | None = None
        self._entries: EntryList | None = None

    def close(self) -> None:
        for holder in (self._scanner, self._entries):
            if holder is not None:
                holder.close()
        self._scanner = self._entries = None

    def checkpoint(self) -> None:
        if self._scanner is not None:
            self.state.checkpoints.scan = self._scanner.state()
        if self._entries is not None:
            self.state.checkpoints.archive_offset = self._entries.offset

    @property
    def _list_path(self) -> Path:
        return self.job.job_dir / "scan.list"

    def _filters(self) -> Filters:
        settings = self.state.settings
        rules = {k: list(v) for k, v in settings.profile.filters.items()}
        if settings.backup_type == "full":
            # The archive's own installer goes to installation/; the site's would clash.
            rules["exclude_dirs"].append(INSTALLATION)
        return Filters.for_site(rules, site_root=Path(settings.site_root),
                                tmp_path=settings.site.tmp_path, log_path=settings.site.log_path,
                                defaults=settings.profile.default_filters)

    def scan(self, deadline: float) -> bool:
        settings, marks, progress = self.state.settings, self.state.checkpoints, self.state.progress
        root = Path(settings.site_root)
        if self._scanner is None:
            if marks.scan is None and settings.backup_type == "full" and (root / INSTALLATION).is_dir():
                self.job.warn(f"the site's own {INSTALLATION}/ folder was left out: the "
                              f"archive's installer takes its place")
            self._scanner = Scanner(root, self._list_path, self._filters(),
                                    {tuple(i) for i in settings.excluded}, marks.scan)
        scanner = self._scanner
        done = scanner.run(deadline, self.job.warn, self.job.log.debug)
        progress.last_item = scanner.last_dir
        progress.minor = f"{scanner.files} files found"
        progress.scan_fraction = scanner.dirs / max(1, scanner.dirs + len(scanner.stack))
        if not done:
            return False
        marks.scan = scanner.state()
        progress.scan_files, progress.scan_bytes = scanner.files, scanner.bytes
        scanner.close()
        self._scanner = None
        self.job.log.info(f"scan: {scanner.files} files, {scanner.dirs} directories, "
                          f"{scanner.bytes} bytes")
        return True

    def archive(self, deadline: float) -> bool:
        marks, progress = self.state.checkpoints, self.state.progress
        if self._entries is None:
            self._entries = EntryList(self._list_path, marks.archive_offset)
        root = Path(self.state.settings.site_root)
        writer = self.job.writer
        finished = True
        for entry in self._entries:
            if entry.kind == DIR:
                writer.add_dir(entry.path, entry.mode, entry.mtime)
                progress.last_item = entry.path
            elif entry.kind == LINK:
                writer.add_symlink(entry.path, entry.target, entry.mode, entry.mtime)
            elif entry.kind == FILE:
                self._add_site_file(writer, root, entry)
            if self.job.handler_due(deadline):
                finished = False
                break
        progress.minor = (f"{progress.files_done} of {progress.scan_files} files, "
                          f"part {writer.current_part.name}")
        if not finished:
            return False
        self._entries.close()
        self._entries = None
        marks.archive_offset = self._list_path.stat().st_size
        self.job.log.info(f"files archived: {progress.files_done}")
        return True

    def _add_site_file(self, writer: ArchiveWriter, root: Path, entry: Entry) -> None:
        try:
            fd = os.open(root / entry.path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            self.job.warn(f"cannot read {entry.path}: {exc.strerror or exc} (skipped)")
            return
        with os.fdopen(fd, "rb") as handle:
            st = os.fstat(fd)
            if st.st_mode & _FILE_TYPE_BITS != _REGULAR_FILE:
                self.job.warn(f"{entry.path} is no longer a regular file (skipped)")
                return
            try:
                writer.add_file(entry.path, handle, mode=entry.mode, mtime=int(st.st_mtime),
                                size=st.st_size)
            except SourceChangedError as exc:
                self.job.warn(f"{exc} (skipped)")
                return
            except OSError as exc:
                if exc.filename is None and exc.errno in (errno.EIO, errno.EACCES):
                    self.job.warn(f"cannot read {entry.path}: {exc.strerror or exc} (skipped)")
                    return
                raise
        self.state.progress.files_done += 1
        self.state.progress.bytes_done += st.st_size

    def fraction(self, phase: str) -> float:
        progress = self.state.progress
        if phase == "scan":
            return 0.1 * progress.scan_fraction
        work = progress.scan_bytes + _PER_FILE_COST * progress.scan_files
        did = progress.bytes_done + _PER_FILE_COST * progress.files_done
        return 0.1 + 0.9 * min(1.0, did / work) if work else 0.1
