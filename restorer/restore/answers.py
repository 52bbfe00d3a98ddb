"""The answers of a restore: what the wizard asks page by page, or ``--answers FILE`` holds.

The JSON layout (documented in README "Restoring a site")::

    {"installer_password_env": "INSTALLER_PW",
     "db": {"host": "127.0.0.1", "port": 3306, "user": "site", "password_env": "DBPW",
            "database": "newsite", "prefix": "new_", "existing": "drop"},
     "databases": {"other.sql": {...same keys as "db"...}},
     "site": {"site_name": "...", "mail_from": "...", "from_name": "...",
              "live_site": "https://new.example.com", "cookie_domain": "", "cookie_path": "",
              "tmp_path": null, "log_path": null, "force_ssl": 0, "htaccess": "keep"},
     "super_user": {"id": null, "email": "admin@example.com", "password_env": "ADMINPW"},
     "replace": {"enabled": true, "pairs": null, "tables": null, "dry_run": false},
     "finish": {"remove_installation": true, "keep_archive": false}}

Every secret (``installer_password``, ``db.password``, ``super_user.password``) may be
given inline or as ``<name>_env`` naming an environment variable. ``*_env`` keys belong
to answers files only: the wizard refuses them in what the browser posts, so no page can
make it read (or probe) the server's environment, such as the archive password.
``finish.keep_archive`` keeps the archive parts that lie inside the site folder (by
default the finish removes them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from restorer.db import DbConnectionInfo
from restorer.errors import SitepackError

EXISTING_MODES = ("drop", "backup", "drop_prefix", "drop_all")
HTACCESS_MODES = ("keep", "default", "remove")
_PREFIX_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass(frozen=True)
class WizardOptions:
    """How the wizard serves. ``WIZARD_DEFAULTS`` is the one place its defaults are
    written: ``restore.py wizard``, ``sitepack wizard`` and the kickstart read them."""

    host: str = "127.0.0.1"
    port: int = 8780
    step_seconds: float = 2.0   # work per request of the progress bars
    retries: int = 3            # automatic retries of a failed request in the browser
    retry_seconds: int = 10     # wait before such a retry


WIZARD_DEFAULTS = WizardOptions()


def secret(section: dict, name: str, where: str) -> str | None:
    """``section[name]`` or the environment variable named by ``section[name + "_env"]``."""
    env = section.get(f"{name}_env")
    if env:
        value = os.environ.get(env)
        if value is None:
            raise SitepackError(f"{where}.{name}_env names environment variable {env}, which is not set")
        return value
    value = section.get(name)
    if value is not None and not isinstance(value, str):
        raise SitepackError(f"{where}.{name} must be a string")
    return value


def check_prefix(prefix: str) -> str:
    if not prefix or not set(prefix.lower()) <= _PREFIX_CHARS or not prefix.endswith("_"):
        raise SitepackError(
            f"table prefix {prefix!r} is not usable: use letters, digits and underscores, "
            f"ending with an underscore, like new_")
    return prefix


@dataclass
class DbAnswers:
    """Where one dump goes. The password lives only in memory."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    database: str
    prefix: str
    existing: str = "drop"
    socket: str | None = None

    def conn_info(self, *, with_database: bool = True) -> DbConnectionInfo:
        return DbConnectionInfo(host=self.host, port=self.port, user=self.user,
                                password=self.password,
                                database=self.database if with_database else "",
                                socket=self.socket or None)

    def public(self) -> dict:
        return {"host": self.host, "port": self.port, "user": self.user, "database": self.database,
                "prefix": self.prefix, "existing": self.existing, "socket": self.socket}

    @classmethod
    def parse(cls, data: dict, where: str, *, from_browser: bool = False) -> "DbAnswers":
        if not isinstance(data, dict):
            raise SitepackError(f"{where} must be an object with host, port, user, password, database, prefix")
        named = sorted(str(key) for key in data if str(key).endswith("_env"))
        if from_browser and named:
            raise SitepackError(f"{where} may not name environment variables ({', '.join(named)}): "
                                f"type the password into the form")
        missing = [k for k in ("user", "database", "prefix") if not data.get(k)]
        if missing:
            raise SitepackError(f"{where} lacks {', '.join(missing)}")
        existing = data.get("existing", "drop")
        if existing not in EXISTING_MODES:
            raise SitepackError(f"{where}.existing is {existing!r}; use one of {', '.join(EXISTING_MODES)}")
        try:
            port = int(data.get("port") or 3306)
        except (TypeError, ValueError):
            raise SitepackError(f"{where}.port must be a number like 3306") from None
        return cls(host=str(data.get("host") or "localhost"), port=port, user=str(data["user"]),
                   password=secret(data, "password", where) or "", database=str(data["database"]),
                   prefix=check_prefix(str(data["prefix"])), existing=existing,
                   socket=data.get("socket") or None)
