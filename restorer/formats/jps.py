"""This project's encrypted archive, JPS 3.0: AES-256-GCM per record, scrypt/Argon2id.

Byte layout and reasoning: ``docs/FORMAT-JPS.md``. In short:

- Header (first part): the JPS standard header with version 3.0, then a key header
  ``JK\\0\\3`` holding the KDF id and costs, salt, a random archive id, a password
  verifier and the SHA-256 of all header bytes before it. Akeeba's extractor expects
  ``JH\\0\\1`` there and refuses the archive ("not a JPS file").
- Records: ``JPF`` (entry, with its first data chunk inline: a small file or a link is
  one record), ``JPD`` (further data chunks), ``JPE`` (end). Each is signature,
  u32 sealed length, 12-byte random nonce, then AES-256-GCM ciphertext + tag whose
  associated data binds the header digest, the signature, the record's index and its
  offset in the archive: a record cannot be changed, moved, dropped or replayed from
  another archive without failing authentication.
- The end record carries the record count, entry count and totals, so a cut archive
  is an error, not a shorter archive.

The password is checked against the verifier before any record is read, so "wrong
password" is answered before anything is written.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from restorer.errors import ArchiveError, MissingPartError, WrongPasswordError
from restorer.formats import NEEDS_PASSWORD
from restorer.formats.base import (ENTRY_TYPES, SMALL_ENTRY, ArchiveReader, Entry, EntryData,
                                   EntryType, StoredData, inflate_whole, normalize_mode)
from restorer.formats.crypto import (KdfParams, derive_master_key, split_master_key,
                                     verifier_matches)
from restorer.formats.jps2 import LazyWhere
from restorer.formats.parts import PartReader, expect_part_count

SIGNATURE = b"JPS"
VERSION = (3, 0)
STANDARD_HEADER = struct.Struct("<3sBBBH")
"""As in every JPS: ``JPS``, major (3), minor (0), spanned flag, key header length."""
KEY_HEADER = struct.Struct("<4sHBIII32s16s32s32s")
"""``JK\\0\\3``, own length, KDF id, three KDF costs, salt, archive id, password
verifier, SHA-256 of every header byte before this field."""
KEY_HEADER_SIGNATURE = b"JK\x00\x03"
HEADER_SIZE = STANDARD_HEADER.size + KEY_HEADER.size
DIGEST_OFFSET = HEADER_SIZE - 32

RECORD_HEAD = struct.Struct("<3sI12s")
"""Signature, length of ciphertext + tag, nonce."""
RECORD_AAD = struct.Struct("<32s3sQQ")
"""Associated data of a record: header digest, signature, record index, offset."""
ENTITY = struct.Struct("<BQIqH")
"""Entity plaintext: type, size, mode, mtime, path length; the UTF-8 path follows, then
optionally the entry's first chunk (method byte and data, as in a data record)."""
END = struct.Struct("<QQQQHQ")
"""End plaintext: records before it, entries, bytes of entry data, bytes stored, parts,
length of the whole archive (all parts)."""

ENTITY_SIGNATURE = b"JPF"
DATA_SIGNATURE = b"JPD"
END_SIGNATURE = b"JPE"
TAG_SIZE = 16
NONCE_SIZE = 12
METHOD_STORED, METHOD_DEFLATE = 0, 1
"""First byte of a chunk (a data record's plaintext, or after an entry record's path)."""
MAX_RECORD = 64 * 1024 * 1024
END_RECORD_SIZE = RECORD_HEAD.size + END.size + TAG_SIZE
END_POSITION = 0xFFFFFFFFFFFFFFFF
"""Index and offset in the end record's associated data: it is found from the end of the
last part, before the records, so it must authenticate wherever it lies."""


@dataclass(frozen=True)
class Header:
    """The parsed key header; ``raw`` is the exact header bytes (first part start)."""

    kdf: KdfParams
    salt: bytes
    archive_id: bytes
    verifier: bytes
    digest: bytes
    spanned: bool
    raw: bytes


def build_header(kdf: KdfParams, salt: bytes, archive_id: bytes, verifier: bytes, *,
                 spanned: bool) -> Header:
    body = (STANDARD_HEADER.pack(SIGNATURE, *VERSION, int(spanned), KEY_HEADER.size)
            + KEY_HEADER.pack(KEY_HEADER_SIGNATURE, KEY_HEADER.size, kdf.kdf, kdf.a, kdf.b,
                              kdf.c, salt, archive_id, verifier, bytes(32))[:-32])
    digest = hashlib.sha256(body).digest()
    return Header(kdf, salt, archive_id, verifier, digest, spanned, body + digest)


def parse_header(raw: bytes, where: str) -> Header:
    if len(raw) < STANDARD_HEADER.size or raw[:3] != SIGNATURE:
        raise ArchiveError(f"{where} is not a JPS archive (it does not start with 'JPS')")
    _, major, minor, spanned, extra = STANDARD_HEADER.unpack_from(raw)
    if (major, minor) != VERSION:
        raise ArchiveError(f"{where} is a JPS {major}.{minor} archive, not JPS 3.0")
    if len(raw) < HEADER_SIZE:
        raise ArchiveError(f"{where} is too short to hold a JPS 3.0 header: it is truncated")
    (mark, length, kdf_id, a, b, c, salt, archive_id, verifier,
     digest) = KEY_HEADER.unpack_from(raw, STANDARD_HEADER.size)
    if (hashlib.sha256(raw[:DIGEST_OFFSET]).digest() != digest or extra != KEY_HEADER.size
            or mark != KEY_HEADER_SIGNATURE or length != KEY_HEADER.size):
        raise ArchiveError(f"{where}: the JPS 3.0 header is damaged (its checksum does not "
                           "match): copy the archive again")
    return Header(KdfParams(kdf_id, a, b, c), salt, archive_id, verifier, digest,
                  bool(spanned), raw[:HEADER_SIZE])


def derive_keys(header: Header, password: str) -> tuple[bytes, bytes]:
    """(AES-256-GCM key, verifier) for ``header``'s KDF, salt and ``password``."""
    return split_master_key(derive_master_key(password, header.kdf, header.salt))


def open_key(header: Header, password: str, where: str) -> bytes:
    """The record key, or ``WrongPasswordError`` when the verifier disagrees."""
    try:
        header.kdf.check()
    except ArchiveError as exc:
        raise ArchiveError(f"{where}: {exc}") from None
    key, verifier = derive_keys(header, password)
    if not verifier_matches(header.verifier, verifier):
        raise WrongPasswordError(
            f"wrong password for {where}: the password check in its header does not match")
    return key


def record_aad(digest: bytes, signature: bytes, index: int, offset: int) -> bytes:
    return RECORD_AAD.pack(digest, signature, index, offset)


def seal_record(aead, digest: bytes, signature: bytes, index: int, offset: int,
                nonce: bytes, plaintext: bytes) -> tuple[bytes, bytes]:
    """A whole record as (head, sealed body), ready to write at ``offset`` as record
    number ``index`` (two pieces: joining a megabyte body to its head would copy it)."""
    sealed = aead.encrypt(nonce, plaintext, record_aad(digest, signature, index, offset))
    return RECORD_HEAD.pack(signature, len(sealed), nonce), sealed


def entity_plaintext(entry_type: int, size: int, mode: int, mtime: int, path: str) -> bytes:
    raw = path.encode("utf-8")
    return ENTITY.pack(entry_type, size, mode, mtime, len(raw)) + raw


class JpsReader(ArchiveReader):
    """Reads JPS 3.0 archives, authenticating every record before using it."""

    format = "jps"
    has_checksums = True

    def __init__(self, parts: list[Path], password: str):
        super().__init__(parts)
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._invalid_tag = InvalidTag
        self._stream = PartReader(parts)
        try:
            self.header = parse_header(self._stream.read(HEADER_SIZE), self.name)
            self._aead = AESGCM(open_key(self.header, password, self.name))
            self.end = self._read_end()
        except BaseException:
            self._stream.close()
            raise
        self._index = 0

    def close(self) -> None:
        self._stream.close()

    def _record(self, expected: tuple[bytes, ...], what: str) -> tuple[bytes, bytes]:
        """(signature, plaintext) of the next record, authenticated."""
        stream = self._stream
        start = stream.tell()
        if start == stream.size:
            raise stream.truncated(f"{what}; the end record is missing", start)
        head = stream.read_exact(RECORD_HEAD.size, what)
        signature, length, nonce = RECORD_HEAD.unpack(head)
        if signature not in expected:
            raise ArchiveError(
                f"{stream.where(start)}: found {signature!r} where {what} must be: "
                "the archive is damaged")
        if not TAG_SIZE <= length <= MAX_RECORD:
            raise ArchiveError(f"{stream.where(start)}: {what} has an implausible length "
                               f"({length}): the archive is damaged")
        sealed = stream.read_exact(length, what)
        plain = self._unseal(signature, self._index, start, nonce, sealed, what)
        self._index += 1
        return signature, plain

    def _unseal(self, signature: bytes, index: int, start: int, nonce: bytes, sealed: bytes,
                what: str) -> bytes:
        try:
            return self._aead.decrypt(
                nonce, sealed, record_aad(self.header.digest, signature, index, start))
        except self._invalid_tag:
            raise ArchiveError(
                f"{self._stream.where(start)}: {what} (record {index}) fails authentication: "
                "the archive is damaged or was altered") from None

    def entries(self) -> Iterator[tuple[Entry, Iterator[bytes]]]:
        self._stream.seek(HEADER_SIZE)
        self._index = 0
        self._stored = 0
        count = total = 0
        while True:
            start = self._stream.tell()
            if start == self._stream.size - END_RECORD_SIZE:
                self._check_end(start, count, total)
                return
            signature, plain = self._record((ENTITY_SIGNATURE,), "an entry record (JPF)")
            entry, inline = self._parse_entity(plain, start)
            self._stored += max(len(inline) - 1, 0)
            count += 1
            total += entry.size
            if entry.is_dir:
                data = EntryData(iter(()))
            elif entry.is_symlink:
                target = b""
                if inline:   # a link's whole target
                    target = decode_whole(inline, entry.size, LazyWhere(self._stream, start), entry.path)
                elif entry.size:
                    target = self._chunk(entry.path, entry.size)
                entry = Entry(entry.path, entry.type, entry.size, entry.mode, entry.mtime,
                              target.decode("utf-8", errors="surrogateescape"))
                data = EntryData(iter((target,)))
            else:
                take = (partial(self._take, entry, inline, start)
                        if inline and entry.size <= SMALL_ENTRY else None)
                data = EntryData(self._file_data(entry, inline, start), take)
            yield entry, data
            if not data.finished:  # the consumer skipped (part of) the data
                data.close()
                self._skip_data()

    def _parse_entity(self, plain: bytes, start: int) -> tuple[Entry, bytes]:
        """The entry of an entry record and its inline data (method byte and the first
        chunk, empty when its data, if any, is in data records)."""
        where = LazyWhere(self._stream, start)
        if len(plain) < ENTITY.size:
            raise ArchiveError(f"{where}: entry record too short: the archive is damaged")
        entry_type, size, mode, mtime, path_length = ENTITY.unpack_from(plain)
        path_end = ENTITY.size + path_length
        if entry_type not in (0, 1, 2) or path_end > len(plain):
            raise ArchiveError(f"{where}: malformed entry record: the archive is damaged")
        try:
            path = plain[ENTITY.size:path_end].decode("utf-8")
        except UnicodeDecodeError:
            raise ArchiveError(f"{where}: entry path is not UTF-8: the archive is damaged") from None
        kind = ENTRY_TYPES[entry_type]
        if kind is EntryType.DIR and size:
            raise ArchiveError(f"{where}: directory {path} has a size: the archive is damaged")
        inline = plain[path_end:]
        if inline and not size:
            raise ArchiveError(f"{where}: {path} holds data but its size is 0: the archive "
                               "is damaged")
        return Entry(path, kind, size, normalize_mode(kind, mode), mtime), inline

    def _chunk(self, path: str, remaining: int) -> bytes:
        """The entry bytes of the next data record."""
        start = self._stream.tell()
        _, plain = self._record((DATA_SIGNATURE,), f"a data record of {path}")
        self._stored += max(len(plain) - 1, 0)
        return decode_data(plain, remaining, LazyWhere(self._stream, start), path)

    def _take(self, entry: Entry, inline: bytes, start: int) -> StoredData | None:
        """A small file's data as stored (method byte, deflated or not) when its entry
        record holds all of it, for a writer process to inflate; else None and the file
        is read chunk by chunk."""
        if self._stream.peek(len(DATA_SIGNATURE)) == DATA_SIGNATURE:
            return None
        return StoredData(inline, (entry.size, 0, 0), partial(
            decode_whole, inline, entry.size, LazyWhere(self._stream, start), entry.path))

    def _file_data(self, entry: Entry, inline: bytes, start: int) -> Iterator[bytes]:
        done = 0
        if inline:
            data = decode_data(inline, entry.size, LazyWhere(self._stream, start), entry.path)
            done = len(data)
            yield data
        while done < entry.size:
            data = self._chunk(entry.path, entry.size - done)
            done += len(data)
            yield data

    def _skip_data(self) -> None:
        """Moves past the data records nobody read without decrypting them (listing);
        their lengths still count toward the end record's check."""
        stream = self._stream
        while True:
            start = stream.tell()
            head = stream.read(RECORD_HEAD.size)
            if len(head) < RECORD_HEAD.size or head[:3] != DATA_SIGNATURE:
                stream.seek(start)
                return
            _, length, _ = RECORD_HEAD.unpack(head)
            stream.seek(start + RECORD_HEAD.size + length)
            self._index += 1
            self._stored += max(length - TAG_SIZE - 1, 0)

    def _read_end(self) -> tuple[int, int, int, int]:
        """Authenticates the end record at the end of the last part, before any entry is
        read, so a truncated archive or a missing part is named before extraction."""
        stream = self._stream
        start = stream.size - END_RECORD_SIZE
        if start < HEADER_SIZE:
            raise stream.truncated("the end record, which is missing", stream.size)
        stream.seek(start)
        signature, length, nonce = RECORD_HEAD.unpack(stream.read_exact(RECORD_HEAD.size, "the end record"))
        sealed = stream.read_exact(length if length == END.size + TAG_SIZE else 0, "the end record")
        try:
            if signature != END_SIGNATURE or not sealed:
                raise self._invalid_tag
            plain = self._aead.decrypt(nonce, sealed, record_aad(
                self.header.digest, END_SIGNATURE, END_POSITION, END_POSITION))
        except self._invalid_tag:
            raise stream.truncated("the end record, which is missing or damaged", start) from None
        records, entries, total, stored, parts, length = END.unpack(plain)
        expect_part_count(self.parts, parts)
        if length != stream.size:
            raise MissingPartError(
                f"{self.name}: the parts hold {stream.size} bytes but {length} were written: "
                "a part is short, damaged or was replaced; copy every part again")
        return records, entries, total, stored

    def _check_end(self, start: int, count: int, total: int) -> None:
        """The records end where the end record starts: their counts must be its own."""
        if self.end != (self._index, count, total, self._stored):
            raise ArchiveError(f"{self._stream.where(start)}: the end record does not match "
                               "the records read: the archive is damaged")


def decode_data(plain: bytes, remaining: int, where, path: str) -> bytes:
    """A data record's entry bytes (its plaintext: method byte, stored or deflated)."""
    if not plain:
        raise ArchiveError(f"{where}: empty data record of {path}: the archive is damaged")
    method, payload = plain[0], plain[1:]
    if method == METHOD_STORED:
        data = payload
    elif method == METHOD_DEFLATE:
        try:
            data, whole = inflate_whole(payload, remaining + 1)
        except zlib.error as exc:
            raise ArchiveError(f"{where}: data of {path} does not inflate ({exc})") from None
        if not whole:
            raise ArchiveError(f"{where}: data of {path} is not one deflate stream")
    else:
        raise ArchiveError(f"{where}: data of {path} uses unknown method {method}")
    if not data or len(data) > remaining:
        raise _size_mismatch(where, path)
    return data


def decode_whole(plain: bytes, size: int, where, path: str) -> bytes:
    """A file held in one data record: ``decode_data`` that must give all ``size`` bytes."""
    data = decode_data(plain, size, where, path)
    if len(data) != size:
        raise _size_mismatch(where, path)
    return data


def _size_mismatch(where, path: str) -> ArchiveError:
    return ArchiveError(f"{where}: {path} holds more or less data than its entry "
                        "record says: the archive is damaged")


def decoder(keys: dict[str, str]):
    """For a writer process: a small file's inline data (``JpsReader._take``, already
    authenticated and decrypted here) to bytes; no key leaves this process."""
    return lambda raw, size, _a, _b: decode_whole(raw, size, "", "")


def detect(head: bytes) -> bool:
    return head[:3] == SIGNATURE and len(head) > 3 and head[3] == VERSION[0]


def open_reader(parts: list[Path], password: str | None) -> JpsReader:
    if password is None:
        raise WrongPasswordError(NEEDS_PASSWORD)
    return JpsReader(parts, password)
