"""Archive readers: format detection and ``open_archive``.

Every format module in this package exposes two functions:

- ``detect(head: bytes) -> bool``: whether the first bytes of the first part are its
  magic (at least 16 bytes are given when the file has them);
- ``open_reader(parts: list[Path], password: str | None) -> ArchiveReader``;
- ``decoder(keys: dict[str, str]) -> Callable[[bytes, int, int, int], bytes]``: what a
  writer process (``restorer/extract/filewriter.py``) decodes a ``StoredData`` with, given its
  ``raw`` bytes and ``params`` and the reader's ``handover_keys()``; it raises on damaged
  data (the reader's ``StoredData.decode`` then says what is wrong).

``open_archive`` finds the parts (``parts.find_parts``), reads the first bytes of the
first part and hands over to the first module that recognizes them. Encrypted formats
raise ``WrongPasswordError`` when the password is missing or wrong.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from restorer.errors import ArchiveError

from .base import CHUNK_SIZE, MANIFEST_PATH, MANIFEST_VERSIONS, ArchiveReader, Entry, EntryType
from .parts import find_parts

__all__ = ["open_archive", "ArchiveReader", "Entry", "EntryType", "CHUNK_SIZE", "MANIFEST_PATH",
           "MANIFEST_VERSIONS", "NEEDS_PASSWORD", "format_modules"]

#: Formats in the order they are tried; a module that does not exist (yet) is skipped.
_FORMAT_MODULES = ("jpa", "zip", "jps", "jps2")

#: What an encrypted format says when it was given no password.
NEEDS_PASSWORD = ("this archive is encrypted: give its password with --password-env VAR "
                  "or --password-file FILE")


def format_modules() -> list[ModuleType]:
    modules = []
    for name in _FORMAT_MODULES:
        try:
            modules.append(importlib.import_module(f"{__name__}.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    return modules


def open_archive(path: Path | str, password: str | None = None) -> ArchiveReader:
    """A reader for the archive at ``path`` (its last part, or any part of it)."""
    parts = find_parts(Path(path))
    try:
        with open(parts[0], "rb") as handle:
            head = handle.read(64)
    except OSError as exc:
        raise ArchiveError(f"cannot read {parts[0]}: {exc.strerror}") from None
    for module in format_modules():
        if module.detect(head):
            return module.open_reader(parts, password)
    raise ArchiveError(f"{parts[0].name} is not an archive sitepack knows (JPA, JPS or ZIP): "
                       "check that you gave the right file")
