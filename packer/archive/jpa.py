"""JPA writer (Akeeba's plain archive, FORMATS.md §1); layouts from ``restorer.formats.jpa``.

Files under 1 MiB become one raw deflate stream each (compressed on the thread pool,
stored when deflate does not make them smaller); larger files are stored, as Akeeba
does, so Akeeba's extractor never has to inflate a huge entry in memory. Every entry
carries the timestamp extra (readers skip extras by the block length). The standard
header is written with zero counters and rewritten in place by ``_finish``.

JPA 1.3: an entry of 4 GiB or more gets the 64-bit extra, and totals of 4 GiB or more
the 64-bit totals header record; the version becomes 1.3 only then (FORMATS.md §1:
1.2 unless a size needs 1.3). The totals are known only at the end, when the header is
rewritten in place, so the header always holds room for that record: sitepack's
``JPSR`` record of the same size, which every reader skips as unknown, turned into
the 1.3 record when the totals need it.
"""

from __future__ import annotations

from collections.abc import Iterator

from restorer.formats.base import Entry
from restorer.formats.jpa import (ENTITY_FIELDS, ENTITY_HEADER, ENTITY_MAGIC, LARGE_ENTITY_EXTRA,
                                  LARGE_ENTITY_EXTRA_ID, LARGE_HEADER_EXTRA,
                                  LARGE_HEADER_EXTRA_ID, MAGIC, MANIFEST_EXTRA, MANIFEST_EXTRA_ID,
                                  METHOD_DEFLATE, METHOD_STORED, SPANNED_EXTRA, SPANNED_EXTRA_ID,
                                  STANDARD_HEADER, TIMESTAMP_EXTRA, TIMESTAMP_EXTRA_ID,
                                  TOTALS_ROOM_EXTRA_ID, U32_MAX)

from .base import ArchiveWriter, register
from .compress import deflate_raw

def entity_header(entry: Entry, method: int, compressed: int) -> bytes:
    """The ``JPF`` block of ``entry`` (with timestamp and, when needed, 64-bit extra)."""
    path = (entry.path + "/" if entry.is_dir else entry.path).encode("utf-8")
    large = compressed > U32_MAX or entry.size > U32_MAX
    extras = TIMESTAMP_EXTRA.pack(TIMESTAMP_EXTRA_ID, TIMESTAMP_EXTRA.size, entry.mtime & U32_MAX)
    if large:
        extras += LARGE_ENTITY_EXTRA.pack(LARGE_ENTITY_EXTRA_ID, LARGE_ENTITY_EXTRA.size,
                                          compressed, entry.size)
    block_length = ENTITY_HEADER.size + len(path) + ENTITY_FIELDS.size + len(extras)
    return b"".join((
        ENTITY_HEADER.pack(ENTITY_MAGIC, block_length, len(path)),
        path,
        ENTITY_FIELDS.pack(int(entry.type), method, min(compressed, U32_MAX),
                           min(entry.size, U32_MAX), entry.mode),
        extras,
    ))


@register
class JpaWriter(ArchiveWriter):
    format = "jpa"
    suffix = ".jpa"
    rewritten_at_close = (1,)   # _finish rewrites the standard header with the totals

    total_compressed = 0
    large_entries = False

    def _standard_header(self) -> bytes:
        """The header with the current counters; always the same length (it is written
        first and rewritten in place at the end): spanned record, 64-bit totals or the
        room for them, and last the manifest record (Akeeba's reader loops over records
        while more than 8 header bytes are left, so the 6-byte ``JPSM`` must come last)."""
        spanned = self.part_size is not None
        large_totals = max(self.total_size, self.total_compressed) > U32_MAX
        length = (STANDARD_HEADER.size + (SPANNED_EXTRA.size if spanned else 0)
                  + LARGE_HEADER_EXTRA.size + (MANIFEST_EXTRA.size if self.with_manifest else 0))
        minor = 3 if (large_totals or self.large_entries) else 2
        header = STANDARD_HEADER.pack(MAGIC, length, 1, minor, self.entity_count,
                                      min(self.total_size, U32_MAX),
                                      min(self.total_compressed, U32_MAX))
        if spanned:
            header += SPANNED_EXTRA.pack(SPANNED_EXTRA_ID, 4, self.out.index)
        if large_totals:
            header += LARGE_HEADER_EXTRA.pack(LARGE_HEADER_EXTRA_ID, 18, self.total_size,
                                              self.total_compressed)
        else:
            header += LARGE_HEADER_EXTRA.pack(TOTALS_ROOM_EXTRA_ID, 18, 0, 0)
        if self.with_manifest:
            header += MANIFEST_EXTRA.pack(MANIFEST_EXTRA_ID, 0)
        return header

    def _start(self) -> None:
        self.total_compressed = 0
        header = self._standard_header()
        self.out.write(header)

    def _prepare(self, entry: Entry, data: bytes):
        if entry.is_file and data:
            packed = deflate_raw(data)
            if len(packed) < len(data):
                return METHOD_DEFLATE, packed
        return METHOD_STORED, data

    def _write_prepared(self, entry: Entry, prepared) -> None:
        method, data = prepared
        header = entity_header(entry, method, len(data))
        self.out.ensure_room(len(header))
        self.out.write(header)
        if data:
            self.out.write(data)
        self.total_compressed += len(data)

    def _write_stream(self, entry: Entry, chunks: Iterator[bytes]) -> None:
        header = entity_header(entry, METHOD_STORED, entry.size)
        if entry.size > U32_MAX:
            self.large_entries = True
        self.out.ensure_room(len(header))
        self.out.write(header)
        for chunk in chunks:
            self.out.write(chunk)
        self.total_compressed += entry.size

    def _finish(self) -> None:
        self.out.patch((1, 0), self._standard_header())

    def _format_state(self) -> dict:
        return {"total_compressed": self.total_compressed, "large_entries": self.large_entries}

    def _load_format_state(self, state: dict) -> None:
        self.total_compressed = state["total_compressed"]
        self.large_entries = state["large_entries"]
