"""The wizard's gate: installer password (throttled), CSRF, no session no API, and no
listening beyond 127.0.0.1 without a password."""

import json
import re

import pytest

from restorer.errors import SitepackError
from restorer.install_password import password_file_text
from restorer.wizard import create_app, serve


def _site(root, password=None):
    inst = root / "installation"
    (inst / "sql").mkdir(parents=True)
    (inst / "sql" / "databases.json").write_text(json.dumps({"site.sql": {"dbname": "x", "prefix": "jos_"}}))
    (inst / "sitepack-manifest.jsonl").write_text("")
    if password:
        (inst / "password.json").write_text(password_file_text(password))
    return root


def _csrf(client, path="/login"):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_wrong_passwords_are_refused_then_throttled(tmp_path):
    client = create_app(_site(tmp_path, "right one")).test_client()
    assert client.get("/checks").headers["Location"].endswith("/login")
    token = _csrf(client)
    for _ in range(3):
        reply = client.post("/login", data={"password": "wrong", "csrf_token": token})
        assert reply.status_code == 403 and "Wrong installer password." in reply.get_data(as_text=True)
    reply = client.post("/login", data={"password": "right one", "csrf_token": token})
    assert reply.status_code == 403
    assert re.search(r"Too many wrong passwords: wait \d+ seconds", reply.get_data(as_text=True))


def test_right_password_opens_the_wizard_and_the_password_is_nowhere_in_pages(tmp_path):
    client = create_app(_site(tmp_path, "right one")).test_client()
    reply = client.post("/login", data={"password": "right one", "csrf_token": _csrf(client)})
    assert reply.status_code == 302 and reply.headers["Location"].endswith("/checks")
    page = client.get("/checks").get_data(as_text=True)
    assert "Pre-restore checks" in page and "right one" not in page


def test_posts_without_the_csrf_token_are_refused(tmp_path):
    client = create_app(_site(tmp_path, "pw")).test_client()
    client.get("/login")
    assert client.post("/login", data={"password": "pw"}).status_code == 400
    assert client.post("/login", data={"password": "pw", "csrf_token": "forged"}).status_code == 400


def test_api_without_a_session_says_to_log_in_again(tmp_path):
    client = create_app(_site(tmp_path, "pw")).test_client()
    token = _csrf(client)
    reply = client.post("/api/database/site.sql/step", headers={"X-CSRF-Token": token}, json={})
    assert reply.status_code == 401
    assert "log in again" in reply.get_json()["error"]


def test_without_a_password_it_refuses_other_addresses_and_opens_on_localhost(tmp_path):
    site = _site(tmp_path)
    with pytest.raises(SitepackError, match="refusing to listen on 0.0.0.0: this backup has no installer password"):
        serve(site, host="0.0.0.0", port=0)
    client = create_app(site).test_client()
    assert "Pre-restore checks" in client.get("/checks").get_data(as_text=True)
