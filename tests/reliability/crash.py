"""Killing a command at a chosen amount of work done (read from the disk or the database).

The crash matrix spreads its kills by work, never by wall clock: a kill point is a
fraction of what an uninterrupted run of the same command did (bytes of archive parts
written, bytes extracted, tables imported), so the points land in the same places on a
fast and on a loaded machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

# Kill points as fractions of the work: a few in ``make test``, the whole spread in
# ``make test-long``.
QUICK_POINTS = (0.35, 0.8)
ALL_POINTS = (0.02, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.97)


def kill_points(quick: tuple[float, ...] = QUICK_POINTS):
    """Parameters for a matrix test: the ``quick`` points, then the rest marked ``long``."""
    import pytest
    return [pytest.param(f, id=f"at{round(f * 100)}%",
                         marks=() if f in quick else pytest.mark.long)
            for f in sorted(set(quick + ALL_POINTS))]


def bytes_under(folder: Path) -> int:
    """Bytes of the regular files under ``folder`` (0 while it does not exist)."""
    total = 0
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except FileNotFoundError:  # renamed or removed meanwhile
                pass
    return total


def start(command: list[str], **kwargs) -> subprocess.Popen:
    """``command`` in its own process group, its output discarded unless said otherwise."""
    kwargs.setdefault("stdout", subprocess.DEVNULL)
    kwargs.setdefault("stderr", subprocess.DEVNULL)
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True, **kwargs)


def kill_process_when(process: subprocess.Popen, reached: Callable[[], bool], *,
                      timeout: float = 300.0) -> bool:
    """SIGKILLs ``process`` (only it, as ``kill -9 PID`` does) once ``reached()``; returns
    whether it was killed (False: it ended first). Then waits for what it started (file
    writer children) to end by themselves: a child that outlives its parent is a hang."""
    deadline = time.monotonic() + timeout
    # The work holds still while ``reached()`` looks (SIGSTOP to its process group, or to
    # the process alone when it has none of its own), then runs 2 ms: on a fast machine
    # a small extraction or dump would otherwise pass a kill point between two looks.
    own_group = os.getpgid(process.pid) == process.pid
    hold = (lambda sig: os.killpg(process.pid, sig)) if own_group else process.send_signal
    while process.poll() is None:
        assert time.monotonic() < deadline, "the kill point was never reached"
        try:
            hold(signal.SIGSTOP)
        except ProcessLookupError:  # it ended meanwhile
            break
        try:
            if reached():
                process.send_signal(signal.SIGKILL)
                break
        finally:
            try:
                hold(signal.SIGCONT)
            except ProcessLookupError:
                pass
        time.sleep(0.002)
    killed = process.wait() == -signal.SIGKILL
    wait_for_group(process.pid)
    return killed


def kill_when(command: list[str], reached: Callable[[], bool], **kwargs) -> bool:
    """Starts ``command`` and SIGKILLs it once ``reached()`` (``kill_process_when``)."""
    return kill_process_when(start(command, **kwargs), reached)


def wait_for_group(pgid: int, timeout: float = 20.0) -> None:
    """Waits until no live process is left in group ``pgid`` (zombies count as ended: an
    orphan's parent here may never reap it)."""
    deadline = time.monotonic() + timeout
    while _live_members(pgid):
        if time.monotonic() > deadline:
            os.killpg(pgid, signal.SIGKILL)
            raise AssertionError(f"processes of killed group {pgid} still ran after {timeout:.0f} s")
        time.sleep(0.05)


def _live_members(pgid: int) -> list[int]:
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:  # state, ppid, pgrp
            members.append(int(entry.name))
    return members
