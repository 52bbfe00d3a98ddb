"""Backups of the demo site through the engine API, checked by verification and extraction."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest
from engine_helpers import check_and_extract, site_expected, tree

from packer import records
from packer.engine import BackupJob, run_to_completion
from packer.home import jobs_dir
from restorer.errors import SitepackError
from restorer.formats import open_archive

PASSWORDS = {"jps": "Zażółć gęślą jaźń '\"$", "jps2": "akeeba-compatible key"}


def _run(site_root, **kwargs):
    job = BackupJob.start(site_root, **kwargs)
    report = run_to_completion(job)
    assert not report.failed, report.error
    return job, report


def _sql(dest: Path) -> bytes:
    sql_dir = dest / "installation" / "sql"
    parts = sorted(sql_dir.glob("site.s[0-9]*"))
    return b"".join(p.read_bytes() for p in [sql_dir / "site.sql", *parts])


# Every format split and unsplit, between this test and the files-only one.
@pytest.mark.parametrize("fmt, part_size", [
    ("jpa", None), ("jpa", 256 * 1024), ("zip", 256 * 1024), ("jps", None), ("jps2", 256 * 1024)])
def test_full_backup(demo, tmp_path, fmt, part_size):
    password = PASSWORDS.get(fmt)
    job, report = _run(demo.root, fmt=fmt, part_size=part_size, archive_password=password,
                       output_dir=tmp_path / "backups",
                       installer_password="Inst'aller pw", description="Nightly [SITE] <b>",
                       comment="Before the upgrade & more")
    assert report.finished and report.progress == 100.0
    assert [d["status"] for d in report.domains] == ["done"] * 4
    parts = [Path(p) for p in report.parts]
    assert parts[-1] == Path(report.archive)
    assert (len(parts) > 1) == (part_size is not None)
    for part in parts:
        assert stat.S_IMODE(part.stat().st_mode) == 0o600
    assert report.size == sum(p.stat().st_size for p in parts)
    assert sorted(p.name for p in Path(report.archive).parent.iterdir()) == sorted(
        p.name for p in parts)

    dest = check_and_extract(report.archive, tmp_path / "out", password)
    # the site's files, byte for byte, minus Akeeba's default filters and the output dir
    got = tree(dest, skip=("installation",))
    assert got == site_expected(demo.root)
    for folder in ("cache", "tmp", "administrator/cache", "administrator/logs"):
        assert (dest / folder).is_dir() and not any((dest / folder).iterdir())
    for rel, target in demo.symlinks.items():
        assert os.readlink(dest / rel) == target

    inst = dest / "installation"
    sql = _sql(dest)
    for table in demo.tables:
        abstract = table.replace(demo.prefix, "#__", 1)
        assert f"CREATE TABLE `{abstract}`".encode() in sql
    assert b"CREATE TABLE `legacy_stats`" not in sql  # not prefixed: not the site's
    assert sql.count(b"INSERT INTO `#__content`") >= 1
    databases = json.loads((inst / "sql" / "databases.json").read_text())
    entry = databases["site.sql"]
    assert entry["dbpass"] == "" and entry["prefix"] == demo.prefix
    assert entry["parts"] == len(list((inst / "sql").glob("site.*")))
    info = json.loads((inst / "extrainfo.json").read_text())
    assert info["root"] == str(demo.root) and info["backup_id"] == job.id
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", info["backup_date"])
    readme = (inst / "README.html").read_text()
    assert "Nightly " in readme and "&lt;b&gt;" in readme and "Before the upgrade &amp; more" in readme
    assert (inst / "restore.py").is_file() and (inst / "restorer" / "restore" / "session.py").is_file()
    assert "Inst'aller pw" not in (inst / "password.json").read_text()
    assert (inst / "sitepack-manifest.tsv.gz").is_file()

    rec = records.get(job.id)
    assert (rec.status, rec.type, rec.format, rec.size) == ("ok", "full", fmt, report.size)
    assert rec.parts == [p.name for p in parts]
    assert rec.description.startswith("Nightly ") and "[SITE]" not in rec.description
    assert not (jobs_dir() / str(job.id)).exists()
    log = Path(rec.log_path).read_text()
    assert "backup complete" in log
    for secret in (demo.db.password, password or "\0", "Inst'aller pw"):
        assert secret not in log


@pytest.mark.parametrize("fmt, part_size", [("zip", None), ("jps", 128 * 1024), ("jps2", None)])
def test_files_only_backup_has_no_installer(demo, tmp_path, fmt, part_size):
    password = PASSWORDS.get(fmt)
    _, report = _run(demo.root, backup_type="files", fmt=fmt, part_size=part_size,
                     archive_password=password, output_dir=tmp_path / "backups")
    assert [d["key"] for d in report.domains] == ["init", "files", "finalise"]
    assert (len(report.parts) > 1) == (part_size is not None)
    dest = check_and_extract(report.archive, tmp_path / "out", password)
    assert sorted(p.name for p in (dest / "installation").iterdir()) == ["sitepack-manifest.tsv.gz"]
    assert tree(dest, skip=("installation",)) == site_expected(demo.root)


def _table_hashes(params, prefix: str) -> dict[str, tuple[int, str]]:
    """abstract table name -> (rows, hash of every row's content computed by the server)."""
    result = {}
    with params.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = "
                    "DATABASE() AND TABLE_TYPE = 'BASE TABLE' AND TABLE_NAME LIKE %s",
                    (prefix.replace("_", r"\_") + "%",))
        for (table,) in cur.fetchall():
            cur.execute("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
                        "DATABASE() AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION", (table,))
            row = "CONCAT_WS(CHAR(0), " + ", ".join(
                f"IFNULL(HEX(`{c}`), 'NULL')" for (c,) in cur.fetchall()) + ")"
            cur.execute(f"SELECT COUNT(*), IFNULL(SUM(CONV(LEFT(SHA2({row}, 256), 15), 16, 10)), 0),"
                        f" IFNULL(BIT_XOR(CONV(RIGHT(SHA2({row}, 256), 15), 16, 10)), 0) FROM `{table}`")
            count, total, xor = cur.fetchone()
            result["#__" + table[len(prefix):]] = (int(count), f"{total}:{xor}")
    return result


def _imported(archive, dest: Path, target):
    """Extracts ``archive`` (verified first) and imports its dump into ``target`` as ``new_``."""
    from restorer.db import DbConnectionInfo
    from restorer.dbimport.importer import Importer
    sql_dir = check_and_extract(archive, dest) / "installation" / "sql"
    entry = json.loads((sql_dir / "databases.json").read_text())["site.sql"]
    conn = DbConnectionInfo(host=target.host, port=target.port, user=target.user,
                            password=target.password, database=target.database)
    assert Importer(conn, sql_dir, entry, new_prefix="new_").run()
    return target


def test_database_dump_is_complete_and_exact(demo, tmp_path, db_factory):
    _, report = _run(demo.root, backup_type="db", output_dir=tmp_path / "backups",
                     part_size=128 * 1024)
    target = _imported(report.archive, tmp_path / "out", db_factory())
    before, after = _table_hashes(demo.db, demo.prefix), _table_hashes(target, "new_")
    assert after.pop("#__session")[0] == 0  # structure kept, rows not (as Akeeba)
    before.pop("#__session")
    assert after == before


def test_a_large_dump_is_deflated_in_files_kickstart_can_inflate(tmp_path, db_factory):
    from harness.demosite import build_demo_site
    source = db_factory()
    site = build_demo_site(tmp_path / "site", source)
    with source.connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE jos_audit_trail (id INT PRIMARY KEY, message TEXT) ENGINE=InnoDB")
        cur.execute("INSERT INTO jos_audit_trail SELECT seq, CONCAT('{\"action\":\"login\",\"id\":', seq, "
                    "',\"title\":\"', REPEAT('user ', 40), seq % 97, '\"}') FROM seq_1_to_20000")
    _, report = _run(site.root, backup_type="db", output_dir=tmp_path / "backups")
    with open_archive(report.archive) as archive:
        sql_sizes = [e.size for e, _ in archive.entries() if e.path.startswith("installation/sql/site.")]
    # Akeeba's Kickstart inflates an entry whole in PHP's memory: it stores 1 MiB and more
    # raw, so a dump in one file was stored; in files under 1 MiB it is deflated.
    assert sum(sql_sizes) > 4 << 20 and len(sql_sizes) > 4
    assert max(sql_sizes) < 1 << 20
    assert os.path.getsize(report.archive) < sum(sql_sizes) // 4
    target = _imported(report.archive, tmp_path / "out", db_factory())
    before, after = _table_hashes(source, "jos_"), _table_hashes(target, "new_")
    assert after["#__audit_trail"][0] == 20000
    before.pop("#__session"), after.pop("#__session")
    assert after == before


def test_database_only_backup_layout(demo, tmp_path):
    _, report = _run(demo.root, backup_type="db", fmt="zip", output_dir=tmp_path / "backups")
    assert [d["key"] for d in report.domains] == ["init", "db", "finalise"]
    dest = check_and_extract(report.archive, tmp_path / "out")
    found = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*"))
    parts = [p for p in found if re.fullmatch(r"installation/sql/site\.s\d\d", p)]
    assert parts == [f"installation/sql/site.s{i:02d}" for i in range(1, len(parts) + 1)]
    assert [p for p in found if p not in parts] == [
        "installation", "installation/extrainfo.json", "installation/sitepack-manifest.tsv.gz",
        "installation/sql", "installation/sql/checksums.json", "installation/sql/databases.json",
        "installation/sql/site.sql"]
    assert b"CREATE TABLE `#__users`" in _sql(dest)


def _small_site(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "images" / "a.jpg").write_bytes(bytes(range(256)) * 40)
    (root / "index.php").write_text("<?php echo 'hi';\n")
    return root


def test_default_output_dir_is_protected_and_noted(tmp_path):
    site = _small_site(tmp_path / "site")
    job = BackupJob.start(site, backup_type="files")
    assert job.warnings() == []
    assert job.notes()[0].startswith(
        f"Default output directory is in use: {site / 'sitepack-backups'} is a well-known "
        f"place inside the site.")
    out = site / "sitepack-backups"
    assert "Require all denied" in (out / ".htaccess").read_text()
    assert '<deny users="*" />' in (out / "web.config").read_text()
    report = run_to_completion(job)
    assert report.warnings_total == 0 and not report.failed
    dest = check_and_extract(report.archive, tmp_path / "out")
    assert tree(dest, skip=("installation",)) == tree(site, skip=("sitepack-backups",))


def test_custom_output_dir_inside_the_site_is_left_out(tmp_path):
    site = _small_site(tmp_path / "site")
    out = site / "images" / "backups"
    _, report = _run(site, backup_type="files", output_dir=out, name_template="fixed-[DATE]")
    assert Path(report.archive).parent == out
    assert re.fullmatch(r"fixed-\d{8}\.jpa", Path(report.archive).name)
    assert (out / ".htaccess").is_file()
    dest = check_and_extract(report.archive, tmp_path / "out")
    assert not (dest / "images" / "backups").exists()
    assert tree(dest, skip=("installation",)) == tree(site, skip=("images",)) | {
        "images": ("d",), "images/a.jpg": tree(site)["images/a.jpg"]}


def test_profile_filters(demo, tmp_path):
    from packer import profiles
    profiles.save({"filters": {"exclude_dirs": ["images"], "exclude_files": ["robots.txt"],
                               "exclude_regex": [r"\.css$"], "skip_dir_contents": ["media"]}},
                  name="narrow")
    _, report = _run(demo.root, backup_type="files", profile="narrow",
                     output_dir=tmp_path / "backups")
    dest = check_and_extract(report.archive, tmp_path / "out")
    got = tree(dest, skip=("installation",))
    assert "images" not in got and "robots.txt" not in got
    assert not any(p.endswith(".css") for p in got)
    assert got["media"] == ("d",) and not any(p.startswith("media/") for p in got)
    assert "index.php" in got


def test_missing_configuration_refuses_full_backup_without_a_record(tmp_path):
    import shutil
    site = tmp_path / "joomla"
    (site / "administrator").mkdir(parents=True)
    (site / "administrator" / "index.php").write_text("<?php")
    (site / "libraries" / "src").mkdir(parents=True)
    with pytest.raises(SitepackError, match=r"configuration.php is missing or unreadable: a full "
                                            r"backup needs the site's configuration"):
        BackupJob.start(site)
    bare = tmp_path / "bare"
    bare.mkdir()
    with pytest.raises(SitepackError, match=r"no site configuration was found in .*bare \(neither "
                                            r"Joomla's configuration.php nor WordPress's "
                                            r"wp-config.php\): a full backup needs"):
        BackupJob.start(bare)
    assert records.list_records() == []
    # files only still works, with a warning said up front
    job = BackupJob.start(site, backup_type="files", output_dir=tmp_path / "o")
    assert job.warnings()[0].startswith("the site's configuration could not be read (")
    assert not run_to_completion(job).failed
    shutil.rmtree(tmp_path / "o")


def test_include_trick_is_warned_before_the_backup(demo, tmp_path):
    import shutil
    site = tmp_path / "site"
    shutil.copytree(demo.root, site, symlinks=True)
    config = site / "configuration.php"
    text = config.read_text()
    start = text.index("public $password")
    end = text.index("\n", start)
    text = text[:start] + text[end + 1:]
    config.write_text(text.replace("<?php", "<?php\nrequire_once '/srv/private/secret.php';", 1))
    job = BackupJob.start(site, backup_type="files", output_dir=tmp_path / "o")
    includes = [w for w in job.warnings() if "includes /srv/private/secret.php" in w]
    assert includes and "the restore wizard will have blanks" in includes[0]
    report = run_to_completion(job)
    assert report.warnings_total == len(job.warnings()) >= 1
    rec = records.get(job.id)
    assert rec.warnings == report.warnings_total and includes[0] in rec.warning_messages


def test_encrypted_format_needs_a_password(demo):
    with pytest.raises(SitepackError, match=r"the jps format encrypts the archive and needs an "
                                            r"archive password"):
        BackupJob.start(demo.root, fmt="jps")


def test_a_password_for_a_plain_format_is_refused_before_anything_is_written(tmp_path):
    """One rule for the archive password: the CLI refused a password for a plain format
    while the engine silently dropped it (a user believing the archive protected)."""
    site = _small_site(tmp_path / "site")
    with pytest.raises(SitepackError, match=r"^the jpa format is not encrypted: drop the archive "
                                            r"password or choose an encrypted format \(jps or jps2\)$"):
        BackupJob.start(site, backup_type="files", fmt="jpa", archive_password="not used",
                        output_dir=tmp_path / "o")
    assert records.list_records() == [] and not (tmp_path / "o").exists()


def test_existing_archive_name_is_refused(tmp_path):
    site = _small_site(tmp_path / "site")
    _run(site, backup_type="files", output_dir=tmp_path / "o", name_template="same")
    with pytest.raises(SitepackError, match=r"same\.jpa already exists: choose another name"):
        BackupJob.start(site, backup_type="files", output_dir=tmp_path / "o",
                        name_template="same")


def test_full_disk_fails_cleanly(tmp_path):
    site = _small_site(tmp_path / "site")
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess_run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)])
    try:
        (site / "images" / "big.bin").write_bytes(os.urandom(2 * 1024 * 1024))
        job = BackupJob.start(site, backup_type="files", output_dir=mount)
        report = run_to_completion(job)
        assert report.failed and report.finished
        assert report.error.startswith("the disk is full")
        assert "choose an output directory on another disk (--output-dir)" in report.error
        assert list(mount.iterdir()) == []  # no partial archive left
        rec = records.get(job.id)
        assert rec.status == "failed" and rec.error == report.error
        assert "ERROR   | backup failed: the disk is full" in Path(rec.log_path).read_text()
        assert not (jobs_dir() / str(job.id)).exists()
    finally:
        subprocess_run(["umount", str(mount)])


def test_unwritable_output_dir_is_refused_up_front(tmp_path):
    site = _small_site(tmp_path / "site")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(SitepackError, match=r"cannot create the output directory .*a-file/out"):
        BackupJob.start(site, backup_type="files", output_dir=blocker / "out")
    readonly = tmp_path / "ro"
    readonly.mkdir()
    subprocess_run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(readonly)])
    try:
        with pytest.raises(SitepackError, match=r"the output directory .*ro is not writable "
                                                r"\(Read-only file system\): fix its permissions"):
            BackupJob.start(site, backup_type="files", output_dir=readonly)
    finally:
        subprocess_run(["umount", str(readonly)])
    assert records.list_records() == []


def test_step_report_and_load_in_another_job_object(demo, tmp_path):
    from packer import profiles
    # steps this short end inside every phase, however fast the machine
    profiles.save({"min_exec": 0, "max_exec": 0.001}, name="tiny")
    job = BackupJob.start(demo.root, profile="tiny", output_dir=tmp_path / "o")
    seen = []
    while True:
        report = BackupJob.load(job.id).step()  # as the web UI: one load per request
        seen.append(report.current_domain)
        if report.finished:
            break
    assert not report.failed, report.error
    assert seen.count("db") > 1 and seen.count("files") > 1
    assert set(report.to_dict()) == {
        "backup_id", "domains", "current_domain", "last_item", "minor", "progress",
        "new_warnings", "warnings_total", "finished", "failed", "error", "archive", "parts",
        "size", "duration"}
    again = BackupJob.load(job.id).report()
    assert again.finished and again.archive == report.archive and again.parts == report.parts
    check_and_extract(report.archive, tmp_path / "out")


def subprocess_run(cmd):
    import subprocess
    subprocess.run(cmd, check=True)


def test_wrong_database_password_is_refused_up_front(demo, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    config = (demo.root / "configuration.php").read_text()
    start = config.index("public $password")
    end = config.index("\n", start)
    (site / "configuration.php").write_text(
        config[:start] + "public $password = 'not the password';" + config[end:])
    with pytest.raises(SitepackError, match=r"refused the login of user .* check the user name "
                                            r"and password") as info:
        BackupJob.start(site, output_dir=tmp_path / "o")
    assert "not the password" not in str(info.value)
    assert records.list_records() == []


def test_files_changed_between_scan_and_archive(tmp_path):
    """Small files are read ahead of the writer on another thread: what changed after
    the scan is still reported per file, in steps that end every few entries."""
    from packer import profiles
    site = tmp_path / "site"
    (site / "many").mkdir(parents=True)
    for i in range(300):     # several read-ahead batches, each step ending inside one
        (site / "many" / f"f{i:03d}.php").write_text(f"<?php echo {i};\n" * (i % 7 + 1))
    for name in ("gone.txt", "now_dir", "now_link", "grown.bin", "shrunk.txt"):
        (site / "many" / name).write_text(name * 50)
    (site / "many" / "big_now_dir.bin").write_bytes(b"x" * 1_200_000)   # a streamed one
    profiles.save({"min_exec": 0, "max_exec": 0.001}, name="tiny")
    job = BackupJob.start(site, profile="tiny", backup_type="files", output_dir=tmp_path / "o")
    while (job.state.domain, job.state.phase) != ("files", "archive"):
        assert not job.step().failed
    many = site / "many"
    (many / "gone.txt").unlink()
    (many / "now_dir").unlink()
    (many / "now_dir").mkdir()
    (many / "big_now_dir.bin").unlink()
    (many / "big_now_dir.bin").mkdir()
    (many / "now_link").unlink()
    os.symlink("f000.php", many / "now_link")
    big = os.urandom(1024) * 1500      # past the small-file limit: streamed instead
    (many / "grown.bin").write_bytes(big)
    (many / "shrunk.txt").write_text("short")
    report = run_to_completion(job)     # the same job: read-ahead carries over steps
    assert not report.failed, report.error
    assert sorted(job.warnings()) == sorted([
        "cannot read many/gone.txt: No such file or directory (skipped)",
        "many/now_dir is no longer a regular file (skipped)",
        "many/big_now_dir.bin is no longer a regular file (skipped)",
        "cannot read many/now_link: Too many levels of symbolic links (skipped)"])
    dest = check_and_extract(report.archive, tmp_path / "out")
    for i in range(300):
        assert (dest / "many" / f"f{i:03d}.php").read_bytes() == (many / f"f{i:03d}.php").read_bytes()
    assert (dest / "many" / "grown.bin").read_bytes() == big
    assert (dest / "many" / "shrunk.txt").read_text() == "short"
    assert not any((dest / "many" / n).exists() for n in ("gone.txt", "now_dir", "now_link",
                                                            "big_now_dir.bin"))
