"""The manifest sitepack puts into every archive it writes (docs/FORMAT-MANIFEST.md).

Version 2, the archive's last entry ``installation/sitepack-manifest.tsv.gz``: one gzip
stream of tab-separated lines, stored (its data is compressed already, and a stored
entry is copied in pieces by every extractor, Akeeba's included, whatever its size):

1. a header line ``sitepack-manifest <TAB> 2 <TAB> <format> <TAB> <created>``
   (``created``, Unix seconds, is also the mtime of the manifest's own entry, whose
   mode is 0644);
2. one line per entry, in archive order:
   ``<f|d|l> <TAB> <size> <TAB> <mode, octal> <TAB> <mtime> <TAB> <sha256 or -> <TAB> <path>``
   (``sha256`` of the file bytes or of the symlink target, ``-`` for directories;
   the path as ``textsafe.tab_field`` writes it);
3. a trailer ``end <TAB> <entries> <TAB> <sha256>`` holding the SHA-256 of all the
   (uncompressed) bytes before it, so a damaged or cut manifest is detected as such.

Version 1 (archives written before), ``installation/sitepack-manifest.jsonl``: the
same three parts as JSON lines, stored raw; it is still read.

The writer side (``manifest_header``/``manifest_line``/``manifest_trailer``, then
``compress_manifest``) is used by ``packer.archive``; ``ManifestReader`` parses either
version back while it streams out of an archive.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from restorer.errors import ArchiveError
from restorer.extract.textsafe import from_tab_field, tab_field
from restorer.formats.base import Entry, EntryType

VERSION = 2
TYPE_NAMES = {EntryType.DIR: "dir", EntryType.FILE: "file", EntryType.SYMLINK: "symlink"}
_TYPES_BY_NAME = {name: kind for kind, name in TYPE_NAMES.items()}
#: Version 2's one-letter kinds (the letters of the backup's scan list).
_KIND_LETTERS = {EntryType.DIR: "d", EntryType.FILE: "f", EntryType.SYMLINK: "l"}
_KINDS_BY_LETTER = {letter: kind for kind, letter in _KIND_LETTERS.items()}
_HEADER_TAG = "sitepack-manifest"
_TRAILER_TAG = b"end"
#: zlib's window bits for a gzip stream (header and CRC-32 trailer checked).
_GZIP = 31
#: The gzip header sitepack writes, byte for byte (no name, time 0, OS "unknown"): zlib
#: ignores the time, flags and OS bytes, so the reader compares them, and every byte of
#: the manifest is checked.
GZIP_HEADER = bytes((0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF))
#: The most a chunk fed in is inflated to at a time: a small damaged or hostile chunk
#: may inflate a thousandfold.
_INFLATE_PIECE = 4 * 1024 * 1024
#: No line is longer (a JPA path is at most 64 KiB, six times that JSON-quoted): text
#: without a line break beyond it is damage, not something to hold in memory (a small
#: hostile gzip stream could inflate to gigabytes).
_MAX_LINE = 1024 * 1024


def _integer(value) -> int:
    """A number field of version 1 as the writer wrote it: a JSON integer (a damaged
    digit may make it ``3e688``, a float that is infinite, or ``true``)."""
    if type(value) is not int:
        raise TypeError(value)
    return value


def _number(field: bytes, base: int = 10) -> int:
    """A number field of version 2: ASCII digits only (``int`` alone would take
    ``+1``, `` 1`` or ``1_0``)."""
    if not field.isdigit():
        raise ValueError(field)
    return int(field, base)


#: The manifest's own entry: this mode, and the ``created`` time of its header line
#: as mtime (so that its own header fields are checked too).
MANIFEST_MODE = 0o100644


def manifest_header(fmt: str, created: int) -> bytes:
    return f"{_HEADER_TAG}\t{VERSION}\t{fmt}\t{created}\n".encode("utf-8")


def manifest_line(entry: Entry, sha256: str | None) -> bytes:
    return (f"{_KIND_LETTERS[entry.type]}\t{entry.size}\t{entry.mode:o}\t{entry.mtime}\t"
            f"{sha256 or '-'}\t{tab_field(entry.path)}\n").encode("utf-8")


def manifest_trailer(entries: int, sha256: str) -> bytes:
    return f"end\t{entries}\t{sha256}\n".encode("ascii")


def compress_manifest(source: BinaryIO, target: BinaryIO, piece: int = 1024 * 1024) -> None:
    """The manifest's lines (``source``, read to its end) as one gzip stream into
    ``target`` (``GZIP_HEADER``, raw deflate, CRC-32 and size), in pieces, so memory
    stays flat whatever the number of entries; the same lines give the same bytes."""
    target.write(GZIP_HEADER)
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    crc = size = 0
    for data in iter(lambda: source.read(piece), b""):
        crc = zlib.crc32(data, crc)
        size += len(data)
        target.write(compressor.compress(data))
    target.write(compressor.flush())
    target.write(struct.pack("<II", crc, size & 0xFFFFFFFF))


@dataclass(frozen=True)
class ManifestRecord:
    __slots__ = ("path", "type", "size", "mode", "mtime", "sha256")

    path: str
    type: EntryType
    size: int
    mode: int
    mtime: int
    sha256: str | None


class ManifestDamaged(ArchiveError):
    """The manifest itself is not intact."""


_DAMAGED_LINE = ("the manifest is damaged (a line lacks a field or holds one of the wrong "
                 "type); the archive cannot be trusted")
_DATA_AFTER_END = "the manifest is damaged: data after its end line; the archive cannot be trusted"


class ManifestReader:
    """Parses a manifest fed in chunks; ``finish()`` returns its records in order."""

    def __init__(self, on_record=None, version: int = VERSION):
        """``on_record(record)`` is called for each entry line as it is parsed; without
        it the records are kept for ``finish()`` to return. ``version``: the one its
        entry name holds (``restorer.formats.MANIFEST_VERSIONS``)."""
        self._on_record = on_record
        self.version = version
        self._inflater = zlib.decompressobj(_GZIP) if version >= 2 else None
        self._gzip_head = b""
        self.count = 0
        self._digest = hashlib.sha256()
        self._buffer = b""
        self._header_seen = False
        self._trailer: tuple[int | None, str | None] | None = None
        self.records: list[ManifestRecord] = []
        self.format: str | None = None
        self.created: int | None = None

    def feed(self, data: bytes) -> None:
        if self._inflater is None:
            self._feed_text(data)
            return
        if len(self._gzip_head) < len(GZIP_HEADER):
            self._gzip_head += data[:len(GZIP_HEADER) - len(self._gzip_head)]
            if not GZIP_HEADER.startswith(self._gzip_head):
                raise ManifestDamaged("the manifest is damaged (its gzip header was changed); "
                                      "the archive cannot be trusted")
        inflater = self._inflater
        try:
            while True:
                if inflater.eof and (data or inflater.unused_data):
                    raise ManifestDamaged(_DATA_AFTER_END)
                text = inflater.decompress(data, _INFLATE_PIECE)
                self._feed_text(text)
                data = inflater.unconsumed_tail
                if not data and len(text) < _INFLATE_PIECE and not inflater.unused_data:
                    return
        except zlib.error:
            raise ManifestDamaged("the manifest is damaged (it does not inflate); the archive "
                                  "cannot be trusted") from None

    def _feed_text(self, data: bytes) -> None:
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        if len(self._buffer) > _MAX_LINE:
            raise ManifestDamaged("the manifest is damaged (a line is too long); the archive "
                                  "cannot be trusted")
        if lines:
            if self._trailer is not None:
                raise ManifestDamaged(_DATA_AFTER_END)
            hashed = self._take(lines) if self.version >= 2 else self._take_json(lines)
            if hashed:
                self._digest.update(b"\n".join(lines[:hashed]) + b"\n")

    def _take(self, lines: list[bytes]) -> int:
        """Parses whole lines of version 2; returns how many belong to the digest."""
        hashed = len(lines)
        for index, line in enumerate(lines):
            if self._trailer is not None:
                raise ManifestDamaged(_DATA_AFTER_END)
            fields = line.split(b"\t", 5)
            if not self._header_seen:
                self._header(fields)
                continue
            if fields[0] == _TRAILER_TAG:
                if len(fields) != 3:
                    raise ManifestDamaged(_DAMAGED_LINE)
                self._trailer = (int(fields[1]) if fields[1].isdigit() else None,
                                 fields[2].decode("ascii", "replace"))
                hashed = index    # the end line holds the digest of the lines before it
                continue
            try:
                kind, size, mode, mtime, sha256, path = fields
                record = ManifestRecord(from_tab_field(path.decode("utf-8")),
                                        _KINDS_BY_LETTER[kind.decode("ascii")],
                                        _number(size), _number(mode, 8), _number(mtime),
                                        None if sha256 == b"-" else sha256.decode("ascii"))
            except (KeyError, ValueError):    # UnicodeDecodeError is a ValueError
                raise ManifestDamaged(_DAMAGED_LINE) from None
            self._found(record)
        return hashed

    def _header(self, fields: list[bytes]) -> None:
        if len(fields) != 4 or fields[0] != _HEADER_TAG.encode() or fields[1] != b"2":
            shown = fields[1].decode("utf-8", "replace")[:20] if len(fields) > 1 else ""
            raise ManifestDamaged(f"the manifest is damaged or of an unknown version ({shown!r}); "
                                  "use a newer sitepack")
        self._header_seen = True
        self.format = fields[2].decode("utf-8", "replace")
        self.created = int(fields[3]) if fields[3].isdigit() else None

    def _take_json(self, lines: list[bytes]) -> int:
        """Parses whole lines of version 1; all of a chunk's lines in one ``json.loads``
        (an archive of 100k files has 100k lines: one call each would cost a second)."""
        try:
            objects = json.loads(b"[" + b",".join(lines) + b"]")
        except ValueError:
            objects = None
        if not isinstance(objects, list) or len(objects) != len(lines):
            raise ManifestDamaged("the manifest is damaged (a line is not JSON); the archive "
                                  "cannot be trusted")
        hashed = len(lines)
        for index, obj in enumerate(objects):
            if not isinstance(obj, dict):
                raise ManifestDamaged("the manifest is damaged (a line is not a JSON object)")
            if self._trailer is not None:
                raise ManifestDamaged(_DATA_AFTER_END)
            if not self._header_seen:
                if obj.get("sitepack_manifest") != 1:
                    raise ManifestDamaged("the manifest is damaged or of an unknown version "
                                          f"({obj.get('sitepack_manifest')!r}); use a newer sitepack")
                self._header_seen = True
                self.format = obj.get("format")
                self.created = obj.get("created")
                continue
            if obj.get("end") is True:
                self._trailer = (obj.get("entries"), obj.get("sha256"))
                hashed = index    # the end line holds the digest of the lines before it
                continue
            try:
                record = ManifestRecord(obj["path"], _TYPES_BY_NAME[obj["type"]], _integer(obj["size"]),
                                        _integer(obj["mode"]), _integer(obj["mtime"]), obj["sha256"])
            except (KeyError, TypeError):
                raise ManifestDamaged(_DAMAGED_LINE) from None
            self._found(record)
        return hashed

    def _found(self, record: ManifestRecord) -> None:
        self.count += 1
        if self._on_record is not None:
            self._on_record(record)
        else:
            self.records.append(record)

    def check_own_entry(self, mode: int, mtime: int | None) -> None:
        """The manifest's own entry must have the mode and time its header line implies."""
        if mode != MANIFEST_MODE or mtime != self.created:
            raise ManifestDamaged("the archive is damaged: the manifest's own entry header was "
                                  "changed; copy or download it again")

    def finish(self) -> list[ManifestRecord]:
        if self._inflater is not None and not self._inflater.eof:
            raise ManifestDamaged("the manifest is damaged (its compressed data was cut short); "
                                  "the archive cannot be trusted")
        if self._buffer:
            raise ManifestDamaged("the manifest is damaged (it does not end with a full line)")
        if self._trailer is None:
            raise ManifestDamaged("the manifest is damaged (its end line is missing: it was cut "
                                  "short); the archive cannot be trusted")
        if self._trailer != (self.count, self._digest.hexdigest()):
            raise ManifestDamaged("the manifest is damaged (its own checksum does not match); "
                                  "the archive cannot be trusted")
        return self.records
