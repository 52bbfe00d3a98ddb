"""Control Panel: the warnings, the Backup Now button, the last backup."""

from __future__ import annotations

from flask import Blueprint, render_template

from packer import profiles, records

from .site_warnings import collect
from .state import web_state

blueprint = Blueprint("panel", __name__)


@blueprint.route("/")
def index():
    site_root = web_state().site_root
    profile = profiles.load(profiles.DEFAULT_PROFILE)
    newest = records.list_records()[:1]
    return render_template("backup/panel.html", warnings=collect(site_root, profile),
                           profile=profile, last=newest[0] if newest else None,
                           password_set=web_state().password.is_set())
