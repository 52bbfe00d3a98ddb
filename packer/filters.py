"""Which files and directories of a site go into a backup.

All rules work on paths relative to the site root, ``/``-separated, without a leading
slash (``images/banners``). Four kinds, as in Akeeba Backup:

- ``exclude_dirs``: the directory and everything below it are left out;
- ``exclude_files``: that one file is left out;
- ``exclude_regex``: any file or directory whose relative path matches (``re.search``)
  is left out (a matching directory takes its whole subtree with it);
- ``skip_dir_contents``: the directory itself is kept (empty), nothing below it.

Akeeba's defaults are added unless switched off: the contents of ``cache/``, ``tmp/``,
``administrator/cache/``, ``administrator/logs/`` and of the site's configured tmp and
log folders (when they lie inside the site), and every file named ``error_log``.
Folders the tool itself writes (output directory, data directory) are excluded by
identity (device + inode) by the scanner, whatever path leads to them.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

from restorer.errors import SitepackError

DEFAULT_SKIP_DIR_CONTENTS = ("cache", "tmp", "administrator/cache", "administrator/logs")
DEFAULT_EXCLUDED_FILE_NAMES = ("error_log",)

EXCLUDE = "exclude"
SKIP_CONTENTS = "skip_contents"
INCLUDE = "include"


def normalise_rel(path: str) -> str:
    """``./a//b/`` → ``a/b``; refuses ``..`` (rules name paths inside the site)."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise SitepackError(f"filter path {path!r} leaves the site root; give a path inside the site")
    return "/".join(parts)


def relative_inside(root: Path, path: str | os.PathLike | None) -> str | None:
    """``path`` relative to ``root`` when it lies strictly inside it, else ``None``."""
    if not path:
        return None
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = root / candidate
    try:
        rel = Path(os.path.realpath(candidate)).relative_to(os.path.realpath(root))
    except ValueError:
        return None
    text = rel.as_posix()
    return None if text in ("", ".") else text


@dataclasses.dataclass
class Filters:
    exclude_dirs: list[str] = dataclasses.field(default_factory=list)
    exclude_files: list[str] = dataclasses.field(default_factory=list)
    exclude_regex: list[str] = dataclasses.field(default_factory=list)
    skip_dir_contents: list[str] = dataclasses.field(default_factory=list)
    excluded_file_names: list[str] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        self.exclude_dirs = [normalise_rel(p) for p in self.exclude_dirs]
        self.exclude_files = [normalise_rel(p) for p in self.exclude_files]
        self.skip_dir_contents = [normalise_rel(p) for p in self.skip_dir_contents]
        self._dirs = set(self.exclude_dirs)
        self._files = set(self.exclude_files)
        self._skip = set(self.skip_dir_contents)
        self._names = set(self.excluded_file_names)
        self._regexes = []
        for pattern in self.exclude_regex:
            try:
                self._regexes.append(re.compile(pattern))
            except re.error as exc:
                raise SitepackError(
                    f"the exclusion pattern {pattern!r} is not a valid regular expression "
                    f"({exc}); fix it in the profile") from None

    @classmethod
    def for_site(cls, rules: dict | None, *, site_root: Path, tmp_path: str | None = None,
                 log_path: str | None = None, defaults: bool = True) -> "Filters":
        """The profile's rules plus Akeeba's defaults for this site."""
        rules = rules or {}
        skip = list(rules.get("skip_dir_contents", []))
        names: list[str] = []
        if defaults:
            skip.extend(DEFAULT_SKIP_DIR_CONTENTS)
            for configured in (tmp_path, log_path):
                rel = relative_inside(site_root, configured)
                if rel:
                    skip.append(rel)
            names.extend(DEFAULT_EXCLUDED_FILE_NAMES)
        return cls(exclude_dirs=list(rules.get("exclude_dirs", [])),
                   exclude_files=list(rules.get("exclude_files", [])),
                   exclude_regex=list(rules.get("exclude_regex", [])),
                   skip_dir_contents=skip, excluded_file_names=names)

    def _regex_hit(self, rel: str) -> bool:
        return any(r.search(rel) for r in self._regexes)

    def dir_rule(self, rel: str) -> str:
        """``EXCLUDE``, ``SKIP_CONTENTS`` or ``INCLUDE`` for a directory below the root.

        Only the directory's own path is tested: the scanner never descends into an
        excluded or skipped directory, so ancestors were already tested.
        """
        if rel in self._dirs or self._regex_hit(rel):
            return EXCLUDE
        if rel in self._skip:
            return SKIP_CONTENTS
        return INCLUDE

    def file_excluded(self, rel: str) -> bool:
        name = rel.rsplit("/", 1)[-1]
        return rel in self._files or name in self._names or self._regex_hit(rel)
