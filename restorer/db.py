"""How to reach a MySQL/MariaDB database, and the one place that opens connections.

Every part of sitepack (the dumper, the importer, the restore wizard, the web UI) holds
its database settings in a ``DbConnectionInfo`` and connects through ``connect()``, so
connection failures read the same everywhere and the password never leaks: it is left
out of ``repr()``, of ``to_public_dict()`` and of every error message.
"""

from __future__ import annotations

import dataclasses
import re

import pymysql

from .errors import DatabaseError

# MySQL/MariaDB error codes that mean "your settings are wrong" rather than "a bug".
_ACCESS_DENIED = {1044, 1045, 1698}
_UNKNOWN_DATABASE = 1049
_CANNOT_CONNECT = {2002, 2003, 2005, 2006, 2013}
_LOOPBACK = {"localhost", "::1"}
# A connection that was open and is gone: the server went away, restarted, or killed it.
CONNECTION_LOST = frozenset({2006, 2013, 2055})


def connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` says an open connection to the server is gone (pymysql answers a
    query on a connection it already saw closed with ``InterfaceError``)."""
    if isinstance(exc, pymysql.err.InterfaceError):
        return True
    return isinstance(exc, pymysql.err.OperationalError) and bool(exc.args) and exc.args[0] in CONNECTION_LOST


@dataclasses.dataclass
class DbConnectionInfo:
    """Connection settings; ``socket`` (a Unix socket path) wins over host/port when set."""

    host: str
    port: int
    user: str
    password: str = dataclasses.field(repr=False)
    database: str
    socket: str | None = None

    def __repr__(self) -> str:
        where = f"socket={self.socket!r}" if self.socket else f"host={self.host!r}, port={self.port}"
        return (f"DbConnectionInfo({where}, user={self.user!r}, password='***', "
                f"database={self.database!r})")

    __str__ = __repr__

    @property
    def where(self) -> str:
        """``host:port`` (or the socket path) for messages."""
        return self.socket if self.socket else f"{self.host}:{self.port}"

    def to_public_dict(self) -> dict:
        """The settings without the password (safe to log, show, or save in state)."""
        return {"host": self.host, "port": self.port, "user": self.user,
                "database": self.database, "socket": self.socket}

    @classmethod
    def from_public_dict(cls, data: dict, password: str) -> "DbConnectionInfo":
        return cls(host=data["host"], port=int(data["port"]), user=data["user"],
                   password=password, database=data["database"], socket=data.get("socket"))

    def connect(self, **kwargs) -> pymysql.connections.Connection:
        """An open utf8mb4 connection (autocommit on unless overridden).

        Raises ``DatabaseError`` naming host:port, user and database (never the
        password) when the server is unreachable, refuses the login or lacks the database.
        """
        options = dict(charset="utf8mb4", autocommit=True, connect_timeout=10)
        options.update(kwargs)
        if self.socket:
            options["unix_socket"] = self.socket
        else:
            options["host"] = self.host
            options["port"] = int(self.port)
        if self.socket or self.host in _LOOPBACK or self.host.startswith("127."):
            # Traffic that never leaves the machine gains nothing from TLS, and PyMySQL's
            # "preferred" TLS loads the system's CA store for every connection (50-80 ms).
            options.setdefault("ssl_disabled", True)
        try:
            return pymysql.connect(user=self.user, password=self.password,
                                   database=self.database or None, **options)
        except pymysql.err.MySQLError as exc:
            raise self._explain(exc) from None

    def _explain(self, exc: pymysql.err.MySQLError) -> DatabaseError:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        who = f"user {self.user!r} at {self.where}"
        if code in _ACCESS_DENIED:
            return DatabaseError(
                f"The database server at {self.where} refused the login of {who.split(' at ')[0]} "
                f"for database {self.database!r}: check the user name and password, and that "
                f"this user may use that database.")
        if code == _UNKNOWN_DATABASE:
            return DatabaseError(
                f"The database {self.database!r} does not exist on {self.where} ({who}): "
                f"create it first or correct the database name.")
        if code in _CANNOT_CONNECT:
            return DatabaseError(
                f"Cannot reach the database server at {self.where} ({who}, database "
                f"{self.database!r}): check the host and port and that the server is running.")
        detail = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
        detail = detail.replace(self.password, "***") if self.password else detail
        return DatabaseError(
            f"Connecting to database {self.database!r} at {self.where} as {who.split(' at ')[0]} "
            f"failed: {detail}. Check the connection settings.")


def close_quietly(conn) -> None:
    """Closes a connection that may already be broken (the server went away, a kill)."""
    if conn is None:
        return
    try:
        conn.close()
    except pymysql.err.Error:
        pass


def server_text(value) -> str:
    """A name or value the server sent as bytes (connections opened with ``use_unicode=False``) as text."""
    return value.decode("utf-8") if isinstance(value, (bytes, bytearray)) else value


# A generated column's EXTRA: "VIRTUAL GENERATED"/"STORED GENERATED" (MariaDB 10.2+, MySQL),
# "VIRTUAL"/"PERSISTENT" (MariaDB 10.1); never MySQL 8's "DEFAULT_GENERATED" (an expression
# default on a stored column).
_GENERATED = re.compile(r"\b(VIRTUAL|STORED|PERSISTENT)\b", re.I)


@dataclasses.dataclass(frozen=True)
class Column:
    """One column as ``information_schema.COLUMNS`` describes it."""

    name: str
    data_type: str          # lower case, without length: "varchar", "point", ...
    charset: str | None     # None for binary, numeric, temporal and spatial types
    collation: str | None
    generated: bool         # computed by the server: never dumped, inserted nor replaced
    max_chars: int | None   # CHARACTER_MAXIMUM_LENGTH (None for non-text types)
    max_bytes: int | None   # CHARACTER_OCTET_LENGTH


def columns_of(cur, database: str, table: str | None = None) -> dict[str, list[Column]]:
    """The columns of each table of ``database`` (or only ``table``), in order: one query
    for all tables, as a query per table costs a round trip that opens its definition.
    The dump, the checksum verification and the URL replacement all read columns here."""
    where = "TABLE_SCHEMA = %s" + (" AND TABLE_NAME = %s" if table is not None else "")
    cur.execute("SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, CHARACTER_SET_NAME, COLLATION_NAME, EXTRA, "
                f"CHARACTER_MAXIMUM_LENGTH, CHARACTER_OCTET_LENGTH FROM information_schema.COLUMNS "
                f"WHERE {where} ORDER BY TABLE_NAME, ORDINAL_POSITION",
                (database,) if table is None else (database, table))
    by_table: dict[str, list[Column]] = {}
    for row in cur.fetchall():
        table_name, name, data_type, charset, collation, extra = (server_text(v) for v in row[:6])
        max_chars, max_bytes = (None if v is None else int(v) for v in row[6:])
        by_table.setdefault(table_name, []).append(Column(
            name, data_type.lower(), charset, collation, bool(_GENERATED.search(extra or "")),
            max_chars, max_bytes))
    return by_table


def ordering_keys(cur, database: str, table: str | None = None) -> dict[str, tuple[list[str], bool]]:
    """For each table of ``database`` (or only ``table``) that has one: (columns, is the
    primary key) that identify a row: the primary key, else a unique index on NOT NULL
    columns (a nullable one does not: it allows many NULL rows). The dumper orders by it;
    the replacement addresses rows by it. Two queries for the whole database: a query per
    table costs a server round trip that opens the table's definition (30 ms each)."""
    where = "TABLE_SCHEMA = %s" + (" AND TABLE_NAME = %s" if table is not None else "")
    args = (database,) if table is None else (database, table)
    cur.execute(f"SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS WHERE {where} "
                "AND IS_NULLABLE = 'YES'", args)
    nullable = {tuple(server_text(v) for v in row) for row in cur.fetchall()}
    cur.execute(f"SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS "
                f"WHERE {where} AND NON_UNIQUE = 0 "
                "ORDER BY TABLE_NAME, INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX", args)
    indexes: dict[str, dict[str, list[str]]] = {}
    for name, index, column in cur.fetchall():
        by_index = indexes.setdefault(server_text(name), {})
        by_index.setdefault(server_text(index), []).append(server_text(column))
    keys = {}
    for name, by_index in indexes.items():
        for index, columns in by_index.items():
            if not any((name, column) in nullable for column in columns):
                keys[name] = (columns, index == "PRIMARY")
                break
    return keys


def ordering_key(cur, database: str, table: str) -> tuple[list[str], bool]:
    """``ordering_keys`` of one table; ([], False) when it has none."""
    return ordering_keys(cur, database, table).get(table, ([], False))
