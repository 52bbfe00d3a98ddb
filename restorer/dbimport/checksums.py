"""The database that verifies itself: per-table row counts and checksums (docs/FORMAT-CHECKSUMS.md).

The canonical form of a row is defined here once, per column type: the SQL literal the
server prints for each stored column (``value_literal``: plain numbers, FLOAT widened to
the DOUBLE it stores, BIT as its number, ``QUOTE()`` for UTF-8 text and JSON, ``0x``+HEX
for binary, spatial and non-UTF-8 text, ``NULL``), glued as ``(v1,v2,...)`` in column
order, under the session settings in ``SESSION`` (TIMESTAMP read in UTC). Generated
columns are left out: the import recomputes them. It is exactly the row the dump writes,
so the dumper hashes the bytes it already holds, and the restore reads the imported
table through the same expressions.

A table's checksum is the sum modulo 2**256 of every row's SHA-256: independent of row
order, and two equal rows count twice (an XOR would cancel them). Tables are named
abstractly (``#__content``), so a new prefix changes nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import queue
import re
import threading
from pathlib import Path

import pymysql

from restorer.db import DbConnectionInfo, close_quietly, columns_of, connection_lost
from restorer.bundle import CHECKSUMS_JSON
from restorer.errors import DatabaseError, SitepackError

from .sqltext import ABSTRACT_PREFIX, quote_ident

FORMAT = 1
ALGORITHM = "sha256-sum-mod-2^256"
_MODULUS = 1 << 256
#: Why a backup's rows cannot be verified when its dump recorded no checksums.
NO_RECORD = ("this backup has no checksums of its rows (it was made by Akeeba Backup or an older "
             "sitepack, or its dump was begun by one)")
#: Session settings both the dump and the verification read rows under.
SESSION = ("SET SESSION time_zone = '+00:00', SESSION sql_mode = '', "
           "SESSION group_concat_max_len = 4294967295")

NUMERIC = {"tinyint", "smallint", "mediumint", "int", "integer", "bigint", "decimal", "numeric",
           "float", "double", "real", "double precision", "year"}
BINARY = {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "geometry",
          "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon",
          "geometrycollection", "geomcollection"}
UTF8 = {"utf8mb4", "utf8mb3", "utf8", "ascii"}


def value_literal(column) -> str:
    """SQL that makes the server print ``column`` as an exact SQL literal (NULL kept): the
    canonical form of one value. ``column`` has ``name``, ``data_type``, ``charset``."""
    name = quote_ident(column.name)
    kind = column.data_type
    if kind == "bit":
        return f"IFNULL({name}+0,'NULL')"
    if kind == "float":
        # FLOAT prints with 6 digits; as a DOUBLE it prints the exact stored value.
        return f"IFNULL({name}+0e0,'NULL')"
    if kind in NUMERIC:
        return f"IFNULL({name},'NULL')"
    if kind in BINARY or (column.charset and column.charset.lower() not in UTF8):
        return f"IF({name} IS NULL,'NULL',IF(LENGTH({name})=0,'''''',CONCAT('0x',HEX({name}))))"
    return f"QUOTE({name})"


def row_expression(columns) -> str:
    """SQL for one row in canonical form, ``(v1,v2,...)``, over the stored columns."""
    stored = [c for c in columns if not c.generated]
    return "CONCAT('(',CONCAT_WS(',',{}),')')".format(",".join(value_literal(c) for c in stored))


def rows_sum(rows) -> int:
    """The (unreduced) sum of the rows' SHA-256 values; rows are canonical row bytes."""
    sha = hashlib.sha256
    return sum(int.from_bytes(sha(row).digest(), "big") for row in rows)


class TableSums:
    """Row counts and checksums per table, added to as rows go by (JSON-able state)."""

    def __init__(self, state: dict | None = None):
        self.tables: dict[str, list[int]] = {name: [rows, int(total, 16)]
                                             for name, (rows, total) in (state or {}).items()}

    def add(self, table: str, rows: list[bytes]) -> None:
        counts = self.tables.setdefault(table, [0, 0])
        counts[0] += len(rows)
        counts[1] = (counts[1] + rows_sum(rows)) % _MODULUS

    def get(self, table: str) -> tuple[int, int]:
        rows, total = self.tables.get(table, (0, 0))
        return rows, total

    def state(self) -> dict:
        return {name: [rows, f"{total:064x}"] for name, (rows, total) in self.tables.items()}

    def record(self, tables: list[str]) -> dict:
        """The ``checksums.json`` entry of one dump for ``tables`` (abstract names)."""
        return {"format": FORMAT, "algorithm": ALGORITHM,
                "tables": {name: {"rows": self.get(name)[0], "sum": f"{self.get(name)[1]:064x}"}
                           for name in tables}}


@dataclasses.dataclass
class Verification:
    """The imported tables compared with what the dump recorded."""

    tables: int = 0
    rows: int = 0
    differences: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def summary(self) -> str:
        if self.ok:
            return (f"database verified: {self.tables} tables, {self.rows:,} rows, "
                    f"every checksum equal")
        return (f"database NOT verified: {len(self.differences)} of {self.tables} tables differ "
                f"from the backup: " + "; ".join(self.differences))


def real_name(abstract: str, prefix: str) -> str:
    """The table ``abstract`` (``#__x``, or a name without the prefix) names under ``prefix``."""
    head = ABSTRACT_PREFIX.decode()
    return prefix + abstract[len(head):] if abstract.startswith(head) else abstract


def verify_database(conn_info: DbConnectionInfo, record: dict, prefix: str) -> Verification:
    """Reads every table the dump's ``record`` lists from the imported database (tables
    named with ``prefix``) and compares counts and checksums."""
    return TableVerifier(conn_info, record, prefix).result()


class TableVerifier:
    """The import's verification, table by table on its own connection and thread.

    The importer hands over each table once its last row is committed (``table_done``),
    so checking that table overlaps the import of the next ones (the server works both
    on its two threads); ``result`` waits for those checks and checks every table not
    handed over (empty tables, tables imported before a resume, checks a lost connection
    interrupted) itself, so a table is never left out. Each table is checked once, after
    its rows are complete: the dumps write each table's rows together, nothing later in
    them changes rows.
    """

    def __init__(self, conn_info: DbConnectionInfo, record: dict, prefix: str):
        self.conn_info = conn_info
        #: real table name -> (expected rows, expected sum), in the record's order
        self._expected = {real_name(abstract, prefix): (entry["rows"], int(entry["sum"], 16))
                          for abstract, entry in record["tables"].items()}
        self._outcomes: dict[str, tuple[int, str | None]] = {}   # name -> (rows, difference)
        self._handed: set[str] = set()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._conn = None

    def table_done(self, name: str) -> None:
        """``name``'s rows are all committed: check it in the background (once)."""
        if name not in self._expected or name in self._handed:
            return
        self._handed.add(name)
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="sitepack-verify", daemon=True)
            self._thread.start()
        self._queue.put(name)

    def result(self) -> Verification:
        """Every listed table compared (waits for the background checks first)."""
        self.stop()
        try:
            for name in self._expected:
                if name not in self._outcomes:
                    self._outcomes[name] = self._check(name)
        except pymysql.err.MySQLError as exc:
            raise DatabaseError(f"verifying the imported database failed: {exc.args[-1]}") from None
        finally:
            self._close()
        result = Verification(tables=len(self._expected))
        for name in self._expected:
            rows, difference = self._outcomes[name]
            result.rows += rows
            if difference:
                result.differences.append(difference)
        return result

    def stop(self) -> None:
        """Waits for the background checks handed over (their outcomes are kept)."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def close(self) -> None:
        """Stops the background checks and closes the connection (a failed import)."""
        self.stop()
        self._close()

    def _work(self) -> None:
        while (name := self._queue.get()) is not None:
            try:
                self._outcomes[name] = self._check(name)
            except (pymysql.err.MySQLError, DatabaseError):
                # The connection is gone (a server restart, a killed thread): the checks
                # left are redone by result() on a new connection.
                self._close()

    def _check(self, name: str) -> tuple[int, str | None]:
        """(rows, the difference or None) of table ``name``; a table the server refuses to
        read is a difference, a lost connection an error."""
        if self._conn is None:
            self._conn = self.conn_info.connect(use_unicode=False, conv={}, autocommit=True)
            with self._conn.cursor() as cur:
                cur.execute(SESSION)
        expected_rows, expected_sum = self._expected[name]
        try:
            rows, total = _table_sum(self._conn, self.conn_info.database, name)
        except pymysql.err.MySQLError as exc:
            if connection_lost(exc):
                raise
            return 0, f"{name}: cannot be read ({exc.args[-1]})"
        if rows != expected_rows:
            return rows, f"{name}: {rows:,} rows, the backup has {expected_rows:,}"
        if total != expected_sum:
            return rows, f"{name}: {rows:,} rows as in the backup, but their contents differ (checksum)"
        return rows, None

    def _close(self) -> None:
        close_quietly(self._conn)
        self._conn = None


def _table_sum(conn, database: str, table: str) -> tuple[int, int]:
    """(rows, checksum) of an imported table, summed by the server: each row's SHA-256 cut
    into four 64-bit numbers, each summed exactly (DECIMAL), put together here. The rows
    never cross the connection, so the verification costs a fraction of the import."""
    with conn.cursor() as cur:
        columns = columns_of(cur, database, table).get(table, [])
        if not columns:
            raise pymysql.err.ProgrammingError(1146, "the table is missing")
        quarters = ",".join(f"SUM(CAST(CONV(SUBSTRING(h,{1 + 16 * i},16),16,10) AS UNSIGNED))" for i in range(4))
        # LIMIT keeps the derived table from being merged (its SHA2 would be computed 4 times).
        cur.execute(f"SELECT COUNT(*),{quarters} FROM (SELECT SHA2({row_expression(columns)},256) AS h "
                    f"FROM {quote_ident(table)} LIMIT 18446744073709551615) AS hashed")
        rows, *sums = cur.fetchone()
    total = sum(int(part or 0) << (64 * (3 - i)) for i, part in enumerate(sums))
    return int(rows), total % _MODULUS


def read_record(sql_dir: Path, sqlfile: str) -> dict | None:
    """The checksum record of dump ``sqlfile`` in ``checksums.json``; None when the bundle has none
    (Akeeba's, or made before sitepack recorded them)."""
    path = Path(sql_dir) / CHECKSUMS_JSON
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8")).get(sqlfile)
    except (OSError, ValueError, AttributeError) as exc:
        raise SitepackError(f"{path} is unreadable ({exc}); re-extract the archive") from None
    if record is not None and record.get("format") != FORMAT:
        raise SitepackError(f"{path} was written by another sitepack version (format "
                            f"{record.get('format')!r}); use the sitepack that made the backup")
    return record


# One row of an extended INSERT as the dump writes it: literals are numbers, NULL, 0x-hex
# or QUOTE()d strings (backslash escapes), so parentheses only matter outside quotes.
_ROW = re.compile(rb"\((?:[^'()]|'(?:[^'\\]|\\.)*')*\)", re.S)


def insert_rows(statement: bytes) -> list[bytes]:
    """The rows of one dump INSERT statement (``INSERT INTO `t` (cols) VALUES (..),(..)``)."""
    values = statement.index(b") VALUES ") + len(b") VALUES ")
    return _ROW.findall(statement, values)
