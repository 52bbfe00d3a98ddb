"""Domain ``files``: list the site into a list file (resumable, in slices of folders),
then archive the listed entries one by one.

Small files are opened, statted and read ahead on a reader thread, in list order (the
main thread was spending seconds in ``open`` on a 15k-file site); the main thread
hands their bytes to the writer and reports what the reader met (unreadable, no longer
a regular file) as it always did. Only entries handed to the writer count for the
saved offset, so whatever was read ahead and not archived yet is read again after a
resume.
"""

from __future__ import annotations

import errno
import os
import stat
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

from restorer.bundle import INSTALLATION

from ..archive import ArchiveWriter, SourceChangedError
from ..archive.base import SMALL_FILE_LIMIT
from ..filters import Filters
from ..scan import DIR, FILE, LINK, Entry, EntryList, Scanner
from .domain import Domain

# Bytes of archive work one file costs besides its data (headers, open/close).
_PER_FILE_COST = 4096
#: Read-ahead bounds: files per task for the reader thread, tasks in flight (so at
#: most _READ_BATCH * _READ_AHEAD small files, each under 1 MiB, wait in memory).
_READ_BATCH = 32
_READ_AHEAD = 4


class FilesDomain(Domain):
    def __init__(self, job):
        super().__init__(job)
        self._scanner: Scanner | None = None
        self._entries: EntryList | None = None
        self._ahead: Iterator[tuple[Entry, int, tuple | None]] | None = None
        self._reader: ThreadPoolExecutor | None = None
        self._archived_offset = 0

    def close(self) -> None:
        for holder in (self._scanner, self._entries):
            if holder is not None:
                holder.close()
        if self._reader is not None:
            self._reader.shutdown(wait=True, cancel_futures=True)
        self._scanner = self._entries = self._ahead = self._reader = None

    def checkpoint(self) -> None:
        if self._scanner is not None:
            self.state.checkpoints.scan = self._scanner.state()
        if self._entries is not None:
            self.state.checkpoints.archive_offset = self._archived_offset

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
            self._archived_offset = marks.archive_offset
            self._reader = ThreadPoolExecutor(1, thread_name_prefix="sitepack-read")
            self._ahead = self._read_ahead(self.state.settings.site_root)
        root = Path(self.state.settings.site_root)
        writer = self.job.writer
        finished = True
        for entry, offset, read in self._ahead:
            if entry.kind == DIR:
                writer.add_dir(entry.path, entry.mode, entry.mtime)
                progress.last_item = entry.path
            elif entry.kind == LINK:
                writer.add_symlink(entry.path, entry.target, entry.mode, entry.mtime)
            elif read is None:
                self._add_site_file(writer, root, entry)
            else:
                self._add_read_file(writer, entry, *read)
            self._archived_offset = offset
            if self.job.handler_due(deadline):
                finished = False
                break
        progress.minor = (f"{progress.files_done} of {progress.scan_files} files, "
                          f"part {writer.current_part.name}")
        if not finished:
            return False
        self.close()
        marks.archive_offset = self._list_path.stat().st_size
        self.job.log.info(f"files archived: {progress.files_done}")
        return True

    def _read_ahead(self, root: str) -> Iterator[tuple[Entry, int, tuple | None]]:
        """The list's entries, each with the list offset after it and, for a small
        file, what ``_read_small_files`` found (read on the reader thread, in order)."""
        tasks: deque[tuple[list[tuple[Entry, int]], Future | None]] = deque()
        batch: list[tuple[Entry, int]] = []
        entries = self._entries

        def submit() -> None:
            nonlocal batch
            paths = [f"{root}/{e.path}" for e, _ in batch if _read_ahead_kind(e)]
            tasks.append((batch, self._reader.submit(_read_small_files, paths) if paths else None))
            batch = []

        for entry in entries:
            batch.append((entry, entries.offset))
            if len(batch) >= _READ_BATCH:
                submit()
            if len(tasks) >= _READ_AHEAD:
                yield from _with_reads(*tasks.popleft())
        if batch:
            submit()
        while tasks:
            yield from _with_reads(*tasks.popleft())

    def _add_read_file(self, writer: ArchiveWriter, entry: Entry, error: OSError | None,
                       st: os.stat_result | None, data: bytes | None) -> None:
        """Archives a small file the reader thread opened and read (or reports why not)."""
        if st is None:
            self._cannot_read(entry, error)
        elif not stat.S_ISREG(st.st_mode):
            self._not_regular(entry)
        elif error is not None:
            self._read_failed(entry, error)
        elif data is None:    # it grew past the small-file limit since the scan: stream it
            self._add_site_file(writer, Path(self.state.settings.site_root), entry)
        else:
            writer.add_bytes(entry.path, data, mode=entry.mode, mtime=int(st.st_mtime))
            self._count_file(st)

    def _add_site_file(self, writer: ArchiveWriter, root: Path, entry: Entry) -> None:
        try:
            fd = os.open(root / entry.path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            self._cannot_read(entry, exc)
            return
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):    # before fdopen, which refuses a directory
            os.close(fd)
            self._not_regular(entry)
            return
        with os.fdopen(fd, "rb") as handle:
            try:
                writer.add_file(entry.path, handle, mode=entry.mode, mtime=int(st.st_mtime),
                                size=st.st_size)
            except SourceChangedError as exc:
                self.job.warn(f"{exc} (skipped)")
                return
            except OSError as exc:
                if exc.filename is not None:    # the archive's own file, not the source
                    raise
                self._read_failed(entry, exc)
                return
        self._count_file(st)

    def _cannot_read(self, entry: Entry, exc: OSError) -> None:
        self.job.warn(f"cannot read {entry.path}: {exc.strerror or exc} (skipped)")

    def _not_regular(self, entry: Entry) -> None:
        self.job.warn(f"{entry.path} is no longer a regular file (skipped)")

    def _read_failed(self, entry: Entry, exc: OSError) -> None:
        """A source file that fails while read is skipped with a warning when the error is
        the file's own (EIO, EACCES); any other error ends the backup."""
        if exc.errno not in (errno.EIO, errno.EACCES):
            raise exc
        self._cannot_read(entry, exc)

    def _count_file(self, st: os.stat_result) -> None:
        self.state.progress.files_done += 1
        self.state.progress.bytes_done += st.st_size

    def fraction(self, phase: str) -> float:
        progress = self.state.progress
        if phase == "scan":
            return 0.1 * progress.scan_fraction
        work = progress.scan_bytes + _PER_FILE_COST * progress.scan_files
        did = progress.bytes_done + _PER_FILE_COST * progress.files_done
        return 0.1 + 0.9 * min(1.0, did / work) if work else 0.1


def _with_reads(batch: list[tuple[Entry, int]], task: Future | None
                ) -> Iterator[tuple[Entry, int, tuple | None]]:
    reads = iter(task.result()) if task is not None else iter(())
    for entry, offset in batch:
        yield entry, offset, next(reads) if _read_ahead_kind(entry) else None


def _read_ahead_kind(entry: Entry) -> bool:
    """Whether the reader thread reads ``entry``: a file the scan found small."""
    return entry.kind == FILE and entry.size < SMALL_FILE_LIMIT


def _read_small_files(paths: list[str]) -> list[tuple]:
    """Reader thread: ``(error, stat, data)`` of each file, never following a link.

    ``stat`` is None when opening failed; ``data`` is None when the file is not regular
    or has grown to the large-file size since the scan (the main thread streams it).
    """
    found = []
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            found.append((exc, None, None))
            continue
        st = None
        try:
            st = os.fstat(fd)
            data = None
            if stat.S_ISREG(st.st_mode) and st.st_size < SMALL_FILE_LIMIT:
                data = _read_exactly(fd, st.st_size)
            found.append((None, st, data))
        except OSError as exc:
            found.append((exc, st, None))
        finally:
            os.close(fd)
    return found


def _read_exactly(fd: int, size: int) -> bytes:
    """Up to ``size`` bytes (fewer if the file is shorter now, as ``read(size)`` gives)."""
    data = os.read(fd, size)
    if len(data) == size or not data:
        return data
    parts = [data]
    left = size - len(data)
    while left > 0:
        more = os.read(fd, left)
        if not more:
            break
        parts.append(more)
        left -= len(more)
    return b"".join(parts)
