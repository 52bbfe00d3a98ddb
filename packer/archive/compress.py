"""Compression shared by the writers: raw deflate (RFC 1951, no zlib header/trailer).

zlib releases the GIL while it compresses, so the writers run these functions on their
thread pool. Level 6 (zlib's and ``zip``'s default) keeps archives as small as
``zip -r`` makes them.
"""

from __future__ import annotations

import zlib

from isal import isal_zlib

COMPRESSION_LEVEL = 6


def deflate_raw(data: bytes, level: int = COMPRESSION_LEVEL) -> bytes:
    """``data`` as one complete raw deflate stream (an empty input gives ``03 00``)."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


_INCOMPRESSIBLE_RATIO = 0.97
_PROBE_SIZE = 64 * 1024


def deflate_piece(data: bytes, final: bool, level: int = COMPRESSION_LEVEL) -> bytes:
    """One piece of a raw deflate stream made of independently compressed pieces.

    Pieces end on a byte boundary (sync flush); only the ``final`` one closes the
    stream, so the pieces of one file can be compressed in parallel and concatenated
    (what ``pigz`` does). A piece that a fast probe finds incompressible is emitted as
    stored deflate blocks, which costs a copy instead of a full compression.
    """
    flush = zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH
    probe = isal_zlib.compress(data[:_PROBE_SIZE], 1, wbits=-15)
    if len(probe) >= _INCOMPRESSIBLE_RATIO * min(len(data), _PROBE_SIZE):
        level = 0
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(flush)
