"""Attacks on the restore wizard's gate, each tried against a real wizard (a ``sitepack
wizard`` process, or the app with real MariaDB): writing after finish, making it read
environment variables, plain HTTP beyond 127.0.0.1, missing security headers, and the
kickstart handing the archive password to the wizard."""

from __future__ import annotations

import json
import os
import shutil
import ssl
import http.client
import subprocess
from pathlib import Path

import pytest

from e2e import test_restore_kickstart as kickstart
from restorer.wizard import create_app
from tests.restore.bundles import backup, bundle_copy, demo_site  # noqa: F401 (fixture)
from tests.restore.live_wizard import Browser, WizardProcess
from tests.restore.test_wizard_gate import _csrf, _site

ATTACKER_URL = "https://attacker.example"
SECURITY_HEADERS = {"x-frame-options": "DENY", "x-content-type-options": "nosniff",
                    "referrer-policy": "no-referrer", "cache-control": "no-store"}


def _db_json(db, **over) -> str:
    return json.dumps({"host": db.host, "port": db.port, "user": db.user, "password": db.password,
                       "database": db.database, "prefix": "new_", "existing": "drop", **over})


@pytest.mark.proof("security", "POST /setup right after POST /finish, to rewrite the finished site's configuration")
def test_no_write_is_accepted_once_finish_has_run(tmp_path, demo_site, db_factory, proof):
    site = bundle_copy(demo_site, tmp_path / "site")
    client = create_app(site).test_client()
    headers = {"X-CSRF-Token": _csrf(client, "/checks")}
    assert client.post("/api/database/site.sql/connect", headers=headers,
                       data=_db_json(db_factory()), content_type="application/json").status_code == 200
    assert client.post("/finish", data={"csrf_token": headers["X-CSRF-Token"], "htaccess": "keep"}).status_code == 200
    config = (site / "configuration.php").read_bytes()
    attempts = {"/setup": client.post("/setup", data={"csrf_token": headers["X-CSRF-Token"],
                                                      "live_site": ATTACKER_URL, "htaccess": "keep"}),
                "/api/database/site.sql/connect": client.post(
                    "/api/database/site.sql/connect", headers=headers, data=_db_json(db_factory()),
                    content_type="application/json"),
                "/finish": client.post("/finish", data={"csrf_token": headers["X-CSRF-Token"]})}
    written = (site / "configuration.php").read_bytes()
    assert ATTACKER_URL.encode() not in written and written == config
    for path, reply in attempts.items():
        proof.cases += 1
        assert reply.status_code == 410, (path, reply.status_code)
        assert "This restore is finished" in reply.get_data(as_text=True)
    proof.note(f"{len(attempts)} writes after finish, all 410; configuration.php unchanged")


@pytest.mark.proof("security", "a wizard left running after a headless finish is asked to connect and rewrite the site")
def test_a_wizard_left_running_refuses_writes_after_a_headless_finish_and_exits(tmp_path, demo_site,
                                                                              db_factory, proof):
    site = bundle_copy(demo_site, tmp_path / "site")
    wizard = WizardProcess(site)
    try:
        browser = Browser(wizard.host, wizard.port)
        browser.request("GET", "/login")
        token = browser.csrf("/checks")
        target = db_factory()
        answers = tmp_path / "answers.json"
        answers.write_text(json.dumps({"db": {"host": target.host, "port": target.port, "user": target.user,
                                              "password_env": "T_DBPW", "database": target.database,
                                              "prefix": "new_"},
                                       "replace": {"enabled": False}}))
        headless = subprocess.run(["sitepack", "restore", str(site), "--answers", str(answers)],
                                  capture_output=True, text=True, env=dict(os.environ, T_DBPW=target.password))
        assert headless.returncode in (0, 2), headless.stderr
        assert not (site / "installation").exists()
        config = (site / "configuration.php").read_bytes()
        connect = browser.request("POST", "/api/database/site.sql/connect", json_body=_db_json(target),
                                  headers={"X-CSRF-Token": token})
        setup = browser.request("POST", "/setup", form={"csrf_token": token, "live_site": ATTACKER_URL,
                                                        "htaccess": "keep"})
        written = (site / "configuration.php").read_bytes()
        assert ATTACKER_URL.encode() not in written and written == config
        for status, _, text in (connect, setup):
            proof.cases += 1
            assert status == 410 and "This restore is finished" in text, (status, text[:300])
        assert wizard.process.wait(15) == 0  # it stops by itself
    finally:
        wizard.stop()
    proof.note("connect and /setup refused (410), configuration.php unchanged, the wizard exited")


@pytest.mark.proof("security", "the database page's JSON names environment variables (the archive password, probes)")
def test_the_browser_cannot_make_the_wizard_read_environment_variables(tmp_path, db, proof):
    site = _site(tmp_path)
    # The variable holds the database password, so reading it would let the connection succeed.
    wizard = WizardProcess(site, env=dict(os.environ, SITEPACK_ARCHIVE_PASSWORD=db.password))
    try:
        browser = Browser(wizard.host, wizard.port)
        browser.request("GET", "/login")
        token = browser.csrf("/checks")
        for variable in ("SITEPACK_ARCHIVE_PASSWORD", "NO_SUCH_VARIABLE_HERE"):
            body = json.loads(_db_json(db, prefix="jos_"))
            del body["password"]
            body["password_env"] = variable
            status, _, text = browser.request("POST", "/api/database/site.sql/connect",
                                              json_body=json.dumps(body), headers={"X-CSRF-Token": token})
            proof.cases += 1
            assert status == 400, text
            assert json.loads(text)["error"] == ("database settings may not name environment variables "
                                                 "(password_env): type the password into the form")
    finally:
        wizard.stop()
    proof.note("password_env naming a set and an unset variable: the same refusal, nothing read")


@pytest.mark.proof("security", "the wizard beyond 127.0.0.1 is reached over plain HTTP, or through a forged certificate")
def test_beyond_loopback_the_wizard_serves_only_https_with_the_printed_certificate(tmp_path, proof):
    site = _site(tmp_path, "inst pw")
    wizard = WizardProcess(site, "--host", "127.0.0.2")
    try:
        assert wizard.printed_url.startswith("https://127.0.0.2:")
        printed = wizard.wait_for(r"SHA-256 fingerprint: ([0-9A-F:]{95})").group(1)
        proof.cases += 1
        with pytest.raises(ssl.SSLError, match="not the pinned one"):
            Browser(wizard.host, wizard.port, pin=":".join(["00"] * 32)).request("GET", "/login")
        status, headers, text = Browser(wizard.host, wizard.port, pin=printed).request("GET", "/login")
        assert status == 200 and "Installer password" in text
        assert "secure" in headers["set-cookie"].lower()
        # Plain HTTP on the same port gets no page.
        proof.cases += 1
        with pytest.raises((http.client.HTTPException, OSError)):
            Browser(wizard.host, wizard.port).request("GET", "/login")
    finally:
        wizard.stop()
    insecure = WizardProcess(site, "--host", "127.0.0.2", "--insecure-http")
    try:
        proof.cases += 1
        assert insecure.printed_url.startswith("http://127.0.0.2:")
        insecure.wait_for(r"WARNING: plain HTTP on 127\.0\.0\.2 \(--insecure-http\)")
    finally:
        insecure.stop()
    proof.note("self-signed certificate, printed fingerprint matched; plain HTTP only with --insecure-http")


@pytest.mark.proof("security", "a page of the wizard is framed, sniffed, cached or runs injected inline script")
def test_every_wizard_answer_carries_the_security_headers(tmp_path, proof):
    client = create_app(_site(tmp_path, "pw")).test_client()
    for path in ("/login", "/checks", "/no-such-page"):
        reply = client.get(path)
        proof.cases += 1
        for name, value in SECURITY_HEADERS.items():
            assert reply.headers.get(name) == value, (path, name)
        csp = reply.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self' 'nonce-" in csp
        assert "unsafe-inline" not in csp
        page = reply.get_data(as_text=True)
        nonce = csp.split("'nonce-")[1].split("'")[0]
        # Every inline script and style carries this response's nonce, so none is blocked.
        assert page.count("<script") == page.count(f'<script nonce="{nonce}"')
        assert page.count("<style") == page.count(f'<style nonce="{nonce}"')
    proof.note("3 answers, each with CSP (nonce, no unsafe-inline), DENY, nosniff, no-referrer, no-store")


@pytest.mark.proof("security", "the wizard the kickstart starts is read for the archive password in its environment")
def test_the_kickstart_does_not_hand_the_archive_password_to_the_wizard(tmp_path, demo_site, proof):
    archive = backup(demo_site, tmp_path / "out", "jpa")
    upload = tmp_path / "upload"
    pyz = kickstart.build_kickstart(upload)
    shutil.copy(archive, upload / archive.name)
    secret = "archive key 9f2c"
    wizard = subprocess.Popen([*kickstart.ISOLATED, str(pyz), "--wizard", "--port", "0"], cwd=upload,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env=dict(os.environ, SITEPACK_ARCHIVE_PASSWORD=secret),
                              start_new_session=True)
    try:
        printed = [wizard.stdout.readline() for _ in range(2)]
        assert "restore wizard for" in printed[1], printed  # the kickstart became the wizard (exec)
        process = Path(f"/proc/{wizard.pid}")
        assert b"installation/restore.py" in (process / "cmdline").read_bytes()
        proof.cases += 1
        assert secret.encode() not in (process / "environ").read_bytes()
    finally:
        os.killpg(wizard.pid, 15)
        wizard.wait(10)
    proof.note("the wizard's /proc environ holds no archive password")

