"""The restore, step by step: one engine for the wizard and the headless mode.

Steps: checks → database import (each dump of the bundle, resumable) → site setup
(configuration rewrite, super user) → replace data → finish. ``RestoreSession`` holds
the answers given so far and the saved progress (``.restore-state.json`` in the private
folder outside the site, mode 0600, never a password): the wizard calls one step per request, ``run_headless``
calls them in a loop. After a crash the saved progress lets the import resume where it
stopped; passwords are asked again because they are never written to disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform as pyplatform
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import pymysql

from restorer import MIN_PYTHON, python_too_old
from restorer.bundle import SITE_DUMP, Bundle, read_bundle
from restorer.errors import ConfigError, DatabaseError, SitepackError
from restorer.extract.textsafe import shown_name
from restorer.progress import human_size
from restorer.replace.plan import expand_rows

from . import install_password
from .answers import HTACCESS_MODES, DbAnswers, secret
from restorer.dbimport.sqltext import quote_ident
from restorer.private import restore_lock
from restorer.privatefile import write_private_json

if TYPE_CHECKING:  # finish.py (and the extractor it reads) loads when the restore finishes
    from .finish import FinishResult

STATE_VERSION = 1
MIN_FREE_BYTES = 50 * 1024 * 1024


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    blocking: bool = True


@dataclass
class StepProgress:
    """What one call of a step did, for a progress bar or a progress line."""

    done: bool
    fraction: float
    item: str = ""
    detail: str = ""
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"done": self.done, "fraction": round(self.fraction, 4), "item": self.item,
                "detail": self.detail, "warnings": self.warnings}


@dataclass
class SetupResult:
    config_path: Path | None
    written: bool
    config_text: str | None
    notes: list[str] = field(default_factory=list)


@dataclass
class DatabaseProgress:
    """One dump's import: the answers it runs with (never the password) and where it stands."""

    answers: dict | None = None         # DbAnswers.public()
    done: bool = False
    importer: dict | None = None        # Importer.state(), to resume after a kill
    fraction: float = 0.0
    keys_renamed_to: str | None = None  # WordPress: the prefix its prefix-bound keys carry now


@dataclass
class SetupRecord:
    """What the site setup step decided, for the replace and finish steps."""

    live_site: str = ""
    old_live_site: str = ""
    htaccess: str = "keep"
    config_written: bool = False


@dataclass
class ReplaceProgress:
    """The replace step: what it was asked (a different ``key`` starts it over) and where it stands."""

    key: dict                           # pairs, tables, dry_run
    replacer: dict | None = None        # Replacer.state(), to resume after a kill
    done: bool = False
    counts: dict[str, int] = field(default_factory=dict)   # values changed per table


@dataclass
class SessionState:
    """The restore's saved progress: ``.restore-state.json`` holds ``to_dict()``."""

    version: int = STATE_VERSION
    databases: dict[str, DatabaseProgress] = field(default_factory=dict)
    setup: SetupRecord | None = None
    replace: ReplaceProgress | None = None
    finished: bool = False              # finishing has begun: the wizard accepts nothing more
    kickstart: str | None = None        # the kickstart.pyz that extracted the site (removed at finish)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "SessionState":
        """The state saved as ``data`` (``KeyError``/``TypeError``/``AttributeError`` when it is not one)."""
        return cls(**{**data,
                      "databases": {name: DatabaseProgress(**record) for name, record in data["databases"].items()},
                      "setup": SetupRecord(**data["setup"]) if data.get("setup") else None,
                      "replace": ReplaceProgress(**data["replace"]) if data.get("replace") else None})


def _under(path: str, old_root: str | None, new_root: Path, default: Path) -> str:
    """``path`` moved from the old site root to the new one (or ``default``)."""
    if path and old_root:
        old = old_root.rstrip("/")
        if path == old or path.startswith(old + "/"):
            return str(new_root) + path[len(old):]
    return str(default)


class RestoreSession:
    """One restore of one extracted bundle."""

    def __init__(self, site_root: Path, private_dir: Path | None = None):
        self.bundle: Bundle = read_bundle(site_root, private_dir)
        self.password_check = install_password.load(self.bundle.private)
        self.db_answers: dict[str, DbAnswers] = {}
        self._importers: dict[str, object] = {}
        self._replacer = None
        self.state = self._load_state()

    # --- saved progress ------------------------------------------------------------
    def _load_state(self) -> SessionState:
        path = self.bundle.state_path
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if data.get("version") == STATE_VERSION:
                    return SessionState.from_dict(data)
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                pass  # an unreadable state is the same as none: the steps start over
        return SessionState()

    def save(self) -> None:
        write_private_json(self.bundle.state_path, self.state.to_dict())

    # --- checks --------------------------------------------------------------------
    def checks(self) -> list[Check]:
        b = self.bundle
        too_old = python_too_old("The restorer")
        result = [Check("Python version", too_old is None,
                        too_old or f"Python {pyplatform.python_version()} "
                                   f"({'.'.join(map(str, MIN_PYTHON))} or newer needed)")]
        for what, path in (("Site folder", b.site_root), ("Private restore folder", b.private)):
            ok = os.access(path, os.W_OK)
            result.append(Check(f"{what} writable", ok,
                                f"{path} is {'writable' if ok else 'NOT writable: give the restoring user write access'}"))
        if b.config_path is not None:
            target = b.config_path if b.config_path.exists() else b.site_root
            ok = os.access(target, os.W_OK)
            result.append(Check(f"{b.config_path.name} writable", ok,
                                "it will be rewritten in place" if ok else
                                "not writable: the site setup page will show its new content to copy",
                                blocking=False))
        try:
            import pymysql
            result.append(Check("Database driver", True, f"PyMySQL {pymysql.__version__}"))
        except ImportError:
            result.append(Check("Database driver", False, "PyMySQL is missing: re-extract the archive "
                                "(it travels in installation/vendor) or pip install pymysql"))
        free = shutil.disk_usage(b.site_root).free
        dump = sum(p.stat().st_size for p in b.sql_dir.glob("*") if p.is_file()) if b.sql_dir.is_dir() else 0
        result.append(Check("Free disk space", free > MIN_FREE_BYTES,
                            f"{human_size(free)} free here; the database dump is {human_size(dump)}"))
        result.append(Check("Databases in the backup", bool(b.databases),
                            ", ".join(f"{n} ({len(e.get('tables') or [])} tables)" for n, e in b.databases.items())
                            or "none: this backup holds no database dump", blocking=False))
        return result

    def blocking_failures(self) -> list[Check]:
        return [c for c in self.checks() if c.blocking and not c.ok]

    # --- database ------------------------------------------------------------------
    def database_defaults(self, name: str) -> dict:
        """Pre-filled values for the database form: the saved answers, else the backup's."""
        saved = self.state.databases.get(name)
        if saved is not None and saved.answers:
            return dict(saved.answers)
        entry = self.bundle.databases[name]
        host = str(entry.get("dbhost") or "localhost")
        port = 3306
        if ":" in host and host.rsplit(":", 1)[1].isdigit():
            host, port = host.rsplit(":", 1)[0], int(host.rsplit(":", 1)[1])
        return {"host": host, "port": int(entry.get("dbport") or port), "user": entry.get("dbuser") or "",
                "database": entry.get("dbname") or "", "prefix": entry.get("prefix") or "",
                "existing": "drop", "socket": None}

    def import_status(self, name: str) -> DatabaseProgress:
        """The saved progress of dump ``name`` (an empty one before its settings are given)."""
        return self.state.databases.get(name) or DatabaseProgress()

    def set_database(self, name: str, answers: DbAnswers) -> None:
        """Checks the connection (creating the database if missing) and remembers the answers.

        If the saved import for this dump went to another database or prefix, it starts over.
        """
        if name not in self.bundle.databases:
            raise SitepackError(f"the backup has no database dump named {name}")
        if name == SITE_DUMP and self.bundle.platform == "wordpress" and answers.prefix != self._old_prefix():
            reason = self._wordpress_multisite_reason()
            if reason:
                from restorer.platforms.wordpress_keys import multisite_refusal
                raise multisite_refusal(reason, self._old_prefix())
        create_database_if_missing(answers)
        answers.conn_info().connect().close()
        saved = self.state.databases.get(name)
        if saved is not None and saved.answers and _same_target(saved.answers, answers.public()):
            saved.answers = answers.public()
        else:
            self.state.databases[name] = DatabaseProgress(answers.public())
            self._importers.pop(name, None)
        self.db_answers[name] = answers
        self.save()

    def import_step(self, name: str, budget_seconds: float) -> StepProgress:
        """Imports for about ``budget_seconds``, saves the progress, reports it."""
        from restorer.dbimport.importer import Importer

        record = self.state.databases.get(name)
        answers = self.db_answers.get(name)
        if record is None or answers is None:
            raise SitepackError(f"give the database settings for {name} first (the password is "
                                f"never saved, so it is asked again after a restart)")
        if record.done:
            return StepProgress(True, 1.0, detail="already imported")
        importer = self._importers.get(name)
        if importer is None:
            if record.importer:
                importer = Importer.resume(record.importer, answers.conn_info())
            else:
                importer = Importer(answers.conn_info(), self.bundle.sql_dir, self.bundle.databases[name],
                                    new_prefix=answers.prefix, existing=answers.existing)
            self._importers[name] = importer
        done = importer.run(budget_seconds)
        progress = _import_progress(importer, done)
        record.importer = importer.state()
        record.done = bool(done)
        record.fraction = progress.fraction
        self.save()
        return progress

    # --- site setup ----------------------------------------------------------------
    def site_defaults(self) -> dict:
        """The site setup form pre-filled from the restored configuration."""
        b = self.bundle
        if b.platform == "joomla":
            from restorer.config.joomla import read_joomla_config
            config = read_joomla_config(b.config_path)
            conf = config.values
            old_root = b.original_root()
            return {
                "problems": list(config.problems),
                "site_name": conf.get("sitename", ""), "mail_from": conf.get("mailfrom", ""),
                "from_name": conf.get("fromname", ""), "live_site": conf.get("live_site", ""),
                "old_live_site": conf.get("live_site") or str(b.extrainfo.get("site_url") or ""),
                "cookie_domain": conf.get("cookie_domain", ""), "cookie_path": conf.get("cookie_path", ""),
                "tmp_path": _under(str(conf.get("tmp_path", "")), old_root, b.site_root, b.site_root / "tmp"),
                "log_path": _under(str(conf.get("log_path", "")), old_root, b.site_root,
                                   b.site_root / "administrator" / "logs"),
                "force_ssl": int(conf.get("force_ssl") or 0), "htaccess": "keep",
            }
        if b.platform == "wordpress":
            return {"live_site": self._wordpress_old_url() or "", "old_live_site": self._wordpress_old_url() or "",
                    "htaccess": "keep"}
        return {"live_site": "", "old_live_site": "", "htaccess": "keep"}

    def super_users(self) -> list[dict]:
        """Joomla's super users in the restored database (the setup page's choice); none elsewhere."""
        if self.bundle.platform != "joomla":
            return []
        from restorer.platforms.joomla_users import super_users
        if SITE_DUMP not in self.db_answers:
            raise SitepackError("the wizard restarted and needs the database password again: "
                                "open the Database step and enter it")
        db = self._site_db()
        conn = db.conn_info().connect()
        try:
            return super_users(conn, db.prefix)
        finally:
            conn.close()

    def _site_db(self) -> DbAnswers:
        answers = self.db_answers.get(SITE_DUMP)
        if answers is None:
            raise SitepackError("give the site database's settings first (database step)")
        return answers

    def _old_prefix(self) -> str:
        return str(self.bundle.databases[SITE_DUMP].get("prefix") or "")

    def _wordpress_multisite_reason(self) -> str | None:
        from restorer.config.wordpress import read_wp_config
        from restorer.platforms.wordpress_keys import multisite_reason
        values = read_wp_config(self.bundle.config_path).values
        return multisite_reason(values, list(self.bundle.databases[SITE_DUMP].get("tables") or []),
                                self._old_prefix())

    def _wordpress_old_url(self) -> str | None:
        answers = self.db_answers.get(SITE_DUMP)
        if answers is None or not self.import_status(SITE_DUMP).done:
            return None
        try:
            conn = answers.conn_info().connect()
        except DatabaseError:
            return None
        try:
            with conn.cursor() as cur:
                cur.execute(f"SELECT option_value FROM {quote_ident(answers.prefix + 'options')} WHERE option_name = 'siteurl'")
                row = cur.fetchone()
                return row[0] if row else None
        except pymysql.err.MySQLError:  # no options table: not a WordPress database after all
            return None
        finally:
            conn.close()

    def apply_setup(self, site: dict, super_user: dict | None) -> SetupResult:
        """Rewrites the site's configuration and, for Joomla, changes the super user."""
        b = self.bundle
        htaccess = site.get("htaccess", "keep")
        if htaccess not in HTACCESS_MODES:
            raise SitepackError(f"htaccess handling {htaccess!r} is not one of {', '.join(HTACCESS_MODES)}")
        # The first setup's old URL stands, saved before the configuration changes: a rerun reads the new one back.
        old_url = (self.state.setup.old_live_site if self.state.setup else "") or site.get("old_live_site") or ""
        self.state.setup = SetupRecord(site.get("live_site") or "", old_url, htaccess)
        self.save()
        if b.platform == "joomla":
            result = self._setup_joomla(site, super_user or {})
        elif b.platform == "wordpress":
            result = self._setup_wordpress(site)
        else:
            result = SetupResult(None, False, None, ["generic site: no configuration file to rewrite"])
        self.state.setup.config_written = result.written
        self.save()
        return result

    def _setup_joomla(self, site: dict, super_user: dict) -> SetupResult:
        from restorer.config.joomla import new_secret, rewrite_joomla_config
        from restorer.config.phpfile import read_php_file
        db = self._site_db()
        path = self.bundle.config_path
        host = db.host if db.port == 3306 else f"{db.host}:{db.port}"
        if db.socket:
            host = f"{db.host}:{db.socket}"
        changes = {"host": host, "user": db.user, "password": db.password, "db": db.database,
                   "dbprefix": db.prefix, "secret": new_secret()}
        for key, field_name in (("sitename", "site_name"), ("mailfrom", "mail_from"), ("fromname", "from_name"),
                                ("live_site", "live_site"), ("cookie_domain", "cookie_domain"),
                                ("cookie_path", "cookie_path"), ("tmp_path", "tmp_path"), ("log_path", "log_path")):
            if site.get(field_name) is not None:
                changes[key] = str(site[field_name])
        if site.get("force_ssl") is not None:
            force_ssl = int(site["force_ssl"])
            if force_ssl not in (0, 1, 2):
                raise SitepackError("force_ssl must be 0 (off), 1 (administrator) or 2 (whole site)")
            changes["force_ssl"] = force_ssl
        text = rewrite_joomla_config(read_php_file(path), changes)
        notes = []
        if super_user.get("email") or super_user.get("password"):
            from restorer.platforms.joomla_users import update_super_user
            with _site_connection(db, f"changing the super user in {db.prefix}users") as conn:
                user = update_super_user(conn, db.prefix, user_id=super_user.get("id"),
                                         email=super_user.get("email"), password=super_user.get("password"))
            notes.append(f"super user {user['username']!r} updated")
        return _write_config(path, text, notes)

    def _setup_wordpress(self, site: dict) -> SetupResult:
        from restorer.config.phpfile import read_php_file
        from restorer.config.wordpress import parse_wp_config, rewrite_wp_config
        db = self._site_db()
        path = self.bundle.config_path
        host = db.host if db.port == 3306 else f"{db.host}:{db.port}"
        if db.socket:
            host = f"{db.host}:{db.socket}"
        changes = {"DB_NAME": db.database, "DB_USER": db.user, "DB_PASSWORD": db.password,
                   "DB_HOST": host, "table_prefix": db.prefix}
        original = read_php_file(path)
        live_site = (site.get("live_site") or "").rstrip("/")
        if live_site:
            # A wp-config.php that pins the URL wins over the database: move it too.
            defined = parse_wp_config(original, path=path).values
            changes.update({name: live_site for name in ("WP_HOME", "WP_SITEURL") if name in defined})
        text = rewrite_wp_config(original, changes, refresh_salts=True)
        notes = []
        if live_site:
            with _site_connection(db, f"setting siteurl and home in {db.prefix}options") as conn, \
                    conn.cursor() as cur:
                cur.execute(f"UPDATE {quote_ident(db.prefix + 'options')} SET option_value = %s "
                            f"WHERE option_name IN ('siteurl', 'home')", (live_site,))
            notes.append(f"siteurl and home set to {live_site}")
        notes += self._rename_prefixed_keys(db)
        return _write_config(path, text, notes)

    def _rename_prefixed_keys(self, db: DbAnswers) -> list[str]:
        """The prefix-bound WordPress keys renamed once per import (see ``wordpress_keys``)."""
        from restorer.platforms.wordpress_keys import rename_prefixed_keys
        record = self.state.databases[SITE_DUMP]
        old = self._old_prefix()
        if not old or record.keys_renamed_to == db.prefix:
            return []
        with _site_connection(db, f"renaming the {old} keys in {db.prefix}options and {db.prefix}usermeta") as conn:
            counts = rename_prefixed_keys(conn, old, db.prefix)
        record.keys_renamed_to = db.prefix
        self.save()
        if not counts:
            return []
        return [f"prefix-bound keys renamed from {old} to {db.prefix}: {counts['options']} option(s), "
                f"{counts['usermeta']} user meta key(s)"]

    # --- replace data --------------------------------------------------------------
    def replace_plan(self) -> tuple[list[tuple[str, str]], list[str], list[str]]:
        """(rows, warnings, tables) pre-filled from the old and new URL and path.

        Rows are what the user reads and edits (old URL → new URL, old path → new path);
        ``expand_rows`` turns them into every spelling the database may hold.
        """
        from restorer.replace.tables import tables_for
        db = self._site_db()
        setup = self.state.setup or SetupRecord()
        old_url = (setup.old_live_site or str(self.bundle.extrainfo.get("site_url") or "")).rstrip("/")
        new_url = setup.live_site.rstrip("/")
        old_root = (self.bundle.original_root() or "").rstrip("/")
        new_root = str(self.bundle.site_root)
        rows = [(o, n) for o, n in ((old_url, new_url), (old_root, new_root)) if o and n and o != n]
        _, warnings = expand_rows(rows)
        conn = db.conn_info().connect()
        try:
            tables = list(tables_for(self.bundle.platform, db.prefix, conn))
        finally:
            conn.close()
        return rows, warnings, tables

    def all_tables(self) -> list[str]:
        """Every table with the site's prefix (the replace step's widest choice)."""
        from restorer.replace.tables import tables_for
        db = self._site_db()
        conn = db.conn_info().connect()
        try:
            return list(tables_for(self.bundle.platform, db.prefix, conn, everything=True))
        finally:
            conn.close()

    def replace_step(self, pairs: list[tuple[str, str]], tables: list[str], *, dry_run: bool,
                     budget_seconds: float) -> StepProgress:
        from restorer.replace.tables import Replacer
        db = self._site_db()
        if self._replacer is None:
            saved = self.state.replace
            key = {"pairs": [list(p) for p in pairs], "tables": list(tables), "dry_run": dry_run}
            if saved and saved.key == key and saved.replacer:
                self._replacer = Replacer.resume(saved.replacer, db.conn_info())
            else:
                literal, _ = expand_rows([tuple(p) for p in pairs])
                if not literal:
                    raise SitepackError("none of the replacement rows is usable (see the warnings): "
                                        "correct them or skip this step")
                self._replacer = Replacer(db.conn_info(), literal, list(tables), dry_run=dry_run)
            self.state.replace = ReplaceProgress(key)
        done = self._replacer.run(budget_seconds)
        self.state.replace.replacer = self._replacer.state()
        self.state.replace.done = bool(done)
        self.state.replace.counts = {r.table: r.values_changed for r in self._replacer.report()}
        self.save()
        progress = _replace_progress(self._replacer, done)
        if done:
            self._replacer = None
        return progress

    # --- finish --------------------------------------------------------------------
    def finish(self, htaccess: str | None = None, *, keep_archive: bool = False) -> FinishResult:
        from .finish import finish_restore
        # Closed on disk before anything is removed: from here on no request of a wizard
        # (this one or another left running) may write to the site.
        self.state.finished = True
        self.save()
        setup = self.state.setup or SetupRecord()
        try:
            return finish_restore(self.bundle, htaccess or setup.htaccess, setup.live_site or None,
                                  kickstart=self.state.kickstart, keep_archive=keep_archive)
        except SitepackError:
            # Refused before it changed anything (a choice it cannot carry out): still open.
            self.state.finished = False
            self.save()
            raise


def restore_open(bundle: Bundle) -> bool:
    """Whether the restore may still change the site, read from disk on every call: its
    installation folder and its private folder are there and finishing has not begun (in
    this process or another)."""
    if not (bundle.installation.is_dir() and bundle.private.is_dir()):
        return False
    try:
        state = json.loads(bundle.state_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return True
    except (OSError, ValueError):
        return False  # an unreadable state cannot prove the restore is still open
    return not (isinstance(state, dict) and state.get("finished"))


def _same_target(a: dict, b: dict) -> bool:
    keys = ("host", "port", "database", "prefix", "socket")
    return all(str(a.get(k)) == str(b.get(k)) for k in keys)


def create_database_if_missing(answers: DbAnswers) -> None:
    """Creates the target database when the user may; a clear error when not."""
    conn = answers.conn_info(with_database=False).connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (answers.database,))
            if cur.fetchone():
                return
            try:
                cur.execute(f"CREATE DATABASE {quote_ident(answers.database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            except pymysql.err.MySQLError as exc:
                raise DatabaseError(
                    f"the database {answers.database!r} does not exist and user {answers.user!r} may not "
                    f"create it ({exc.args[-1] if exc.args else exc}): create it in your hosting panel first") from None
    finally:
        conn.close()


def _import_progress(importer, done: bool) -> StepProgress:
    progress = importer.progress
    fraction = 1.0 if done else min(0.999, progress.percent / 100.0)
    detail = importer.verification if done and importer.verification else f"{progress.statements} statements"
    return StepProgress(bool(done), fraction, progress.file, detail, list(importer.warnings))


def _replace_progress(replacer, done: bool) -> StepProgress:
    reports = replacer.report()
    state = replacer.state()
    tables = state["tables"] or []
    fraction = 1.0 if done else (state["index"] / len(tables) if tables else 0.0)
    item = reports[-1].table if reports else ""
    changed = sum(r.values_changed for r in reports)
    verb = "would change" if replacer.dry_run else "changed"
    return StepProgress(bool(done), fraction, item, f"{changed} values {verb}", list(replacer.warnings))


# --- headless ----------------------------------------------------------------------

STEP_SECONDS = 5.0


def moved_note(bundle: Bundle) -> str | None:
    """What the restorer moved out of the web root before starting, for the console."""
    if not bundle.moved:
        return None
    return (f"moved {', '.join(map(shown_name, bundle.moved))} from {bundle.installation} (where the web server could "
            f"serve it) into the private folder {bundle.private}")


def run_headless(site_root: Path, answers: dict, report: Callable[[str], None],
                 private_dir: Path | None = None) -> int:
    """Does every step with ``answers``; returns 0 ok, 2 done with warnings (1 = raises)."""
    if not isinstance(answers, dict):
        raise SitepackError("the answers file must hold a JSON object (see README: Restoring a site)")
    finish_answers = answers.get("finish") or {}
    if not isinstance(finish_answers, dict):
        raise SitepackError("answers.finish must be an object like {\"remove_installation\": true, "
                            "\"keep_archive\": false}")
    session = RestoreSession(site_root, private_dir)
    with restore_lock(session.bundle.site_root, session.bundle.private):
        return _run_headless(session, answers, finish_answers, report)


def _run_headless(session: RestoreSession, answers: dict, finish_answers: dict,
                  report: Callable[[str], None]) -> int:
    bundle = session.bundle
    note = moved_note(bundle)
    if note:
        report(note)
    warnings: list[str] = []
    if session.password_check is not None:
        given = secret(answers, "installer_password", "answers")
        if not given:
            raise SitepackError("this backup has an installer password: put it in the answers as "
                                "installer_password_env (an environment variable name) or installer_password")
        if not session.password_check.verify(given):
            raise SitepackError("the installer password in the answers is wrong")
    failed = session.blocking_failures()
    if failed:
        raise SitepackError("pre-restore check failed: " + "; ".join(f"{c.name}: {c.detail}" for c in failed))
    origin = "an Akeeba Backup" if bundle.made_by == "akeeba" else "a sitepack"
    report(f"restoring {bundle.platform} site from {origin} backup into {bundle.site_root}")
    extra = answers.get("databases") or {}
    for name in bundle.databases:
        if name == SITE_DUMP:
            section, where = answers.get("db"), "answers.db"
        else:
            section, where = extra.get(name), f"answers.databases[{name!r}]"
        if section is None:
            raise SitepackError(f"the backup holds database dump {name}: give its settings in {where}")
        session.set_database(name, DbAnswers.parse(section, where))
        while True:
            progress = session.import_step(name, STEP_SECONDS)
            report(f"database {name}: {progress.fraction * 100:5.1f}% {progress.item} {progress.detail}".rstrip())
            if progress.done:
                warnings += progress.warnings
                break
    if bundle.platform != "generic":
        site = dict(session.site_defaults())
        for problem in site.pop("problems", []):
            report(f"WARNING: {problem}")
            warnings.append(problem)
        site.update(answers.get("site") or {})
        super_user = dict(answers.get("super_user") or {})
        if super_user:
            super_user["password"] = secret(super_user, "password", "answers.super_user")
        result = session.apply_setup(site, super_user)
        for note in result.notes:
            report(f"site setup: {note}")
        if not result.written:
            raise SitepackError(f"could not write {result.config_path}; fix its permissions and run again")
        report(f"site setup: {result.config_path.name} rewritten")
    replace = answers.get("replace") or {}
    if bundle.platform != "generic" and replace.get("enabled", True) and SITE_DUMP in bundle.databases:
        pairs, plan_warnings, tables = session.replace_plan()
        warnings += plan_warnings
        for text in plan_warnings:
            report(f"WARNING: {text}")
        if replace.get("pairs") is not None:
            pairs = [(p["from"], p["to"]) if isinstance(p, dict) else tuple(p) for p in replace["pairs"]]
        if replace.get("tables") == "all":
            tables = session.all_tables()
        elif replace.get("tables") is not None:
            tables = list(replace["tables"])
        if pairs:
            while True:
                progress = session.replace_step(pairs, tables, dry_run=bool(replace.get("dry_run")),
                                                budget_seconds=STEP_SECONDS)
                report(f"replace data: {progress.fraction * 100:5.1f}% {progress.item} {progress.detail}".rstrip())
                if progress.done:
                    warnings += progress.warnings
                    break
        else:
            report("replace data: nothing to replace (same URL and path)")
    if finish_answers.get("remove_installation", True):
        result = session.finish((answers.get("site") or {}).get("htaccess"),
                                keep_archive=bool(finish_answers.get("keep_archive")))
        report(f"finished: removed {', '.join(map(shown_name, result.removed))}"
               + (f"; put back {', '.join(result.restored)}" if result.restored else ""))
        if result.site_url:
            report(f"the site is at {result.site_url}")
    for text in warnings:
        report(f"WARNING: {text}")
    return 2 if warnings else 0


@contextlib.contextmanager
def _site_connection(db, action: str):
    """A connection to the restored site's database; a failure names ``action`` and the likely cause."""
    conn = db.conn_info().connect()
    try:
        yield conn
    except pymysql.err.MySQLError as exc:
        raise DatabaseError(f"{action} failed: {exc.args[-1]}; "
                            f"check that the database step finished with this prefix") from None
    finally:
        conn.close()


def _write_config(path: Path, text: str, notes: list[str]) -> SetupResult:
    """Writes the rewritten configuration; when it cannot, the result carries the text to copy."""
    from restorer.config.phpfile import write_config_atomically
    try:
        write_config_atomically(path, text)
    except ConfigError as exc:
        notes.append(str(exc))
        return SetupResult(path, False, text, notes)
    return SetupResult(path, True, None, notes)
