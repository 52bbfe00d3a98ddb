"""Cryptographic building blocks of the JPS family, kept apart from the record layouts.

Two worlds share this module:

- Akeeba's JPS 1.x/2.0: AES-128-CBC with Akeeba's own zero padding, keys from
  PBKDF2 (2.0) or from AES-encrypting the password with itself (1.x).
- This project's JPS 3.0: a password KDF (scrypt or Argon2id) whose output is split by
  HKDF into an AES-256-GCM key and a password verifier.

Everything here works on whole byte strings of at most one block (1 MiB); streaming is
the format modules' business.

``cryptography`` is imported inside the functions: the restorer travels to hosts that
may lack it, and plain JPA/ZIP archives must still open there (the kickstart turns the
``ModuleNotFoundError`` of an encrypted archive into install instructions).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from restorer.errors import ArchiveError

AES_BLOCK = 16


# --- Akeeba (JPS 1.x and 2.0) ---------------------------------------------------------


def akeeba_zero_pad(plaintext: bytes) -> bytes:
    """Pads as Akeeba's encrypter does (its readers only ever cut at a length field).

    Exactly 16 bytes: unchanged. Shorter (empty included): zeros up to 16. Longer and a
    multiple of 16: one extra block of zeros. Otherwise zeros up to the next multiple.
    """
    n = len(plaintext)
    if n == AES_BLOCK:
        return plaintext
    if n < AES_BLOCK:
        return plaintext + bytes(AES_BLOCK - n)
    if n % AES_BLOCK == 0:
        return plaintext + bytes(AES_BLOCK)
    return plaintext + bytes(AES_BLOCK - n % AES_BLOCK)


def aes_cbc_encrypt(key: bytes, iv: bytes, padded: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def aes_cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    """Raw CBC decryption; the caller checks ``len(ciphertext) % 16 == 0`` first."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return decryptor.update(ciphertext) + decryptor.finalize()


class AesCbc:
    """AES-CBC under one key for many blocks, each with its own IV.

    A cipher context per block costs about 100 µs, and an archive of 20 000 small files
    has 40 000 blocks. So one ECB context per key does the block cipher and the chaining
    is done here: decryption is one ECB pass XORed with the ciphertext shifted by one
    block (IV first); short plaintexts are encrypted block by block. Long data (where a
    context is cheap by comparison) gets its own CBC context.
    """

    SHORT = 256

    def __init__(self, key: bytes):
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        self.key = key
        self._encrypt_block = Cipher(algorithms.AES(key), modes.ECB()).encryptor().update
        self._decrypt_blocks = Cipher(algorithms.AES(key), modes.ECB()).decryptor().update

    def encrypt(self, iv: bytes, padded: bytes) -> bytes:
        if len(padded) > self.SHORT:
            return aes_cbc_encrypt(self.key, iv, padded)
        out = []
        previous = int.from_bytes(iv, "little")
        for start in range(0, len(padded), AES_BLOCK):
            mixed = int.from_bytes(padded[start:start + AES_BLOCK], "little") ^ previous
            block = self._encrypt_block(mixed.to_bytes(AES_BLOCK, "little"))
            out.append(block)
            previous = int.from_bytes(block, "little")
        return b"".join(out)

    def decrypt(self, iv: bytes, ciphertext: bytes) -> bytes:
        """``ciphertext`` must be whole AES blocks (the caller checks)."""
        if len(ciphertext) > 16 * self.SHORT:  # big integers get slow; a context is cheap here
            return aes_cbc_decrypt(self.key, iv, ciphertext)
        decrypted = int.from_bytes(self._decrypt_blocks(ciphertext), "little")
        chain = int.from_bytes(iv + ciphertext[:-AES_BLOCK], "little")
        return (decrypted ^ chain).to_bytes(len(ciphertext), "little")


PBKDF2_HASHES = {0: "sha1", 1: "sha256", 2: "sha512"}
"""The key header's hash byte, as Akeeba's readers map it."""


def pbkdf2_key(password: bytes, salt: bytes, iterations: int, hash_id: int = 0) -> bytes:
    """The 16-byte AES-128 key of JPS 2.0: PBKDF2-HMAC-<hash>(password, salt)."""
    return hashlib.pbkdf2_hmac(PBKDF2_HASHES[hash_id], password, salt, iterations, 16)


def legacy_jps_key(password: bytes) -> bytes:
    """JPS 1.x key (and IV): the first 16 password bytes, NUL-padded, AES-encrypted with
    themselves as the key."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    block = password[:AES_BLOCK].ljust(AES_BLOCK, b"\0")
    encryptor = Cipher(algorithms.AES(block), modes.ECB()).encryptor()
    return encryptor.update(block) + encryptor.finalize()


# --- This project (JPS 3.0) -----------------------------------------------------------

KDF_SCRYPT = 1
KDF_ARGON2ID = 2
KDF_NAMES = {KDF_SCRYPT: "scrypt", KDF_ARGON2ID: "Argon2id"}


MAX_KDF_MEMORY = 1024 ** 3
"""Readers refuse KDF costs above 1 GiB of memory (a crafted header could ask for more)."""


@dataclass(frozen=True)
class KdfParams:
    """A password KDF and its three cost numbers, as stored in a JPS 3.0 key header.

    scrypt: ``a`` = log2(n), ``b`` = r, ``c`` = p.
    Argon2id: ``a`` = iterations, ``b`` = memory in KiB, ``c`` = lanes.
    """

    kdf: int
    a: int
    b: int
    c: int

    def check(self) -> None:
        """Refuses parameters no writer of ours makes (a damaged header could otherwise
        ask for terabytes of memory)."""
        if self.kdf == KDF_SCRYPT:  # memory: 128 * r * n bytes
            ok = (1 <= self.a <= 22 and 1 <= self.b <= 32 and 1 <= self.c <= 16
                  and 128 * self.b << self.a <= MAX_KDF_MEMORY)
        elif self.kdf == KDF_ARGON2ID:  # memory: b KiB
            ok = (1 <= self.a <= 64 and 1 <= self.c <= 64
                  and 8 * self.c <= self.b <= MAX_KDF_MEMORY // 1024)
        else:
            raise ArchiveError(f"unknown key derivation function id {self.kdf}: the archive "
                               "was made by a newer or another tool, or is damaged")
        if not ok:
            raise ArchiveError(
                f"refusing {KDF_NAMES[self.kdf]} costs ({self.a}, {self.b}, {self.c}) beyond "
                "what sitepack writes or allows (1 GiB of memory): the archive was not made "
                "by sitepack or is damaged")


_SCRYPT_MAXMEM = 2 ** 31 - 1   # hashlib's upper bound; KdfParams.check() allows 1 GiB

SCRYPT_DEFAULT = KdfParams(KDF_SCRYPT, 16, 8, 1)
"""n = 2**16, r = 8: 64 MiB of memory and about 0.3 s per derivation."""


def derive_master_key(password: str, params: KdfParams, salt: bytes) -> bytes:
    """32 bytes from the password; slow and memory-hard on purpose."""
    params.check()
    secret = password.encode("utf-8")
    if params.kdf == KDF_SCRYPT:
        # hashlib's scrypt (OpenSSL's) lets other threads run meanwhile; check() has
        # already capped the memory at 1 GiB, so the ceiling here is only a formality.
        return hashlib.scrypt(secret, salt=salt, n=1 << params.a, r=params.b, p=params.c,
                              maxmem=_SCRYPT_MAXMEM, dklen=32)
    try:
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
    except ImportError:  # cryptography < 44 or an OpenSSL without Argon2
        raise ArchiveError(
            "this archive's key is derived with Argon2id, which the installed 'cryptography' "
            "package lacks: install cryptography 44 or newer") from None
    return Argon2id(salt=salt, length=32, iterations=params.a, lanes=params.c,
                    memory_cost=params.b).derive(secret)


def split_master_key(master: bytes) -> tuple[bytes, bytes]:
    """(AES-256-GCM key, password verifier): independent halves of one HKDF expansion, so
    the verifier stored in the header says nothing about the key."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    okm = HKDF(algorithm=hashes.SHA256(), length=64, salt=None,
               info=b"sitepack JPS 3.0 key and verifier").derive(master)
    return okm[:32], okm[32:]


def verifier_matches(expected: bytes, actual: bytes) -> bool:
    return hmac.compare_digest(expected, actual)
