"""A throwaway MariaDB server: private data dir, 127.0.0.1 and a free port, stopped by PID.

    with MariaDBServer.start(tmpdir) as server:
        db = server.create_database()          # DbParams for a fresh database
        conn = server.connect(db.database)     # pymysql connection as the test user

The server runs as root with ``--no-defaults`` so nothing on the machine leaks in. A
password user (``sitepack``) is created for TCP logins from 127.0.0.1; the root account
is only reachable through the private socket.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import secrets
import shutil
from pathlib import Path

import pymysql

from packer.drill.dbserver import USER, PrivateServer

from .system import PROJECT_PROGRAMS, ensure_debian_packages

_PACKAGES = {name: pkg for name, pkg in PROJECT_PROGRAMS.items() if pkg.startswith("mariadb")}


@dataclasses.dataclass(frozen=True)
class DbParams:
    """How to reach one database over TCP."""

    host: str
    port: int
    user: str
    password: str
    database: str

    def connect(self, **kwargs) -> pymysql.connections.Connection:
        options = {"charset": "utf8mb4", "autocommit": True, **kwargs}
        return pymysql.connect(host=self.host, port=self.port, user=self.user,
                               password=self.password, database=self.database or None, **options)

    def client_args(self) -> list[str]:
        """Arguments for the ``mariadb``/``mariadb-dump`` clients, password excluded.

        Pass the password through the ``MYSQL_PWD`` environment variable
        (see ``client_env``) so it never shows in the process list.
        """
        return [f"--host={self.host}", f"--port={self.port}", f"--user={self.user}"]

    def client_env(self) -> dict[str, str]:
        return dict(os.environ, MYSQL_PWD=self.password)


class MariaDBServer(PrivateServer):
    """The drill's private server (``packer.drill.dbserver``) with the tests' helpers."""

    USER = USER

    def __init__(self, *args):
        super().__init__(*args)
        self._names = itertools.count(1)

    @classmethod
    def start(cls, base: Path, *, timeout: float = 60.0,
              extra_args: tuple[str, ...] = ()) -> "MariaDBServer":
        ensure_debian_packages(_PACKAGES)
        return super().start(base, timeout=timeout, extra_args=extra_args)

    def params(self, database: str = "") -> DbParams:
        return DbParams("127.0.0.1", self.port, self.USER, self.password, database)

    def create_database(self, name: str | None = None) -> DbParams:
        """A new empty database (utf8mb4) and the parameters to reach it."""
        name = name or f"db{next(self._names)}_{secrets.token_hex(3)}"
        with self.root_connection() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        return self.params(name)

    def drop_database(self, name: str) -> None:
        with self.root_connection() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")

    def connect(self, database: str = "") -> pymysql.connections.Connection:
        return self.params(database).connect()

    def __enter__(self) -> "MariaDBServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def remove(base: Path) -> None:
    shutil.rmtree(base, ignore_errors=True)
