"""Starting a backup: everything that can be checked up front, made into its settings.

Raises ``SitepackError`` with a clear message (and creates no record) when the site, the
settings or the output folder are not usable. ``BackupJob.start`` then creates the
record, the state and the archive's first part as one step (``job.py``).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from restorer.errors import ConfigError, SitepackError

from .. import profiles
from ..archive import FORMATS, writer_class
from ..archive.parts import check_part_size
from ..home import data_dir
from ..installer import installer_password_record
from ..logs import BackupLog, log_path_for
from ..naming import NamingContext, archive_base_name, backup_host, default_description, expand
from ..scan import dir_identity
from ..storage import folder_for, open_storage
from .output import prepare_output_dir
from .password import archive_password_for
from .phases import first_phase
from .state import JobState, Settings, SiteSummary

ORIGINS = ("cli", "web")
FIRST_DOMAIN = "init"


@dataclasses.dataclass
class NewBackup:
    settings: Settings
    warnings: list[str]         # said before the first step
    password: str | None        # the archive password (kept in memory only)
    secrets: tuple[str, ...]    # what the log must never show

    def record_fields(self) -> dict:
        """The new record's fields (``records.creating``)."""
        settings = self.settings
        return dict(type=settings.backup_type, format=settings.format,
                    description=settings.description, comment=settings.comment,
                    origin=settings.origin, profile=settings.profile.name,
                    site_root=settings.site_root, output_dir=settings.output_dir,
                    archive_name=Path(settings.archive).name, logged=True)

    def first_state(self, backup_id: int) -> JobState:
        return JobState(id=backup_id, settings=self.settings, domain=FIRST_DOMAIN,
                        phase=first_phase(FIRST_DOMAIN))

    def open_log(self, backup_id: int) -> BackupLog:
        return BackupLog(log_path_for(backup_id), self.settings.profile.log_level,
                         secrets=self.secrets)


def new_backup(site_root: Path, *, profile: str, backup_type: str | None, fmt: str | None,
               output_dir: Path | None, name_template: str | None, part_size: int | None,
               description: str | None, comment: str | None, archive_password: str | None,
               installer_password: str | None, origin: str) -> NewBackup:
    prof = profiles.load(profile)
    root = Path(site_root).expanduser()
    if not root.is_dir():
        raise SitepackError(f"{site_root} is not a directory: give the root folder of the site")
    root = root.resolve()
    backup_type = backup_type or prof.backup_type
    if backup_type not in profiles.BACKUP_TYPES:
        raise SitepackError(f"unknown backup type {backup_type!r}: use full, files or db")
    fmt = fmt or prof.format
    if fmt not in FORMATS:
        raise SitepackError(f"unknown archive format {fmt!r}: use {', '.join(FORMATS)}")
    part_size = part_size if part_size is not None else prof.part_size
    check_part_size(part_size)
    if origin not in ORIGINS:
        raise ValueError(f"origin must be 'cli' or 'web', not {origin!r}")

    warnings: list[str] = []
    site = _detect(root, backup_type, warnings)
    if backup_type != "files":
        site.db.connect().close()  # bad credentials are said now, not minutes later
    password = archive_password_for(fmt, archive_password, prof.archive_password, origin=origin)
    password_record = None
    if installer_password and backup_type == "full":
        password_record = installer_password_record(installer_password)

    if output_dir is None and prof.output_dir:
        output_dir = Path(prof.output_dir)
    out = prepare_output_dir(root, output_dir)

    host = backup_host(site.host if site else None)
    naming = NamingContext.for_now(
        host=host, site_name=site.name if site else root.name,
        platform_name=_platform_name(site), platform_version=site.platform_version if site else None)
    archive = out / (archive_base_name(name_template or prof.name_template, naming)
                     + writer_class(fmt).suffix)
    storage_folder = ""
    if prof.storage:  # unusable storage (credentials, bucket) is said now, not after the archive
        storage_folder = folder_for(prof.storage, naming)
        open_storage(prof.storage, storage_folder).check()
    description = expand(description, naming) if description else default_description(naming)
    comment = expand(comment, naming) if comment else ""

    settings = Settings(
        site_root=str(root), backup_type=backup_type, format=fmt, archive=str(archive),
        started=time.time(), profile=dataclasses.replace(prof, archive_password=None),
        site=_site_summary(site, root, host), part_size=part_size, output_dir=str(out),
        default_output=output_dir is None, description=description, comment=comment,
        origin=origin, password_record=password_record, storage_folder=storage_folder,
        excluded=[list(i) for i in {dir_identity(out), dir_identity(data_dir())} if i])
    return NewBackup(settings, warnings, password,
                     secrets=(password or "", installer_password or "",
                              site.db.password if site and site.db else ""))


def _detect(root: Path, backup_type: str, warnings: list[str]):
    """The site's configuration, or None for a files-only backup of an unreadable one."""
    from ..site import detect_site
    try:
        site = detect_site(root)
    except ConfigError as exc:
        if backup_type != "files":
            raise
        warnings.append(f"the site's configuration could not be read ({exc}); backing up the "
                        f"files only")
        return None
    if backup_type != "files" and site.db is None:
        what = "full" if backup_type == "full" else "database-only"
        if site.platform == "generic":
            raise SitepackError(
                f"no site configuration was found in {root} (neither Joomla's configuration.php "
                f"nor WordPress's wp-config.php): a {what} backup needs the database settings; "
                f"give the site's root folder, or make a files-only backup (--type files)")
        raise SitepackError(
            f"{site.config_path} gives no complete database settings: a {what} backup needs "
            f"them; fix the configuration or make a files-only backup (--type files)")
    warnings.extend(site.warnings)
    return site


def _platform_name(site) -> str | None:
    if site is None:
        return None
    return {"joomla": "Joomla!", "wordpress": "WordPress"}.get(site.platform, site.platform)


def _site_summary(site, root: Path, host: str | None) -> SiteSummary:
    if site is None:
        return SiteSummary(name=root.name, host=host)
    return SiteSummary(platform=site.platform, platform_version=site.platform_version,
                       name=site.name, host=host, prefix=site.prefix,
                       live_site=site.live_site, tmp_path=site.tmp_path, log_path=site.log_path,
                       db=site.db.to_public_dict() if site.db else None)
