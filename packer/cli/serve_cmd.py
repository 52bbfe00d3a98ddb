"""``sitepack serve``: the backup web UI for one site."""

from __future__ import annotations

import os
from pathlib import Path

import click

from packer.web.login import LoginPassword
from packer.web.server import DEFAULT_HOST, DEFAULT_PORT, WebServer
from restorer.web import tls

from .common import https_options, resolve_secret, secret_options


@click.command("serve")
@click.option("--site", "site_root", required=True, metavar="ROOT",
              type=click.Path(file_okay=False, path_type=Path),
              help="The site's root folder (where configuration.php lives).")
@click.option("--host", default=DEFAULT_HOST, show_default=True,
              help="Address to listen on; anything but loopback needs a login password.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
@https_options
@secret_options("password", "login password")
def command(site_root: Path, host: str, port: int, password_env: str | None,
            password_file: Path | None, cert: Path | None, key: Path | None,
            insecure_http: bool) -> None:
    """Serve the backup web UI (Backup Now, progress, Manage Backups, profiles).

    Log in with the one-time URL printed at start, or set a login password once with
    --password-env/--password-file (stored as a salted hash for later runs).
    """
    login = LoginPassword()
    new_password = resolve_secret("login password", password_env, password_file, required=False)
    if new_password is not None:
        login.set(new_password)
        click.echo(f"Login password saved (as a salted hash in {login.path}).")
    if password_env:
        # Kept as a hash now: the processes this server starts (a drill after a backup)
        # inherit its environment, and need not carry the password.
        os.environ.pop(password_env, None)
    server = WebServer(site_root, host=host, port=port, password=login, cert=cert, key=key,
                       insecure_http=insecure_http)
    if server.fingerprint:
        click.echo(tls.fingerprint_line(server.fingerprint))
    click.echo("Open this URL to log in (it works once"
               + ("; later, log in with your password):" if login.is_set() else "):"))
    click.echo(f"    {server.login_url()}", nl=True)
    click.echo("Press Ctrl+C to stop.")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("Stopped.")
