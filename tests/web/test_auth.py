"""Nobody gets in without the password or the one-time token, nothing changes without CSRF."""

from __future__ import annotations

import http.cookiejar
import io
import json
import os
import re
import stat
import subprocess
import urllib.parse
import urllib.request

import pytest
from click.testing import CliRunner
from web_login import PASSWORD, log_in, page_csrf

from packer import profiles, records
from packer.cli import main as cli
from packer.web import create_app
from packer.web.login import LoginPassword
from packer.web.server import WebServer
from restorer.errors import SitepackError
from restorer.web import tls
from restorer.web.guard import PER_ADDRESS_PER_WINDOW, OneTimeToken
from tests.restore.live_wizard import Browser

PAGES = ["/", "/backup/new", "/backup/1", "/backup/1/done", "/backup/1/failed", "/manage/",
         "/manage/1/log", "/manage/1/part/1", "/profiles/"]
CHANGES = ["/login-password", "/backup/new", "/backup/1/step", "/manage/1/delete", "/manage/1/delete-files",
           "/manage/1/freeze", "/manage/1/unfreeze", "/profiles/save", "/profiles/x/delete",
           "/logout"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_sends_a_stranger_to_the_login(app, path):
    response = app.test_client().get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("path", CHANGES)
def test_every_change_is_refused_without_a_login(app, path):
    client = app.test_client()
    token = page_csrf(client.get("/login").text)  # a real CSRF token, but no login
    response = client.post(path, data={"csrf_token": token})
    assert response.status_code == 403


def test_step_endpoint_refuses_a_stranger_with_json(app):
    response = app.test_client().post("/backup/1/step", json={}, headers={"X-CSRF-Token": "x"})
    assert response.status_code == 403
    assert response.json == {"error": "You are not logged in (or your session expired): log in again."}


def test_login_form_without_csrf_token_is_refused(app):
    client = app.test_client()
    client.get("/login")
    response = client.post("/login", data={"password": PASSWORD})
    assert response.status_code == 403
    assert "security token is missing or out of date" in response.text
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused_and_right_one_accepted(app):
    client = app.test_client()
    wrong = log_in(client, "Correct horse battery")
    assert wrong.status_code == 403
    assert "Wrong password." in wrong.text
    right = log_in(client)
    assert right.status_code == 302 and right.headers["Location"] == "/"
    assert client.get("/manage/").status_code == 200


@pytest.mark.parametrize("path", ["/manage/1/delete", "/manage/1/freeze", "/manage/1/delete-files"])
def test_logged_in_changes_without_or_with_a_wrong_csrf_token_are_refused(client, path):
    record = records.create(type="full", format="jpa", description="keep me")
    for data in ({}, {"csrf_token": "forged"}, {"csrf_token": ""}):
        response = client.post(path.replace("/1/", f"/{record.id}/"), data=data)
        assert response.status_code == 403
        assert "security token is missing or out of date" in response.text
    after = records.get(record.id)
    assert (after.status, after.frozen) == ("pending", False)


def test_step_endpoint_needs_the_csrf_header(client):
    record = records.create(type="full", format="jpa", description="x")
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        response = client.post(f"/backup/{record.id}/step", json={}, headers=headers)
        assert response.status_code == 403
        assert "security token" in response.json["error"]


def test_profile_save_without_csrf_changes_nothing(client):
    response = client.post("/profiles/save", data={"original": "default", "name": "default",
                                                   "format": "zip"})
    assert response.status_code == 403
    assert profiles.load("default").format == "jpa"


def test_session_cookie_is_httponly_samesite_strict_and_secure_over_https(app):
    plain = log_in(app.test_client())
    cookie = plain.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    tls = app.test_client()
    token = page_csrf(tls.get("/login", base_url="https://localhost").text)
    secure = tls.post("/login", data={"csrf_token": token, "password": PASSWORD},
                      base_url="https://localhost")
    assert secure.status_code == 302
    assert "; Secure" in secure.headers["Set-Cookie"]


def test_pages_forbid_inline_script_and_framing(app):
    response = app.test_client().get("/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_logout_revokes_the_session_cookie(client):
    saved = client.get_cookie("sitepack_session").value
    client.post("/logout", data={"csrf_token": client.csrf})
    client.set_cookie("sitepack_session", saved)
    assert client.get("/manage/").status_code == 302


def test_login_redirects_only_to_local_paths(app):
    client = app.test_client()
    token = page_csrf(client.get("/login").text)
    response = client.post("/login", data={"csrf_token": token, "password": PASSWORD,
                                           "next": "//evil.example/steal"})
    assert response.headers["Location"] == "/"


def test_guessing_is_throttled(app):
    client = app.test_client()
    for _ in range(PER_ADDRESS_PER_WINDOW):
        assert log_in(client, "guess").status_code == 403
    blocked = log_in(client)
    assert blocked.status_code == 429
    assert re.search(r"Too many login attempts: wait \d+ seconds", blocked.text)


def test_one_time_token_logs_in_once(site_root):
    token = OneTimeToken()
    app = create_app(site_root, password=LoginPassword(site_root / "no-password.json"), token=token)
    value = token.forget()
    first, second = app.test_client(), app.test_client()
    for client in (first, second):
        client.csrf = page_csrf(client.get("/login").text)
    assert first.post("/login", data={"csrf_token": first.csrf, "token": value}).status_code == 302
    refused = second.post("/login", data={"csrf_token": second.csrf, "token": value})
    assert refused.status_code == 403
    assert "already used" in refused.text
    assert second.get("/manage/").status_code == 302
    assert first.get("/manage/").status_code == 200


def test_password_is_stored_as_a_private_salted_hash(sitepack_home):
    login = LoginPassword()
    login.set(PASSWORD)
    first = login.path.read_text()
    login.set(PASSWORD)
    second = login.path.read_text()
    assert PASSWORD not in first and first != second  # a new salt each time
    assert json.loads(first)["algorithm"] == "scrypt"
    assert stat.S_IMODE(os.stat(login.path).st_mode) == 0o600
    assert login.verify(PASSWORD) and not login.verify(PASSWORD.upper())


def test_short_password_is_refused(sitepack_home):
    with pytest.raises(SitepackError, match="too short: use at least 8 characters"):
        LoginPassword().set("short")


def test_non_loopback_bind_without_password_is_refused(site_root):
    with pytest.raises(SitepackError, match=r"refusing to listen on 0\.0\.0\.0 without a login password"):
        WebServer(site_root, host="0.0.0.0", port=0)
    result = CliRunner().invoke(cli, ["serve", "--site", str(site_root), "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert "refusing to listen on 0.0.0.0 without a login password" in result.output


def test_non_loopback_bind_with_password_is_allowed(site_root):
    login = LoginPassword()
    login.set(PASSWORD)
    server = WebServer(site_root, host="0.0.0.0", port=0, log_stream=io.StringIO())
    try:
        # The one-time URL is printed even with a password: the owner's way past the throttle.
        assert server.login_url().startswith(f"{server.url}login#token=")
    finally:
        server.shutdown()


def test_token_url_logs_in_over_http_and_never_reaches_the_log(site_root):
    log = io.StringIO()
    server = WebServer(site_root, port=0, log_stream=log).start_in_thread()
    try:
        url = server.login_url()
        assert "#token=" in url  # a fragment: browsers never send it to the server
        token = url.split("#token=")[1]
        assert server.token.value is None  # the server kept only its hash
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        csrf = page_csrf(opener.open(server.url + "login").read().decode())
        form = urllib.parse.urlencode({"csrf_token": csrf, "token": token}).encode()
        landed = opener.open(server.url + "login", data=form)
        assert landed.url == server.url  # redirected to the Control Panel, token-free
        assert "Control Panel" in landed.read().decode()
    finally:
        server.shutdown()
    text = log.getvalue()
    assert "POST /login 302" in text
    assert token not in text


def test_token_user_sets_a_login_password_for_later_runs(site_root):
    token = OneTimeToken()
    login = LoginPassword(site_root.parent / "login.json")
    app = create_app(site_root, password=login, token=token)
    client = app.test_client()
    client.post("/login", data={"csrf_token": page_csrf(client.get("/login").text),
                                "token": token.forget()})
    csrf = page_csrf(client.get("/").text)
    differ = client.post("/login-password", data={"csrf_token": csrf, "new_password": "a long password",
                                                   "new_password_again": "a long passwort"},
                         follow_redirects=True)
    assert "The two new passwords differ" in differ.text and not login.is_set()
    short = client.post("/login-password", data={"csrf_token": csrf, "new_password": "short",
                                                  "new_password_again": "short"}, follow_redirects=True)
    assert "The login password is too short: use at least 8 characters." in short.text
    saved = client.post("/login-password", data={"csrf_token": csrf, "new_password": "a long password",
                                                  "new_password_again": "a long password"},
                        follow_redirects=True)
    assert "Login password saved" in saved.text and login.verify("a long password")
    wrong_current = client.post("/login-password", data={
        "csrf_token": csrf, "current_password": "guess", "new_password": "another password",
        "new_password_again": "another password"}, follow_redirects=True)
    assert "The current login password is wrong" in wrong_current.text
    assert login.verify("a long password")
    other = app.test_client()
    assert log_in(other, "a long password").status_code == 302


def test_setting_the_password_needs_csrf(client):
    response = client.post("/login-password", data={"new_password": "x" * 12, "new_password_again": "x" * 12})
    assert response.status_code == 403
    assert LoginPassword().verify(PASSWORD)


def test_beyond_127_0_0_1_the_backup_ui_serves_https_with_the_users_certificate(site_root, tmp_path):
    login = LoginPassword()
    login.set(PASSWORD)
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "2", "-subj", "/CN=test", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    server = WebServer(site_root, host="127.0.0.2", port=0, cert=cert, key=key,
                       log_stream=io.StringIO()).start_in_thread()
    try:
        assert server.url.startswith("https://127.0.0.2:")
        assert server.fingerprint == tls.fingerprint(cert.read_bytes())
        status, headers, page = Browser("127.0.0.2", int(server.url.rsplit(":", 1)[1].strip("/")),
                                        pin=server.fingerprint).request("GET", "/login")
        assert status == 200 and "Log in" in page and "secure" in headers["set-cookie"].lower()
    finally:
        server.shutdown()
    with pytest.raises(SitepackError, match="give both --cert FILE and --key FILE"):
        WebServer(site_root, host="127.0.0.2", port=0, cert=cert)
