"""Nothing a web server can serve during a restore gives the site away (issue 16).

A full backup is extracted into a folder that Debian's Apache (``AllowOverride All``),
Debian's nginx (default-style server block, PHP off) and ``php -S`` serve at once. At
each moment of the restore (after the extraction, the import, the site setup and the
finish) every file in the served folder, and the well-known names of the restore's data,
are requested through each server; no answer may hold the dump, ``databases.json``,
``extrainfo.json``, the manifest, the restore state, the installer password's hash or a
password. The one exception (docs/SECURITY.md): a server that does not run PHP serves
the site's own configuration file as text, as it would for the live site.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest

from harness.webservers import ApacheServer, NginxServer, PhpBuiltinServer
from restorer.private import default_private_dir
from restorer.restore.answers import DbAnswers
from restorer.restore.session import RestoreSession
from tests.restore.bundles import (backup, bundle_copy, demo_site,  # noqa: F401 (fixture)
                                   pack_without_manifest)

INSTALLER_PASSWORD = "Inst4ller pass phrase"
NEW_URL = "https://moved.example.org"
CONFIG_FILES = ("configuration.php", "wp-config.php")
WELL_KNOWN = ["installation/sql/site.sql", "installation/sql/site.s01", "installation/sql/databases.json",
              "installation/extrainfo.json", "installation/password.json", "installation/password.php",
              "installation/sitepack-manifest.tsv.gz", "installation/README.html", "installation/index.php",
              "installation/renamed-files.json", "installation/.restore-state.json",
              "installation/archive-parts.json", "installation/", "installation/sql/"]


@pytest.fixture
def web_root():
    """A folder the servers' www-data workers can reach (pytest's own folders are 0700)."""
    base = Path(tempfile.mkdtemp(prefix="sitepack-www-"))
    os.chmod(base, 0o755)
    yield base
    shutil.rmtree(base)


@pytest.fixture
def servers(web_root, tmp_path):
    site = web_root / "site"
    site.mkdir()
    running = [ApacheServer(site, tmp_path / "apache"), NginxServer(site, tmp_path / "nginx"),
               PhpBuiltinServer(site)]
    try:
        for server in running:
            server.start()
        yield site, running
    finally:
        for server in running:
            server.stop()


class Secrets:
    """What must never come back from a web server: the private files' bytes (read at
    every moment, so the restore state is included) and marker strings."""

    def __init__(self, private: Path, markers: list[str]):
        self.private = private
        self.blobs: dict[str, bytes] = {}
        self.markers = [m.encode() for m in markers if m]

    def refresh(self) -> None:
        if self.private.is_dir():
            for path in self.private.rglob("*"):
                if path.is_file() and path.stat().st_size >= 16:
                    self.blobs[str(path.relative_to(self.private))] = path.read_bytes()
        for name in ("password.json", "password.php"):
            if name in self.blobs:  # the hash and salt themselves, wherever they might appear
                self.markers += [word.encode() for word in _hash_words(self.blobs[name].decode())]

    def leaked(self, body: bytes) -> list[str]:
        found = [name for name, blob in self.blobs.items()
                 if blob in body or (len(body) >= 64 and body in blob)]
        return found + [marker.decode() for marker in self.markers if marker in body]


def _hash_words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9+/=]{16,}", text)


def _served_paths(site: Path) -> list[str]:
    paths = list(WELL_KNOWN)
    for path in sorted(site.rglob("*")):
        if path.is_file() or path.is_dir():
            rel = path.relative_to(site).as_posix()
            paths.append(rel + ("/" if path.is_dir() else ""))
    return paths


def _request_everything(site: Path, servers, secrets: Secrets, moment: str, proof,
                        skip: tuple[str, ...] = ()) -> None:
    secrets.refresh()
    problems = []
    for rel in _served_paths(site):
        if rel in skip:
            continue
        for server in servers:
            status, _, body = server.get("/" + quote(rel))
            proof.cases += 1
            leaked = secrets.leaked(body)
            # The documented exception: without PHP, the site's configuration is served as text.
            if leaked and not (rel in CONFIG_FILES and not isinstance(server, PhpBuiltinServer)):
                problems.append(f"{moment}: {server.name} GET /{rel} -> {status} with {', '.join(leaked)}")
    assert problems == []


def _restore_step_by_step(site: Path, target, servers, secrets, proof, *, installer_password, skip=()):
    _request_everything(site, servers, secrets, "after extraction", proof, skip)
    session = RestoreSession(site)
    assert session.bundle.private == default_private_dir(site)
    if installer_password:
        assert session.password_check.verify(installer_password)
    _request_everything(site, servers, secrets, "when the wizard starts", proof, skip)
    session.set_database("site.sql", DbAnswers(host=target.host, port=target.port, user=target.user,
                                               password=target.password, database=target.database,
                                               prefix="mv_"))
    while not session.import_step("site.sql", 30).done:
        pass
    _request_everything(site, servers, secrets, "after the import", proof, skip)
    site_answers = dict(session.site_defaults(), live_site=NEW_URL)
    site_answers.pop("problems", None)
    assert session.apply_setup(site_answers, {}).written
    _request_everything(site, servers, secrets, "after the setup", proof, skip)
    result = session.finish()
    _request_everything(site, servers, secrets, "after the finish", proof)
    return result


def _sitepack_extract(archive: Path, site: Path) -> str:
    result = subprocess.run(["sitepack", "extract", str(archive), str(site), "--quiet"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _secrets_for(site: Path, target, installer_password: str | None) -> Secrets:
    return Secrets(default_private_dir(site), [installer_password, target.password])


@pytest.mark.proof("security", "a stranger requests every file of the web root, and the restore's "
                               "data by name, through Apache, nginx and php -S during a restore "
                               "(sitepack bundle with an installer password, sitepack extract)")
def test_sitepack_extract_with_an_installer_password_serves_nothing_secret(
        proof, servers, tmp_path, demo_site, db_factory):
    site, running = servers
    env = dict(os.environ, T_INST=INSTALLER_PASSWORD)
    archive = backup(demo_site, tmp_path / "out", "jpa", "--installer-password-env", "T_INST", env=env)
    assert "private data" in _sitepack_extract(archive, site) and not (site / "installation" / "sql").exists()
    private = default_private_dir(site)
    assert oct(private.stat().st_mode & 0o777) == "0o700"
    assert oct((private / "password.json").stat().st_mode & 0o777) == "0o600"
    target = db_factory()
    secrets = _secrets_for(site, target, INSTALLER_PASSWORD)
    finished = _restore_step_by_step(site, target, running, secrets, proof, installer_password=INSTALLER_PASSWORD)
    assert not private.exists() and str(private) in finished.removed
    assert archive.is_file()  # an archive outside the site folder is never touched
    proof.note(f"{proof.cases} requests through 3 servers at 5 moments, none answered with a secret")


@pytest.mark.proof("security", "a stranger requests every file of the web root through Apache, "
                               "nginx and php -S while the kickstart's restore runs (no installer "
                               "password, archive uploaded into the web root)")
def test_kickstart_without_an_installer_password_serves_nothing_secret(
        proof, servers, tmp_path, demo_site, db_factory):
    site, running = servers
    archive = backup(demo_site, tmp_path / "out", "jpa")
    shutil.copy(archive, site / archive.name)
    subprocess.run(["sitepack", "kickstart", "-o", str(site / "kickstart.pyz")], check=True, capture_output=True)
    result = subprocess.run([sys.executable, "-I", "-S", str(site / "kickstart.pyz"), "--no-wizard"],
                            capture_output=True, text=True, cwd=site)
    assert result.returncode == 0, result.stdout + result.stderr
    target = db_factory()
    secrets = _secrets_for(site, target, None)
    # The uploaded archive is the user's file, downloadable until the finish removes it
    # (docs/SECURITY.md); everything the extraction and the restore wrote is checked.
    finished = _restore_step_by_step(site, target, running, secrets, proof, installer_password=None,
                                     skip=(archive.name, "kickstart.pyz"))
    assert archive.name in finished.removed and not (site / archive.name).exists()
    head = archive.read_bytes()[:4096]
    for server in running:  # php -S answers a missing file with the site's index.php
        assert head not in server.get("/" + archive.name)[2]
    proof.note(f"{proof.cases} requests; the uploaded archive is gone after the finish")


@pytest.mark.proof("security", "an Akeeba-made bundle (password.php, PHP installer, sql/) left in the "
                               "web root by another extractor is requested through Apache, nginx "
                               "and php -S while sitepack restores it")
def test_an_akeeba_bundle_left_in_the_web_root_is_moved_out_before_the_restore(
        proof, servers, tmp_path, demo_site, db_factory, php):
    site, running = servers
    shutil.rmtree(site)
    bundle_copy(demo_site, site, password=INSTALLER_PASSWORD, akeeba=True, rename_server_files=False)
    target = db_factory()
    secrets = Secrets(site / "installation", [INSTALLER_PASSWORD, target.password])
    secrets.refresh()  # what Akeeba's Kickstart leaves: secret until sitepack moves it
    session = RestoreSession(site)
    assert sorted(session.bundle.moved) == ["README.html", "extrainfo.json", "index.php",
                                            "password.php", "sql"]
    assert not any((site / "installation").iterdir())
    secrets.private = session.bundle.private
    _restore_step_by_step(site, target, running, secrets, proof, installer_password=INSTALLER_PASSWORD)
    assert not (site / "RAN-PHP").exists()


@pytest.mark.proof("security", "an Akeeba-layout JPA extracted by sitepack extract into a served "
                               "folder: its installer, password.php and dump are requested by name")
def test_sitepack_extract_of_an_akeeba_archive_keeps_its_installer_out_of_the_web_root(
        proof, servers, tmp_path, demo_site, php):
    site, running = servers
    source = bundle_copy(demo_site, tmp_path / "akeeba-site", password=INSTALLER_PASSWORD, akeeba=True,
                         rename_server_files=False)
    _sitepack_extract(pack_without_manifest(source, tmp_path / "site-akeeba.jpa", "jpa"), site)
    private = default_private_dir(site)
    assert (private / "index.php").is_file() and (private / "password.php").is_file()
    secrets = Secrets(private, [INSTALLER_PASSWORD])
    _request_everything(site, running, secrets, "after extraction", proof)
    assert not (site / "installation" / "index.php").exists()  # Akeeba's installer is nowhere to run
