"""Multi-part archives: finding the parts and reading them as one stream.

Naming (Akeeba's, for every format): the parts are ``NAME.<x>01``, ``NAME.<x>02``, …
and the LAST part carries the real extension (``NAME.jpa``, ``NAME.jps``,
``NAME.zip``), where ``<x>`` is the extension's first letter (``j`` or ``z``). Part 100
is ``NAME.<x>100``. A one-part archive is just ``NAME.jpa``.

``find_parts`` starts from the path the user gives (the last part, or any earlier
part) and names the first missing part in its error. ``PartReader`` presents the parts
as one logical byte stream with ``read``/``seek``/``tell``; every error it raises names
the part file and the offset inside it, so "part 3 is short" is what the user reads,
not "unexpected end of data".
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from restorer.errors import ArchiveError, MissingPartError

_READ_BUFFER = 256 * 1024
#: How much shorter than the others a part may be when a header did not fit into it.
_HEADER_SLACK = 4096
#: The real extensions of archives (their last part's); earlier parts are numbered.
ARCHIVE_SUFFIXES = (".jpa", ".jps", ".zip")
PART_SUFFIX_RE = re.compile(r"^\.([a-z])(\d{2,})$", re.IGNORECASE)


def numbered_part(final: Path, index: int) -> Path:
    """The numbered name of part ``index`` (1-based) of the archive ``final``: ``site.j02``."""
    return final.with_suffix(f".{final.suffix[1]}{index:02d}")


def part_path(final: Path, index: int, count: int) -> Path:
    """The path of part ``index`` (1-based) of ``count`` for the archive ``final``."""
    if index == count:
        return final
    return numbered_part(final, index)


def find_parts(path: Path) -> list[Path]:
    """All parts of the archive ``path`` belongs to, in order, the last being ``path``'s.

    ``path`` may be the last part (``site.jpa``) or an earlier one (``site.j02``); for an
    earlier part the last part is looked up by the format extensions.
    """
    path = Path(path)
    match = PART_SUFFIX_RE.match(path.suffix)
    if match:
        letter = match.group(1).lower()
        candidates = [path.with_suffix(ext) for ext in ARCHIVE_SUFFIXES
                      if ext[1] == letter and path.with_suffix(ext).is_file()]
        if not candidates:
            raise MissingPartError(
                f"{path.name} is one part of a multi-part archive, but its last part "
                f"({path.with_suffix('').name}.jpa, .jps or .zip) is missing: put all parts "
                "in the same folder")
        path = candidates[0]
    if not path.is_file():
        if path.exists():
            raise ArchiveError(f"{path} is not a file: give the path of an archive file")
        raise ArchiveError(f"{path} does not exist: check the archive path")
    if len(path.suffix) < 2:
        return [path]
    earlier: list[Path] = []
    index = 1
    while True:
        candidate = numbered_part(path, index)
        if not candidate.is_file():
            break
        earlier.append(candidate)
        index += 1
    later = sorted(_numbered_siblings(path, path.suffix[1]) - set(range(1, index)))
    if later:
        missing = numbered_part(path, index)
        raise MissingPartError(
            f"part {missing.name} of this archive is missing (later parts exist): "
            "copy every part into the same folder")
    return earlier + [path]


def _numbered_siblings(path: Path, letter: str) -> set[int]:
    numbers = set()
    stem = path.with_suffix("").name
    try:
        siblings = os.listdir(path.parent)
    except OSError:
        return numbers
    for name in siblings:
        if name.startswith(stem + "."):
            match = PART_SUFFIX_RE.match(name[len(stem):])
            if match and match.group(1).lower() == letter.lower():
                numbers.add(int(match.group(2)))
    return numbers


def expect_part_count(parts: list[Path], count: int) -> None:
    """Raises ``MissingPartError`` unless there are exactly ``count`` parts.

    Called by formats that record their number of parts (spanned JPA header, JPS end
    record, ZIP end record).
    """
    if count == len(parts):
        return
    last = parts[-1]
    if count > len(parts):
        missing = numbered_part(last, len(parts))
        raise MissingPartError(
            f"this archive has {count} parts but only {len(parts)} were found: part "
            f"{missing.name} is missing; copy every part into the same folder")
    raise ArchiveError(
        f"this archive says it has {count} part(s) but {len(parts)} files named like its "
        f"parts were found beside {last.name}: remove stray part files")


class PartReader:
    """The parts of an archive read as one stream (binary, seekable, read-only)."""

    def __init__(self, parts: list[Path]):
        self.parts = parts
        self.sizes = [p.stat().st_size for p in parts]
        self.starts: list[int] = []
        total = 0
        for size in self.sizes:
            self.starts.append(total)
            total += size
        self.size = total
        #: Size of a full part: writers fill every part but the last to this size, less
        #: a header that did not fit (0 when there is no earlier part to compare).
        self._full = max(self.sizes[:-1]) if len(parts) >= 3 else 0
        self._index = 0
        self._file = None
        self._pos = 0
        self._file_pos = 0
        self._part_start = 0
        self._part_end = -1     # no part open: the fast path of ``read`` never applies

    def locate(self, offset: int) -> tuple[int, int]:
        """(part index, offset inside that part) of a logical offset."""
        for index in range(len(self.parts) - 1, -1, -1):
            if offset >= self.starts[index]:
                return index, offset - self.starts[index]
        return 0, offset

    def where(self, offset: int | None = None) -> str:
        """``"site.j02 at offset 1234"`` for error messages."""
        index, inner = self.locate(self._pos if offset is None else offset)
        return f"{self.parts[index].name} at offset {inner}"

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int) -> None:
        self._pos = offset

    def _open(self, index: int):
        if self._file is None or self._index != index:
            if self._file is not None:
                self._file.close()
            self._file = open(self.parts[index], "rb", buffering=_READ_BUFFER)
            self._index = index
            self._file_pos = 0
            self._part_start = self.starts[index]
            self._part_end = self.starts[index] + self.sizes[index]
        return self._file

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes from the current position (fewer only at the end)."""
        pos = self._pos
        if self._part_start <= pos and pos + n <= self._part_end:
            # fast path: inside the part already open (the usual case)
            handle = self._file
            inner = pos - self._part_start
            if self._file_pos != inner:
                handle.seek(inner)
            data = handle.read(n)
            if len(data) != n:
                raise self._changed(self._index)
            self._pos = pos + n
            self._file_pos = inner + n
            return data
        pieces = []
        while n > 0 and self._pos < self.size:
            index, inner = self.locate(self._pos)
            handle = self._open(index)
            if self._file_pos != inner:
                handle.seek(inner)
            data = handle.read(min(n, self.sizes[index] - inner))
            if not data:
                raise self._changed(index)
            pieces.append(data)
            self._pos += len(data)
            self._file_pos = inner + len(data)
            n -= len(data)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def peek(self, n: int) -> bytes:
        """Up to ``n`` bytes from the current position, which stays where it is."""
        data = self.read(n)
        self._pos -= len(data)
        return data

    def _changed(self, index: int) -> MissingPartError:
        return MissingPartError(f"part {self.parts[index].name} changed while it was read: "
                                "do not modify archive parts during extraction")

    def read_exact(self, n: int, what: str) -> bytes:
        """Exactly ``n`` bytes, or an error naming the part that ends too early."""
        start = self._pos
        if not (self._part_start <= start and start + n <= self._part_end):
            cut = self._cut_part_error(start, n, what)
            if cut is not None:
                raise cut
        data = self.read(n)
        if len(data) != n:
            raise self.truncated(what, start)
        return data

    def truncated(self, what: str, offset: int) -> MissingPartError:
        """The error for data that runs past the end of the last part (or, when it left
        a middle part that was cut, the error naming that part)."""
        # a part may end short of a header it did not hold; only a clearly shorter one
        # is blamed here, where nothing says the data really left it
        cut = self._cut_part_error(offset, self.size - offset, what, slack=_HEADER_SLACK)
        if cut is not None:
            return cut
        if len(self.parts) == 1:
            return MissingPartError(
                f"{self.parts[0].name} ends early (in {what} at offset {offset}): the "
                "archive is truncated; copy or download it again")
        return MissingPartError(
            f"the archive ends early (in {what} starting in {self.where(offset)}): "
            f"the last part {self.parts[-1].name} or an earlier part is short or missing; "
            "copy every part again")

    def _cut_part_error(self, start: int, n: int, what: str,
                        slack: int = 0) -> MissingPartError | None:
        """The error for ``n`` bytes from ``start`` that leave a part which was cut.

        Data runs from one part into the next only out of a full part: writers fill a
        part to its last byte before they go on (a header that does not fit starts the
        next part instead). Data leaving a shorter part would be joined to bytes that
        were never next to it, and a JPA or Akeeba archive has no checksum to notice:
        that part was cut."""
        if not self._full or n <= 0:
            return None
        first = self.locate(start)[0]
        last = self.locate(min(start + n, self.size) - 1)[0]
        for index in range(first, last):
            if self.sizes[index] < self._full - slack:
                return MissingPartError(
                    f"the archive is damaged: {what} runs from {self.parts[index].name} into "
                    f"{self.parts[index + 1].name}, but {self._short(index)}")
        return None

    def _short(self, index: int) -> str:
        return (f"part {self.parts[index].name} is {self.sizes[index]} bytes, shorter than "
                f"the others ({self._full}): it may be truncated, copy it again")

    def short_part_hint(self) -> str:
        """``"; part X is N bytes, shorter than the others (M): it may be truncated"`` or "".

        Writers fill every part but the last up to the part size, less at most one
        header that did not fit; a part clearly shorter than the longest one was cut.
        """
        for index, size in enumerate(self.sizes[:-1]):
            if size < self._full - _HEADER_SLACK:
                return "; " + self._short(index)
        return ""

    def iter_range(self, length: int, what: str, chunk: int = 1024 * 1024):
        """Yields the next ``length`` bytes in chunks, erroring if the parts end early
        (checked before the first chunk, so nothing of a cut entry is handed out)."""
        cut = self._cut_part_error(self._pos, length, what)
        if cut is not None:
            raise cut
        while length > 0:
            data = self.read_exact(min(chunk, length), what)
            length -= len(data)
            yield data

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._part_end = -1
