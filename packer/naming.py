"""Naming variables (FORMATS.md §6) for archive names, descriptions and comments.

``expand("site-[HOST]-[DATE]-[TIME_TZ]-[RANDOM]", context)`` replaces every known
``[VARIABLE]``; unknown bracketed words are left as written so a typo shows in the
result instead of vanishing. One ``NamingContext`` is made per backup, so ``[RANDOM]``
and the clock read the same in the archive name, the description and the comment.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import secrets
import socket
import string
import unicodedata

from restorer import __version__

DEFAULT_NAME_TEMPLATE = "site-[HOST]-[DATE]-[TIME_TZ]-[RANDOM]"
UNKNOWN_HOST = "unknown_host"
SLUG_MAX = 50
_RANDOM_ALPHABET = string.ascii_lowercase + string.digits
_VARIABLE_RE = re.compile(r"\[([A-Z_]+)\]")
_UNSAFE_RE = re.compile(r"[^a-z0-9_-]+")
_UNSAFE_NAME_RE = re.compile(r"[^A-Za-z0-9._@+-]+")
_UNSAFE_HOST_RE = re.compile(r"[^a-z0-9.-]+")


def backup_host(site_host: str | None) -> str | None:
    """The host a backup is named after: the host of the site's configured URL, else this
    machine's name (a site without a configured URL is usually served from it)."""
    return site_host or socket.gethostname() or None


def slug(text: str, limit: int = SLUG_MAX) -> str:
    """Lower-case ASCII letters, digits, ``_`` and ``-`` only; at most ``limit`` chars."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    cleaned = _UNSAFE_RE.sub("_", folded.lower()).strip("_-")
    return cleaned[:limit].strip("_-")


def safe_file_name(name: str) -> str:
    """A name usable as a file name everywhere: unsafe runs become ``_``."""
    cleaned = _UNSAFE_NAME_RE.sub("_", name).strip("._")
    return cleaned or "backup"


@dataclasses.dataclass
class NamingContext:
    """What the variables are made of, fixed for the whole backup."""

    now: dt.datetime  # aware, in the local zone
    host: str | None = None
    site_name: str | None = None
    platform_name: str | None = None
    platform_version: str | None = None
    random: str = dataclasses.field(
        default_factory=lambda: "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(16)))

    @classmethod
    def for_now(cls, **kwargs) -> "NamingContext":
        return cls(now=dt.datetime.now().astimezone(), **kwargs)

    def values(self) -> dict[str, str]:
        now = self.now
        tz_raw = now.tzname() or "UTC"
        tz_safe = slug(tz_raw) or "utc"
        offset = now.strftime("%z") or "+0000"
        site = slug(self.site_name or "") or "site"
        return {
            "DATE": now.strftime("%Y%m%d"),
            "YEAR": now.strftime("%Y"),
            "MONTH": now.strftime("%m"),
            "DAY": now.strftime("%d"),
            "TIME": now.strftime("%H%M%S"),
            "TIME_TZ": now.strftime("%H%M%S") + tz_safe,
            "TZ": tz_safe,
            "TZ_RAW": tz_raw,
            "GMT_OFFSET": offset,
            "WEEK": f"{now.isocalendar().week:02d}",
            "WEEKDAY": now.strftime("%A"),
            "HOST": _UNSAFE_HOST_RE.sub("_", (self.host or "").lower()).strip("._-") or UNKNOWN_HOST,
            "SITENAME": site,
            "SITE": site,
            "VERSION": __version__,
            "PLATFORM_NAME": self.platform_name or "",
            "PLATFORM_VERSION": self.platform_version or "",
            "RANDOM": self.random,
        }


def expand(template: str, context: NamingContext) -> str:
    """``template`` with every known ``[VARIABLE]`` replaced."""
    values = context.values()
    return _VARIABLE_RE.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def archive_base_name(template: str, context: NamingContext) -> str:
    """The archive's file name without extension: expanded, then made file-safe."""
    return safe_file_name(expand(template, context))


def default_description(context: NamingContext) -> str:
    """Akeeba's default: "Backup taken on " + local date and time with zone."""
    return "Backup taken on " + context.now.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
