"""JSON calls behind the progress bars: one bounded step of work per request."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from restorer.restore.answers import DbAnswers

from ..errors import SitepackError
from .pages import restore, writing

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.post("/database/<name>/connect")
def database_connect(name: str):
    data = request.get_json(silent=True) or {}
    answers = DbAnswers.parse(data, "database settings", from_browser=True)
    with writing():
        restore().set_database(name, answers)
        status = restore().import_status(name)
    return jsonify(ok=True, done=status.done, fraction=status.fraction)


@bp.post("/database/<name>/step")
def database_step(name: str):
    with writing():
        progress = restore().import_step(name, current_app.config["STEP_SECONDS"])
    return jsonify(progress.to_dict())


@bp.post("/replace/step")
def replace_step():
    data = request.get_json(silent=True) or {}
    pairs = [(str(p[0]), str(p[1])) for p in data.get("pairs", []) if p and p[0]]
    tables = [str(t) for t in data.get("tables", [])]
    if not pairs:
        raise SitepackError("no replacement pairs: add a row or skip this step")
    if not tables:
        raise SitepackError("no tables selected: tick at least one table or skip this step")
    with writing():
        progress = restore().replace_step(pairs, tables, dry_run=bool(data.get("dry_run")),
                                          budget_seconds=current_app.config["STEP_SECONDS"])
        counts = restore().state.replace.counts
    return jsonify({**progress.to_dict(), "counts": counts})
