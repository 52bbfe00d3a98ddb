"""Logging in to the backup web UI from a Flask test client."""

from __future__ import annotations

import re

PASSWORD = "correct horse battery"


def page_csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def log_in(client, password: str = PASSWORD):
    token = page_csrf(client.get("/login").text)
    return client.post("/login", data={"csrf_token": token, "password": password})


def logged_in_client(app):
    """A test client of ``app`` logged in with ``PASSWORD``; ``client.csrf`` is its
    session's CSRF token."""
    client = app.test_client()
    response = log_in(client)
    assert response.status_code == 302
    client.csrf = page_csrf(client.get("/manage/").text)
    return client


def site_client(tmp_path):
    """A logged-in client of a backup UI made for the empty site ``tmp_path / "site"``."""
    from packer.web import create_app
    from packer.web.login import LoginPassword
    (tmp_path / "site").mkdir()
    login = LoginPassword()
    login.set(PASSWORD)
    return logged_in_client(create_app(tmp_path / "site", password=login))
