"""Real web servers on loopback ports, started by tests with their own configuration.

Each server here serves one folder on a free 127.0.0.1 port, runs in the foreground as a
child process of the test, and is stopped by its PID (``stop`` or the ``with`` block). No
system service is ever started or touched.

    with PhpBuiltinServer(docroot) as server:
        urllib.request.urlopen(server.url + "/index.php")

The live-server security tests add Apache and nginx beside it (one owner: this module).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from .php import ensure_php


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class LoopbackServer:
    """A server process on ``host:port``: waits until it answers, stops by PID."""

    name = "server"

    def __init__(self, host: str = "127.0.0.1", port: int | None = None):
        self.host = host
        self.port = port or free_port(host)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def start(self, timeout: float = 30.0) -> "LoopbackServer":
        self.log = open(self.log_path(), "ab")
        self.process = subprocess.Popen(self.command(), stdout=self.log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, env=self.environment(),
                                        start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode} on start: "
                                   f"{Path(self.log.name).read_text(errors='replace')[-2000:]}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not listen on {self.host}:{self.port} within {timeout} s")

    def log_path(self) -> Path:
        raise NotImplementedError

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None
        if getattr(self, "log", None):
            self.log.close()

    def get(self, path: str, *, timeout: float = 30.0) -> tuple[int, dict[str, str], bytes]:
        """GET ``path`` (status, headers, body); HTTP errors are answers too, not exceptions."""
        request = urllib.request.Request(self.url + path)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class PhpBuiltinServer(LoopbackServer):
    """``php -S`` serving ``docroot`` (PHP's built-in server: it ignores ``.htaccess``).

    ``ini`` adds ``-d name=value`` settings; ``router`` is an optional router script.
    """

    name = "php -S"

    def __init__(self, docroot: Path, *, router: Path | None = None, ini: dict[str, str] | None = None,
                 host: str = "127.0.0.1", port: int | None = None, workers: int = 4):
        super().__init__(host, port)
        ensure_php()
        self.docroot = Path(docroot)
        self.router = router
        self.ini = dict(ini or {})
        self.workers = workers

    def command(self) -> list[str]:
        cmd = ["php"]
        for name, value in self.ini.items():
            cmd += ["-d", f"{name}={value}"]
        cmd += ["-S", f"{self.host}:{self.port}", "-t", str(self.docroot)]
        return cmd + ([str(self.router)] if self.router else [])

    def environment(self) -> dict[str, str]:
        # Several workers, so a page that requests the same server (WordPress's loopback
        # checks, assets) does not deadlock the single-threaded default.
        return dict(os.environ, PHP_CLI_SERVER_WORKERS=str(self.workers))

    def log_path(self) -> Path:
        return self.docroot.parent / f".php-server-{self.port}.log"
