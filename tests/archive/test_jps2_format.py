"""Known answers for JPS 2.0 pieces, pinned from FORMATS.md §2 and checked by real PHP.

PHP's ``hash_pbkdf2`` and ``openssl_decrypt`` (with ``OPENSSL_ZERO_PADDING``) are what
Akeeba's extractor decrypts with, so they are the independent judge here.
"""

from __future__ import annotations

import hashlib
import random
import struct

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from harness.php import run_php
from restorer.errors import ArchiveError, WrongPasswordError
from restorer.formats import jps2
from restorer.formats.crypto import (AesCbc, aes_cbc_decrypt, aes_cbc_encrypt, akeeba_zero_pad,
                                     legacy_jps_key, pbkdf2_key)

SALT = bytes(range(64))
PASSWORD = "correct horse ☃"


def test_standard_header_bytes_are_pinned():
    header = jps2.standard_header(SALT, spanned=False)
    assert len(header) == 84
    assert header[:8] == b"JPS\x02\x00\x00\x4c\x00"
    assert header[8:20] == b"JH\x00\x01" + b"\x4c\x00" + b"\x00" + (128000).to_bytes(4, "little") + b"\x01"
    assert header[20:] == SALT
    assert jps2.standard_header(SALT, spanned=True)[5] == 1


def test_record_layout_sizes():
    assert jps2.ENTITY_HEAD.size == 7
    assert jps2.DATA_HEAD.size == 8
    assert jps2.END_RECORD.size == 17
    assert jps2.IV_TRAILER.size == 24


def test_key_derivation_agrees_with_two_independent_pbkdf2_implementations():
    password = PASSWORD.encode()
    ours = pbkdf2_key(password, SALT, 128000)
    via_cryptography = PBKDF2HMAC(algorithm=hashes.SHA1(), length=16, salt=SALT,
                                  iterations=128000).derive(password)
    assert ours == via_cryptography
    assert len(ours) == 16
    via_php = run_php(f"echo bin2hex(hash_pbkdf2('sha1', hex2bin('{password.hex()}'),"
                      f" hex2bin('{SALT.hex()}'), 128000, 16, true));")
    assert via_php == ours.hex()


def test_key_derivation_known_answer_rfc6070():
    # RFC 6070 vector 2 (2 iterations), cut to the 16 bytes JPS uses.
    assert pbkdf2_key(b"password", b"salt", 2) == bytes.fromhex("ea6c014dc72d6f8ccd1ed92ace1d41f0")


@pytest.mark.parametrize("size, padded", [
    (0, 16),     # empty: one block of zeros
    (1, 16),     # shorter than 16: up to 16
    (15, 16),
    (16, 16),    # exactly 16: nothing added
    (17, 32),    # longer, not a multiple: up to the next multiple
    (31, 32),
    (32, 48),    # longer than 16 and a multiple of 16: one extra zero block
    (48, 64),
])
def test_akeeba_zero_padding(size, padded):
    data = bytes(range(1, size + 1))
    out = akeeba_zero_pad(data)
    assert len(out) == padded
    assert out[:size] == data
    assert out[size:] == bytes(padded - size)


def test_hand_built_block_decrypts_in_php_like_akeebas_reader():
    key = pbkdf2_key(PASSWORD.encode(), SALT, 128000)
    iv = bytes(range(100, 116))
    plaintext = b"the quick brown fox jumps over the lazy dog"
    block = jps2.encrypt_block(AesCbc(key), iv, plaintext)
    assert block[-24:] == b"JPIV" + iv + struct.pack("<I", len(plaintext))
    assert len(block) == 48 + 24
    decrypted = run_php(
        f"$b = hex2bin('{block.hex()}'); $iv = substr($b, -20, 16); $n = unpack('V', substr($b, -4))[1];"
        f"$p = openssl_decrypt(substr($b, 0, -24), 'aes-128-cbc', hex2bin('{key.hex()}'),"
        " OPENSSL_RAW_DATA | OPENSSL_ZERO_PADDING, $iv); echo bin2hex(substr($p, 0, $n));")
    assert bytes.fromhex(decrypted) == plaintext


def test_block_decrypter_reads_a_block_encrypted_by_php():
    iv = bytes(16)
    plaintext = b"0123456789abcdef" * 2  # 32 bytes: Akeeba adds a zero block
    key = pbkdf2_key(b"pw", SALT, 1000)
    ciphertext = bytes.fromhex(run_php(
        f"echo bin2hex(openssl_encrypt(hex2bin('{akeeba_zero_pad(plaintext).hex()}'), 'aes-128-cbc',"
        f" hex2bin('{key.hex()}'), OPENSSL_RAW_DATA | OPENSSL_ZERO_PADDING, hex2bin('{iv.hex()}')));"))
    assert len(ciphertext) == 48
    block = ciphertext + b"JPIV" + iv + struct.pack("<I", 32)
    setup = jps2.KeySetup((2, 0), 0, 1000, SALT)
    assert jps2.BlockDecrypter(setup, "pw").decrypt(block, 32, "test") == (plaintext, True)
    plain, plausible = jps2.BlockDecrypter(setup, "not pw").decrypt(block, 32, "test")
    assert plausible is False


@pytest.mark.parametrize("size", [16, 32, 48, 256, 272, 4096, 4112, 70000])
def test_aes_cbc_with_shared_ecb_context_equals_plain_cbc(size):
    rng = random.Random(size)
    cipher = AesCbc(rng.randbytes(16))
    for _ in range(3):  # the ECB contexts are reused across blocks and IVs
        iv, data = rng.randbytes(16), rng.randbytes(size)
        ciphertext = aes_cbc_encrypt(cipher.key, iv, data)
        assert cipher.encrypt(iv, data) == ciphertext
        assert cipher.decrypt(iv, ciphertext) == data == aes_cbc_decrypt(cipher.key, iv, ciphertext)


def test_long_block_decrypts_in_php():
    key = pbkdf2_key(b"pw", SALT, 1000)
    iv = bytes(range(16))
    plaintext = bytes(range(256)) * 20  # above AesCbc.SHORT: the CBC context path
    block = jps2.encrypt_block(AesCbc(key), iv, plaintext)
    decrypted = run_php(
        f"$b = hex2bin('{block.hex()}'); $p = openssl_decrypt(substr($b, 0, -24), 'aes-128-cbc',"
        f" hex2bin('{key.hex()}'), OPENSSL_RAW_DATA | OPENSSL_ZERO_PADDING, substr($b, -20, 16));"
        f" echo bin2hex(substr($p, 0, {len(plaintext)}));")
    assert bytes.fromhex(decrypted) == plaintext


def test_legacy_key_matches_php_aes_ecb():
    expected = run_php(
        "$k = str_pad('secret', 16, \"\\0\");"
        " echo bin2hex(openssl_encrypt($k, 'aes-128-ecb', $k, OPENSSL_RAW_DATA | OPENSSL_ZERO_PADDING));")
    assert legacy_jps_key(b"secret").hex() == expected
    assert legacy_jps_key(b"0123456789abcdefEXTRA") == legacy_jps_key(b"0123456789abcdef")


def test_per_block_salt_block():
    block_salt = bytes(range(64, 128))
    key = pbkdf2_key(b"pw", block_salt, 1000)
    iv = bytes(range(16))
    body = jps2.encrypt_block(AesCbc(key), iv, b"salted")
    block = body[:-24] + b"JPST" + block_salt + body[-24:]
    setup = jps2.KeySetup((2, 0), 0, 1000, None)
    assert jps2.BlockDecrypter(setup, "pw").decrypt(block, 6, "test") == (b"salted", True)


def test_header_parsing_and_refusals():
    setup, size = jps2.parse_header(jps2.standard_header(SALT, spanned=False), "a.jps")
    assert size == 84 and setup.static_salt == SALT and setup.iterations == 128000
    setup, size = jps2.parse_header(b"JPS\x01\x09\x00\x00\x00", "old.jps")
    assert size == 8 and setup.version == (1, 9) and setup.static_salt is None
    with pytest.raises(ArchiveError, match="is a JPS 3.0 archive"):
        jps2.parse_header(b"JPS\x03\x00\x00\x00\x00", "new.jps")
    with pytest.raises(ArchiveError, match="not a JPS archive"):
        jps2.parse_header(b"JPA\x02\x00\x00\x00\x00", "x.jps")
    damaged = bytearray(jps2.standard_header(SALT, spanned=False))
    damaged[9] = ord("X")
    with pytest.raises(ArchiveError, match="key header is damaged"):
        jps2.parse_header(bytes(damaged), "d.jps")


def test_first_entity_with_wrong_key_is_a_wrong_password():
    key = pbkdf2_key(b"right", SALT, 1000)
    plain = jps2.entity_plaintext("dir/file.txt".encode(), jps2.TYPE_FILE, 5, 0o100644, 1700000000)
    block = jps2.encrypt_block(AesCbc(key), bytes(16), plain)
    setup = jps2.KeySetup((2, 0), 0, 1000, SALT)
    good, plausible = jps2.BlockDecrypter(setup, "right").decrypt(block, len(plain), "a.jps")
    header = jps2.parse_entity(good, plausible, "a.jps", first=True)
    assert header == jps2.EntityHeader("dir/file.txt", 1, 1, 5, 0o100644, 1700000000)
    bad, plausible = jps2.BlockDecrypter(setup, "wrong").decrypt(block, len(plain), "a.jps")
    with pytest.raises(WrongPasswordError, match=r"^wrong password for a\.jps: "):
        jps2.parse_entity(bad, plausible, "a.jps", first=True)
    with pytest.raises(ArchiveError, match=r"damaged entity header") as info:
        jps2.parse_entity(bad, plausible, "a.jps", first=False)
    assert not isinstance(info.value, WrongPasswordError)


def test_hashlib_sha1_is_what_hash_id_zero_means():
    assert pbkdf2_key(b"a", b"b", 3, 0) == hashlib.pbkdf2_hmac("sha1", b"a", b"b", 3, 16)
    assert pbkdf2_key(b"a", b"b", 3, 1) == hashlib.pbkdf2_hmac("sha256", b"a", b"b", 3, 16)
