"""Site detection: which platform a folder holds and what its configuration says.

    site = detect_site(Path("/var/www/joomla"))
    site.platform, site.db, site.prefix, site.warnings

Configuration files are parsed, never executed (``restorer.config``). A Joomla or WordPress
site whose configuration is missing, unreadable or invalid raises ``ConfigError``: a full
backup cannot restore without it (the engine may still make a files-only backup).
"""

from __future__ import annotations

from pathlib import Path

from restorer.bundle import detect_platform
from restorer.db import DbConnectionInfo
from restorer.errors import ConfigError

from .generic import detect_generic
from .joomla import detect_joomla
from .model import Site, host_from_url, split_db_host
from .wordpress import detect_wordpress

__all__ = ["Site", "detect_site", "split_db_host", "host_from_url", "PLATFORMS"]

_DETECTORS = {"joomla": detect_joomla, "wordpress": detect_wordpress, "generic": detect_generic}
PLATFORMS = tuple(_DETECTORS)


def detect_site(root: Path, *, platform: str | None = None,
                db_override: DbConnectionInfo | None = None) -> Site:
    """Reads the site at ``root``; ``platform`` forces one, ``db_override`` replaces its database settings."""
    root = Path(root).absolute()
    if not root.is_dir():
        raise ConfigError(f"{root} is not a folder: give the site's root folder (where index.php is)")
    if platform is None:
        platform = detect_platform(root)
    if platform not in _DETECTORS:
        raise ConfigError(f"unknown platform {platform!r}: choose one of {', '.join(PLATFORMS)}")
    return _DETECTORS[platform](root, db_override)
