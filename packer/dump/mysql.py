"""The database dump: a MySQL/MariaDB database as ``site.sql`` (+ ``site.s01``...).

Layout (FORMATS §5): every statement starts with ``/**ABDB**/`` and ends with ``;\\n``;
per table ``DROP TABLE IF EXISTS``, ``CREATE TABLE``, then extended INSERTs under
``packet_size``; then views (dependency order), triggers, procedures and functions.

Speed: the server formats every value as an SQL literal (``QUOTE()`` for text,
``0x``+``HEX()`` for binary, spatial and non-UTF-8 text, plain numbers) and glues a whole
row into one string, so Python never decodes a value; it only joins rows.

Consistency: one ``START TRANSACTION WITH CONSISTENT SNAPSHOT`` (REPEATABLE READ) covers
everything a single process dumps, so InnoDB tables form one snapshot while the site
keeps writing.

Parallelism: formatting literals costs the server more than the rest of the dump, so
extra reader connections fetch the next batches of a table while this process writes
the current one; the output is written in order, byte for byte what one connection
would write. All connections must see the same snapshot: another connection briefly
holds ``LOCK TABLES ... READ`` on the tables to dump (no commit can touch them) while
every reader starts its transaction, then lets go, as mydumper does with a global lock.
Where the lock is refused (no LOCK TABLES privilege) or waits too long (a long
transaction on the site), the dump reads on its one connection instead.

Rows are read in primary-key order in batches (keyset pagination, the
last key saved), so a dump resumed in a NEW process (which cannot rejoin the old
snapshot) continues each table right after the last row written: without writes in
between the output is byte-identical to an unbroken run; with writes, each row present
at the start and not deleted is dumped exactly once, rows inserted after the start may
or may not appear, and tables dumped after the resume reflect the later time. Tables
without a primary key (or unique NOT NULL key) continue by row offset, which is exact
only when nobody writes to them in between.
"""

from __future__ import annotations

import bisect
import collections
import concurrent.futures
import dataclasses
import itertools
import operator
import queue
import re
import time
from pathlib import Path

import pymysql
import pymysql.cursors

from restorer.db import Column, DbConnectionInfo, close_quietly, columns_of, connection_lost, ordering_keys
from restorer.dbimport.checksums import BINARY as _BINARY, UTF8 as _UTF8, TableSums, row_expression, value_literal
from restorer.dbimport.sqltext import quote_ident
from restorer.errors import DatabaseError

from . import schema
from .prefix import abstract_name
from .writer import SplitWriter, part_name

MARKER = "\n/**ABDB**/"
_START = b"/**ABDB**/"
_END = b";\n"
STATE_FORMAT = 1
_BATCH_BYTES = 512 << 10
# How long the snapshot lock may wait for the site's open transactions before the dump
# gives up on parallel readers (writers queue behind a waiting lock, so keep it short).
_LOCK_WAIT_SECONDS = 3

UNSUMMED_WARNING = ("The database dump was begun by an older sitepack and finished by this one: its "
                    "rows have no checksums, so a restore of this backup cannot verify them. Make "
                    "a new backup to have one that can.")

# Akeeba keeps the structure but not the contents of these (plus MEMORY tables):
# sessions, and the Smart Search index (rebuilt by the site). The taxonomy root and
# the stop words (#__finder_terms_common) are configuration and stay.
DEFAULT_DATA_EXCLUSIONS = (
    "#__session",
    r"re:^#__finder_(links|links_terms\w*|terms|tokens|tokens_aggregate|taxonomy_map|logging)$",
)

@dataclasses.dataclass
class DumpOptions:
    """What to dump. Table patterns are names (real ``jos_x`` or abstract ``#__x``) or
    regular expressions written ``re:...`` (searched in both names)."""

    prefix: str
    extra_tables: list[str] = dataclasses.field(default_factory=list)
    exclude_tables: list[str] = dataclasses.field(default_factory=list)
    exclude_data: list[str] = dataclasses.field(default_factory=lambda: list(DEFAULT_DATA_EXCLUSIONS))
    skip_memory_data: bool = True
    split_size: int | None = None
    packet_size: int = 1 << 20
    basename: str = "site"
    batch_rows: int = 20000   # rows per query (and the finest slice granularity)
    readers: int = 2          # extra connections reading batches ahead (0: one connection)


@dataclasses.dataclass
class DumpProgress:
    table: str = ""
    rows_done: int = 0
    rows_total: int = 0          # the server's estimate; may be off for InnoDB
    items_done: int = 0
    items_total: int = 0

    @property
    def percent(self) -> float:
        """Percentage of the current table (capped at 100: estimates can be low)."""
        if not self.rows_total:
            return 0.0
        return min(100.0, 100.0 * self.rows_done / self.rows_total)

    @property
    def message(self) -> str:
        """The UI's "minor message": what is being dumped right now."""
        if not self.table:
            return ""
        return f"Dumping {self.table}: {self.rows_done:,} of ~{self.rows_total:,} rows ({self.percent:.0f}%)"


def matches(patterns, *names: str) -> bool:
    for pattern in patterns:
        if pattern.startswith("re:"):
            if any(re.search(pattern[3:], name) for name in names):
                return True
        elif pattern in names:
            return True
    return False


def key_literal(column: Column) -> str:
    """Like ``value_literal`` but typed for comparison with the column in a WHERE."""
    literal = value_literal(column)
    if column.data_type not in _BINARY and column.charset and column.charset.lower() not in _UTF8:
        return (f"CONCAT('CONVERT(',{literal},' USING {column.charset}) "
                f"COLLATE {column.collation}')")
    return literal


def _up_to(key: list[str], values: list[str]) -> str:
    """WHERE condition: rows whose key sorts before or at ``values``."""
    terms = []
    for i in range(len(key)):
        equal = [f"{quote_ident(key[j])} = {values[j]}" for j in range(i)]
        terms.append("(" + " AND ".join(equal + [f"{quote_ident(key[i])} < {values[i]}"]) + ")")
    terms.append("(" + " AND ".join(f"{quote_ident(k)} = {v}" for k, v in zip(key, values)) + ")")
    return " OR ".join(terms)


def _after(key: list[str], values: list[str]) -> str:
    """WHERE condition: rows whose key sorts after ``values`` (composite keys expanded)."""
    terms = []
    for i in range(len(key)):
        equal = [f"{quote_ident(key[j])} = {values[j]}" for j in range(i)]
        terms.append("(" + " AND ".join(equal + [f"{quote_ident(key[i])} > {values[i]}"]) + ")")
    return " OR ".join(terms)


class _BatchReaders:
    """Connections that run batch queries ahead of the writer, all in its snapshot.

    With no connections of its own it runs each query at once on the writer's
    connection, so the dump has one code path whether or not it reads in parallel.
    """

    def __init__(self, writer_conn, conns: list):
        self.conns = conns
        self.depth = len(conns) + 1 if conns else 1   # batches fetched ahead at most
        self._writer_conn = writer_conn
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        for conn in conns:
            self._idle.put(conn)
        self._pool = concurrent.futures.ThreadPoolExecutor(
            len(conns), thread_name_prefix="sitepack-dump") if conns else None

    def submit(self, sql: str) -> concurrent.futures.Future:
        if self._pool is None:
            future: concurrent.futures.Future = concurrent.futures.Future()
            future.set_result(self._fetch(self._writer_conn, sql))
            return future
        return self._pool.submit(self._fetch_idle, sql)

    def _fetch_idle(self, sql: str):
        conn = self._idle.get()
        try:
            return self._fetch(conn, sql)
        finally:
            self._idle.put(conn)

    @staticmethod
    def _fetch(conn, sql: str):
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        for conn in self.conns:
            close_quietly(conn)


class Dumper:
    def __init__(self, conn_info: DbConnectionInfo, out_dir: Path, options: DumpOptions, *,
                 _state: dict | None = None):
        self.conn_info = conn_info
        self.out_dir = Path(out_dir)
        self.options = options
        self.database = conn_info.database
        self.progress = DumpProgress()
        self.warnings: list[str] = []
        self._conn: pymysql.connections.Connection | None = None
        self._readers: _BatchReaders | None = None
        # Batches of the current table asked of the readers, oldest first: (last key of
        # the batch or None for the table's last batch, its WHERE clause, future rows).
        self._pending: collections.deque = collections.deque()
        self._plan: list[dict] | None = None
        self._item = 0
        self._in_data = False
        self._key_values: list[str] | None = None  # literals of the last row written
        self._rows_read = 0                          # rows of the current table written
        self._stmt_size = 0                          # bytes of the open INSERT, 0 if none
        self._finished = False
        self._table: dict | None = None              # per-process facts of the current table
        self._schema: tuple[dict, dict] | None = None  # per-process columns and keys of all tables
        self.checksums = TableSums(_state.get("checksums") if _state else None)  # rows written so far
        # A state saved by a sitepack that summed no rows (its "checksums" missing or None):
        # the rows written before the resume are unknown, so this dump records no sums; sums
        # of the later rows only would make a restore report every earlier table as different.
        self._summed = _state is None or _state.get("checksums") is not None
        part = offset = 0
        if _state is not None:
            self._plan = _state["plan"]
            self._item = _state["item"]
            self._in_data = _state["in_data"]
            self._key_values = _state["key_values"]
            self._rows_read = _state["rows_read"]
            self._stmt_size = _state["stmt_size"]
            self._finished = _state["finished"]
            self.warnings = list(_state["warnings"])
            if not self._summed and UNSUMMED_WARNING not in self.warnings:
                self.warnings.append(UNSUMMED_WARNING)
            part, offset = _state["part"], _state["offset"]
        self._writer = SplitWriter(self.out_dir, options.basename, options.split_size,
                                   part=part, offset=offset)
        if self._finished:
            self._writer.close()

    # --- public API ---------------------------------------------------------------------

    @property
    def files(self) -> list[Path]:
        return self._writer.files

    def run(self, budget_seconds: float | None = None) -> bool:
        """Dumps until done (True) or until ``budget_seconds`` are used (False).

        Stops only between row batches; everything written so far is flushed, so
        ``state()`` taken now can be resumed in another process.
        """
        if self._finished:
            return True
        started = time.monotonic()
        try:
            self._open()
            while self._item < len(self._plan):
                self._step()
                if budget_seconds is not None and time.monotonic() - started >= budget_seconds \
                        and self._item < len(self._plan):
                    self._writer.flush()
                    return False
        except pymysql.err.MySQLError as exc:
            self.close()
            if connection_lost(exc):
                raise DatabaseError(f"The database server at {self.conn_info.where} closed the "
                                    f"connection while dumping {self._current_name()} (it was "
                                    f"restarted, or the connection was killed): check that it runs "
                                    f"(its log says why), then back up again") from None
            raise DatabaseError(f"Dumping {self._current_name()} from database "
                                f"{self.database!r} at {self.conn_info.where} failed: "
                                f"{exc.args[-1]}. Check that the database user may read it.") from None
        self._writer.close()
        self.close()
        self._finished = True
        self.progress.table = ""
        return True

    def state(self) -> dict:
        """Everything needed to continue in another process (JSON-able, no password)."""
        return {"format": STATE_FORMAT, "connection": self.conn_info.to_public_dict(),
                "out_dir": str(self.out_dir), "options": dataclasses.asdict(self.options),
                "plan": self._plan, "item": self._item, "in_data": self._in_data,
                "key_values": self._key_values, "rows_read": self._rows_read,
                "stmt_size": self._stmt_size, "finished": self._finished,
                "warnings": list(self.warnings),
                "part": self._writer.part, "offset": self._writer.offset,
                "checksums": self.checksums.state() if self._summed else None}

    @classmethod
    def resume(cls, state: dict, conn_info: DbConnectionInfo) -> "Dumper":
        """Continues a dump from ``state()``; output after the saved position is redone."""
        if state.get("format") != STATE_FORMAT:
            raise DatabaseError("This dump state was written by another sitepack version: "
                                "start the backup again.")
        return cls(conn_info, Path(state["out_dir"]), DumpOptions(**state["options"]), _state=state)

    def databases_json_entry(self) -> dict:
        """The ``site.sql`` entry of ``installation/sql/databases.json`` (password blanked)."""
        names = [item["abstract"] for item in self._plan or () if item["kind"] in ("table", "view")]
        return {"dbtype": "mysqli", "dbtech": "mysql", "dbname": self.database,
                "sqlfile": part_name(self.options.basename, 0), "marker": MARKER,
                "dbhost": self.conn_info.host, "dbport": str(self.conn_info.port),
                "dbuser": self.conn_info.user, "dbpass": "", "prefix": self.options.prefix,
                "parts": len(self.files), "tables": names}

    def checksums_record(self) -> dict | None:
        """The dump's entry of ``installation/sql/checksums.json``: every table's rows and
        checksum; None when a resume from an older sitepack's state left them unknown."""
        if not self._summed:
            return None
        return self.checksums.record([item["abstract"] for item in self._plan or () if item["kind"] == "table"])

    # --- connection and plan ------------------------------------------------------------

    def _open(self) -> None:
        if self._conn is not None:
            return
        self._conn = self._connect()
        with self._conn.cursor() as cur:
            cur.execute("SELECT @@max_allowed_packet")
            server_packet = int(cur.fetchone()[0])
        # An INSERT must stay under the server's limit or it cannot be imported there.
        self._packet = max(16384, min(self.options.packet_size, server_packet - 1024))
        if self._plan is None:
            self._plan = self._make_plan()
        self.progress.items_total = len(self._plan)
        self._readers = _BatchReaders(self._conn, self._start_snapshots())

    def _connect(self) -> pymysql.connections.Connection:
        conn = self.conn_info.connect(use_unicode=False, conv={}, autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute("SET SESSION time_zone = '+00:00', SESSION sql_mode = '', "
                            "SESSION net_write_timeout = 600, SESSION net_read_timeout = 600, "
                            "SESSION sql_quote_show_create = 1, "
                            "SESSION group_concat_max_len = 4294967295")
                cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        except BaseException:
            close_quietly(conn)
            raise
        return conn

    def _start_snapshots(self) -> list:
        """Starts the snapshot on this connection and on the readers; returns the readers.

        Readers are only used when all connections could start under the table lock,
        i.e. see exactly the same data; otherwise the dump reads on one connection.
        """
        tables = sorted({item["name"] for item in self._plan[self._item:]
                         if item["kind"] == "table" and item["data"]})
        readers: list = []
        if self.options.readers > 0 and tables:
            locker = None
            try:
                locker = self._connect()
                readers = [self._connect() for _ in range(self.options.readers)]
                with locker.cursor() as cur:
                    cur.execute(f"SET SESSION lock_wait_timeout = {_LOCK_WAIT_SECONDS}")
                    cur.execute("LOCK TABLES " + ", ".join(f"{quote_ident(t)} READ" for t in tables))
                    for conn in (self._conn, *readers):
                        with conn.cursor() as reader:
                            reader.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
                    cur.execute("UNLOCK TABLES")
                return readers
            except (pymysql.err.MySQLError, DatabaseError):
                # Refused, timed out, or no connection to spare (max_user_connections).
                for conn in readers:
                    close_quietly(conn)
                readers = []
            finally:
                close_quietly(locker)
        with self._conn.cursor() as cur:
            cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        return readers

    def close(self) -> None:
        """Lets go of the connections (the saved state stays true); ``run`` reopens them."""
        self._pending.clear()
        self._table = None   # its scheduling cursor ran ahead of what was written
        if self._readers is not None:
            self._readers.close()
            self._readers = None
        close_quietly(self._conn)
        self._conn = None

    def _make_plan(self) -> list[dict]:
        options = self.options
        with self._conn.cursor() as cur:
            tables = schema.list_tables(cur, self.database)
            plan: list[dict] = []
            views: dict[str, bytes] = {}
            dumped: set[str] = set()
            for table in tables:
                abstract = abstract_name(table.name, options.prefix)
                wanted = (options.prefix and table.name.startswith(options.prefix)) \
                    or matches(options.extra_tables, table.name)
                if not wanted or matches(options.exclude_tables, table.name, abstract):
                    continue
                if table.kind == "VIEW":
                    views[table.name] = schema.create_view(cur, table.name)
                elif table.kind == "BASE TABLE":
                    data = not matches(options.exclude_data, table.name, abstract) and not (
                        options.skip_memory_data and (table.engine or "").upper() == "MEMORY")
                    plan.append({"kind": "table", "name": table.name, "abstract": abstract,
                                 "data": data, "rows": table.rows_estimate,
                                 "avg_row": table.avg_row_length})
                    dumped.add(table.name)
            for name in schema.view_order(views):
                plan.append({"kind": "view", "name": name,
                             "abstract": abstract_name(name, options.prefix)})
            for name, _ in schema.triggers(cur, self.database, dumped):
                plan.append({"kind": "trigger", "name": name})
            for kind, name, definition in schema.routines(cur, self.database):
                if definition is None:
                    self.warnings.append(f"The {kind.lower()} {name} was not dumped: the database "
                                         f"user may not read its definition.")
                    continue
                plan.append({"kind": kind.lower(), "name": name})
        return plan

    def _current_name(self) -> str:
        if self._plan and self._item < len(self._plan):
            item = self._plan[self._item]
            return f"the {item['kind']} {item['name']}"
        return "the database"

    # --- writing ------------------------------------------------------------------------

    def _statement(self, sql: bytes) -> None:
        self._writer.start_statement(_START + sql + _END)

    def _portable(self, sql: bytes) -> bytes:
        return schema.portable(sql, self.database, self.options.prefix)

    def _step(self) -> None:
        item = self._plan[self._item]
        self.progress.items_done = self._item
        if self._in_data:
            if self._dump_batch(item):
                self._in_data = False
                self._item += 1
            return
        kind, name = item["kind"], item["name"]
        abstract_ident = quote_ident(abstract_name(name, self.options.prefix)).encode()
        with self._conn.cursor() as cur:
            if kind == "table":
                self._statement(b"DROP TABLE IF EXISTS " + abstract_ident)
                self._statement(self._portable(schema.create_table(cur, name)))
            elif kind == "view":
                self._statement(b"DROP VIEW IF EXISTS " + abstract_ident)
                self._statement(self._portable(schema.create_view(cur, name)))
            elif kind == "trigger":
                cur.execute(f"SHOW CREATE TRIGGER {quote_ident(name)}")
                self._statement(b"DROP TRIGGER IF EXISTS " + abstract_ident)
                self._statement(self._portable(cur.fetchone()[2]))
            else:
                cur.execute(f"SHOW CREATE {kind.upper()} {quote_ident(name)}")
                self._statement(f"DROP {kind.upper()} IF EXISTS ".encode() + abstract_ident)
                self._statement(self._portable(cur.fetchone()[2]))
        if kind == "table" and item["data"]:
            self._in_data = True
            self._key_values = None
            self._rows_read = 0
            self._stmt_size = 0
        else:
            self._item += 1

    def _table_facts(self, item: dict) -> dict:
        if self._table is None or self._table["name"] != item["name"]:
            cols, (key, primary) = self._schema_facts(item["name"])
            stored = [c for c in cols if not c.generated]
            by_name = {c.name: c for c in cols}
            row = row_expression(cols)
            head = (f"INSERT INTO {quote_ident(item['abstract'])} ("
                    + ",".join(quote_ident(c.name) for c in stored) + ") VALUES ")
            self._table = {"name": item["name"], "key": key, "primary": primary, "row": row,
                           "key_literals": [key_literal(by_name[k]) for k in key],
                           "head": _START + head.encode(),
                           # the last key asked of the readers; None: from the start
                           "scheduled_to": self._key_values, "all_scheduled": False}
            avg = max(int(item.get("avg_row") or 0), 1)
            # A batch (one string from the server) stays around _BATCH_BYTES. The first
            # is small: the server's average row length may be missing or stale.
            self._table["batch"] = max(1, min(self.options.batch_rows, 200, _BATCH_BYTES // (2 * avg)))
        return self._table

    def _schema_facts(self, table: str) -> tuple[list[Column], tuple[list[str], bool]]:
        """The table's columns and ordering key, read for all tables at once when first
        needed in this process (and again for a table that was not there yet)."""
        if self._schema is None or table not in self._schema[0]:
            with self._conn.cursor() as cur:
                self._schema = (columns_of(cur, self.database), ordering_keys(cur, self.database))
        columns, keys = self._schema
        return columns.get(table, []), keys.get(table, ([], False))

    def _dump_batch(self, item: dict) -> bool:
        """Writes the next batch of rows; True when the table is complete."""
        facts = self._table_facts(item)
        table = quote_ident(item["name"])
        self.progress.table = item["abstract"]
        self.progress.rows_total = max(int(item.get("rows") or 0), self._rows_read)
        if facts["key"]:
            count, done = self._write_group(item, facts, table)
        else:
            batch = facts["batch"]
            count, _ = self._write_rows(item, f"SELECT {facts['row']} FROM {table} "
                                              f"LIMIT {self._rows_read},{batch}")
            done = count < batch
        self._rows_read += count
        self.progress.rows_done = self._rows_read
        if done and self._stmt_size:
            self._writer.write(_END)
            self._stmt_size = 0
        return done

    def _schedule_batches(self, facts: dict, table: str) -> None:
        """Asks the readers for the table's next batches until ``depth`` are pending.

        A cheap query on the key finds where each batch ends; the expensive one returns
        the batch's rows between the two keys as ONE string glued by the server
        (NUL-separated: no SQL literal contains a raw NUL), so Python handles one large
        string instead of thousands of small rows.
        """
        key = facts["key"]
        order = ",".join(quote_ident(k) for k in key)
        while not facts["all_scheduled"] and len(self._pending) < self._readers.depth:
            start = facts["scheduled_to"]
            after = _after(key, start) if start else ""
            with self._conn.cursor() as cur:
                cur.execute(f"SELECT {','.join(facts['key_literals'])} FROM {table}"
                            f"{' WHERE ' + after if after else ''} "
                            f"ORDER BY {order} LIMIT {facts['batch'] - 1},1")
                bound = cur.fetchone()
            upto = [v.decode("utf-8") for v in bound] if bound else None
            where = [c for c in (after, _up_to(key, upto) if upto else "") if c]
            condition = " WHERE " + " AND ".join(f"({c})" for c in where) if where else ""
            if facts["primary"]:
                # A range scan of the clustered primary key yields rows in key order;
                # sorting them again costs the server about 12%.
                source, glue = f"{table} FORCE INDEX (PRIMARY)", ""
            else:
                source, glue = table, f" ORDER BY {order}"
            future = self._readers.submit(f"SELECT GROUP_CONCAT({facts['row']}{glue} SEPARATOR "
                                          f"'\\0'), COUNT(*) FROM {source}{condition}")
            self._pending.append((upto, condition, future))
            facts["scheduled_to"] = upto
            facts["all_scheduled"] = upto is None

    def _write_group(self, item: dict, facts: dict, table: str) -> tuple[int, bool]:
        """Writes the oldest pending batch; (rows written, whether the table is done)."""
        self._schedule_batches(facts, table)
        upto, condition, future = self._pending.popleft()
        chunk, rows = future.result()
        rows = int(rows)
        if rows and (chunk is None or chunk.count(b"\0") + 1 != rows or chunk[-1:] != b")"):
            # Longer than the server's max_allowed_packet: row by row instead.
            order = ",".join(quote_ident(k) for k in facts["key"])
            rows, _ = self._write_rows(item, f"SELECT {facts['row']} FROM {table}{condition} "
                                             f"ORDER BY {order}")
        elif rows:
            self._emit_group(chunk)
            # Size the next batches from what this one really weighed (the server's
            # average row length is only an estimate): memory stays flat.
            facts["batch"] = max(1, min(self.options.batch_rows, _BATCH_BYTES * rows // len(chunk)))
        if upto is not None:
            self._key_values = upto
        self._schedule_batches(facts, table)   # keeps the readers busy while this is written
        return rows, upto is None

    def _emit_group(self, chunk: bytes) -> None:
        """Writes NUL-separated rows exactly as ``_emit_row`` would, one write per INSERT.

        Where each INSERT must end is found by bisecting the running sizes of the rows
        (computed in C), not by a Python loop over rows.
        """
        self.checksums.add(self._plan[self._item]["abstract"], chunk.split(b"\0"))
        packet = self._packet
        head = self._table["head"]
        size = self._stmt_size
        if size and size + 1 + len(chunk) + 2 <= packet:
            self._writer.write(b"," + chunk.replace(b"\0", b","))
            self._stmt_size = size + 1 + len(chunk)
            return
        rows = chunk.split(b"\0")
        # weights[k]: bytes that rows[:k] add to a statement, a comma each included
        weights = list(map(operator.add, itertools.accumulate(map(len, rows), initial=0),
                           itertools.count()))
        i, count = 0, len(rows)
        while i < count:
            starting = not size
            if starting:
                first = i
                size = len(head) + len(rows[i])
                i += 1
            # rows i..j-1 still fit: each needs its comma and room for the closing ";\n"
            j = max(i, min(count, bisect.bisect_right(weights, weights[i] + packet - 2 - size) - 1))
            size += weights[j] - weights[i]
            if starting:
                # The part is chosen on the first row alone, as row by row: the output
                # must not depend on where batches happened to end.
                self._writer.start_statement(head + rows[first])
                if j > i:
                    self._writer.write(b"," + b",".join(rows[i:j]))
            elif j > i:
                self._writer.write(b"," + b",".join(rows[i:j]))
            if j < count:
                self._writer.write(_END)
                size = 0
            i = j
        self._stmt_size = size

    def _write_rows(self, item: dict, sql: str) -> tuple[int, tuple | None]:
        """Streams the rows of ``sql`` (first column: the row as SQL); (count, last row)."""
        count = 0
        row = None
        with self._conn.cursor(pymysql.cursors.SSCursor) as cur:
            cur.execute(sql)
            for row in cur.fetchall_unbuffered():
                if row[0] is None:
                    self._too_big(item)
                self._emit_row(row[0])
                count += 1
        return count, row

    def _too_big(self, item: dict):
        raise DatabaseError(
            f"A row of the table {item['name']} is larger than the server's max_allowed_packet "
            f"once written as SQL: raise max_allowed_packet on the server at "
            f"{self.conn_info.where} (at least twice the largest row) and start the backup again.")

    def _emit_row(self, values: bytes) -> None:
        """Appends one row, closing the INSERT first when it would outgrow the packet."""
        self.checksums.add(self._plan[self._item]["abstract"], [values])
        size = self._stmt_size
        if size and size + len(values) + 3 > self._packet:
            self._writer.write(_END)
            size = 0
        if size:
            self._writer.write(b"," + values)
            size += 1 + len(values)
        else:
            self._writer.start_statement(self._table["head"] + values)
            size = len(self._table["head"]) + len(values)
        self._stmt_size = size
