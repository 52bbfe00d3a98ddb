"""``sitepack drill``: prove a backup restorable (logic in ``packer/drill/``)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from restorer.errors import SitepackError

from .common import ExitCode, resolve_secret, secret_options


@click.command("drill")
@click.argument("archive", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--backup", "backup_id", type=int, metavar="ID", help="Drill the archive of backup record ID.")
@secret_options("password", "archive password")
@click.option("--db-host", help="A database server for the throwaway database (default: a private "
                                "MariaDB server started for the drill).")
@click.option("--db-port", type=int, default=3306, show_default=True)
@click.option("--db-user", help="A user of --db-host who may CREATE and DROP databases.")
@secret_options("db-password", "password of --db-user")
@click.option("--no-pages", is_flag=True, help="Do not serve the restored site with PHP and check its pages.")
@click.option("--json", "as_json", is_flag=True, help="The report as JSON.")
@click.option("--cleanup", is_flag=True, help="Only remove what killed drills left behind.")
def command(archive, backup_id, password_env, password_file, db_host, db_port, db_user,
            db_password_env, db_password_file, no_pages, as_json, cleanup) -> None:
    """Restore ARCHIVE (any part) or backup ID into a throwaway folder and database and check
    it: files, database rows, pages. Exit 0 restorable, 1 not, 2 restorable but not every
    check could run. Nothing of the live site or its database is touched."""
    from packer.drill.run import DbTarget, cleanup_leftovers, drill

    db = None
    if db_host or db_user:
        if not (db_host and db_user):
            raise SitepackError("give both --db-host and --db-user (and --db-password-env or "
                                "--db-password-file) for the drill's database server")
        db = DbTarget(db_host, db_port, db_user,
                      resolve_secret("database password", db_password_env, db_password_file, required=True))
    if cleanup:
        lines = cleanup_leftovers(db)
        for line in lines or ["nothing left behind by earlier drills"]:
            click.echo(line)
        return
    if (archive is None) == (backup_id is None):
        raise SitepackError("give the archive to drill, or --backup ID (see `sitepack backups list`)")
    password = resolve_secret("archive password", password_env, password_file, required=False)
    say = (lambda line: None) if as_json else (lambda line: click.echo(f"... {line}", err=True))
    if backup_id is not None:
        from packer.drill.record import drill_backup
        report = drill_backup(backup_id, password, say, db=db, check_pages=not no_pages)
    else:
        report = drill(archive, password=password, db=db, check_pages=not no_pages, say=say)
    click.echo(json.dumps(report.to_dict(), indent=1) if as_json else report.text())
    raise SystemExit(ExitCode(report.exit_code))
