"""Reading SQL statements from dump files one at a time, never a whole file at once.

Two kinds of input:
- sitepack/Akeeba dumps: statements separated by ``"\\n/**ABDB**/"``, possibly spread
  over ``site.sql``, ``site.s01``, ... with a statement crossing from one part into the
  next. Positions are (part, offset) of the statement start, so reading can resume.
- plain ``mariadb-dump``/``mysqldump`` output: statements end with the current
  delimiter at the end of a line (outside quotes), ``DELIMITER`` lines change it,
  comment lines and the ``/*M!999999\\- enable the sandbox mode */`` line are skipped.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from pathlib import Path

MARKER = b"\n/**ABDB**/"
START = b"/**ABDB**/"
_CHUNK = 1 << 20


class MarkerStatementReader:
    """Yields ``(part, offset, statement)``; ``position`` is where the next one starts."""

    def __init__(self, paths: list[Path], part: int = 0, offset: int = 0):
        self.paths = [Path(p) for p in paths]
        self.sizes = [p.stat().st_size for p in self.paths]
        self.starts = [0]
        for size in self.sizes:
            self.starts.append(self.starts[-1] + size)
        self.total = self.starts[-1]
        self._pos = self.starts[part] + offset  # global offset of the next statement

    @property
    def done_bytes(self) -> int:
        return self._pos

    def locate(self, global_offset: int) -> tuple[int, int]:
        part = max(0, bisect.bisect_right(self.starts, global_offset) - 1)
        part = min(part, len(self.paths) - 1)
        return part, global_offset - self.starts[part]

    @property
    def position(self) -> tuple[int, int]:
        return self.locate(self._pos)

    def _read_from(self, global_offset: int) -> Iterator[bytes]:
        part, offset = self.locate(global_offset)
        for index in range(part, len(self.paths)):
            with open(self.paths[index], "rb") as f:
                f.seek(offset if index == part else 0)
                while chunk := f.read(_CHUNK):
                    yield chunk

    def __iter__(self) -> Iterator[tuple[int, int, bytes]]:
        chunks = self._read_from(self._pos)
        buffer = bytearray()
        searched = 0
        eof = False
        while True:
            found = buffer.find(MARKER, searched)
            if found < 0 and not eof:
                searched = max(0, len(buffer) - len(MARKER) + 1)
                chunk = next(chunks, None)
                if chunk is None:
                    eof = True
                else:
                    buffer += chunk
                continue
            end = found if found >= 0 else len(buffer)
            raw = bytes(buffer[:end])
            start = self._pos
            statement = _clean(raw)
            # The next statement starts at its "/**ABDB**/" (after the newline).
            consumed = end + (1 if found >= 0 else 0)
            del buffer[:consumed]
            searched = 0
            self._pos = start + consumed
            if statement:
                part, offset = self.locate(start)
                yield part, offset, statement
            if found < 0:
                return


def _clean(raw: bytes) -> bytes:
    if raw.startswith(START):
        raw = raw[len(START):]
    raw = raw.strip()
    if raw.endswith(b";"):
        raw = raw[:-1].rstrip()
    return raw


# --- plain mariadb-dump / mysqldump files ---------------------------------------------

_SANDBOX = re.compile(rb"^/\*M?!999999\\?- enable the sandbox mode \*/\s*$")
_DELIMITER = re.compile(rb"^\s*DELIMITER\s+(\S+)\s*$", re.I)
# Quote state across a line: find literals, identifiers and block comments.
_OPENING = re.compile(rb"['\"`#]|/\*|--[ \t]")
_QUOTED = re.compile(rb"""'(?:[^'\\]++|\\.|'')*+'|"(?:[^"\\]++|\\.|"")*+"|`(?:[^`]++|``)*+`|/\*.*?\*/|(?:--[ \t]|\#)[^\n]*+\n""", re.S)


def _open_quote(text: bytes) -> bool:
    """True when ``text`` ends inside a quoted literal, a block comment or a line comment."""
    pos = 0
    while True:
        opening = _OPENING.search(text, pos)
        if not opening:
            return False
        match = _QUOTED.match(text, opening.start())
        if not match:
            return True
        pos = match.end()


def plain_statements(path: Path) -> Iterator[tuple[int, bytes]]:
    """Yields ``(offset, statement)`` from a plain dump file, without the delimiter."""
    delimiter = b";"
    pending: list[bytes] = []
    start = 0
    offset = 0
    with open(path, "rb") as f:
        for number, line in enumerate(f):
            line_start = offset
            offset += len(line)
            stripped = line.strip()
            if not pending:
                if number == 0 and _SANDBOX.match(stripped):
                    continue
                if not stripped or stripped.startswith(b"--") or stripped.startswith(b"#"):
                    continue
                delimiter_change = _DELIMITER.match(stripped)
                if delimiter_change:
                    delimiter = delimiter_change.group(1)
                    continue
                start = line_start
            pending.append(line)
            if stripped.endswith(delimiter):
                statement = b"".join(pending)
                if not _open_quote(statement):
                    pending = []
                    body = statement.rstrip()[:-len(delimiter)].strip()
                    if body:
                        yield start, body
        if pending:
            body = b"".join(pending).strip()
            if body:
                yield start, body
