"""ZIP: header layouts and the reader (FORMATS.md §4; APPNOTE 6.3).

Reads ZIPs made by sitepack, Info-ZIP ``zip`` and Python's ``zipfile``: deflate and
store, ZIP64, UTF-8 or CP437 names, Unix modes from the external attributes (symlinks
as ``S_IFLNK`` entries whose data is the target), exact mtimes from the extended
timestamp extra (``UT``) when present, else the DOS time (local time, as ``unzip``).

The reader walks the central directory (read sequentially with its own file
position) and, for each record, reads the data behind its local header, checking size
and CRC-32. Split archives (``.z01``…``.zip``, the first part starting with
``PK\\x07\\x08``) address data by (disk, offset); disk N is part N+1.
"""

from __future__ import annotations

import stat
import struct
import time
import zlib
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from restorer.errors import ArchiveError

from .base import (CHUNK_SIZE, SMALL_ENTRY, ArchiveReader, Entry, EntryData, EntryType, StoredData,
                   default_mode, inflate_whole, normalize_mode)
from .parts import PartReader, expect_part_count

LOCAL_MAGIC = b"PK\x03\x04"
CENTRAL_MAGIC = b"PK\x01\x02"
END_MAGIC = b"PK\x05\x06"
ZIP64_END_MAGIC = b"PK\x06\x06"
ZIP64_LOCATOR_MAGIC = b"PK\x06\x07"
#: First four bytes of the first part of a split archive.
SPLIT_MAGIC = b"PK\x07\x08"

#: signature, version needed, flags, method, DOS time, DOS date, CRC-32, compressed
#: size, uncompressed size, name length, extra length.
LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
#: signature, version made by, version needed, flags, method, DOS time, DOS date,
#: CRC-32, compressed size, uncompressed size, name length, extra length, comment
#: length, disk number start, internal attributes, external attributes, local header
#: offset.
CENTRAL_HEADER = struct.Struct("<4sHHHHHHIIIHHHHHII")
#: signature, this disk, disk where the central directory starts, entries on this
#: disk, entries in total, central directory size, its offset, comment length.
END_RECORD = struct.Struct("<4sHHHHIIH")
#: signature, size of the rest (44), version made by, version needed, this disk,
#: central directory disk, entries on this disk, entries in total, size, offset.
ZIP64_END_RECORD = struct.Struct("<4sQHHIIQQQQ")
#: signature, disk of the ZIP64 end record, its offset, total number of disks.
ZIP64_LOCATOR = struct.Struct("<4sIQI")
EXTRA_HEADER = struct.Struct("<HH")
ZIP64_EXTRA_ID = 0x0001
#: Extended timestamp (``UT``): id, 5, flags (1 = mtime), u32 mtime.
TIMESTAMP_EXTRA = struct.Struct("<HHBI")
TIMESTAMP_EXTRA_ID = 0x5455

FLAG_ENCRYPTED = 0x0001
FLAG_DATA_DESCRIPTOR = 0x0008
FLAG_UTF8 = 0x0800
METHOD_STORED = 0
METHOD_DEFLATED = 8
SYSTEM_UNIX = 3
_DIRECTORY_BLOCK = 256 * 1024
U16_MAX = 0xFFFF
U32_MAX = 0xFFFFFFFF
MSDOS_DIRECTORY = 0x10


def dos_datetime(mtime: int) -> tuple[int, int]:
    """(DOS time, DOS date) of a Unix time, in local time, clamped to 1980..2107."""
    t = time.localtime(mtime)
    year = min(max(t.tm_year, 1980), 2107)
    if year != t.tm_year:
        return (0, (0 << 9) | (1 << 5) | 1) if year == 1980 else ((23 << 11) | (59 << 5) | 29,
                                                                 (127 << 9) | (12 << 5) | 31)
    return ((t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2),
            ((year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday)


def unix_time(dos_time: int, dos_date: int) -> int:
    fields = ((dos_date >> 9) + 1980, max((dos_date >> 5) & 0xF, 1), max(dos_date & 0x1F, 1),
              dos_time >> 11, (dos_time >> 5) & 0x3F, (dos_time & 0x1F) * 2, 0, 0, -1)
    try:
        return int(time.mktime(fields))
    except (OverflowError, ValueError):
        return 0


def iter_extras(extra: bytes) -> Iterator[tuple[int, bytes]]:
    offset = 0
    while offset + EXTRA_HEADER.size <= len(extra):
        extra_id, length = EXTRA_HEADER.unpack_from(extra, offset)
        offset += EXTRA_HEADER.size
        yield extra_id, extra[offset:offset + length]
        offset += length


def detect(head: bytes) -> bool:
    return head[:4] in (LOCAL_MAGIC, SPLIT_MAGIC, END_MAGIC, b"PK00")


class ZipReader(ArchiveReader):
    format = "zip"
    has_checksums = True

    def __init__(self, parts: list[Path]):
        super().__init__(parts)
        self.stream = PartReader(parts)
        self.directory = PartReader(parts)
        try:
            self._read_end_records()
        except BaseException:
            self.close()
            raise

    def _read_end_records(self) -> None:
        stream = self.stream
        tail_length = min(stream.sizes[-1], END_RECORD.size + U16_MAX + ZIP64_LOCATOR.size + ZIP64_END_RECORD.size)
        stream.seek(stream.size - tail_length)
        tail = stream.read_exact(tail_length, "the end of the archive")
        at = tail.rfind(END_MAGIC)
        # the end record (22 bytes and its comment) must close the archive exactly
        while at >= 0 and (at + END_RECORD.size > len(tail) or
                           at + END_RECORD.size + END_RECORD.unpack_from(tail, at)[7] != len(tail)):
            at = tail.rfind(END_MAGIC, 0, at)
        if at < 0:
            raise ArchiveError(
                f"{self.parts[-1].name} has no ZIP end record: it is truncated, damaged or not "
                "the last part of the archive; copy it again")
        _, disk, cd_disk, _, count, cd_size, cd_offset, _ = END_RECORD.unpack_from(tail, at)
        end_position = stream.size - tail_length + at
        locator_at = at - ZIP64_LOCATOR.size
        zip64 = locator_at >= 0 and tail[locator_at:locator_at + 4] == ZIP64_LOCATOR_MAGIC
        if zip64:
            _, record_disk, record_offset, disks = ZIP64_LOCATOR.unpack_from(tail, locator_at)
            expect_part_count(self.parts, disks)
            if record_disk >= len(self.parts):
                raise ArchiveError(f"{self.parts[-1].name}: the ZIP64 end record is damaged")
            stream.seek(stream.starts[record_disk] + record_offset)
            record = stream.read_exact(ZIP64_END_RECORD.size, "the ZIP64 end record")
            (magic, _, _, _, disk, cd_disk, _, count, cd_size,
             cd_offset) = ZIP64_END_RECORD.unpack(record)
            if magic != ZIP64_END_MAGIC:
                raise ArchiveError(f"{self.parts[-1].name}: the ZIP64 end record is damaged")
            end_position = locator_at + stream.size - tail_length - ZIP64_END_RECORD.size
        else:
            expect_part_count(self.parts, disk + 1)
        self.count = count
        self.cd_size = cd_size
        # A one-part archive may have bytes before it (a self-extractor stub or a prefix):
        # like zipfile, shift every offset by the distance between where the central
        # directory is and where the end record says it is.
        if len(self.parts) == 1:
            self.shift = max(0, end_position - cd_size - cd_offset)
        else:
            self.shift = 0
        if cd_disk >= len(self.parts):
            raise self._directory_outside()
        self.cd_start = stream.starts[cd_disk] + cd_offset + self.shift
        if len(self.parts) > 1 and not zip64:
            self._find_moved_directory(end_position)
        self.total_size = self._sum_sizes()
        if self.cd_start + cd_size > stream.size:
            raise self._directory_outside()

    def _directory_outside(self) -> ArchiveError:
        return ArchiveError(f"{self.parts[-1].name}: the ZIP central directory lies outside "
                            "the archive; it is damaged or parts are missing")

    def _find_moved_directory(self, end_position: int) -> None:
        """Akeeba's split ZIP writer moves a central directory that does not fit into its
        part to a new last part, but keeps the old part's size as its offset. The
        directory then ends where the end record starts: it is taken from there when it
        is not where the end record says and a central header starts there."""
        stream = self.stream
        stream.seek(self.cd_start)
        if self.cd_start + 4 <= stream.size and stream.read(4) == CENTRAL_MAGIC:
            return
        moved = end_position - self.cd_size
        if moved >= 0:
            stream.seek(moved)
            if stream.read(4) == CENTRAL_MAGIC:
                self.cd_start = moved

    def _sum_sizes(self) -> int | None:
        """Uncompressed total from the central directory (ZIP64 sizes ignored: a guess)."""
        self.directory.seek(self.cd_start)
        if self.cd_size > 16 * 1024 * 1024:
            return None
        data = self.directory.read(self.cd_size)
        total = 0
        offset = 0
        for _ in range(self.count):
            if offset + CENTRAL_HEADER.size > len(data):
                return None
            fields = CENTRAL_HEADER.unpack_from(data, offset)
            total += fields[9]
            offset += CENTRAL_HEADER.size + fields[10] + fields[11] + fields[12]
        return total

    def _damaged(self, message: str) -> ArchiveError:
        """A damage error, naming a part that looks truncated when there is one."""
        return ArchiveError(message + self.stream.short_part_hint())

    def entries(self) -> Iterator[tuple[Entry, Iterator[bytes]]]:
        directory = self.directory
        directory.seek(self.cd_start)
        block = b""
        at = 0
        for _ in range(self.count):
            if at + CENTRAL_HEADER.size > len(block):
                # the directory is read in blocks and parsed in memory
                block = block[at:] + directory.read(_DIRECTORY_BLOCK)
                at = 0
            start = directory.tell() - len(block) + at
            if at + CENTRAL_HEADER.size > len(block):
                raise directory.truncated("the central directory", start)
            (magic, made_by, _, flags, method, dos_time, dos_date, crc, compressed, size,
             name_length, extra_length, comment_length, disk, _, external,
             local_offset) = CENTRAL_HEADER.unpack_from(block, at)
            if magic != CENTRAL_MAGIC:
                raise self._damaged(f"the archive is damaged: bad central directory record in "
                                   f"{directory.where(start)}; copy it again")
            end = at + CENTRAL_HEADER.size + name_length + extra_length + comment_length
            if end > len(block):
                block = block[at:] + directory.read(max(_DIRECTORY_BLOCK, end - at))
                at = 0
                end = CENTRAL_HEADER.size + name_length + extra_length + comment_length
                if end > len(block):
                    raise directory.truncated("the central directory", start)
            name_at = at + CENTRAL_HEADER.size
            name_bytes = block[name_at:name_at + name_length]
            extra = block[name_at + name_length:name_at + name_length + extra_length]
            at = end
            name = _decode_name(name_bytes, flags)
            mtime = None
            for extra_id, payload in iter_extras(extra):
                if extra_id == ZIP64_EXTRA_ID:
                    size, compressed, local_offset, disk = _apply_zip64(
                        payload, size, compressed, local_offset, disk)
                elif extra_id == TIMESTAMP_EXTRA_ID and len(payload) >= 5 and payload[0] & 1:
                    mtime = int.from_bytes(payload[1:5], "little")
            if mtime is None:
                mtime = unix_time(dos_time, dos_date)
            if flags & FLAG_ENCRYPTED:
                raise ArchiveError(f"entry {name!r} is encrypted with ZIP encryption, which "
                                   "sitepack does not read: extract it with unzip")
            if method not in (METHOD_STORED, METHOD_DEFLATED):
                raise ArchiveError(f"entry {name!r} uses compression method {method}, which "
                                   "sitepack does not read (only store and deflate)")
            entry = _entry(name, made_by >> 8, external, size, mtime)
            if disk >= len(self.parts):
                raise ArchiveError(f"entry {name!r} lies on disk {disk + 1}, but the archive "
                                   f"has only {len(self.parts)} part(s)")
            data_start = self._data_start(name_bytes, disk, local_offset)
            if data_start + compressed > self.stream.size:
                raise self.stream.truncated(f"the data of {name!r}", data_start)
            if entry.is_dir:
                yield entry, iter(())
                continue
            chunks = self._data(entry, method, crc, compressed, data_start)
            if entry.is_file and compressed <= SMALL_ENTRY and entry.size <= SMALL_ENTRY:
                chunks = EntryData(chunks, partial(self._take, entry, method, crc, compressed,
                                                   data_start))
            if entry.is_symlink:
                target_bytes = b"".join(chunks)
                try:
                    target = target_bytes.decode("utf-8")
                except UnicodeDecodeError:
                    raise ArchiveError(f"the target of symlink {name!r} is not UTF-8") from None
                entry = Entry(entry.path, entry.type, len(target_bytes), entry.mode, entry.mtime, target)
                yield entry, iter((target_bytes,))
                continue
            yield entry, chunks

    def _data_start(self, name: bytes, disk: int, local_offset: int) -> int:
        """Where an entry's data starts, after checking its local header.

        The name is in both headers; they must agree, so damage to either is found.
        """
        stream = self.stream
        at = stream.starts[disk] + local_offset + self.shift
        stream.seek(at)
        shown = name.decode("utf-8", "replace")
        raw = stream.read_exact(LOCAL_HEADER.size + len(name), f"the local header of {shown!r}")
        fields = LOCAL_HEADER.unpack_from(raw)
        if fields[0] != LOCAL_MAGIC and len(self.parts) > 1 and local_offset >= 4:
            at, raw = self._akeeba_split_header(name, disk, local_offset, at, raw)
            fields = LOCAL_HEADER.unpack_from(raw)
        if fields[0] != LOCAL_MAGIC:
            raise self._damaged(f"the archive is damaged: no local header for {shown!r} in "
                               f"{stream.where(at)}; copy it again")
        if fields[9] != len(name) or raw[LOCAL_HEADER.size:] != name:
            raise self._damaged(f"the archive is damaged: the two headers of {shown!r} name "
                               f"different files ({stream.where(at)}); copy it again")
        return at + LOCAL_HEADER.size + fields[9] + fields[10]

    def _akeeba_split_header(self, name: bytes, disk: int, local_offset: int, at: int,
                             raw: bytes) -> tuple[int, bytes]:
        """(position, bytes) of a local header that Akeeba's split ZIP writer recorded in
        the wrong place, or ``(at, raw)`` unchanged.

        When a header does not fit into a part, that writer starts the next part for it
        but records the previous part's number and offset 4; and since it seeks to 4 on
        a file opened for appending, every later entry of that part is recorded 4 bytes
        after its real place. Its own extractor reads front to back and never notices.
        Accepted only where a local header naming the same file starts.
        """
        stream = self.stream
        candidates = [(disk, local_offset - 4)]
        if local_offset == 4 and disk + 1 < len(self.parts):
            candidates.insert(0, (disk + 1, 0))
        for other_disk, offset in candidates:
            position = stream.starts[other_disk] + offset
            stream.seek(position)
            found = stream.read(LOCAL_HEADER.size + len(name))
            if found[:4] == LOCAL_MAGIC and found[LOCAL_HEADER.size:] == name:
                return position, found
        return at, raw

    def _data(self, entry: Entry, method: int, crc: int, compressed: int,
              data_start: int) -> Iterator[bytes]:
        stream = self.stream
        stream.seek(data_start)
        what = f"the data of {entry.path!r}"
        if compressed <= SMALL_ENTRY and entry.size <= SMALL_ENTRY:
            # most entries: one read, one inflate call
            yield self._decode_small(stream.read_exact(compressed, what), method, entry.size, crc, what)
            return
        check = 0
        produced = 0
        if method == METHOD_STORED:
            for piece in stream.iter_range(compressed, what, CHUNK_SIZE):
                check = zlib.crc32(piece, check)
                produced += len(piece)
                yield piece
        else:
            inflater = zlib.decompressobj(-15)
            try:
                for piece in stream.iter_range(compressed, what, 256 * 1024):
                    while piece and not inflater.eof:
                        data = inflater.decompress(piece, CHUNK_SIZE)
                        piece = inflater.unconsumed_tail
                        produced += len(data)
                        if produced > entry.size:
                            break
                        check = zlib.crc32(data, check)
                        if data:
                            yield data
                    if produced > entry.size:
                        break
            except zlib.error as exc:
                raise self._damaged(f"the archive is damaged: {what} does not decompress "
                                   f"({exc})") from None
            if not inflater.eof:
                produced = -1
        if produced != entry.size:
            raise self._damaged(f"the archive is damaged: {what} is not {entry.size} bytes long")
        if check != crc:
            raise self._damaged(f"the archive is damaged: {what} fails its CRC-32 check")

    def _take(self, entry: Entry, method: int, crc: int, compressed: int,
              data_start: int) -> StoredData:
        what = f"the data of {entry.path!r}"
        self.stream.seek(data_start)
        raw = self.stream.read_exact(compressed, what)
        return StoredData(raw, (method, entry.size, crc),
                          partial(self._decode_small, raw, method, entry.size, crc, what))

    def _decode_small(self, raw: bytes, method: int, size: int, crc: int, what: str) -> bytes:
        try:
            return decode_small(raw, method, size, crc, what)
        except ArchiveError as exc:
            raise self._damaged(str(exc)) from None

    def close(self) -> None:
        self.stream.close()
        self.directory.close()


def decode_small(raw: bytes, method: int, size: int, crc: int, what: str) -> bytes:
    """A small entry's bytes from its stored data, checked against its size and CRC-32."""
    data = raw
    if method == METHOD_DEFLATED:
        try:
            data, whole = inflate_whole(raw, size + 1)
        except zlib.error as exc:
            raise ArchiveError(f"the archive is damaged: {what} does not decompress ({exc})") from None
        if not whole:
            raise ArchiveError(f"the archive is damaged: {what} does not decompress to {size} bytes")
    if len(data) != size:
        raise ArchiveError(f"the archive is damaged: {what} is not {size} bytes long")
    if zlib.crc32(data) != crc:
        raise ArchiveError(f"the archive is damaged: {what} fails its CRC-32 check")
    return data


def decoder(keys: dict[str, str]):
    """For a writer process: ``StoredData.raw`` and ``params`` to bytes."""
    return lambda raw, method, size, crc: decode_small(raw, method, size, crc, "")


def _decode_name(raw: bytes, flags: int) -> str:
    if flags & FLAG_UTF8:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ArchiveError(f"an entry name is not valid UTF-8 ({raw!r})") from None
    return raw.decode("cp437")


def _apply_zip64(payload: bytes, size: int, compressed: int, offset: int,
                 disk: int) -> tuple[int, int, int, int]:
    """Replaces the fields that are all-ones with the values of the ZIP64 extra."""
    values = iter(struct.unpack_from(f"<{len(payload) // 8}Q", payload))
    try:
        if size == U32_MAX:
            size = next(values)
        if compressed == U32_MAX:
            compressed = next(values)
        if offset == U32_MAX:
            offset = next(values)
    except StopIteration:
        raise ArchiveError("the archive is damaged: a ZIP64 extra field is too short") from None
    if disk == U16_MAX and len(payload) % 8 == 4:
        disk = int.from_bytes(payload[-4:], "little")
    return size, compressed, offset, disk


def _entry(name: str, system: int, external: int, size: int, mtime: int) -> Entry:
    mode = external >> 16 if system == SYSTEM_UNIX else 0
    if name.endswith("/") or stat.S_ISDIR(mode) or (external & MSDOS_DIRECTORY and not mode):
        return Entry(name.rstrip("/"), EntryType.DIR, 0,
                     normalize_mode(EntryType.DIR, mode) if mode else default_mode(EntryType.DIR),
                     mtime)
    if stat.S_ISLNK(mode):
        return Entry(name, EntryType.SYMLINK, size, mode, mtime)
    return Entry(name, EntryType.FILE, size,
                 normalize_mode(EntryType.FILE, mode) if mode else default_mode(EntryType.FILE),
                 mtime)


def open_reader(parts: list[Path], password: str | None = None) -> ZipReader:
    return ZipReader(parts)
