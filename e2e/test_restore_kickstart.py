"""kickstart.pyz on a Python with nothing but the standard library: extract, restore, finish.

Also Akeeba Backup archives (no sitepack manifest, Akeeba's installer/ with password.php):
the kickstart copies sitepack's restorer into installation/ and restores them headless.
"""

import json
import os
import shutil
import subprocess
import sys
import urllib.request

from harness.php import read_joomla_config
from harness.webservers import free_port
from restorer.private import default_private_dir
from tests.restore.bundles import (backup, bundle_copy, compare_with_origin, demo_site,  # noqa: F401 (fixture)
                                   pack_without_manifest, php_password_verify)

NEW_URL = "https://kick.example.org"
ISOLATED = [sys.executable, "-I", "-S"]  # no site-packages at all: only what the pyz carries


def build_kickstart(folder):
    folder.mkdir(exist_ok=True)
    result = subprocess.run(["sitepack", "kickstart", "-o", str(folder / "kickstart.pyz")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return folder / "kickstart.pyz"


def headless(site_dir, target, prefix, tmp_path, **answers_extra):
    answers = {"db": {"host": target.host, "port": target.port, "user": target.user, "password_env": "K_DBPW",
                      "database": target.database, "prefix": prefix},
               "site": {"live_site": NEW_URL}, "super_user": {"password_env": "K_ADMIN"},
               "replace": {"enabled": False}, **answers_extra}
    (tmp_path / "answers.json").write_text(json.dumps(answers))
    env = dict(os.environ, K_DBPW=target.password, K_ADMIN="kick ∆ start", K_INST="akeeba pw")
    return subprocess.run([*ISOLATED, str(site_dir / "installation" / "restore.py"), "restore",
                           "--answers", str(tmp_path / "answers.json")], capture_output=True, text=True, env=env)


def test_kickstart_extracts_a_jpa_and_the_bundle_restores_itself_without_site_packages(tmp_path, demo_site, db_factory, php):
    site = demo_site
    backup(site, tmp_path / "out", "jpa", "--part-size", "300K")
    upload = tmp_path / "upload"
    pyz = build_kickstart(upload)
    for part in (tmp_path / "out").iterdir():
        shutil.copy(part, upload / part.name)
    port = free_port()
    wizard = subprocess.Popen([*ISOLATED, str(pyz), "--wizard", "--port", str(port)], cwd=upload,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wizard.stdout.readline().startswith("extracting ")
        line = wizard.stdout.readline()
        assert f"restore wizard for {upload} at http://127.0.0.1:{port}/" in line, line + wizard.stdout.read()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/checks") as reply:
            assert "Pre-restore checks" in reply.read().decode()
    finally:
        wizard.terminate()
        wizard.wait(10)
    assert (upload / "installation" / "restore.py").is_file()
    renamed = json.loads((default_private_dir(upload) / "renamed-files.json").read_text())
    assert ".htaccess" in renamed and (upload / ".htaccess.bak").is_file() and not (upload / ".htaccess").exists()
    target = db_factory()
    result = headless(upload, target, "ks_", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not pyz.exists() and not (upload / "installation").exists()
    assert not default_private_dir(upload).exists()
    # the archive parts uploaded into the site are gone too: nobody can download them now
    assert not any((upload / part.name).exists() for part in (tmp_path / "out").iterdir())
    compare_with_origin(site, upload, target, "ks_")
    assert read_joomla_config(upload / "configuration.php")["dbprefix"] == "ks_"


def test_kickstart_says_how_to_get_cryptography_for_an_encrypted_archive(tmp_path, demo_site):
    site = demo_site
    env = dict(os.environ, KPW="secret key")
    backup(site, tmp_path / "out", "jps", "--password-env", "KPW", env=env)
    pyz = build_kickstart(tmp_path / "out")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    probe = subprocess.run([str(venv / "bin" / "python"), "-c", "import cryptography"], capture_output=True)
    assert probe.returncode != 0  # the venv really lacks it
    result = subprocess.run([str(venv / "bin" / "python"), str(pyz), "--no-wizard"], capture_output=True, text=True,
                            cwd=tmp_path / "out", env=dict(env, SITEPACK_ARCHIVE_PASSWORD="secret key"))
    assert result.returncode == 1
    assert "needs the Python package 'cryptography'" in result.stderr
    assert "python3 -m pip install --user cryptography" in result.stderr
    assert "apt install python3-cryptography" in result.stderr
    assert not (tmp_path / "out" / "installation").exists()


def test_akeeba_jpa_through_the_kickstart_restores_headless(tmp_path, demo_site, db_factory, php):
    site = demo_site
    source = bundle_copy(site, tmp_path / "akeeba-site", password="akeeba pw", akeeba=True,
                             rename_server_files=False)
    assert len(list((source / "installation" / "sql").glob("site.s[0-9][0-9]"))) >= 2
    upload = tmp_path / "upload"
    pyz = build_kickstart(upload)
    pack_without_manifest(source, upload / "site-akeeba.jpa", "jpa", part_size=256 * 1024)
    result = subprocess.run([*ISOLATED, str(pyz), "--no-wizard"], capture_output=True, text=True, cwd=upload)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Akeeba's, never run" in result.stdout
    target = db_factory()
    result = headless(upload, target, "ak_", tmp_path, installer_password_env="K_INST")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "from an Akeeba Backup backup" in result.stdout
    assert not (upload / "RAN-PHP").exists()
    assert not (upload / "installation").exists() and not pyz.exists()
    assert not list(upload.glob("site-akeeba.*"))  # removed by the finish
    compare_with_origin(site, upload, target, "ak_")
    conf = read_joomla_config(upload / "configuration.php")
    assert (conf["db"], conf["dbprefix"], conf["live_site"]) == (target.database, "ak_", NEW_URL)
    with target.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT password FROM ak_users WHERE username = %s", (site.super_user["username"],))
        assert php_password_verify("kick ∆ start", cur.fetchone()[0]) is True


def _read_until(fd, text, timeout=60.0):
    import select
    import time
    seen = b""
    end = time.monotonic() + timeout
    while text.encode() not in seen:
        left = end - time.monotonic()
        assert left > 0, f"waited for {text!r}, got {seen.decode(errors='replace')!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            assert chunk, f"the kickstart ended before {text!r}: {seen.decode(errors='replace')!r}"
            seen += chunk
    return seen.decode(errors="replace")


def test_kickstart_asks_for_the_archive_password_on_the_terminal(tmp_path, demo_site):
    env = dict(os.environ, KPW="tty key")
    env.pop("SITEPACK_ARCHIVE_PASSWORD", None)
    out = tmp_path / "out"
    backup(demo_site, out, "jps", "--password-env", "KPW", env=env)
    pyz = build_kickstart(out)
    leader, follower = os.openpty()
    proc = subprocess.Popen([sys.executable, str(pyz)], cwd=out, stdin=follower, stdout=follower,
                            stderr=follower, env=env, close_fds=True)
    os.close(follower)
    try:
        _read_until(leader, "Password of ")
        os.write(leader, b"wrong key\n")
        _read_until(leader, "Password of ")
        os.write(leader, b"tty key\n")
        screen = _read_until(leader, "Start the restore wizard now? [Y/n]")
        assert "tty key" not in screen  # never echoed
        os.write(leader, b"n\n")
        _read_until(leader, "wizard")
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)
    assert (out / "installation" / "restore.py").is_file() and (out / "configuration.php").is_file()
