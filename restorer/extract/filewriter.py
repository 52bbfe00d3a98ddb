"""Writing extracted files: each one complete under its real name, or not there at all.

``write_file`` writes a file under a temporary name beside it (``.NAME.sitepack-tmp``),
sets its mode and mtime on the open descriptor and renames it into place; on any error
the temporary file is removed.

``FileWriter`` does that for the many small files of an archive in child processes
(``child_command``, fed through pipes). Creating a file is mostly the
file system's time; in a thread beside the reading, every system call would have to win
the GIL back from the reader, and the two threads spent more time handing the GIL over
than writing (measured: 7-35 futex calls per file, twice unzip's system time). A child
process has its own interpreter, so the two run side by side on two cores.

A child also decodes what it writes, when the reader can hand a small file over as
stored (``EntryData.take``: deflated, AES-encrypted): it inflates and decrypts with the
reader module's ``decoder`` and the keys it was sent over the pipe (never on a command
line), hashes the bytes and sends the SHA-256 back, so the reading process only reads.
That is worth it while the children keep up: where creating files is slow (a busy
disk) they fall behind, and then this process decodes, hashes and makes the folders
itself (``_BACKLOG``: its pipe fills up), so each side takes the work the other cannot
keep up with.
Damaged data makes the child answer "refused" and stop; this process then decodes the
same bytes itself (``StoredData.decode``), which raises the reader's exact error.

The child stops at its first failure and reports it (errno, which step, which file);
files handed over before it are complete. Where no child can be started (no
``sys.executable``, no process to spare, no ``cryptography`` for an encrypted archive),
the files are written in this process.
"""

from __future__ import annotations

import collections
import fcntl
import hashlib
import importlib
import json
import os
import select
import struct
import subprocess
import sys
import termios

TEMP_SUFFIX = ".sitepack-tmp"
KEPT_PERMISSIONS = 0o1777   # no setuid/setgid from an archive

FILE_HEAD = struct.Struct("<IIHBqQQQ")
"""One file on the pipe: path length, data length, permission bits, flags (``_HAS_MTIME``,
``_STORED``: decode the data first, ``_HASH``: reply with its SHA-256), mtime, the three ``StoredData.params``; then the
path as the file system spells it (``os.fsencode``: the child inherits the environment,
so it decodes it the same way) and the data."""
_HAS_MTIME, _STORED, _HASH = 1, 2, 4
SETUP_HEAD = struct.Struct("<I")
"""Length of the JSON that starts a child's input: the reader module and its keys."""
# Replies, one per file and in order: WRITTEN and the SHA-256 of the bytes written;
# REFUSED (the data does not decode; the child stops); FAILED and a JSON report of the
# write failure (the child stops).
_WRITTEN, _REFUSED, _FAILED = b"D", b"X", b"F"
# The pipe to a child holds up to a mebibyte (Linux's default 64 KiB would make this
# process wait for the child after every few files, and the two would take turns
# instead of running side by side); this process hands over 64 KiB at a time.
_PIPE_SIZE = 1 << 20
# Linux's pipe-size commands; Python names them only from 3.10 on, so on 3.9 the kernel's
# numbers (linux/fcntl.h: F_LINUX_SPECIFIC_BASE + 7 and + 8) stand in. Elsewhere the call
# fails with OSError, which only costs speed.
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
F_GETPIPE_SZ = getattr(fcntl, "F_GETPIPE_SZ", 1032)
_HAND_OVER_BUFFER = 64 << 10
_REPLY_SIZE = 33
# Files handed to a child whose reply was not read yet: at most as many as their
# replies fit the reply pipe (``_Child.room``), or a child could wait for this process
# while this process waits for it; their bytes are kept here until then (the fallback
# writes them), at most this many.
_PENDING_BYTES = 8 << 20
# Stored data goes to a child to decode and hash unless more than this many bytes (or a
# quarter of a smaller pipe) wait in its pipe, unread: then the child is the slower one
# (file creation is slow on this disk, say) and this process decodes and hashes, so
# that neither side waits for the other. (Counting the files without a reply instead
# says nothing: a child replies in batches, when it runs out of input.)
_BACKLOG = 256 << 10


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
        try:
            fd = os.open(temp, _CREATE, mode | 0o600)
        except FileNotFoundError:
            # Its folder does not exist yet: the extraction checked that nothing else is
            # in the way and leaves making it to whoever writes into it first.
            _make_folders(os.path.dirname(final), 0o700 | 0o777 & ~umask)
            fd = os.open(temp, _CREATE, mode | 0o600)
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


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC


def _make_folders(folder: str, mode: int) -> None:
    """Makes ``folder`` and the missing folders above it (another process may be making
    the same ones)."""
    try:
        os.mkdir(folder, mode)
    except FileNotFoundError:
        _make_folders(os.path.dirname(folder), mode)
        try:
            os.mkdir(folder, mode)
        except FileExistsError:
            pass
    except FileExistsError:
        pass


def unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class FileWriter:
    """Writes whole small files in child processes (see the module docstring).

    The first ``INLINE_FILES`` files are written here: a small archive is done before a
    child would have started. ``write`` returns once the file is handed over and calls
    ``on_written(sha256 hex digest)`` when it is written; a failure shows as an error
    from a later ``write`` or from ``close``, which waits until every file handed over
    is written. ``abort`` waits too but raises nothing (an error is already on its way
    up). Nothing is left half-written either way.

    ``decoding`` names the reader module whose ``decoder`` the children decode stored
    data with, and the keys it needs (``ArchiveReader.handover_keys``); None: the
    children get decoded bytes only.
    """

    INLINE_FILES = 64

    def __init__(self, umask: int, children: int = 2,
                 decoding: tuple[str, dict[str, str]] | None = None):
        self._umask = umask
        self._children = children
        self._decoding = decoding
        self._inline_left = self.INLINE_FILES
        self._processes: list[_Child] = []
        self._turn = 0
        #: Whether the last child handed a file had more to write than it keeps up
        #: with: then this process also decodes, hashes and makes folders (``_BACKLOG``).
        self.behind = False

    @property
    def children_started(self) -> int:
        return len(self._processes)

    @property
    def takes_stored(self) -> bool:
        """Whether ``write`` is worth giving ``StoredData`` (children decode it)."""
        return bool(self._processes) and self._decoding is not None

    def write(self, final: str, data, mode: int, mtime: int | None, on_written=None) -> None:
        """Writes ``data`` (bytes, or ``StoredData`` to decode) as ``final``."""
        if self._inline_left:
            self._inline_left -= 1
            if not self._inline_left:
                setup = {"module": self._decoding[0], "keys": self._decoding[1]} if self._decoding else {}
                self._processes = [p for p in (_Child.start(setup) for _ in range(self._children)) if p]
        elif self._processes:
            self._turn = (self._turn + 1) % len(self._processes)
            child = self._processes[self._turn]
            try:
                self.behind = child.unread() > child.backlog_limit
                if self.behind:  # this process decodes and hashes
                    data, on_written = _decoded_and_reported(data, on_written), None
                child.hand_over(final, data, mode & KEPT_PERMISSIONS, mtime, on_written)
                if len(child.pending) > child.room or child.pending_bytes > _PENDING_BYTES:
                    child.settle(child.room // 2, _PENDING_BYTES // 2)
            except BrokenPipeError:  # the child stopped: it says why
                self._settled_or_stopped(child)
                self._write_here(final, data, mode, mtime, on_written)   # it never got this one
            except _Stopped:
                self._stop(child)
            return
        self._write_here(final, data, mode, mtime, on_written)

    def _write_here(self, final: str, data, mode: int, mtime: int | None, on_written) -> None:
        data = _decoded_and_reported(data, on_written)
        write_file(final, (data,), mode, mtime, self._umask)

    def _settled_or_stopped(self, child: "_Child") -> None:
        """Reads all of a stopped child's replies, then ends it (``_stop``)."""
        try:
            child.settle(0, 0)
        except _Stopped:
            pass
        self._stop(child)

    def _stop(self, child: "_Child") -> None:
        """Ends a child that stopped: raises its failure or, when it refused data this
        process could decode, writes here what it did not write."""
        self._processes.remove(child)
        self._turn = 0
        for item in child.finish():
            self._write_here(*item)

    def close(self) -> None:
        """Waits for every file handed over; raises a child's failure, if any. Files
        written after this are written here."""
        self._inline_left = 0
        first_failure = None
        while self._processes:
            child = self._processes[-1]
            child.end_input()
            try:
                self._settled_or_stopped(child)
            except Exception as failure:  # the other children finish their files first
                if child in self._processes:
                    self._processes.remove(child)
                    child.drain()
                first_failure = first_failure or failure
        if first_failure is not None:
            raise first_failure

    def abort(self) -> None:
        """``close`` that raises nothing and decodes nothing here."""
        self._inline_left = 0
        processes, self._processes = self._processes, []
        for child in processes:
            child.drain()


def _decoded_and_reported(data, on_written) -> bytes:
    """``data`` decoded here (``StoredData``) and its SHA-256 given to ``on_written``."""
    if not isinstance(data, bytes):
        data = data.decode()
    if on_written is not None:
        on_written(hashlib.sha256(data).hexdigest())
    return data


class _Stopped(Exception):
    """A child stopped before replying for every file handed to it."""


class _Child:
    """One writer process, the files handed to it and its replies."""

    def __init__(self, process: subprocess.Popen):
        self.process = process
        self.pending: collections.deque = collections.deque()
        self.pending_bytes = 0
        self._failure: WriteFailure | None = None
        self._refused = False
        self._reply_fd = process.stdout.fileno()
        self._input_fd = process.stdin.fileno()
        os.set_blocking(self._reply_fd, False)
        self._replies = bytearray()
        self._eof = False
        try:  # Linux gives a user over its pipe quota pipes of one page
            reply_pipe = fcntl.fcntl(self._reply_fd, F_GETPIPE_SZ)
            input_pipe = fcntl.fcntl(self._input_fd, F_GETPIPE_SZ)
        except OSError:
            reply_pipe = input_pipe = 4096
        self.room = min(1024, reply_pipe // _REPLY_SIZE - 1)
        #: Unread input beyond which the child is behind (``_BACKLOG``).
        self.backlog_limit = min(_BACKLOG, input_pipe // 4)

    @classmethod
    def start(cls, setup: dict) -> "_Child | None":
        """A child that said it is ready, or None (this process writes instead)."""
        if not sys.executable:
            return None
        try:
            process = subprocess.Popen(child_command(), stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                       bufsize=_HAND_OVER_BUFFER, close_fds=True)
        except OSError:
            return None
        try:
            fcntl.fcntl(process.stdin.fileno(), F_SETPIPE_SZ, _PIPE_SIZE)
        except OSError:
            pass  # a smaller pipe only costs speed
        try:
            encoded = json.dumps(setup).encode("utf-8")
            process.stdin.write(SETUP_HEAD.pack(len(encoded)) + encoded)
            process.stdin.flush()
        except OSError:
            pass  # the child is gone: no ready byte comes
        # ``sys.executable`` may be an embedding program (uWSGI, say) that is no Python;
        # a child that cannot import the decoder (no ``cryptography``) says nothing either.
        ready, _, _ = select.select([process.stdout], [], [], _START_TIMEOUT)
        if not ready or process.stdout.read(len(_READY)) != _READY:
            process.kill()
            process.communicate()
            return None
        return cls(process)

    def hand_over(self, final: str, data, mode: int, mtime: int | None, on_written) -> None:
        path = os.fsencode(final)
        flags = (_HAS_MTIME if mtime is not None else 0) | (_HASH if on_written is not None else 0)
        if isinstance(data, bytes):
            payload, params = data, (0, 0, 0)
        else:
            payload, params = data.raw, data.params
            flags |= _STORED
        pipe = self.process.stdin
        pipe.write(FILE_HEAD.pack(len(path), len(payload), mode, flags, mtime or 0, *params) + path)
        pipe.write(payload)
        self.pending.append((final, data, mode, mtime, on_written))
        self.pending_bytes += len(payload)

    def unread(self) -> int:
        """Bytes handed over that the child has not read yet (one system call)."""
        waiting = fcntl.ioctl(self._input_fd, termios.FIONREAD, bytes(4))
        return int.from_bytes(waiting, sys.byteorder)

    def poll(self) -> None:
        """Takes the replies that arrived, without waiting."""
        while not self._eof:
            try:
                data = os.read(self._reply_fd, 1 << 16)
            except BlockingIOError:
                break
            self._eof = not data
            self._replies += data
        self._take_replies()

    def settle(self, files: int, size: int) -> None:
        """Takes replies until at most ``files`` files and ``size`` bytes wait for one;
        raises ``_Stopped`` when the child stopped first."""
        try:
            self.process.stdin.flush()  # the child needs them all to reply
        except (BrokenPipeError, ValueError):  # gone, or its input already closed
            pass
        self.poll()
        while len(self.pending) > files or self.pending_bytes > size:
            select.select([self._reply_fd], [], [])
            self.poll()

    def _take_replies(self) -> None:
        """Acts on the complete replies received (see ``_WRITTEN``)."""
        replies, pending = self._replies, self.pending
        at = 0
        try:
            while at < len(replies):
                kind = replies[at:at + 1]
                if kind == _WRITTEN and at + _REPLY_SIZE <= len(replies) and pending:
                    _, data, _, _, on_written = pending.popleft()
                    self.pending_bytes -= len(data if isinstance(data, bytes) else data.raw)
                    if on_written is not None:
                        on_written(replies[at + 1:at + _REPLY_SIZE].hex())
                    at += _REPLY_SIZE
                elif kind == _WRITTEN and not self._eof:
                    break   # the rest of it is on its way
                elif kind == _REFUSED and pending:
                    pending[0][1].decode()   # raises the reader's error for damaged data
                    self._refused = True
                    raise _Stopped()
                elif kind == _FAILED and not self._eof:
                    break   # the report is read to the end of the pipe
                else:
                    if kind == _FAILED:
                        failure = json.loads(bytes(replies[at + 1:]))
                        self._failure = WriteFailure(failure["errno"], failure["strerror"],
                                                     failure["path"], failure["step"])
                    raise _Stopped()
            if self._eof and pending:
                raise _Stopped()   # it ended without replying for every file
        finally:
            del replies[:at]

    def end_input(self) -> None:
        try:
            self.process.stdin.close()
        except BrokenPipeError:
            pass

    def finish(self) -> list[tuple]:
        """Ends the child; raises its failure. Returns the files it did not write after
        refusing data that this process decodes, to be written here."""
        self.drain()
        if self._failure is not None:
            raise self._failure
        if self._refused:
            return list(self.pending)
        if self.process.returncode != 0 or self.pending:
            raise WriteFailure(0, "the file-writing process stopped "
                               f"(status {self.process.returncode})", "", "write")
        return []

    def drain(self) -> None:
        """Ends the child: reads what is left of its replies and waits for it."""
        self.end_input()
        while not self._eof:
            select.select([self._reply_fd], [], [])
            data = os.read(self._reply_fd, 1 << 16)
            self._eof = not data
            self._replies += data
        self.process.stdout.close()
        self.process.wait()


_READY = b"sitepack-writer-2\n"
"""What a child says when it is ready: names this protocol, so that a child that is not
this module's own (which ``child_command`` rules out) could never be fed files."""
_START_TIMEOUT = 10.0


def child_command() -> list[str]:
    """How a writer process is started: isolated (``-I``: neither the current folder
    nor PYTHON* variables can put another ``restorer`` first, say an older one in the
    ``installation/`` folder being extracted into) and without ``site``, so that it is
    ready in a few milliseconds; it imports this very package, and ``cryptography``
    from where this process found it when it is in use."""
    # The folder holding ``restorer``: a site-packages folder, a source checkout, a
    # site bundle's installation/ folder or the kickstart .pyz itself.
    # (this file is restorer/extract/filewriter.py: three folders up)
    folders = [os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))]
    cryptography = sys.modules.get("cryptography")
    if cryptography is not None and getattr(cryptography, "__file__", None):
        folders.append(os.path.dirname(os.path.dirname(cryptography.__file__)))
    code = f"import sys; sys.path[:0] = {folders!r}; from restorer.extract.filewriter import main; main()"
    return [sys.executable, "-I", "-S", "-c", code]


def main() -> None:
    """The writer process (``child_command``): stdin in, replies on stdout."""
    sys.exit(_serve(sys.stdin.fileno(), sys.stdout.fileno()))

def _serve(source: int, replies: int) -> int:
    """The child: reads its setup, then decodes, hashes and writes the files read from
    the descriptor ``source`` until it ends or one fails; replies go to ``replies``,
    gathered while more input is at hand and sent before waiting for more."""
    taken = bytearray()
    at = 0
    sent = bytearray()

    def have(n: int) -> bool:
        """Whether ``n`` unread bytes are at hand, reading (and first sending the
        replies gathered) when they are not; False at the end of the input."""
        nonlocal at
        while len(taken) - at < n:
            if sent:
                os.write(replies, sent)
                sent.clear()
            if at:
                del taken[:at]
                at = 0
            more = os.read(source, max(_PIPE_SIZE, n))
            if not more:
                return False
            taken.extend(more)
        return True

    def read(n: int) -> bytes:
        nonlocal at
        at += n
        with memoryview(taken) as view:
            return bytes(view[at - n:at])

    if not have(SETUP_HEAD.size):
        return 1
    (length,) = SETUP_HEAD.unpack(read(SETUP_HEAD.size))
    if not have(length):
        return 1
    setup = json.loads(read(length))
    decode = None
    if setup.get("module"):
        try:
            decode = importlib.import_module(setup["module"]).decoder(setup["keys"])
        except Exception:  # no cryptography, say
            return 1  # no ready byte: the files are decoded and written in the parent
    os.write(replies, _READY)
    umask = current_umask()
    sha256 = hashlib.sha256
    no_digest = bytes(32)
    while True:
        if not have(FILE_HEAD.size):
            return 1 if len(taken) > at else 0
        path_length, size, mode, flags, mtime, *params = FILE_HEAD.unpack(read(FILE_HEAD.size))
        if not have(path_length + size):
            return 1  # the extraction stopped mid-file: nothing of it is written
        path, data = read(path_length), read(size)
        if flags & _STORED:
            try:
                data = decode(data, *params)
            except Exception:  # damaged: the parent decodes it again and says how
                os.write(replies, sent + _REFUSED)
                return 1
        final = os.fsdecode(path)
        try:
            write_file(final, (data,), mode, mtime if flags & _HAS_MTIME else None, umask)
        except WriteFailure as failure:
            os.write(replies, sent + _FAILED + json.dumps({
                "errno": failure.errno, "strerror": failure.strerror, "path": final,
                "step": failure.step}).encode("utf-8"))
            return 1
        sent += _WRITTEN
        sent += sha256(data).digest() if flags & _HASH else no_digest
