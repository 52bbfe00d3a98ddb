"""Every request passes here: login required, CSRF token on every change; the session
cookie and the security headers come from ``restorer.web.guard`` (shared with the wizard).

Pages need a logged-in session; the only public endpoints are the login page and the
static files. Every request that changes something (any method but GET/HEAD/OPTIONS)
must carry the session's CSRF token, in the form field ``csrf_token`` or, for the
step endpoint's fetch calls, in the ``X-CSRF-Token`` header.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, abort, jsonify, redirect, request, session, url_for

from restorer.web import guard as webguard

from .state import web_state

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_PUBLIC_ENDPOINTS = {"auth.login", "static"}

def csrf_token() -> str:
    """The session's CSRF token (made on first use)."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def logged_in() -> bool:
    sid = session.get("sid")
    return bool(sid) and sid in web_state().sessions


def log_in() -> None:
    """A fresh logged-in session (new id, new CSRF token): nothing from before carries over."""
    session.clear()
    session["csrf"] = secrets.token_urlsafe(32)
    session["sid"] = secrets.token_urlsafe(32)
    session.permanent = True
    web_state().sessions.add(session["sid"])


def log_out() -> None:
    web_state().sessions.discard(session.get("sid"))
    session.clear()


def _wants_json() -> bool:
    return request.is_json or request.headers.get(CSRF_HEADER) is not None \
        or request.accept_mimetypes.best == "application/json"


def _refuse(message: str):
    if _wants_json():
        response = jsonify(error=message)
        response.status_code = 403
        return response
    abort(403, description=message)


def _check_request():
    if request.endpoint not in _PUBLIC_ENDPOINTS and not logged_in():
        if request.method in _SAFE_METHODS and not _wants_json():
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return _refuse("You are not logged in (or your session expired): log in again.")
    if request.method not in _SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
        expected = session.get("csrf") or ""
        if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            return _refuse("The form's security token is missing or out of date: "
                           "reload the page and try again.")
    return None


def install(app: Flask) -> None:
    webguard.install(app, "sitepack_session")
    app.before_request(_check_request)
    app.jinja_env.globals.update(csrf_token=csrf_token, logged_in=logged_in)
