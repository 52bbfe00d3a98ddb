"""Every request passes here: login required, CSRF token on every change; the session
cookie and the security headers come from ``restorer.web.guard`` (shared with the wizard).

Pages need a logged-in session; the only public endpoints are the login page and the
static files. Every request that changes something (any method but GET/HEAD/OPTIONS)
must carry the session's CSRF token, in the form field ``csrf_token`` or, for the
step endpoint's fetch calls, in the ``X-CSRF-Token`` header.
"""

from __future__ import annotations

import secrets

from flask import Flask, abort, jsonify, redirect, request, session, url_for

from restorer.web import guard as webguard

from .state import web_state

_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_PUBLIC_ENDPOINTS = {"auth.login", "static"}


def logged_in() -> bool:
    sid = session.get("sid")
    return bool(sid) and sid in web_state().sessions


def log_in() -> None:
    """A fresh logged-in session (new id, new CSRF token): nothing from before carries over."""
    session.clear()
    webguard.csrf_token()
    session["sid"] = secrets.token_urlsafe(32)
    session.permanent = True
    web_state().sessions.add(session["sid"])


def log_out() -> None:
    web_state().sessions.discard(session.get("sid"))
    session.clear()


def _wants_json() -> bool:
    return request.is_json or request.headers.get(webguard.CSRF_HEADER) is not None \
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
    refusal = webguard.csrf_refusal()
    return _refuse(refusal) if refusal else None


def install(app: Flask) -> None:
    webguard.install(app, "sitepack_session")
    app.before_request(_check_request)
    app.jinja_env.globals.update(logged_in=logged_in)
