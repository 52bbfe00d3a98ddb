"""Off-site storage of archive parts: the backend interface (``base.py``) and its backends."""

from __future__ import annotations

import importlib

from restorer.errors import SitepackError

from ..naming import NamingContext, expand
from .base import PartUpload, RemoteObject, Storage, StorageError, new_upload

__all__ = ["BACKENDS", "PartUpload", "RemoteObject", "Storage", "StorageError", "backend_class",
           "folder_for", "new_upload", "open_storage", "validate_settings"]

#: Storage type (the profile's ``storage.type``) → module defining its ``Storage`` class.
BACKENDS = {"s3": "s3", "sftp": "sftp"}
#: Settings every backend shares.
COMMON_KEYS = ("type", "delete_local")


def backend_class(kind: str) -> type[Storage]:
    """The ``Storage`` class of ``kind``, importing only its module (boto3, paramiko)."""
    if kind not in BACKENDS:
        raise SitepackError(f"profile setting 'storage.type': {kind!r} is not one of "
                            f"{', '.join(BACKENDS)}")
    module = importlib.import_module(f"{__package__}.{BACKENDS[kind]}")
    return module.STORAGE


def validate_settings(data: dict | None) -> dict | None:
    """A profile's ``storage`` settings checked (None: no off-site storage)."""
    if data in (None, {}):
        return None
    if not isinstance(data, dict):
        raise SitepackError("profile setting 'storage': must be an object with a 'type'")
    cls = backend_class(data.get("type"))
    delete_local = data.get("delete_local", False)
    if not isinstance(delete_local, bool):
        raise SitepackError("profile setting 'storage.delete_local': must be true or false")
    own = cls.validate({k: v for k, v in data.items() if k not in COMMON_KEYS})
    return {"type": cls.scheme, "delete_local": delete_local, **own}


def folder_for(settings: dict, context: NamingContext) -> str:
    """The remote folder of one backup: the backend's folder template expanded."""
    cls = backend_class(settings["type"])
    return expand(settings.get(cls.folder_key) or "", context)


def open_storage(settings: dict, folder: str) -> Storage:
    """The storage ``settings`` describe (as ``validate_settings`` returned them), at ``folder``."""
    return backend_class(settings["type"])(settings, folder)
