"""The restore's private folder: what the restore needs but the web server must never serve.

A site bundle's ``installation/`` holds, beside the restorer's code, the SQL dump and
``databases.json``, ``extrainfo.json``, the installer password's hash, the manifest,
``README.html`` and (for Akeeba's bundles) Akeeba's whole PHP installer. Extracted into
a web root, any of them is one GET away from a stranger, whatever the web server
(nginx and ``php -S`` ignore ``.htaccess``; on shared hosting PHP runs as the user who
restores, so file modes do not help). So extraction writes every entry under
``installation/`` except the restorer's code (``bundle.PUBLIC_RUNTIME``) into a folder outside
the site root, owner-only (0700), and the restorer reads it there:

    $SITEPACK_HOME/restores/<site folder name>-<hash of its resolved path>/

(``$SITEPACK_HOME`` defaults to ``~/.local/share/sitepack``; ``--private-dir`` overrides
the whole path). Inside, the bundle's ``installation/X`` is ``X``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from .errors import SitepackError

_DEFAULT_HOME = "~/.local/share/sitepack"


def data_home() -> Path:
    """sitepack's data directory: ``$SITEPACK_HOME``, else ``~/.local/share/sitepack``
    (not created here; the backup side creates it 0700)."""
    configured = os.environ.get("SITEPACK_HOME")
    return Path(configured or _DEFAULT_HOME).expanduser()


def default_private_dir(site_root: Path) -> Path:
    site_root = Path(site_root).resolve()
    key = hashlib.sha256(os.fsencode(site_root)).hexdigest()[:16]
    return data_home() / "restores" / f"{site_root.name or 'root'}-{key}"


def resolve_private_dir(site_root: Path, given: Path | str | None = None) -> Path:
    """The private folder for the site at ``site_root`` (``given`` or the default),
    refused with a clear message when it lies inside the site root."""
    site_root = Path(site_root).resolve()
    private = Path(given).expanduser().resolve() if given else default_private_dir(site_root)
    if private == site_root or private.is_relative_to(site_root):
        raise SitepackError(
            f"the private folder {private} is inside the site folder {site_root}, where the web "
            f"server could serve the database dump: give --private-dir outside the site, or "
            f"set SITEPACK_HOME to a folder outside it (the web server user's home is often "
            f"the web root: /var/www for Debian's www-data)")
    return private


def make_private_dir(path: Path) -> Path:
    """``path`` created owner-only (0700; parents as needed, 0700 when created here)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


@contextlib.contextmanager
def restore_lock(site_root: Path, private: Path) -> Iterator[None]:
    """Holds the one lock of the restore into ``site_root`` (an extraction, a headless
    restore, a wizard request that changes something), refused at once with a clear
    message while another process holds it: two restores into one folder would write the
    same files and import into the same tables. The lock file lies beside the private
    folder (which finishing removes), never in the site."""
    lock_path = private.with_name(private.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SitepackError(
                f"another restore into {site_root} is running (an extraction, a headless restore "
                f"or a wizard's step): wait for it to finish, or stop it, then run this again") from None
        yield
    finally:
        os.close(fd)
