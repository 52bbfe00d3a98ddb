"""Writing an archive as one or more part files.

While an archive is written, every part, the last one included, carries a numbered
name (``site.j01``, ``site.j02``, …); only ``finish`` renames the last part to the
archive's real name (``site.jpa``). So a file with the real name is always complete,
and a killed backup leaves numbered parts that ``resume`` continues or ``abort``
deletes. Naming is the readers' (``restorer.formats.parts.numbered_part``).

``ensure_room(n)`` starts a new part when the next ``n`` bytes (a header that must not
cross a part boundary) do not fit in the current one; ``write`` lets data run across
any number of boundaries. ``patch`` rewrites bytes already written (headers whose sizes
are known only afterwards), ``truncate_to`` rolls back to an earlier position.
"""

from __future__ import annotations

import os
from pathlib import Path

from restorer.errors import ArchiveError
from restorer.formats.parts import numbered_part

MIN_PART_SIZE = 64 * 1024
_BUFFER = 1024 * 1024


def check_part_size(part_size: int | None) -> None:
    if part_size is not None and part_size < MIN_PART_SIZE:
        raise ArchiveError(f"part size {part_size} bytes is too small: use at least 64 KiB "
                           f"({MIN_PART_SIZE} bytes), for example --part-size 100M")


class PartWriter:
    """Bytes out to ``final``'s numbered parts, starting a new part at ``part_size``."""

    def __init__(self, final: Path, part_size: int | None, *, index: int = 1,
                 offset: int = 0, before: int = 0):
        check_part_size(part_size)
        self.final = Path(final)
        self.part_size = part_size
        self.index = index          # 1-based number of the part being written
        self.offset = offset        # bytes already in that part
        self.before = before        # bytes in all earlier parts
        self._file = None

    # -- naming ---------------------------------------------------------------
    def numbered(self, index: int) -> Path:
        return numbered_part(self.final, index)

    @property
    def paths(self) -> list[Path]:
        """The part files written so far, under their numbered names."""
        return [self.numbered(i) for i in range(1, self.index + 1)]

    @property
    def total(self) -> int:
        """Logical offset of the next byte (over all parts)."""
        return self.before + self.offset

    @property
    def position(self) -> tuple[int, int]:
        return self.index, self.offset

    # -- writing ----------------------------------------------------------------
    def open_fresh(self) -> None:
        """Creates the first part (replacing a leftover one)."""
        self._file = open(self.numbered(1), "wb", buffering=_BUFFER)

    def _handle(self):
        if self._file is None:
            self._file = open(self.numbered(self.index), "r+b", buffering=_BUFFER)
            self._file.seek(self.offset)
        return self._file

    def room(self) -> int | None:
        """Bytes left in the current part (``None``: no limit)."""
        if self.part_size is None:
            return None
        return self.part_size - self.offset

    def ensure_room(self, n: int) -> None:
        """Starts a new part unless ``n`` more bytes fit into the current one."""
        if self.part_size is None or self.offset + n <= self.part_size:
            return
        if n > self.part_size:
            raise ArchiveError(f"a header of {n} bytes does not fit into parts of "
                               f"{self.part_size} bytes: use a larger --part-size")
        self.next_part()

    def next_part(self) -> None:
        handle = self._handle()
        handle.flush()
        handle.close()
        self.before += self.offset
        self.index += 1
        self.offset = 0
        self._file = open(self.numbered(self.index), "wb", buffering=_BUFFER)

    def write(self, data) -> None:
        handle = self._handle()
        if self.part_size is None or self.offset + len(data) <= self.part_size:
            handle.write(data)
            self.offset += len(data)
            return
        view = memoryview(data)
        while view:
            room = self.part_size - self.offset
            if room == 0:
                self.next_part()
                handle = self._file
                room = self.part_size
            handle.write(view[:room])
            self.offset += min(room, len(view))
            view = view[room:]

    def patch(self, position: tuple[int, int], data: bytes) -> None:
        """Overwrites bytes at ``position`` (they never cross a part boundary)."""
        index, offset = position
        if index == self.index:
            handle = self._handle()
            handle.seek(offset)
            handle.write(data)
            handle.seek(self.offset)
            return
        with open(self.numbered(index), "r+b") as handle:
            handle.seek(offset)
            handle.write(data)

    def sync(self) -> None:
        """Flushes and fsyncs the current part (earlier parts were closed complete)."""
        handle = self._handle()
        handle.flush()
        os.fsync(handle.fileno())

    def truncate_to(self, index: int, offset: int, before: int) -> None:
        """Rolls back to ``(index, offset)``: later parts are deleted, the part cut."""
        if self._file is not None:
            self._file.close()
            self._file = None
        for later in range(index + 1, max(index, self.index) + 1):
            self.numbered(later).unlink(missing_ok=True)
        # Parts past a checkpoint may exist even if this writer never opened them
        # (the process that wrote them was killed): remove them by their names.
        later = index + 1
        while self.numbered(later).exists():
            self.numbered(later).unlink()
            later += 1
        path = self.numbered(index)
        if not path.exists():
            raise ArchiveError(f"cannot resume: part {path.name} is missing")
        if path.stat().st_size < offset:
            raise ArchiveError(f"cannot resume: part {path.name} is shorter than at the "
                               "last checkpoint; start the archive again")
        os.truncate(path, offset)
        self.index, self.offset, self.before = index, offset, before

    def state(self) -> dict:
        return {"index": self.index, "offset": self.offset, "before": self.before}

    def finish(self) -> list[Path]:
        """Closes the last part, renames it to the real name; returns all parts in order."""
        handle = self._handle()
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        self._file = None
        paths = self.paths
        os.replace(paths[-1], self.final)
        paths[-1] = self.final
        return paths

    def abort(self) -> None:
        """Closes and deletes every part written so far (numbered or renamed)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        index = 1
        while self.numbered(index).exists() or index <= self.index:
            self.numbered(index).unlink(missing_ok=True)
            index += 1

    def close_handle(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
