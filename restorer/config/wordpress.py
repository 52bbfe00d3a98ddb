"""WordPress' ``wp-config.php``: read its ``define()`` settings and ``$table_prefix`` without
running PHP, and rewrite them in place (refreshing the authentication keys and salts).

    config = read_wp_config(site / "wp-config.php")
    config.values["DB_NAME"], config.values["table_prefix"]
    text = rewrite_wp_config(old_text, {"DB_HOST": "db:3306", "table_prefix": "new_"})

Keys of ``values`` and ``changes`` are constant names for ``define()`` settings, and
``table_prefix`` for the ``$table_prefix`` variable.
"""

from __future__ import annotations

import dataclasses
import secrets
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .phpfile import (IncludeStatement, find_includes, parse_defines, parse_top_level_assignments,
                      read_php_file, tokenize_file)
from .phpvalues import PhpParseError, php_literal

__all__ = ["WpConfig", "read_wp_config", "parse_wp_config", "rewrite_wp_config", "new_salt",
           "DATABASE_DEFINES", "SALT_DEFINES", "TABLE_PREFIX"]

TABLE_PREFIX = "table_prefix"
DATABASE_DEFINES = ("DB_NAME", "DB_USER", "DB_PASSWORD", "DB_HOST", "DB_CHARSET", "DB_COLLATE")
SALT_DEFINES = ("AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY",
                "AUTH_SALT", "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT")
URL_DEFINES = ("WP_HOME", "WP_SITEURL")
NEEDED_VALUES = ("DB_NAME", "DB_USER", "DB_PASSWORD", "DB_HOST", TABLE_PREFIX)
# The characters WordPress' own key generator (wp_generate_password with specials) uses,
# minus the quote and backslash so the keys stay readable in the file.
_SALT_ALPHABET = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                  "!@#$%^&*()-_ []{}<>~`+=,.;:/?|")


@dataclasses.dataclass
class WpConfig:
    path: Path | None
    values: dict[str, Any]          # literal define() values and ``table_prefix``
    includes: list[IncludeStatement]   # includes other than WordPress' own wp-settings.php
    problems: list[str]
    missing: list[str]

    @property
    def salts(self) -> dict[str, Any]:
        return {name: self.values[name] for name in SALT_DEFINES if name in self.values}


def read_wp_config(path: Path) -> WpConfig:
    path = Path(path)
    return parse_wp_config(read_php_file(path), path=path)


def _structure(text: str, where):
    tokens = tokenize_file(text, where)
    try:
        return tokens, parse_defines(text, tokens), parse_top_level_assignments(text, tokens)
    except PhpParseError as exc:
        raise ConfigError(f"{where} is not valid PHP ({exc}); fix the file (php -l shows the problem)") from None


def _is_wordpress_bootstrap(include: IncludeStatement) -> bool:
    return "wp-settings.php" in include.statement


def parse_wp_config(text: str, *, path: Path | None = None) -> WpConfig:
    where = path or "wp-config.php"
    name = Path(where).name
    tokens, defines, assignments = _structure(text, where)
    if "DB_NAME" not in defines and "DB_HOST" not in defines and TABLE_PREFIX not in assignments \
            and not find_includes(text, tokens, file_path=path):
        raise ConfigError(f"{where} defines neither DB_NAME nor DB_HOST nor $table_prefix, so it is not a "
                          "WordPress configuration; restore the site's wp-config.php (or choose another platform)")
    values = {k: slot.value for k, slot in defines.items() if not slot.unsupported}
    prefix_slot = assignments.get(TABLE_PREFIX)
    if prefix_slot is not None and not prefix_slot.unsupported:
        values[TABLE_PREFIX] = prefix_slot.value
    includes = [i for i in find_includes(text, tokens, file_path=path) if not _is_wordpress_bootstrap(i)]
    missing = [v for v in NEEDED_VALUES if v not in values]
    problems = []
    for include in includes:
        what = include.target or include.statement
        blanks = f" ({', '.join(missing)})" if missing else ""
        problems.append(f"{name} includes {what}: the restore wizard will have blanks for values set "
                        f"there{blanks}")
    unsupported = [(k, s) for k, s in defines.items() if s.unsupported and k in NEEDED_VALUES + SALT_DEFINES
                   + URL_DEFINES]
    if prefix_slot is not None and prefix_slot.unsupported:
        unsupported.append((TABLE_PREFIX, prefix_slot))
    for key, slot in unsupported:
        problems.append(f"{name} sets {key} with an expression sitepack does not evaluate ({slot.unsupported}): "
                        "the restore wizard will have a blank for it")
    if missing:
        problems.append(f"these values are missing from {name}: {', '.join(missing)}; the restore wizard "
                        "will have blanks for them")
    return WpConfig(path, values, includes, problems, missing)


def new_salt(length: int = 64) -> str:
    return "".join(secrets.choice(_SALT_ALPHABET) for _ in range(length))


def rewrite_wp_config(text: str, changes: dict[str, Any], *, refresh_salts: bool = True) -> str:
    """``text`` with the given settings changed (and new keys and salts), every other byte kept.

    Settings the file lacks are added above WordPress' "That's all, stop editing!" line (or
    above the ``ABSPATH``/``wp-settings.php`` bootstrap, or at the end).
    """
    changes = dict(changes)
    if refresh_salts:
        for salt in SALT_DEFINES:
            changes.setdefault(salt, new_salt())
    tokens, defines, assignments = _structure(text, "wp-config.php")
    edits: list[tuple[int, int, str]] = []
    added: list[str] = []
    newline = "\r\n" if "\r\n" in text else "\n"
    for key, value in changes.items():
        try:
            literal = php_literal(value)
        except ValueError as exc:
            raise ConfigError(f"cannot write {key}: {exc}") from None
        slot = assignments.get(TABLE_PREFIX) if key == TABLE_PREFIX else defines.get(key)
        if slot is not None and slot.has_value:
            edits.append((slot.value_start, slot.value_end, literal))
        elif key == TABLE_PREFIX:
            added.append(f"$table_prefix = {literal};{newline}")
        else:
            if not key.replace("_", "").isalnum():
                raise ConfigError(f"{key!r} is not a valid constant name")
            added.append(f"define( {php_literal(key)}, {literal} );{newline}")
    if added:
        position = _insertion_point(text, tokens)
        prefix = "" if position == 0 or text[position - 1] == "\n" else newline
        edits.append((position, position, prefix + "".join(added)))
    result = text
    for start, end, replacement in sorted(edits, reverse=True):
        result = result[:start] + replacement + result[end:]
    _check(result, changes)
    return result


def _insertion_point(text: str, tokens) -> int:
    """Start of the line where new settings go (WordPress' own layout first)."""
    for marker in ("/* That's all, stop editing!", "/** Absolute path to the WordPress directory.",
                   "if ( ! defined( 'ABSPATH' ) )", "if ( !defined('ABSPATH') )"):
        index = text.find(marker)
        if index >= 0:
            return text.rfind("\n", 0, index) + 1
    for token in tokens:
        if token.kind == "ident" and token.text.lower() in ("require_once", "require") and \
                "wp-settings.php" in text[token.start:text.find(";", token.start)]:
            return text.rfind("\n", 0, token.start) + 1
    closing = [t for t in tokens if t.kind == "close_tag"]
    if closing:
        return closing[-1].start
    return len(text)


def _check(result: str, changes: dict[str, Any]) -> None:
    after = parse_wp_config(result)
    for key, value in changes.items():
        if key not in after.values or after.values[key] != value or type(after.values[key]) is not type(value):
            raise ConfigError(f"sitepack could not rewrite {key} safely in wp-config.php; edit the file by hand")
