"""Backup profiles (B11): named sets of settings and filters, one JSON file each.

Files live in ``<data dir>/profiles/NAME.json`` with mode 0600 because a profile may
hold a default archive password. The ``default`` profile always exists: when its file
is missing, the built-in defaults are used. ``validate`` turns user input (web form,
JSON file) into a ``Profile`` or raises ``SitepackError`` naming the bad field.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from restorer.errors import SitepackError

from restorer.privatefile import write_private_json

from . import retention
from .archive import ENCRYPTED_FORMATS, FORMATS
from .archive.parts import MIN_PART_SIZE
from .home import profiles_dir
from .naming import DEFAULT_NAME_TEMPLATE
from .storage import validate_settings as validate_storage

__all__ = ["Profile", "validate", "load", "save", "delete", "list_profiles", "parse_size",
           "DEFAULT_PROFILE", "FORMATS", "ENCRYPTED_FORMATS", "BACKUP_TYPES", "LOG_LEVELS",
           "FILTER_KEYS", "DB_KEYS"]

DEFAULT_PROFILE = "default"
BACKUP_TYPES = ("full", "files", "db")
LOG_LEVELS = ("error", "warning", "info", "debug")
_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FILTER_KEYS = ("exclude_dirs", "exclude_files", "exclude_regex", "skip_dir_contents")
DB_KEYS = ("exclude_tables", "exclude_data", "extra_tables")


@dataclasses.dataclass
class Profile:
    name: str = DEFAULT_PROFILE
    output_dir: str | None = None  # None: <site>/sitepack-backups
    name_template: str = DEFAULT_NAME_TEMPLATE
    format: str = "jpa"
    part_size: int | None = None
    sql_split_size: int | None = None  # at most 512 KiB: every SQL file is deflated
    archive_password: str | None = dataclasses.field(default=None, repr=False)
    log_level: str = "info"
    min_exec: float = 1.0
    max_exec: float = 10.0
    retry_wait: float = 10.0
    retry_count: int = 3
    backup_type: str = "full"
    default_filters: bool = True
    drill: bool = False   # drill every backup right after it (``packer/drill/``): proven restorable
    filters: dict = dataclasses.field(default_factory=lambda: {k: [] for k in FILTER_KEYS})
    db: dict = dataclasses.field(default_factory=lambda: {k: [] for k in DB_KEYS})
    storage: dict | None = None  # off-site storage (packer.storage.validate_settings), no secret
    retention: dict = dataclasses.field(default_factory=retention.empty_policy)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4}


def parse_size(text: str) -> int:
    """``"64K"``, ``"2MiB"``, ``"1.5G"``, ``"65536"`` → bytes (binary units)."""
    match = _SIZE_RE.match(text)
    if not match:
        raise SitepackError(f"{text!r} is not a size; write it like 65536, 64K, 20M or 2G")
    number, unit, _ = match.groups()
    return int(float(number) * _SIZE_UNITS[unit.lower()])


def _fail(field: str, what: str) -> SitepackError:
    return SitepackError(f"profile setting {field!r}: {what}")


def _number(data: dict, field: str, *, minimum: float, integer: bool = False):
    value = data[field]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value) if not integer else int(value)
        except (TypeError, ValueError):
            raise _fail(field, f"{value!r} is not a number") from None
    if integer and int(value) != value:
        raise _fail(field, f"{value!r} must be a whole number")
    if value < minimum:
        raise _fail(field, f"{value!r} must be at least {minimum}")
    return int(value) if integer else float(value)


def _string_list(value, field: str) -> list[str]:
    if isinstance(value, str):
        value = [line for line in value.splitlines()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(field, "must be a list of strings (one per line)")
    return [v.strip() for v in value if v.strip()]


def validate(data: dict, name: str | None = None) -> Profile:
    """A checked ``Profile`` from a dict; unknown keys and bad values are refused."""
    if not isinstance(data, dict):
        raise SitepackError("a profile must be a JSON object of settings")
    known = {f.name for f in dataclasses.fields(Profile)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise _fail(unknown[0], f"unknown setting (known: {', '.join(sorted(known))})")
    merged = Profile().to_dict()
    merged.update({k: v for k, v in data.items()})
    if name is not None:
        merged["name"] = name
    if not isinstance(merged["name"], str) or not _NAME_RE.match(merged["name"]):
        raise _fail("name", "use 1 to 64 letters, digits, '_' or '-'")
    if merged["format"] not in FORMATS:
        raise _fail("format", f"{merged['format']!r} is not one of {', '.join(FORMATS)}")
    if merged["backup_type"] not in BACKUP_TYPES:
        raise _fail("backup_type", f"{merged['backup_type']!r} is not one of {', '.join(BACKUP_TYPES)}")
    if merged["log_level"] not in LOG_LEVELS:
        raise _fail("log_level", f"{merged['log_level']!r} is not one of {', '.join(LOG_LEVELS)}")
    for field in ("part_size", "sql_split_size"):
        if merged[field] in ("", 0):
            merged[field] = None
        if merged[field] is not None:
            merged[field] = _number(merged, field, minimum=MIN_PART_SIZE, integer=True)
    merged["min_exec"] = _number(merged, "min_exec", minimum=0)
    merged["max_exec"] = _number(merged, "max_exec", minimum=0.001)
    if merged["min_exec"] > merged["max_exec"]:
        raise _fail("min_exec", "must not be larger than max_exec")
    merged["retry_wait"] = _number(merged, "retry_wait", minimum=0)
    merged["retry_count"] = _number(merged, "retry_count", minimum=0, integer=True)
    for field in ("output_dir", "archive_password"):
        if merged[field] in ("",):
            merged[field] = None
        if merged[field] is not None and not isinstance(merged[field], str):
            raise _fail(field, "must be text")
    if not isinstance(merged["name_template"], str) or not merged["name_template"].strip():
        raise _fail("name_template", "must not be empty")
    if "/" in merged["name_template"] or "\\" in merged["name_template"]:
        raise _fail("name_template", "is a file name, not a path: set output_dir for the folder")
    for field in ("default_filters", "drill"):
        if not isinstance(merged[field], bool):
            raise _fail(field, "must be true or false")
    for group, keys in (("filters", FILTER_KEYS), ("db", DB_KEYS)):
        value = merged[group] or {}
        if not isinstance(value, dict):
            raise _fail(group, f"must be an object with {', '.join(keys)}")
        extra = sorted(set(value) - set(keys))
        if extra:
            raise _fail(f"{group}.{extra[0]}", f"unknown setting (known: {', '.join(keys)})")
        merged[group] = {k: _string_list(value.get(k, []), f"{group}.{k}") for k in keys}
    for pattern in merged["filters"]["exclude_regex"]:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _fail("filters.exclude_regex", f"{pattern!r} is not a valid regular expression ({exc})") from None
    merged["storage"] = validate_storage(merged["storage"])
    merged["retention"] = retention.validate(merged["retention"], parse_size)
    return Profile(**merged)


def _path(name: str) -> Path:
    if not _NAME_RE.match(name or ""):
        raise SitepackError(f"{name!r} is not a profile name; use letters, digits, '_' or '-'")
    return profiles_dir() / f"{name}.json"


def load(name: str = DEFAULT_PROFILE) -> Profile:
    """The saved profile ``name`` (the built-in defaults for a missing ``default``)."""
    path = _path(name)
    if not path.exists():
        if name == DEFAULT_PROFILE:
            return Profile()
        raise SitepackError(
            f"there is no backup profile named {name!r} (known: {', '.join(list_profiles())})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SitepackError(f"the profile file {path} cannot be read ({exc}); fix or delete it") from None
    return validate(data, name=name)


def save(profile: Profile | dict, name: str | None = None) -> Profile:
    """Validates and writes a profile (0600); returns what was saved."""
    data = profile.to_dict() if isinstance(profile, Profile) else dict(profile)
    checked = validate(data, name=name)
    write_private_json(_path(checked.name), checked.to_dict())
    return checked


def delete(name: str) -> None:
    if name == DEFAULT_PROFILE:
        raise SitepackError("the default profile cannot be deleted (save it to reset settings)")
    path = _path(name)
    if not path.exists():
        raise SitepackError(f"there is no backup profile named {name!r}")
    path.unlink()


def list_profiles() -> list[str]:
    """Profile names, ``default`` first."""
    names = {p.stem for p in profiles_dir().glob("*.json") if _NAME_RE.match(p.stem)}
    names.discard(DEFAULT_PROFILE)
    return [DEFAULT_PROFILE, *sorted(names)]
