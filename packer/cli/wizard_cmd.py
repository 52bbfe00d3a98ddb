"""``sitepack wizard DIR``: start the restore wizard for a site extracted into DIR."""

from __future__ import annotations

from pathlib import Path

import click

from restorer.restore.answers import WIZARD_DEFAULTS
from restorer.wizard import serve

from .common import https_options


@click.command("wizard")
@click.argument("site_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--host", default=WIZARD_DEFAULTS.host, show_default=True,
              help="Address to listen on; other than 127.0.0.1 only with an installer password.")
@click.option("--port", default=WIZARD_DEFAULTS.port, show_default=True, type=int,
              help="Port (0 = any free port).")
@click.option("--step-seconds", default=WIZARD_DEFAULTS.step_seconds, show_default=True, type=float,
              help="Seconds of work per request of the progress bars.")
@click.option("--retries", default=WIZARD_DEFAULTS.retries, show_default=True, type=int,
              help="Automatic retries of a failed request.")
@click.option("--retry-seconds", default=WIZARD_DEFAULTS.retry_seconds, show_default=True, type=int,
              help="Seconds before a retry.")
@https_options
@click.option("--private-dir", type=click.Path(file_okay=False, path_type=Path),
              help="The restore's private folder, if the extraction was given one (docs/SECURITY.md).")
def command(site_dir: Path, host: str, port: int, step_seconds: float, retries: int,
            retry_seconds: int, cert: Path | None, key: Path | None, insecure_http: bool,
            private_dir: Path | None) -> None:
    """Restore the site extracted into SITE_DIR with the web wizard (prints its URL)."""
    serve(site_dir, host=host, port=port, announce=lambda line: click.echo(line),
          step_seconds=step_seconds, retry_count=retries, retry_seconds=retry_seconds,
          cert=cert, key=key, insecure_http=insecure_http, private_dir=private_dir)
