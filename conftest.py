"""Fixtures shared by ``tests/`` and ``e2e/``: real MariaDB, real PHP, real Chromium.

Nothing here skips: if a real component cannot start, the test fails with the reason.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

from harness import proof_tables
from harness.mariadb import DbParams, MariaDBServer
from harness.php import ensure_php

# Tests run the ``sitepack`` command as users do; it is installed beside this interpreter
# (the virtual environment's bin/), which ``python -m pytest`` does not put on PATH.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

# CI replays the same property-test examples on every run (a red CI always reproduces);
# developers' runs keep exploring new random examples.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# The real-WordPress checks shared by tests/ and e2e/ explain their failures like tests do.
pytest.register_assert_rewrite("tests.restore.wordpress_checks")

ROOT = Path(__file__).resolve().parent
BUILD = ROOT / "build"
SCREENSHOTS = BUILD / "screenshots"


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory) -> MariaDBServer:
    """One MariaDB server for the whole test session."""
    base = tmp_path_factory.mktemp("mariadb")
    try:
        server = MariaDBServer.start(base)
    except Exception as exc:  # fail loudly with the reason, never skip
        pytest.fail(f"the test MariaDB server could not start: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def db(mariadb) -> DbParams:
    """A fresh, empty database for one test (dropped afterwards)."""
    params = mariadb.create_database()
    yield params
    mariadb.drop_database(params.database)


@pytest.fixture
def db_factory(mariadb):
    """Makes as many fresh databases as a test needs (restore targets and the like)."""
    made: list[str] = []

    def make() -> DbParams:
        params = mariadb.create_database()
        made.append(params.database)
        return params

    yield make
    for name in made:
        mariadb.drop_database(name)


@pytest.fixture(scope="session")
def php() -> None:
    """Real PHP CLI on PATH (installed from Debian when missing)."""
    ensure_php()


@pytest.fixture(scope="session")
def wordpress_ready(php) -> None:
    """Debian's wordpress package and the PHP extensions it needs (installed when missing)."""
    from harness.wordpress import ensure_wordpress
    ensure_wordpress()


@pytest.fixture
def wordpress_factory(wordpress_ready, mariadb):
    """``make(root, url, prefix=..., docroot=...)``: a freshly installed real WordPress
    (harness/wordpress.py) in its own database, dropped after the test."""
    from harness.wordpress import build_wordpress_site
    made: list[str] = []

    def make(root: Path, url: str, **options):
        db = mariadb.create_database()
        made.append(db.database)
        return build_wordpress_site(root, db, url, **options)

    yield make
    for name in made:
        mariadb.drop_database(name)


@pytest.fixture(autouse=True)
def sitepack_home(tmp_path_factory, monkeypatch) -> Path:
    """Each test gets its own sitepack data directory (records, profiles, logs, restores'
    private folders): beside its tmp_path, never inside, since tests restore sites into
    tmp_path and a private folder inside the site is refused."""
    home = tmp_path_factory.mktemp("sitepack-home")
    monkeypatch.setenv("SITEPACK_HOME", str(home))
    return home


# --- Playwright on Debian's Chromium -------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        from harness.system import ensure_debian_packages
        ensure_debian_packages({"chromium": "chromium"})
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--disable-gpu",
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1, EXCLUDE localhost",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


# --- proof tables (docs/SECURITY.md, docs/RELIABILITY.md; see harness/proof_tables.py) --

_PROOF_RECORDER = pytest.StashKey[proof_tables.ProofRecorder]()


@pytest.fixture
def proof(request) -> proof_tables.ProofRecorder:
    """Counts the cases a ``@pytest.mark.proof`` test tries, and its figures."""
    if request.node.get_closest_marker("proof") is None:
        raise pytest.UsageError(f"{request.node.nodeid} uses the proof fixture without @pytest.mark.proof")
    recorder = proof_tables.ProofRecorder()
    request.node.stash[_PROOF_RECORDER] = recorder
    return recorder


def _record_proof(item, report) -> None:
    marker = item.get_closest_marker("proof")
    path = os.environ.get(proof_tables.RECORD_ENV)
    if marker is None or not path:
        return
    # One line per test: its call, or the setup that failed before the call could run.
    if not (report.when == "call" or (report.when == "setup" and not report.passed)):
        return
    table, what = marker.args
    proof_tables.record(path, table=table, what=what, nodeid=item.nodeid, outcome=report.outcome,
                        recorder=item.stash.get(_PROOF_RECORDER, None), seconds=report.duration)


def pytest_configure(config):
    config.addinivalue_line("markers", "proof(table, what): a test whose outcome goes into a generated "
                                       "proof table (harness/proof_tables.py)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Records proof tests; saves a screenshot of every open page when a browser test fails."""
    outcome = yield
    report = outcome.get_result()
    _record_proof(item, report)
    if report.when != "call" or not report.failed:
        return
    page = item.funcargs.get("page") if hasattr(item, "funcargs") else None
    if page is None:
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = item.nodeid.replace("/", "_").replace("::", "__")
    for index, open_page in enumerate(page.context.pages):
        try:
            open_page.screenshot(path=str(SCREENSHOTS / f"FAILED-{name}-{index}.png"), full_page=True)
        except Exception:  # the page may already be closed; the failure itself is reported
            pass


@pytest.fixture
def screenshot(page):
    """``screenshot("name")`` saves the current page under build/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
