"""``sitepack backup`` as users run it: a real subprocess, exit codes, printed lines."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from pathlib import Path

from harness.demosite import build_demo_site
from packer import records
from restorer.extract.extractor import extract
from restorer.extract.verify import verify

# Without these capabilities root is an ordinary owner: a mode-000 file cannot be opened.
NO_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all"]


def _sitepack(*args, env=None, prefix=()):
    return subprocess.run([*prefix, "sitepack", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


def _small_site(root: Path) -> Path:
    (root / "images" / "private").mkdir(parents=True)
    (root / "images" / "a.jpg").write_bytes(bytes(range(256)) * 4)
    (root / "images" / "private" / "x.txt").write_text("hidden")
    (root / "images" / "secret.txt").write_text("secret")
    (root / "index.php").write_text("<?php echo 'hi';\n")
    return root


def test_unreadable_file_and_directory_are_warnings_and_exit_2(tmp_path):
    site = _small_site(tmp_path / "site")
    os.chmod(site / "images" / "secret.txt", 0)
    os.chmod(site / "images" / "private", 0)
    try:
        result = _sitepack("backup", str(site), "--type", "files", "--output-dir",
                           str(tmp_path / "out"), prefix=NO_DAC)
    finally:
        os.chmod(site / "images" / "private", 0o755)
        os.chmod(site / "images" / "secret.txt", 0o644)
    assert result.returncode == 2, result.stderr
    file_warning = "cannot read images/secret.txt: Permission denied (skipped)"
    dir_warning = "cannot read directory images/private: Permission denied (its contents are skipped)"
    assert f"WARNING: {dir_warning}" in result.stderr
    assert f"WARNING: {file_warning}" in result.stderr
    assert "completed with 2 warning(s)" in result.stderr
    archive = re.search(r"^archive: (.+)$", result.stdout, re.M).group(1)
    rec = records.get(int(re.search(r"^record: #(\d+)$", result.stdout, re.M).group(1)))
    assert (rec.status, rec.warnings) == ("ok", 2)
    assert sorted(rec.warning_messages) == sorted([file_warning, dir_warning])
    log = Path(rec.log_path).read_text()
    assert f"WARNING | {file_warning}" in log and f"WARNING | {dir_warning}" in log
    assert verify(archive).ok
    extract(archive, tmp_path / "x")
    assert (tmp_path / "x" / "images" / "a.jpg").read_bytes() == bytes(range(256)) * 4
    assert not (tmp_path / "x" / "images" / "secret.txt").exists()
    assert (tmp_path / "x" / "images" / "private").is_dir()


def test_full_encrypted_backup_of_the_demo_site(tmp_path, db):
    demo = build_demo_site(tmp_path / "site", db)
    (tmp_path / "installer-pw").write_text("Installer p4ss\n")
    result = _sitepack("backup", str(demo.root), "--format", "jps", "--part-size", "1M",
                       "--password-env", "ARCHIVE_KEY", "--installer-password-file",
                       str(tmp_path / "installer-pw"), "--output-dir", str(tmp_path / "out"),
                       "--name", "[SITE]-[DATE]", "--description", "CLI [HOST]",
                       env={"ARCHIVE_KEY": "the archive key"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    archive = Path(lines[0].removeprefix("archive: "))
    assert archive.parent == tmp_path / "out"
    assert re.fullmatch(r"cafe_unicde_o_brien_s_site_home-\d{8}\.jps", archive.name)
    parts = [Path(line.removeprefix("part: ")) for line in lines if line.startswith("part: ")]
    assert len(parts) > 1 and parts[-1] == archive
    size = int(re.search(r"^size: (\d+) bytes", result.stdout, re.M).group(1))
    assert size == sum(p.stat().st_size for p in parts)
    rec = records.get(int(lines[-1].removeprefix("record: #")))
    assert (rec.origin, rec.format, rec.type, rec.description) == ("cli", "jps", "full",
                                                                    "CLI www.example.com")
    # piped: plain progress lines, no carriage returns
    assert "\r" not in result.stderr and f"backup #{rec.id}" in result.stderr
    checked = _sitepack("verify", "-q", str(archive), "--password-env", "ARCHIVE_KEY",
                        env={"ARCHIVE_KEY": "the archive key"})
    assert checked.returncode == 0, checked.stdout + checked.stderr
    log = Path(rec.log_path).read_text()
    for secret in ("the archive key", "Installer p4ss", demo.db.password):
        assert secret not in log and secret not in result.stderr and secret not in result.stdout


def test_encrypted_format_without_a_password_and_no_terminal(tmp_path):
    site = _small_site(tmp_path / "site")
    result = _sitepack("backup", str(site), "--type", "files", "--format", "jps2")
    assert result.returncode == 1
    # the engine's rule says it (the CLI had its own wording before)
    assert result.stderr.strip() == (
        "error: the jps2 format encrypts the archive and needs an archive password: give one "
        "with --password-env VAR or --password-file FILE, or store a default in the profile")
    assert records.list_records() == []


def test_resume_of_an_unknown_backup(tmp_path):
    result = _sitepack("backup", "--resume", "42")
    assert result.returncode == 1
    assert result.stderr.strip() == ("error: there is no backup record #42 (see `sitepack "
                                     "backups list`)")


def test_clean_backup_in_the_default_folder_exits_0_with_the_reminder_as_a_note(tmp_path):
    """cron trusts the exit code: the default-folder reminder is a note, not a warning (B12)."""
    site = _small_site(tmp_path / "site")
    result = _sitepack("backup", str(site), "--type", "files")
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr and "warning(s)" not in result.stderr
    assert f"note: Default output directory is in use: {site / 'sitepack-backups'}" in result.stderr
    rec = records.get(int(re.search(r"^record: #(\d+)$", result.stdout, re.M).group(1)))
    assert (rec.status, rec.warnings, rec.warning_messages) == ("ok", 0, [])
    log = Path(rec.log_path).read_text()
    assert re.search(r"NOTE +\| Default output directory is in use", log)
    assert "WARNING" not in log


def test_host_is_the_machine_name_when_the_site_names_no_url(tmp_path, db):
    """A stock Joomla leaves live_site empty: [HOST] and the README's host are this machine's."""
    demo = build_demo_site(tmp_path / "site", db, live_site="")
    host = socket.gethostname().lower()
    result = _sitepack("backup", str(demo.root), "--output-dir", str(tmp_path / "out"),
                       "--description", "from [HOST]")
    assert result.returncode == 0, result.stderr
    archive = Path(re.search(r"^archive: (.+)$", result.stdout, re.M).group(1))
    assert archive.name.startswith(f"site-{host}-") and "unknown_host" not in archive.name
    rec = records.get(int(re.search(r"^record: #(\d+)$", result.stdout, re.M).group(1)))
    assert rec.description == f"from {host}"
    extract(archive, tmp_path / "x")
    info = json.loads((tmp_path / "x" / "installation" / "extrainfo.json").read_text())
    assert info["host"] == socket.gethostname()
    assert socket.gethostname() in (tmp_path / "x" / "installation" / "README.html").read_text()
