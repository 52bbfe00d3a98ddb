"""The wizard's pages: checks, database, site setup, replace data, finish."""

from __future__ import annotations

import contextlib

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from restorer.restore.answers import EXISTING_MODES, HTACCESS_MODES
from restorer.restore.session import RestoreSession

from ..errors import SitepackError
from ..private import restore_lock
from .auth import refuse_when_closed

bp = Blueprint("pages", __name__)

STEPS = (("checks", "Checks"), ("database", "Database"), ("setup", "Site setup"),
         ("replace", "Replace data"), ("finish", "Finish"))


def restore() -> RestoreSession:
    return current_app.extensions["restore_session"]


@contextlib.contextmanager
def writing():
    """Holds the wizard's lock for a change to the site, once the restore is known (from disk,
    under the lock) to be still open: a request that waited for a running finish is refused."""
    with current_app.extensions["lock"]:
        refuse_when_closed()
        bundle = restore().bundle
        with restore_lock(bundle.site_root, bundle.private):
            yield


def render(template: str, step: str, **context):
    return render_template(template, steps=STEPS, step=step, bundle=restore().bundle,
                           retry_count=current_app.config["RETRY_COUNT"],
                           retry_seconds=current_app.config["RETRY_SECONDS"], **context)


@bp.route("/")
def index():
    return redirect(url_for("pages.checks"))


@bp.route("/checks")
def checks():
    session = restore()
    results = session.checks()
    return render("wizard/checks.html", "checks", checks=results,
                  blocked=any(c.blocking and not c.ok for c in results),
                  info=session.bundle.info_rows(), readme=session.bundle.readme_html,
                  protected=session.password_check is not None)


@bp.route("/database")
def database_first():
    session = restore()
    for name in session.bundle.databases:
        if not session.import_status(name).done:
            return redirect(url_for("pages.database", name=name))
    return redirect(url_for("pages.setup"))


@bp.route("/database/<name>")
def database(name: str):
    session = restore()
    if name not in session.bundle.databases:
        raise SitepackError(f"the backup has no database dump named {name}")
    status = session.import_status(name)
    names = list(session.bundle.databases)
    next_name = names[names.index(name) + 1] if names.index(name) + 1 < len(names) else None
    return render("wizard/database.html", "database", name=name, names=names,
                  values=session.database_defaults(name), modes=EXISTING_MODES, status=status,
                  password_known=name in session.db_answers,
                  entry=session.bundle.databases[name],
                  next_url=url_for("pages.database", name=next_name) if next_name else url_for("pages.setup"))


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    session = restore()
    if session.bundle.platform == "generic":
        return redirect(url_for("pages.finish"))
    values = session.site_defaults()
    if request.method == "GET":
        return render("wizard/setup.html", "setup", values=values, htaccess_modes=HTACCESS_MODES,
                      result=None, super_users=session.super_users())
    form = request.form
    site = {key: form.get(key, "") for key in ("site_name", "mail_from", "from_name", "live_site",
                                              "cookie_domain", "cookie_path", "tmp_path", "log_path")
            if key in form}
    site["old_live_site"] = values.get("old_live_site", "")
    site["htaccess"] = form.get("htaccess", "keep")
    if "force_ssl" in form:
        site["force_ssl"] = int(form["force_ssl"])
    super_user = {}
    if form.get("su_password"):
        if form["su_password"] != form.get("su_password2"):
            raise SitepackError("the two super user passwords differ: type the same password twice")
        super_user["password"] = form["su_password"]
    if form.get("su_email"):
        super_user["email"] = form["su_email"]
    if form.get("su_id"):
        super_user["id"] = int(form["su_id"])
    with writing():
        result = session.apply_setup(site, super_user)
    if result.written:
        return redirect(url_for("pages.replace"))
    return render("wizard/setup.html", "setup", values={**values, **site}, htaccess_modes=HTACCESS_MODES,
                  result=result, super_users=session.super_users())


@bp.route("/replace")
def replace():
    session = restore()
    if session.bundle.platform == "generic":
        return redirect(url_for("pages.finish"))
    pairs, warnings, tables = session.replace_plan()
    return render("wizard/replace.html", "replace", pairs=pairs, warnings=warnings, tables=tables)


@bp.route("/finish", methods=["GET", "POST"])
def finish():
    session = restore()
    if request.method == "GET":
        return render("wizard/finish.html", "finish", setup=session.state.setup, htaccess_modes=HTACCESS_MODES,
                      databases={n: session.import_status(n) for n in session.bundle.databases},
                      replace_state=session.state.replace)
    # installation/ (perhaps holding this wizard's own templates) is about to be deleted:
    # load the last page's templates into Jinja's cache first.
    for name in ("wizard/done.html", "wizard/base.html", "wizard/style.css"):
        current_app.jinja_env.get_template(name)
    with writing():
        result = session.finish(request.form.get("htaccess") or None,
                                keep_archive=bool(request.form.get("keep_archive")))
        html = render("wizard/done.html", "done", result=result)
    shutdown = current_app.extensions.get("shutdown")
    if shutdown:
        shutdown()
    return html
