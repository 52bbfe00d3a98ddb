"""The ``#__`` abstraction: the site's table prefix becomes ``#__`` in the dump.

Names that start with the prefix (tables, views, constraints, indexes, triggers,
routines, also inside view, trigger and routine bodies) are written as ``#__rest`` so
the restorer can pick any new prefix. String literals are never touched (FORMATS §5).
A column whose name happens to start with the prefix is abstracted too, as Akeeba does.
"""

from __future__ import annotations

import re

from restorer.dbimport.sqltext import ABSTRACT_PREFIX, rewrite_outside_literals


def abstract_name(name: str, prefix: str) -> str:
    """``jos_content`` -> ``#__content``; names without the prefix stay as they are."""
    if prefix and name.startswith(prefix):
        return "#__" + name[len(prefix):]
    return name


def abstract_sql(sql: bytes, prefix: str) -> bytes:
    """``sql`` with every identifier that starts with ``prefix`` abstracted to ``#__``."""
    if not prefix:
        return sql
    raw = prefix.encode()
    if raw not in sql:
        return sql
    quoted = b"`" + raw
    bare = re.compile(rb"(?<![\w$@])" + re.escape(raw) + rb"(?=[\w$])")

    def rewrite(part: bytes) -> bytes:
        if part[:1] == b"`":
            return b"`" + ABSTRACT_PREFIX + part[len(quoted):] if part.startswith(quoted) else part
        return bare.sub(ABSTRACT_PREFIX, part)

    return rewrite_outside_literals(sql, rewrite)
