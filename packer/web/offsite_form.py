"""The profile page's off-site storage and retention fields: what the form shows, and the
profile settings a submitted form makes.

The browser edits where in the storage the parts go (server, bucket, folder) and the
quotas, never how sitepack logs in, which server it trusts or which S3 endpoint gets
its signed requests: credential references (``*_env``, ``*_file``, ``key_file``,
``use_agent``, ``aws_profile``), ``known_hosts``, ``host_key_sha256`` and
``endpoint_url`` are set with ``sitepack profiles set`` and only shown here. A web
session could otherwise point a saved password at any environment variable or file,
or send it to a server of its own (an SFTP password goes only to a server whose key
the command line trusted).
"""

from __future__ import annotations

from packer import retention

#: Form fields per storage type (names as in the profile's ``storage``).
EDITABLE = {
    "sftp": ("host", "port", "user", "folder"),
    "s3": ("bucket", "prefix", "region", "storage_class", "sse"),
}
FLAGS = {"sftp": (), "s3": ("path_style",)}
#: Settings the browser never sets (see the module docstring).
CLI_ONLY = ("key_file", "key_passphrase_env", "password_env", "password_file", "use_agent",
            "known_hosts", "host_key_sha256", "aws_profile", "credentials_file",
            "access_key_id_env", "secret_access_key_env", "session_token_env", "endpoint_url")


def storage_values(storage: dict | None) -> dict:
    """The form's values for a saved ``storage`` (``storage.*`` keys)."""
    storage = storage or {}
    values = {"storage.type": storage.get("type") or "",
              "storage.delete_local": bool(storage.get("delete_local"))}
    for kind, keys in EDITABLE.items():
        for key in keys:
            value = storage.get(key) if storage.get("type") == kind else None
            values[f"storage.{key}"] = "" if value is None else str(value)
        for key in FLAGS[kind]:
            values[f"storage.{key}"] = bool(storage.get(key))
    return values


def login_settings(storage: dict | None) -> list[tuple[str, str]]:
    """The saved CLI-only settings that are set, for display (names and paths only: a
    profile never holds a secret)."""
    return [(key, str(storage[key])) for key in CLI_ONLY
            if storage and storage.get(key) not in (None, False, "")]


def storage_from_form(form, saved: dict | None) -> tuple[dict | None, dict]:
    """(the profile's new ``storage`` or None, the values to show again); the saved
    settings the form does not show are kept while the storage type stays, and a form
    without the storage fields keeps the saved storage as it is."""
    if "storage.type" not in form:
        return saved, storage_values(saved)
    saved = saved or {}
    kind = form.get("storage.type", "")
    values = {"storage.type": kind, "storage.delete_local": form.get("storage.delete_local") == "on"}
    for each, keys in EDITABLE.items():
        for key in keys:
            values[f"storage.{key}"] = form.get(f"storage.{key}", "").strip()
        for key in FLAGS[each]:
            values[f"storage.{key}"] = form.get(f"storage.{key}") == "on"
    if not kind:
        return None, values
    data: dict = {key: value for key, value in saved.items() if saved.get("type") == kind}
    data.update(type=kind, delete_local=values["storage.delete_local"])
    for key in EDITABLE.get(kind, ()):
        text = values[f"storage.{key}"]
        data[key] = int(text) if key == "port" and text.isdigit() else text or None
    for key in FLAGS.get(kind, ()):
        data[key] = values[f"storage.{key}"]
    return data, values


def retention_values(policy: dict) -> dict:
    values = {f"retention.{rule}": "" if policy.get(rule) is None else str(policy[rule])
              for rule in retention.RULES}
    if policy.get("keep_bytes"):
        values["retention.keep_bytes"] = _exact_size(policy["keep_bytes"])
    return values


def _exact_size(size: int) -> str:
    """``20G`` for 20 GiB: the largest unit that writes ``size`` exactly (saved again
    unchanged)."""
    for unit, factor in (("T", 1024 ** 4), ("G", 1024 ** 3), ("M", 1024 ** 2), ("K", 1024)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def retention_from_form(form, saved: dict) -> tuple[dict, dict]:
    """(the profile's ``retention`` as typed, the values to show again); a form without
    the retention fields keeps the saved policy."""
    if not any(f"retention.{rule}" in form for rule in retention.RULES):
        return saved, retention_values(saved)
    values = {f"retention.{rule}": form.get(f"retention.{rule}", "").strip()
              for rule in retention.RULES}
    return {rule: values[f"retention.{rule}"] or None for rule in retention.RULES}, values
