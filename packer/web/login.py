"""Who may use the backup web UI: a login password (salted slow hash) or a one-time token.

The password is set on a run of ``sitepack serve --password-env VAR`` (or ``-file``) and
stored as an scrypt hash in the data directory, so later runs need no secret on the
command line. Each server start also makes a one-time token (``restorer.web.guard``),
printed in the URL the user opens (like Jupyter's); the first login consumes it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from pathlib import Path

from packer.home import data_dir
from restorer.errors import SitepackError
from restorer.privatefile import write_private_json

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
