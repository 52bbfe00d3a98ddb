"""The last restore step: hand the site back.

During the restore the server configuration files from the archive (``.htaccess``,
``web.config``, ``.user.ini``, ``php.ini``) sit beside their real place as ``*.bak`` so
they cannot break the half-restored site. Finishing puts them back (``.htaccess`` as
the user chose: keep it, use Joomla's default ``htaccess.txt``, or remove it), deletes
``installation/`` (sitepack's or Akeeba's) and the kickstart file.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from .akeeba import Bundle, remove_installation
from .errors import SitepackError
from .restore import FinishResult

SERVER_FILES = (".htaccess", "web.config", ".user.ini", "php.ini")
RENAMED_LIST = "renamed-files.json"
KICKSTART_NAME = "kickstart.pyz"


def renamed_files(bundle: Bundle) -> list[str]:
    """Site-relative paths (original names) that extraction wrote as ``*.bak``."""
    listed = bundle.installation / RENAMED_LIST
    if listed.is_file():
        return [str(p) for p in json.loads(listed.read_text(encoding="utf-8"))]
    found = []
    for dirpath, dirnames, filenames in os.walk(bundle.site_root):
        here = Path(dirpath)
        if here == bundle.installation:
            dirnames[:] = []
            continue
        for name in SERVER_FILES:
            if f"{name}.bak" in filenames and name not in filenames:
                found.append((here / name).relative_to(bundle.site_root).as_posix())
    return sorted(found)


def finish_restore(bundle: Bundle, htaccess: str, site_url: str | None, *,
                   kickstart: str | None = None) -> FinishResult:
    root = bundle.site_root
    restored, removed, notes = [], [], []
    for rel in renamed_files(bundle):
        original = root / rel
        backup = original.with_name(original.name + ".bak")
        if not backup.exists():
            continue
        if rel == ".htaccess" and htaccess == "remove":
            backup.unlink()
            removed.append(".htaccess")
            continue
        if rel == ".htaccess" and htaccess == "default":
            continue  # handled below; the archive's copy stays as .htaccess.bak for reference
        os.replace(backup, original)
        restored.append(rel)
    if htaccess == "default":
        default = root / "htaccess.txt"
        if not default.is_file():
            raise SitepackError(f"{default} is missing, so there is no default .htaccess to use: "
                                f"choose 'keep' or 'remove'")
        shutil.copyfile(default, root / ".htaccess")
        notes.append("the default .htaccess (from htaccess.txt) is in place; the archive's copy is .htaccess.bak")
    remove_installation(bundle)
    removed.append("installation/")
    candidates = [root / KICKSTART_NAME] + ([Path(kickstart)] if kickstart else [])
    for candidate in candidates:
        if candidate.is_file():
            candidate.unlink()
            removed.append(str(candidate.relative_to(root)) if candidate.is_relative_to(root) else str(candidate))
    return FinishResult(site_url=site_url, removed=removed, restored=restored, notes=notes)
