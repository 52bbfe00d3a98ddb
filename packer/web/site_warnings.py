"""The reminders shown on the Control Panel and above the Backup Now description.

Each warning has a short title and an explanation of what it means and what to do,
worded after the backup page documentation (``backup-now-page.txt``).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from packer.engine import default_output_dir, missing_password
from packer.profiles import Profile
from packer.site import detect_site
from restorer.errors import SitepackError

_CONFIG_EXPLANATION = (
    "The restore needs a readable and valid configuration file at the site's root. If the "
    "configuration includes another PHP file (the off-root 'include trick') or values are "
    "missing, the restore wizard will show blanks in its options; restoring without filling "
    "them in gives a site that does not work, because crucial options get default values "
    "or none at all.")

_DEFAULT_DIR_EXPLANATION = (
    "This is not an error, just a reminder: the default output directory is a well known "
    "location inside your site. In theory a malicious user could guess an archive's name and "
    "download it directly over the web. To deter that, sitepack places a .htaccess file "
    "(Apache) and a web.config file (IIS) in it; if your host does not honour those files, "
    "the archives may be reachable from the web. If in doubt, ask your host. "
    "Recommendation: create an output directory above the site's root, writable by the user "
    "running sitepack, and use it as the output directory in all your profiles.")


@dataclasses.dataclass(frozen=True)
class PanelWarning:
    title: str
    explanation: str


def output_dir_for(profile: Profile, site_root: Path) -> tuple[Path, bool]:
    """The profile's output directory and whether it is the default one inside the site."""
    if profile.output_dir:
        path = Path(profile.output_dir).expanduser()
        return (path if path.is_absolute() else Path.cwd() / path), False
    return default_output_dir(site_root), True


def _writable(folder: Path) -> bool:
    """Whether a backup could write there: the folder, or the nearest existing parent."""
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            return False
        probe = probe.parent
    return probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)


def collect(site_root: Path, profile: Profile) -> list[PanelWarning]:
    """Everything worth knowing before backing up ``site_root`` with ``profile``."""
    found: list[PanelWarning] = []
    try:
        site = detect_site(site_root)
    except SitepackError as exc:
        found.append(PanelWarning("The site's configuration cannot be read", f"{exc} {_CONFIG_EXPLANATION}"))
    else:
        found.extend(PanelWarning(text, _CONFIG_EXPLANATION) for text in site.warnings)
    output_dir, is_default = output_dir_for(profile, site_root)
    if is_default:
        found.append(PanelWarning(f"Default output directory in use ({output_dir})",
                                  _DEFAULT_DIR_EXPLANATION))
    if not _writable(output_dir):
        found.append(PanelWarning(
            f"Output directory not writable ({output_dir})",
            "Backups cannot be written there. Make the folder writable by the user running "
            "sitepack, or choose another output directory in the profile."))
    if missing_password(profile.format, profile.archive_password, origin="web"):
        found.append(PanelWarning(
            f"Encrypted format ({profile.format}) without a default key",
            f"Profile '{profile.name}' writes encrypted archives but has no default encryption "
            "key: type one on the Backup Now page (keep it safe, it cannot be recovered), or "
            "set a default key in the profile."))
    return found

