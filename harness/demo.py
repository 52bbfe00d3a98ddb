"""``make demo``: start a private MariaDB, build the demo site and its database, say what was made.

    python -m harness.demo [--size small|large] [--out demo-out]

Everything lands in ``demo-out/`` (``mariadb/`` for the server's data, ``site/`` for the
files); a previous run's output is removed first. The server is stopped at the end.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from .demosite import DemoSite, build_demo_site
from .mariadb import MariaDBServer
from .php import read_joomla_config


def start_demo(out: Path, size: str = "small") -> tuple[MariaDBServer, DemoSite]:
    """A fresh ``out`` folder with a running MariaDB and the demo site built against it.

    The caller stops the server (``server.stop()``) when done.
    """
    shutil.rmtree(out, ignore_errors=True)
    server = MariaDBServer.start(out / "mariadb")
    try:
        db = server.create_database("demo_site")
        return server, build_demo_site(out / "site", db, size=size)
    except BaseException:
        server.stop()
        raise


def describe(site: DemoSite) -> list[str]:
    """What the demo site holds, one line each."""
    lines = [
        f"  files:     {site.root}  ({site.file_count} files, {site.total_bytes / 1e6:.1f} MB, "
        f"{len(site.symlinks)} symlink, {len(site.empty_dirs)} empty folder)",
        f"  database:  {site.db.database} on {site.db.host}:{site.db.port} as {site.db.user}, prefix {site.prefix}",
    ]
    lines += [f"    {table:<28} {count:>9} rows" for table, count in site.row_counts.items()]
    lines += [
        f"    views {', '.join(site.views)}; triggers {', '.join(site.triggers)}; "
        f"procedures {', '.join(site.procedures)}; functions {', '.join(site.functions)}",
        f"  site:      {site.config['sitename']}  ({site.live_site}, Joomla {site.platform_version})",
        f"  super user: {site.super_user['username']} <{site.super_user['email']}>",
    ]
    return lines


def backup_demo(site: DemoSite, out: Path) -> tuple[int, list[str]]:
    """A full backup of the demo site with the backup engine (records in ``out/sitepack-home``)."""
    import os

    os.environ.setdefault("SITEPACK_HOME", str(out / "sitepack-home"))
    from packer.engine import BackupJob, run_to_completion

    job = BackupJob.start(site.root, output_dir=out / "backups", description="make demo")
    report = run_to_completion(job)
    if report.failed:
        return 1, [f"  backup FAILED: {report.error}"]
    return 0, [f"  backup:    {report.archive}  ({report.size / 1e6:.1f} MB, "
               f"{len(report.parts)} part(s), {report.duration:.1f} s)",
               f"  record:    #{report.backup_id}  (sitepack backups show {report.backup_id}, "
               f"with SITEPACK_HOME={os.environ['SITEPACK_HOME']})"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("small", "large"), default="small")
    parser.add_argument("--out", type=Path, default=Path("demo-out"))
    args = parser.parse_args(argv)

    started = time.monotonic()
    server, site = start_demo(args.out.absolute(), args.size)
    try:
        same = read_joomla_config(site.root / "configuration.php") == site.config
        print(f"Demo site ({args.size}) built in {time.monotonic() - started:.1f} s")
        print("\n".join(describe(site)))
        print(f"  PHP reads configuration.php back: {'same values' if same else 'DIFFERENT values'}")
        failed, lines = backup_demo(site, args.out.absolute())
        print("\n".join(lines))
        return 0 if same and not failed else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
