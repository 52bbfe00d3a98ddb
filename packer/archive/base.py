"""The archive writer every format shares: pipeline, parts, manifest, checkpoint/resume.

A format (``jpa.py``, ``zip.py``, ``jps.py``, ``jps2.py``) subclasses ``ArchiveWriter``
and supplies only what is its own:

- ``_start()``: the archive header of a fresh archive (``self.out`` is open);
- ``_prepare(entry, data) -> prepared``: runs in a worker thread for a whole small file
  (under ``SMALL_FILE_LIMIT``), a symlink target or a directory (``data`` empty), e.g.
  compress and encrypt; must not touch ``self.out`` or other writer state;
- ``_write_prepared(entry, prepared)``: main thread, in archive order; writes the
  entry's header and data through ``self.out`` (``ensure_room`` before headers);
- ``_write_stream(entry, chunks)``: main thread; writes a large file whose data comes
  as an iterator of ``CHUNK_SIZE`` pieces (``self.map_ordered`` runs per-chunk work
  on the pool, in order, with bounded read-ahead);
- ``_finish()``: end records, central directory, header rewrite;
- ``_format_state()`` / ``_load_format_state(state)``: what the format needs to
  continue after a restart (counters, sidecar sizes, for encrypted formats the DERIVED
  key, never the password); ``_load_format_state`` also serves to roll back (cut the
  format's own sidecars back to the recorded sizes).

The base does the rest: it reads small files on the calling thread (so an unreadable
file raises ``OSError`` from the ``add_file`` call that named it; a caller that read the
file itself, e.g. ahead on its own thread, hands the bytes to ``add_bytes``), prepares them in
batches on a bounded thread pool and writes them in the order they were added, with
bounded memory (at most 64 MiB pending);
it hashes every entry (SHA-256) into the manifest sidecar; it keeps the parts; it
checkpoints and resumes; at ``close`` it adds the manifest as the last entry
(``installation/sitepack-manifest.tsv.gz``, see docs/FORMAT-MANIFEST.md).

Checkpoint/resume: ``checkpoint()`` waits for pending entries, fsyncs and returns a
JSON-able dict. ``ArchiveWriter.resume(state)`` (after a crash, even SIGKILL) cuts the
current part and the sidecars back to the checkpoint, deletes later parts and goes on;
adding the same entries afterwards gives byte-identical parts. A large file whose
source ends early is rolled back the same way and reported as ``SourceChangedError``.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

from restorer.errors import ArchiveError
from restorer.extract.manifest import (MANIFEST_MODE, compress_manifest, manifest_header, manifest_line,
                                       manifest_trailer)
from restorer.formats.base import CHUNK_SIZE, MANIFEST_PATH, Entry, EntryType, validate_entry_path

from .parts import PartWriter, check_part_size

#: Files smaller than this are read whole and prepared on the thread pool; larger ones
#: are streamed (Akeeba stores JPA files of 1 MiB and more).
SMALL_FILE_LIMIT = 1024 * 1024
#: Bounds on work waiting to be written, so memory stays flat.
_MAX_PENDING_BYTES = 64 * 1024 * 1024
_WORKERS = max(2, min(8, os.cpu_count() or 2))
_BATCH_ENTRIES = 256
_BATCH_BYTES = 2 * 1024 * 1024
_MAX_PENDING_BATCHES = _WORKERS * 4

_WRITERS: dict[str, type["ArchiveWriter"]] = {}


class SourceChangedError(OSError):
    """A file ended before its announced size while it was archived (it changed).

    The entry was rolled back; the archive is intact without it.
    """


def register(cls: type["ArchiveWriter"]) -> type["ArchiveWriter"]:
    _WRITERS[cls.format] = cls
    return cls


#: Every archive format sitepack writes: the one list the CLI, the profiles and the web
#: UI offer. Each has a writer module in this package that registers its class on import.
FORMATS = ("jpa", "jps", "jps2", "zip")
#: The formats that encrypt the archive, so a backup in them needs an archive password.
ENCRYPTED_FORMATS = ("jps", "jps2")


def writer_class(fmt: str) -> type["ArchiveWriter"]:
    """The writer class of ``fmt``, importing only that format's module."""
    if fmt not in FORMATS:
        raise ArchiveError(f"unknown archive format {fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt not in _WRITERS:
        importlib.import_module(f"{__package__}.{fmt}")
    return _WRITERS[fmt]


class ArchiveWriter(ABC):
    format: str
    #: The archive's real extension, e.g. ``".jpa"``.
    suffix: str
    #: Parts (1-based) that ``close`` writes into again after later parts exist; all
    #: other parts before the one a checkpoint writes into never change again.
    rewritten_at_close: tuple[int, ...] = ()

    def __init__(self, path: Path | str, *, part_size: int | None = None,
                 password: str | None = None, manifest: bool = True,
                 state: dict | None = None):
        check_part_size(part_size)
        self.path = Path(path)
        self.part_size = part_size
        self.with_manifest = manifest
        self.entity_count = 0
        self.total_size = 0
        self._pending: deque[tuple[int, Future]] = deque()   # (bytes, batch future)
        self._pending_bytes = 0
        self._batch: list[tuple[Entry, bytes]] = []
        self._batch_bytes = 0
        self._pool = ThreadPoolExecutor(_WORKERS, thread_name_prefix="sitepack-archive")
        self._closed = False
        self.manifest_sidecar = self.path.with_name(self.path.name + ".manifest-tmp")
        # The manifest gzipped, made at close from the sidecar (whose plain lines a
        # checkpoint can cut back).
        self._manifest_gz_sidecar = self.path.with_name(self.path.name + ".manifest-gz-tmp")
        if state is None:
            self.created = int(time.time())
            self.out = PartWriter(self.path, part_size)
            self.out.open_fresh()
            self._manifest_file = open(self.manifest_sidecar, "w+b") if manifest else None
            if self._manifest_file:
                self._manifest_file.write(manifest_header(self.format, self.created))
            self._start()
        else:
            self.created = state["created"]
            part = state["part"]
            self.out = PartWriter(self.path, part_size, index=part["index"],
                                  offset=part["offset"], before=part["before"])
            self._manifest_file = None
            self._restore(state)

    # -- public API ------------------------------------------------------------------
    def add_dir(self, path: str, mode: int = 0o40755, mtime: int | None = None) -> None:
        entry = Entry(validate_entry_path(path), EntryType.DIR, 0, mode | 0o40000,
                      _mtime(mtime))
        self._enqueue(entry, b"")

    def add_symlink(self, path: str, target: str, mode: int = 0o120777,
                    mtime: int | None = None) -> None:
        data = target.encode("utf-8")
        entry = Entry(validate_entry_path(path), EntryType.SYMLINK, len(data),
                      mode | 0o120000, _mtime(mtime), target)
        self._enqueue(entry, data)

    def add_bytes(self, path: str, data: bytes, mode: int = 0o100644,
                  mtime: int | None = None) -> None:
        """Adds a regular file whose content was already read (e.g. on another thread)."""
        if len(data) < SMALL_FILE_LIMIT:
            self._enqueue_file(validate_entry_path(path), data, mode, _mtime(mtime))
        else:
            self.add_file(path, io.BytesIO(data), mode=mode, mtime=mtime, size=len(data))

    def add_file(self, path: str, source: Path | str | BinaryIO, *, mode: int = 0o100644,
                 mtime: int | None = None, size: int | None = None) -> None:
        """Adds a regular file from a path or an open binary stream.

        ``size`` is the size announced by the scan (``os.stat``); when the file turns
        out shorter, small files are archived as they are now and large ones raise
        ``SourceChangedError`` (rolled back). An unreadable file raises ``OSError``
        from this call, before anything was written for it.
        """
        path = validate_entry_path(path)
        if isinstance(source, (str, Path)):
            with open(source, "rb") as handle:
                if size is None:
                    size = os.fstat(handle.fileno()).st_size
                self._add_file_handle(path, handle, mode, _mtime(mtime), size)
        else:
            if size is None:
                raise ValueError("add_file needs size= for a stream source")
            self._add_file_handle(path, source, mode, _mtime(mtime), size)

    def checkpoint(self) -> dict:
        """Writes out everything pending, fsyncs, and returns the state to resume from."""
        self._drain(0)
        # The state first: taking it may write (the JPS 3.0 header), and what it counts
        # must be on disk before it is saved, or a kill leaves a part shorter than it says.
        state = json.loads(json.dumps(self._state()))
        self.out.sync()
        if self._manifest_file:
            self._manifest_file.flush()
            os.fsync(self._manifest_file.fileno())
        return state

    @classmethod
    def resume(cls, state: dict) -> "ArchiveWriter":
        """Continues an archive from a ``checkpoint()`` state (after a crash)."""
        target = writer_class(state["format"])
        if cls is not ArchiveWriter and not issubclass(target, cls):
            raise ArchiveError(f"this state belongs to a {state['format']} archive")
        return target(state["path"], part_size=state["part_size"], manifest=state["manifest"],
                      state=state)

    def close(self) -> list[Path]:
        """Adds the manifest, writes the end records, renames the last part.

        Returns the part files in order (the last one has the real name).
        """
        self._drain(0)
        if self._manifest_file:
            self._add_manifest()
        self._finish()
        self._pool.shutdown()
        paths = self.out.finish()
        self._closed = True
        self._remove_sidecars()
        return paths

    def release(self) -> None:
        """Lets go of the open part and the worker threads, finishing and deleting nothing.

        For a process that stops working on an archive another one continues (from
        the last ``checkpoint()``, which stays the truth): whatever was written since
        is cut away by that ``resume``.
        """
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.out.close_handle()

    def abort(self) -> None:
        """Deletes every part and sidecar written so far."""
        for _, future in self._pending:
            future.cancel()
        self._pending.clear()
        self._batch.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.out.abort()
        self._closed = True
        self._remove_sidecars()

    def __enter__(self) -> "ArchiveWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._closed:
            return
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # -- format hooks ----------------------------------------------------------------
    @abstractmethod
    def _start(self) -> None: ...

    def _prepare(self, entry: Entry, data: bytes) -> Any:
        return data

    @abstractmethod
    def _write_prepared(self, entry: Entry, prepared: Any) -> None: ...

    @abstractmethod
    def _write_stream(self, entry: Entry, chunks: Iterator[bytes]) -> None: ...

    @abstractmethod
    def _finish(self) -> None: ...

    def _format_state(self) -> dict:
        return {}

    def _load_format_state(self, state: dict) -> None:
        pass

    def sidecars(self) -> list[Path]:
        """Temporary files besides the parts (deleted at close and abort), each named
        ``<archive name>.<what>-tmp`` (``leftover_sidecars`` finds them by that)."""
        return [self.manifest_sidecar, self._manifest_gz_sidecar]

    @property
    def part_number(self) -> int:
        """The 1-based number of the part being written."""
        return self.out.index

    @property
    def current_part(self) -> Path:
        """The part being written (under its numbered name)."""
        return self.out.numbered(self.out.index)

    def written_files(self) -> list[Path]:
        """The part files written so far (numbered names) and the sidecars."""
        return [*self.out.paths, *self.sidecars()]

    # -- helpers for formats ---------------------------------------------------------------
    def map_ordered(self, func: Callable[[Any], Any], items: Iterable[Any],
                    window: int | None = None) -> Iterator[Any]:
        """``func`` over ``items`` on the pool, results in order, at most ``window`` ahead."""
        window = window or _WORKERS * 2
        queue: deque[Future] = deque()
        for item in items:
            queue.append(self._pool.submit(func, item))
            if len(queue) >= window:
                yield queue.popleft().result()
        while queue:
            yield queue.popleft().result()

    # -- internals ---------------------------------------------------------------------
    def _add_file_handle(self, path: str, handle: BinaryIO, mode: int, mtime: int,
                         size: int) -> None:
        if size < SMALL_FILE_LIMIT:
            self._enqueue_file(path, handle.read(size), mode, mtime)
            return
        mode = mode | 0o100000
        self._drain(0)
        entry = Entry(path, EntryType.FILE, size, mode, mtime)
        mark = self._state()
        digest = hashlib.sha256()
        try:
            self._write_stream(entry, _exact_chunks(handle, size, digest, path))
        except BaseException:
            self._rollback(mark)
            raise
        self._record(entry, digest.hexdigest())

    def _enqueue_file(self, path: str, data: bytes, mode: int, mtime: int) -> None:
        """A small file (its whole content in ``data``) goes to the pool."""
        self._enqueue(Entry(path, EntryType.FILE, len(data), mode | 0o100000, mtime), data)

    def _enqueue(self, entry: Entry, data: bytes) -> None:
        if self._closed:
            raise ArchiveError("this archive was already closed")
        self._batch.append((entry, data))
        self._batch_bytes += len(data)
        if len(self._batch) >= _BATCH_ENTRIES or self._batch_bytes >= _BATCH_BYTES:
            self._submit_batch()
            self._drain(_MAX_PENDING_BYTES)

    def _submit_batch(self) -> None:
        """Small entries go to the pool in batches: one task per entry costs more than
        compressing a typical PHP file."""
        if self._batch:
            self._pending.append((self._batch_bytes, self._pool.submit(self._prepare_batch, self._batch)))
            self._pending_bytes += self._batch_bytes
            self._batch = []
            self._batch_bytes = 0

    def _prepare_batch(self, batch: list[tuple[Entry, bytes]]) -> list[tuple[Entry, Any, bytes | None]]:
        """Worker thread: prepared data and manifest line of each entry of a batch."""
        done = []
        for entry, data in batch:
            digest = None if entry.is_dir else hashlib.sha256(data).hexdigest()
            line = manifest_line(entry, digest) if self.with_manifest else None
            done.append((entry, self._prepare(entry, data), line))
        return done

    def _drain(self, limit: int) -> None:
        """Writes finished batches in order; waits while too much is pending.

        ``limit`` 0 writes out everything, the batch being filled included.
        """
        if limit == 0:
            self._submit_batch()
        while self._pending:
            size, future = self._pending[0]
            ready = self._can_write()
            must_wait = (limit == 0 or self._pending_bytes > limit
                         or (ready and len(self._pending) > _MAX_PENDING_BATCHES))
            if not must_wait and not (ready and future.done()):
                return
            done = future.result()
            self._pending.popleft()
            self._pending_bytes -= size
            for entry, prepared, line in done:
                self._write_prepared(entry, prepared)
                self._count(entry, line)

    def _can_write(self) -> bool:
        """Whether writing would start now; while it would wait (for the key of an
        encrypted archive), more batches may queue, up to the bytes limit."""
        return True

    def _record(self, entry: Entry, digest: str | None) -> None:
        self._count(entry, manifest_line(entry, digest) if self.with_manifest else None)

    def _count(self, entry: Entry, line: bytes | None) -> None:
        self.entity_count += 1
        self.total_size += entry.size
        if self._manifest_file and line is not None:
            self._manifest_file.write(line)

    def _add_manifest(self) -> None:
        handle = self._manifest_file
        handle.seek(0)
        digest = hashlib.sha256()
        lines = 0
        for data in iter(lambda: handle.read(CHUNK_SIZE), b""):
            digest.update(data)
            lines += data.count(b"\n")
        handle.write(manifest_trailer(lines - 1, digest.hexdigest()))
        handle.seek(0)
        with open(self._manifest_gz_sidecar, "w+b") as packed:
            compress_manifest(handle, packed)
            handle.close()
            self._manifest_file = None
            size = packed.tell()
            packed.seek(0)
            self._add_file_handle(MANIFEST_PATH, packed, MANIFEST_MODE, self.created, size)
        self._drain(0)

    def _state(self) -> dict:
        # The format's state first: taking it may write (JPS 3.0 writes its header when
        # the key is first needed), and the part position below must count that.
        format_state = self._format_state()
        if self._manifest_file:
            self._manifest_file.flush()
        return {
            "format": self.format,
            "path": str(self.path),
            "part_size": self.part_size,
            "manifest": self.with_manifest,
            "created": self.created,
            "part": self.out.state(),
            "entity_count": self.entity_count,
            "total_size": self.total_size,
            "manifest_size": (self._manifest_file.tell() if self._manifest_file else None),
            "format_state": format_state,
        }

    def _restore(self, state: dict) -> None:
        """Cuts parts and sidecars back to ``state`` and continues from there."""
        part = state["part"]
        self.out.truncate_to(part["index"], part["offset"], part["before"])
        self.entity_count = state["entity_count"]
        self.total_size = state["total_size"]
        if state["manifest"]:
            if self._manifest_file is None:
                if not self.manifest_sidecar.exists():
                    raise ArchiveError(f"cannot resume: {self.manifest_sidecar.name} is missing")
                self._manifest_file = open(self.manifest_sidecar, "r+b")
            self._manifest_file.flush()
            self._manifest_file.truncate(state["manifest_size"])
            self._manifest_file.seek(state["manifest_size"])
        self._load_format_state(state["format_state"])

    def _rollback(self, mark: dict) -> None:
        self._restore(mark)

    def _remove_sidecars(self) -> None:
        if self._manifest_file:
            self._manifest_file.close()
            self._manifest_file = None
        for path in self.sidecars():
            path.unlink(missing_ok=True)


def leftover_sidecars(final: Path) -> list[Path]:
    """The sidecars an archive being written as ``final`` left, found by name alone."""
    return sorted(final.parent.glob(f"{final.name}.*-tmp"))


def _mtime(mtime: int | None) -> int:
    return int(time.time()) if mtime is None else int(mtime)


def _exact_chunks(handle: BinaryIO, size: int, digest, path: str) -> Iterator[bytes]:
    """``size`` bytes of ``handle`` in ``CHUNK_SIZE`` pieces, hashed on the way."""
    left = size
    while left > 0:
        data = handle.read(min(CHUNK_SIZE, left))
        if not data:
            raise SourceChangedError(f"{path} became shorter while it was archived "
                                     f"({size - left} of {size} bytes read); it was left out")
        digest.update(data)
        left -= len(data)
        yield data
