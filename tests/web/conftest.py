"""Fixtures for the backup web UI tests: an app with a login password, a logged-in client."""

from __future__ import annotations

import pytest

from packer.web import create_app
from packer.web.login import LoginPassword
from web_login import PASSWORD, logged_in_client


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
    return logged_in_client(app)
