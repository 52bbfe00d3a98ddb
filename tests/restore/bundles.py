"""Test helpers: extracted bundles built from the format facts, and round-trip checks.

``make_bundle_dir`` lays out what extracting a full backup gives (site files plus
``installation/`` with ``sql/databases.json``, marker-split SQL over several
``site.sNN`` parts with ``#__`` names, ``extrainfo.json``, README.html, the installer
password file) — as sitepack writes it, or as Akeeba Backup does (``password.php``, a
PHP installer that must never run, no restorer runtime).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import compare
from harness.compare import file_digests  # noqa: F401 (re-exported for the restore tests)
from packer.bundle_runtime import runtime_files
from packer.dump.mysql import Dumper, DumpOptions
from restorer.db import DbConnectionInfo
from restorer.restore.install_password import password_file_text

AKEEBA_INDEX_PHP = "<?php\n// Akeeba's ANGIE installer: must never be executed by sitepack\nfile_put_contents(__DIR__ . '/../RAN-PHP', 'x');\n"


@pytest.fixture(scope="session")
def demo_site(mariadb, tmp_path_factory):
    """The demo site, built once (per test module importing this fixture) and never changed:
    tests restore copies of it, never the origin itself."""
    from harness.demosite import build_demo_site
    db = mariadb.create_database()
    yield build_demo_site(tmp_path_factory.mktemp("demo") / "origin", db)
    mariadb.drop_database(db.database)


_BUILT: dict[tuple, Path] = {}


def bundle_copy(site, dest: Path, **options) -> Path:
    """``make_bundle_dir(site, dest, **options)``, built once per option set and copied."""
    key = (str(site.root), tuple(sorted(options.items())))
    if key not in _BUILT:
        _BUILT[key] = make_bundle_dir(site, site.root.parent / f"bundle-{len(_BUILT)}", **options)
    shutil.copytree(_BUILT[key], dest, symlinks=True)
    return dest


def conn_info(db) -> DbConnectionInfo:
    return DbConnectionInfo(db.host, db.port, db.user, db.password, db.database)


def copy_site(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, symlinks=True)


def make_bundle_dir(site, dest: Path, *, password: str | None = None, akeeba: bool = False,
                    split_size: int = 40_000, packet_size: int = 1 << 20, rename_server_files: bool = True,
                    readme: str = "<h1>Demo backup</h1><p>Made for a test</p>") -> Path:
    """The folder a full backup of ``site`` (a harness DemoSite) extracts to."""
    copy_site(site.root, dest)
    installation = dest / "installation"
    sql = installation / "sql"
    sql.mkdir(parents=True)
    dumper = Dumper(conn_info(site.db), sql, DumpOptions(prefix=site.prefix, exclude_data=[],
                                                       split_size=split_size, packet_size=packet_size))
    while not dumper.run(30):
        pass
    entry = dumper.databases_json_entry()
    (sql / "databases.json").write_text(json.dumps({"site.sql": entry}, indent=1))
    (installation / "extrainfo.json").write_text(json.dumps({
        "host": "old.example.com", "backup_date": "2026-11-27 01:00:00",
        ("akeeba_version" if akeeba else "tool_version"): "9.9.1" if akeeba else "0.1.0",
        "root": str(site.root), "site_url": site.live_site}))
    (installation / "README.html").write_text(readme)
    if akeeba:
        (installation / "index.php").write_text(AKEEBA_INDEX_PHP)
        if password:
            salt = "Xy9salt8Qw"
            digest = hashlib.md5((password + salt).encode()).hexdigest()
            (installation / "password.php").write_text(
                f"<?php\ndefine('AKEEBA_PASSHASH', '{digest}:{salt}');\n")
    else:
        for rel, source in runtime_files():
            target = installation / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        if password:
            (installation / "password.json").write_text(password_file_text(password))
    if rename_server_files:  # what extraction for a restore does, until the finish step
        renamed = []
        for name in (".htaccess", "web.config", ".user.ini", "php.ini"):
            if (dest / name).exists():
                os.replace(dest / name, dest / f"{name}.bak")
                renamed.append(name)
        (installation / "renamed-files.json").write_text(json.dumps(renamed))
    return dest


def pack_without_manifest(folder: Path, archive: Path, fmt: str, *, password: str | None = None,
                          part_size: int | None = None) -> Path:
    """``folder`` as an archive the way Akeeba Backup writes it: no sitepack manifest."""
    from packer.archive import open_writer
    writer = open_writer(fmt, archive, part_size=part_size, password=password, manifest=False)
    try:
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder).as_posix()
            info = path.lstat()
            if path.is_symlink():
                writer.add_symlink(rel, os.readlink(path), info.st_mode, int(info.st_mtime))
            elif path.is_dir():
                writer.add_dir(rel, info.st_mode, int(info.st_mtime))
            else:
                writer.add_file(rel, str(path), mode=info.st_mode, mtime=int(info.st_mtime), size=info.st_size)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    return archive


def table_hashes(db, prefix: str) -> dict[str, tuple[int, str]]:
    """abstract table name -> (row count, server-computed hash of every row's content)."""
    with db.connect() as conn:
        return compare.table_hashes(conn, prefix)


def php_password_verify(password: str, stored: str) -> bool:
    """PHP's own ``password_verify`` (the text travels base64-encoded: no PHP escaping)."""
    import base64

    from harness.php import php_json
    pw = base64.b64encode(password.encode()).decode()
    st = base64.b64encode(stored.encode()).decode()
    return php_json(f"echo json_encode(password_verify(base64_decode('{pw}'), base64_decode('{st}')));")


def backup(site, out_dir, fmt, *extra, env=None):
    result = subprocess.run(
        ["sitepack", "backup", str(site.root), "--type", "full", "--format", fmt, "--output-dir", str(out_dir),
         "--description", "round trip", "--quiet", *extra],
        capture_output=True, text=True, env=env)
    assert result.returncode in (0, 2), result.stdout + result.stderr
    archives = sorted(p for p in out_dir.iterdir() if p.suffix in (".jpa", ".jps", ".zip"))
    assert len(archives) == 1, list(out_dir.iterdir())
    return archives[0]


def compare_with_origin(site, restored, target, prefix):
    """Files byte-identical except configuration.php; rows identical (prefix swapped)."""
    skip = tuple(site.skipped_dirs)
    origin_files = file_digests(site.root, skip=skip)
    restored_files = file_digests(restored, skip=skip)
    origin_files.pop("configuration.php"), restored_files.pop("configuration.php")
    assert restored_files == origin_files
    compare_rows_with_origin(site, target, prefix)


def compare_rows_with_origin(site, target, prefix):
    """Every table's rows identical (prefix swapped); the super user's row may have changed."""
    before, after = table_hashes(site.db, site.prefix), table_hashes(target, prefix)
    assert after.keys() == before.keys()
    # sitepack's backups keep the session table's structure, not its rows (like Akeeba's)
    sessions_after, sessions_before = after.pop("#__session"), before.pop("#__session")
    assert sessions_after[0] == 0 or sessions_after == sessions_before
    assert after.pop("#__users")[0] == before.pop("#__users")[0]
    assert after == before
