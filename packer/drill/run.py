"""The drill: a backup restored into a throwaway folder and database, then checked.

Steps: earlier drills' leftovers removed → a new folder under ``$SITEPACK_HOME/drills/`` →
a backup's parts fetched from off-site storage into it when they are not on this disk → the
archive extracted into it (every file checked against the manifest on the way) → a
throwaway database (a generated name on the user's server, or a private ``mariadbd`` in
the drill's folder) → the headless restore (``restorer.restore.session.run_headless``),
whose import verifies every table against the dump's record → the site's pages served by
a sandboxed ``php -S`` and checked (``pages.py``) → everything the drill made removed.

The live site and its database are never touched: the drill writes only inside its own
folder and to the throwaway database, and reads the live site's pages with GET at most.

Leftovers of a drill killed without a chance to clean up (SIGKILL, a power cut): each
drill's folder holds ``drill.json`` (its PID, its servers' PIDs, its database's name and
server, never a password); the next drill, or ``sitepack drill --cleanup``, stops those
servers (only processes whose command line names that folder), drops what it can and
removes the folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import re
import secrets
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Callable

from restorer.bundle import read_bundle
from restorer.db import DbConnectionInfo, close_quietly
from restorer.errors import SitepackError
from restorer.privatefile import write_private_json
from restorer.restore.install_password import PASSWORD_FILE

from ..home import data_dir, private_dir
from . import dbserver, pages

MARKER = "drill.json"
_DB_NAME = "sitepack_drill_"
_VERIFIED = re.compile(r"database (?:NOT )?verified: .*|database not verified: .*")


def drills_dir() -> Path:
    """Where drills work (0700), each in a folder of its own."""
    return private_dir(data_dir() / "drills")


@dataclasses.dataclass
class DrillReport:
    archive: str
    started: str = ""
    seconds: float = 0.0
    files: int = 0
    tables: int = 0
    rows: int = 0
    database: str = ""                      # the verification's one line
    pages: list[pages.Page] = dataclasses.field(default_factory=list)
    mails: int = 0                          # mails the restored copy tried to send (caught)
    problems: list[str] = dataclasses.field(default_factory=list)   # red: not restorable as is
    unchecked: list[str] = dataclasses.field(default_factory=list)  # what could not be checked
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 restorable and every check ran, 1 something is wrong, 2 good but not fully checked."""
        return 1 if self.problems or any(p.problems for p in self.pages) else 2 if self.unchecked else 0

    @property
    def ok(self) -> bool:
        return self.exit_code != 1

    def summary(self) -> str:
        """One line for the backup record and Manage Backups."""
        if not self.ok:
            bad = self.problems + [f"{p.path}: {'; '.join(p.problems)}" for p in self.pages if p.problems]
            return f"NOT restorable ({self.started[:10]}): {bad[0]}" + (f" (+{len(bad) - 1} more)" if len(bad) > 1 else "")
        return (f"restorable: verified {self.started[:10]}, {self.files:,} files, {self.tables} tables, "
                f"{len(self.pages)} pages")

    def text(self) -> str:
        lines = [f"drill of {self.archive} ({self.started} UTC, {self.seconds:.1f} s)",
                 f"  files:    {self.files:,} extracted, every one checked against the manifest"
                 if self.files else "  files:    not extracted",
                 f"  database: {self.database or 'not imported'}"]
        for page in self.pages:
            state = "FAILED" if page.problems else "ok"
            lines.append(f"  page {page.path}: HTTP {page.status} {page.title!r} {state}"
                         + (f" (live: {page.live})" if page.live else ""))
            lines += [f"    - {problem}" for problem in page.problems]
        if self.mails:
            lines.append(f"  mail:     {self.mails} message(s) the site tried to send were caught, none sent")
        lines += [f"  PROBLEM: {problem}" for problem in self.problems]
        lines += [f"  not checked: {item}" for item in self.unchecked]
        lines += [f"  note: {item}" for item in self.notes]
        lines.append(f"result: {self.summary()}" + (" (not every check could run)" if self.exit_code == 2 else ""))
        return "\n".join(lines)

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data.update(exit_code=self.exit_code, summary=self.summary())
        return data


@dataclasses.dataclass
class DbTarget:
    """A server the user named for throwaway databases (the user may CREATE and DROP)."""

    host: str
    port: int
    user: str
    password: str

    def public(self) -> dict:
        return {"host": self.host, "port": self.port, "user": self.user}

    def conn_info(self, database: str = "") -> DbConnectionInfo:
        return DbConnectionInfo(self.host, self.port, self.user, self.password, database)


def drill(archive: Path, *, password: str | None = None, db: DbTarget | None = None,
          check_pages: bool = True, earlier: dict | None = None,
          fetch: Callable[[Path], Path] | None = None,
          say: Callable[[str], None] = lambda line: None) -> DrillReport:
    """Drills ``archive`` (any part of it); see the module docstring. ``earlier``: a previous
    drill of the same backup (``to_dict()``), whose pages stand in for an unreachable live site.
    ``fetch``: for an archive whose parts are not on this disk, ``fetch(folder)`` downloads
    them into ``folder`` (inside the drill's own, so removed with it) and returns the part
    to drill."""
    report = DrillReport(str(archive), started=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S"))
    began = time.monotonic()
    for line in cleanup_leftovers(db):
        say(f"cleanup: {line}")
    folder = drills_dir() / f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(4)}"
    marker: dict = {"pid": os.getpid(), "since": start_time(os.getpid()), "archive": str(archive)}
    with _stops_on_signals(), _Resources(folder, marker) as held:
        try:
            if fetch is not None:
                say("fetching the archive's parts from off-site storage (each checked by SHA-256)")
                archive = fetch(held.folder / "archive")
            _run(archive, password, db, check_pages, earlier, report, held, say)
        except Interrupted:
            raise   # no verdict on the backup: the drill itself was stopped (cleaned up on the way out)
        except SitepackError as exc:
            report.problems.append(str(exc))
        except RuntimeError as exc:   # a server of the drill's own would not start
            report.problems.append(f"the drill could not run: {exc}")
    report.seconds = time.monotonic() - began
    return report


def _run(archive, password, db, check_pages, earlier, report: DrillReport, held: "_Resources", say) -> None:
    from restorer.extract.extractor import extract
    from restorer.restore.session import run_headless

    site, private = held.folder / "site", held.folder / "private"
    say("extracting (every file checked against the manifest)")
    extracted = extract(archive, site, password=password, private_dir=private)
    report.files = extracted.entries
    if not extracted.manifest_checked:
        report.unchecked.append("files: the archive has no sitepack manifest (structure checked only)")
    bundle = read_bundle(site, private)
    if not bundle.databases:
        report.unchecked.append("database: the backup holds no database dump")
    # The installer password guards a restore on a server; the drill restores its own copy.
    (private / PASSWORD_FILE).unlink(missing_ok=True)
    old_url = str(bundle.extrainfo.get("site_url") or "")
    php = pages.SandboxedPhp(site, held.folder) if check_pages and pages.php_available() else None
    answers: dict = {"site": {"live_site": php.url if php else "http://127.0.0.1/"},
                     "finish": {"remove_installation": True}}
    if bundle.databases:
        answers["db"] = held.database(db, str(bundle.databases["site.sql"].get("prefix") or "drill_"), say)
    lines: list[str] = []
    say("restoring into the throwaway folder and database")
    run_headless(site, answers, lines.append, private_dir=private)
    for line in lines:
        found = _VERIFIED.search(line)
        if found:
            report.database = found.group(0)
    if report.database.startswith("database NOT verified"):
        report.problems.append(report.database)
    elif report.database.startswith("database not verified"):
        report.unchecked.append(report.database)
    report.tables, report.rows = _counts(report.database)
    # The restore's own warnings (a collation downgraded on this server...) are told, not failed.
    report.notes += [line[len("WARNING: "):] for line in lines
                     if line.startswith("WARNING: ") and "NOT verified" not in line]
    if php is None:
        report.unchecked.append("pages: " + ("not asked for" if not check_pages else "PHP is not installed"))
        return
    say(f"checking pages at {php.url} (sandboxed PHP)")
    held.start_php(php)
    if pages.live_site_answers(old_url):
        compare = pages.compare_with_live(old_url)
    elif earlier and earlier.get("pages"):
        compare = pages.compare_with_record(earlier["pages"])
        report.notes.append(f"the live site {old_url} does not answer: pages compared with the "
                            f"drill of {earlier.get('started', 'before')}")
    else:
        compare = None
        report.notes.append(f"the live site {old_url or '(URL unknown)'} does not answer and no earlier "
                            f"drill recorded its pages: status and titles compared with nothing")
    report.pages = pages.check_pages(php, old_url, compare)
    report.mails = php.mails()


def _counts(verification: str) -> tuple[int, int]:
    match = re.search(r"verified: ([\d,]+) tables, ([\d,]+) rows", verification)
    return (int(match.group(1).replace(",", "")), int(match.group(2).replace(",", ""))) if match else (0, 0)


class _Resources:
    """What one drill made, recorded in its ``drill.json`` as it is made, removed on exit."""

    def __init__(self, folder: Path, marker: dict):
        self.folder = folder
        self.marker = marker
        self.server: dbserver.PrivateServer | None = None
        self.php: pages.SandboxedPhp | None = None
        self.db: DbTarget | None = None

    def __enter__(self) -> "_Resources":
        self.folder.mkdir(mode=0o700)
        self._save()
        return self

    def _save(self) -> None:
        write_private_json(self.folder / MARKER, self.marker)

    def database(self, target: DbTarget | None, prefix: str, say) -> dict:
        """The answers' ``db`` section for a new throwaway database."""
        name = _DB_NAME + secrets.token_hex(4)
        if target is None:
            if not dbserver.available():
                raise SitepackError("no database for the drill: give a server with --db-host/--db-user/"
                                    "--db-password-env (the user needs CREATE and DROP), or install "
                                    "MariaDB's server (mariadbd) for a private one")
            say("starting a private MariaDB server for the drill")
            self.marker["mariadbd"] = None
            self.server = dbserver.PrivateServer.start(self.folder / "mariadb")
            self.marker["mariadbd"] = self.server.process.pid
            self.marker["socket_dir"] = str(self.server.socket.parent)
            target = DbTarget("127.0.0.1", self.server.port, dbserver.USER, self.server.password)
        self.marker["database"] = {**target.public(), "database": name}
        self._save()
        self.db = target
        _execute(target, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        self.db_name = name
        return {**target.public(), "password": target.password, "database": name, "prefix": prefix,
                "existing": "drop"}

    def start_php(self, php: pages.SandboxedPhp) -> None:
        self.php = php
        php.start()
        self.marker["php"] = php.process.pid
        self._save()

    def __exit__(self, *exc) -> None:
        # Each part is removed even when another fails; an interruption here waits.
        with _signals_ignored():
            if self.php is not None:
                self.php.stop()
            if self.server is not None:
                self.server.stop()
            elif self.db is not None:
                with contextlib.suppress(SitepackError):
                    _execute(self.db, f"DROP DATABASE IF EXISTS `{self.db_name}`")
            shutil.rmtree(self.folder, ignore_errors=True)


def _execute(target: DbTarget, sql: str) -> None:
    import pymysql
    conn = None
    try:
        conn = target.conn_info().connect()
        with conn.cursor() as cur:
            cur.execute(sql)
    except pymysql.err.MySQLError as exc:
        raise SitepackError(f"the drill's database server at {target.host}:{target.port} refused "
                            f"{sql.split('`')[0].strip()} ({exc.args[-1]}): the user {target.user!r} "
                            f"needs CREATE and DROP there") from None
    finally:
        close_quietly(conn)


class Interrupted(SitepackError):
    pass


@contextlib.contextmanager
def _stops_on_signals():
    """SIGTERM and SIGHUP end the drill like Ctrl-C: its cleanup runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise Interrupted(f"the drill was interrupted (signal {signum}); what it made was removed")

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _signals_ignored():
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _processes_naming(folder: Path) -> list[int]:
    """The processes whose command line names the drill's ``folder`` (its servers and their
    workers; the folder's name is unique, so no other process is ever taken for them)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(folder).encode() + b"/" in proc.joinpath("cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:
            pass
    return found


def cleanup_leftovers(db: DbTarget | None = None) -> list[str]:
    """Removes what killed drills left (see the module docstring); one line per thing done."""
    done: list[str] = []
    root = drills_dir()
    if not root.is_dir():
        return done
    for folder in sorted(root.iterdir()):
        try:
            marker = json.loads((folder / MARKER).read_text())
        except (OSError, ValueError):
            marker = {}
        if marker.get("pid") not in (None, os.getpid()) and start_time(marker["pid"]) == marker.get("since"):
            continue   # a drill running now (the same process: PID and start time)
        for pid in _processes_naming(folder):
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid)
            name = {marker.get("php"): "php", marker.get("mariadbd"): "mariadbd"}.get(pid, "php worker")
            done.append(f"stopped the {name} process {pid} of a killed drill")
        socket_dir = Path(marker.get("socket_dir") or folder)
        if socket_dir != folder / "mariadb" and socket_dir.name.startswith("sitepack-db-"):
            shutil.rmtree(socket_dir, ignore_errors=True)
        database = marker.get("database")
        if database and not marker.get("mariadbd"):
            if db is not None and (db.host, db.port, db.user) == (database["host"], database["port"], database["user"]):
                _execute(db, f"DROP DATABASE IF EXISTS `{database['database']}`")
                done.append(f"dropped the database {database['database']} of a killed drill")
            else:
                done.append(f"the database {database['database']} of a killed drill remains on "
                            f"{database['host']}:{database['port']}: run sitepack drill --cleanup with "
                            f"--db-host/--db-user/--db-password-env of that server to drop it")
        shutil.rmtree(folder, ignore_errors=True)
        done.append(f"removed {folder}")
    return done


def start_time(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot), None when it does not run (an
    exited child its parent has not waited for yet, a zombie, runs nothing either)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if len(fields) < 20 or fields[0] == "Z" else fields[19]


def _wait_gone(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while start_time(pid) is not None and time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)   # a child of this process would stay a zombie
        except ChildProcessError:
            pass
        time.sleep(0.05)
