"""The rules both web apps (the restore wizard and the backup UI) share, written once in
``restorer``: the CSRF check (``restorer.web.guard``) and which addresses count as this
machine only (``restorer.web.tls.is_loopback_only``). Each case is tried against both apps."""

from __future__ import annotations

import pytest

from packer.web import create_app as create_backup_ui
from packer.web.login import LoginPassword
from packer.web.server import WebServer
from restorer.errors import SitepackError
from restorer.web.guard import CSRF_REFUSED
from restorer.wizard import create_app as create_wizard
from restorer.wizard import serve as serve_wizard
from tests.restore.test_wizard_gate import _csrf, _site

REFUSAL_WORDS = "security token is missing or out of date (CSRF check failed)"


def _apps(tmp_path):
    """(name, Flask app) for the wizard (installer password) and the backup UI (login password)."""
    wizard = create_wizard(_site(tmp_path / "restore", "installer pw"))
    site_root = tmp_path / "site"
    site_root.mkdir()
    login = LoginPassword()
    login.set("login password 1")
    return [("wizard", wizard), ("backup UI", create_backup_ui(site_root, password=login))]


@pytest.mark.proof("security", "a forged, missing, foreign or non-ASCII CSRF token on a change to either web app")
def test_both_apps_refuse_a_change_without_the_sessions_token_the_same_way(tmp_path, proof):
    """The wizard answered 400 to a missing or forged token and 500 (a TypeError in the
    string compare) to a non-ASCII one; the backup UI 403 to all: the one rule is 403."""
    for name, app in _apps(tmp_path):
        other = app.test_client()
        foreign = _csrf(other)                      # a real token, of another session
        client = app.test_client()
        mine = _csrf(client)
        for sent in ({}, {"csrf_token": "forged"}, {"csrf_token": "é" * 43}, {"csrf_token": foreign}):
            proof.cases += 1
            reply = client.post("/login", data={"password": "login password 1", **sent})
            text = reply.get_data(as_text=True).replace("&#39;", "'")
            assert (name, reply.status_code) == (name, CSRF_REFUSED), text[:300]
            assert REFUSAL_WORDS in text, (name, text[:300])
        header = client.post("/login", data={"password": "wrong"}, headers={"X-CSRF-Token": "é"})
        assert (name, header.status_code) == (name, CSRF_REFUSED)
        # The session's own token passes the check (the password is wrong: 403 of another kind).
        passed = client.post("/login", data={"password": "wrong", "csrf_token": mine})
        assert REFUSAL_WORDS not in passed.get_data(as_text=True).replace("&#39;", "'")
        assert "Wrong" in passed.get_data(as_text=True)
    proof.note("per app: no token, forged, non-ASCII, another session's token (form field), "
               "non-ASCII header: 403 with one message")


@pytest.mark.proof("security", "either web app listens without its password on a 127/8 address beyond 127.0.0.1")
@pytest.mark.parametrize("host", ["127.0.0.2", "::ffff:127.0.0.1"])
def test_both_apps_count_only_the_three_loopback_names_as_this_machine(tmp_path, host, proof):
    """The backup UI took any 127/8 address (and ``::ffff:127.0.0.1``) as loopback and
    listened there without a login password; the wizard refused them. The strict rule
    (127.0.0.1, localhost, ::1) wins: it is the one the HTTPS rule already used, so no
    address can be 'local' for one rule and 'remote' for the other."""
    site_root = tmp_path / "site"
    site_root.mkdir()
    proof.cases += 1
    with pytest.raises(SitepackError, match=rf"refusing to listen on {host} without a login password"):
        WebServer(site_root, host=host, port=0)
    proof.cases += 1
    with pytest.raises(SitepackError, match=rf"refusing to listen on {host}: this backup has no installer password"):
        serve_wizard(_site(tmp_path / "restore"), host=host, port=0)
    proof.note(f"{host}: both apps refuse to listen without their password")
