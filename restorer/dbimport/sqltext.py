"""Rewriting SQL text without touching what is inside quoted string literals.

The dump abstracts the site's table prefix to ``#__`` and the restorer swaps it for the
new prefix; collation names get downgraded for older servers. All of these rewrites
must leave string literals alone (Joomla stores the text ``#__`` inside its own data),
so they go through ``rewrite_outside_literals``: the statement is cut into literals,
comments, backquoted identifiers and plain SQL, and only the last two are rewritten.

Everything works on bytes: statements travel from file to server without decoding.
"""

from __future__ import annotations

import re
from collections.abc import Callable

ABSTRACT_PREFIX = b"#__"

# Possessive quantifiers keep an unterminated literal from backtracking forever.
_TOKEN = re.compile(rb"""
    '(?:[^'\\]++|\\.|'')*+'?        # single-quoted string literal
  | "(?:[^"\\]++|\\.|"")*+"?        # double-quoted string literal (default sql_mode)
  | `(?:[^`]++|``)*+`?              # backquoted identifier: rewritten like plain SQL
  | /\*.*?(?:\*/|\Z)                # block comment (also /*!40101 ... */: kept as is)
  | (?:--(?=[ \t\r\n]|\Z)|\#(?!__))[^\n]*+  # line comment; "#__" is our prefix
""", re.S | re.X)


def quote_ident(name: str) -> str:
    """``name`` as a backquoted MySQL identifier (a backquote inside is doubled)."""
    return "`" + name.replace("`", "``") + "`"


def rewrite_outside_literals(sql: bytes, rewrite: Callable[[bytes], bytes]) -> bytes:
    """``sql`` with ``rewrite`` applied to plain SQL and backquoted identifiers only."""
    out: list[bytes] = []
    pos = 0
    for match in _TOKEN.finditer(sql):
        start = match.start()
        if start > pos:
            out.append(rewrite(sql[pos:start]))
        token = match.group()
        out.append(rewrite(token) if token[:1] == b"`" else token)
        pos = match.end()
    if pos < len(sql):
        out.append(rewrite(sql[pos:]))
    return b"".join(out)


_INSERT_HEAD = re.compile(rb"\s*(?:INSERT|REPLACE)\s", re.I)
_VALUES = re.compile(rb"\sVALUES\s*\(", re.I)


def statement_head(sql: bytes) -> tuple[bytes, bytes]:
    """Splits an INSERT into (head up to VALUES, values); other statements are all head.

    The values of an INSERT are literals, numbers and hex strings only, so rewrites of
    names need not scan (possibly megabytes of) row data.
    """
    if _INSERT_HEAD.match(sql):
        found = _VALUES.search(sql)
        if found:
            return sql[:found.start()], sql[found.start():]
    return sql, b""


def swap_prefix(sql: bytes, old: bytes, new: bytes) -> bytes:
    """Replaces ``old`` by ``new`` everywhere outside string literals and comments."""
    if old not in sql:
        return sql
    head, values = statement_head(sql)
    if old not in head:
        return sql
    return rewrite_outside_literals(head, lambda part: part.replace(old, new)) + values
