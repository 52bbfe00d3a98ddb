"""Real-site benchmark: sitepack's backup and restore against mariadb-dump + zip and unzip + mariadb.

    python bench/site.py [--scale 1] [--rounds 2] [--formats jpa,zip,jps,jps2] [--keep DIR]

Generates a site of a real site's shape (per scale unit about 15k files, ~80 MB: WordPress
core copied from Debian's package, ~150 plugins made of PHP/JS/CSS text from the Debian
packages on disk with their identifiers varied, uploads of real PNG/JPEG images, a few
gzip files) and a database of ~150 tables on a private MariaDB (WordPress core tables
and plugin tables, MyISAM and InnoDB, from a few rows to 100k). Then, in the same run,
each configuration ``--rounds`` times interleaved:

  backup   peer: ``mariadb-dump`` then ``zip -r -q`` of the site and the dump
           ours: ``sitepack backup SITE --type full`` in each format
  dump     the dump phase alone (first query to last byte, process start excluded) vs
           ``mariadb-dump`` on the same database
  small db ``sitepack backup --type db`` of an 80-table 1 MB database, process start included
  restore  peer: ``unzip`` + ``mariadb`` importing the dump into a new database
           ours: ``sitepack extract`` + ``sitepack restore`` (new database, prefix and URL)
  drill    ``sitepack drill --no-pages`` of the jpa archive (throwaway folder and database
           on the bench's server, every file and row verified), beside the restore

Prints wall and CPU seconds, archive size and peak RSS (``/usr/bin/time``) of each, the
ratios of the medians and PASS/FAIL against the targets of issue 22.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archive import Timing, run  # noqa: E402  (bench/archive.py: one owner of how a tool is timed)

from harness.demosite import wordpress_config_text  # noqa: E402
from harness.mariadb import MariaDBServer  # noqa: E402

PASSWORD = "bench-password-not-secret"
SUFFIX = {"jpa": ".jpa", "zip": ".zip", "jps": ".jps", "jps2": ".jps"}
OLD_URL = "https://www.example.com"
NEW_URL = "https://restored.example.net/site"
TEXT_SOURCES = ("/usr/share/wordpress", "/usr/share/php", "/usr/share/javascript")
TEXT_KINDS = {".php", ".js", ".css", ".json", ".svg", ".scss", ".txt", ".md", ".html", ".xml"}
IMAGE_SOURCES = ("/usr/share/icons", "/usr/share/wordpress", "/usr/share/doc")
FILES_PER_SCALE = 15_000


# --- the site's files ---------------------------------------------------------------------

def _regular_files(top: str, kinds: set[str] | None = None, limit: int = 4 << 20) -> list[Path]:
    found = []
    for folder, _, names in os.walk(top, followlinks=True):
        for name in names:
            path = Path(folder, name)
            if (kinds is None or path.suffix.lower() in kinds) and name != "wp-config.php":
                try:
                    if path.is_file() and 0 < path.stat().st_size <= limit and os.access(path, os.R_OK):
                        found.append(path)
                except OSError:
                    continue
    return sorted(found)


def _vary(text: bytes, plugin: int) -> bytes:
    """The same code as another plugin ships it: its own prefix and header."""
    header = f"/* plugin-{plugin} — generated from Debian's packages for the sitepack benchmark */\n"
    return header.encode() + text.replace(b"wp_", f"p{plugin}_".encode()).replace(
        b"WordPress", f"Plugin{plugin}".encode())


def generate_files(site: Path, scale: float) -> tuple[int, int]:
    """WordPress core, plugins up to 15k files per scale unit, uploads; (files, bytes)."""
    rng = random.Random(22)
    files = total = 0

    def put(rel: str, data: bytes) -> None:
        nonlocal files, total
        target = site / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        files += 1
        total += len(data)

    core = Path(TEXT_SOURCES[0])
    for path in _regular_files(str(core)):
        put(str(path.relative_to(core)), path.read_bytes())
    texts = [p for top in TEXT_SOURCES for p in _regular_files(top, TEXT_KINDS, 16 << 10)]
    docs = _regular_files("/usr/share/doc", {".gz"}, 256 << 10)
    images = [p for top in IMAGE_SOURCES for p in _regular_files(top, {".png", ".jpg", ".jpeg", ".gif"})]
    photos = [p for p in images if p.stat().st_size > 30_000]
    wanted = int(FILES_PER_SCALE * scale)
    uploads = wanted // 10
    plugin = 0
    while files < wanted - uploads:
        plugin += 1
        for i in range(rng.randint(20, 150)):
            source = rng.choice(texts)
            depth = "/".join(rng.choice(("src", "includes", "lib", "assets", "admin", "vendor", "blocks",
                                         "classes", "js", "css", "templates")) for _ in range(rng.randint(1, 4)))
            put(f"wp-content/plugins/plugin-{plugin}/{depth}/{i}-{source.name}",
                _vary(source.read_bytes(), plugin))
        doc = rng.choice(docs)
        put(f"wp-content/plugins/plugin-{plugin}/changelog.gz", doc.read_bytes())
    for i in range(uploads):
        source = rng.choice(photos if i % 10 == 0 else images)   # icons, thumbnails, some photos
        # one more upload of a real image: its bytes with a unique trailer, as resized copies differ
        put(f"wp-content/uploads/{2015 + i % 10}/{1 + i % 12:02d}/img-{i}{source.suffix}",
            source.read_bytes() + i.to_bytes(4, "big"))
    return files, total


# --- the database -------------------------------------------------------------------------

CORE_TABLES = {
    "options": ("option_id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, option_name VARCHAR(191) NOT NULL UNIQUE, "
                "option_value LONGTEXT NOT NULL, autoload VARCHAR(20) NOT NULL DEFAULT 'yes'",
                "CONCAT('option_', seq), IF(seq = 1, '{url}', IF(seq % 5 = 0, CONCAT('a:2:{s:3:\"url\";s:', "
                "LENGTH(CONCAT('{url}/page-', seq)), ':\"{url}/page-', seq, '\";s:2:\"id\";i:', seq, ';}'), "
                "REPEAT(MD5(seq), 1 + seq % 4))), 'yes'", 1000),
    "posts": ("ID BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, post_author BIGINT UNSIGNED NOT NULL, "
              "post_date DATETIME NOT NULL, post_content LONGTEXT NOT NULL, post_title TEXT NOT NULL, "
              "post_status VARCHAR(20) NOT NULL, post_name VARCHAR(200) NOT NULL, guid VARCHAR(255) NOT NULL, "
              "post_type VARCHAR(20) NOT NULL, KEY type_status_date (post_type, post_status, post_date, ID)",
              "1 + seq % 20, '2020-01-01' + INTERVAL seq HOUR, REPEAT(CONCAT('<p>Paragraph ', seq, ' with "
              "<a href=\"{url}/post-', seq, '\">a link</a> and text.</p>'), 1 + seq % 12), CONCAT('Post ', seq), "
              "'publish', CONCAT('post-', seq), CONCAT('{url}/?p=', seq), IF(seq % 4 = 0, 'attachment', 'post')", 3000),
    "postmeta": ("meta_id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, post_id BIGINT UNSIGNED NOT NULL, "
                 "meta_key VARCHAR(255), meta_value LONGTEXT, KEY post_id (post_id), KEY meta_key (meta_key(191))",
                 "seq % 3000, CONCAT('_meta_', seq % 40), IF(seq % 10 = 0, CONCAT('{url}/wp-content/uploads/img-', "
                 "seq, '.jpg'), seq * 7)", 100_000),
    "users": ("ID BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, user_login VARCHAR(60) NOT NULL, "
              "user_pass VARCHAR(255) NOT NULL, user_email VARCHAR(100) NOT NULL, user_url VARCHAR(100) NOT NULL",
              "CONCAT('user', seq), CONCAT('$P$B', MD5(seq)), CONCAT('user', seq, '@example.org'), '{url}'", 200),
    "usermeta": ("umeta_id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, user_id BIGINT UNSIGNED NOT NULL, "
                 "meta_key VARCHAR(255), meta_value LONGTEXT, KEY user_id (user_id)",
                 "seq % 200, CONCAT('meta_', seq % 25), CONCAT('value ', seq)", 5000),
    "comments": ("comment_ID BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, comment_post_ID BIGINT UNSIGNED NOT NULL, "
                 "comment_author TINYTEXT NOT NULL, comment_date DATETIME NOT NULL, comment_content TEXT NOT NULL",
                 "seq % 3000, CONCAT('Commenter ', seq), '2021-01-01' + INTERVAL seq MINUTE, "
                 "CONCAT('Nice post number ', seq, ', thanks! ☺')", 8000),
    "terms": ("term_id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, name VARCHAR(200) NOT NULL, slug VARCHAR(200) NOT NULL",
              "CONCAT('Term ', seq), CONCAT('term-', seq)", 1000),
    "term_relationships": ("object_id BIGINT UNSIGNED NOT NULL, term_taxonomy_id BIGINT UNSIGNED NOT NULL, "
                           "term_order INT NOT NULL, PRIMARY KEY (object_id, term_taxonomy_id)",
                           "seq, 1 + seq % 1000, 0", 10_000),
}


def _fill(cur, table: str, columns: str, values: str, rows: int, engine: str) -> None:
    cur.execute(f"CREATE TABLE `{table}` ({columns}) ENGINE={engine} DEFAULT CHARSET=utf8mb4")
    if rows:
        # the column definitions come before the key clauses; AUTO_INCREMENT ones fill themselves
        defined = columns.split(", KEY ")[0].split(", PRIMARY KEY ")[0].split(", ")
        names = ", ".join(c.split()[0] for c in defined if "AUTO_INCREMENT" not in c)
        cur.execute(f"INSERT INTO `{table}` ({names}) SELECT {values.replace('{url}', OLD_URL)} "
                    f"FROM seq_1_to_{rows}")


def generate_database(server: MariaDBServer, database: str, scale: float, plugin_tables: int,
                      rows_cap: int = 100_000) -> None:
    """The WordPress core tables and ``plugin_tables`` plugin tables, scaled rows."""
    rng = random.Random(150)
    with server.root_connection(database) as conn, conn.cursor() as cur:
        for name, (columns, values, rows) in CORE_TABLES.items():
            _fill(cur, f"wp_{name}", columns, values, int(min(rows, rows_cap) * scale), "InnoDB")
        for i in range(plugin_tables):
            # most plugin tables hold a few rows; a few (logs, statistics) many
            rows = int(min(rng.choice((0, 2, 5, 10, 20, 50, 100, 300, 1000, 5000, 20_000)), rows_cap) * scale)
            _fill(cur, f"wp_plugin{i}_{rng.choice(('log', 'meta', 'items', 'settings', 'stats'))}",
                  "id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, created DATETIME NOT NULL, "
                  "status TINYINT NOT NULL, name VARCHAR(190) NOT NULL, data TEXT, KEY status (status)",
                  "'2022-02-02' + INTERVAL seq SECOND, seq % 3, CONCAT('item-', seq), "
                  "IF(seq % 3 = 0, NULL, CONCAT('{\"k\":', seq, ',\"url\":\"{url}/x\"}'))",
                  rows, "MyISAM" if i % 3 == 0 else "InnoDB")


# --- timing -------------------------------------------------------------------------------

DUMP_PHASE = r"""
import json, os, sys, time
sys.path.insert(0, {root!r})
from restorer.db import DbConnectionInfo
from packer.dump import Dumper, DumpOptions
info = DbConnectionInfo.from_public_dict(json.loads(sys.argv[1]), os.environ["MYSQL_PWD"])
started = time.perf_counter()
Dumper(info, sys.argv[2], DumpOptions(prefix="wp_")).run()
print(time.perf_counter() - started)
"""


WEB_STEPS = r"""
import sys, time
sys.path.insert(0, {root!r})
started = time.perf_counter()
from packer.engine import BackupJob
job = BackupJob.start(sys.argv[1], output_dir=sys.argv[2], origin="web")
first = None
while True:
    report = BackupJob.load(job.id).step()   # as the progress page: one load and step per request
    first = first or time.perf_counter() - started
    if report.finished:
        break
assert not report.failed, report.error
print(first)
"""


def median(timings: list[Timing]) -> Timing:
    return Timing(*(statistics.median(getattr(t, f) for t in timings) for f in Timing._fields))


def spread(timings: list[Timing]) -> str:
    walls = [t.seconds for t in timings]
    return f"{min(walls):.2f}-{max(walls):.2f}"


def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run_round(ctx: dict, r: int, results: dict, sizes: dict) -> None:
    work, site, src, env, sitepack = ctx["work"], ctx["site"], ctx["src"], ctx["env"], ctx["sitepack"]
    out = work / f"round{r}"
    out.mkdir()

    def record(label: str, timing: Timing) -> None:
        results.setdefault(label, []).append(timing)

    def peer_backup() -> None:
        dump = out / "dump.sql"
        t1 = run(["sh", "-c", f'exec mariadb-dump {" ".join(src.client_args())} --single-transaction '
                              f'--hex-blob {src.database} > "{dump}"'], env=env)
        t2 = run(["zip", "-r", "-q", out / "peer.zip", ".", dump], cwd=site)
        record("backup peer", Timing(t1.seconds + t2.seconds, max(t1.rss, t2.rss), t1.cpu + t2.cpu))
        record("dump mariadb-dump", t1)
        sizes["peer"] = (out / "peer.zip").stat().st_size

    def ours_backup(fmt: str) -> None:
        folder = out / f"ours-{fmt}"
        timing = run(sitepack + ["backup", site, "--type", "full", "--format", fmt, "--output-dir", folder,
                                 "-q"] + (["--password-env", "BENCH_ARCHIVE_KEY"] if fmt.startswith("jps") else []),
                     env=env)
        record(f"backup sitepack {fmt}", timing)
        sizes[fmt] = size_of(folder)
        ctx.setdefault("archives", {})[fmt] = next(folder.iterdir())

    steps = [peer_backup] + [lambda f=fmt: ours_backup(f) for fmt in ctx["formats"]]
    for step in steps if r % 2 == 0 else reversed(steps):
        step()

    # the steps the progress page asks for (profile min_exec/max_exec), no browser: when
    # the first report comes and what the whole web backup costs over the CLI's
    started = time.perf_counter()
    first = subprocess.run([sys.executable, "-c", WEB_STEPS.format(root=str(ROOT)), site, out / "web"],
                           env=env, check=True, capture_output=True, text=True).stdout
    record("web steps (jpa)", Timing(time.perf_counter() - started, 0, 0))
    record("web first report", Timing(float(first), 0, 0))

    # the dump phase alone, against mariadb-dump's time above
    phase = out / "dump-phase"
    started = time.perf_counter()
    seconds = subprocess.run([sys.executable, "-c", DUMP_PHASE.format(root=str(ROOT)),
                              json.dumps(ctx["src_public"]), phase], env=env, check=True,
                             capture_output=True, text=True).stdout
    record("dump phase sitepack", Timing(float(seconds), 0, time.perf_counter() - started))

    small = out / "small"
    record("small db backup", run(sitepack + ["backup", ctx["small_site"], "--type", "db",
                                              "--output-dir", small, "-q"], env=env))

    # restore: peer and ours into new databases
    server = ctx["server"]
    peer_db = server.create_database(f"peer_{r}")
    t1 = run(["unzip", "-q", out / "peer.zip", "-d", out / "peer-site"])
    t2 = run(["sh", "-c", f'exec mariadb {" ".join(peer_db.client_args())} {peer_db.database} '
                          f'< "{out / "dump.sql"}"'], env=dict(env, MYSQL_PWD=peer_db.password))
    record("restore peer", Timing(t1.seconds + t2.seconds, max(t1.rss, t2.rss), t1.cpu + t2.cpu))
    ours_db = server.create_database(f"ours_{r}")
    restored = out / "ours-site"
    t1 = run(sitepack + ["extract", ctx["archives"]["jpa"], restored, "-q"], env=env)
    answers = out / "answers.json"
    answers.write_text(json.dumps({
        "db": {"host": ours_db.host, "port": ours_db.port, "user": ours_db.user, "password_env": "BENCH_NEW_DB",
               "database": ours_db.database, "prefix": "nw_"},
        "site": {"live_site": NEW_URL}, "replace": {"enabled": True}}))
    t2 = run(sitepack + ["restore", restored, "--answers", answers],
             env=dict(env, BENCH_NEW_DB=ours_db.password), ok=(0, 2))
    record("restore sitepack", Timing(t1.seconds + t2.seconds, max(t1.rss, t2.rss), t1.cpu + t2.cpu))
    with ours_db.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT option_value FROM nw_options WHERE option_name = 'option_1'")
        assert cur.fetchone()[0] == NEW_URL, "the restore did not replace the URL"

    # the drill of the same archive: restore into a throwaway folder and database on the
    # bench's server (the --db way: no private server started), every file and row checked.
    # No pages: the generated database is not an installed WordPress (its home page is a
    # 500 "Database Error"), so the drill exits 2, "restorable, pages not checked".
    drill = server.params()
    record("drill sitepack (jpa)", run(sitepack + [
        "drill", ctx["archives"]["jpa"], "--no-pages", "--db-host", drill.host, "--db-port",
        drill.port, "--db-user", drill.user, "--db-password-env", "BENCH_DRILL_DB"],
        env=dict(env, BENCH_DRILL_DB=drill.password), ok=(2,)))


TARGETS = [
    # (what, ratio label, numerator, denominator or a bound, limit)
    ("full backup jpa / peer pipeline", "backup sitepack jpa", "backup peer", 0.75),
    ("dump phase / mariadb-dump", "dump phase sitepack", "dump mariadb-dump", 1.5),
    ("restore / unzip + mariadb", "restore sitepack", "restore peer", 1.0),
]


def report(scale: float, files: int, total: int, results: dict, sizes: dict) -> list[tuple[str, float, bool]]:
    mib = 2 ** 20
    print(f"\nscale {scale}: {files} files, {total / mib:.0f} MiB; rounds {len(results['backup peer'])}")
    print(f"  {'configuration':28} {'wall s':>7} {'spread':>11} {'CPU s':>7} {'peak RSS':>9} {'size MiB':>9}")
    for label, timings in results.items():
        m = median(timings)
        fmt = label.rsplit(" ", 1)[-1]
        size = sizes.get("peer" if label == "backup peer" else fmt) if label.startswith("backup") else None
        print(f"  {label:28} {m.seconds:7.2f} {spread(timings):>11} {m.cpu:7.2f} "
              f"{(f'{m.rss / 1024:.0f} MB' if m.rss else '-'):>9} {(f'{size / mib:.1f}' if size else ''):>9}")
    verdicts = []
    for what, ours, theirs, limit in TARGETS:
        ratio = median(results[ours]).seconds / median(results[theirs]).seconds
        verdicts.append((what, ratio, ratio <= limit, f"≤ {limit}"))
    size_ratio = sizes["jpa"] / sizes["peer"]
    verdicts.append(("archive jpa / zip + dump", size_ratio, size_ratio <= 0.95, "≤ 0.95"))
    small = median(results["small db backup"]).seconds
    verdicts.append(("backup --type db, 80 tables (s)", small, small < 1.0, "< 1 s"))
    first = median(results["web first report"]).seconds
    verdicts.append(("web backup: first report (s)", first, first <= 2.0, "≤ 2 s"))
    rss = max(t.rss for label, ts in results.items() if "sitepack" in label for t in ts) / 1024
    verdicts.append(("peak RSS of sitepack (MB)", rss, rss < 150, "< 150"))
    for what, value, ok, limit in verdicts:
        print(f"  {what:34} {value:7.2f}  {limit:7}  {'PASS' if ok else 'FAIL'}")
    return verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="grow the site (1 = ~15k files, ~150 tables)")
    parser.add_argument("--rounds", type=int, default=2, help="times each configuration runs (medians compared)")
    parser.add_argument("--formats", default="jpa,zip,jps,jps2")
    parser.add_argument("--keep", type=Path, help="work in DIR and keep it")
    args = parser.parse_args()
    formats = [f for f in args.formats.split(",") if f]
    if "jpa" not in formats:
        formats.insert(0, "jpa")
    work = args.keep or Path(tempfile.mkdtemp(prefix="sitepack-bench-site-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        with MariaDBServer.start(work / "server") as server:
            src = server.create_database("bench_site")
            small = server.create_database("bench_small")
            started = time.perf_counter()
            site = work / "site"
            files, total = generate_files(site, args.scale)
            (site / "wp-config.php").write_text(wordpress_config_text(src, prefix="wp_", home=OLD_URL))
            generate_database(server, src.database, args.scale, plugin_tables=142)
            small_site = work / "small-site"
            small_site.mkdir()
            (small_site / "index.php").write_text("<?php\n")
            (small_site / "wp-config.php").write_text(wordpress_config_text(small, prefix="wp_", home=OLD_URL))
            generate_database(server, small.database, 1, plugin_tables=72, rows_cap=300)
            print(f"site: {files} files, {total / 2**20:.0f} MiB, generated in "
                  f"{time.perf_counter() - started:.0f} s", flush=True)
            home = work / "home"
            env = dict(os.environ, SITEPACK_HOME=str(home), MYSQL_PWD=src.password,
                       BENCH_ARCHIVE_KEY=PASSWORD, PYTHONPATH=str(ROOT))
            # compiled modules cached as an installed package has them (pip compiles them)
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            public = {"host": src.host, "port": src.port, "user": src.user, "database": src.database,
                      "socket": None}
            ctx = {"work": work, "site": site, "src": src, "src_public": public, "env": env,
                   "server": server, "small_site": small_site, "formats": formats,
                   "sitepack": [sys.executable, "-c", "from packer.cli import main; main()"]}
            results: dict = {}
            sizes: dict = {}
            for r in range(args.rounds):
                run_round(ctx, r, results, sizes)
                print(f"round {r + 1} of {args.rounds} done", flush=True)
            verdicts = report(args.scale, files, total, results, sizes)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if all(ok for _, _, ok, _ in verdicts) else 1)


if __name__ == "__main__":
    main()
