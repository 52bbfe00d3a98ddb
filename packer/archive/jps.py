"""Writes sitepack's AES-256 authenticated archive, JPS 3.0 (``jps``).

Layout and reasoning: ``docs/FORMAT-JPS.md``; structs in ``restorer/formats/jps.py``.
Compression runs on the writer's thread pool (small files like JPA's, zlib level 6;
chunks of large files with ISA-L's fast deflate, stored when that does not shrink them);
encryption happens in archive order on the writing thread, because every record's
associated data binds its index and offset (AES-GCM is several times faster than
deflate, so it is not the bottleneck). A small file or a link is one record: its data
rides in its entry record, which halves the records to seal and to authenticate.
"""

from __future__ import annotations

import base64
import concurrent.futures
import os
import threading
from collections.abc import Callable, Iterator

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from restorer.errors import ArchiveError
from restorer.formats import jps as layout
from restorer.formats.base import Entry, EntryType
from restorer.formats.crypto import (SCRYPT_DEFAULT, KdfParams, derive_master_key,
                                     split_master_key)

from .base import ArchiveWriter, register
from .compress import deflate_fast, deflate_raw, looks_incompressible
from .jps2 import RandomSourceMixin, chunk_size_for, split_chunks


_DEFLATED, _STORED = bytes((layout.METHOD_DEFLATE,)), bytes((layout.METHOD_STORED,))
#: Records of an entry up to this size are joined and written at once.
_JOINED_WRITE = 64 * 1024


def pack_chunk(data: bytes, deflate: Callable[[bytes], bytes] = deflate_raw) -> bytes:
    """A data record's plaintext: method byte + deflated chunk, or stored when deflate
    does not make it smaller (already compressed media)."""
    deflated = deflate(data)
    if len(deflated) < len(data):
        return _DEFLATED + deflated
    return _STORED + data


def pack_chunk_fast(data: bytes) -> bytes:
    """``pack_chunk`` with ISA-L's fast deflate, for the chunks of large files; a chunk
    that looks incompressible (media, archives) is stored untried."""
    if looks_incompressible(data):
        return _STORED + data
    return pack_chunk(data, deflate_fast)


@register
class JpsWriter(RandomSourceMixin, ArchiveWriter):
    format = "jps"
    suffix = ".jps"

    def __init__(self, path, *, password: str | None = None, state: dict | None = None,
                 kdf: KdfParams = SCRYPT_DEFAULT,
                 random_source: Callable[[int], bytes] = os.urandom, **kwargs):
        if state is None and not password:
            raise ArchiveError("an encrypted archive needs a password: give it with "
                               "--password-env VAR or --password-file FILE")
        self._password = password
        self._kdf = kdf
        self.random_source = random_source
        self._aead: AESGCM | None = None
        self._key = b""
        self._digest = b""
        self._index = 0
        self._stored = 0
        super().__init__(path, password=password, state=state, **kwargs)
        self._chunk = chunk_size_for(self.part_size)

    def _start(self) -> None:
        # The password KDF (a quarter second on purpose) runs in a thread while the tree
        # is measured and the first files are read and compressed (their batches queue
        # up meanwhile, see _can_write); the header is written when the key is needed.
        salt, archive_id = self._random(32), self._random(16)
        password, self._password = self._password, None  # only the derived key is kept
        self._pending_key = concurrent.futures.Future()

        def derive() -> None:
            try:
                self._pending_key.set_result(
                    split_master_key(derive_master_key(password, self._kdf, salt)))
            except BaseException as exc:  # raised where the key is needed
                self._pending_key.set_exception(exc)

        self._header_fields = (salt, archive_id)
        threading.Thread(target=derive, name="sitepack-kdf", daemon=True).start()

    def _keyed(self) -> AESGCM:
        """The record cipher; the first call waits for the KDF and writes the header."""
        if self._aead is None:
            key, verifier = self._pending_key.result()
            salt, archive_id = self._header_fields
            header = layout.build_header(self._kdf, salt, archive_id, verifier,
                                         spanned=self.part_size is not None)
            self._use_key(key, header.digest)
            self.out.write(header.raw)
        return self._aead

    def _can_write(self) -> bool:
        return self._aead is not None or self._pending_key.done()

    def _use_key(self, key: bytes, digest: bytes) -> None:
        self._key, self._digest = key, digest
        self._aead = AESGCM(key)

    def _seal(self, entity: bytes | None, pieces) -> None:
        """Seals an entry record (``entity``, unless None; the caller counts its inline
        data) and data records (``pieces``) and writes them: each record's index and
        offset go into its associated data, so sealing waits for its turn here. Small
        records go out in one write, large ones as they are (their heads are not joined
        to a megabyte of body)."""
        aead = self._aead or self._keyed()
        seal, digest, random = layout.seal_record, self._digest, self._random
        index, start = self._index, self.out.total
        offset = start
        written = []
        signature = layout.DATA_SIGNATURE if entity is None else layout.ENTITY_SIGNATURE
        for plaintext in pieces if entity is None else (entity, *pieces):
            head, sealed = seal(aead, digest, signature, index, offset,
                                random(layout.NONCE_SIZE), plaintext)
            written += (head, sealed)
            index += 1
            offset += len(head) + len(sealed)
            signature = layout.DATA_SIGNATURE
        self._stored += sum(len(piece) for piece in pieces) - len(pieces)
        if offset - start <= _JOINED_WRITE:
            self.out.write(b"".join(written))
        else:
            for piece in written:
                self.out.write(piece)
        self._index = index

    def _prepare(self, entry: Entry, data: bytes) -> tuple[bytes, int, list[bytes]]:
        """Worker thread: the entry record's plaintext with the entry's first chunk inline
        (a small file or a link is then one record), the bytes stored inline, and the
        plaintexts of the data records that follow (their sealing waits for the offsets)."""
        entity = layout.entity_plaintext(int(entry.type), entry.size, entry.mode, entry.mtime,
                                         entry.path)
        if not data:
            return entity, 0, []
        if entry.type is not EntryType.FILE:
            return entity + _STORED + data, len(data), []
        if len(data) <= self._chunk:
            first = pack_chunk(data)
            return entity + first, len(first) - 1, []
        first, *rest = [pack_chunk(piece) for piece in split_chunks(iter((data,)), self._chunk)]
        return entity + first, len(first) - 1, rest

    def _write_prepared(self, entry: Entry, prepared: tuple[bytes, int, list[bytes]]) -> None:
        record, inline, pieces = prepared
        self._stored += inline
        self._seal(record, pieces)

    def _write_stream(self, entry: Entry, chunks: Iterator[bytes]) -> None:
        self._seal(layout.entity_plaintext(int(entry.type), entry.size, entry.mode, entry.mtime,
                                           entry.path), ())
        for piece in self.map_ordered(pack_chunk_fast, split_chunks(chunks, self._chunk)):
            self._seal(None, (piece,))

    def _finish(self) -> None:
        aead = self._keyed()
        # The end record stays in one part, so the part count it states is final.
        self.out.ensure_room(layout.END_RECORD_SIZE)
        end = layout.END.pack(self._index, self.entity_count, self.total_size, self._stored,
                              self.out.index, self.out.total + layout.END_RECORD_SIZE)
        self.out.write(b"".join(layout.seal_record(
            aead, self._digest, layout.END_SIGNATURE, layout.END_POSITION,
            layout.END_POSITION, self._random(layout.NONCE_SIZE), end)))

    def _format_state(self) -> dict:
        self._keyed()
        return {"key": base64.b64encode(self._key).decode("ascii"),
                "header_digest": base64.b64encode(self._digest).decode("ascii"),
                "records": self._index, "stored": self._stored}

    def _load_format_state(self, state: dict) -> None:
        self._use_key(base64.b64decode(state["key"]), base64.b64decode(state["header_digest"]))
        self._index = state["records"]
        self._stored = state["stored"]
