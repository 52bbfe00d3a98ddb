"""``sitepack kickstart -o kickstart.pyz``: the single-file extractor + wizard to upload."""

from __future__ import annotations

from pathlib import Path

import click

from packer.bundle_runtime import build_kickstart
from restorer.progress import human_size


@click.command("kickstart")
@click.option("-o", "--output", default="kickstart.pyz", show_default=True,
              type=click.Path(dir_okay=False, path_type=Path), help="Where to write the kickstart.")
def command(output: Path) -> None:
    """Write kickstart.pyz: upload it beside an archive and run `python3 kickstart.pyz`."""
    path = build_kickstart(output)
    click.echo(f"wrote {path} ({human_size(path.stat().st_size)}); on the server run: python3 {path.name}")
