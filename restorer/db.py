"""How to reach a MySQL/MariaDB database, and the one place that opens connections.

Every part of sitepack (the dumper, the importer, the restore wizard, the web UI) holds
its database settings in a ``DbConnectionInfo`` and connects through ``connect()``, so
connection failures read the same everywhere and the password never leaks: it is left
out of ``repr()``, of ``to_public_dict()`` and of every error message.
"""

from __future__ import annotations

import dataclasses

import pymysql

from .errors import DatabaseError

# MySQL/MariaDB error codes that mean "your settings are wrong" rather than "a bug".
_ACCESS_DENIED = {1044, 1045, 1698}
_UNKNOWN_DATABASE = 1049
_CANNOT_CONNECT = {2002, 2003, 2005, 2006, 2013}
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


def ordering_key(cur, database: str, table: str) -> tuple[list[str], bool]:
    """(columns, is the primary key) that identify a row: the primary key, else a unique
    index on NOT NULL columns (a nullable one does not: it allows many NULL rows), else
    ([], False). The dumper orders by it; the replacement addresses rows by it."""
    cur.execute("SELECT s.INDEX_NAME, s.COLUMN_NAME, c.IS_NULLABLE FROM information_schema.STATISTICS s "
                "JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = s.TABLE_SCHEMA "
                "AND c.TABLE_NAME = s.TABLE_NAME AND c.COLUMN_NAME = s.COLUMN_NAME "
                "WHERE s.TABLE_SCHEMA = %s AND s.TABLE_NAME = %s AND s.NON_UNIQUE = 0 "
                "ORDER BY s.INDEX_NAME = 'PRIMARY' DESC, s.INDEX_NAME, s.SEQ_IN_INDEX",
                (database, table))
    indexes: dict[str, list[tuple[str, str]]] = {}
    for row in cur.fetchall():
        index, column, nullable = (v.decode("utf-8") if isinstance(v, (bytes, bytearray)) else v
                                   for v in row)
        indexes.setdefault(index, []).append((column, nullable))
    for index, cols in indexes.items():
        if all(nullable == "NO" for _, nullable in cols):
            return [column for column, _ in cols], index == "PRIMARY"
    return [], False
