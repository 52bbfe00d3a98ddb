"""Backup Now: the start form, the progress page and its step endpoint, completion, failure,
and the drill after a backup of a ``drill: true`` profile (started by the step that finishes
the backup, run by ``packer/drill/background.py``, followed by the page through ``/drill``).

The browser drives the backup: the progress page posts to the step endpoint once per
step, the endpoint runs one bounded ``BackupJob.step()`` and answers JSON. The page URL
carries the backup id, so leaving and coming back resumes the same backup.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for

from packer import logs, profiles, records
from packer.drill import background
from packer.drill import record as drill_record
from packer.engine import BackupJob, missing_password
from packer.naming import NamingContext, default_description
from packer.profiles import ENCRYPTED_FORMATS
from restorer.errors import SitepackError

from .manage import record_or_404
from .site_warnings import collect
from .state import web_state

blueprint = Blueprint("backup", __name__, url_prefix="/backup")

# The reason a failed browser request gave up, shown on the error page: kept short.
_MAX_REASON = 300


def _form_page(profile_name: str, *, values: dict, error: str | None = None, status: int = 200):
    try:
        profile = profiles.load(profile_name)
    except SitepackError as exc:
        profile, error = profiles.load(profiles.DEFAULT_PROFILE), str(exc)
        status = 400
    encrypted = profile.format in ENCRYPTED_FORMATS
    return render_template(
        "backup/new.html", profile=profile, profile_names=profiles.list_profiles(),
        warnings=collect(web_state().site_root, profile), encrypted=encrypted,
        # The engine's rule: the key must be typed when the profile has no default one.
        key_required=bool(missing_password(profile.format, profile.archive_password, origin="web")),
        # Only whether a default key exists: the key itself never leaves the server.
        default_key_set=encrypted and bool(profile.archive_password),
        values=values, error=error), status


@blueprint.get("/new")
def new():
    name = request.args.get("profile") or profiles.DEFAULT_PROFILE
    description = default_description(NamingContext.for_now())
    return _form_page(name, values={"description": description, "comment": ""})


@blueprint.post("/new")
def start():
    form = request.form
    name = form.get("profile") or profiles.DEFAULT_PROFILE
    description = form.get("description", "").strip()
    comment = form.get("comment", "")
    values = {"description": description, "comment": comment}
    if not description:
        return _form_page(name, values=values, status=400,
                          error="The description is required: give this backup a short name "
                                "(naming variables such as [DATE] and [TIME] are allowed).")
    try:
        # A key sent for a plain format (a page left open while its profile changed) is
        # refused by the engine's rule, never dropped: the user believes it protects the archive.
        job = BackupJob.start(web_state().site_root, profile=name, description=description,
                              comment=comment, archive_password=form.get("archive_password") or None,
                              installer_password=form.get("installer_password") or None,
                              origin="web")
    except SitepackError as exc:
        return _form_page(name, values=values, error=str(exc), status=400)
    web_state().jobs[job.id] = job
    if job.state.settings.profile.drill and form.get("archive_password"):
        web_state().drill_keys[job.id] = form["archive_password"]
    return redirect(url_for("backup.progress", backup_id=job.id))


def _retry_policy(record: records.Record) -> tuple[float, int]:
    """The retry wait and count of the backup's profile (defaults if it was deleted since)."""
    try:
        profile = profiles.load(record.profile)
    except SitepackError:
        profile = profiles.Profile()
    return profile.retry_wait, profile.retry_count


@blueprint.get("/<int:backup_id>")
def progress(backup_id: int):
    record = record_or_404(backup_id)
    if record.status != "pending":
        target = "backup.done" if record.status in ("ok", "obsolete", "remote") else "backup.failed"
        return redirect(url_for(target, backup_id=backup_id))
    job = BackupJob.load(backup_id)
    retry_wait, retry_count = _retry_policy(record)
    page_data = {
        "stepUrl": url_for("backup.step", backup_id=backup_id),
        "doneUrl": url_for("backup.done", backup_id=backup_id),
        "failedUrl": url_for("backup.failed", backup_id=backup_id),
        "retryWait": retry_wait,
        "retryCount": retry_count,
        "report": job.report().to_dict(),
        "warnings": job.warnings(),
    }
    return render_template("backup/progress.html", record=record, page_data=page_data)


@blueprint.post("/<int:backup_id>/step")
def step(backup_id: int):
    """One engine step; the answer also carries every warning the page has not shown yet."""
    body = request.get_json(silent=True) or {}
    try:
        known = max(0, int(body.get("known_warnings", 0)))
    except (TypeError, ValueError):
        known = 0
    state = web_state()
    with state.backup_lock(backup_id):
        job = state.jobs.pop(backup_id, None)
        try:
            if job is None:
                job = BackupJob.load(backup_id)
        except SitepackError as exc:
            return jsonify(error=str(exc)), 404
        was_finished = job.finished
        report = job.step()
        warnings = job.warnings()
        if not report.finished:
            state.jobs[backup_id] = job
        else:
            drill_key = state.drill_keys.pop(backup_id, None)
            if not was_finished and _drills(job, report):
                _start_drill(backup_id, drill_key)
    answer = report.to_dict()
    answer["warnings_since"] = warnings[known:]
    if _drills(job, report):
        answer["drill_url"] = url_for("backup.drill", backup_id=backup_id)
    return jsonify(answer)


def _drills(job: BackupJob, report) -> bool:
    """Whether a drill follows this backup: complete, and its profile drills every backup."""
    return report.finished and not report.failed and job.state.settings.profile.drill


def _start_drill(backup_id: int, archive_key: str | None) -> None:
    try:
        background.start(backup_id, archive_key)
    except OSError as exc:   # the backup stands; its record says why it was not drilled
        drill_record.store_unrun(backup_id, f"the drill could not start ({exc})")


@blueprint.get("/<int:backup_id>/drill")
def drill(backup_id: int):
    """The drill after the backup, for the progress page's drill phase: ``running`` with its
    ``step``, or its outcome (``summary``, ``failed``); ``summary`` "" before it begins."""
    record_or_404(backup_id)
    result = drill_record.latest(backup_id) or {}
    return jsonify(running=bool(result.get("running")), step=result.get("step", ""),
                   summary=result.get("summary", ""), failed=drill_record.failed(result))


def _warnings_of(backup_id: int) -> list[str]:
    try:
        return BackupJob.load(backup_id).warnings()
    except SitepackError:
        return []


@blueprint.get("/<int:backup_id>/done")
def done(backup_id: int):
    record = record_or_404(backup_id)
    if record.status == "pending":
        return redirect(url_for("backup.progress", backup_id=backup_id))
    if record.status == "failed":
        return redirect(url_for("backup.failed", backup_id=backup_id))
    drill = drill_record.latest(backup_id)
    return render_template("backup/done.html", record=record, warnings=_warnings_of(backup_id),
                           drill=drill, drill_failed=drill_record.failed(drill))


@blueprint.get("/<int:backup_id>/failed")
def failed(backup_id: int):
    record = record_or_404(backup_id)
    reason = request.args.get("why", "")[:_MAX_REASON]
    log_text = logs.read_log(record.log_path) if record.log_path else ""
    return render_template("backup/failed.html", record=record, reason=reason,
                           log_text=log_text, warnings=_warnings_of(backup_id))
