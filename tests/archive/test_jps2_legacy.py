"""Reading JPS 1.x and the per-block-salt variant of JPS 2.0.

sitepack never writes these, so the archives come from a small test-only encoder built
from the format facts (FORMATS.md §2 and Akeeba's reader): JPS 1.x derives key and IV
by AES-encrypting the NUL-padded password with itself and ends blocks with the length
only; per-block-salt 2.0 has the static salt flag 0 and puts ``JPST`` + 64-byte salt
before each block's ``JPIV`` trailer.
"""

from __future__ import annotations

import os
import struct
import zlib

import pytest

from restorer.errors import ArchiveError, WrongPasswordError
from restorer.formats import open_archive
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


def build_archive(entries, password: str, variant: str) -> bytes:
    """``entries``: (path, type, data bytes, mode, mtime); dirs end with '/'."""
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


ENTRIES = [
    ("empty-dir/", 0, b"", 0o40755, 1600000000),
    ("site/index.php", 1, b"<?php echo 'hi';\n" * 900, 0o100644, 1600000001),
    ("site/blank.txt", 1, b"", 0o100600, 1600000002),
    ("site/ünïcode €.txt", 1, os.urandom(12000), 0o100640, 1600000003),
    ("site/link", 2, b"index.php", 0o120777, 1600000004),
]


@pytest.mark.parametrize("variant", ["1.x", "2.0-per-block-salt"])
def test_reads_legacy_variants(tmp_path, variant):
    archive = tmp_path / "old.jps"
    archive.write_bytes(build_archive(ENTRIES, "sesame", variant))
    with open_archive(archive, "sesame") as reader:
        assert reader.format == ("jps1" if variant == "1.x" else "jps2")
        got = [(e.path, int(e.type), b"".join(chunks), e.mode, e.mtime, e.target)
               for e, chunks in reader.entries()]
    assert got == [
        ("empty-dir", 0, b"", 0o40755, 1600000000, None),
        ("site/index.php", 1, ENTRIES[1][2], 0o100644, 1600000001, None),
        ("site/blank.txt", 1, b"", 0o100600, 1600000002, None),
        ("site/ünïcode €.txt", 1, ENTRIES[3][2], 0o100640, 1600000003, None),
        ("site/link", 2, b"index.php", 0o120777, 1600000004, "index.php"),
    ]


@pytest.mark.parametrize("variant", ["1.x", "2.0-per-block-salt"])
def test_legacy_wrong_password(tmp_path, variant):
    archive = tmp_path / "old.jps"
    archive.write_bytes(build_archive(ENTRIES, "sesame", variant))
    with pytest.raises(WrongPasswordError, match=r"^wrong password for old\.jps: "):
        open_archive(archive, "open up")


def test_listing_skips_unread_data(tmp_path):
    archive = tmp_path / "old.jps"
    archive.write_bytes(build_archive(ENTRIES, "sesame", "1.x"))
    with open_archive(archive, "sesame") as reader:
        assert [e.path for e, _ in reader.entries()] == [
            "empty-dir", "site/index.php", "site/blank.txt", "site/ünïcode €.txt", "site/link"]


def test_unknown_jps_version_is_refused_by_name(tmp_path):
    archive = tmp_path / "future.jps"
    archive.write_bytes(b"JPS\x07\x01\x00\x00\x00" + bytes(100))
    with pytest.raises(ArchiveError, match=r"^future\.jps is a JPS 7\.1 archive; this reader "
                                           r"handles JPS 1\.x and 2\.0$"):
        open_archive(archive, "x")
