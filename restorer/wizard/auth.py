"""The installer password gate and CSRF protection for every wizard request.

Wrong passwords are throttled: after three failures each new attempt must wait
(2, 4, 8 … up to 60 seconds). The password itself is only ever compared through
``InstallerPassword.verify`` (slow hash, constant-time compare).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time

from flask import (Blueprint, abort, current_app, redirect, render_template, request, session,
                   url_for)

bp = Blueprint("auth", __name__)

FREE_ATTEMPTS = 3
MAX_WAIT = 60
_OPEN_ENDPOINTS = {"auth.login"}


class Throttle:
    """Counts failed logins for the whole wizard (one site, one password)."""

    def __init__(self):
        self.failures = 0
        self.not_before = 0.0
        self._lock = threading.Lock()

    def wait_left(self) -> int:
        return max(0, int(self.not_before - time.monotonic() + 0.999))

    def failed(self) -> None:
        with self._lock:
            self.failures += 1
            if self.failures >= FREE_ATTEMPTS:
                self.not_before = time.monotonic() + min(MAX_WAIT, 2 ** (self.failures - FREE_ATTEMPTS + 1))

    def succeeded(self) -> None:
        with self._lock:
            self.failures = 0
            self.not_before = 0.0


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


@bp.app_context_processor
def _inject():
    return {"csrf_token": csrf_token}


@bp.before_app_request
def _guard():
    restore = current_app.extensions["restore_session"]
    if request.endpoint is None:
        return None
    if request.method == "POST":
        sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
        if not session.get("csrf") or not hmac.compare_digest(sent, session["csrf"]):
            abort(400, description="The form expired (CSRF check failed): reload the page and try again.")
    if request.endpoint in _OPEN_ENDPOINTS:
        return None
    if restore.password_check is not None and not session.get("authenticated"):
        if request.path.startswith("/api/"):
            return {"error": "Your wizard session ended (the wizard restarted?): reload the page and "
                             "log in again.", "login": True}, 401
        return redirect(url_for("auth.login"))
    return None


@bp.route("/login", methods=["GET", "POST"])
def login():
    restore = current_app.extensions["restore_session"]
    if restore.password_check is None:
        session["authenticated"] = True
        return redirect(url_for("pages.checks"))
    throttle: Throttle = current_app.extensions.setdefault("throttle", Throttle())
    error = None
    if request.method == "POST":
        wait = throttle.wait_left()
        if wait:
            error = f"Too many wrong passwords: wait {wait} seconds before trying again."
        elif restore.password_check.verify(request.form.get("password", "")):
            throttle.succeeded()
            session.clear()
            session["authenticated"] = True
            csrf_token()
            return redirect(url_for("pages.checks"))
        else:
            throttle.failed()
            error = "Wrong installer password."
    status = 403 if error else 200
    return render_template("wizard/login.html", error=error, kind=restore.password_check.kind,
                           step="login"), status
