"""The dump's output files: ``site.sql``, then ``site.s01``, ``site.s02``, ... at a size.

A new part is only started between statements, so each part holds whole statements (the
importer copes with statements that cross parts anyway, as Akeeba's do). The position
(part, offset) is what a resumed dump truncates back to.
"""

from __future__ import annotations

from pathlib import Path

_BUFFER = 1 << 20


def part_name(basename: str, index: int) -> str:
    return f"{basename}.sql" if index == 0 else f"{basename}.s{index:02d}"


class SplitWriter:
    def __init__(self, out_dir: Path, basename: str = "site", split_size: int | None = None,
                 *, part: int = 0, offset: int = 0):
        """Opens part ``part`` truncated to ``offset``; later parts are deleted.

        ``part=0, offset=0`` starts a fresh dump (and removes old parts).
        """
        self.out_dir = Path(out_dir)
        self.basename = basename
        self.split_size = split_size
        self.out_dir.mkdir(parents=True, exist_ok=True)
        index = part + 1
        while (self.out_dir / part_name(basename, index)).exists():
            (self.out_dir / part_name(basename, index)).unlink()
            index += 1
        self.part = part
        path = self.out_dir / part_name(basename, part)
        self._file = open(path, "r+b" if path.exists() else "w+b", buffering=_BUFFER)
        self._file.truncate(offset)
        self._file.seek(offset)
        self.offset = offset

    @property
    def files(self) -> list[Path]:
        return [self.out_dir / part_name(self.basename, i) for i in range(self.part + 1)]

    def start_statement(self, data: bytes) -> None:
        """Writes the start of a statement, moving to a new part first when this one is full."""
        if self.split_size and self.offset and self.offset + len(data) > self.split_size:
            self._file.close()
            self.part += 1
            self._file = open(self.out_dir / part_name(self.basename, self.part), "wb",
                              buffering=_BUFFER)
            self.offset = 0
        self.write(data)

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self.offset += len(data)

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()
