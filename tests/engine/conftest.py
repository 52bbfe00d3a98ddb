"""Demo sites for backup tests.

``demo`` is built once per test module (files + database) and must not be changed by
tests; tests that need to change a site build their own small one.
"""

import pytest

from harness.demosite import build_demo_site


@pytest.fixture(scope="module")
def demo(mariadb, tmp_path_factory):
    params = mariadb.create_database()
    site = build_demo_site(tmp_path_factory.mktemp("demo") / "site", params)
    yield site
    mariadb.drop_database(params.database)
