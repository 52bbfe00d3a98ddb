"""ZIP writer (FORMATS.md §4); layouts from ``restorer.formats.zip``.

Every entry has the UTF-8 flag, Unix mode in the external attributes (made by Unix),
the extended timestamp extra (exact mtime; the DOS time is local time, as ``zip``
writes it) and no data descriptor: small files are compressed (CRC and sizes known)
before their local header is written. Files of 1 MiB and more are stored, as Akeeba's
ZIP writer stores them: Akeeba's extractor reads a deflated entry whole into PHP's
memory and inflates it in one call, so a large deflated file fails on a host with a
128 MiB ``memory_limit``; their CRC-32 is patched into the local header once the data
is out. Symlinks say "version needed 1.0, Unix" (``0a 03``), the one sign Akeeba's
extractor reads to make a link instead of a file holding the target.

The central directory records go to a sidecar file while entries are added (constant
memory) and are copied behind the data at ``close``. ZIP64 extras and end records are
written only when a size, offset or count needs them.

Split archives (``--part-size``): parts ``.z01``, ``.z02``, … and the last ``.zip``;
the first part starts with ``PK\\x07\\x08``; offsets are relative to their part (disk);
no header or end record crosses a part boundary.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from pathlib import Path

from restorer.formats.base import Entry
from restorer.formats.zip import (CENTRAL_HEADER, CENTRAL_MAGIC, END_MAGIC, END_RECORD,
                                  FLAG_UTF8, LOCAL_HEADER, LOCAL_MAGIC, METHOD_DEFLATED,
                                  METHOD_STORED, MSDOS_DIRECTORY, SPLIT_MAGIC, SYSTEM_UNIX,
                                  TIMESTAMP_EXTRA, TIMESTAMP_EXTRA_ID, U16_MAX, U32_MAX,
                                  ZIP64_END_MAGIC, ZIP64_END_RECORD, ZIP64_EXTRA_ID,
                                  ZIP64_LOCATOR, ZIP64_LOCATOR_MAGIC, dos_datetime)

from .base import ArchiveWriter, register
from .compress import deflate_raw

VERSION_MADE_BY = (SYSTEM_UNIX << 8) | 45
VERSION_DEFAULT = 20
VERSION_ZIP64 = 45
#: "Version needed" of a symlink, as Akeeba's ZIP writer puts it in both headers: its
#: extractor makes a link only for entries whose local header says ``0a 03``.
VERSION_SYMLINK = (SYSTEM_UNIX << 8) | 10
#: Stored files of this size or more get a ZIP64 extra in their local header (their
#: sizes do not fit the 32-bit fields, whose all-ones value means "see the extra").
ZIP64_LOCAL_THRESHOLD = U32_MAX


def _version_needed(entry: Entry, zip64: bool) -> int:
    if zip64:
        return VERSION_ZIP64
    return VERSION_SYMLINK if entry.is_symlink else VERSION_DEFAULT


def _timestamp_extra(mtime: int) -> bytes:
    return TIMESTAMP_EXTRA.pack(TIMESTAMP_EXTRA_ID, 5, 1, mtime & U32_MAX)


@register
class ZipWriter(ArchiveWriter):
    format = "zip"
    suffix = ".zip"

    def __init__(self, *args, **kwargs):
        self.cdir_sidecar = Path(str(args[0] if args else kwargs["path"]) + ".cdir-tmp")
        self._cdir = None
        self.cd_count = 0
        super().__init__(*args, **kwargs)

    # -- hooks ---------------------------------------------------------------------
    def _start(self) -> None:
        self._cdir = open(self.cdir_sidecar, "wb")
        if self.part_size is not None:
            self.out.write(SPLIT_MAGIC)

    def _prepare(self, entry: Entry, data: bytes):
        crc = zlib.crc32(data)
        if entry.is_file and data:
            packed = deflate_raw(data)
            if len(packed) < len(data):
                return METHOD_DEFLATED, crc, packed
        return METHOD_STORED, crc, data

    def _write_prepared(self, entry: Entry, prepared) -> None:
        method, crc, data = prepared
        name = self._name(entry)
        disk, offset = self._local_header(entry, name, method, crc, len(data), zip64=False)
        if data:
            self.out.write(data)
        self._central(entry, name, method, crc, len(data), disk, offset, zip64=False)

    def _write_stream(self, entry: Entry, chunks: Iterator[bytes]) -> None:
        name = self._name(entry)
        zip64 = entry.size >= ZIP64_LOCAL_THRESHOLD
        disk, offset = self._local_header(entry, name, METHOD_STORED, 0, entry.size, zip64=zip64)
        crc = 0
        for chunk in chunks:  # exactly entry.size bytes (the base rolls back otherwise)
            crc = zlib.crc32(chunk, crc)
            self.out.write(chunk)
        self.out.patch((disk + 1, offset + 14), crc.to_bytes(4, "little"))
        self._central(entry, name, METHOD_STORED, crc, entry.size, disk, offset, zip64=zip64)

    def _finish(self) -> None:
        self._cdir.flush()
        out = self.out
        cd_disk = cd_offset = None
        cd_size = 0
        per_disk: dict[int, int] = {}
        with open(self.cdir_sidecar, "rb") as records:
            for _ in range(self.cd_count):
                fixed = records.read(CENTRAL_HEADER.size)
                fields = CENTRAL_HEADER.unpack(fixed)
                record = fixed + records.read(fields[10] + fields[11] + fields[12])
                out.ensure_room(len(record))
                if cd_disk is None:
                    cd_disk, cd_offset = out.index - 1, out.offset
                per_disk[out.index - 1] = per_disk.get(out.index - 1, 0) + 1
                out.write(record)
                cd_size += len(record)
        if cd_disk is None:
            cd_disk, cd_offset = out.index - 1, out.offset
        zip64 = (self.cd_count >= U16_MAX or cd_size >= U32_MAX or cd_offset >= U32_MAX
                 or out.index - 1 >= U16_MAX)
        end_length = END_RECORD.size + (ZIP64_END_RECORD.size + ZIP64_LOCATOR.size if zip64 else 0)
        out.ensure_room(end_length)
        disk = out.index - 1
        on_last_disk = per_disk.get(disk, 0)
        if zip64:
            record_offset = out.offset
            out.write(ZIP64_END_RECORD.pack(ZIP64_END_MAGIC, ZIP64_END_RECORD.size - 12,
                                            VERSION_MADE_BY, VERSION_ZIP64, disk, cd_disk,
                                            on_last_disk, self.cd_count, cd_size, cd_offset))
            out.write(ZIP64_LOCATOR.pack(ZIP64_LOCATOR_MAGIC, disk, record_offset, disk + 1))
        out.write(END_RECORD.pack(END_MAGIC, min(disk, U16_MAX), min(cd_disk, U16_MAX),
                                  min(on_last_disk, U16_MAX), min(self.cd_count, U16_MAX),
                                  min(cd_size, U32_MAX), min(cd_offset, U32_MAX), 0))

    def _format_state(self) -> dict:
        if self._cdir:
            self._cdir.flush()
            os.fsync(self._cdir.fileno())
        return {"cd_count": self.cd_count, "cd_bytes": self._cdir.tell()}

    def _load_format_state(self, state: dict) -> None:
        if self._cdir is None:
            self._cdir = open(self.cdir_sidecar, "r+b")
        self._cdir.flush()
        self._cdir.truncate(state["cd_bytes"])
        self._cdir.seek(state["cd_bytes"])
        self.cd_count = state["cd_count"]

    def sidecars(self) -> list[Path]:
        return super().sidecars() + [self.cdir_sidecar]

    def _remove_sidecars(self) -> None:
        if self._cdir:
            self._cdir.close()
            self._cdir = None
        super()._remove_sidecars()

    # -- internals ---------------------------------------------------------------------
    @staticmethod
    def _name(entry: Entry) -> bytes:
        return (entry.path + "/" if entry.is_dir else entry.path).encode("utf-8")

    def _local_header(self, entry: Entry, name: bytes, method: int, crc: int,
                      compressed: int, *, zip64: bool) -> tuple[int, int]:
        dos_time, dos_date = dos_datetime(entry.mtime)
        extra = _timestamp_extra(entry.mtime)
        if zip64:
            extra += (ZIP64_EXTRA_ID.to_bytes(2, "little") + (16).to_bytes(2, "little")
                      + entry.size.to_bytes(8, "little") + compressed.to_bytes(8, "little"))
        header = LOCAL_HEADER.pack(
            LOCAL_MAGIC, _version_needed(entry, zip64), FLAG_UTF8, method,
            dos_time, dos_date, crc, U32_MAX if zip64 else compressed,
            U32_MAX if zip64 else entry.size, len(name), len(extra))
        self.out.ensure_room(len(header) + len(name) + len(extra))
        position = (self.out.index - 1, self.out.offset)
        self.out.write(header + name + extra)
        return position

    def _central(self, entry: Entry, name: bytes, method: int, crc: int, compressed: int,
                 disk: int, offset: int, *, zip64: bool) -> None:
        dos_time, dos_date = dos_datetime(entry.mtime)
        extra = _timestamp_extra(entry.mtime)
        big = [value for value, needed in ((entry.size, zip64 or entry.size >= U32_MAX),
                                           (compressed, zip64 or compressed >= U32_MAX),
                                           (offset, offset >= U32_MAX)) if needed]
        if big:
            extra += (ZIP64_EXTRA_ID.to_bytes(2, "little") + (8 * len(big)).to_bytes(2, "little")
                      + b"".join(v.to_bytes(8, "little") for v in big))
        external = (entry.mode << 16) | (MSDOS_DIRECTORY if entry.is_dir else 0)
        record = CENTRAL_HEADER.pack(
            CENTRAL_MAGIC, VERSION_MADE_BY, _version_needed(entry, bool(big)),
            FLAG_UTF8, method, dos_time, dos_date, crc,
            U32_MAX if (zip64 or compressed >= U32_MAX) else compressed,
            U32_MAX if (zip64 or entry.size >= U32_MAX) else entry.size,
            len(name), len(extra), 0, disk, 0, external,
            U32_MAX if offset >= U32_MAX else offset)
        self._cdir.write(record + name + extra)
        self.cd_count += 1
