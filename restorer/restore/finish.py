"""The last restore step: hand the site back.

During the restore the server configuration files from the archive (``.htaccess``,
``web.config``, ``.user.ini``, ``php.ini``) sit beside their real place as ``*.bak`` so
they cannot break the half-restored site. Finishing puts them back (``.htaccess`` as
the user chose: keep it, use Joomla's default ``htaccess.txt``, or remove it), deletes
``installation/`` (sitepack's or Akeeba's), the private folder, the kickstart file and,
unless asked to keep them, the archive parts the extraction read that lie inside the
site folder (a stranger could download them; parts elsewhere are never touched).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from restorer.bundle import ARCHIVE_PARTS, Bundle, remove_installation
from restorer.errors import SitepackError
from restorer.extract.extractor import RENAMED_LIST

KICKSTART_NAME = "kickstart.pyz"


@dataclass
class FinishResult:
    site_url: str | None
    removed: list[str]
    restored: list[str]
    notes: list[str] = field(default_factory=list)


def renamed_files(bundle: Bundle) -> list[str]:
    """Site-relative paths (original names) that extraction wrote as ``*.bak``.

    The extraction for a restore lists them in ``renamed-files.json`` in the private folder.
    Without that list nothing was renamed: a ``.htaccess.bak`` of the site's own is never
    mistaken for one of ours.
    """
    listed = bundle.private / RENAMED_LIST
    if not listed.is_file():
        return []
    return [str(p) for p in json.loads(listed.read_text(encoding="utf-8"))]


def archive_parts_in_site(bundle: Bundle) -> list[Path]:
    """The archive parts the extraction read that lie inside the site folder."""
    listed = bundle.private / ARCHIVE_PARTS
    if not listed.is_file():
        return []
    parts = [Path(p) for p in json.loads(listed.read_text(encoding="utf-8"))]
    return [p for p in parts if p.resolve().is_relative_to(bundle.site_root) and p.is_file()]


def finish_restore(bundle: Bundle, htaccess: str, site_url: str | None, *,
                   kickstart: str | None = None, keep_archive: bool = False) -> FinishResult:
    root = bundle.site_root
    restored, removed, notes = [], [], []
    if htaccess == "default" and not (root / "htaccess.txt").is_file():
        raise SitepackError(f"{root / 'htaccess.txt'} is missing, so there is no default .htaccess to use: "
                            f"choose 'keep' or 'remove'")
    renamed = renamed_files(bundle)
    for rel in renamed:
        original = root / rel
        backup = original.with_name(original.name + ".bak")
        if rel == ".htaccess" and htaccess != "keep":
            continue  # decided below
        if backup.exists():
            os.replace(backup, original)
            restored.append(rel)
    # The archive's .htaccess is .htaccess.bak when extraction renamed it, else .htaccess.
    archived = root / (".htaccess.bak" if ".htaccess" in renamed else ".htaccess")
    if htaccess == "remove" and archived.exists():
        archived.unlink()
        removed.append(".htaccess")
    elif htaccess == "default":
        if archived.name == ".htaccess" and archived.exists():
            os.replace(archived, root / ".htaccess.bak")
        shutil.copyfile(root / "htaccess.txt", root / ".htaccess")
        notes.append("the default .htaccess (from htaccess.txt) is in place; the archive's copy is .htaccess.bak")
    parts = [] if keep_archive else archive_parts_in_site(bundle)
    removed += remove_installation(bundle)
    candidates = [root / KICKSTART_NAME] + ([Path(kickstart)] if kickstart else []) + parts
    for candidate in candidates:
        if candidate.is_file():
            candidate.unlink()
            removed.append(str(candidate.relative_to(root)) if candidate.is_relative_to(root) else str(candidate))
    return FinishResult(site_url=site_url, removed=removed, restored=restored, notes=notes)
