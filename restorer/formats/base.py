"""What every archive reader shares: the entry record and the reader interface.

A reader turns the byte stream of an archive (one logical stream over all its parts,
see ``parts.py``) into a sequence of entries, each with an iterator over its
uncompressed (and decrypted) bytes. Reading is strictly sequential and streaming: an
entry's chunk iterator must be consumed or dropped before the next entry is asked for,
and no entry is ever held in memory whole. This is what lets extraction and
verification run in constant memory on archives of any size.

Format modules (``jpa.py``, ``zip.py``, ``jps.py``, ``jps2.py``) each define their
header layouts once as named ``struct.Struct`` objects; the writers in
``packer/archive/`` import those same structs.
"""

from __future__ import annotations

import enum
import stat
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from restorer.errors import ArchiveError

#: Size of the pieces entry data is read, inflated, hashed and written in.
CHUNK_SIZE = 1024 * 1024

#: Entries up to this size (compressed and not) are read and inflated in one piece.
SMALL_ENTRY = 1024 * 1024

#: Where every archive made by sitepack carries its manifest (see docs/FORMAT-MANIFEST.md):
#: version 2, gzipped tab-separated lines.
MANIFEST_PATH = "installation/sitepack-manifest.tsv.gz"
#: Where archives written before version 2 carry it (JSON lines, stored raw).
MANIFEST_PATH_V1 = "installation/sitepack-manifest.jsonl"
#: The manifest version each name holds.
MANIFEST_VERSIONS = {MANIFEST_PATH: 2, MANIFEST_PATH_V1: 1}


class EntryType(enum.IntEnum):
    """The kind of an entry; the values are JPA's type byte."""

    DIR = 0
    FILE = 1
    SYMLINK = 2


#: ``EntryType`` by value, for readers (indexing a tuple is much cheaper than ``EntryType(n)``).
ENTRY_TYPES = (EntryType.DIR, EntryType.FILE, EntryType.SYMLINK)


@dataclass(frozen=True)
class Entry:
    """One archive member.

    ``path`` is relative, ``/``-separated, without a trailing slash (also for
    directories). ``size`` is the uncompressed size; for a symlink it is the length of
    the UTF-8 target. ``mode`` is the full ``st_mode`` (type bits included).
    """

    path: str
    type: EntryType
    size: int
    mode: int
    mtime: int
    target: str | None = None

    @property
    def is_dir(self) -> bool:
        return self.type is EntryType.DIR

    @property
    def is_file(self) -> bool:
        return self.type is EntryType.FILE

    @property
    def is_symlink(self) -> bool:
        return self.type is EntryType.SYMLINK


def default_mode(entry_type: EntryType, permissions: int | None = None) -> int:
    """A full ``st_mode`` for ``entry_type``, from permission bits or the usual default."""
    kind = {EntryType.DIR: stat.S_IFDIR, EntryType.FILE: stat.S_IFREG,
            EntryType.SYMLINK: stat.S_IFLNK}[entry_type]
    if permissions is None:
        permissions = {EntryType.DIR: 0o755, EntryType.FILE: 0o644,
                       EntryType.SYMLINK: 0o777}[entry_type]
    return kind | (permissions & 0o7777)


def normalize_mode(entry_type: EntryType, mode: int) -> int:
    """``mode`` with file-type bits that agree with ``entry_type``.

    Archives from other tools sometimes carry bare permission bits (no type bits); those
    get the type added. Akeeba's JPA and JPS writers store a symlink's mode with a call
    that follows the link, so a link to a file or folder says "file" or "folder": a link
    gets the link type. A mode whose type bits say something else (a device, a fifo) is
    kept as it is so that extraction can refuse it by name.
    """
    kind = stat.S_IFMT(mode)
    if kind == 0 or (entry_type is EntryType.SYMLINK and kind in (stat.S_IFREG, stat.S_IFDIR)):
        return default_mode(entry_type, mode)
    return mode


def validate_entry_path(path: str) -> str:
    """``path`` when it is a clean relative archive path, else an ``ArchiveError``.

    Writers use this so that nothing they produce could be refused by a safe extractor.
    """
    if (not path or path.startswith("/") or path.endswith("/") or "\\" in path
            or "\x00" in path or any(part in ("", ".", "..") for part in path.split("/"))):
        raise ArchiveError(f"cannot archive {path!r}: an entry path must be relative, "
                           "'/'-separated, without '.', '..', backslashes or NUL bytes")
    return path


def inflate_whole(data: bytes, limit: int) -> tuple[bytes, bool]:
    """At most ``limit`` bytes inflated from ``data`` (raw deflate), and whether ``data``
    is exactly one complete stream (False also when the output reached ``limit``);
    ``zlib.error`` when it is no deflate data. Small entries and chunks are inflated in
    one call; each format words its own errors."""
    inflater = zlib.decompressobj(-15)
    out = inflater.decompress(data, limit)
    return out, inflater.eof and not inflater.unused_data


class StoredData(NamedTuple):
    """A small file's data as the archive stores it (compressed, encrypted), taken whole
    so that a writer process can decode it: there, the ``decoder`` of the reader's
    module does it with ``params``; here, ``decode()`` does the same and raises this
    reader's exact error for damaged data (the writer process only says "failed")."""

    raw: bytes
    params: tuple[int, int, int]
    decode: Callable[[], bytes]


class EntryData:
    """An entry's data: an iterator over its bytes that knows whether it was read to
    the end (so that a reader can skip what a consumer such as ``ls`` left unread).

    A small file's data may instead be taken as stored (``take``), when the reader can
    hand it over undecoded; then it counts as read.
    """

    def __init__(self, chunks: Iterator[bytes], take: Callable[[], StoredData | None] | None = None):
        self._chunks = chunks
        self._take = take
        self.finished = False

    def __iter__(self) -> "EntryData":
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except StopIteration:
            self.finished = True
            raise

    def take(self) -> StoredData | None:
        """The data as stored, or None when it must be read by iterating (a format or a
        layout a writer process cannot decode)."""
        stored = None if self._take is None else self._take()
        if stored is not None:
            self.finished = True
        return stored

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()


class ArchiveReader(ABC):
    """Reads one archive (all its parts) entry by entry.

    ``format`` names the format (``jpa``, ``zip``, ``jps``, ``jps2``, ``jps1``);
    ``has_checksums`` says whether the format itself detects changed data (ZIP's CRC-32,
    the authenticated ``jps``); ``parts`` lists the part files in order.
    """

    format: str
    has_checksums: bool
    #: Uncompressed bytes of all entries when the headers tell (for progress), else None.
    total_size: int | None = None
    #: Whether the archive's header says a sitepack manifest is its last entry: a
    #: second witness, so that damage to the manifest's name or to the header shows as
    #: damage and not as an archive made without a manifest. ``None``: the format has
    #: no room to say (ZIP, whose names are in two headers that must agree anyway).
    declares_manifest: bool | None = None

    def __init__(self, parts: list[Path]):
        self.parts = parts

    @abstractmethod
    def entries(self) -> Iterator[tuple[Entry, Iterator[bytes]]]:
        """Each entry with an iterator over its data (empty for directories).

        Raises ``ArchiveError`` (naming the part and offset) on damaged data; the chunk
        iterator raises when the data it yields turns out to be wrong (bad size,
        broken deflate stream, failed checksum), at the latest after its last chunk.
        A small file's iterator may be an ``EntryData`` whose ``take()`` gives its data
        as stored instead.
        """

    def handover_keys(self) -> dict[str, str] | None:
        """The secrets a writer process needs to decode what ``EntryData.take`` returns
        (sent over a pipe, never on a command line): ``{}`` when it needs none, None
        when this reader takes nothing."""
        return {}

    def close(self) -> None:
        """Releases open part files."""

    def __enter__(self) -> "ArchiveReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def name(self) -> str:
        return self.parts[-1].name
