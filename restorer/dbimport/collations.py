"""Charset and collation downgrades for servers that lack what the dump names.

MySQL 8 writes ``utf8mb4_0900_ai_ci``, which MariaDB does not have; old servers lack
``utf8mb4`` or the ``utf8mb3`` spelling. The server is asked what it supports (``SHOW
COLLATION``, ``SHOW CHARACTER SET``) and each unknown name is replaced by the closest
one it has. Every replacement is reported once as a warning.
"""

from __future__ import annotations

import re

from .sqltext import rewrite_outside_literals

_NAMES = re.compile(rb"\b(COLLATE|CHARSET|CHARACTER\s+SET)(\s*=?\s*)([A-Za-z0-9_]+)\b", re.I)


class CollationMapper:
    def __init__(self, cursor):
        cursor.execute("SHOW COLLATION")
        rows = cursor.fetchall()
        self.collations = {_text(row[0]).lower(): _text(row[1]).lower() for row in rows}
        cursor.execute("SHOW CHARACTER SET")
        self.default_collation = {_text(row[0]).lower(): _text(row[2]).lower()
                                  for row in cursor.fetchall()}
        self.warnings: list[str] = []
        self._reported: set[tuple[str, str]] = set()

    def charset(self, name: str) -> str:
        name = name.lower()
        if name in self.default_collation:
            return name
        for candidate in {"utf8mb3": ("utf8",), "utf8": ("utf8mb3",),
                          "utf8mb4": ("utf8", "utf8mb3")}.get(name, ()):
            if candidate in self.default_collation:
                return candidate
        return "utf8mb4" if "utf8mb4" in self.default_collation else "utf8"

    def collation(self, name: str) -> str:
        name = name.lower()
        if name in self.collations:
            return name
        source_charset, _, rest = name.partition("_")
        charset = self.charset(source_charset)
        same = f"{charset}_{rest}"
        if same in self.collations:
            return same
        candidates = []
        if rest.endswith("_bin") or rest == "bin":
            candidates.append(f"{charset}_bin")
        candidates += [f"{charset}_unicode_520_ci", f"{charset}_unicode_ci", f"{charset}_general_ci"]
        if rest.startswith("0900") or "uca" in rest or "unicode" in rest:
            pass  # the Unicode candidates above are the nearest
        elif charset in self.default_collation:
            candidates.insert(0, self.default_collation[charset])
        for candidate in candidates:
            if candidate in self.collations:
                return candidate
        return self.default_collation.get(charset, "utf8mb4_general_ci")

    def rewrite(self, sql: bytes) -> bytes:
        """``sql`` with unsupported charset/collation names replaced (outside literals)."""
        if not _NAMES.search(sql):
            return sql
        return rewrite_outside_literals(sql, lambda part: _NAMES.sub(self._replace, part))

    def _replace(self, match: re.Match) -> bytes:
        keyword, between, name = match.group(1), match.group(2), match.group(3).decode()
        is_collation = keyword.upper() == b"COLLATE"
        known = self.collations if is_collation else self.default_collation
        if name.lower() in known:
            return match.group()
        replacement = self.collation(name) if is_collation else self.charset(name)
        if (name, replacement) not in self._reported:
            self._reported.add((name, replacement))
            kind = "collation" if is_collation else "character set"
            self.warnings.append(f"The {kind} {name} is not available on this server; "
                                 f"{replacement} is used instead.")
        return keyword + between + replacement.encode()


def _text(value) -> str:
    return value.decode() if isinstance(value, (bytes, bytearray)) else str(value)
