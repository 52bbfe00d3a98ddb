"""The manifest sitepack puts into every archive it writes (docs/FORMAT-MANIFEST.md).

A JSON-lines file, the archive's last entry, at ``installation/sitepack-manifest.jsonl``:

1. a header line ``{"sitepack_manifest": 1, "format": "jpa", "created": <unix time>}``
   (``created`` is also the mtime of the manifest's own entry, whose mode is 0644);
2. one line per entry, in archive order:
   ``{"path": …, "type": "file"|"dir"|"symlink", "size": …, "mode": …, "mtime": …,
   "sha256": …}`` (``sha256`` of the file bytes or of the symlink target; ``null``
   for directories);
3. a trailer ``{"end": true, "entries": N, "sha256": …}`` holding the SHA-256 of all
   the bytes before it, so a damaged or cut manifest is detected as such.

The writer side (``manifest_header``/``manifest_line``/``manifest_trailer``) is used
by ``packer.archive``; ``ManifestReader`` parses one back while it streams out of an
archive.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from restorer.errors import ArchiveError
from restorer.formats.base import Entry, EntryType

VERSION = 1
TYPE_NAMES = {EntryType.DIR: "dir", EntryType.FILE: "file", EntryType.SYMLINK: "symlink"}
_TYPES_BY_NAME = {name: kind for kind, name in TYPE_NAMES.items()}


def _integer(value) -> int:
    """A number field as the writer wrote it: a JSON integer (a damaged digit may make
    it ``3e688``, a float that is infinite, or ``true``)."""
    if type(value) is not int:
        raise TypeError(value)
    return value


def _line(obj: dict) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


#: The manifest's own entry: this mode, and the ``created`` time of its header line
#: as mtime (so that its own header fields are checked too).
MANIFEST_MODE = 0o100644


def manifest_header(fmt: str, created: int) -> bytes:
    return _line({"sitepack_manifest": VERSION, "format": fmt, "created": created})


def manifest_line(entry: Entry, sha256: str | None) -> bytes:
    return _line({"path": entry.path, "type": TYPE_NAMES[entry.type], "size": entry.size,
                  "mode": entry.mode, "mtime": entry.mtime, "sha256": sha256})


def manifest_trailer(entries: int, sha256: str) -> bytes:
    return _line({"end": True, "entries": entries, "sha256": sha256})


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


class ManifestReader:
    """Parses a manifest fed in chunks; ``finish()`` returns its records in order."""

    def __init__(self, on_record=None):
        """``on_record(record)`` is called for each entry line as it is parsed; without
        it the records are kept for ``finish()`` to return."""
        self._on_record = on_record
        self.count = 0
        self._digest = hashlib.sha256()
        self._buffer = b""
        self._header_seen = False
        self._trailer: dict | None = None
        self.records: list[ManifestRecord] = []
        self.format: str | None = None
        self.created: int | None = None

    def feed(self, data: bytes) -> None:
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        if lines:
            self._take(lines)

    def _take(self, lines: list[bytes]) -> None:
        """Parses whole lines; all of a chunk's lines in one ``json.loads`` (an archive
        of 100k files has 100k lines: one call each would cost a second)."""
        if self._trailer is not None:
            raise ManifestDamaged("the manifest is damaged: data after its end line; "
                                  "the archive cannot be trusted")
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
                raise ManifestDamaged("the manifest is damaged: data after its end line; "
                                      "the archive cannot be trusted")
            if not self._header_seen:
                if obj.get("sitepack_manifest") != VERSION:
                    raise ManifestDamaged("the manifest is damaged or of an unknown version "
                                          f"({obj.get('sitepack_manifest')!r}); use a newer sitepack")
                self._header_seen = True
                self.format = obj.get("format")
                self.created = obj.get("created")
                continue
            if obj.get("end") is True:
                self._trailer = obj
                hashed = index  # the end line holds the digest of the lines before it
                continue
            try:
                record = ManifestRecord(obj["path"], _TYPES_BY_NAME[obj["type"]], _integer(obj["size"]),
                                        _integer(obj["mode"]), _integer(obj["mtime"]), obj["sha256"])
            except (KeyError, TypeError):
                raise ManifestDamaged("the manifest is damaged (a line lacks a field or holds "
                                      "one of the wrong type); the archive cannot be trusted") from None
            self.count += 1
            if self._on_record is not None:
                self._on_record(record)
            else:
                self.records.append(record)
        if hashed:
            self._digest.update(b"\n".join(lines[:hashed]) + b"\n")

    def check_own_entry(self, mode: int, mtime: int | None) -> None:
        """The manifest's own entry must have the mode and time its header line implies."""
        if mode != MANIFEST_MODE or mtime != self.created:
            raise ManifestDamaged("the archive is damaged: the manifest's own entry header was "
                                  "changed; copy or download it again")

    def finish(self) -> list[ManifestRecord]:
        if self._buffer:
            raise ManifestDamaged("the manifest is damaged (it does not end with a full line)")
        if self._trailer is None:
            raise ManifestDamaged("the manifest is damaged (its end line is missing: it was cut "
                                  "short); the archive cannot be trusted")
        if (self._trailer.get("sha256") != self._digest.hexdigest()
                or self._trailer.get("entries") != self.count):
            raise ManifestDamaged("the manifest is damaged (its own checksum does not match); "
                                  "the archive cannot be trusted")
        return self.records
