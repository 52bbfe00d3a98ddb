"""Database benchmark: sitepack's dump/import against mariadb-dump and the mariadb client.

    python bench/db.py [--scale 1] [--keep]

Starts its own MariaDB (harness), generates about 1M rows per scale unit over
Joomla-like tables on the server (sequence engine, INSERT ... SELECT), then times in the
same run:
  dump:   sitepack Dumper            vs  mariadb-dump --single-transaction --hex-blob
  import: sitepack Importer (own dump) vs  mariadb client < mariadb-dump's file
Each tool runs in its own process; its peak RSS is read from wait4().
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.mariadb import MariaDBServer  # noqa: E402

TABLES = [
    """CREATE TABLE jos_content (id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, asset_id INT UNSIGNED,
       title VARCHAR(255) NOT NULL, alias VARCHAR(400) NOT NULL, introtext MEDIUMTEXT NOT NULL,
       `fulltext` MEDIUMTEXT NOT NULL, state TINYINT NOT NULL, catid INT UNSIGNED NOT NULL,
       created DATETIME NOT NULL, modified DATETIME NULL, attribs VARCHAR(5120) NOT NULL,
       hits INT UNSIGNED NOT NULL, metadata TEXT NOT NULL, language CHAR(7) NOT NULL,
       KEY idx_catid (catid), KEY idx_alias (alias(191))) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE jos_users (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(400), username VARCHAR(150),
       email VARCHAR(100), password VARCHAR(100), block TINYINT, registerDate DATETIME,
       params TEXT) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE jos_action_logs (id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, message_language_key VARCHAR(255),
       message TEXT, log_date DATETIME, extension VARCHAR(50), user_id INT, item_id INT,
       ip_address VARCHAR(40), KEY idx_user (user_id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE jos_contentitem_tag_map (type_alias VARCHAR(255), core_content_id INT UNSIGNED,
       content_item_id INT, tag_id INT UNSIGNED, tag_date TIMESTAMP NULL, type_id MEDIUMINT,
       PRIMARY KEY (type_id, content_item_id, tag_id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE jos_files (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100), data BLOB,
       checksum BINARY(16)) ENGINE=InnoDB""",
]

# rows per scale unit (about 1M in total)
FILL = [
    ("jos_content", 60000, """INSERT INTO jos_content (asset_id, title, alias, introtext, `fulltext`, state, catid,
        created, modified, attribs, hits, metadata, language)
        SELECT seq, CONCAT('Article number ', seq, ' — ünïcödé ☃'), CONCAT('article-', seq),
        REPEAT(CONCAT('<p>Lorem ipsum dolor sit amet ', seq, ', it''s "quoted" text.</p>'), 8),
        IF(seq % 3 = 0, '', REPEAT('More text. ', 20)), CAST(seq % 3 AS SIGNED) - 1, 1 + seq % 40,
        '2020-01-01' + INTERVAL seq MINUTE, IF(seq % 5 = 0, NULL, '2021-01-01' + INTERVAL seq SECOND),
        '{"show_title":"","link_titles":"1","dbtable":"#__content"}', seq * 7 % 10000,
        '{"robots":"","author":"","rights":""}', '*' FROM seq_1_to_{n}"""),
    ("jos_users", 40000, """INSERT INTO jos_users (name, username, email, password, block, registerDate, params)
        SELECT CONCAT('User ', seq), CONCAT('user', seq), CONCAT('user', seq, '@example.org'),
        CONCAT('$2y$10$', SHA2(seq, 256)), seq % 50 = 0, '2019-06-01' + INTERVAL seq HOUR,
        '{"admin_style":"","language":"en-GB"}' FROM seq_1_to_{n}"""),
    ("jos_action_logs", 600000, """INSERT INTO jos_action_logs (message_language_key, message, log_date,
        extension, user_id, item_id, ip_address)
        SELECT 'PLG_ACTIONLOG_JOOMLA_USER_LOGGED_IN', CONCAT('{"action":"login","id":', seq, ',"title":"user', seq % 997, '"}'),
        '2022-01-01' + INTERVAL seq SECOND, 'com_users', seq % 997, seq, CONCAT('10.0.', seq % 256, '.', seq % 199)
        FROM seq_1_to_{n}"""),
    ("jos_contentitem_tag_map", 280000, """INSERT INTO jos_contentitem_tag_map
        SELECT 'com_content.article', seq, seq DIV 5, 1 + seq % 5, '2023-03-03 03:03:03', 1 FROM seq_1_to_{n}"""),
    ("jos_files", 20000, """INSERT INTO jos_files (name, data, checksum)
        SELECT CONCAT('file', seq, '.bin'), RANDOM_BYTES(1 + seq % 1000), UNHEX(MD5(seq)) FROM seq_1_to_{n}"""),
]

WORKER = r"""
import json, os, sys
sys.path.insert(0, {root!r})
from restorer.db import DbConnectionInfo
job = json.loads(sys.argv[1])
info = DbConnectionInfo.from_public_dict(job["connection"], os.environ["MYSQL_PWD"])
if job["kind"] == "dump":
    from packer.dump import Dumper, DumpOptions
    dumper = Dumper(info, job["out"], DumpOptions(prefix="jos_"))
    dumper.run()
    print(json.dumps(dumper.databases_json_entry()))
else:
    from restorer.dbimport.importer import Importer
    Importer(info, job["out"], job["entry"], new_prefix="jos_").run()
"""


def timed(args: list[str], env: dict, stdin=None, stdout=None) -> tuple[float, int, bytes]:
    """Runs a process; returns (seconds, peak RSS in KiB, stdout when captured)."""
    started = time.perf_counter()
    process = subprocess.Popen(args, env=env, stdin=stdin,
                               stdout=stdout if stdout is not None else subprocess.PIPE)
    out = process.stdout.read() if stdout is None else b""
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{args[0]} failed with status {status}")
    return seconds, usage.ru_maxrss, out


def generate(server: MariaDBServer, database: str, scale: float) -> int:
    total = 0
    with server.root_connection(database) as conn, conn.cursor() as cur:
        for statement in TABLES:
            cur.execute(statement)
        for table, rows, fill in FILL:
            n = int(rows * scale)
            cur.execute(fill.replace("{n}", str(n)))
            total += n
    return total


def database_size(server: MariaDBServer, database: str) -> int:
    with server.root_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT SUM(DATA_LENGTH) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
                    (database,))
        return int(cur.fetchone()[0] or 0)


def run(scale: float, base: Path) -> dict:
    with MariaDBServer.start(base / "server") as server:
        source = server.create_database("bench_source")
        started = time.perf_counter()
        rows = generate(server, source.database, scale)
        print(f"generated {rows:,} rows ({database_size(server, source.database) / 2**20:.0f} MiB "
              f"of table data) in {time.perf_counter() - started:.1f}s", flush=True)
        env = source.client_env()
        results: dict = {"rows": rows}

        out = base / "ours"
        job = {"kind": "dump", "connection": {**source.__dict__, "socket": None}, "out": str(out)}
        job["connection"].pop("password")
        worker = [sys.executable, "-c", WORKER.format(root=str(ROOT))]
        ours_dump, ours_dump_rss, entry = timed(worker + [json.dumps(job)], env)
        theirs_file = base / "mariadb-dump.sql"
        with open(theirs_file, "wb") as f:
            theirs_dump, theirs_dump_rss, _ = timed(
                ["mariadb-dump", *source.client_args(), "--single-transaction", "--hex-blob",
                 source.database], env, stdout=f)

        ours_target = server.create_database("bench_ours")
        job = {"kind": "import", "connection": {**ours_target.__dict__, "socket": None},
               "out": str(out), "entry": json.loads(entry)}
        job["connection"].pop("password")
        ours_import, ours_import_rss, _ = timed(worker + [json.dumps(job)], env)
        theirs_target = server.create_database("bench_theirs")
        with open(theirs_file, "rb") as f:
            theirs_import, theirs_import_rss, _ = timed(
                ["mariadb", *theirs_target.client_args(), theirs_target.database], env, stdin=f)

        dump_size = sum(p.stat().st_size for p in out.iterdir())
        results.update(
            ours_dump=ours_dump, theirs_dump=theirs_dump, ours_import=ours_import,
            theirs_import=theirs_import, ours_dump_rss=ours_dump_rss, ours_import_rss=ours_import_rss,
            theirs_dump_rss=theirs_dump_rss, theirs_import_rss=theirs_import_rss,
            ours_size=dump_size, theirs_size=theirs_file.stat().st_size)
    return results


def report(scale: float, r: dict) -> None:
    mib = 2 ** 20
    print(f"\nscale {scale}: {r['rows']:,} rows")
    print(f"  dump    sitepack {r['ours_dump']:6.1f}s  mariadb-dump {r['theirs_dump']:6.1f}s  "
          f"ratio {r['ours_dump'] / r['theirs_dump']:.2f}x   "
          f"(files {r['ours_size'] / mib:.0f} MiB vs {r['theirs_size'] / mib:.0f} MiB)")
    print(f"  import  sitepack {r['ours_import']:6.1f}s  mariadb      {r['theirs_import']:6.1f}s  "
          f"ratio {r['ours_import'] / r['theirs_import']:.2f}x")
    print(f"  peak RSS  sitepack dump {r['ours_dump_rss'] / 1024:.0f} MiB, import "
          f"{r['ours_import_rss'] / 1024:.0f} MiB   (mariadb-dump {r['theirs_dump_rss'] / 1024:.0f} MiB, "
          f"mariadb {r['theirs_import_rss'] / 1024:.0f} MiB)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="rows multiplier (1 = about 1M rows)")
    parser.add_argument("--double", action="store_true",
                        help="also run at twice the scale to show the peak RSS stays flat")
    args = parser.parse_args()
    scales = [args.scale, args.scale * 2] if args.double else [args.scale]
    for scale in scales:
        with tempfile.TemporaryDirectory(prefix="sitepack-bench-db-") as tmp:
            report(scale, run(scale, Path(tmp)))


if __name__ == "__main__":
    main()
