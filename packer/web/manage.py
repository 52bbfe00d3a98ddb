"""Manage Backups: the records, part downloads, delete files, delete, freeze, the log viewer,
and a backup's off-site copy (where it is; upload what is not stored yet, fetch it back).

Downloads name a record and a part index, never a file name: the path comes from the
record (``Record.part_paths()`` refuses anything but a plain name in its output folder).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for

from packer import logs, records
from packer.drill import record as drill_record
from packer.engine import delete_backup, what_was_deleted
from packer.storage import offsite
from restorer.errors import SitepackError

from .state import web_state

blueprint = Blueprint("manage", __name__, url_prefix="/manage")


def record_or_404(backup_id: int) -> records.Record:
    try:
        return records.get(backup_id)
    except SitepackError as exc:
        abort(404, description=str(exc))


@blueprint.get("/")
def index():
    rows = records.list_records()
    return render_template("backup/manage.html", records=rows,
                           drills={r.id: drill_record.latest(r.id) for r in rows},
                           drill_failed=drill_record.failed)


@blueprint.get("/<int:backup_id>/part/<int:number>")
def part(backup_id: int, number: int):
    """Part ``number`` (1-based, in the order of the record) streamed with Content-Length."""
    record = record_or_404(backup_id)
    if record.status != "ok":
        abort(404, description=f"backup #{backup_id} has no files to download (status {record.status})")
    paths = record.part_paths()
    if not 1 <= number <= len(paths):
        abort(404, description=f"backup #{backup_id} has {len(paths)} part(s); there is no part {number}")
    path = paths[number - 1]
    if not path.is_file():
        abort(404, description=f"part {number} of backup #{backup_id} ({path.name}) is missing "
                               f"from {path.parent}; it was moved or deleted outside sitepack")
    return send_file(path, as_attachment=True, download_name=path.name,
                     mimetype="application/octet-stream", conditional=False, etag=False,
                     max_age=0)


@blueprint.get("/<int:backup_id>/log")
def log(backup_id: int):
    record = record_or_404(backup_id)
    text = logs.read_log(record.log_path) if record.log_path else ""
    return render_template("backup/log.html", record=record, log_text=text)


def _act(backup_id: int, action, done):
    """Runs ``action(backup_id)``; flashes ``done`` (or ``done(result)``) or the error."""
    try:
        result = action(backup_id)
    except SitepackError as exc:
        flash(str(exc), "error")
    else:
        flash(done(result) if callable(done) else done, "ok")
    return redirect(url_for("manage.index"))


@blueprint.post("/<int:backup_id>/delete-files")
def delete_files(backup_id: int):
    return _act(backup_id, records.delete_files,
                f"The archive files of backup #{backup_id} were deleted; the record is kept as obsolete.")


@blueprint.post("/<int:backup_id>/delete")
def delete(backup_id: int):
    state = web_state()
    with state.backup_lock(backup_id):
        # A running backup this server holds open lets go of its files first.
        state.jobs.pop(backup_id, None)
        return _act(backup_id, delete_backup,
                    lambda off_site: f"Backup #{backup_id} was deleted ({what_was_deleted(off_site)}).")


@blueprint.post("/<int:backup_id>/freeze")
def freeze(backup_id: int):
    return _act(backup_id, records.freeze,
                f"Backup #{backup_id} is frozen: it cannot be deleted until you unfreeze it.")


@blueprint.post("/<int:backup_id>/unfreeze")
def unfreeze(backup_id: int):
    return _act(backup_id, records.unfreeze, f"Backup #{backup_id} is no longer frozen.")


@blueprint.post("/<int:backup_id>/upload")
def upload(backup_id: int):
    with web_state().backup_lock(backup_id):
        return _act(backup_id, offsite.upload_backup,
                    f"Every part of backup #{backup_id} is stored off-site, SHA-256 verified.")


@blueprint.post("/<int:backup_id>/fetch")
def fetch(backup_id: int):
    with web_state().backup_lock(backup_id):
        return _act(backup_id, offsite.fetch_backup,
                    f"Backup #{backup_id} was fetched back into its output folder, every part "
                    f"SHA-256 verified.")
