"""What a database holds and how to recreate it: tables, views, triggers, routines.

Definitions come from the server (``SHOW CREATE ...``) and are cleaned for another
server: ``DEFINER`` clauses removed (the restoring user becomes the definer), the source
database name removed from qualified names, and the site prefix abstracted to ``#__``.
"""

from __future__ import annotations

import dataclasses
import re

from restorer.db import server_text
from restorer.dbimport.sqltext import quote_ident, rewrite_outside_literals

from .prefix import abstract_sql

_DEFINER = re.compile(
    rb"\s+DEFINER\s*=\s*(?:`(?:[^`]|``)*`|'(?:[^'\\]|\\.)*'|[\w.%-]+)"
    rb"(?:\s*@\s*(?:`(?:[^`]|``)*`|'(?:[^'\\]|\\.)*'|[\w.%-]+))?", re.I)
_CREATE_HEAD_END = re.compile(rb"\b(VIEW|TRIGGER|PROCEDURE|FUNCTION|EVENT)\b", re.I)


def _rows(cur, sql: str, args=()) -> list[tuple]:
    cur.execute(sql, args)
    return [tuple(server_text(v) for v in row) for row in cur.fetchall()]


@dataclasses.dataclass(frozen=True)
class TableInfo:
    name: str
    kind: str           # "BASE TABLE", "VIEW" (also "SEQUENCE" etc., which are not dumped)
    engine: str | None
    rows_estimate: int
    avg_row_length: int


def list_tables(cur, database: str) -> list[TableInfo]:
    found = _rows(cur, "SELECT TABLE_NAME, TABLE_TYPE, ENGINE, IFNULL(TABLE_ROWS, 0), "
                       "IFNULL(AVG_ROW_LENGTH, 0) FROM information_schema.TABLES "
                       "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME", (database,))
    return [TableInfo(name, kind, engine, int(rows), int(avg))
            for name, kind, engine, rows, avg in found]


def strip_definer(sql: bytes) -> bytes:
    """Removes the ``DEFINER=user@host`` clause from the head of a CREATE statement."""
    head_end = _CREATE_HEAD_END.search(sql)
    limit = head_end.start() if head_end else len(sql)
    return _DEFINER.sub(b"", sql[:limit], count=1) + sql[limit:]


def strip_database(sql: bytes, database: str) -> bytes:
    """Removes ```database`.`` qualifiers so the object works in any database."""
    qualifier = (quote_ident(database) + ".").encode()
    return rewrite_outside_literals(sql, lambda part: part.replace(qualifier, b"")) \
        if qualifier in sql else sql


def portable(sql: bytes, database: str, prefix: str) -> bytes:
    return abstract_sql(strip_database(strip_definer(sql), database), prefix)


def create_table(cur, name: str) -> bytes:
    cur.execute(f"SHOW CREATE TABLE {quote_ident(name)}")
    return cur.fetchone()[1]


def create_view(cur, name: str) -> bytes:
    cur.execute(f"SHOW CREATE VIEW {quote_ident(name)}")
    return cur.fetchone()[1]


def view_order(definitions: dict[str, bytes]) -> list[str]:
    """View names so that every view comes after the views it selects from."""
    uses = {name: {other for other in definitions
                   if other != name and quote_ident(other).encode() in sql}
            for name, sql in definitions.items()}
    ordered: list[str] = []
    placed: set[str] = set()

    def place(name: str, path: tuple[str, ...]) -> None:
        if name in placed or name in path:
            return
        for dependency in sorted(uses[name]):
            place(dependency, path + (name,))
        placed.add(name)
        ordered.append(name)

    for name in sorted(definitions):
        place(name, ())
    return ordered


def triggers(cur, database: str, tables: set[str]) -> list[tuple[str, bytes]]:
    """(name, CREATE TRIGGER statement) for the triggers on ``tables``, in firing order."""
    found = _rows(cur, "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS "
                       "WHERE TRIGGER_SCHEMA = %s ORDER BY EVENT_OBJECT_TABLE, EVENT_MANIPULATION, "
                       "ACTION_TIMING, ACTION_ORDER", (database,))
    result = []
    for name, table in found:
        if table in tables:
            cur.execute(f"SHOW CREATE TRIGGER {quote_ident(name)}")
            result.append((name, cur.fetchone()[2]))
    return result


def routines(cur, database: str) -> list[tuple[str, str, bytes | None]]:
    """(type, name, CREATE statement) for every procedure and function of the database.

    The statement is None when the user may not read the routine's body.
    """
    found = _rows(cur, "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES "
                       "WHERE ROUTINE_SCHEMA = %s AND ROUTINE_TYPE IN ('PROCEDURE', 'FUNCTION') "
                       "ORDER BY ROUTINE_TYPE DESC, ROUTINE_NAME", (database,))
    result = []
    for kind, name in found:
        cur.execute(f"SHOW CREATE {kind} {quote_ident(name)}")
        result.append((kind, name, cur.fetchone()[2]))
    return result
