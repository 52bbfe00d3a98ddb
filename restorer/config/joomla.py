"""Joomla's ``configuration.php``: read it without running PHP, rewrite it in place.

    config = read_joomla_config(site / "configuration.php")
    config.values["host"], config.problems
    text = rewrite_joomla_config(old_text, {"host": "db:3306", "secret": new_secret()})

The rewrite changes only the values asked for: every other byte of the file (comments,
ordering, quoting style, the other properties) stays as it was, so a restored site keeps
every setting its owner made. New values are PHP literals that PHP reads back exactly.
"""

from __future__ import annotations

import dataclasses
import secrets
import string
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .phpfile import (ClassBody, IncludeStatement, find_includes, parse_class, read_php_file,
                      tokenize_file, write_config_atomically)
from .phpvalues import PhpParseError, php_literal

__all__ = ["JoomlaConfig", "read_joomla_config", "parse_joomla_config", "rewrite_joomla_config",
           "new_secret", "write_config_atomically", "NEEDED_VALUES", "DATABASE_VALUES"]

CLASS_NAME = "JConfig"
# What the restore wizard fills in or needs; Joomla writes all of them in every configuration.
DATABASE_VALUES = ("dbtype", "host", "user", "password", "db", "dbprefix")
NEEDED_VALUES = DATABASE_VALUES + ("live_site", "sitename", "secret", "mailfrom", "fromname",
                                   "tmp_path", "log_path")


@dataclasses.dataclass
class JoomlaConfig:
    path: Path | None
    values: dict[str, Any]                     # public properties readable in the file itself
    includes: list[IncludeStatement]
    problems: list[str]                        # human warnings: the wizard will have blanks
    missing: list[str]                         # needed values not readable from the file
    included_values: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def effective_values(self) -> dict[str, Any]:
        """What the running site sees: values from readable included files, then the file's own."""
        return {**self.included_values, **self.values}


def read_joomla_config(path: Path) -> JoomlaConfig:
    """Reads ``configuration.php``; raises ``ConfigError`` if it cannot be read or parsed."""
    path = Path(path)
    return parse_joomla_config(read_php_file(path), path=path)


def _parse_body(text: str, where: Path | str) -> tuple[list, ClassBody | None]:
    tokens = tokenize_file(text, where)
    try:
        return tokens, parse_class(text, tokens, CLASS_NAME)
    except PhpParseError as exc:
        raise ConfigError(f"{where} is not valid PHP ({exc}); fix the file (php -l shows the problem)") from None


def parse_joomla_config(text: str, *, path: Path | None = None) -> JoomlaConfig:
    where = path or "configuration.php"
    name = Path(where).name
    tokens, body = _parse_body(text, where)
    includes = find_includes(text, tokens, file_path=path)
    values = {} if body is None else {k: slot.value for k, slot in body.properties.items() if not slot.unsupported}
    problems: list[str] = []
    if body is None and not includes:
        raise ConfigError(f"{where} does not declare class JConfig, so it is not a Joomla configuration; "
                          "restore the site's configuration.php (or choose another platform)")

    included_values: dict[str, Any] = {}
    included_names: dict[str, list[str]] = {}
    for include in includes:
        included_names[include.statement] = []
        if include.target is None:
            continue
        try:
            included_text = Path(include.target).read_bytes().decode("utf-8", errors="surrogateescape")
            _, included_body = _parse_body(included_text, include.target)
        except (OSError, ConfigError):
            continue
        if included_body is not None:
            found = {k: s.value for k, s in included_body.properties.items() if not s.unsupported}
            included_values.update(found)
            included_names[include.statement] = list(found)

    missing = [v for v in NEEDED_VALUES if v not in values]
    assigned_in_code = body.assigned_in_code if body is not None else []
    for include in includes:
        named = included_names[include.statement] or [v for v in missing + assigned_in_code]
        what = include.target or include.statement
        blanks = f" ({', '.join(dict.fromkeys(named))})" if named else ""
        problems.append(f"{name} includes {what}: the restore wizard will have blanks for values set "
                        f"there{blanks}")
    if body is not None:
        for slot in body.properties.values():
            if slot.unsupported:
                problems.append(f"{name} sets ${slot.name} with an expression sitepack does not evaluate "
                                f"({slot.unsupported}): the restore wizard will have a blank for it")
        if assigned_in_code:
            problems.append(f"{name} sets {', '.join(assigned_in_code)} in code (a method of JConfig): "
                            "the restore wizard will have blanks for values set there")
    if missing:
        problems.append(f"these values are missing from {name}: {', '.join(missing)}; the restore "
                        "wizard will have blanks for them")
    return JoomlaConfig(path, values, includes, problems, missing, included_values)


def rewrite_joomla_config(text: str, changes: dict[str, Any]) -> str:
    """``text`` with the properties in ``changes`` set to new values, every other byte kept.

    Properties the file does not declare are added before the class' closing brace, in
    the style (indentation, ``public``) of the file's last property.
    """
    tokens, body = _parse_body(text, "configuration.php")
    if body is None:
        raise ConfigError("configuration.php does not declare class JConfig (it may only include "
                          "another file), so sitepack cannot rewrite it; write the settings into "
                          "class JConfig by hand")
    hidden = [name for name in changes if name in body.other_properties]
    if hidden:
        raise ConfigError(f"configuration.php declares {', '.join(hidden)} as private, protected, "
                          "static or typed without a value; make them plain public properties")
    edits: list[tuple[int, int, str]] = []
    added: list[str] = []
    for name, value in changes.items():
        literal = _literal(name, value)
        slot = body.properties.get(name)
        if slot is None:
            added.append(name)
        elif slot.has_value:
            edits.append((slot.value_start, slot.value_end, literal))
        else:
            edits.append((slot.value_end, slot.value_end, f" = {literal}"))
    if added:
        indent, newline = _member_style(text, body)
        lines = "".join(f"{indent}public ${name} = {_literal(name, changes[name])};{newline}" for name in added)
        line_start = text.rfind("\n", 0, body.close_brace) + 1
        if text[line_start:body.close_brace].strip() == "":
            edits.append((line_start, line_start, lines))
        else:
            edits.append((body.close_brace, body.close_brace, newline + lines))
    result = text
    for start, end, replacement in sorted(edits, reverse=True):
        result = result[:start] + replacement + result[end:]
    _check_rewrite(result, changes)
    return result


def _literal(name: str, value: Any) -> str:
    if not name.isidentifier():
        raise ConfigError(f"{name!r} is not a valid configuration property name")
    try:
        return php_literal(value)
    except ValueError as exc:
        raise ConfigError(f"cannot write ${name}: {exc}") from None


def _member_style(text: str, body: ClassBody) -> tuple[str, str]:
    newline = "\r\n" if "\r\n" in text else "\n"
    indent = "\t"
    for slot in body.properties.values():
        line_start = text.rfind("\n", 0, slot.value_start) + 1
        line = text[line_start:slot.value_start]
        indent = line[: len(line) - len(line.lstrip(" \t"))] or indent
    return indent, newline


def _check_rewrite(result: str, changes: dict[str, Any]) -> None:
    """Reads the result back: a rewrite that would not give PHP the asked values never leaves here."""
    _, body = _parse_body(result, "the rewritten configuration.php")
    for name, value in changes.items():
        slot = body.properties.get(name) if body is not None else None
        if slot is None or not _same(slot.value, value):
            raise ConfigError(f"sitepack could not rewrite ${name} safely in configuration.php; "
                              "edit the file by hand")


def _same(read, wanted) -> bool:
    if isinstance(wanted, tuple):
        wanted = list(wanted)
    if isinstance(wanted, float) and wanted != wanted:
        return isinstance(read, float) and read != read
    if isinstance(wanted, dict) and isinstance(read, list):
        read = dict(enumerate(read))
    if isinstance(wanted, list) and isinstance(read, list):
        return len(read) == len(wanted) and all(_same(a, b) for a, b in zip(read, wanted))
    if isinstance(wanted, dict) and isinstance(read, dict):
        return list(map(str, read)) == list(map(str, wanted)) and all(
            _same(a, b) for a, b in zip(read.values(), wanted.values()))
    return type(read) is type(wanted) and read == wanted


def new_secret(length: int = 20) -> str:
    """A new random value for Joomla's ``$secret`` (letters and digits)."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))
