"""The installer password that guards the restore wizard.

Two files can gate a bundle's ``installation/``:

* sitepack's ``password.json``: a salted slow hash (scrypt), never the password. The
  backup side writes it with ``password_file_text()``; the wizard checks it with
  ``verify()``.
* Akeeba's ``password.php``: a line holding ``md5(password . salt):salt``. It is read
  as text (never executed) and checked the same way.

Both checks compare digests with ``hmac.compare_digest`` (constant time).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from restorer.errors import SitepackError

PASSWORD_FILE = "password.json"
AKEEBA_PASSWORD_FILE = "password.php"

# scrypt cost: ~50 ms and 32 MiB per guess on a 2020s CPU; the wizard also throttles.
_SCRYPT_N = 2 ** 15
_SCRYPT_R = 8
_SCRYPT_P = 1
_KEY_LEN = 32
_AKEEBA_LINE = re.compile(r"([0-9a-fA-F]{32}):([^'\"\s]*)")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=n * r * 128 * 2 + 1024 * 1024, dklen=length)


def password_file_text(password: str) -> str:
    """The content of ``installation/password.json`` for this installer password."""
    if not password:
        raise SitepackError("the installer password is empty: give a password or none at all")
    salt = secrets.token_bytes(16)
    key = _scrypt(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P, _KEY_LEN)
    return json.dumps({
        "algorithm": "scrypt", "n": _SCRYPT_N, "r": _SCRYPT_R, "p": _SCRYPT_P,
        "salt": base64.b64encode(salt).decode("ascii"),
        "hash": base64.b64encode(key).decode("ascii"),
    }, indent=1) + "\n"


@dataclass(frozen=True)
class InstallerPassword:
    """The password check found in one ``installation/`` folder."""

    kind: str  # "sitepack" or "akeeba"
    path: Path
    _record: dict

    def verify(self, password: str) -> bool:
        if self.kind == "akeeba":
            salt = self._record["salt"]
            digest = hashlib.md5((password + salt).encode("utf-8")).hexdigest()
            return hmac.compare_digest(digest.encode("ascii"), self._record["md5"].lower().encode("ascii"))
        rec = self._record
        expected = base64.b64decode(rec["hash"])
        actual = _scrypt(password, base64.b64decode(rec["salt"]), int(rec["n"]), int(rec["r"]),
                         int(rec["p"]), len(expected))
        return hmac.compare_digest(actual, expected)


def load(installation: Path) -> InstallerPassword | None:
    """The installer password check of a bundle, or ``None`` when it has no password."""
    installation = Path(installation)
    ours = installation / PASSWORD_FILE
    if ours.is_file():
        try:
            record = json.loads(ours.read_text(encoding="utf-8"))
            if record.get("algorithm") != "scrypt" or not {"salt", "hash", "n", "r", "p"} <= record.keys():
                raise ValueError("unknown layout")
            base64.b64decode(record["salt"], validate=True)
            base64.b64decode(record["hash"], validate=True)
        except (ValueError, OSError) as exc:
            raise SitepackError(
                f"the installer password file {ours} is damaged ({exc}); re-extract the archive "
                f"(nobody can log in to the wizard with a damaged password file)") from None
        return InstallerPassword("sitepack", ours, record)
    akeeba = installation / AKEEBA_PASSWORD_FILE
    if akeeba.is_file():
        text = akeeba.read_text(encoding="utf-8", errors="replace")
        match = _AKEEBA_LINE.search(text)
        if not match:
            raise SitepackError(
                f"{akeeba} does not hold an md5(password . salt):salt line; re-extract the archive "
                f"or delete that file to restore without an installer password")
        return InstallerPassword("akeeba", akeeba, {"md5": match.group(1), "salt": match.group(2)})
    return None
