"""``make demo``: build the demo site and its database, back it up, restore it elsewhere, verify,
and end with ``sitepack drill`` of the backup (a throwaway restore in a private MariaDB).

    python -m harness.demo [--size small|large] [--out demo-out]

Everything lands in ``demo-out/`` (``mariadb/`` for the server's data, ``site/`` for the
files); a previous run's output is removed first. The server is stopped at the end.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .demosite import DemoSite, build_demo_site
from .mariadb import MariaDBServer
from .compare import file_digests, table_hashes
from .php import php_json, read_joomla_config


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


def _sitepack(args: list[str], env: dict[str, str]) -> int:
    """Runs one ``sitepack`` command as a user would, showing it and its output."""
    shown = " ".join(a if " " not in a else repr(a) for a in args)
    print(f"\n$ sitepack {shown}", flush=True)
    return subprocess.run([sys.executable, "-m", "packer.cli", *args], env=env).returncode


def round_trip(server: MariaDBServer, site: DemoSite, out: Path) -> list[str]:
    """Back up the demo site, verify, extract, restore into a new database, prefix and URL.

    Returns the problems found (empty when the restored site matches the origin).
    """
    secrets_env = {
        "DEMO_ARCHIVE_KEY": "correct horse battery staple",
        "DEMO_INSTALLER_PW": "let-me-restore",
        "DEMO_ADMIN_PW": "N3w super-user pässword!",
    }
    target = server.create_database("demo_restored")
    env = dict(os.environ, SITEPACK_HOME=str(out / "sitepack-home"), DEMO_DB_PW=target.password,
               **secrets_env)
    backups, restored = out / "backups", out / "restored"
    new_prefix, new_url = "new_", "https://restored.example.org/site"

    code = _sitepack(["backup", str(site.root), "--format", "jps", "--part-size", "1M",
                      "--output-dir", str(backups), "--description", "make demo [DATE] [TIME_TZ]",
                      "--password-env", "DEMO_ARCHIVE_KEY",
                      "--installer-password-env", "DEMO_INSTALLER_PW"], env)
    if code != 0:  # a clean backup of a stock site exits 0 (2 would mean warnings)
        return [f"sitepack backup did not exit 0 (exit {code})"]
    archive = next(backups.glob("*.jps"))
    if _sitepack(["verify", str(archive), "--password-env", "DEMO_ARCHIVE_KEY"], env) != 0:
        return ["sitepack verify failed"]
    if _sitepack(["extract", str(archive), str(restored), "--password-env", "DEMO_ARCHIVE_KEY"], env) != 0:
        return ["sitepack extract failed"]
    answers = {
        "installer_password_env": "DEMO_INSTALLER_PW",
        "db": {"host": target.host, "port": target.port, "user": target.user,
               "password_env": "DEMO_DB_PW", "database": target.database,
               "prefix": new_prefix, "existing": "drop"},
        "site": {"live_site": new_url},
        "super_user": {"password_env": "DEMO_ADMIN_PW"},
    }
    answers_file = out / "answers.json"
    answers_file.write_text(json.dumps(answers, indent=2))
    code = _sitepack(["restore", str(restored), "--answers", str(answers_file)], env)
    if code != 0:  # a clean restore of a stock site exits 0 (2 would mean warnings)
        return [f"sitepack restore did not exit 0 (exit {code})"]
    problems = _compare(site, restored, target, new_prefix, new_url, secrets_env["DEMO_ADMIN_PW"])
    # The drill proves the same archive restorable without a person: its own folder, its own
    # private database server, pages served by sandboxed PHP; nothing of it is left after.
    if _sitepack(["drill", str(archive), "--password-env", "DEMO_ARCHIVE_KEY"], env) != 0:
        problems.append("sitepack drill did not find the backup restorable (exit not 0)")
    return problems


def _compare(site: DemoSite, restored: Path, target, new_prefix: str, new_url: str,
             admin_password: str) -> list[str]:
    problems = []
    print("\nChecking the restored site against the origin:")
    skip = tuple(site.skipped_dirs)
    origin_files = file_digests(site.root, skip=skip)
    restored_files = file_digests(restored, skip=skip)
    origin_files.pop("configuration.php")
    restored_files.pop("configuration.php")
    if (restored / "installation").exists():
        problems.append("installation/ was not removed")
    different = sorted(set(origin_files.items()) ^ set(restored_files.items()))
    if different:
        problems.append(f"{len(different)} files differ, e.g. {different[:3]}")
    print(f"  files:      {len(restored_files)} byte-identical to the origin "
          f"(configuration.php rewritten, installation/ removed)")

    with site.db.connect() as conn:
        before = table_hashes(conn, site.prefix)
    with target.connect() as conn:
        after = table_hashes(conn, new_prefix)
        with conn.cursor() as cur:
            cur.execute(f"SELECT u.password FROM `{new_prefix}users` u JOIN `{new_prefix}user_usergroup_map` m "
                        "ON m.user_id = u.id WHERE m.group_id = 8 ORDER BY u.id LIMIT 1")
            admin_hash = cur.fetchone()[0]
    # Like Akeeba, backups keep the session table's structure, not its rows; the super
    # user's password was changed on purpose.
    for table in ("#__session", "#__users"):
        after.pop(table), before.pop(table)
    if after.keys() != before.keys():
        problems.append(f"tables differ: {sorted(set(after) ^ set(before))}")
    # Tables whose content changed must differ only by the URL/path replacement: same
    # rows, and the old live site gone from them.
    replaced = sorted(t for t in after if t in before and after[t] != before[t])
    old_url = site.live_site.encode()
    with target.connect() as conn, conn.cursor() as cur:
        for table in replaced:
            name = new_prefix + table[3:]
            if after[table][0] != before[table][0]:
                problems.append(f"{name} has {after[table][0]} rows, the origin {before[table][0]}")
            cur.execute(f"SELECT * FROM `{name}`")
            if any(old_url in (v if isinstance(v, bytes) else str(v).encode())
                   for row in cur.fetchall() for v in row if v is not None):
                problems.append(f"{name} still holds the old URL {site.live_site}")
    print(f"  database:   {len(after) - len(replaced)} tables with the same rows as the origin under "
          f"prefix {new_prefix}; {len(replaced)} with the old URL replaced ({', '.join(replaced)})")

    config = read_joomla_config(restored / "configuration.php")
    expected = {"db": target.database, "dbprefix": new_prefix, "live_site": new_url,
                "user": target.user, "password": target.password}
    wrong = {k: config.get(k) for k, v in expected.items() if config.get(k) != v}
    if wrong:
        problems.append(f"configuration.php has unexpected values for {sorted(wrong)}")
    kept = [k for k in site.config if k not in expected and k not in
            ("host", "secret", "tmp_path", "log_path") and config.get(k) != site.config[k]]
    if kept:
        problems.append(f"configuration.php lost the values of {kept}")
    print(f"  config:     PHP reads the new database, prefix and live site; "
          f"{len(site.config) - len(expected) - 4} other values unchanged")
    verified = php_json("echo json_encode(password_verify(base64_decode('%s'), base64_decode('%s')));" % (
        base64.b64encode(admin_password.encode()).decode(), base64.b64encode(admin_hash.encode()).decode()))
    if not verified:
        problems.append("PHP's password_verify rejects the new super user password")
    print(f"  super user: PHP's password_verify {'accepts' if verified else 'REJECTS'} the new password")
    return problems


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
        problems = round_trip(server, site, args.out.absolute())
        for problem in problems:
            print(f"PROBLEM: {problem}")
        if same and not problems:
            print(f"\nRound trip verified in {time.monotonic() - started:.1f} s.")
        return 0 if same and not problems else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
