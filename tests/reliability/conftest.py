"""Fixtures of the reliability suite: one demo site and one uninterrupted reference backup
of it per session, which every crash and fault test compares its result with."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

import pytest

from tests.engine.engine_helpers import PER_BACKUP, backup_tree, tree
from tests.restore.bundles import demo_site  # noqa: F401 (fixture)

ARCHIVE_KEY = "reliability k3y ü"
# Small steps save the state often, so most kills land between two saved states.
SLICES = {"min_exec": 0, "max_exec": 0.02}


def backup_command(site_root: Path, out: Path, *extra: str) -> list[str]:
    """``sitepack backup`` of ``site_root`` as the suite runs it: jps, 512 KiB parts,
    the ``slices`` profile, the key in ``$ARCHIVE_KEY``."""
    return ["sitepack", "backup", str(site_root), "--format", "jps", "--password-env", "ARCHIVE_KEY",
            "--output-dir", str(out), "--profile", "slices", "--part-size", "512K", "--quiet", *extra]


def with_key(**more: str) -> dict:
    return {**os.environ, "ARCHIVE_KEY": ARCHIVE_KEY, **more}


@dataclasses.dataclass
class ReferenceBackup:
    """An uninterrupted backup of the demo site and what ``sitepack extract`` made of it."""

    archive: Path               # its last part (the one to open)
    size: int                   # bytes of all its parts
    tree: dict                  # backup_tree of the extraction
    site: dict                  # tree of the extracted site folder
    private: dict               # tree of the extraction's private folder
    extracted_bytes: int


@pytest.fixture(scope="session")
def reference_backup(demo_site, tmp_path_factory) -> ReferenceBackup:
    from packer import profiles
    from tests.reliability.crash import bytes_under
    base = tmp_path_factory.mktemp("reference")
    with pytest.MonkeyPatch.context() as patch:  # its own data folder: the session has none
        patch.setenv("SITEPACK_HOME", str(base / "home"))
        profiles.save(SLICES, name="slices")
        run = subprocess.run(backup_command(demo_site.root, base / "out"), env=with_key(),
                             capture_output=True, text=True)
        assert run.returncode in (0, 2), run.stderr
        parts = sorted((base / "out").glob("*.j*"))
        archive = next(p for p in parts if p.suffix == ".jps")
        dest, private = base / "site", base / "private"
        run = subprocess.run(extract_command(archive, dest, private), env=with_key(),
                             capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
    return ReferenceBackup(archive=archive, size=sum(p.stat().st_size for p in parts),
                           tree=backup_tree_of(dest, private), site=tree(dest), private=tree(private),
                           extracted_bytes=bytes_under(dest) + bytes_under(private))


def extract_command(archive: Path, dest: Path, private: Path) -> list[str]:
    return ["sitepack", "extract", "--password-env", "ARCHIVE_KEY", "--private-dir", str(private),
            "-q", str(archive), str(dest)]


def backup_tree_of(dest: Path, private: Path) -> dict:
    """The extracted site and its private folder (as the ``installation/`` it came from) as
    one ``backup_tree``: without what differs between two backups of one site, nor the
    list of the parts the extraction read (their paths)."""
    private_tree = {f"installation/{k}": v for k, v in tree(private).items() if k != "archive-parts.json"}
    return {**backup_tree(dest), **{k: v for k, v in private_tree.items() if k not in PER_BACKUP}}
