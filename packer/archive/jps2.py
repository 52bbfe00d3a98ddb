"""Writes Akeeba's JPS 2.0 (``jps2``), byte for byte as Akeeba's extractor reads it.

Layouts live in ``restorer/formats/jps2.py``. Per entry: a ``JPF`` record (never across
a part boundary), then data blocks of at most 1 MiB each deflated on its own; every
block is AES-128-CBC with a fresh random IV. Data block headers (8 bytes) never cross a
part boundary; a block body may cross one, so chunks stay below half the part size (a
symlink's block never crosses one).
Small files deflate like JPA's (zlib level 6, on the thread pool), large files' chunks
with ISA-L's fast deflate, or as stored deflate blocks when they look incompressible.
Sizes are u32: a file of 4 GiB or more cannot go into JPS 2.0 (use ``jps``).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator

from restorer.errors import ArchiveError
from restorer.formats import jps2 as layout
from restorer.formats.base import CHUNK_SIZE, Entry, EntryType
from restorer.formats.crypto import AesCbc, pbkdf2_key

from .base import ArchiveWriter, register
from .compress import deflate_large, deflate_raw

U32_MAX = 0xFFFFFFFF
class BufferedRandom:
    """Random bytes from ``source`` drawn 4 KiB at a time: one system call per few
    hundred IVs or nonces instead of one each (measurable with 10 000s of small files)."""

    def __init__(self, source: Callable[[int], bytes]):
        self.source = source
        self._buffer = b""
        self._used = 0

    def __call__(self, n: int) -> bytes:
        if self._used + n > len(self._buffer):
            self._buffer = self.source(max(4096, n))
            self._used = 0
        out = self._buffer[self._used:self._used + n]
        self._used += n
        return out


class RandomSourceMixin:
    """``random_source`` (default ``os.urandom``; tests inject a seeded one), buffered.

    Assigning a new source starts a fresh buffer, so a writer resumed with source B and
    an uninterrupted one switched to B at the same checkpoint draw the same bytes."""

    _random: BufferedRandom

    @property
    def random_source(self) -> Callable[[int], bytes]:
        return self._random.source

    @random_source.setter
    def random_source(self, source: Callable[[int], bytes]) -> None:
        self._random = BufferedRandom(source)


def split_chunks(chunks: Iterator[bytes], size: int) -> Iterator[bytes]:
    """``chunks`` re-cut into pieces of at most ``size`` bytes."""
    for chunk in chunks:
        if len(chunk) <= size:
            yield chunk
            continue
        view = memoryview(chunk)
        for start in range(0, len(chunk), size):
            yield bytes(view[start:start + size])


def chunk_size_for(part_size: int | None) -> int:
    """1 MiB, or less so that an encrypted block is always smaller than one part."""
    return CHUNK_SIZE if part_size is None else min(CHUNK_SIZE, part_size // 2)


@register
class Jps2Writer(RandomSourceMixin, ArchiveWriter):
    format = "jps2"
    suffix = ".jps"

    def __init__(self, path, *, password: str | None = None, state: dict | None = None,
                 random_source: Callable[[int], bytes] = os.urandom, **kwargs):
        if state is None and not password:
            raise ArchiveError("an encrypted archive needs a password: give it with "
                               "--password-env VAR or --password-file FILE")
        self._password = password
        self.random_source = random_source
        self._key = b""
        self._deflated = 0
        super().__init__(path, password=password, state=state, **kwargs)
        self._chunk = chunk_size_for(self.part_size)

    def _start(self) -> None:
        salt = self._random(64)
        self._use_key(pbkdf2_key(self._password.encode("utf-8"), salt, layout.PBKDF2_ITERATIONS))
        self._password = None  # only the derived key is kept (and checkpointed)
        self.out.write(layout.standard_header(salt, spanned=self.part_size is not None))

    def _use_key(self, key: bytes) -> None:
        self._key = key
        self._cipher = AesCbc(key)

    def _prepare(self, entry: Entry, data: bytes) -> list[bytes]:
        if entry.is_file:
            return [deflate_raw(piece) for piece in split_chunks(iter((data,)), self._chunk)
                    if piece]
        return [data] if data else []

    def _write_prepared(self, entry: Entry, pieces: list[bytes]) -> None:
        self._write_entity(entry)
        for piece in pieces:
            # Akeeba's reader mishandles a link target block that crosses a part
            # boundary (it checks the wrong length after switching parts): keep it whole.
            self._write_block(piece, whole=entry.is_symlink)

    def _write_stream(self, entry: Entry, chunks: Iterator[bytes]) -> None:
        self._write_entity(entry)
        for piece in self.map_ordered(deflate_large, split_chunks(chunks, self._chunk)):
            self._write_block(piece)

    def _write_entity(self, entry: Entry) -> None:
        if entry.size > U32_MAX:
            raise ArchiveError(f"{entry.path} is 4 GiB or larger, which JPS 2.0 cannot hold: "
                               "use the jps format (AES-256) for this site")
        path = entry.path + "/" if entry.type is EntryType.DIR else entry.path
        plain = layout.entity_plaintext(path.encode("utf-8"), int(entry.type), entry.size,
                                        entry.mode, max(0, min(entry.mtime, U32_MAX)))
        block = layout.encrypt_block(self._cipher, self._random(16), plain)
        record = layout.ENTITY_HEAD.pack(layout.ENTITY_SIGNATURE, len(block), len(plain)) + block
        self.out.ensure_room(len(record))
        self.out.write(record)

    def _write_block(self, plain: bytes, whole: bool = False) -> None:
        block = layout.encrypt_block(self._cipher, self._random(16), plain)
        self.out.ensure_room(layout.DATA_HEAD.size + (len(block) if whole else 0))
        self.out.write(layout.DATA_HEAD.pack(len(block), len(plain)))
        self.out.write(block)
        self._deflated += len(plain)

    def _finish(self) -> None:
        self.out.ensure_room(layout.END_RECORD.size)
        self.out.write(layout.END_RECORD.pack(
            layout.END_SIGNATURE, self.out.index, self.entity_count & U32_MAX,
            self.total_size & U32_MAX, self._deflated & U32_MAX))

    def _format_state(self) -> dict:
        return {"key": base64.b64encode(self._key).decode("ascii"), "deflated": self._deflated}

    def _load_format_state(self, state: dict) -> None:
        self._use_key(base64.b64decode(state["key"]))
        self._deflated = state["deflated"]
