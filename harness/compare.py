"""Comparing an origin site with its restored copy: files by SHA-256, tables by content.

Used by the tests and by ``make demo``. Row contents are hashed by the server on both
sides from the hex/text form of every column (so bytes, NULL vs '' and trailing spaces
all count); per-row hashes are sorted, so row order and table names do not matter.
Views, triggers and routines are compared by definition with the prefix and the
database name normalised away.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from restorer.dbimport.sqltext import quote_ident

_TEXT_NUMBERS = {"tinyint", "smallint", "mediumint", "int", "bigint", "decimal", "double", "year"}


def file_digests(root: Path, *, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """relative path -> sha256 (``link:target`` for symlinks, ``empty-dir``), ``skip`` prefixes left out."""
    out = {}
    for path in sorted(Path(root).rglob("*")):
        rel = path.relative_to(root).as_posix()
        if any(rel == s or rel.startswith(s + "/") for s in skip):
            continue
        if path.is_symlink():
            out[rel] = "link:" + os.readlink(path)
        elif path.is_file():
            with open(path, "rb") as f:
                out[rel] = hashlib.file_digest(f, "sha256").hexdigest()
        elif path.is_dir() and not any(path.iterdir()):
            out[rel] = "empty-dir"
    return out


def _column_expr(name: str, data_type: str) -> str:
    q = quote_ident(name)
    if data_type == "float":
        return f"IFNULL({q}+0e0,'~')"
    if data_type == "bit":
        return f"IFNULL({q}+0,'~')"
    if data_type in _TEXT_NUMBERS:
        return f"IFNULL(CAST({q} AS CHAR),'~')"
    return f"IFNULL(HEX({q}),'~')"


def table_hashes(conn, prefix: str) -> dict[str, tuple[int, str]]:
    """{abstract table name: (rows, hash of the row contents)} for base tables named prefix*."""
    result = {}
    with conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                    "AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME")
        tables = [row[0] for row in cur.fetchall() if row[0].startswith(prefix)]
        for table in tables:
            cur.execute("SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE "
                        "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION", (table,))
            exprs = [_column_expr(name, kind) for name, kind in cur.fetchall()]
            cur.execute(f"SELECT MD5(CONCAT_WS('|', {', '.join(exprs)})) FROM {quote_ident(table)}")
            digests = sorted(row[0] for row in cur.fetchall())
            result["#__" + table[len(prefix):]] = (len(digests), hashlib.sha256("".join(digests).encode()).hexdigest())
    return result


def definitions(conn, prefix: str) -> dict[str, str]:
    """Views, triggers and routines, normalised (prefix -> #__, database name removed)."""
    with conn.cursor() as cur:
        cur.execute("SELECT DATABASE()")
        database = cur.fetchone()[0]

        def norm(text: str) -> str:
            # Only quoted names carry the prefix; literals must come back unchanged.
            return text.replace(f"`{database}`.", "").replace(f"`{prefix}", "`#__")

        found = {}
        cur.execute("SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()")
        for name, definition in cur.fetchall():
            found["view " + name[len(prefix):]] = norm(definition)
        cur.execute("SELECT TRIGGER_NAME, EVENT_MANIPULATION, ACTION_TIMING, EVENT_OBJECT_TABLE, ACTION_STATEMENT "
                    "FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()")
        for name, event, timing, table, action in cur.fetchall():
            found["trigger " + name[len(prefix):]] = " ".join((event, timing, table[len(prefix):], norm(action)))
        cur.execute("SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()")
        for kind, name in cur.fetchall():
            cur.execute(f"SHOW CREATE {kind} {quote_ident(name)}")
            create = cur.fetchone()[2]
            found[f"{kind.lower()} {name[len(prefix):]}"] = norm(create.split("`", 3)[-1] if "DEFINER" in create else create)
    return found
