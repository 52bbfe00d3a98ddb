"""A WordPress site: ``wp-config.php`` (read, never run; in the root or, as WordPress allows,
one folder above it), the version in ``wp-includes/version.php``, name and URL from the options."""

from __future__ import annotations

from pathlib import Path

from restorer.config.phpfile import parse_top_level_assignments, read_php_file, tokenize_file
from restorer.config.wordpress import TABLE_PREFIX, read_wp_config
from restorer.db import DbConnectionInfo
from restorer.errors import ConfigError, SitepackError

from .model import Site, connection_info, host_from_url

CONFIG_NAME = "wp-config.php"
VERSION_FILE = "wp-includes/version.php"

_FULL_BACKUP_ADVICE = ("a full backup needs the site's configuration to restore it; fix it or make a "
                       "files-only backup (--type files)")


def config_path_for(root: Path) -> tuple[Path, bool]:
    """Where WordPress loads its configuration from, and whether that is outside the site root."""
    inside = root / CONFIG_NAME
    if inside.exists():
        return inside, False
    above = root.parent / CONFIG_NAME
    # WordPress only looks one level up when that folder is not itself a WordPress install.
    if above.is_file() and not (root.parent / "wp-settings.php").exists():
        return above, True
    return inside, False


def wordpress_version(root: Path) -> str | None:
    path = root / VERSION_FILE
    try:
        text = read_php_file(path)
        slot = parse_top_level_assignments(text, tokenize_file(text, path)).get("wp_version")
    except SitepackError:
        return None
    return slot.value if slot is not None and isinstance(slot.value, str) else None


def _options(db: DbConnectionInfo, prefix: str) -> dict[str, str]:
    """``blogname`` and ``siteurl`` from the database when it answers quickly; {} otherwise."""
    if not prefix.replace("_", "").isalnum():
        return {}
    try:
        conn = db.connect(connect_timeout=3)
    except SitepackError:
        return {}
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT option_name, option_value FROM `{prefix}options` "
                        "WHERE option_name IN ('blogname', 'siteurl', 'home')")
            return {name: value for name, value in cur.fetchall()}
    except Exception:  # no options table (yet): the name and URL simply stay unknown
        return {}
    finally:
        conn.close()


def detect_wordpress(root: Path, db_override: DbConnectionInfo | None) -> Site:
    path, outside = config_path_for(root)
    if not path.is_file():
        raise ConfigError(f"{path} is missing or unreadable: {_FULL_BACKUP_ADVICE}")
    try:
        config = read_wp_config(path)
    except ConfigError as exc:
        if "cannot read" in str(exc):
            raise ConfigError(f"{path} is missing or unreadable: {_FULL_BACKUP_ADVICE}") from None
        raise ConfigError(f"{exc}. A full backup needs the site's configuration to restore it; fix it "
                          "or make a files-only backup (--type files)") from None
    values = config.values
    warnings = list(config.problems)
    if outside:
        warnings.insert(0, f"{CONFIG_NAME} is outside the site root ({path}): the archive will not contain "
                           "it, and the restore wizard will have blanks for every value in it")
    db = db_override
    if db is None:
        db = connection_info(values.get("DB_HOST"), values.get("DB_USER"), values.get("DB_PASSWORD"),
                             values.get("DB_NAME"))
    prefix = values.get(TABLE_PREFIX) if isinstance(values.get(TABLE_PREFIX), str) else None
    options = _options(db, prefix) if db is not None and prefix else {}
    live_site = values.get("WP_HOME") or values.get("WP_SITEURL") or options.get("home") or options.get("siteurl")
    live_site = live_site if isinstance(live_site, str) and live_site else None
    return Site(
        platform="wordpress", root=root, name=options.get("blogname") or root.name, db=db, prefix=prefix,
        live_site=live_site, tmp_path=None, log_path=None, platform_version=wordpress_version(root),
        host=host_from_url(live_site), warnings=warnings, config_path=path,
        config=dict(values),
    )
