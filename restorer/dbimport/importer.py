"""Importing a database dump into the target server, in resumable slices.

Statements are streamed from ``site.sql``, ``site.s01``, ... (split on the
``/**ABDB**/`` marker), ``#__`` becomes the new prefix outside string literals, and
charsets/collations the server lacks are downgraded (reported in ``warnings``).

Resuming without duplicates: each INSERT runs in its own transaction, and the position
after it is written in the SAME transaction to a small bookkeeping table
(``sitepack_import_progress``, dropped when the import finishes). A process killed
mid-INSERT loses only that INSERT, and the next run starts exactly where the database
says it stopped, whatever state the caller saved. (One commit per INSERT, the dumps'
being at most 512 KiB: measured on the 150-table bench site, 16 MiB transactions cost
the server 4.5-5.3 s of CPU, one per statement 2.3-2.4 s, the mariadb client 2.4-3.1 s.) DDL statements commit on
their own; the position is recorded right after each one, and a CREATE repeated after
a kill in between (the object already exists) is accepted.

Tables on non-transactional engines (MyISAM, Aria: no rollback) get no slices: where a
table's rows begin is saved before its first INSERT, and each of its INSERTs is followed
by its own saved position with the table's row count. A resumed import that finds the
count changed (killed between an INSERT and its saved position, or inside it) empties the table and
imports its rows again from where they began, which is exact with or without a key (the
dumps write each table's rows together).
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import time
from pathlib import Path

import pymysql

from restorer.db import CONNECTION_LOST, DbConnectionInfo, close_quietly
from restorer.errors import DatabaseError

from .checksums import NO_RECORD, TableVerifier, read_record
from .collations import CollationMapper
from .sqlstream import MarkerStatementReader, plain_statements
from .sqltext import ABSTRACT_PREFIX, quote_ident, swap_prefix

PROGRESS_TABLE = "sitepack_import_progress"
EXISTING_MODES = ("drop", "backup", "drop_prefix", "drop_all")
STATE_FORMAT = 2
#: How long a resume waits for the killed run's server thread to end (seconds).
_PREVIOUS_THREAD_WAIT = 60.0
_ALREADY_EXISTS = {1050, 1304, 1359}
_SESSION = ("SET SESSION foreign_key_checks = 0, SESSION unique_checks = 0, "
            "SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO', SESSION time_zone = '+00:00'")
#: How long a statement waits for a lock another connection holds on its table before the
#: import stops with an error naming it (MariaDB's own default for a table lock is a day:
#: the import would look hung).
LOCK_WAIT_SECONDS = 60
#: How long a lost connection is retried (a server restart) before the import stops.
RECONNECT_SECONDS = 30
_ADVICE = {
    1205: " Another connection holds a lock on this table (SHOW PROCESSLIST shows it): let it "
          "finish or end it, then retry.",
    1290: " The server is read-only (read_only=ON: a replica, or a host in maintenance): restore "
          "into a writable server.",
}


def _refusal_advice(exc: pymysql.err.MySQLError) -> str:
    """What to do about the server's refusal ``exc``, when its code says more than its text."""
    return _ADVICE.get(exc.args[0] if exc.args else None, "")


def part_names(sqlfile: str, parts: int) -> list[str]:
    stem = sqlfile.rsplit(".", 1)[0]
    return [sqlfile] + [f"{stem}.s{i:02d}" for i in range(1, parts)]


def _excerpt(statement: bytes) -> str:
    return statement[:200].decode("utf-8", errors="replace")


def _is_insert(statement: bytes) -> bool:
    head = statement[:8].upper()
    return head.startswith(b"INSERT") or head.startswith(b"REPLACE")


_INSERT_TARGET = re.compile(rb"(?:INSERT|REPLACE)\s+(?:(?:LOW_PRIORITY|DELAYED|HIGH_PRIORITY|IGNORE)"
                            rb"\s+)*(?:INTO\s+)?`((?:[^`]|``)+)`", re.I)


def _insert_target(statement: bytes) -> str | None:
    """The table an INSERT writes to (None when it does not name it in backquotes)."""
    match = _INSERT_TARGET.match(statement)
    return _unquote(match.group(1)) if match else None


_CREATE_TARGET = re.compile(rb"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?`((?:[^`]|``)+)`", re.I)
_DROP_ONE_TABLE = re.compile(rb"DROP\s+TABLE\s+IF\s+EXISTS\s+`((?:[^`]|``)+)`\s*;?\s*", re.I)
_IDENTIFIER = re.compile(rb"`((?:[^`]|``)+)`")


def _unquote(identifier: bytes) -> str:
    return identifier.replace(b"``", b"`").decode("utf-8")


@dataclasses.dataclass
class _RowsMark:
    """Where a non-transactional table's rows began, and how many it holds now."""

    table: str
    part: int
    offset: int
    statements: int
    rows: int = 0


@dataclasses.dataclass
class ImportProgress:
    bytes_done: int = 0
    bytes_total: int = 0
    statements: int = 0
    file: str = ""

    @property
    def percent(self) -> float:
        return 100.0 * self.bytes_done / self.bytes_total if self.bytes_total else 100.0


class Importer:
    def __init__(self, conn_info: DbConnectionInfo, sql_dir: Path, db_entry: dict, *,
                 new_prefix: str, existing: str = "drop", _state: dict | None = None):
        if existing not in EXISTING_MODES:
            raise DatabaseError(f"Unknown choice for existing tables: {existing!r} "
                                f"(use one of {', '.join(EXISTING_MODES)}).")
        self.conn_info = conn_info
        self.sql_dir = Path(sql_dir)
        self.db_entry = db_entry
        self.new_prefix = new_prefix
        self.existing = existing
        self.warnings: list[str] = []
        self.verification = ""   # the imported rows compared with the dump's record (checksums.py)
        self.sqlfile = db_entry.get("sqlfile", "site.sql")
        self.names = part_names(self.sqlfile, int(db_entry.get("parts") or 1))
        self.paths = [self.sql_dir / name for name in self.names]
        for path in self.paths:
            if not path.is_file():
                raise DatabaseError(f"The database dump part {path.name} is missing from "
                                    f"{self.sql_dir}: extract the whole archive (all parts) again.")
        self._part = self._offset = self._statements = 0
        self._prepared = False
        self._finished = False
        self._preparing: str | None = None  # the statement of _prepare under way
        if _state is not None:
            self._part, self._offset = _state["part"], _state["offset"]
            self._statements = _state["statements"]
            self._prepared = _state["prepared"]
            self._finished = _state["finished"]
            self.warnings = list(_state["warnings"])
            self.verification = _state.get("verification", "")
        self._conn: pymysql.connections.Connection | None = None
        self._connection_id: int | None = None  # this run's server thread (CONNECTION_ID())
        self._collations: CollationMapper | None = None
        self._transactional: dict[str, bool] = {}
        self._rows_mark: _RowsMark | None = None
        self._resumed_now = _state is not None
        #: Lower-cased names of the tables the database may hold (those there when this
        #: run began, and every name a statement run since quoted): a dump's
        #: ``DROP TABLE IF EXISTS`` of any other table has nothing to drop and is skipped
        #: (an InnoDB DROP costs the server 10-15 ms even when the table is absent).
        self._may_exist: set[str] = set()
        self._verifier: TableVerifier | None = None
        self._filling: str | None = None   # the table the last statements created or filled
        total = sum(p.stat().st_size for p in self.paths)
        self.progress = ImportProgress(bytes_total=total)

    # --- public API ---------------------------------------------------------------------

    def run(self, budget_seconds: float | None = None) -> bool:
        """Imports until done (True) or until ``budget_seconds`` are used (False)."""
        if self._finished:
            return True
        started = time.monotonic()
        retried_at = None
        while True:
            try:
                return self._run(started, budget_seconds)
            except DatabaseError:
                if self._verifier is not None:
                    self._verifier.close()   # its finished checks are kept for a retry
                raise
            except pymysql.err.OperationalError as exc:
                if exc.args[0] not in CONNECTION_LOST:
                    statement = f" The statement: {self._preparing}" if self._preparing else ""
                    raise DatabaseError(f"The database at {self.conn_info.where} refused a statement "
                                        f"of the import ({self._where()}): {exc.args[-1]}."
                                        f"{_refusal_advice(exc)}{statement}") from None
                if retried_at == (self._part, self._offset) or not self._server_answers():
                    raise DatabaseError(f"The database server at {self.conn_info.where} "
                                        f"closed the connection during the import "
                                        f"({self._where()}): {exc.args[-1]}. Check the "
                                        f"server's log, then retry.") from None
                # Server gone away (killed connection, restart): redo from the last
                # committed position on a new connection.
                retried_at = (self._part, self._offset)
                self._resumed_now = True

    def _server_answers(self) -> bool:
        """Closes the lost connection and waits up to ``RECONNECT_SECONDS`` for the server
        to take a new one (a restart takes seconds)."""
        self._close()
        deadline = time.monotonic() + RECONNECT_SECONDS
        while True:
            try:
                close_quietly(self.conn_info.connect())
                return True
            except DatabaseError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(1.0)

    def state(self) -> dict:
        return {"format": STATE_FORMAT, "connection": self.conn_info.to_public_dict(),
                "sql_dir": str(self.sql_dir), "db_entry": self.db_entry,
                "new_prefix": self.new_prefix, "existing": self.existing,
                "part": self._part, "offset": self._offset, "statements": self._statements,
                "prepared": self._prepared, "finished": self._finished,
                "warnings": list(self.warnings), "verification": self.verification}

    @classmethod
    def resume(cls, state: dict, conn_info: DbConnectionInfo) -> "Importer":
        if state.get("format") != STATE_FORMAT:
            raise DatabaseError("This import state was written by another sitepack version: "
                                "start the database step again.")
        return cls(conn_info, Path(state["sql_dir"]), state["db_entry"],
                   new_prefix=state["new_prefix"], existing=state["existing"], _state=state)

    # --- the work -----------------------------------------------------------------------

    def _where(self) -> str:
        return f"{self.names[self._part]}, byte {self._offset}"

    def _open(self) -> None:
        if self._conn is not None:
            return
        self._conn = self.conn_info.connect(autocommit=True)
        with self._conn.cursor() as cur:
            cur.execute(_SESSION)
            cur.execute(f"SET SESSION lock_wait_timeout = {int(LOCK_WAIT_SECONDS)}, "
                        f"SESSION innodb_lock_wait_timeout = {int(LOCK_WAIT_SECONDS)}")
            cur.execute("SELECT CONNECTION_ID()")
            self._connection_id = int(cur.fetchone()[0])
            cur.execute("SELECT @@max_allowed_packet")
            self._max_packet = int(cur.fetchone()[0])
            self._collations = CollationMapper(cur)

    def _close(self) -> None:
        close_quietly(self._conn)
        self._conn = None

    def _run(self, started: float, budget: float | None) -> bool:
        self._open()
        if self._resumed_now and self._adopt_saved_position():
            # Killed after preparing but before the caller saved that: never prepare
            # twice (a second "backup" would rename the freshly imported tables).
            self._prepared = True
        if not self._prepared:
            self._prepare()
            self._prepared = True
        with self._conn.cursor() as cur:
            cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()")
            self._may_exist = {name.lower() for name, in cur.fetchall()}
        if self._verifier is None and (record := read_record(self.sql_dir, self.sqlfile)) is not None:
            self._verifier = TableVerifier(self.conn_info, record, self.new_prefix)
        self._filling = None   # a table resumed mid-way is checked at the end
        conn = self._conn
        reader = MarkerStatementReader(self.paths, self._part, self._offset)
        first = self._resumed_now
        self._resumed_now = False
        for part, offset, statement in reader:
            self.progress.file = self.names[part]
            skipped = False
            statement = swap_prefix(statement, ABSTRACT_PREFIX, self.new_prefix.encode())
            table = _insert_target(statement) if _is_insert(statement) else None
            cannot_roll_back = table is not None and not self._is_transactional(table)
            in_transaction = _is_insert(statement) and not cannot_roll_back
            if cannot_roll_back:
                if self._rows_mark is None or self._rows_mark.table != table:
                    # Saved before the table's first INSERT runs: a kill right after that
                    # INSERT must find where the table's rows began, or they come twice.
                    self._rows_mark = _RowsMark(table, self._part, self._offset, self._statements,
                                                self._count_rows(table))
                    self._save_position()
                self._execute(statement, part, offset, tolerate_exists=False)
                self._filling = table
            elif in_transaction:
                conn.begin()
                self._execute(statement, part, offset, tolerate_exists=False)
                self._filling = table
            else:
                self._rows_mark = None
                self._table_done()
                dropped = _DROP_ONE_TABLE.fullmatch(statement)
                skipped = dropped is not None and _unquote(dropped.group(1)).lower() not in self._may_exist
                if not skipped:
                    self._may_exist.update(_unquote(name).lower() for name in _IDENTIFIER.findall(statement))
                    self._execute(self._collations.rewrite(statement), part, offset,
                                  tolerate_exists=first)
                    created = _CREATE_TARGET.match(statement)
                    self._filling = _unquote(created.group(1)) if created else None
            first = False
            self._part, self._offset = reader.position
            self._statements += 1
            self.progress.bytes_done = reader.done_bytes
            self.progress.statements = self._statements
            if cannot_roll_back:
                self._rows_mark.rows = self._count_rows(table)
            if in_transaction:
                self._commit()   # the INSERT and the position after it, together
            elif not skipped:    # a skipped DROP: saved with the next statement
                self._save_position()
            if budget is not None and time.monotonic() - started >= budget:
                if skipped:
                    self._save_position()   # or the next slice starts before this DROP again
                if (self._part, self._offset) != self._end():
                    return False
        self._table_done()
        self._finish()
        return True

    def _table_done(self) -> None:
        """The table the last statements filled is complete: its check can begin."""
        if self._filling is not None and self._verifier is not None:
            self._verifier.table_done(self._filling)
        self._filling = None

    def _is_transactional(self, table: str) -> bool:
        """Whether ``table``'s engine rolls back (asked once per table)."""
        if table not in self._transactional:
            with self._conn.cursor() as cur:
                cur.execute("SELECT e.TRANSACTIONS FROM information_schema.TABLES t "
                            "JOIN information_schema.ENGINES e ON e.ENGINE = t.ENGINE "
                            "WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_NAME = %s", (table,))
                found = cur.fetchone()
            # Unknown (a view, a missing table): the statement's own error says so.
            self._transactional[table] = found is None or found[0] == "YES"
        return self._transactional[table]

    def _count_rows(self, table: str) -> int:
        with self._conn.cursor() as cur:
            cur.execute(f"SELECT COUNT(*) FROM {quote_ident(table)}")
            return int(cur.fetchone()[0])

    def _end(self) -> tuple[int, int]:
        return len(self.paths) - 1, self.paths[-1].stat().st_size

    def _execute(self, statement: bytes, part: int, offset: int, *, tolerate_exists: bool) -> None:
        if len(statement) + 1024 > self._max_packet:
            self._raise_packet_limit(len(statement) + 1024, part, offset, statement)
        try:
            self._conn.query(statement)
        except pymysql.err.OperationalError as exc:
            if exc.args[0] in CONNECTION_LOST:
                raise
            self._fail(exc, part, offset, statement, tolerate_exists)
        except pymysql.err.MySQLError as exc:
            self._fail(exc, part, offset, statement, tolerate_exists)

    def _fail(self, exc, part: int, offset: int, statement: bytes, tolerate_exists: bool) -> None:
        if tolerate_exists and exc.args[0] in _ALREADY_EXISTS:
            return  # created just before the previous process was killed
        self._conn.rollback()
        raise DatabaseError(f"The database refused the statement at byte {offset} of "
                            f"{self.names[part]}: {exc.args[-1]}.{_refusal_advice(exc)} The statement "
                            f"begins: {_excerpt(statement)}") from None

    def _raise_packet_limit(self, needed: int, part: int, offset: int, statement: bytes) -> None:
        """Raises the server's limit when allowed (new sessions see it), else explains."""
        wanted = min(1 << 30, ((needed >> 20) + 2) << 20)
        try:
            with self._conn.cursor() as cur:
                cur.execute(f"SET GLOBAL max_allowed_packet = {wanted}")
        except pymysql.err.MySQLError:
            raise DatabaseError(
                f"The statement at byte {offset} of {self.names[part]} is {len(statement):,} "
                f"bytes, more than the server's max_allowed_packet ({self._max_packet:,}); "
                f"ask the host to raise max_allowed_packet to at least {wanted:,}. "
                f"The statement begins: {_excerpt(statement)}") from None
        # The new limit applies to new connections: pretend the server went away so the
        # slice is redone on a fresh connection from the last committed position.
        raise pymysql.err.OperationalError(2006, "reconnecting for a larger max_allowed_packet")

    def _commit(self) -> None:
        self._save_position()
        self._conn.commit()

    # --- bookkeeping --------------------------------------------------------------------

    def _save_position(self) -> None:
        mark = self._rows_mark
        with self._conn.cursor() as cur:
            cur.execute(f"REPLACE INTO {PROGRESS_TABLE} (sqlfile, part, `offset`, statements, "
                        f"rows_table, rows_part, rows_offset, rows_statements, table_rows, "
                        f"connection_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        (self.sqlfile, self._part, self._offset, self._statements,
                         *((mark.table, mark.part, mark.offset, mark.statements, mark.rows)
                           if mark else (None,) * 5), self._connection_id))

    def _adopt_saved_position(self) -> bool:
        """Takes the position committed in the database; False when there is none."""
        with self._conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE "
                        "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s", (PROGRESS_TABLE,))
            if cur.fetchone()[0] == 0:
                return False
            cur.execute(f"SELECT part, `offset`, statements, rows_table, rows_part, rows_offset, "
                        f"rows_statements, table_rows, connection_id FROM {PROGRESS_TABLE} "
                        f"WHERE sqlfile = %s",
                        (self.sqlfile,))
            row = cur.fetchone()
        if row is None:
            return False
        self._part, self._offset, self._statements = int(row[0]), int(row[1]), int(row[2])
        self._rows_mark = _RowsMark(row[3], *map(int, row[4:8])) if row[3] is not None else None
        if row[8] is not None:
            self._stop_previous_connection(int(row[8]))
        mark = self._rows_mark
        if mark is not None and self._count_rows(mark.table) != mark.rows:
            # Killed during or right after an INSERT into a table that cannot roll back:
            # which of its rows came from it is unknowable, so its rows start again.
            with self._conn.cursor() as cur:
                cur.execute(f"TRUNCATE TABLE {quote_ident(mark.table)}")
            self._part, self._offset, self._statements = mark.part, mark.offset, mark.statements
            mark.rows = 0
            self._save_position()
        return True

    def _stop_previous_connection(self, previous: int) -> None:
        """Ends the killed run's server thread before its rows are counted.

        The server finishes the statement of a client that died (a MyISAM INSERT runs to
        its end, and its rows would land after the count). The same user may KILL its own
        threads; a thread it cannot see or stop is waited for, up to a limit.
        """
        if previous == self._connection_id:
            return
        deadline = time.monotonic() + _PREVIOUS_THREAD_WAIT
        with self._conn.cursor() as cur:
            while True:
                cur.execute("SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = %s", (previous,))
                if cur.fetchone() is None:
                    return
                if time.monotonic() > deadline:
                    raise DatabaseError(f"the interrupted import's database connection (thread {previous}) "
                                        f"is still running; wait for it to end (or KILL {previous}) and "
                                        f"start the restore again")
                with contextlib.suppress(pymysql.err.MySQLError):  # already ending, or not ours
                    cur.execute(f"KILL {previous:d}")
                time.sleep(0.05)

    def _prepare(self) -> None:
        """Deals with existing tables as chosen, then creates the bookkeeping table."""
        with self._conn.cursor() as cur:
            cur.execute("SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES "
                        "WHERE TABLE_SCHEMA = DATABASE()")
            present = {name: kind for name, kind in cur.fetchall() if name != PROGRESS_TABLE}
            prefix = self.new_prefix
            if self.existing == "drop":
                wanted = {swap_prefix(("`" + n + "`").encode(), ABSTRACT_PREFIX, prefix.encode())
                          .decode()[1:-1] for n in self.db_entry.get("tables", ())}
                doomed = [n for n in present if n in wanted]
            elif self.existing == "drop_prefix":
                doomed = [n for n in present if n.startswith(prefix)]
            elif self.existing == "drop_all":
                doomed = list(present)
            else:
                doomed = []
                for name in sorted(n for n in present if n.startswith(prefix)):
                    backup = "bak_" + name[len(prefix):]
                    if backup in present and backup != name:
                        self._drop(cur, backup, present[backup])
                    self._prepare_sql(cur, f"RENAME TABLE {quote_ident(name)} TO {quote_ident(backup)}")
            for name in sorted(doomed, key=lambda n: present[n] != "VIEW"):
                self._drop(cur, name, present[name])
            self._prepare_sql(cur, f"CREATE TABLE IF NOT EXISTS {PROGRESS_TABLE} (sqlfile VARCHAR(190) "
                                   f"PRIMARY KEY, part INT NOT NULL, `offset` BIGINT NOT NULL, "
                                   f"statements BIGINT NOT NULL, rows_table VARCHAR(192) NULL, "
                                   f"rows_part INT NULL, rows_offset BIGINT NULL, rows_statements BIGINT NULL, "
                                   f"table_rows BIGINT NULL, connection_id BIGINT NULL) ENGINE=InnoDB")
        self._preparing = None
        self._save_position()

    def _drop(self, cur, name: str, kind: str) -> None:
        self._prepare_sql(cur, f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} IF EXISTS {quote_ident(name)}")

    def _prepare_sql(self, cur, sql: str) -> None:
        """Runs one statement of ``_prepare``, kept in ``_preparing`` for the error a refusal gives."""
        self._preparing = sql[:200]
        cur.execute(sql)

    def _finish(self) -> None:
        with self._conn.cursor() as cur:
            cur.execute(f"DELETE FROM {PROGRESS_TABLE} WHERE sqlfile = %s", (self.sqlfile,))
            cur.execute(f"SELECT COUNT(*) FROM {PROGRESS_TABLE}")
            if cur.fetchone()[0] == 0:
                cur.execute(f"DROP TABLE {PROGRESS_TABLE}")
        self.warnings.extend(w for w in self._collations.warnings if w not in self.warnings)
        self._verify()
        self._finished = True
        self.progress.bytes_done = self.progress.bytes_total
        self._close()

    def _verify(self) -> None:
        """Compares the imported tables with the dump's record, before anything changes them."""
        if self._verifier is None:
            self.verification = (f"database not verified: {NO_RECORD}; check the restored site, "
                                 f"or make a new backup with this sitepack to have one that can be")
            return
        result = self._verifier.result()
        self.verification = result.summary()
        if not result.ok:
            self.warnings.append(self.verification)


def import_plain_dump(conn_info: DbConnectionInfo, path: Path, *, progress=None) -> list[str]:
    """Runs a plain ``mariadb-dump``/``mysqldump`` file; returns collation warnings.

    ``progress(bytes_done, bytes_total)`` is called after each statement when given.
    Not resumable: the file's own statements (DROP/CREATE) make a re-run start over.
    """
    path = Path(path)
    total = path.stat().st_size
    conn = conn_info.connect(autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(_SESSION)
            mapper = CollationMapper(cur)
        for offset, statement in plain_statements(path):
            if not _is_insert(statement):
                statement = mapper.rewrite(statement)
            try:
                conn.query(statement)
            except pymysql.err.MySQLError as exc:
                raise DatabaseError(f"The database refused the statement at byte {offset} of "
                                    f"{path.name}: {exc.args[-1]}. The statement begins: "
                                    f"{_excerpt(statement)}") from None
            if progress is not None:
                progress(offset + len(statement), total)
    finally:
        conn.close()
    return mapper.warnings
