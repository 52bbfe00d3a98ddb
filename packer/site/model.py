"""What sitepack knows about a site before backing it up, and the small parsers that fill it in."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import urlsplit

from restorer.db import DbConnectionInfo

DEFAULT_PORT = 3306
# Where PHP's mysqli looks when the host is "localhost" (php.ini mysqli.default_socket on
# Debian/Ubuntu, then other common builds): "localhost" means this Unix socket, not TCP.
DEFAULT_SOCKETS = ("/run/mysqld/mysqld.sock", "/var/run/mysqld/mysqld.sock", "/var/lib/mysql/mysql.sock",
                   "/tmp/mysql.sock")


@dataclasses.dataclass
class Site:
    platform: str                      # "joomla" | "wordpress" | "generic"
    root: Path
    name: str                          # the site's name ([SITE], descriptions)
    db: DbConnectionInfo | None        # None when the configuration does not give it
    prefix: str | None                 # table prefix (None: generic site, every table)
    live_site: str | None              # the site's URL when the configuration names it
    tmp_path: str | None
    log_path: str | None
    platform_version: str | None
    host: str | None                   # host of the configured URL ([HOST]); None when unknown
    warnings: list[str]                # said before a backup starts (include trick, blanks...)
    config_path: Path | None
    config: dict = dataclasses.field(default_factory=dict, repr=False)  # every readable setting


def split_db_host(host: str | None, default_port: int = DEFAULT_PORT) -> tuple[str, int, str | None]:
    """Joomla/WordPress host strings -> (host, port, socket).

    Both put the port or a Unix socket after the host name: ``localhost``,
    ``127.0.0.1:3307``, ``localhost:/run/mysqld/mysqld.sock``, ``[::1]:3307``, and mysqli's
    persistent-connection prefix ``p:``.
    """
    value = (host or "").strip()
    if value.lower().startswith("p:"):
        value = value[2:]
    if not value:
        return "localhost", default_port, None
    if value.startswith("["):
        end = value.find("]")
        name, rest = (value[1:end], value[end + 1:]) if end > 0 else (value, "")
        if rest.startswith(":") and rest[1:].isdigit():
            return name, int(rest[1:]), None
        return name, default_port, None
    if value.count(":") == 1:
        name, rest = value.split(":", 1)
        name = name or "localhost"
        if rest.isdigit():
            return name, int(rest), None
        if rest:
            return name, default_port, rest
        return name, default_port, None
    if value.startswith("/"):
        return "localhost", default_port, value
    return value, default_port, None


def connection_info(host_setting, user, password, database) -> DbConnectionInfo | None:
    """Database settings as PHP's mysqli would use them, or None if one of them is not given."""
    texts = [value if isinstance(value, str) else str(value) if isinstance(value, int) and
             not isinstance(value, bool) else None for value in (host_setting, user, password, database)]
    if None in texts:
        return None
    host_text, user, password, database = texts
    host, port, socket = split_db_host(host_text)
    explicit_port = ":" in host_text.removeprefix("p:").rsplit("]", 1)[-1]
    if socket is None and host == "localhost" and not explicit_port:
        socket = next((path for path in DEFAULT_SOCKETS if Path(path).exists()), None)
    return DbConnectionInfo(host=host, port=port, user=user, password=password, database=database,
                            socket=socket)


def host_from_url(url: str | None) -> str | None:
    """The host name in a site URL (``https://www.example.com/joomla`` -> ``www.example.com``)."""
    if not url:
        return None
    text = url.strip()
    if "//" not in text:
        text = "//" + text
    try:
        return urlsplit(text).hostname or None
    except ValueError:
        return None
