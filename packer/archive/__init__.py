"""Archive writers: ``open_writer`` picks the format's writer (design in ``base.py``)."""

from __future__ import annotations

from pathlib import Path

from restorer.errors import ArchiveError
from restorer.formats.parts import ARCHIVE_SUFFIXES

from .base import (ENCRYPTED_FORMATS, FORMATS, SMALL_FILE_LIMIT, ArchiveWriter, SourceChangedError,
                   writer_class)

__all__ = ["open_writer", "resume_writer", "writer_class", "ArchiveWriter", "SourceChangedError",
           "SMALL_FILE_LIMIT", "FORMATS", "ENCRYPTED_FORMATS", "format_for_path"]


def format_for_path(path: Path | str) -> str:
    """The format an archive name implies (``site.jpa`` → ``jpa``; ``.jps`` → ``jps``)."""
    suffix = Path(path).suffix.lower()
    if suffix in ARCHIVE_SUFFIXES:
        return suffix.lstrip(".")
    raise ArchiveError(f"cannot tell the archive format from the name {Path(path).name!r}: "
                       "end it with .jpa, .jps or .zip, or give --format")


def open_writer(fmt: str, path: Path | str, *, part_size: int | None = None,
                password: str | None = None, manifest: bool = True) -> ArchiveWriter:
    """A writer for a new archive whose final (last-part) path is ``path``.

    ``path`` must carry the format's extension (``.jpa`` for jpa, ``.jps`` for jps and
    jps2, ``.zip``).
    """
    cls = writer_class(fmt)
    path = Path(path)
    if path.suffix.lower() != cls.suffix:
        raise ArchiveError(f"a {fmt} archive must be named *{cls.suffix}, not {path.name!r}")
    if not path.parent.is_dir():
        raise ArchiveError(f"the folder {path.parent} does not exist: create it first")
    return cls(path, part_size=part_size, password=password, manifest=manifest)


def resume_writer(state: dict) -> ArchiveWriter:
    """The writer of a ``checkpoint()`` state, continued after a crash."""
    return ArchiveWriter.resume(state)
