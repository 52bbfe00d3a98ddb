"""Resumable scan of a site tree into a list file, then reading that list back.

Scanning and archiving are two passes so that neither needs the whole tree in memory
and both can stop at any moment and continue in another process:

1. ``Scanner`` walks the tree depth-first, one directory per unit of work, appending one
   line per kept entry to the list file (``kind TAB mode TAB mtime TAB size TAB path``,
   then ``TAB target`` for a link; a name holding a tab, a line break or starting with
   ``"`` is written as a JSON string). Plain tab-separated text, because parsing a
   JSON object per line cost seconds on a 15k-file site. Its state is the stack of directories
   still to list plus the list file's length; on resume the file is cut back to that
   length, so lines written after the last saved state are never duplicated.
2. ``EntryList`` reads the list from a saved byte offset; the engine archives entry by
   entry and saves the offset with the archive writer's checkpoint. It also reads the
   one-JSON-object-per-line lists of earlier versions (a line starting with ``{``), so
   a backup saved by one of them resumes.

Symlinks are recorded as symlinks (never followed). Directories the tool writes into
(output directory, data directory) are left out by device and inode, so no path alias
can smuggle them in. A directory that cannot be listed and a name that is not valid
UTF-8 become warnings; the scan goes on.
"""

from __future__ import annotations

import dataclasses
import json
import operator
import os
import stat
import time
from pathlib import Path
from typing import Callable, Iterator

from restorer.extract.textsafe import from_tab_field, tab_field

from .filters import EXCLUDE, INCLUDE, SKIP_CONTENTS, Filters

DIR, FILE, LINK = "d", "f", "l"
_NAME = operator.attrgetter("name")


@dataclasses.dataclass(slots=True)
class Entry:
    """One archived item: kind (``d``/``f``/``l``), relative path, st_mode, mtime, size."""

    kind: str
    path: str
    mode: int
    mtime: int
    size: int = 0
    target: str | None = None

    @classmethod
    def from_line(cls, line: bytes) -> "Entry":
        if line[:1] == b"{":
            return cls._from_json_line(line)
        kind, mode, mtime, size, rest = line[:-1].decode("utf-8").split("\t", 4)
        if kind == LINK:
            path, target = rest.split("\t")
            return cls(kind, from_tab_field(path), int(mode), int(mtime), 0, from_tab_field(target))
        return cls(kind, from_tab_field(rest), int(mode), int(mtime), int(size))

    @classmethod
    def _from_json_line(cls, line: bytes) -> "Entry":
        """A line of the JSON list format written before the tab-separated one."""
        data = json.loads(line)
        return cls(kind=data["k"], path=data["p"], mode=data["m"], mtime=data["t"],
                   size=data.get("s", 0), target=data.get("l"))


def entry_line(kind: str, path: str, mode: int, mtime: int, size: int = 0,
               target: str | None = None) -> bytes:
    """The list-file line of one entry (the format ``Entry.from_line`` reads)."""
    line = f"{kind}\t{mode}\t{mtime}\t{size}\t{tab_field(path)}"
    if kind == LINK:
        line = f"{line}\t{tab_field(target)}"
    return f"{line}\n".encode("utf-8")


def _utf8_ok(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def dir_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of an existing directory, used to recognise it on any path."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


class Scanner:
    """Lists the tree under ``root`` into ``list_path`` in resumable units of work."""

    def __init__(self, root: Path, list_path: Path, filters: Filters,
                 excluded: set[tuple[int, int]], state: dict | None = None):
        self.root = Path(root)
        self._root_text = str(self.root)
        self.list_path = Path(list_path)
        self.filters = filters
        self.excluded = excluded
        if state is None:
            state = {"stack": [""], "offset": 0, "dirs": 0, "files": 0, "bytes": 0,
                     "last_dir": ""}
        self.stack: list[str] = list(state["stack"])
        self.dirs = state["dirs"]
        self.files = state["files"]
        self.bytes = state["bytes"]
        self.last_dir = state["last_dir"]
        # Cut away whatever a killed process appended after the saved state.
        fd = os.open(self.list_path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.ftruncate(fd, state["offset"])
        finally:
            os.close(fd)
        self._out = open(self.list_path, "ab")

    @property
    def done(self) -> bool:
        return not self.stack

    def state(self) -> dict:
        """The position to save; flushes and syncs the list file first."""
        self._out.flush()
        os.fsync(self._out.fileno())
        return {"stack": list(self.stack), "offset": self._out.tell(), "dirs": self.dirs,
                "files": self.files, "bytes": self.bytes, "last_dir": self.last_dir}

    def close(self) -> None:
        self._out.close()

    def run(self, deadline: float, warn: Callable[[str], None],
            debug: Callable[[str], None]) -> bool:
        """Lists directories until the stack is empty or ``time.monotonic() >= deadline``."""
        while self.stack:
            rel = self.stack.pop()
            self._list_dir(rel, warn, debug)
            self.last_dir = rel or "/"
            if time.monotonic() >= deadline:
                break
        return self.done

    def _list_dir(self, rel: str, warn, debug) -> None:
        # A plain string: one pathlib object per directory was a visible cost.
        path = f"{self._root_text}/{rel}" if rel else self._root_text
        shown = rel or "the site root"
        try:
            with os.scandir(path) as it:
                children = sorted(it, key=_NAME)
        except OSError as exc:
            warn(f"cannot read directory {shown}: {exc.strerror or exc} (its contents are skipped)")
            return
        self.dirs += 1
        write = self._out.write
        subdirs: list[str] = []
        for child in children:
            child_rel = f"{rel}/{child.name}" if rel else child.name
            if not _utf8_ok(child.name):
                warn(f"skipped {child_rel.encode('utf-8', 'backslashreplace').decode()}: "
                     f"its name is not valid UTF-8 (rename it to back it up)")
                continue
            try:
                st = child.stat(follow_symlinks=False)
            except OSError as exc:
                warn(f"cannot read {child_rel}: {exc.strerror or exc} (skipped)")
                continue
            mode = st.st_mode
            if stat.S_ISLNK(mode):
                if self.filters.file_excluded(child_rel):
                    debug(f"filtered out {child_rel}")
                    continue
                try:
                    target = os.readlink(child.path)
                except OSError as exc:
                    warn(f"cannot read the link {child_rel}: {exc.strerror or exc} (skipped)")
                    continue
                if not _utf8_ok(target):
                    warn(f"skipped the link {child_rel}: its target is not valid UTF-8")
                    continue
                write(entry_line(LINK, child_rel, mode, int(st.st_mtime), target=target))
            elif stat.S_ISDIR(mode):
                if (st.st_dev, st.st_ino) in self.excluded:
                    debug(f"left out {child_rel}: sitepack writes into it")
                    continue
                rule = self.filters.dir_rule(child_rel)
                if rule == EXCLUDE:
                    debug(f"filtered out directory {child_rel}")
                    continue
                write(entry_line(DIR, child_rel, mode, int(st.st_mtime)))
                if rule == SKIP_CONTENTS:
                    debug(f"kept directory {child_rel} without its contents")
                elif rule == INCLUDE:
                    subdirs.append(child_rel)
            elif stat.S_ISREG(mode):
                if self.filters.file_excluded(child_rel):
                    debug(f"filtered out {child_rel}")
                    continue
                write(entry_line(FILE, child_rel, mode, int(st.st_mtime), st.st_size))
                self.files += 1
                self.bytes += st.st_size
            else:
                debug(f"left out {child_rel}: not a regular file, directory or link")
        # Reverse order: the stack pops the alphabetically first directory next.
        self.stack.extend(reversed(subdirs))


class EntryList:
    """Reads the scan list from a byte offset; ``offset`` is where the next entry starts."""

    def __init__(self, list_path: Path, offset: int = 0):
        self._file = open(list_path, "rb")
        self._file.seek(offset)
        self.offset = offset

    def __iter__(self) -> Iterator[Entry]:
        for line in self._file:
            entry = Entry.from_line(line)
            self.offset += len(line)
            yield entry

    def close(self) -> None:
        self._file.close()
