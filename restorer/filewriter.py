"""Writing extracted files: each one complete under its real name, or not there at all.

``write_file`` writes a file under a temporary name beside it (``.NAME.sitepack-tmp``),
sets its mode and mtime on the open descriptor and renames it into place; on any error
the temporary file is removed.

``FileWriter`` does that for the many small files of an archive in a child process
(``python -m restorer.filewriter``, fed through a pipe). Creating a file is mostly the
file system's time; in a thread beside the reading, inflating and hashing, every system
call would have to win the GIL back from them, and the two threads spent more time
handing the GIL over than writing (measured: 7-35 futex calls per file, twice unzip's
system time). A child process has its own interpreter, so the two run side by side on
two cores. This module imports only a few standard modules, and the child starts
without ``site``, so that it is ready in a few milliseconds.

The child stops at its first failure and reports it (errno, which step, which file);
files handed over before it are complete. Where no child can be started (no
``sys.executable``, no process to spare), the files are written in this process.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import struct
import subprocess
import sys

TEMP_SUFFIX = ".sitepack-tmp"
KEPT_PERMISSIONS = 0o1777   # no setuid/setgid from an archive

FILE_HEAD = struct.Struct("<IIHBq")
"""One file on the pipe: path length, data length, permission bits, whether an mtime
follows (1) or not (0), mtime; then the path as the file system spells it
(``os.fsencode``: the child inherits the environment, so it decodes it the same way)
and the data."""
_HAS_MTIME = 1
# The pipe to a child holds up to a mebibyte (Linux's default 64 KiB would make this
# process wait for the child after every few files, and the two would take turns
# instead of running side by side); this process hands over 64 KiB at a time.
_PIPE_SIZE = 1 << 20
_HAND_OVER_BUFFER = 64 << 10


def temp_name(final: str) -> str:
    folder, name = os.path.split(final)
    return os.path.join(folder, "." + name[:200] + TEMP_SUFFIX)


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class WriteFailure(OSError):
    """Writing ``filename`` failed at ``step`` ("create", "write", "rename")."""

    def __init__(self, errno: int, strerror: str, filename: str, step: str):
        super().__init__(errno, strerror, filename)
        self.step = step


def write_file(final: str, chunks, mode: int, mtime: int | None, umask: int,
               on_chunk=None) -> None:
    """Writes ``chunks`` as ``final`` (see the module docstring); raises ``WriteFailure``.

    ``on_chunk(chunk)`` sees every chunk before it is written (hashing, progress).
    """
    mode &= KEPT_PERMISSIONS
    temp = temp_name(final)
    step = "create"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
                     mode | 0o600)
    except OSError as exc:
        raise WriteFailure(exc.errno, exc.strerror, final, step) from None
    try:
        step = "write"
        for chunk in chunks:
            if on_chunk is not None:
                on_chunk(chunk)
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view):]
        if (mode | 0o600) & ~umask != mode:
            os.fchmod(fd, mode)
        if mtime is not None:
            os.utime(fd, (mtime, mtime))
        os.close(fd)
        fd = -1
        step = "rename"
        os.replace(temp, final)
    except BaseException as exc:
        if fd >= 0:
            os.close(fd)
        unlink_quietly(temp)
        if isinstance(exc, OSError):
            raise WriteFailure(exc.errno, exc.strerror, final, step) from None
        raise


def unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class FileWriter:
    """Writes whole small files in child processes (see the module docstring).

    The first ``INLINE_FILES`` files are written here: a small archive is done before a
    child would have started. ``write`` returns once the file is handed over; a failure
    of a child shows as a ``WriteFailure`` from a later ``write`` or from ``close``,
    which waits until every file handed over is written. ``abort`` waits too but raises
    nothing (an error is already on its way up). Nothing is left half-written either way.
    """

    INLINE_FILES = 64

    def __init__(self, umask: int, children: int = 2):
        self._umask = umask
        self._children = children
        self._inline_left = self.INLINE_FILES
        self._processes: list[subprocess.Popen] = []
        self._turn = 0

    @property
    def children_started(self) -> int:
        return len(self._processes)

    def write(self, final: str, data: bytes, mode: int, mtime: int | None) -> None:
        if self._inline_left:
            self._inline_left -= 1
            if not self._inline_left:
                self._processes = [p for p in (_start_child() for _ in range(self._children)) if p]
        elif self._processes:
            self._hand_over(final, data, mode, mtime)
            return
        write_file(final, (data,), mode, mtime, self._umask)

    def _hand_over(self, final: str, data: bytes, mode: int, mtime: int | None) -> None:
        path = os.fsencode(final)
        head = FILE_HEAD.pack(len(path), len(data), mode & KEPT_PERMISSIONS,
                              _HAS_MTIME if mtime is not None else 0, mtime or 0)
        self._turn = (self._turn + 1) % len(self._processes)
        pipe = self._processes[self._turn].stdin
        try:
            pipe.write(head + path)
            pipe.write(data)
        except BrokenPipeError:  # a child stopped: it says why
            self.close()
            # A child always stops with a report or a status; should one ever not, the
            # file is still written, here.
            write_file(final, (data,), mode, mtime, self._umask)

    def close(self) -> None:
        """Waits for every file handed over; raises a child's failure, if any. Files
        written after this are written here."""
        processes, self._processes, self._inline_left = self._processes, [], 0
        failures = [failure for failure in map(_finish, processes) if failure is not None]
        if failures:
            raise failures[0]

    def abort(self) -> None:
        try:
            self.close()
        except OSError:
            pass


_READY = b"R"
_START_TIMEOUT = 10.0


def _finish(process: subprocess.Popen) -> WriteFailure | None:
    try:
        process.stdin.close()
    except BrokenPipeError:
        pass
    report = process.stdout.read()
    process.stdout.close()
    status = process.wait()
    if report:
        failure = json.loads(report)
        return WriteFailure(failure["errno"], failure["strerror"], failure["path"], failure["step"])
    if status != 0:
        return WriteFailure(0, f"the file-writing process stopped (status {status})", "", "write")
    return None


def _start_child() -> subprocess.Popen | None:
    """A child that said it is ready, or None (this process writes instead)."""
    if not sys.executable:
        return None
    # The folder that holds the ``restorer`` package: a site-packages folder, a source
    # checkout, a site bundle's installation/ folder or the kickstart .pyz itself.
    package_home = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=package_home)
    try:
        process = subprocess.Popen([sys.executable, "-S", "-m", "restorer.filewriter"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, env=env,
                                   bufsize=_HAND_OVER_BUFFER, close_fds=True)
    except OSError:
        return None
    try:
        fcntl.fcntl(process.stdin.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
    except OSError:
        pass  # a smaller pipe only costs speed
    # ``sys.executable`` may be an embedding program (uWSGI, say) that is no Python.
    ready, _, _ = select.select([process.stdout], [], [], _START_TIMEOUT)
    if not ready or process.stdout.read(1) != _READY:
        process.kill()
        process.communicate()
        return None
    return process


def _serve(source, report) -> int:
    """The child: writes the files read from ``source`` until it ends or one fails."""
    report.write(_READY)
    report.flush()
    umask = current_umask()
    read = source.read
    while True:
        head = read(FILE_HEAD.size)
        if not head:
            return 0
        if len(head) != FILE_HEAD.size:
            return 1
        path_length, size, mode, flags, mtime = FILE_HEAD.unpack(head)
        path, data = read(path_length), read(size)
        if len(path) != path_length or len(data) != size:
            return 1  # the extraction stopped mid-file: nothing of it is written
        final = os.fsdecode(path)
        try:
            write_file(final, (data,), mode, mtime if flags & _HAS_MTIME else None, umask)
        except WriteFailure as failure:
            report.write(json.dumps({"errno": failure.errno, "strerror": failure.strerror,
                                     "path": final, "step": failure.step}).encode("utf-8"))
            report.flush()
            return 1


if __name__ == "__main__":
    sys.exit(_serve(open(sys.stdin.fileno(), "rb", buffering=_PIPE_SIZE, closefd=False),
                    sys.stdout.buffer))
