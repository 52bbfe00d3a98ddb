"""``sitepack verify``: every byte of every entry against the archive's manifest.

The archive is read entry by entry (streaming, nothing is written); every entry is
hashed with SHA-256 and recorded; the manifest (the archive's last entry, see
``restorer.extract.manifest``) is compared line by line, as it is read, with what was recorded: type, size, mode, mtime and SHA-256; entries the manifest does not list
and manifest lines without an entry are reported too.

An archive without a manifest (made by Akeeba, or by ``zip``) can only be checked for
structure: headers, decompression, sizes, and whatever the format itself checks
(ZIP's CRC-32, decryption and authentication of ``jps``). The report says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from restorer.errors import ArchiveError
from restorer.extract.manifest import TYPE_NAMES, ManifestReader, ManifestRecord
from restorer.formats import MANIFEST_PATH, MANIFEST_VERSIONS, open_archive
from restorer.formats.base import Entry, EntryType
from restorer.progress import Progress

#: At most this many problems are listed one by one (the count is always exact).
MAX_LISTED_PROBLEMS = 20


@dataclass(frozen=True)
class Observed:
    """What an entry turned out to be when it was read."""

    __slots__ = ("type", "size", "mode", "mtime", "sha256")

    type: EntryType
    size: int
    mode: int
    mtime: int | None
    sha256: str | None


def observe(entry: Entry, sha256: str | None) -> Observed:
    return Observed(entry.type, entry.size, entry.mode, entry.mtime, sha256)


class ManifestComparison:
    """Compares manifest lines, as they are parsed, with the entries read before.

    Entries are taken out of ``observed`` as their line is checked, so memory goes down
    while the manifest is read; whatever is left at the end was not listed.
    """

    def __init__(self, observed: dict[str, Observed], manifest_path: str):
        """``manifest_path``: the manifest's own entry, which it does not list."""
        self.observed = observed
        self.manifest_path = manifest_path
        self.problems: list[tuple[str, str]] = []

    def check(self, record: ManifestRecord) -> None:
        got = self.observed.pop(record.path, None)
        if got is None:
            problem = "listed in the manifest but missing from the archive"
        elif got.type != record.type:
            problem = (f"is a {TYPE_NAMES[got.type]} but the manifest says "
                       f"{TYPE_NAMES[record.type]}")
        elif got.size != record.size:
            problem = f"{got.size} bytes but the manifest says {record.size}"
        elif got.sha256 != record.sha256:
            problem = "content differs from the manifest (SHA-256 mismatch)"
        elif got.mode != record.mode:
            problem = f"mode {got.mode:o} but the manifest says {record.mode:o}"
        elif got.mtime != record.mtime:
            problem = (f"modification time {'missing' if got.mtime is None else got.mtime} "
                       f"but the manifest says {record.mtime}")
        else:
            return
        self.problems.append((record.path, problem))

    def finish(self) -> list[tuple[str, str]]:
        """All (path, problem) pairs, unlisted entries included."""
        for path in self.observed:
            if path != self.manifest_path:
                self.problems.append((path, "in the archive but not listed in the manifest"))
        return self.problems


@dataclass
class VerifyReport:
    archive: Path
    format: str = ""
    parts: int = 0
    entries: int = 0
    bytes: int = 0
    has_manifest: bool = False
    format_checksums: bool = False
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def add_problem(self, text: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_LISTED_PROBLEMS:
            self.problems.append(text)

    def what_was_checked(self) -> str:
        """One sentence a user reads: what this verification actually proves."""
        if self.has_manifest:
            return ("every byte of every entry was checked against the archive's manifest "
                    "(SHA-256, sizes, modes, times)")
        checks = "headers, decompression and sizes"
        if self.format == "zip":
            checks += ", and CRC-32 of every file"
        elif self.format in ("jps",):
            checks += ", and authentication of every encrypted block"
        elif self.format in ("jps2", "jps1"):
            checks += ", and decryption"
        return (f"this archive has no sitepack manifest, so there were no checksums to "
                f"compare; verified the structure only: {checks}")


def verify(archive: Path | str, *, password: str | None = None, progress: Progress | None = None,
           copy_to: Callable[[Entry], Callable[[bytes], object] | None] | None = None) -> VerifyReport:
    """Reads the whole archive and reports what is wrong (nothing is written here).

    ``copy_to(entry)`` may return a function that is given the entry's bytes as they are
    read (``sitepack verify`` keeps the dump that way, to check it after one reading)."""
    report = VerifyReport(Path(archive))
    observed: dict[str, Observed] = {}
    manifest = None
    with open_archive(archive, password) as reader:
        report.format = reader.format
        report.parts = len(reader.parts)
        report.format_checksums = reader.has_checksums
        declares_manifest = reader.declares_manifest
        if progress is not None:
            progress.update(0, total=reader.total_size)
        try:
            for entry, chunks in reader.entries():
                is_manifest = entry.path in MANIFEST_VERSIONS and entry.is_file
                if is_manifest:
                    comparison = ManifestComparison(observed, entry.path)
                    manifest = ManifestReader(comparison.check, MANIFEST_VERSIONS[entry.path])
                    manifest_entry = entry
                digest = None if entry.is_dir else hashlib.sha256()
                copy = copy_to(entry) if copy_to is not None and entry.is_file else None
                for chunk in chunks:
                    digest.update(chunk)
                    if copy is not None:
                        copy(chunk)
                    if is_manifest:
                        manifest.feed(chunk)
                    if progress is not None:
                        progress.update(advance=len(chunk), item=entry.path)
                if entry.path in observed and not (entry.is_dir and observed[entry.path].type
                                                    is EntryType.DIR):
                    report.add_problem(f"{entry.path}: appears more than once in the archive")
                observed[entry.path] = observe(entry, digest.hexdigest() if digest else None)
                report.entries += 1
                report.bytes += entry.size
        except ArchiveError as exc:
            report.add_problem(str(exc))
            return report
    if manifest is None and declares_manifest:
        report.add_problem(f"the archive is damaged: its header says it carries a manifest "
                           f"({MANIFEST_PATH}) but there is none")
        return report
    if manifest is not None and declares_manifest is False:
        report.add_problem("the archive is damaged: it carries a manifest but its header "
                           "does not say so")
        return report
    if manifest is not None:
        report.has_manifest = True
        try:
            manifest.finish()
            manifest.check_own_entry(manifest_entry.mode, manifest_entry.mtime)
        except ArchiveError as exc:
            report.add_problem(str(exc))
            return report
        for path, problem in comparison.finish():
            report.add_problem(f"{path}: {problem}")
    return report
