"""Fixtures for the backup web UI tests: an app with a login password, a logged-in client."""

from __future__ import annotations

import pytest

from packer.web import create_app
from packer.web.login import LoginPassword
from web_login import PASSWORD, log_in, page_csrf


@pytest.fixture
def site_root(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    return root


@pytest.fixture
def app(site_root, sitepack_home):
    login = LoginPassword()
    login.set(PASSWORD)
    return create_app(site_root, password=login)


@pytest.fixture
def client(app):
    """A logged-in test client; ``client.csrf`` is its session's CSRF token."""
    client = app.test_client()
    response = log_in(client)
    assert response.status_code == 302
    client.csrf = page_csrf(client.get("/manage/").text)
    return client
