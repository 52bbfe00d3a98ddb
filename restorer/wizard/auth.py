"""The installer password gate, CSRF protection, and the closed-after-finish check for
every wizard request.

Password guesses go through the shared ``restorer.web.guard.LoginThrottle`` (per address
and in total, counted before the slow hash); the one-time login URL printed on the
wizard's terminal bypasses it. The password itself is only ever compared through
``InstallerPassword.verify`` (slow hash, constant-time compare).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for

from restorer.restore.session import restore_open
from restorer.web.guard import (CSRF_REFUSED, LoginThrottle, OneTimeToken, csrf_refusal, csrf_token,
                                too_many_attempts)

bp = Blueprint("auth", __name__)

_OPEN_ENDPOINTS = {"auth.login"}
CLOSED = ("This restore is finished (or its installation folder is gone), so the wizard accepts "
          "nothing more and stops. To restore again, extract the archive again.")


def refuse_when_closed() -> None:
    """Aborts (and stops the wizard) once the restore is finished, as read from disk now."""
    if restore_open(current_app.extensions["restore_session"].bundle):
        return
    shutdown = current_app.extensions.get("shutdown")
    if shutdown:
        shutdown()
    abort(410, description=CLOSED)


@bp.before_app_request
def _guard():
    restore = current_app.extensions["restore_session"]
    if request.endpoint is None:
        return None
    refuse_when_closed()
    refusal = csrf_refusal()
    if refusal:
        abort(CSRF_REFUSED, description=refusal)
    if request.endpoint in _OPEN_ENDPOINTS:
        return None
    if restore.password_check is not None and not session.get("authenticated"):
        if request.path.startswith("/api/"):
            return {"error": "Your wizard session ended (the wizard restarted?): reload the page and "
                             "log in again.", "login": True}, 401
        return redirect(url_for("auth.login"))
    return None


def _logged_in():
    session.clear()
    session["authenticated"] = True
    csrf_token()
    return redirect(url_for("pages.checks"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    restore = current_app.extensions["restore_session"]
    if restore.password_check is None:
        session["authenticated"] = True
        return redirect(url_for("pages.checks"))
    throttle: LoginThrottle = current_app.extensions["throttle"]
    token: OneTimeToken | None = current_app.extensions.get("login_token")
    error, status = None, 200
    if request.method == "POST":
        sent_token = request.form.get("token", "").strip()
        if sent_token:
            # The one-time token bypasses the throttle: guessing 256 random bits is hopeless.
            if token is not None and token.consume(sent_token):
                return _logged_in()
            error, status = ("That login URL is wrong or was already used: restart the wizard for "
                             "a new one, or type the installer password."), 403
        else:
            password = request.form.get("password", "")
            checked = throttle.check(request.remote_addr,
                                     lambda: restore.password_check.verify(password))
            if checked is True:
                return _logged_in()
            error, status = ((too_many_attempts(checked), 429) if checked
                             else ("Wrong installer password.", 403))
    return render_template("wizard/login.html", error=error, kind=restore.password_check.kind,
                           step="login"), status
