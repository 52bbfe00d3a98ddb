"""Compression shared by the writers: raw deflate (RFC 1951, no zlib header/trailer).

zlib releases the GIL while it compresses, so the writers run these functions on their
thread pool. Level 6 (zlib's and ``zip``'s default) keeps archives as small as
``zip -r`` makes them.
"""

from __future__ import annotations

import zlib

COMPRESSION_LEVEL = 6


def deflate_raw(data: bytes, level: int = COMPRESSION_LEVEL) -> bytes:
    """``data`` as one complete raw deflate stream (an empty input gives ``03 00``)."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()
