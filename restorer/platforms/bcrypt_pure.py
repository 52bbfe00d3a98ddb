"""bcrypt for hosts without the compiled ``bcrypt`` package (``hashpw``/``gensalt``).

A restored Joomla site needs exactly one bcrypt hash (the new super user password), and
the restorer runs on hosts whose Python has only the standard library. This module
first asks the C library (``crypt``, which on glibc/libxcrypt systems knows ``$2b$``);
when that is missing it computes bcrypt in pure Python (about half a minute at cost 10).

Blowfish's initial P-array and S-boxes are the hexadecimal digits of pi's fractional
part; they are computed once here (Machin's formula) rather than written out.
"""

from __future__ import annotations

import functools
import secrets
import warnings

_B64 = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_MAGIC = b"OrpheanBeholderScryDoubt"
_MASK = 0xFFFFFFFF
_WORDS = 18 + 4 * 256


def _b64encode(data: bytes) -> str:
    out = []
    for i in range(0, len(data), 3):
        chunk = data[i:i + 3]
        n = int.from_bytes(chunk.ljust(3, b"\0"), "big")
        chars = [_B64[(n >> s) & 63] for s in (18, 12, 6, 0)]
        out.extend(chars[:len(chunk) + 1])
    return "".join(out)


def _b64decode(text: str, length: int) -> bytes:
    out = bytearray()
    for i in range(0, len(text), 4):
        chunk = text[i:i + 4]
        n = 0
        for j in range(4):
            n = (n << 6) | (_B64.index(chunk[j]) if j < len(chunk) else 0)
        out += n.to_bytes(3, "big")[:len(chunk) - 1]
    return bytes(out[:length])


def _arctan_inv(x: int, one: int) -> int:
    total = term = one // x
    x2, n, sign = x * x, 1, -1
    while term:
        term //= x2
        n += 2
        total += sign * (term // n)
        sign = -sign
    return total


@functools.cache
def _pi_words() -> tuple[int, ...]:
    bits = _WORDS * 32 + 64
    one = 1 << bits
    pi = 4 * (4 * _arctan_inv(5, one) - _arctan_inv(239, one))
    frac = (pi - 3 * one) >> 64
    return tuple((frac >> (32 * (_WORDS - 1 - i))) & _MASK for i in range(_WORDS))


def _words(data: bytes):
    """Endless big-endian 32-bit words cycling over ``data`` (bcrypt's stream2word)."""
    n, pos = len(data), 0
    while True:
        word = 0
        for _ in range(4):
            word = (word << 8) | data[pos]
            pos = (pos + 1) % n
        yield word


def _encrypt(P, S0, S1, S2, S3, L, R):
    for i in range(0, 16, 2):
        L ^= P[i]
        R ^= ((((S0[L >> 24] + S1[(L >> 16) & 255]) & _MASK) ^ S2[(L >> 8) & 255]) + S3[L & 255]) & _MASK
        R ^= P[i + 1]
        L ^= ((((S0[R >> 24] + S1[(R >> 16) & 255]) & _MASK) ^ S2[(R >> 8) & 255]) + S3[R & 255]) & _MASK
    return R ^ P[17], L ^ P[16]


def _expand(P, S, key: bytes, salt: bytes | None) -> None:
    kw = _words(key)
    for i in range(18):
        P[i] ^= next(kw)
    sw = _words(salt) if salt else None
    S0, S1, S2, S3 = S
    L = R = 0
    for i in range(0, 18, 2):
        if sw:
            L ^= next(sw)
            R ^= next(sw)
        L, R = _encrypt(P, S0, S1, S2, S3, L, R)
        P[i], P[i + 1] = L, R
    for box in S:
        for i in range(0, 256, 2):
            if sw:
                L ^= next(sw)
                R ^= next(sw)
            L, R = _encrypt(P, S0, S1, S2, S3, L, R)
            box[i], box[i + 1] = L, R


def _bcrypt_raw(password: bytes, salt: bytes, cost: int) -> bytes:
    key = (password + b"\0")[:72]
    words = _pi_words()
    P = list(words[:18])
    S = [list(words[18 + 256 * b: 18 + 256 * (b + 1)]) for b in range(4)]
    _expand(P, S, key, salt)
    for _ in range(1 << cost):
        _expand(P, S, key, None)
        _expand(P, S, salt, None)
    cdata = [int.from_bytes(_MAGIC[i:i + 4], "big") for i in range(0, 24, 4)]
    for _ in range(64):
        for j in range(0, 6, 2):
            cdata[j], cdata[j + 1] = _encrypt(P, *S, cdata[j], cdata[j + 1])
    return b"".join(w.to_bytes(4, "big") for w in cdata)[:23]


def gensalt(rounds: int = 12, prefix: bytes = b"2b") -> bytes:
    return f"${prefix.decode()}${rounds:02d}${_b64encode(secrets.token_bytes(16))[:22]}".encode("ascii")


def _from_libc(password: bytes, setting: str) -> str | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt
    except ImportError:
        return None
    try:
        result = crypt.crypt(password.decode("utf-8"), setting)
    except (OSError, UnicodeDecodeError):
        return None
    return result if result and result.startswith(setting[:7]) and len(result) == 60 else None


def hashpw(password: bytes, setting: bytes, *, use_libc: bool = True) -> bytes:
    """``$2b$NN$`` + salt + hash, as the ``bcrypt`` package returns it."""
    text = setting.decode("ascii")
    prefix, cost, rest = text[1:3], int(text[4:6]), text[7:29]
    if use_libc:
        native = _from_libc(password, text[:29])
        if native:
            return native.encode("ascii")
    raw_salt = _b64decode(rest, 16)
    digest = _bcrypt_raw(password, raw_salt, cost)
    return f"${prefix}${cost:02d}${_b64encode(raw_salt)[:22]}{_b64encode(digest)[:31]}".encode("ascii")
