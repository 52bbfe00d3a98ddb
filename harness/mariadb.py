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
import signal
import subprocess
import time
from pathlib import Path

import pymysql

from .system import PROJECT_PROGRAMS, ensure_debian_packages
from .webservers import free_port

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


class MariaDBServer:
    USER = "sitepack"

    def __init__(self, base: Path, port: int, password: str, process: subprocess.Popen,
                 extra_args: tuple[str, ...] = ()):
        self.base = base
        self.extra_args = extra_args
        self.port = port
        self.password = password
        self.process = process
        self.socket = base / "mysqld.sock"
        self._names = itertools.count(1)

    @classmethod
    def start(cls, base: Path, *, timeout: float = 60.0,
              extra_args: tuple[str, ...] = ()) -> "MariaDBServer":
        ensure_debian_packages(_PACKAGES)
        base = Path(base)
        datadir = base / "data"
        base.mkdir(parents=True, exist_ok=True)
        if not (datadir / "mysql").is_dir():
            result = subprocess.run(
                ["mariadb-install-db", "--no-defaults", "--user=root", f"--datadir={datadir}",
                 "--skip-test-db", "--auth-root-authentication-method=socket"],
                capture_output=True, text=True)
            if result.returncode != 0:
                raise RuntimeError(f"mariadb-install-db failed:\n{result.stdout}\n{result.stderr}")
        # A private tmpdir: the server's internal temporary tables must not share /tmp
        # with other test sessions that may clean it.
        (base / "tmp").mkdir(exist_ok=True)
        port = free_port()
        server = cls(base, port, secrets.token_urlsafe(18), _launch(base, port, extra_args), extra_args)
        try:
            server._wait_ready(timeout)
            server._create_user()
        except BaseException:
            server.stop()
            raise
        return server

    def restart(self, timeout: float = 60.0) -> None:
        """Starts the stopped server again on the same port and data (a host's restart)."""
        assert self.process.poll() is not None, "stop the server first"
        self.process = _launch(self.base, self.port, self.extra_args)
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = (self.base / "mariadbd.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"mariadbd exited with code {self.process.returncode}:\n{tail}")
            try:
                self.root_connection().close()
                return
            except pymysql.err.OperationalError:
                time.sleep(0.1)
        raise RuntimeError(f"mariadbd did not become ready within {timeout:.0f}s "
                           f"(log: {self.base / 'mariadbd.log'})")

    def root_connection(self, database: str | None = None) -> pymysql.connections.Connection:
        return pymysql.connect(unix_socket=str(self.socket), user="root", database=database,
                               charset="utf8mb4", autocommit=True)

    def _create_user(self) -> None:
        with self.root_connection() as conn, conn.cursor() as cur:
            cur.execute("CREATE USER IF NOT EXISTS %s@'127.0.0.1' IDENTIFIED BY %s",
                        (self.USER, self.password))
            cur.execute("CREATE USER IF NOT EXISTS %s@'localhost' IDENTIFIED BY %s",
                        (self.USER, self.password))
            for host in ("127.0.0.1", "localhost"):
                cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO %s@'{host}' WITH GRANT OPTION",
                            (self.USER,))

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

    def stop(self, timeout: float = 30.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> "MariaDBServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _launch(base: Path, port: int, extra_args: tuple[str, ...]) -> subprocess.Popen:
    """``mariadbd`` on the data folder under ``base``, listening on 127.0.0.1:``port``."""
    with open(base / "mariadbd.log", "ab") as log:
        return subprocess.Popen(
            ["mariadbd", "--no-defaults", "--user=root", f"--datadir={base / 'data'}",
             f"--socket={base / 'mysqld.sock'}", f"--pid-file={base / 'mysqld.pid'}",
             f"--port={port}", "--bind-address=127.0.0.1", f"--tmpdir={base / 'tmp'}",
             "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
             "--max-allowed-packet=64M", "--innodb-buffer-pool-size=256M",
             "--innodb-flush-log-at-trx-commit=2", "--skip-log-bin", *extra_args],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def remove(base: Path) -> None:
    shutil.rmtree(base, ignore_errors=True)
