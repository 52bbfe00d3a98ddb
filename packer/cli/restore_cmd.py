"""``sitepack restore DIR --answers FILE``: the whole restore without a browser."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from restorer.launch.cli import load_answers
from restorer.restore.session import run_headless


@click.command("restore")
@click.argument("site_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--answers", "answers_file", required=True, metavar="FILE",
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="JSON file with every wizard answer (README: Restoring a site).")
@click.option("--private-dir", type=click.Path(file_okay=False, path_type=Path),
              help="The restore's private folder, if the extraction was given one (docs/SECURITY.md).")
def command(site_dir: Path, answers_file: Path, private_dir: Path | None) -> None:
    """Restore the site extracted into SITE_DIR using the answers in FILE.

    Progress lines go to stdout; exit code 0 ok, 1 failed, 2 done with warnings.
    """
    code = run_headless(site_dir, load_answers(answers_file), lambda line: click.echo(line),
                        private_dir=private_dir)
    sys.exit(code)
