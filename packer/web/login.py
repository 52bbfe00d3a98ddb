"""Who may use the backup web UI: a login password (salted slow hash) or a one-time token.

The password is set on a run of ``sitepack serve --password-env VAR`` (or ``-file``) and
stored as an scrypt hash in the data directory, so later runs need no secret on the
command line. Without a password, each server start makes a one-time token, printed in
the URL the user opens (like Jupyter's); the first login consumes it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from pathlib import Path

from restorer.errors import SitepackError

from packer.home import data_dir, write_private_json

LOGIN_FILE = "web-login.json"

# scrypt cost: tens of milliseconds per guess; login attempts are also throttled.
_SCRYPT = {"n": 2 ** 15, "r": 8, "p": 1}
_KEY_LEN = 32
MIN_PASSWORD_LENGTH = 8


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=n * r * 128 * 2 + 1024 * 1024, dklen=_KEY_LEN)


class LoginPassword:
    """The stored login password hash (``<data dir>/web-login.json``, mode 0600)."""

    def __init__(self, path: Path | None = None):
        self.path = path if path is not None else data_dir() / LOGIN_FILE

    def is_set(self) -> bool:
        return self.path.is_file()

    def set(self, password: str) -> None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise SitepackError(
                f"the login password is too short: use at least {MIN_PASSWORD_LENGTH} characters")
        salt = secrets.token_bytes(16)
        record = {"algorithm": "scrypt", **_SCRYPT,
                  "salt": base64.b64encode(salt).decode("ascii"),
                  "hash": base64.b64encode(_scrypt(password, salt, **_SCRYPT)).decode("ascii")}
        write_private_json(self.path, record)

    def verify(self, password: str) -> bool:
        try:
            record = json.loads(self.path.read_text(encoding="utf-8"))
            salt = base64.b64decode(record["salt"], validate=True)
            expected = base64.b64decode(record["hash"], validate=True)
            cost = {k: int(record[k]) for k in ("n", "r", "p")}
        except FileNotFoundError:
            return False
        except (ValueError, KeyError, OSError) as exc:
            raise SitepackError(
                f"the login password file {self.path} is damaged ({exc}); set the password "
                f"again with sitepack serve --password-env VAR") from None
        return hmac.compare_digest(_scrypt(password, salt, **cost), expected)


class OneTimeToken:
    """A random token valid for exactly one successful login (only its hash is kept)."""

    def __init__(self) -> None:
        self.value: str | None = secrets.token_urlsafe(32)
        self._digest = hashlib.sha256(self.value.encode("ascii")).digest()
        self._used = False
        self._lock = threading.Lock()

    def forget(self) -> str:
        """Returns the token for printing once and drops the server's plain copy."""
        value, self.value = self.value, None
        return value

    def consume(self, candidate: str) -> bool:
        """True for the right token the first time only."""
        digest = hashlib.sha256(candidate.encode("utf-8")).digest()
        with self._lock:
            if self._used or not hmac.compare_digest(digest, self._digest):
                return False
            self._used = True
            return True


class Throttle:
    """Slows down guessing: after ``free`` failures, each attempt waits for the lockout."""

    def __init__(self, free: int = 5, lockout_seconds: float = 30.0, clock=time.monotonic):
        self.free = free
        self.lockout_seconds = lockout_seconds
        self._clock = clock
        self._failures = 0
        self._locked_until = 0.0
        self._lock = threading.Lock()

    def seconds_left(self) -> int:
        with self._lock:
            return max(0, int(self._locked_until - self._clock() + 0.999))

    def failed(self) -> None:
        with self._lock:
            self._failures += 1
            if self._failures >= self.free:
                self._locked_until = self._clock() + self.lockout_seconds

    def succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            self._locked_until = 0.0
