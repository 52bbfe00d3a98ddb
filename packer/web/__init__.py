"""The backup web UI (Flask): control panel, Backup Now, progress, Manage Backups, profiles.

``create_app(site_root)`` builds the application; ``packer.web.server`` serves it.
The pages only drive the library (``packer.engine``, ``packer.records``,
``packer.profiles``); no backup logic lives here.

Blueprints: ``auth`` (login, logout, login password), ``panel`` (/), ``backup``
(/backup/new, /backup/<id>, /backup/<id>/step, /done, /failed), ``manage`` (/manage/...),
``profiles`` (/profiles/...). ``guard`` checks every request (login, CSRF, headers).

Access: a login password (scrypt hash in the data dir) or a one-time token; a signed
session cookie (HttpOnly, SameSite=Strict, Secure over https) whose id this server must
know, so logging out revokes it; a CSRF token on every non-GET request (form field or
``X-CSRF-Token`` header); a Content-Security-Policy that allows only this server's
scripts, so templates carry no inline script (page data travels as a JSON block).

Step protocol: ``POST /backup/<id>/step`` with ``{"known_warnings": N}`` runs one
``BackupJob.step()`` and answers ``StepReport.to_dict()`` plus ``warnings_since`` (every
warning after the first N), so a page that missed an answer still shows them all.
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

from flask import Flask, render_template

from restorer.errors import SitepackError
from restorer.paths import templates_dir
from restorer.progress import human_size
from restorer.web.guard import OneTimeToken

from . import guard
from .login import LoginPassword
from .state import WebState

STATIC_DIR = "backup/static"


def create_app(site_root: Path, *, password: LoginPassword | None = None,
               token: OneTimeToken | None = None, secret_key: bytes | None = None) -> Flask:
    """The web UI for the site at ``site_root``.

    ``password``: the stored login password (``LoginPassword()`` reads the data dir).
    ``token``: a one-time login token, or ``None`` for password logins only. At least
    one way to log in must exist.
    """
    password = password if password is not None else LoginPassword()
    if token is None and not password.is_set():
        raise SitepackError("the web UI needs a way to log in: set a login password "
                            "(sitepack serve --password-env VAR) or use a one-time token")
    templates = templates_dir()
    app = Flask(__name__, template_folder=str(templates),
                static_folder=str(templates / STATIC_DIR), static_url_path="/static")
    app.secret_key = secret_key or secrets.token_bytes(32)
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(hours=12)
    app.extensions["sitepack"] = WebState(site_root=Path(site_root).resolve(),
                                          password=password, token=token)
    guard.install(app)

    from . import auth, backup, manage, panel, profile_pages

    for module in (auth, panel, backup, manage, profile_pages):
        app.register_blueprint(module.blueprint)
    app.jinja_env.filters["size"] = size_or_dash
    app.jinja_env.filters["duration"] = human_duration
    app.jinja_env.filters["when"] = local_time
    app.context_processor(lambda: {"site_root": app.extensions["sitepack"].site_root})
    _install_error_pages(app)
    return app


def _install_error_pages(app: Flask) -> None:
    def page(error):
        return render_template("backup/error.html", code=error.code, title=error.name,
                               message=error.description), error.code

    for code in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, page)

    @app.errorhandler(SitepackError)
    def sitepack_error(error):
        return render_template("backup/error.html", code=400, title="Cannot do that",
                               message=str(error)), 400


def size_or_dash(value) -> str:
    """A size as the CLI writes it (``restorer.progress.human_size``); "–" when unknown."""
    return "–" if value is None else human_size(value)


def human_duration(seconds) -> str:
    if seconds is None:
        return "–"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {rest:02d} s"


def local_time(value) -> str:
    """A timestamp (epoch seconds, ISO text or datetime) in the server's local zone."""
    if value is None or value == "":
        return "–"
    if isinstance(value, (int, float)):
        moment = dt.datetime.fromtimestamp(value).astimezone()
    else:
        moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
        # Records store UTC without a zone.
        moment = (moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
