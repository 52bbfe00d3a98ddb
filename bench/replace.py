"""Replacement benchmark: sitepack's Replacer on about 1M WordPress-style rows.

    python bench/replace.py [--scale 1] [--batch-rows 1000]

Starts its own MariaDB (harness), generates on the server (sequence engine) a
WordPress-like database of about 1M rows per scale unit: posts whose guid and half of
whose content hold the old URL, postmeta with serialized attachment metadata (URL and
path, correct byte lengths), JSON with escaped slashes and plain numbers, options with
serialized values. Then, in the same run:
  sitepack:  Replacer (serialized/JSON-aware, resumable) over every table, in its own
             process, peak RSS from wait4();
  reference: the naive server-side UPDATE ... SET col = REPLACE(col, old, new) on an
             identical copy — the speed ceiling of doing it in SQL, and exactly what
             corrupts serialized data (its broken values are counted with PHP-free
             checks: our strict parser).
Prints rows per second for both.
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

OLD_URL, NEW_URL = "https://www.old-site.com", "https://new-site.example.org"
OLD_PATH, NEW_PATH = "/var/www/old-site", "/srv/new"

TABLES = [
    """CREATE TABLE wp_posts (ID BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
       post_author BIGINT UNSIGNED NOT NULL DEFAULT 0, post_date DATETIME NOT NULL,
       post_content LONGTEXT NOT NULL, post_title TEXT NOT NULL, post_excerpt TEXT NOT NULL,
       post_status VARCHAR(20) NOT NULL DEFAULT 'publish', post_name VARCHAR(200) NOT NULL,
       guid VARCHAR(255) NOT NULL, post_type VARCHAR(20) NOT NULL DEFAULT 'post',
       KEY type_status_date (post_type, post_status, post_date, ID)) DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE wp_postmeta (meta_id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
       post_id BIGINT UNSIGNED NOT NULL DEFAULT 0, meta_key VARCHAR(255), meta_value LONGTEXT,
       KEY post_id (post_id), KEY meta_key (meta_key(191))) DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE wp_options (option_id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
       option_name VARCHAR(191) NOT NULL UNIQUE, option_value LONGTEXT NOT NULL,
       autoload VARCHAR(20) NOT NULL DEFAULT 'yes') DEFAULT CHARSET=utf8mb4""",
]

# (table, rows per scale unit, INSERT ... SELECT from seq_1_to_{n}); {u} is the old URL,
# {p} the old path. Serialized lengths are computed by the server (LENGTH = bytes).
FILL = [
    ("wp_posts", 200000, """INSERT INTO wp_posts (post_date, post_content, post_title, post_excerpt,
        post_name, guid)
        SELECT '2020-01-01' + INTERVAL seq MINUTE,
        CONCAT(REPEAT(CONCAT('<p>Lorem ipsum dolor sit amet ', seq, ' — ünïcödé ☃.</p>'), 12),
               IF(seq % 2 = 0, CONCAT('<a href="{u}/post-', seq, '/">next</a><img src="{u}/wp-content/uploads/', seq, '.jpg">'), '')),
        CONCAT('Post ', seq), '', CONCAT('post-', seq), CONCAT('{u}/?p=', seq) FROM seq_1_to_{n}"""),
    ("wp_postmeta", 700000, """INSERT INTO wp_postmeta (post_id, meta_key, meta_value)
        SELECT seq DIV 4, ELT(1 + seq % 4, '_wp_attachment_metadata', '_builder_data', '_edit_lock', '_thumbnail_id'),
        CASE seq % 4
          WHEN 0 THEN CONCAT('a:3:{s:4:"file";s:', LENGTH(f), ':"', f, '";s:3:"url";s:', LENGTH(l), ':"', l,
                             '";s:5:"sizes";a:1:{s:5:"thumb";a:2:{s:5:"width";i:150;s:4:"name";s:', LENGTH(t), ':"', t, '";}}}')
          WHEN 1 THEN CONCAT('{"link":"', REPLACE(l, '/', '\\\\/'), '","title":"Ünï ', seq, '","n":', seq, '}')
          WHEN 2 THEN CONCAT(1600000000 + seq, ':1')
          ELSE CAST(seq AS CHAR) END
        FROM (SELECT seq, CONCAT('{p}/wp-content/uploads/', seq, '-é.jpg') AS f,
                     CONCAT('{u}/wp-content/uploads/', seq, '-é.jpg') AS l,
                     CONCAT(seq, '-150x150-ü.jpg') AS t FROM seq_1_to_{n}) AS g"""),
    ("wp_options", 100000, """INSERT INTO wp_options (option_name, option_value, autoload)
        SELECT CONCAT('_transient_', seq),
        IF(seq % 5 = 0, CONCAT('a:2:{s:4:"home";s:', LENGTH('{u}'), ':"{u}";s:4:"data";a:1:{i:0;s:', LENGTH(v), ':"', v, '";}}'),
           CONCAT('a:1:{s:5:"count";i:', seq, ';}')), 'no'
        FROM (SELECT seq, CONCAT('{u}/feed/', seq, '/') AS v FROM seq_1_to_{n}) AS g"""),
]

WORKER = r"""
import json, os, resource, sys, time
sys.path.insert(0, {root!r})
from restorer.db import DbConnectionInfo
from restorer.replace.tables import Replacer
from restorer.replace.plan import plan_replacements
job = json.loads(sys.argv[1])
info = DbConnectionInfo.from_public_dict(job["connection"], os.environ["MYSQL_PWD"])
pairs, warnings = plan_replacements(job["old_url"], job["new_url"], job["old_path"], job["new_path"])
replacer = Replacer(info, pairs, job["tables"], batch_rows=job["batch_rows"])
started = time.perf_counter()
while not replacer.run(budget_seconds=10):
    pass
replacer.close()
reports = [r.__dict__ for r in replacer.report()]
print(json.dumps({{"seconds": time.perf_counter() - started, "reports": reports, "pairs": len(pairs)}}))
"""


def run_measured(argv: list[str], env: dict) -> tuple[str, int, float]:
    """Runs a child, returns (stdout, peak RSS in KiB, CPU seconds) using wait4()."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env)
    out = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{argv[0]} failed with exit code {process.returncode}")
    return out, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def fill(server: MariaDBServer, database: str, scale: float) -> int:
    total = 0
    with server.connect(database) as conn, conn.cursor() as cur:
        for statement in TABLES:
            cur.execute(statement)
        for table, rows, sql in FILL:
            n = max(1, int(rows * scale))
            cur.execute(sql.replace("{n}", str(n)).replace("{u}", OLD_URL).replace("{p}", OLD_PATH))
            total += n
    return total


def naive_sql_replace(server: MariaDBServer, database: str) -> float:
    """UPDATE ... REPLACE() for the plain URL and path in every text column (corrupts)."""
    columns = {"wp_posts": ["post_content", "guid"], "wp_postmeta": ["meta_value"],
               "wp_options": ["option_value"]}
    started = time.perf_counter()
    with server.connect(database) as conn, conn.cursor() as cur:
        for table, names in columns.items():
            sets = ", ".join(
                f"`{c}` = REPLACE(REPLACE(REPLACE(`{c}`, %s, %s), %s, %s), %s, %s)" for c in names)
            args = []
            for _ in names:
                args += [OLD_URL, NEW_URL, OLD_URL.replace("/", "\\/"), NEW_URL.replace("/", "\\/"),
                         OLD_PATH, NEW_PATH]
            cur.execute(f"UPDATE `{table}` SET {sets}", args)
    return time.perf_counter() - started


def count_broken_serialized(server: MariaDBServer, database: str) -> int:
    from restorer.replace import serialized
    broken = 0
    with server.connect(database) as conn, conn.cursor() as cur:
        cur.execute("SELECT CAST(meta_value AS BINARY) FROM wp_postmeta WHERE meta_key = '_wp_attachment_metadata'"
                    " UNION ALL SELECT CAST(option_value AS BINARY) FROM wp_options")
        for (value,) in cur.fetchall():
            try:
                serialized.parse(value)
            except serialized.InvalidSerialized:
                broken += 1
    return broken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = about 1M rows")
    parser.add_argument("--batch-rows", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sitepack-bench-replace-") as tmp:
        server = MariaDBServer.start(Path(tmp) / "mariadb")
        try:
            ours, naive = server.create_database(), server.create_database()
            started = time.perf_counter()
            rows = fill(server, ours.database, args.scale)
            fill(server, naive.database, args.scale)
            print(f"generated 2 x {rows} rows in {time.perf_counter() - started:.1f}s")

            job = {"connection": {"host": ours.host, "port": ours.port, "user": ours.user,
                                  "database": ours.database, "socket": None},
                   "old_url": OLD_URL, "new_url": NEW_URL, "old_path": OLD_PATH,
                   "new_path": NEW_PATH, "tables": [t for t, _, _ in FILL],
                   "batch_rows": args.batch_rows}
            out, rss, cpu = run_measured(
                [sys.executable, "-c", WORKER.format(root=str(ROOT)), json.dumps(job)],
                ours.client_env())
            result = json.loads(out)
            changed = sum(r["rows_changed"] for r in result["reports"])
            matched = sum(r["rows_matched"] for r in result["reports"])
            seconds = result["seconds"]
            broken_ours = count_broken_serialized(server, ours.database)

            naive_seconds = naive_sql_replace(server, naive.database)
            broken_naive = count_broken_serialized(server, naive.database)

            print(f"{'tool':<34} {'seconds':>8} {'rows/s':>10} {'changed':>9} {'client CPU':>11} "
                  f"{'peak RSS':>10} {'broken ser.':>12}")
            print(f"{'sitepack Replacer':<34} {seconds:8.1f} {rows / seconds:10.0f} {changed:9d} "
                  f"{cpu:10.1f}s {rss / 1024:8.0f}MB {broken_ours:12d}")
            print(f"{'SQL UPDATE REPLACE() (reference)':<34} {naive_seconds:8.1f} {rows / naive_seconds:10.0f} "
                  f"{'-':>9} {'-':>11} {'-':>10} {broken_naive:12d}")
            print(f"Replacement: {rows / seconds:.0f} rows/s over {rows} rows "
                  f"({matched} candidate rows parsed, {changed} rewritten, {result['pairs']} pairs), "
                  f"client CPU {cpu:.1f}s, peak RSS {rss / 1024:.0f} MB")
            for report in result["reports"]:
                print("  " + ", ".join(f"{k}={v}" for k, v in report.items()
                                       if k not in ("done", "skipped")))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
