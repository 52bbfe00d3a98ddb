"""What a site bundle is: the names inside ``installation/`` (Akeeba's layout) and reading it.

Every name a bundle holds is spelled here only: the installer (``packer/installer.py``)
writes them, extraction and the restore read them; ``is_private`` says which entries
belong in the private folder rather than the web root.

Both an archive made by sitepack and one made by Akeeba Backup hold ``installation/``
with ``sql/databases.json`` (one entry per dump: ``site.sql``
for the site's own database, others for extra databases), the SQL parts, an
``extrainfo.json`` with the backup's origin and a ``README.html``. Akeeba's folder also
holds its PHP installer, which is never run: only these data files are read.

All of it but the restorer's code lies in the restore's private folder outside the site
(``restorer/private.py``): sitepack's extraction writes it there. When another tool
(Akeeba's Kickstart, unzip) left it in the web root's ``installation/``, ``read_bundle``
moves it there first, before anything listens, and the bundle says what it moved.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SitepackError
from .formats.base import MANIFEST_VERSIONS
from .private import make_private_dir, resolve_private_dir

# The names inside a bundle, spelled here only (the installer writes them, extraction and
# the restore read them).
INSTALLATION = "installation"
#: The script a bundle is restored with: ``installation/restore.py``.
ENTRY_SCRIPT = "restore.py"
#: What stays in the web root's ``installation/``: the restorer's code, nothing secret.
PUBLIC_RUNTIME = (ENTRY_SCRIPT, "restorer", "vendor", "templates")
SQL_DIR = "sql"
DATABASES_JSON = "databases.json"
#: Per-table row counts and checksums of each dump (docs/FORMAT-CHECKSUMS.md), beside databases.json.
CHECKSUMS_JSON = "checksums.json"
SITE_DUMP = "site.sql"
EXTRAINFO = "extrainfo.json"
README = "README.html"
#: Where each archive part this extraction read is listed (``finish`` removes those in the site).
ARCHIVE_PARTS = "archive-parts.json"
# Labels for the backup information both tools write into extrainfo.json.
_INFO_LABELS = {
    "host": "Origin host",
    "backup_date": "Backup date (UTC)",
    "akeeba_version": "Made by Akeeba Backup",
    "tool_version": "Made by sitepack",
    "sitepack_version": "Made by sitepack",
    "php_version": "PHP version at origin",
    "root": "Original site root",
    "original_root": "Original site root",
    "site_url": "Original site URL",
}


def is_private(path: str) -> bool:
    """Whether an archive entry path belongs in the private folder (``installation/X``,
    ``X`` not the restorer's code)."""
    head, _, rest = path.partition("/")
    return head == INSTALLATION and bool(rest) and rest.partition("/")[0] not in PUBLIC_RUNTIME


def private_path(private_root: Path | str, path: str) -> str:
    """Where the private entry ``path`` (``installation/X``) lives: ``private_root/X``."""
    return os.path.join(private_root, path[len(INSTALLATION) + 1:])


@dataclass
class Bundle:
    """An extracted site bundle, ready to restore."""

    site_root: Path
    installation: Path   # in the web root: the restorer's code at most
    private: Path        # outside it: everything else (restorer/private.py)
    databases: dict[str, dict]
    extrainfo: dict
    readme_html: str | None
    made_by: str  # "sitepack" or "akeeba"
    platform: str  # "joomla", "wordpress" or "generic"
    warnings: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)  # found in the web root, moved to ``private``

    @property
    def sql_dir(self) -> Path:
        return self.private / SQL_DIR

    @property
    def config_path(self) -> Path | None:
        name = {"joomla": "configuration.php", "wordpress": "wp-config.php"}.get(self.platform)
        return self.site_root / name if name else None

    @property
    def state_path(self) -> Path:
        return self.private / ".restore-state.json"

    def info_rows(self) -> list[tuple[str, str]]:
        """The backup information as (label, value) rows, known fields first."""
        rows = [(_INFO_LABELS[k], str(v)) for k, v in self.extrainfo.items()
                if k in _INFO_LABELS and v not in (None, "")]
        rows += [(k.replace("_", " ").capitalize(), str(v)) for k, v in self.extrainfo.items()
                 if k not in _INFO_LABELS and isinstance(v, (str, int, float)) and v != ""]
        return rows

    def original_root(self) -> str | None:
        for key in ("root", "original_root"):
            if self.extrainfo.get(key):
                return str(self.extrainfo[key])
        return None


def _read_json(path: Path, what: str) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SitepackError(f"cannot read {what} {path}: {exc.strerror}; re-extract the archive") from None
    except ValueError as exc:
        raise SitepackError(f"{what} {path} is not valid JSON ({exc}); re-extract the archive") from None


# Files and folders each platform's own software has, with or without its configuration.
_JOOMLA_FILES = ("administrator/index.php",)
_JOOMLA_ANY_FOLDER = ("libraries/src", "libraries/cms")     # Joomla 3.8+/4/5, Joomla 3.0-3.7
_WORDPRESS_FILES = ("wp-config.php", "wp-settings.php", "wp-includes/version.php")


def detect_platform(site_root: Path) -> str:
    """Which platform a site folder holds: ``joomla``, ``wordpress`` or ``generic``. The one
    rule for the backup (``packer.site``) and the restore.

    Joomla: a ``configuration.php`` declaring ``JConfig``, or Joomla's own folders (a site
    whose configuration is lost or damaged still has them, and is told so, not backed up as
    a generic site without its database). A ``configuration.php`` of another application
    makes nothing Joomla. WordPress: ``wp-config.php`` or WordPress's own files (its
    configuration may sit one folder above the site). Joomla is checked first.
    """
    config = site_root / "configuration.php"
    if config.is_file() and "JConfig" in config.read_text(encoding="utf-8", errors="replace"):
        return "joomla"
    if all((site_root / name).is_file() for name in _JOOMLA_FILES) and \
            any((site_root / name).is_dir() for name in _JOOMLA_ANY_FOLDER):
        return "joomla"
    if any((site_root / name).is_file() for name in _WORDPRESS_FILES):
        return "wordpress"
    return "generic"


def move_private_files(installation: Path, private: Path) -> list[str]:
    """Moves what another tool left in the web root's ``installation/`` (all but the
    restorer's code) into the private folder, owner-only; returns the names moved."""
    if not installation.is_dir():
        return []
    moved = []
    for item in sorted(installation.iterdir()):
        if item.name in PUBLIC_RUNTIME:
            continue
        make_private_dir(private)
        target = private / item.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        shutil.move(item, target)
        moved.append(item.name)
        for folder, dirs, files in os.walk(target):
            os.chmod(folder, 0o700)
            for name in files:
                os.chmod(os.path.join(folder, name), 0o600)
    return moved


def read_bundle(site_root: Path, private_dir: Path | None = None) -> Bundle:
    """The bundle extracted at ``site_root`` (its private folder: ``private_dir`` or the
    default); a clear error if it is not one."""
    site_root = Path(site_root).resolve()
    installation = site_root / INSTALLATION
    private = resolve_private_dir(site_root, private_dir)
    moved = move_private_files(installation, private)
    if not private.is_dir():
        raise SitepackError(
            f"no restore data for {site_root} in {private}: extract a full site backup there first "
            f"(sitepack extract ARCHIVE {site_root}), give the folder you extracted it into, or "
            f"the --private-dir it was extracted with")
    databases: dict[str, dict] = {}
    db_json = private / SQL_DIR / DATABASES_JSON
    if db_json.is_file():
        raw = _read_json(db_json, "the database list")
        if not isinstance(raw, dict):
            raise SitepackError(f"{db_json} should hold an object keyed by SQL file name; re-extract the archive")
        # The site's own database first, then the others in file order.
        for name in sorted(raw, key=lambda n: n != SITE_DUMP):
            if not isinstance(raw[name], dict):
                raise SitepackError(f"{db_json} is damaged: the entry {name!r} is not an object; "
                                    f"re-extract the archive")
            entry = dict(raw[name])
            entry.setdefault("sqlfile", name)
            databases[name] = entry
    extrainfo_path = private / EXTRAINFO
    extrainfo = _read_json(extrainfo_path, "the backup information") if extrainfo_path.is_file() else {}
    readme_path = private / README
    readme = readme_path.read_text(encoding="utf-8", errors="replace") if readme_path.is_file() else None
    # Akeeba's installer is PHP; ours carries a manifest. (The kickstart may have copied our
    # restorer into Akeeba's folder, so the restorer's presence proves nothing.)
    ours = any(Path(private_path(private, name)).is_file() for name in MANIFEST_VERSIONS)
    made_by = "sitepack" if ours or not any(private.glob("*.php")) else "akeeba"
    return Bundle(site_root=site_root, installation=installation, private=private, databases=databases,
                  extrainfo=extrainfo if isinstance(extrainfo, dict) else {},
                  readme_html=readme, made_by=made_by, platform=detect_platform(site_root),
                  moved=moved)


def remove_installation(bundle: Bundle) -> list[str]:
    """Deletes the private folder and the web root's ``installation/`` (ours or Akeeba's,
    with its PHP installer); returns what it removed."""
    removed = []
    for folder, shown in ((bundle.installation, "installation/"), (bundle.private, str(bundle.private))):
        if folder.is_dir():
            shutil.rmtree(folder)
            removed.append(shown)
    return removed
