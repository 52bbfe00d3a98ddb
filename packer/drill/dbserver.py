"""A private MariaDB server in a folder of its own, on a free loopback port, stopped by PID.

The drill's throwaway database lives here when the user names no server of their own
(``harness/mariadb.py`` starts its test servers with the same code). ``--no-defaults``:
nothing of the machine's configuration leaks in; root is reachable only through the
private socket, and the drill's own user through 127.0.0.1 with a random password that
is never written anywhere.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pymysql

from .loopback import free_port

USER = "sitepack"
# A Unix socket's path holds at most 107 bytes; a deeper data folder gets its socket in a
# short private folder of its own in the temp directory.
_SOCKET_PATH_MAX = 100


def available() -> bool:
    """Whether this machine can start a private server (``mariadbd`` and its installer)."""
    return bool(shutil.which("mariadbd") or _sbin("mariadbd")) and bool(shutil.which("mariadb-install-db"))


def _sbin(name: str) -> str | None:
    path = Path("/usr/sbin") / name
    return str(path) if path.is_file() else None


class PrivateServer:
    def __init__(self, base: Path, port: int, password: str, socket: Path,
                 extra_args: tuple[str, ...] = ()):
        self.base = base
        self.port = port
        self.password = password
        self.socket = socket
        self.extra_args = extra_args
        self.process = self._launch()

    @classmethod
    def start(cls, base: Path, *, timeout: float = 60.0, extra_args: tuple[str, ...] = ()) -> "PrivateServer":
        """Initialises ``base/data`` when new, starts the server, creates the TCP user."""
        base = Path(base)
        datadir = base / "data"
        base.mkdir(parents=True, exist_ok=True)
        as_root = ("--user=root",) if os.geteuid() == 0 else ()
        # A private tmpdir: the server's temporary tables must not share /tmp with others.
        (base / "tmp").mkdir(exist_ok=True)
        if not (datadir / "mysql").is_dir():
            result = subprocess.run(
                ["mariadb-install-db", "--no-defaults", *as_root, f"--datadir={datadir}",
                 f"--tmpdir={base / 'tmp'}", "--skip-test-db", "--auth-root-authentication-method=socket"],
                capture_output=True, text=True)
            if result.returncode != 0:
                errors = [line for line in (result.stdout + result.stderr).splitlines() if "ERROR" in line]
                raise RuntimeError(f"mariadb-install-db failed: {'; '.join(errors[-3:]) or result.returncode}")
        port = free_port()
        socket = base / "mysqld.sock"
        if len(str(socket)) > _SOCKET_PATH_MAX:
            socket = Path(tempfile.mkdtemp(prefix="sitepack-db-")) / "mysqld.sock"
        server = cls(base, port, secrets.token_urlsafe(18), socket, extra_args)
        try:
            server._wait_ready(timeout)
            server._create_user()
        except BaseException:
            server.stop()
            raise
        return server

    def _launch(self) -> subprocess.Popen:
        as_root = ("--user=root",) if os.geteuid() == 0 else ()
        self.socket.parent.mkdir(mode=0o700, exist_ok=True)  # a restart after stop() removed it
        with open(self.base / "mariadbd.log", "ab") as log:
            return subprocess.Popen(
                [shutil.which("mariadbd") or _sbin("mariadbd") or "mariadbd", "--no-defaults", *as_root,
                 f"--datadir={self.base / 'data'}", f"--socket={self.socket}",
                 f"--pid-file={self.base / 'mysqld.pid'}", f"--port={self.port}", "--bind-address=127.0.0.1",
                 f"--tmpdir={self.base / 'tmp'}", "--character-set-server=utf8mb4",
                 "--collation-server=utf8mb4_unicode_ci", "--max-allowed-packet=64M",
                 "--innodb-buffer-pool-size=256M", "--innodb-flush-log-at-trx-commit=2",
                 "--skip-log-bin", *self.extra_args],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def restart(self, timeout: float = 60.0) -> None:
        """Starts the stopped server again on the same port and data (a host's restart)."""
        if self.process.poll() is None:
            raise RuntimeError("stop the server before restarting it")
        self.process = self._launch()
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
            for host in ("127.0.0.1", "localhost"):
                cur.execute(f"CREATE USER IF NOT EXISTS %s@'{host}' IDENTIFIED BY %s", (USER, self.password))
                cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO %s@'{host}' WITH GRANT OPTION", (USER,))

    def stop(self, timeout: float = 30.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.socket.parent != self.base:
            shutil.rmtree(self.socket.parent, ignore_errors=True)
