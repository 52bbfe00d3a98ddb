"""Test-only encoders that lay archives out the way Akeeba Backup's writers do.

sitepack never writes these layouts; they come from the format facts (FORMATS.md §1,
§2, §4) and from running Akeeba's own archiver engine under PHP (docs/AKEEBA-COMPAT.md),
quirks included:

- JPS 1.x and the per-block-salt variant of JPS 2.0 (``jps_archive``): JPS 1.x derives
  key and IV by AES-encrypting the NUL-padded password with itself and ends blocks with
  the length only; per-block-salt 2.0 has the static salt flag 0 and puts ``JPST`` +
  64-byte salt before each block's ``JPIV`` trailer.
- JPA (``jpa_archive``): entries exactly as given, so a test can store a symlink with
  the mode of its target and a link to a folder named ``name/``, as Akeeba does.
- Split ZIP (``split_zip``): a header that does not fit opens the next part but is
  recorded at (previous part, offset 4), later entries of that part 4 bytes after their
  place, and a central directory too big for its part moves to a new last part while
  the end record keeps the old part's size as its offset.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

from restorer.formats import jpa, zip as zipfmt
from restorer.formats.crypto import aes_cbc_encrypt, akeeba_zero_pad, legacy_jps_key, pbkdf2_key

ITERATIONS = 2500  # stored in the key header; what Akeeba uses with per-block salts


def _block(plaintext: bytes, password: bytes, variant: str) -> bytes:
    padded = akeeba_zero_pad(plaintext)
    length = struct.pack("<I", len(plaintext))
    if variant == "1.x":
        key = legacy_jps_key(password)
        return aes_cbc_encrypt(key, key, padded) + length
    salt, iv = os.urandom(64), os.urandom(16)
    key = pbkdf2_key(password, salt, ITERATIONS)
    return aes_cbc_encrypt(key, iv, padded) + b"JPST" + salt + b"JPIV" + iv + length


def jps_archive(entries, password: str, variant: str) -> bytes:
    """``entries``: (path, type, data bytes, mode, mtime); ``variant`` "1.x" or
    "2.0-per-block-salt". Paths are stored as given (folders end with '/')."""
    pw = password.encode()
    if variant == "1.x":
        out = [b"JPS\x01\x09\x00\x00\x00"]
    else:
        out = [b"JPS\x02\x00\x00" + struct.pack("<H", 76) + b"JH\x00\x01"
               + struct.pack("<HBIB", 76, 0, ITERATIONS, 0) + bytes(64)]
    total = deflated = 0
    for path, kind, data, mode, mtime in entries:
        raw = path.encode()
        plain = (struct.pack("<H", len(raw)) + raw
                 + struct.pack("<BBIII", kind, 1 if kind == 1 else 0, len(data), mode, mtime))
        block = _block(plain, pw, variant)
        out.append(b"JPF" + struct.pack("<HH", len(block), len(plain)) + block)
        if kind == 1:  # small chunks, so that files span several blocks
            pieces = [_deflate(data[i:i + 5000]) for i in range(0, len(data), 5000)]
        else:
            pieces = [data] if data else []
        for piece in pieces:
            block = _block(piece, pw, variant)
            out.append(struct.pack("<II", len(block), len(piece)) + block)
            deflated += len(piece)
        total += len(data)
    out.append(b"JPE" + struct.pack("<HIII", 1, len(entries), total, deflated))
    return b"".join(out)


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def jpa_archive(entries) -> bytes:
    """``entries``: (stored name, type, data, mode, mtime or None); data stored as is,
    with the timestamp extra when an mtime is given."""
    body = []
    for name, kind, data, mode, mtime in entries:
        raw = name.encode()
        extras = (jpa.TIMESTAMP_EXTRA.pack(jpa.TIMESTAMP_EXTRA_ID, jpa.TIMESTAMP_EXTRA.size, mtime)
                  if mtime is not None else b"")
        length = jpa.ENTITY_HEADER.size + len(raw) + jpa.ENTITY_FIELDS.size + len(extras)
        body.append(jpa.ENTITY_HEADER.pack(jpa.ENTITY_MAGIC, length, len(raw)) + raw
                    + jpa.ENTITY_FIELDS.pack(kind, jpa.METHOD_STORED, len(data), len(data), mode)
                    + extras + data)
    total = sum(len(entry[2]) for entry in entries)
    return (jpa.STANDARD_HEADER.pack(jpa.MAGIC, jpa.STANDARD_HEADER.size, 1, 2, len(entries),
                                     total, total) + b"".join(body))


def split_zip(final: Path, entries, part_size: int) -> list[Path]:
    """Writes ``entries`` (name, data), stored, as Akeeba's archiver splits a ZIP into
    parts of ``part_size``; returns the part paths (the last is ``final``)."""
    parts = [bytearray(zipfmt.SPLIT_MAGIC)]
    central = bytearray()
    late = 0  # how far after its real place an entry of this part is recorded
    for name, data in entries:
        raw = name.encode()
        disk = len(parts) - 1  # noted before the header may open a new part
        if part_size - len(parts[-1]) <= zipfmt.LOCAL_HEADER.size + len(raw):
            parts.append(bytearray())
            late = 4  # it seeks to 4 in the empty part, but appending writes at 0
        recorded = len(parts[-1]) + late
        crc = zlib.crc32(data)
        parts[-1] += zipfmt.LOCAL_HEADER.pack(zipfmt.LOCAL_MAGIC, 20, zipfmt.FLAG_UTF8, 0, 0, 0x21,
                                              crc, len(data), len(data), len(raw), 0) + raw
        rest = memoryview(data)
        while rest:  # data fills every part to the part size
            if len(parts[-1]) == part_size:
                parts.append(bytearray())
                late = 0
            room = part_size - len(parts[-1])
            parts[-1] += rest[:room]
            rest = rest[room:]
        central += zipfmt.CENTRAL_HEADER.pack(
            zipfmt.CENTRAL_MAGIC, 0x0314, 20, zipfmt.FLAG_UTF8, 0, 0, 0x21, crc, len(data),
            len(data), len(raw), 0, 0, disk, 0, 0o100644 << 16, recorded) + raw
    cd_offset = len(parts[-1])  # the size of the part it was going to be written into
    closing = len(central) + zipfmt.END_RECORD.size
    if part_size - len(parts[-1]) < closing and closing > 65536:
        parts.append(bytearray())
    last = len(parts) - 1
    parts[-1] += central + zipfmt.END_RECORD.pack(zipfmt.END_MAGIC, last, last, len(entries),
                                                  len(entries), len(central), cd_offset, 0)
    paths = [final.with_suffix(f".z{index:02d}") for index in range(1, len(parts))] + [final]
    for path, content in zip(paths, parts):
        path.write_bytes(content)
    return paths
