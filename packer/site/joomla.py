"""A Joomla site: ``configuration.php`` (read, never run) and the version constants."""

from __future__ import annotations

from pathlib import Path

from restorer.config.joomla import read_joomla_config
from restorer.config.phpvalues import PhpParseError, TokenStream, parse_expression, tokenize
from restorer.db import DbConnectionInfo
from restorer.errors import ConfigError

from .model import Site, connection_info, host_from_url

CONFIG_NAME = "configuration.php"
# Version files: Joomla 3.8+ and 4/5 first, then Joomla 3.0-3.7.
VERSION_FILES = ("libraries/src/Version.php", "libraries/cms/version/version.php")

_FULL_BACKUP_ADVICE = ("a full backup needs the site's configuration to restore it; fix it or make a "
                       "files-only backup (--type files)")


def class_constants(path: Path) -> dict[str, object]:
    """``const NAME = literal;`` declarations in a PHP file (values PHP would see)."""
    text = path.read_bytes().decode("utf-8", errors="surrogateescape")
    stream = TokenStream(text, tokenize(text))
    found: dict[str, object] = {}
    while (token := stream.peek()) is not None:
        stream.next()
        if token.kind != "ident" or token.text.lower() != "const":
            continue
        while True:
            if not stream.at("ident"):
                break
            name = stream.next().text
            if not stream.at("op", "="):
                break
            stream.next()
            try:
                found[name] = parse_expression(stream)
            except PhpParseError:
                break
            if not stream.at("op", ","):
                break
            stream.next()
    return found


def joomla_version(root: Path) -> str | None:
    for relative in VERSION_FILES:
        path = root / relative
        try:
            constants = class_constants(path)
        except (OSError, PhpParseError):
            continue
        if "MAJOR_VERSION" in constants:
            version = f"{constants['MAJOR_VERSION']}.{constants.get('MINOR_VERSION', 0)}." \
                      f"{constants.get('PATCH_VERSION', 0)}"
            extra = constants.get("EXTRA_VERSION")
            return f"{version}-{extra}" if extra else version
        if "RELEASE" in constants:
            level = constants.get("DEV_LEVEL")
            return f"{constants['RELEASE']}.{level}" if level not in (None, "") else str(constants["RELEASE"])
    return None


def detect_joomla(root: Path, db_override: DbConnectionInfo | None) -> Site:
    path = root / CONFIG_NAME
    if not path.is_file():
        raise ConfigError(f"{path} is missing or unreadable: {_FULL_BACKUP_ADVICE}")
    try:
        config = read_joomla_config(path)
    except ConfigError as exc:
        if not path.exists() or "cannot read" in str(exc):
            raise ConfigError(f"{path} is missing or unreadable: {_FULL_BACKUP_ADVICE}") from None
        raise ConfigError(f"{exc}. A full backup needs the site's configuration to restore it; fix it "
                          "or make a files-only backup (--type files)") from None
    values = config.effective_values
    db = db_override
    if db is None:
        db = connection_info(values.get("host"), values.get("user"), values.get("password"), values.get("db"))
    dbtype = values.get("dbtype")
    warnings = list(config.problems)
    if isinstance(dbtype, str) and dbtype.lower() not in ("mysqli", "mysql", "pdomysql", ""):
        warnings.append(f"{CONFIG_NAME} uses database type {dbtype!r}: sitepack backs up MySQL/MariaDB "
                        "databases only")
    live_site = _text(values.get("live_site"))
    cookie_domain = _text(values.get("cookie_domain"))
    return Site(
        platform="joomla", root=root, name=_text(values.get("sitename")) or root.name, db=db,
        prefix=_text(values.get("dbprefix")) if "dbprefix" in values else None,
        live_site=live_site, tmp_path=_text(values.get("tmp_path")), log_path=_text(values.get("log_path")),
        platform_version=joomla_version(root),
        host=host_from_url(live_site) or (cookie_domain.lstrip(".") if cookie_domain else None),
        warnings=warnings, config_path=path, config=dict(values),
    )


def _text(value) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)

