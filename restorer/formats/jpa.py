"""JPA, Akeeba's plain archive format: header layouts and the reader.

Layout (FORMATS.md §1): a standard header, then for each entity a ``JPF`` header block
followed by its data. No central directory, no end record, no checksums. Version 1.2;
1.3 adds 64-bit extras when a size or a total needs them. The writer is
``packer/archive/jpa.py`` and uses the structs defined here.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from restorer.errors import ArchiveError

from .base import (CHUNK_SIZE, ENTRY_TYPES, SMALL_ENTRY, ArchiveReader, Entry, EntryData,
                   EntryType, StoredData, inflate_whole, normalize_mode)
from .parts import PartReader, expect_part_count

MAGIC = b"JPA"
ENTITY_MAGIC = b"JPF"

#: sitepack's header record saying "the last entry is a sitepack manifest": ``JPSM``,
#: u16 0. Verification needs a second witness besides the manifest's name: without it
#: a damaged name would turn the archive into one that merely has no checksums.
MANIFEST_EXTRA = struct.Struct("<4sH")
MANIFEST_EXTRA_ID = b"JPSM"

#: ``JPA``, header length, version major, minor, entity count, total uncompressed,
#: total compressed.
STANDARD_HEADER = struct.Struct("<3sHBBIII")
#: Spanned-archive header extra: ``JP\x01\x01``, u16 4, u16 number of parts.
SPANNED_EXTRA = struct.Struct("<4sHH")
SPANNED_EXTRA_ID = b"JP\x01\x01"
#: JPA 1.3 header extra: ``JP\x01\x02``, u16 18, u64 total uncompressed, u64 total compressed.
LARGE_HEADER_EXTRA = struct.Struct("<4sHQQ")
LARGE_HEADER_EXTRA_ID = b"JP\x01\x02"
#: sitepack's room for the 64-bit totals (same layout, zeros): a writer that does not
#: know the totals yet reserves it and turns it into the 1.3 record when they need it.
TOTALS_ROOM_EXTRA_ID = b"JPSR"

#: ``JPF``, block length, path length (the path bytes follow).
ENTITY_HEADER = struct.Struct("<3sHH")
#: After the path: type, compression, compressed size, uncompressed size, st_mode.
ENTITY_FIELDS = struct.Struct("<BBIII")
#: Entity extra: id, length counting its own 4 bytes.
EXTRA_HEADER = struct.Struct("<HH")
#: Timestamp extra (bytes ``00 01``): id, 8, u32 mtime.
TIMESTAMP_EXTRA = struct.Struct("<HHI")
TIMESTAMP_EXTRA_ID = 0x0100
#: JPA 1.3 entity extra (bytes ``00 02``): id, 20, u64 compressed, u64 uncompressed.
LARGE_ENTITY_EXTRA = struct.Struct("<HHQQ")
LARGE_ENTITY_EXTRA_ID = 0x0200

METHOD_STORED = 0
METHOD_DEFLATE = 1
METHOD_BZIP2 = 2

U32_MAX = 0xFFFFFFFF


def detect(head: bytes) -> bool:
    return head[:3] == MAGIC


class JpaReader(ArchiveReader):
    format = "jpa"
    has_checksums = False

    def __init__(self, parts: list[Path]):
        super().__init__(parts)
        self.stream = PartReader(parts)
        try:
            self._read_standard_header()
        except BaseException:
            self.stream.close()
            raise

    def _read_standard_header(self) -> None:
        raw = self.stream.read_exact(STANDARD_HEADER.size, "the JPA header")
        magic, length, major, minor, count, total_size, total_compressed = STANDARD_HEADER.unpack(raw)
        if major != 1 or minor not in (0, 1, 2, 3):
            raise ArchiveError(
                f"{self.parts[0].name} is JPA version {major}.{minor}, which sitepack cannot "
                "read (it reads 1.0 to 1.3): extract it with a newer tool")
        if length < STANDARD_HEADER.size:
            raise ArchiveError(f"{self.parts[0].name} has a damaged JPA header (length {length})")
        self.version = (major, minor)
        self.entity_count = count
        self.total_size = total_size
        self.total_compressed = total_compressed
        self.declared_parts = 1
        self.declares_manifest = False
        extras = self.stream.read_exact(length - STANDARD_HEADER.size, "the JPA header")
        records = []   # (signature, raw bytes), in order
        offset = 0
        while offset + 6 <= len(extras):
            signature, extra_length = extras[offset:offset + 4], int.from_bytes(extras[offset + 4:offset + 6], "little")
            if signature == SPANNED_EXTRA_ID and offset + SPANNED_EXTRA.size <= len(extras):
                self.declared_parts = SPANNED_EXTRA.unpack_from(extras, offset)[2]
                end = offset + SPANNED_EXTRA.size
            elif signature == MANIFEST_EXTRA_ID:
                if extra_length != 0:
                    raise self._damaged_sitepack_header()
                self.declares_manifest = True
                end = offset + MANIFEST_EXTRA.size
            elif signature == LARGE_HEADER_EXTRA_ID and offset + LARGE_HEADER_EXTRA.size <= len(extras):
                _, _, self.total_size, self.total_compressed = LARGE_HEADER_EXTRA.unpack_from(extras, offset)
                end = offset + LARGE_HEADER_EXTRA.size
            else:
                # Other records (sitepack's reserved room, anything newer): the length
                # counts itself and the payload, as in Akeeba's records and its reader.
                end = offset + 4 + extra_length
            records.append((signature, extras[offset:end]))
            offset = end
        if self.declares_manifest:
            self._check_sitepack_header(records, len(extras) - offset)
        if self.declared_parts > 1 or len(self.parts) > 1:
            expect_part_count(self.parts, max(self.declared_parts, 1))

    def _check_sitepack_header(self, records: list[tuple[bytes, bytes]], left: int) -> None:
        """A header that says sitepack wrote the archive must hold exactly what its
        writer puts there (spanned record, 64-bit totals or the zeroed room for them,
        manifest record last): with the manifest, verification then finds every changed
        header byte except the informational totals."""
        signatures = [signature for signature, _ in records]
        if signatures[:1] == [SPANNED_EXTRA_ID]:
            signatures.pop(0)
        if signatures == [MANIFEST_EXTRA_ID] and not left:
            return   # as written before the room for the totals existed
        room = LARGE_HEADER_EXTRA.pack(TOTALS_ROOM_EXTRA_ID, 18, 0, 0)
        if (left or signatures not in ([LARGE_HEADER_EXTRA_ID, MANIFEST_EXTRA_ID],
                                       [TOTALS_ROOM_EXTRA_ID, MANIFEST_EXTRA_ID])
                or any(sig == TOTALS_ROOM_EXTRA_ID and raw != room for sig, raw in records)
                or (self.version[1] == 3) != (signatures[0] == LARGE_HEADER_EXTRA_ID)):
            raise self._damaged_sitepack_header()

    def _damaged_sitepack_header(self) -> ArchiveError:
        return ArchiveError(f"{self.parts[0].name} has a damaged JPA header (sitepack record); "
                            "copy or download it again")

    def entries(self) -> Iterator[tuple[Entry, Iterator[bytes]]]:
        stream = self.stream
        found = 0
        while stream.tell() < stream.size:
            found += 1
            start = stream.tell()
            raw = stream.read_exact(ENTITY_HEADER.size, "an entity header")
            magic, block_length, path_length = ENTITY_HEADER.unpack(raw)
            if magic != ENTITY_MAGIC:
                raise ArchiveError(
                    f"the archive is damaged: no entity header in {stream.where(start)} "
                    f"({self._short_part_hint(start)}); copy or download it again")
            if block_length < ENTITY_HEADER.size + path_length + ENTITY_FIELDS.size:
                raise ArchiveError(f"the archive is damaged: bad entity header in {stream.where(start)}")
            rest = stream.read_exact(block_length - ENTITY_HEADER.size, "an entity header")
            try:
                path = rest[:path_length].decode("utf-8")
            except UnicodeDecodeError:
                raise ArchiveError(
                    f"the archive is damaged: an entry name in {stream.where(start)} is not "
                    "UTF-8") from None
            entry_type, method, compressed, size, mode = ENTITY_FIELDS.unpack_from(rest, path_length)
            mtime = None
            offset = path_length + ENTITY_FIELDS.size
            while offset + EXTRA_HEADER.size <= len(rest):
                extra_id, extra_length = EXTRA_HEADER.unpack_from(rest, offset)
                if extra_length < EXTRA_HEADER.size or offset + extra_length > len(rest):
                    raise ArchiveError(f"the archive is damaged: bad extra field for {path!r} "
                                       f"in {stream.where(start)}")
                if extra_id == TIMESTAMP_EXTRA_ID and extra_length == TIMESTAMP_EXTRA.size:
                    mtime = TIMESTAMP_EXTRA.unpack_from(rest, offset)[2]
                elif extra_id == LARGE_ENTITY_EXTRA_ID and extra_length == LARGE_ENTITY_EXTRA.size:
                    _, _, compressed, size = LARGE_ENTITY_EXTRA.unpack_from(rest, offset)
                offset += extra_length
            if entry_type not in (0, 1, 2):
                raise ArchiveError(f"the archive is damaged: entry {path!r} has unknown type "
                                   f"{entry_type} ({stream.where(start)})")
            kind = ENTRY_TYPES[entry_type]
            path = path.rstrip("/")
            data_start = stream.tell()
            if data_start + compressed > stream.size:
                raise stream.truncated(f"the data of {path!r}", data_start)
            if method not in (METHOD_STORED, METHOD_DEFLATE):
                what = "bzip2" if method == METHOD_BZIP2 else f"method {method}"
                raise ArchiveError(f"entry {path!r} is compressed with {what}, which sitepack "
                                   "does not read: extract this archive with Akeeba Kickstart")
            if kind is EntryType.DIR:
                if size:
                    raise ArchiveError(f"the archive is damaged: directory {path!r} has a size "
                                       f"({stream.where(start)})")
                stream.seek(data_start + compressed)
                yield Entry(path, kind, 0, normalize_mode(kind, mode), mtime), iter(())
                continue
            if kind is EntryType.SYMLINK:
                target_bytes = stream.read_exact(compressed, f"the data of {path!r}")
                if method == METHOD_DEFLATE:
                    target_bytes = _inflate_all(target_bytes, path)
                try:
                    target = target_bytes.decode("utf-8")
                except UnicodeDecodeError:
                    raise ArchiveError(f"the archive is damaged: the target of symlink {path!r} "
                                       "is not UTF-8") from None
                if len(target_bytes) != size:   # Akeeba's writers too put the target's length
                    raise ArchiveError(f"the archive is damaged: the target of symlink {path!r} "
                                       f"has {len(target_bytes)} bytes but its header says {size}")
                yield (Entry(path, kind, len(target_bytes), normalize_mode(kind, mode), mtime, target),
                       iter((target_bytes,)))
                continue
            entry = Entry(path, kind, size, normalize_mode(kind, mode), mtime)
            chunks = (self._stored(entry, compressed, data_start) if method == METHOD_STORED
                      else self._inflated(entry, compressed, data_start))
            if compressed <= SMALL_ENTRY and size <= SMALL_ENTRY:
                chunks = EntryData(chunks, partial(self._take, entry, method, compressed, data_start))
            yield entry, chunks
            stream.seek(data_start + compressed)
        if found != self.entity_count:
            raise ArchiveError(
                f"the archive is damaged: its header counts {self.entity_count} entries but "
                f"{found} were found (it was cut short or a part is missing or short)")

    def _stored(self, entry: Entry, compressed: int, data_start: int) -> Iterator[bytes]:
        _check_stored_size(compressed, entry.size, entry.path)
        self.stream.seek(data_start)
        yield from self.stream.iter_range(compressed, f"the data of {entry.path!r}", CHUNK_SIZE)

    def _inflated(self, entry: Entry, compressed: int, data_start: int) -> Iterator[bytes]:
        self.stream.seek(data_start)
        if compressed <= SMALL_ENTRY and entry.size <= SMALL_ENTRY:
            # most entries: one read, one inflate call
            yield decode_small(self.stream.read_exact(compressed, f"the data of {entry.path!r}"),
                               METHOD_DEFLATE, entry.size, entry.path)
            return
        inflater = zlib.decompressobj(-15)
        produced = 0
        try:
            for piece in self.stream.iter_range(compressed, f"the data of {entry.path!r}", 256 * 1024):
                while piece and not inflater.eof:
                    data = inflater.decompress(piece, CHUNK_SIZE)
                    piece = inflater.unconsumed_tail
                    produced += len(data)
                    if produced > entry.size:
                        break
                    if data:
                        yield data
                if produced > entry.size:
                    break
        except zlib.error as exc:
            raise ArchiveError(f"the archive is damaged: the data of {entry.path!r} does not "
                               f"decompress ({exc})") from None
        if produced != entry.size or not inflater.eof or inflater.unused_data:
            raise ArchiveError(f"the archive is damaged: the data of {entry.path!r} decompresses "
                               f"to {produced} bytes instead of {entry.size}")

    def _take(self, entry: Entry, method: int, compressed: int, data_start: int) -> StoredData:
        self.stream.seek(data_start)
        raw = self.stream.read_exact(compressed, f"the data of {entry.path!r}")
        return StoredData(raw, (method, entry.size, 0),
                          partial(decode_small, raw, method, entry.size, entry.path))

    def _short_part_hint(self, offset: int) -> str:
        short = self.stream.short_part_hint()
        if short:
            return short[2:]
        index, inner = self.stream.locate(offset)
        if index > 0 and inner == 0:
            return f"part {self.parts[index - 1].name} may be short or damaged"
        if len(self.parts) > 1:
            return f"part {self.parts[index].name} or the one before it may be short or damaged"
        return "the file is damaged"

    def close(self) -> None:
        self.stream.close()


def decode_small(raw: bytes, method: int, size: int, path: str) -> bytes:
    """A small entry's bytes from its stored data, checked against its size."""
    if method == METHOD_STORED:
        _check_stored_size(len(raw), size, path)
        return raw
    try:
        data, whole = inflate_whole(raw, size + 1)
    except zlib.error as exc:
        raise ArchiveError(f"the archive is damaged: the data of {path!r} does "
                           f"not decompress ({exc})") from None
    if len(data) != size or not whole:
        raise ArchiveError(f"the archive is damaged: the data of {path!r} "
                           f"decompresses to {len(data)} bytes instead of {size}")
    return data


def _check_stored_size(stored: int, size: int, path: str) -> None:
    if stored != size:
        raise ArchiveError(f"the archive is damaged: stored entry {path!r} has "
                           f"{stored} bytes of data for a size of {size}")


def decoder(keys: dict[str, str]):
    """For a writer process: ``StoredData.raw`` and ``params`` to bytes."""
    return lambda raw, method, size, _unused: decode_small(raw, method, size, "")


def _inflate_all(data: bytes, path: str) -> bytes:
    try:
        return zlib.decompress(data, -15)
    except zlib.error as exc:
        raise ArchiveError(f"the archive is damaged: the data of {path!r} does not decompress ({exc})") from None


def open_reader(parts: list[Path], password: str | None = None) -> JpaReader:
    return JpaReader(parts)
