"""Log in (password or one-time token) and log out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from restorer.errors import SitepackError
from restorer.web.guard import too_many_attempts

from .guard import log_in, log_out
from .state import web_state

blueprint = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path on this server (never another host) is followed after the login."""
    if not target:
        return url_for("panel.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("panel.index")
    return target


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    state = web_state()
    error = None
    status = 200
    if request.method == "POST":
        token = request.form.get("token", "").strip()
        password = request.form.get("password", "")
        if token:
            # The one-time token bypasses the throttle: guessing 256 random bits is hopeless.
            if state.token is not None and state.token.consume(token):
                return _logged_in()
            error, status = ("That login token is wrong or was already used: restart sitepack "
                             "serve for a new one."), 403
        else:
            checked = state.throttle.check(
                request.remote_addr, lambda: bool(password) and state.password.verify(password))
            if checked is True:
                return _logged_in()
            error, status = ((too_many_attempts(checked), 429) if checked
                             else ("Wrong password.", 403))
    return render_template("backup/login.html", error=error,
                           password_enabled=state.password.is_set(),
                           token_enabled=state.token is not None,
                           next=request.values.get("next", "")), status


def _logged_in():
    target = _safe_next(request.form.get("next"))
    log_in()
    current_app.logger.info("login accepted")
    return redirect(target)


@blueprint.route("/logout", methods=["POST"])
def logout():
    log_out()
    return redirect(url_for("auth.login"))


@blueprint.post("/login-password")
def set_password():
    """Sets the login password (the current one is needed to change it)."""
    state = web_state()
    form = request.form
    new, again = form.get("new_password", ""), form.get("new_password_again", "")
    checked = True
    if state.password.is_set():
        checked = state.throttle.check(
            request.remote_addr, lambda: state.password.verify(form.get("current_password", "")))
    if checked is not True:
        flash(too_many_attempts(checked) if checked else
              "The current login password is wrong: the password was not changed.", "error")
    elif new != again:
        flash("The two new passwords differ: type the same password twice.", "error")
    else:
        try:
            state.password.set(new)
        except SitepackError as exc:
            flash(f"{str(exc)[0].upper()}{str(exc)[1:]}.", "error")
        else:
            flash("Login password saved (as a salted hash). Later runs of sitepack serve accept it "
                  "beside the one-time login URL they print.", "ok")
    return redirect(url_for("panel.index"))
