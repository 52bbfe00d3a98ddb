"""The restore wizard: a small Flask application served from the extracted bundle.

``create_app(site_root)`` builds it (application factory + blueprints: ``auth`` for the
installer password gate, CSRF and the closed-after-finish check, ``pages`` for the steps,
``api`` for the step-by-step JSON calls the progress bars make; session cookie and
security headers from ``restorer.web.guard``). ``serve()`` runs it on 127.0.0.1; it
listens on another address only when the backup carries an installer password, and
there over HTTPS (``restorer.web.tls``) unless told ``insecure_http``.
"""

from __future__ import annotations

import secrets
import sys
import threading
from pathlib import Path

from flask import Flask, jsonify, render_template, request

from restorer.extract.textsafe import shown_name
from restorer.restore.answers import WIZARD_DEFAULTS
from restorer.restore.session import RestoreSession, moved_note
from restorer.web import guard as webguard
from restorer.web import tls

from ..errors import SitepackError
from ..paths import templates_dir


def create_app(site_root: Path, *, retry_count: int = WIZARD_DEFAULTS.retries,
               retry_seconds: int = WIZARD_DEFAULTS.retry_seconds,
               step_seconds: float = WIZARD_DEFAULTS.step_seconds, private_dir: Path | None = None) -> Flask:
    app = Flask(__name__, template_folder=str(templates_dir()), static_folder=None)
    # Sessions live as long as this process: a restarted wizard asks for the password again.
    app.secret_key = secrets.token_bytes(32)
    webguard.install(app, "sitepack_wizard")
    app.config.update(RETRY_COUNT=retry_count, RETRY_SECONDS=retry_seconds,
                      STEP_SECONDS=step_seconds)
    app.extensions["restore_session"] = RestoreSession(site_root, private_dir)
    app.jinja_env.filters["shown_name"] = shown_name
    app.extensions["lock"] = threading.Lock()
    app.extensions["throttle"] = webguard.LoginThrottle()
    # The owner's way in that the throttle never blocks; serve() prints it on the terminal.
    app.extensions["login_token"] = webguard.OneTimeToken()

    from . import api, auth, pages
    app.register_blueprint(auth.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)

    @app.errorhandler(SitepackError)
    def user_error(exc: SitepackError):
        if request.path.startswith("/api/"):
            return jsonify(error=str(exc)), 400
        return render_template("wizard/error.html", message=str(exc)), 400

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        # Never a traceback (it could hold a password): the type and a pointer to the console.
        if hasattr(exc, "code") and hasattr(exc, "get_response"):
            return exc
        print(f"wizard error: {type(exc).__name__}: {exc}", file=sys.stderr)
        message = f"Unexpected {type(exc).__name__}; the wizard's console shows details. Reload to retry."
        if request.path.startswith("/api/"):
            return jsonify(error=message), 500
        return render_template("wizard/error.html", message=message), 500

    return app


def serve(site_root: Path, *, host: str = WIZARD_DEFAULTS.host, port: int = WIZARD_DEFAULTS.port,
          announce=print, retry_count: int = WIZARD_DEFAULTS.retries,
          retry_seconds: int = WIZARD_DEFAULTS.retry_seconds, step_seconds: float = WIZARD_DEFAULTS.step_seconds,
          cert: Path | None = None, key: Path | None = None, insecure_http: bool = False,
          private_dir: Path | None = None) -> None:
    """Runs the wizard until it is finished or interrupted; prints its URL first."""
    from werkzeug.serving import make_server

    app = create_app(site_root, retry_count=retry_count, retry_seconds=retry_seconds,
                     step_seconds=step_seconds, private_dir=private_dir)
    session: RestoreSession = app.extensions["restore_session"]
    if not tls.is_loopback_only(host) and session.password_check is None:
        raise SitepackError(
            f"refusing to listen on {host}: this backup has no installer password, so anyone who "
            f"reaches the wizard could take over the site. Use --host 127.0.0.1 (and an SSH tunnel), "
            f"or make the backup again with an installer password")
    context, cert_fingerprint = tls.listen_context(host, cert=cert, key=key, insecure_http=insecure_http)
    try:
        server = make_server(host, port, app, threaded=True, ssl_context=context)
    except OSError as exc:
        raise SitepackError(f"cannot listen on {host}:{port}: {exc.strerror} (choose another --port)") from None
    app.extensions["shutdown"] = lambda: threading.Timer(1.0, server.shutdown).start()
    shown = f"[{host}]" if ":" in host else host
    url = f"{'https' if context else 'http'}://{shown}:{server.server_port}/"
    announce(f"restore wizard for {session.bundle.site_root} at {url}")
    if cert_fingerprint:
        announce(tls.fingerprint_line(cert_fingerprint))
    elif not tls.is_loopback_only(host):
        announce(f"WARNING: plain HTTP on {host} (--insecure-http): passwords cross the network in clear")
    note = moved_note(session.bundle)  # done in create_app, before the server listened
    if note:
        announce(note)
    if session.password_check is None:
        announce("no installer password: listening on 127.0.0.1 only (reach it from this machine "
                 "or through an SSH tunnel)")
    else:
        token = app.extensions["login_token"].forget()
        announce("the wizard asks for the installer password given at backup time; or open this "
                 f"URL, which logs you in once:\n    {url}login#token={token}")
    sys.stdout.flush()
    try:
        server.serve_forever()
    finally:
        server.server_close()
