"""Profiles: view and edit the named settings and filters (validated by ``packer.profiles``)."""

from __future__ import annotations

import re

from flask import Blueprint, flash, redirect, render_template, request, url_for

from packer import archive, profiles
from packer.profiles import DB_KEYS, FILTER_KEYS
from restorer.errors import SitepackError

from .offsite_form import (login_settings, retention_from_form, retention_values,
                           storage_from_form, storage_values)

blueprint = Blueprint("profiles", __name__, url_prefix="/profiles")

_FIELD_IN_ERROR = re.compile(r"profile setting '([\w.]+)'")
_TEXT_FIELDS = ("output_dir", "name_template", "format", "log_level", "backup_type",
                "min_exec", "max_exec", "retry_wait", "retry_count")


def _page(profile: profiles.Profile, *, error: str | None = None, form: dict | None = None,
          status: int = 200):
    values = form if form is not None else _values_of(profile)
    bad_field = _FIELD_IN_ERROR.search(error or "")
    return render_template("backup/profiles.html", profile=profile, values=values,
                           names=profiles.list_profiles(), error=error,
                           bad_field=bad_field.group(1) if bad_field else None,
                           formats=archive.FORMATS, encrypted_formats=archive.ENCRYPTED_FORMATS,
                           backup_types=profiles.BACKUP_TYPES,
                           log_levels=profiles.LOG_LEVELS, filter_keys=FILTER_KEYS,
                           db_keys=DB_KEYS, login_settings=login_settings(profile.storage)), status


def _values_of(profile: profiles.Profile) -> dict:
    """What the form shows for a saved profile (never the archive password itself)."""
    values = {field: "" if getattr(profile, field) is None else str(getattr(profile, field))
              for field in _TEXT_FIELDS}
    values["name"] = profile.name
    values["part_size"] = "" if profile.part_size is None else str(profile.part_size)
    values["default_filters"] = profile.default_filters
    values["drill"] = profile.drill
    values["has_password"] = bool(profile.archive_password)
    for group, keys in (("filters", FILTER_KEYS), ("db", DB_KEYS)):
        for key in keys:
            values[f"{group}.{key}"] = "\n".join(getattr(profile, group).get(key, []))
    values.update(storage_values(profile.storage))
    values.update(retention_values(profile.retention))
    return values


@blueprint.get("/")
def index():
    name = request.args.get("name") or profiles.DEFAULT_PROFILE
    try:
        profile = profiles.load(name)
    except SitepackError as exc:
        flash(str(exc), "error")
        return redirect(url_for("profiles.index"))
    return _page(profile)


@blueprint.post("/save")
def save():
    form = request.form
    original = form.get("original", profiles.DEFAULT_PROFILE)
    current = profiles.load(original)
    values = {field: form.get(field, "") for field in _TEXT_FIELDS}
    values["name"] = form.get("name", "").strip()
    values["part_size"] = form.get("part_size", "").strip()
    values["default_filters"] = form.get("default_filters") == "on"
    values["drill"] = form.get("drill") == "on"
    values["has_password"] = bool(current.archive_password)
    data = {field: values[field].strip() for field in _TEXT_FIELDS}
    data["output_dir"] = data["output_dir"] or None
    data["default_filters"] = values["default_filters"]
    data["drill"] = values["drill"]
    data["sql_split_size"] = current.sql_split_size  # not on this page: kept as saved
    for group, keys in (("filters", FILTER_KEYS), ("db", DB_KEYS)):
        data[group] = {}
        for key in keys:
            values[f"{group}.{key}"] = form.get(f"{group}.{key}", "")
            data[group][key] = values[f"{group}.{key}"]
    # The default key is never shown: blank keeps the saved one, the checkbox removes it.
    new_key = form.get("archive_password", "")
    if form.get("clear_archive_password") == "on":
        data["archive_password"] = None
    else:
        data["archive_password"] = new_key or current.archive_password
    data["storage"], shown = storage_from_form(form, current.storage)
    values.update(shown)
    data["retention"], shown = retention_from_form(form, current.retention)
    values.update(shown)
    try:
        data["part_size"] = profiles.parse_size(values["part_size"]) if values["part_size"] else None
    except SitepackError as exc:
        return _page(current, error=f"profile setting 'part_size': {exc}", form=values,
                     status=400)
    try:
        saved = profiles.save(data, name=values["name"])
    except SitepackError as exc:
        return _page(current, error=str(exc), form=values, status=400)
    flash(f"Profile '{saved.name}' saved.", "ok")
    return redirect(url_for("profiles.index", name=saved.name))


@blueprint.post("/<name>/delete")
def delete(name: str):
    try:
        profiles.delete(name)
    except SitepackError as exc:
        flash(str(exc), "error")
        return redirect(url_for("profiles.index", name=name))
    flash(f"Profile '{name}' deleted.", "ok")
    return redirect(url_for("profiles.index"))
