"""Servers the drill starts on loopback: a free port, waiting until one listens, stopping its
process group by PID (``harness/webservers.py`` manages its test servers with the same code)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now at ``host``."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def wait_listening(process: subprocess.Popen, host: str, port: int, *, name: str, log: Path,
                   timeout: float) -> None:
    """Returns once ``host:port`` accepts connections; a clear error (with the log's end) when
    ``process`` exits first or the time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} on start: "
                               f"{Path(log).read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not listen on {host}:{port} within {timeout:.0f} s")


def stop_group(process: subprocess.Popen | None) -> None:
    """Stops a server started with ``start_new_session=True`` and its workers (SIGTERM, then SIGKILL)."""
    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
