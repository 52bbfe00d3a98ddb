"""Akeeba's encrypted archive, JPS 2.0 (and reading JPS 1.x): layouts, blocks, reader.

Facts in ``FORMATS.md`` §2, checked against Akeeba's extractor. In short: an 84-byte
standard header carrying a PBKDF2 key header, then per entity a ``JPF`` record whose
encrypted body holds path, type, size, mode and mtime, followed by data blocks (each an
independent raw deflate stream of up to 1 MiB, AES-128-CBC encrypted with a fresh IV),
and a ``JPE`` end record. There are no checksums and no password check, so the reader
judges the first decrypted entity header and answers "wrong password" itself.

Variants read as Akeeba's code reads them: the key header's "static salt" flag 0 means
every block carries its own 64-byte salt (``JPST`` + salt before the ``JPIV`` trailer);
JPS 1.x has no key header, derives key and IV from the password alone and its blocks
end with just the u32 length.
"""

from __future__ import annotations

import bz2
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import NamedTuple

from restorer.errors import ArchiveError, WrongPasswordError
from restorer.formats import NEEDS_PASSWORD
from restorer.formats.base import (ENTRY_TYPES, SMALL_ENTRY, ArchiveReader, Entry, EntryData,
                                   StoredData, inflate_whole, normalize_mode)
from restorer.formats.crypto import (AES_BLOCK, PBKDF2_HASHES, AesCbc, akeeba_zero_pad,
                                     legacy_jps_key, pbkdf2_key)
from restorer.formats.parts import PartReader, expect_part_count

SIGNATURE = b"JPS"
STANDARD_HEADER = struct.Struct("<3sBBBH")
"""``JPS``, version major, minor, spanned flag, length of the key header that follows."""
KEY_HEADER = struct.Struct("<4sHBIB64s")
"""``JH\\0\\1``, its own length (76), PBKDF2 hash id, iterations, static salt flag, salt."""
KEY_HEADER_SIGNATURE = b"JH\x00\x01"
ENTITY_HEAD = struct.Struct("<3sHH")
"""``JPF``, length of the encrypted block that follows, length of its plaintext."""
ENTITY_PATH_LENGTH = struct.Struct("<H")
ENTITY_FIELDS = struct.Struct("<BBIII")
"""After the path: type, compression, uncompressed size, permissions, mtime."""
DATA_HEAD = struct.Struct("<II")
"""Length of the encrypted block that follows, length of its plaintext."""
END_RECORD = struct.Struct("<3sHIII")
"""``JPE``, number of parts, entity count, total uncompressed, total deflated."""
IV_TRAILER = struct.Struct("<4s16sI")
"""``JPIV``, the block's IV, the plaintext length: the last 24 bytes of a block."""
SALT_TRAILER = struct.Struct("<4s64s")
"""``JPST`` and a per-block PBKDF2 salt, just before the IV trailer (static salt 0)."""
LENGTH_TRAILER = struct.Struct("<I")

ENTITY_SIGNATURE = b"JPF"
END_SIGNATURE = b"JPE"
IV_MARK = b"JPIV"
SALT_MARK = b"JPST"

HEADER_SIZE = STANDARD_HEADER.size + KEY_HEADER.size  # 84
PBKDF2_ITERATIONS = 128000
CHUNK_SIZE = 1024 * 1024
MAX_ITERATIONS = 10_000_000  # a damaged header must not make us spin for hours

TYPE_DIR, TYPE_FILE, TYPE_LINK = 0, 1, 2
COMPRESSION_NONE, COMPRESSION_DEFLATE, COMPRESSION_BZIP2 = 0, 1, 2


def standard_header(salt: bytes, *, spanned: bool, iterations: int = PBKDF2_ITERATIONS) -> bytes:
    """The 84 bytes every JPS 2.0 archive (first part) starts with."""
    return (STANDARD_HEADER.pack(SIGNATURE, 2, 0, int(spanned), KEY_HEADER.size)
            + KEY_HEADER.pack(KEY_HEADER_SIGNATURE, KEY_HEADER.size, 0, iterations, 1, salt))


def encrypt_block(cipher: AesCbc, iv: bytes, plaintext: bytes) -> bytes:
    """An "AESblock": CBC ciphertext of the zero-padded plaintext, ``JPIV``, IV, length."""
    return (cipher.encrypt(iv, akeeba_zero_pad(plaintext))
            + IV_TRAILER.pack(IV_MARK, iv, len(plaintext)))


def entity_plaintext(path: bytes, entry_type: int, size: int, mode: int, mtime: int) -> bytes:
    compression = COMPRESSION_DEFLATE if entry_type == TYPE_FILE else COMPRESSION_NONE
    return (ENTITY_PATH_LENGTH.pack(len(path)) + path
            + ENTITY_FIELDS.pack(entry_type, compression, size, mode, mtime))


@dataclass(frozen=True)
class KeySetup:
    """How a JPS archive turns the password into block keys (read from its header)."""

    version: tuple[int, int]
    hash_id: int = 0
    iterations: int = PBKDF2_ITERATIONS
    static_salt: bytes | None = None
    """None: no static salt (JPS 1.x, or 2.0 with per-block salts)."""


def parse_header(first: bytes, where: str) -> tuple[KeySetup, int]:
    """(key setup, header length) from the first bytes of the first part.

    ``first`` holds at least ``STANDARD_HEADER.size`` bytes, and the whole header when
    there is one (callers pass ``HEADER_SIZE`` bytes or all there is).
    """
    if len(first) < STANDARD_HEADER.size:
        raise ArchiveError(f"{where} is too short to be a JPS archive")
    signature, major, minor, _spanned, extra = STANDARD_HEADER.unpack_from(first)
    if signature != SIGNATURE:
        raise ArchiveError(f"{where} is not a JPS archive (it does not start with 'JPS')")
    if major == 1:
        return KeySetup((major, minor)), STANDARD_HEADER.size + extra
    if major != 2:
        raise ArchiveError(
            f"{where} is a JPS {major}.{minor} archive; this reader handles JPS 1.x and 2.0")
    if extra == 0:
        # Akeeba's readers fall back to the 1.x key scheme when a 2.x header has no key header.
        return KeySetup((major, minor)), STANDARD_HEADER.size
    if extra != KEY_HEADER.size or len(first) < HEADER_SIZE:
        raise ArchiveError(f"{where}: the JPS key header is damaged (length {extra})")
    mark, length, hash_id, iterations, use_static, salt = KEY_HEADER.unpack_from(
        first, STANDARD_HEADER.size)
    if mark != KEY_HEADER_SIGNATURE or length != KEY_HEADER.size:
        raise ArchiveError(f"{where}: the JPS key header is damaged")
    if hash_id not in PBKDF2_HASHES or not 1 <= iterations <= MAX_ITERATIONS:
        raise ArchiveError(
            f"{where}: the JPS key header names an unknown hash ({hash_id}) or "
            f"implausible iterations ({iterations})")
    return KeySetup((major, minor), hash_id, iterations, salt if use_static else None), HEADER_SIZE


class BlockDecrypter:
    """Decrypts AESblocks of one archive, deriving keys lazily (PBKDF2 is slow)."""

    def __init__(self, setup: KeySetup, password: str):
        self.setup = setup
        self._password = password.encode("utf-8")
        self._static: AesCbc | None = None
        self._legacy: AesCbc | None = None
        self._salted: dict[bytes, AesCbc] = {}

    @classmethod
    def with_static_key(cls, key: bytes) -> "BlockDecrypter":
        """A decrypter for blocks under an archive's static key (a writer process gets
        the key, never the password; ``Jps2Reader.take`` hands it only such blocks)."""
        decrypter = cls(KeySetup((2, 0), static_salt=b""), "")
        decrypter._static = AesCbc(key)
        return decrypter

    @property
    def static_key(self) -> bytes | None:
        """The key of blocks without their own salt, when the archive has a static salt."""
        if self.setup.static_salt is None:
            return None
        return self._cipher_for(None).key

    def _cipher_for(self, salt: bytes | None) -> AesCbc:
        if salt is not None:
            if salt not in self._salted:
                if len(self._salted) > 64:  # per-block salts are unique; keep memory flat
                    self._salted.clear()
                self._salted[salt] = AesCbc(pbkdf2_key(
                    self._password, salt, self.setup.iterations, self.setup.hash_id))
            return self._salted[salt]
        if self.setup.static_salt is not None:
            if self._static is None:
                self._static = AesCbc(pbkdf2_key(self._password, self.setup.static_salt,
                                                 self.setup.iterations, self.setup.hash_id))
            return self._static
        return self._legacy_cipher()

    def _legacy_cipher(self) -> AesCbc:
        if self._legacy is None:
            self._legacy = AesCbc(legacy_jps_key(self._password))
        return self._legacy

    def decrypt(self, block: bytes, length: int, what: str) -> tuple[bytes, bool]:
        """(first ``length`` plaintext bytes, whether the block looks right: lengths agree
        and the padding is zeros, which a wrong key turns into noise).

        Parses the trailers the way Akeeba's reader does: the last 4 bytes are the
        length; ``JPST`` 92 bytes from the end means a per-block salt; ``JPIV`` 24 bytes
        from the end means a stored IV (otherwise the IV is the legacy key).
        """
        size = len(block)
        if size < LENGTH_TRAILER.size:
            raise ArchiveError(f"{what}: encrypted block of {size} bytes is too short")
        stored_length = int.from_bytes(block[-4:], "little")
        end = size - 4
        if size >= 92 and block[-92:-88] == SALT_MARK:
            cipher = self._cipher_for(block[-88:-24])
            end -= SALT_TRAILER.size
        else:  # the usual case: every block of JPS 2.0 under the static key
            cipher = self._static or self._cipher_for(None)
        if size >= 24 and block[-24:-20] == IV_MARK:
            iv = block[-20:-4]
            end -= 20
        else:  # JPS 1.x: the IV is the legacy key, whatever the key is
            iv = self._legacy_cipher().key
        if end <= 0 or end % AES_BLOCK:
            raise ArchiveError(
                f"{what}: encrypted block body of {max(end, 0)} bytes is not whole AES blocks")
        plain = cipher.decrypt(iv, block[:end])
        plausible = (length <= stored_length <= end
                     and not plain[stored_length:].strip(b"\0"))
        return plain[:length], plausible


class EntityHeader(NamedTuple):
    path: str
    type: int
    compression: int
    size: int
    mode: int
    mtime: int


def parse_entity(plain: bytes, plausible: bool, where: str, *, first: bool) -> EntityHeader:
    """The entity fields, or an error: "wrong password" for the first entity (JPS 2.0
    cannot say so any other way), "damaged" for later ones."""
    fields_at = 2 + (plain[0] | plain[1] << 8 if len(plain) >= 2 else 0)
    if fields_at > 2 and fields_at + ENTITY_FIELDS.size <= len(plain):
        entry_type, compression, size, mode, mtime = ENTITY_FIELDS.unpack_from(plain, fields_at)
        raw_path = plain[2:fields_at]
        if (plausible and entry_type in _ENTITY_TYPES and compression in _COMPRESSIONS
                and b"\0" not in raw_path):
            try:
                path = raw_path.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                if (entry_type == TYPE_FILE or (entry_type == TYPE_DIR and not size)
                        or (entry_type == TYPE_LINK and size <= 65535)):
                    return EntityHeader(path, entry_type, compression, size, mode, mtime)
    reason = _entity_fault(plain, plausible)
    if first:
        raise WrongPasswordError(f"wrong password for {where}: {reason}")
    raise ArchiveError(f"{where}: damaged entity header ({reason})")


_ENTITY_TYPES = (TYPE_DIR, TYPE_FILE, TYPE_LINK)
_COMPRESSIONS = (COMPRESSION_NONE, COMPRESSION_DEFLATE, COMPRESSION_BZIP2)


def _entity_fault(plain: bytes, plausible: bool) -> str:
    """What is wrong with an entity plaintext ``parse_entity`` refused."""
    if len(plain) < ENTITY_PATH_LENGTH.size + ENTITY_FIELDS.size:
        return f"decrypted entity header of {len(plain)} bytes is too short"
    (path_length,) = ENTITY_PATH_LENGTH.unpack_from(plain)
    if path_length == 0 or ENTITY_PATH_LENGTH.size + path_length + ENTITY_FIELDS.size > len(plain):
        return f"path length {path_length} does not fit the {len(plain)}-byte entity header"
    raw_path = plain[2:2 + path_length]
    entry_type, compression, size, _mode, _mtime = ENTITY_FIELDS.unpack_from(plain, 2 + path_length)
    if entry_type not in _ENTITY_TYPES:
        return f"entity type {entry_type} is not 0, 1 or 2"
    if compression not in _COMPRESSIONS:
        return f"compression method {compression} is not 0, 1 or 2"
    if b"\0" in raw_path:
        return "the path contains a NUL byte"
    try:
        raw_path.decode("utf-8")
    except UnicodeDecodeError:
        return "the path is not UTF-8"
    if not plausible:
        return "the block's lengths or padding do not match"
    return f"size {size} is implausible for a {'directory' if entry_type == TYPE_DIR else 'link'}"


def decode_chunk(compression: int, plain: bytes, where, what: str,
                 limit: int | None = None) -> bytes:
    """One data block's plaintext turned back into file bytes (at most ``limit + 1`` of
    them, so that a damaged block cannot balloon in memory). ``where`` (a ``LazyWhere``)
    and ``what`` are only formatted into an error."""
    try:
        if compression == COMPRESSION_DEFLATE:
            out, whole = inflate_whole(plain, 0 if limit is None else limit + 1)
            if not whole and (limit is None or len(out) <= limit):
                raise ArchiveError(f"{where} ({what}): data block is not one complete "
                                   "deflate stream")
            return out  # more than ``limit``: the caller reports it
        if compression == COMPRESSION_BZIP2:
            return bz2.decompress(plain)
    except (zlib.error, OSError, ValueError) as exc:
        raise ArchiveError(f"{where} ({what}): data block does not decompress ({exc})") from None
    return plain


def decode_block(decrypter: BlockDecrypter, block: bytes, plain_length: int, compression: int,
                 where, what: str, limit: int | None) -> bytes:
    """One data block's file bytes (see ``decode_chunk``), or an error if it does not
    decrypt cleanly or holds more than ``limit`` bytes or none."""
    plain, plausible = decrypter.decrypt(block, plain_length, where)
    if not plausible:
        raise ArchiveError(f"{where}: data block of {what} does not decrypt cleanly: "
                           "the archive is damaged")
    data = decode_chunk(compression, plain, where, what, limit)
    if limit is not None and (not data or len(data) > limit):
        raise _size_mismatch(where, what)
    return data


def decode_whole_block(decrypter: BlockDecrypter, block: bytes, plain_length: int,
                       compression: int, size: int, where, what: str) -> bytes:
    """A file held in one data block: ``decode_block`` that must give all ``size`` bytes."""
    data = decode_block(decrypter, block, plain_length, compression, where, what, size)
    if len(data) != size:
        raise _size_mismatch(where, what)
    return data


def _size_mismatch(where, what: str) -> ArchiveError:
    return ArchiveError(f"{where}: {what} holds more or less data than its header "
                        "says: the archive is damaged")


def decoder(keys: dict[str, str]):
    """For a writer process: a file's one data block (``Jps2Reader.take``) to bytes."""
    decrypter = BlockDecrypter.with_static_key(bytes.fromhex(keys["key"]))
    return lambda block, compression, plain_length, size: decode_whole_block(
        decrypter, block, plain_length, compression, size, "", "")


class LazyWhere:
    """``stream.where(offset)`` ("site.j02 at offset 1234"), worked out only when an
    error message formats it: computing it for every record costs measurable time."""

    def __init__(self, stream: PartReader, offset: int):
        self._stream, self._offset = stream, offset

    def __str__(self) -> str:
        return self._stream.where(self._offset)


_NEXT_RECORD = (ENTITY_SIGNATURE, END_SIGNATURE)

MAX_BLOCK = 64 * 1024 * 1024
"""Largest encrypted block accepted: writers use 1 MiB chunks; a damaged length field
must not make the reader allocate gigabytes."""


def _check_data_head(stream: PartReader, where, what: str, block_length: int,
                     plain_length: int) -> None:
    """A data block's lengths must be possible before its body is read or skipped."""
    if block_length > MAX_BLOCK or plain_length > block_length:
        raise ArchiveError(f"{where}: {what} has implausible lengths ({block_length}, "
                           f"{plain_length}): the archive is damaged{stream.short_part_hint()}")


class Jps2Reader(ArchiveReader):
    """Reads JPS 2.0 (``format = "jps2"``) and JPS 1.x (``format = "jps1"``) archives."""

    has_checksums = False

    def __init__(self, parts: list[Path], password: str):
        super().__init__(parts)
        self._stream = PartReader(parts)
        try:
            self.setup, header_size = parse_header(self._stream.read(HEADER_SIZE), self.name)
            self._check_tail(header_size)
        except BaseException:
            self._stream.close()
            raise
        self.format = "jps1" if self.setup.version[0] == 1 else "jps2"
        self._decrypter = BlockDecrypter(self.setup, password)
        self._first_record = header_size
        try:
            self._check_password()
        except BaseException:
            self._stream.close()
            raise
        self._static_key = self._decrypter.static_key

    def handover_keys(self) -> dict[str, str] | None:
        if self._static_key is None:
            return None  # JPS 1.x or per-block salts: blocks are decrypted here
        return {"key": self._static_key.hex()}

    def _check_password(self) -> None:
        """Decrypts the first entity header now, so that a wrong password is reported
        when the archive is opened, before anything is extracted."""
        stream = self._stream
        stream.seek(self._first_record)
        head = stream.read(ENTITY_HEAD.size)
        if head[:3] == ENTITY_SIGNATURE and len(head) == ENTITY_HEAD.size:
            self._read_entity(head, self._first_record, first=True)

    def close(self) -> None:
        self._stream.close()

    def _check_tail(self, header_size: int) -> None:
        """The end record must close the last part: checked before any entry is read, so
        a truncated archive or a missing part is named before extraction starts."""
        stream = self._stream
        start = stream.size - END_RECORD.size
        if start < header_size:
            raise stream.truncated("the end record (JPE), which is missing", stream.size)
        stream.seek(start)
        record = stream.read_exact(END_RECORD.size, "the end record")
        if record[:3] != END_SIGNATURE:
            raise stream.truncated("the end record (JPE), which is missing", start)
        expect_part_count(self.parts, END_RECORD.unpack(record)[1])

    def entries(self) -> Iterator[tuple[Entry, Iterator[bytes]]]:
        stream = self._stream
        stream.seek(self._first_record)
        count = 0
        while True:
            start = stream.tell()
            head = stream.read(ENTITY_HEAD.size)
            if head[:3] != ENTITY_SIGNATURE or len(head) != ENTITY_HEAD.size:
                if head[:3] == END_SIGNATURE:
                    stream.seek(start + 3)
                    self._check_end(start, count)
                    return
                if len(head) < 3:
                    raise stream.truncated("the end record (JPE), which is missing"
                                           if start == stream.size else "a record signature", start)
                if head[:3] == ENTITY_SIGNATURE:
                    raise stream.truncated("an entity record", start + 3)
                raise ArchiveError(
                    f"{stream.where(start)}: found {head[:3]!r} where an entity record (JPF) "
                    "or the end record (JPE) must be: the archive is damaged")
            header, where = self._read_entity(head, start, first=count == 0)
            count += 1
            entry, data = self._entry(header, where)
            yield entry, data
            if not data.finished:  # the consumer skipped (part of) the data
                data.close()
                self._skip_data()

    def _read_entity(self, head: bytes, start: int, *, first: bool) -> tuple[EntityHeader, str]:
        """The entity whose ``ENTITY_HEAD`` (``head``, read at ``start``) was just read."""
        _, block_length, plain_length = ENTITY_HEAD.unpack(head)
        block = self._stream.read_exact(block_length, "an entity record")
        where = LazyWhere(self._stream, start)
        plain, plausible = self._decrypter.decrypt(block, plain_length, where)
        return parse_entity(plain, plausible, self.name if first else where, first=first), where

    def _entry(self, header: EntityHeader, where: str) -> tuple[Entry, Iterator[bytes]]:
        path, entry_type, _, size, mode, mtime = header
        kind = ENTRY_TYPES[entry_type]
        if entry_type == TYPE_FILE:
            entry = Entry(path, kind, size, normalize_mode(kind, mode), mtime)
            take = None
            if 0 < size <= SMALL_ENTRY and self._static_key is not None:
                take = partial(self._take, header)
            return entry, EntryData(self._file_data(header, path), take)
        mode = normalize_mode(kind, mode)
        path = path.rstrip("/")  # Akeeba names folders, and links to folders, "name/"
        if entry_type == TYPE_DIR:
            return Entry(path, kind, 0, mode, mtime), EntryData(iter(()))
        target = self._read_chunk(COMPRESSION_NONE, f"the link {path}") if size else b""
        if len(target) != size:
            raise ArchiveError(f"{where}: the link {path} has a target of {len(target)} "
                               f"bytes, its header says {size}: the archive is damaged")
        try:
            text = target.decode("utf-8")
        except UnicodeDecodeError:
            raise ArchiveError(f"{where}: the target of link {path} is not UTF-8") from None
        return Entry(path, kind, size, mode, mtime, text), EntryData(iter((target,)))

    def _file_data(self, header: EntityHeader, path: str) -> Iterator[bytes]:
        done = 0
        while done < header.size:
            data = self._read_chunk(header.compression, f"the file {path}", header.size - done)
            done += len(data)
            yield data

    def _read_chunk(self, compression: int, what: str, limit: int | None = None) -> bytes:
        stream = self._stream
        start = stream.tell()
        block_length, plain_length = DATA_HEAD.unpack(
            stream.read_exact(DATA_HEAD.size, f"a data block of {what}"))
        where = LazyWhere(stream, start)
        _check_data_head(stream, where, f"data block of {what}", block_length, plain_length)
        block = stream.read_exact(block_length, f"a data block of {what}")
        return decode_block(self._decrypter, block, plain_length, compression, where, what, limit)

    def _take(self, header: EntityHeader) -> StoredData | None:
        """A small file's one data block, when it is the file's only block and under the
        static key; else None and the file is read block by block."""
        stream = self._stream
        start = stream.tell()
        head = stream.read(DATA_HEAD.size)
        if len(head) == DATA_HEAD.size:
            block_length, plain_length = DATA_HEAD.unpack(head)
            if plain_length <= block_length <= MAX_BLOCK and block_length >= 24:
                # the block and the signature of the record after it, read at once
                body = stream.read(block_length + 3)
                if (body[-3:] in _NEXT_RECORD and len(body) == block_length + 3
                        and body[-27:-23] == IV_MARK
                        and not (block_length >= 92 and body[-95:-91] == SALT_MARK)):
                    stream.seek(start + DATA_HEAD.size + block_length)
                    block = body[:-3]
                    return StoredData(block, (header.compression, plain_length, header.size),
                                      partial(self._decode_taken, block, plain_length, header, start))
        stream.seek(start)
        return None

    def _decode_taken(self, block: bytes, plain_length: int, header: EntityHeader,
                      start: int) -> bytes:
        return decode_whole_block(self._decrypter, block, plain_length, header.compression,
                                  header.size, LazyWhere(self._stream, start),
                                  f"the file {header.path}")

    def _skip_data(self) -> None:
        """Moves past data blocks nobody read, as Akeeba's reader skips: until the next
        ``JPF`` or ``JPE`` signature."""
        stream = self._stream
        while stream.tell() < stream.size:
            start = stream.tell()
            if stream.read(3) in (ENTITY_SIGNATURE, END_SIGNATURE):
                stream.seek(start)
                return
            stream.seek(start)
            block_length, plain_length = DATA_HEAD.unpack(
                stream.read_exact(DATA_HEAD.size, "a data block"))
            _check_data_head(stream, stream.where(start), "data block", block_length, plain_length)
            if stream.tell() + block_length > stream.size:
                raise stream.truncated("a data block", start)
            stream.seek(stream.tell() + block_length)

    def _check_end(self, start: int, count: int) -> None:
        stream = self._stream
        record = END_SIGNATURE + stream.read_exact(END_RECORD.size - 3, "the end record")
        _, parts, entities, _total, _deflated = END_RECORD.unpack(record)
        expect_part_count(self.parts, parts)
        if entities != count & 0xFFFFFFFF:
            raise ArchiveError(f"{stream.where(start)}: the end record counts {entities} "
                               f"entries but {count} were read: the archive is damaged")
        if stream.tell() != stream.size:
            raise ArchiveError(f"{stream.where()}: {stream.size - stream.tell()} unexpected "
                               "bytes follow the end record: the archive is damaged")


def detect(head: bytes) -> bool:
    """Every JPS except our own 3.0 (``jps.py``); unknown versions get a clear refusal."""
    return head[:3] == SIGNATURE and len(head) > 3 and head[3] != 3


def open_reader(parts: list[Path], password: str | None) -> Jps2Reader:
    if password is None:
        raise WrongPasswordError(NEEDS_PASSWORD)
    return Jps2Reader(parts, password)
