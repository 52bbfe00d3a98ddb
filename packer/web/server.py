"""Serves the backup web UI in-process (werkzeug, threaded), 127.0.0.1 by default.

A one-time token is made at each start, with or without a login password (the owner's
way in that the login throttle never blocks); the printed URL carries it in the fragment (``/login#token=…``), which browsers never send to a server,
so the token shows up in no request line, proxy or server log. The login page's script
posts it once and removes it from the address bar.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from restorer.errors import SitepackError
from restorer.web import tls
from restorer.web.guard import OneTimeToken

from . import create_app
from .login import LoginPassword

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def check_bind(host: str, password: LoginPassword) -> None:
    """Refuses an address beyond loopback (the one rule, ``restorer.web.tls.is_loopback_only``)
    unless a login password is configured."""
    if not tls.is_loopback_only(host) and not password.is_set():
        raise SitepackError(
            f"refusing to listen on {host} without a login password: anyone who can reach "
            f"that address would only need the token to take over your backups; set a "
            f"password with --password-env VAR or --password-file FILE, or listen on 127.0.0.1")


class _RequestLog(WSGIRequestHandler):
    """One line per request, method and path only (no query string, no client data)."""

    def log_request(self, code="-", size="-") -> None:
        path = urlsplit(self.path).path
        self.server.log_stream.write(f"{self.command} {path} {code}\n")
        self.server.log_stream.flush()

    def log(self, type: str, message: str, *args) -> None:
        if type == "error":
            self.server.log_stream.write(f"error: {message % args}\n")
            self.server.log_stream.flush()


class WebServer:
    """The backup UI on ``host:port`` (port 0: any free port)."""

    def __init__(self, site_root: Path, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 password: LoginPassword | None = None, log_stream: TextIO = sys.stderr,
                 cert: Path | None = None, key: Path | None = None, insecure_http: bool = False):
        site_root = Path(site_root)
        if not site_root.is_dir():
            raise SitepackError(f"the site folder {site_root} does not exist: "
                                f"give the site's root folder with --site")
        self.password = password if password is not None else LoginPassword()
        check_bind(host, self.password)
        self.token = OneTimeToken()
        app = create_app(site_root, password=self.password, token=self.token)
        # Beyond 127.0.0.1 the login password would cross the network: HTTPS, as the wizard.
        context, self.fingerprint = tls.listen_context(host, cert=cert, key=key,
                                                       insecure_http=insecure_http)
        try:
            self._server: BaseWSGIServer = make_server(host, port, app, threaded=True,
                                                       request_handler=_RequestLog,
                                                       ssl_context=context)
        except OSError as exc:
            raise SitepackError(f"cannot listen on {host}:{port}: {exc.strerror} "
                                f"(choose another --port)") from None
        self._server.log_stream = log_stream
        self._thread: threading.Thread | None = None
        shown_host = f"[{host}]" if ":" in host else host
        self.url = f"{'https' if context else 'http'}://{shown_host}:{self._server.server_port}/"

    def login_url(self) -> str:
        """The URL to open first, carrying the one-time token.

        The plain token leaves the server's memory here: it can be shown only once.
        """
        return f"{self.url}login#token={self.token.forget()}"

    def serve_forever(self) -> None:
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def start_in_thread(self) -> "WebServer":
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="sitepack-web")
        self._thread.start()
        return self

    def shutdown(self) -> None:
        """Stops the thread started by ``start_in_thread`` (if any) and closes the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()
