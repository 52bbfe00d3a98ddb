"""Reading a bundle's ``installation/`` folder: Akeeba's layout, which sitepack follows.

Both an archive made by sitepack and one made by Akeeba Backup extract to a site root
with ``installation/`` holding ``sql/databases.json`` (one entry per dump: ``site.sql``
for the site's own database, others for extra databases), the SQL parts, an
``extrainfo.json`` with the backup's origin and a ``README.html``. Akeeba's folder also
holds its PHP installer, which is never run: only these data files are read.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SitepackError

INSTALLATION = "installation"
SITE_DUMP = "site.sql"
MANIFEST = "sitepack-manifest.jsonl"
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


@dataclass
class Bundle:
    """An extracted site bundle, ready to restore."""

    site_root: Path
    installation: Path
    databases: dict[str, dict]
    extrainfo: dict
    readme_html: str | None
    made_by: str  # "sitepack" or "akeeba"
    platform: str  # "joomla", "wordpress" or "generic"
    warnings: list[str] = field(default_factory=list)

    @property
    def sql_dir(self) -> Path:
        return self.installation / "sql"

    @property
    def config_path(self) -> Path | None:
        name = {"joomla": "configuration.php", "wordpress": "wp-config.php"}.get(self.platform)
        return self.site_root / name if name else None

    @property
    def state_path(self) -> Path:
        return self.installation / ".restore-state.json"

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


def detect_platform(site_root: Path) -> str:
    config = site_root / "configuration.php"
    if config.is_file() and "JConfig" in config.read_text(encoding="utf-8", errors="replace"):
        return "joomla"
    if (site_root / "wp-config.php").is_file():
        return "wordpress"
    return "generic"


def read_bundle(site_root: Path) -> Bundle:
    """The bundle extracted at ``site_root``; a clear error if it is not one."""
    site_root = Path(site_root).resolve()
    installation = site_root / INSTALLATION
    if not installation.is_dir():
        raise SitepackError(
            f"{site_root} has no installation/ folder: extract a full site backup there first "
            f"(sitepack extract ARCHIVE {site_root}), or give the folder you extracted it into")
    databases: dict[str, dict] = {}
    db_json = installation / "sql" / "databases.json"
    if db_json.is_file():
        raw = _read_json(db_json, "the database list")
        if not isinstance(raw, dict):
            raise SitepackError(f"{db_json} should hold an object keyed by SQL file name; re-extract the archive")
        # The site's own database first, then the others in file order.
        for name in sorted(raw, key=lambda n: n != SITE_DUMP):
            entry = dict(raw[name])
            entry.setdefault("sqlfile", name)
            databases[name] = entry
    extrainfo_path = installation / "extrainfo.json"
    extrainfo = _read_json(extrainfo_path, "the backup information") if extrainfo_path.is_file() else {}
    readme_path = installation / "README.html"
    readme = readme_path.read_text(encoding="utf-8", errors="replace") if readme_path.is_file() else None
    # Akeeba's installer is PHP; ours carries a manifest. (The kickstart may have copied our
    # restorer into Akeeba's folder, so the restorer's presence proves nothing.)
    made_by = "sitepack" if (installation / MANIFEST).is_file() or not any(installation.glob("*.php")) else "akeeba"
    return Bundle(site_root=site_root, installation=installation, databases=databases,
                  extrainfo=extrainfo if isinstance(extrainfo, dict) else {},
                  readme_html=readme, made_by=made_by, platform=detect_platform(site_root))


def remove_installation(bundle: Bundle) -> None:
    """Deletes ``installation/`` (ours or Akeeba's, with its PHP installer)."""
    shutil.rmtree(bundle.installation)
