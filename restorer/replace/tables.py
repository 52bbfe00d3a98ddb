"""Rewrites old URLs and paths in a database's tables, value by value, in resumable slices.

``Replacer`` applies ``replace_in_value`` (``restorer.replace.values``) to every text column of chosen tables, in batches by the key
that identifies a row (keyset pagination), writing only changed rows; it runs in slices of bounded time and
its ``state()`` resumes it in a new process. Because a pair's new value never contains
an old string (``plan.check_pairs`` refuses those), a batch redone after a crash
changes nothing twice: a resumed run ends with the same database as an unbroken one.

Choices:
- columns: CHAR, VARCHAR, the TEXT family and JSON, plus VARBINARY and the BLOB family
  for values that are valid UTF-8 (a BLOB that is not text is never touched and counted
  as ``skipped_binary``); BINARY(n), generated columns and primary-key columns are
  never rewritten;
- values are read and written as raw bytes (``CAST(col AS BINARY)`` / ``_binary''``),
  so lengths in serialized data are checked against the bytes PHP stored, whatever the
  column's character set;
- a row is addressed by the primary key, else by a unique key on NOT NULL columns
  (``db.ordering_key``; a nullable one may hold many NULL rows), else by the whole row
  (a stock Joomla's ``#__fields_values`` has no key): every column compared as the
  server gives it back, ``CAST(col AS BINARY) <=> value`` (so NULLs, FLOAT/DOUBLE, dates
  and BLOBs match exactly, whatever Python would make of them), one UPDATE rewriting every
  identical copy of a row once; batches go in the order of a SHA-256 of the row, which
  is also where a resumed run continues (a row rewritten earlier in the pass may come
  round again under its new hash: nothing in it matches any more, so nothing changes);
- a new value longer than its column allows is not written: the value stays as it
  was, a warning names table, column and row, and ``too_long`` counts it;
- rows are pre-filtered by the server (``INSTR`` on substrings every spelling of an
  old string contains, see ``plan.prefilter_groups``), so only candidate rows
  cross the wire and get parsed.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import decimal
import time

import pymysql

from restorer.db import close_quietly, columns_of, ordering_key
from restorer.dbimport.sqltext import quote_ident as _q  # short: the SQL below quotes many names
from restorer.errors import DatabaseError, SitepackError

from .plan import check_pairs
from .values import Replacements, ValueStats, rewrite_value

_BATCH_BYTES = 32 * 1024 * 1024
_TEXT_TYPES = {"char", "varchar", "tinytext", "text", "mediumtext", "longtext", "json"}
_BLOB_TYPES = {"varbinary", "tinyblob", "blob", "mediumblob", "longblob"}


WORDPRESS_TABLES = ("options", "posts", "postmeta", "comments", "commentmeta", "users",
                    "usermeta", "terms", "termmeta", "term_taxonomy", "links")
JOOMLA_TABLES = ("content", "modules", "menu", "extensions", "categories", "fields_values",
                 "fields", "template_styles", "tags", "contact_details", "banners",
                 "newsfeeds", "finder_links")


def tables_for(platform: str, prefix: str, conn, *, everything: bool = False) -> list[str]:
    """The existing tables the replacement should cover, in name order.

    ``platform`` is ``"wordpress"``, ``"joomla"`` or ``"generic"``. By default the
    platform's content tables (where its URL and paths live); with ``everything`` every
    table with the prefix (for ``generic``: every table of the database when the prefix
    is empty). ``conn`` is an open pymysql connection to the site's database.
    """
    with conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'")
        existing = sorted(_text(row[0]) for row in cur.fetchall())
    prefixed = [name for name in existing if name.startswith(prefix)]
    if everything or platform == "generic":
        return prefixed
    names = {"wordpress": WORDPRESS_TABLES, "joomla": JOOMLA_TABLES}.get(platform)
    if names is None:
        raise SitepackError(f"Unknown platform {platform!r} for the replacement: use "
                            f"wordpress, joomla or generic.")
    wanted = {prefix + name for name in names}
    return [name for name in prefixed if name in wanted]


@dataclasses.dataclass
class TableReport:
    """Counts for one table (``rows`` is the table's size when its pass started)."""

    table: str
    rows: int = 0
    rows_matched: int = 0
    rows_changed: int = 0
    values_changed: int = 0
    replacements: int = 0
    serialized_rewritten: int = 0
    json_rewritten: int = 0
    invalid_serialized: int = 0
    skipped_binary: int = 0
    too_long: int = 0
    skipped: str | None = None
    done: bool = False


@dataclasses.dataclass
class _Column:
    name: str
    blob: bool
    max_chars: int | None
    max_bytes: int | None


@dataclasses.dataclass
class _TablePlan:
    key: list[str]
    columns: list[_Column]
    select_sql: str
    select_after_sql: str
    #: Set for a table with no key: the columns whose values (as selected, the rewritten
    #: ``columns`` first) identify a row; ``key`` is then the row's hash.
    identity: list[str] | None = None


#: What a row without a key is called in warnings (its SHA-256 stands for its key).
_ROW_HASH = "row sha256"


class Replacer:
    """Replaces ``pairs`` in every text column of ``tables``, resumably.

    ``conn_info`` is a ``restorer.db.DbConnectionInfo`` (anything with
    ``connect(**pymysql_options)``). ``tables=None`` means every table of the database.
    Drive it with ``run(budget_seconds)`` until it returns True; ``state()`` is a JSON
    value that ``Replacer.resume(state, conn_info)`` continues from. ``dry_run`` counts
    what would change without writing. The connection stays open between ``run`` calls
    and is closed when the work is done; call ``close()`` when dropping an unfinished
    Replacer (e.g. at the end of a web request that saved ``state()``).
    """

    def __init__(self, conn_info, pairs: list[tuple[str, str]], tables: list[str] | None = None,
                 *, dry_run: bool = False, batch_rows: int = 1000):
        safe, refused = check_pairs([tuple(pair) for pair in pairs])
        if refused:
            raise SitepackError("The replacement pairs are unsafe: " + " ".join(refused))
        self.conn_info = conn_info
        self.replacements = Replacements(safe)
        self.dry_run = dry_run
        self.batch_rows = max(1, int(batch_rows))
        self._batch_limit = self.batch_rows
        self.warnings: list[str] = []
        self._conn = None
        self._tables = list(tables) if tables is not None else None
        self._index = 0
        self._last_key: list | None = None
        self._reports: list[TableReport] = []
        self._plan: _TablePlan | None = None

    # -- state ------------------------------------------------------------------------

    def state(self) -> dict:
        """Everything needed to continue (no password: it comes with ``conn_info``)."""
        return {
            "version": 1,
            "pairs": [list(pair) for pair in self.replacements.pairs],
            "tables": self._tables,
            "dry_run": self.dry_run,
            "batch_rows": self.batch_rows,
            "index": self._index,
            "last_key": None if self._last_key is None else [_encode_key(v) for v in self._last_key],
            "reports": [dataclasses.asdict(report) for report in self._reports],
            "warnings": list(self.warnings),
        }

    @classmethod
    def resume(cls, state: dict, conn_info) -> "Replacer":
        if not isinstance(state, dict) or state.get("version") != 1:
            raise SitepackError("The saved replacement state is not one this version wrote: "
                                "start the replacement again.")
        replacer = cls(conn_info, [tuple(pair) for pair in state["pairs"]], state["tables"],
                       dry_run=state["dry_run"], batch_rows=state["batch_rows"])
        replacer._index = state["index"]
        replacer._last_key = (None if state["last_key"] is None
                              else [_decode_key(v) for v in state["last_key"]])
        replacer._reports = [TableReport(**report) for report in state["reports"]]
        replacer.warnings = list(state["warnings"])
        return replacer

    def report(self) -> list[TableReport]:
        """One report per table started so far, in order."""
        return list(self._reports)

    def totals(self) -> TableReport:
        """The counts of every table so far, summed (``table`` is ``"*"``)."""
        total = TableReport("*", done=self.done)
        for report in self._reports:
            for field in dataclasses.fields(TableReport):
                if field.type == "int":
                    setattr(total, field.name, getattr(total, field.name) + getattr(report, field.name))
        return total

    @property
    def current_table(self) -> str | None:
        """The table being worked on (for progress lines), None before start and at the end."""
        if self._tables is None or self.done:
            return None
        return self._tables[self._index]

    @property
    def done(self) -> bool:
        return self._tables is not None and self._index >= len(self._tables)

    # -- work -------------------------------------------------------------------------

    def run(self, budget_seconds: float = float("inf")) -> bool:
        """Works for about ``budget_seconds`` (at least one batch); True when finished."""
        deadline = time.monotonic() + budget_seconds
        conn = self._connection()
        try:
            if self._tables is None:
                self._tables = tables_for("generic", "", conn)
            while not self.done:
                self._step(conn)
                if time.monotonic() >= deadline:
                    break
        except pymysql.err.MySQLError as exc:
            self.close()
            table = self._tables[self._index] if self._tables and not self.done else "?"
            raise DatabaseError(f"Replacing in table {table!r} failed: {exc.args[-1]}. "
                                f"Fix the cause and resume; rows already done stay done.") from None
        if self.done:
            self.close()
        return self.done

    def close(self) -> None:
        close_quietly(self._conn)
        self._conn = None

    def _connection(self):
        if self._conn is None:
            self._conn = self.conn_info.connect(binary_prefix=True)
            self._conn.autocommit(False)
        return self._conn

    def _step(self, conn) -> None:
        table = self._tables[self._index]
        if len(self._reports) <= self._index:
            self._reports.append(TableReport(table))
            self._last_key = None
        report = self._reports[self._index]
        if self._plan is None:
            self._plan = self._plan_table(conn, report)
            if self._plan is None:
                self._next_table(report)
                return
            if self._last_key is None:
                with conn.cursor() as cur:
                    cur.execute(f"SELECT COUNT(*) FROM {_q(table)}")
                    report.rows = cur.fetchone()[0]
        plan = self._plan
        limit = self._batch_limit
        with conn.cursor() as cur:
            if self._last_key is None:
                cur.execute(plan.select_sql, (limit,))
            else:
                cur.execute(plan.select_after_sql, (*self._last_key, limit))
            rows = cur.fetchall()
        self._adapt_batch(rows)
        width = len(plan.key)
        changes = []
        for index, row in enumerate(rows):
            key = list(row[:width])
            if plan.identity and index and key == list(rows[index - 1][:width]):
                continue  # a copy of the row before: the UPDATE made for it rewrites every copy
            new_values = self._replace_row(table, plan, key, row[width:], report)
            report.rows_matched += 1
            if new_values:
                report.values_changed += len(new_values)
                changes.append((list(row[width:]) if plan.identity else key, new_values))
        if changes and not self.dry_run:
            report.rows_changed += self._write(conn, table, plan, changes)
        else:
            report.rows_changed += len(changes)
        conn.commit()
        if len(rows) < limit:
            self._next_table(report)
        else:
            self._last_key = list(rows[-1][:width])

    def _adapt_batch(self, rows) -> None:
        """Keeps a batch's values under ``_BATCH_BYTES`` so memory stays flat with big rows."""
        size = sum(len(value) for row in rows for value in row if isinstance(value, bytes))
        if size > _BATCH_BYTES and self._batch_limit > 1:
            self._batch_limit //= 2
        elif size < _BATCH_BYTES // 4 and self._batch_limit < self.batch_rows:
            self._batch_limit = min(self.batch_rows, self._batch_limit * 2)

    def _next_table(self, report: TableReport) -> None:
        report.done = True
        self._index += 1
        self._last_key = None
        self._plan = None

    def _replace_row(self, table: str, plan: _TablePlan, key: list, values, report: TableReport
                     ) -> dict[str, bytes]:
        rep = self.replacements
        new_values: dict[str, bytes] = {}
        for column, value in zip(plan.columns, values):
            if not value or not rep.might_match(value):
                continue
            if column.blob:
                try:
                    value.decode("utf-8")
                except UnicodeDecodeError:
                    report.skipped_binary += 1
                    continue
            stats = ValueStats()
            new = rewrite_value(value, rep, stats, 0)
            report.replacements += stats.replacements
            report.serialized_rewritten += stats.serialized_rewritten
            report.json_rewritten += stats.json_rewritten
            report.invalid_serialized += stats.invalid_serialized
            if new == value:
                continue
            if _too_long(column, new):
                report.too_long += 1
                self.warnings.append(
                    f"{table}.{column.name} (row {_key_text(plan.key, key)}): the replaced value "
                    f"is longer than the column allows, so this value was left unchanged; "
                    f"widen the column and run the replacement again.")
                continue
            new_values[column.name] = new
        return new_values

    def _write(self, conn, table: str, plan: _TablePlan, changes) -> int:
        """Writes ``changes`` ((key or identity values, new values) pairs); returns how many
        rows changed (every copy of a keyless row counts)."""
        limit = _statement_limit(conn)
        with conn.cursor() as cur:
            if plan.identity:
                written = 0
                for identity, values in changes:
                    sets = ", ".join(f"{_q(name)} = {conn.escape(value)}"
                                     for name, value in values.items())
                    where = " AND ".join(f"CAST({_q(name)} AS BINARY) <=> {conn.escape(part)}"
                                         for name, part in zip(plan.identity, identity))
                    written += cur.execute(f"UPDATE {_q(table)} SET {sets} WHERE {where}")
                return written
            if len(plan.key) > 1:
                for key, values in changes:
                    sets = ", ".join(f"{_q(name)} = {conn.escape(value)}"
                                     for name, value in values.items())
                    where = " AND ".join(f"{_q(name)} = {conn.escape(part)}"
                                         for name, part in zip(plan.key, key))
                    cur.execute(f"UPDATE {_q(table)} SET {sets} WHERE {where}")
                return len(changes)
            chunk, size = [], 0
            for change in changes:
                change_size = sum(len(v) * 2 + 64 for v in change[1].values())
                if chunk and size + change_size > limit:
                    cur.execute(_case_update(conn, table, plan.key[0], chunk))
                    chunk, size = [], 0
                chunk.append(change)
                size += change_size
            cur.execute(_case_update(conn, table, plan.key[0], chunk))
        return len(changes)

    def _plan_table(self, conn, report: TableReport) -> _TablePlan | None:
        table = report.table
        with conn.cursor() as cur:
            cur.execute("SELECT TABLE_TYPE FROM information_schema.TABLES "
                        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s", (table,))
            found = cur.fetchone()
            if found is None or _text(found[0]) != "BASE TABLE":
                return self._skip(report, f"Table {table!r} is not a table of this database; "
                                          f"it was skipped.")
            cur.execute("SELECT DATABASE()")
            database = _text(cur.fetchone()[0])
            key, _ = ordering_key(cur, database, table)
            columns, stored = [], []
            for column in columns_of(cur, database, table).get(table, []):
                if column.generated:
                    continue
                stored.append(column.name)
                if column.name in key:
                    continue
                if column.data_type in _TEXT_TYPES or column.data_type in _BLOB_TYPES:
                    is_char = column.data_type in ("char", "varchar")
                    columns.append(_Column(column.name, column.data_type in _BLOB_TYPES,
                                           column.max_chars if is_char and column.max_chars else None,
                                           column.max_bytes if not is_char and column.max_bytes else None))
        if not columns:
            return self._skip(report, None)
        if not key:
            return _whole_row_select_sql(table, columns, stored, self.replacements.groups)
        return _select_sql(table, key, columns, self.replacements.groups)

    def _skip(self, report: TableReport, warning: str | None) -> None:
        report.skipped = warning or "no text columns"
        if warning:
            self.warnings.append(warning)
        return None


def _prefilter(cast: list[str], groups) -> str:
    """The server-side test for candidate rows: some column holds every needle of a group."""
    conditions = []
    for expression in cast:
        for group in groups:
            needles = " AND ".join(f"INSTR({expression}, {_binary_literal(n)}) > 0" for n in group)
            conditions.append(f"({needles})")
    return " OR ".join(conditions) if conditions else "FALSE"


def _whole_row_select_sql(table: str, columns: list[_Column], stored: list[str], groups
                          ) -> _TablePlan:
    """Candidate rows of a keyless table in the order of their hash, each with the binary
    value of every stored column (the rewritten ones first)."""
    rewritten = [column.name for column in columns]
    identity = rewritten + [name for name in stored if name not in rewritten]
    cast = [f"CAST({_q(name)} AS BINARY)" for name in identity]
    # HEX keeps the separator out of the values and 'N' (not a hex digit) tells NULL apart.
    row_hash = ("SHA2(CONCAT_WS(',', " + ", ".join(f"IFNULL(HEX({c}), 'N')" for c in cast)
                + "), 256)")
    where = _prefilter(cast[:len(rewritten)], groups)
    head = f"SELECT {row_hash}, {', '.join(cast)} FROM {_q(table)} WHERE "
    tail = " ORDER BY 1 LIMIT %s"
    return _TablePlan([_ROW_HASH], columns, head + f"({where})" + tail,
                      head + f"{row_hash} > %s AND ({where})" + tail, identity=identity)


def _select_sql(table: str, key: list[str], columns: list[_Column], groups) -> _TablePlan:
    cast = [f"CAST({_q(column.name)} AS BINARY)" for column in columns]
    where = _prefilter(cast, groups)
    keys = ", ".join(_q(name) for name in key)
    head = f"SELECT {keys}, {', '.join(cast)} FROM {_q(table)} WHERE "
    tail = f" ORDER BY {keys} LIMIT %s"
    placeholders = ", ".join(["%s"] * len(key))
    after = f"({keys}) > ({placeholders})" if len(key) > 1 else f"{keys} > %s"
    return _TablePlan(key, columns, head + f"({where})" + tail,
                      head + f"{after} AND ({where})" + tail)


def _case_update(conn, table: str, key: str, chunk) -> str:
    names = []
    for _, values in chunk:
        for name in values:
            if name not in names:
                names.append(name)
    sets = []
    for name in names:
        whens = " ".join(f"WHEN {conn.escape(k[0])} THEN {conn.escape(values[name])}"
                         for k, values in chunk if name in values)
        sets.append(f"{_q(name)} = CASE {_q(key)} {whens} ELSE {_q(name)} END")
    keys = ", ".join(conn.escape(k[0]) for k, _ in chunk)
    return f"UPDATE {_q(table)} SET {', '.join(sets)} WHERE {_q(key)} IN ({keys})"


def _statement_limit(conn) -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT @@max_allowed_packet")
        packet = int(cur.fetchone()[0])
    return max(64 * 1024, min(8 * 1024 * 1024, packet // 2))


def _too_long(column: _Column, value: bytes) -> bool:
    if column.max_chars is not None:
        return len(value.decode("utf-8", "replace")) > column.max_chars
    return column.max_bytes is not None and len(value) > column.max_bytes


def _binary_literal(data: bytes) -> str:
    return "X'" + data.hex() + "'"


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, (bytes, bytearray)) else str(value)


def _key_text(names: list[str], key: list) -> str:
    return ", ".join(f"{name}={value!r}" for name, value in zip(names, key))


def _encode_key(value):
    if value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, (bytes, bytearray)):
        return {"b64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (decimal.Decimal, float, datetime.date, datetime.datetime,
                          datetime.time, datetime.timedelta)):
        return {"text": str(value)}
    raise SitepackError(f"Primary key values of type {type(value).__name__} cannot be saved "
                        f"for resuming the replacement.")


def _decode_key(value):
    if isinstance(value, dict):
        return base64.b64decode(value["b64"]) if "b64" in value else value["text"]
    return value
