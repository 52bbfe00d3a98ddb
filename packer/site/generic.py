"""Any other PHP/MySQL site: no configuration sitepack understands, so the database settings
come from the command line or the profile, and every table of that database is backed up."""

from __future__ import annotations

from pathlib import Path

from restorer.db import DbConnectionInfo

from .model import Site


def detect_generic(root: Path, db_override: DbConnectionInfo | None) -> Site:
    return Site(platform="generic", root=root, name=root.name, db=db_override, prefix=None, live_site=None,
                tmp_path=None, log_path=None, platform_version=None, host=None, warnings=[],
                config_path=None)
