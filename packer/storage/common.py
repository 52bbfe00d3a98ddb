"""What every backend's code shares: its settings checked the same way, and the resumable
verified download into ``<dest>.partial``."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from restorer.errors import SitepackError

from .base import PARTIAL_SUFFIX, RemoteObject, StorageError, verify_local


def setting_error(field: str, what: str) -> SitepackError:
    return SitepackError(f"profile setting 'storage.{field}': {what}")


def checked_settings(settings: dict, *, text_keys: tuple[str, ...], other_keys: tuple[str, ...],
                     secret_keys: tuple[str, ...], secret_hint: Callable[[str], str]) -> dict:
    """``text_keys`` of ``settings`` (None when empty, else text); refuses a secret (what
    to do instead: ``secret_hint(key)``) and an unknown setting. ``other_keys`` are the
    backend's own to check."""
    for key in settings:
        if key in secret_keys:
            raise setting_error(key, f"a secret never goes into a profile: {secret_hint(key)}")
    known = (*text_keys, *other_keys)
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise setting_error(unknown[0], f"unknown setting (known: type, delete_local, "
                            f"{', '.join(sorted(known))})")
    checked: dict = {key: settings.get(key) or None for key in text_keys}
    for key, value in checked.items():
        if value is not None and not isinstance(value, str):
            raise setting_error(key, "must be text")
    return checked


def piece_size(settings: dict, *, default: int, minimum: int, why: str = "") -> int:
    piece = settings.get("piece_size") or default
    if isinstance(piece, bool) or not isinstance(piece, int) or piece < minimum:
        raise setting_error("piece_size", f"must be a whole number of bytes, at least "
                            f"{minimum}{why}")
    return piece


def download(remote: RemoteObject, dest: Path, read_from: Callable[[int], Iterable[bytes]],
             errors: contextlib.AbstractContextManager) -> None:
    """Continues ``dest + PARTIAL_SUFFIX`` with the chunks ``read_from(offset)`` yields
    (inside ``errors``, the backend's error translation), verifies size and SHA-256,
    then renames it to ``dest``; a part that fails verification is removed."""
    partial = dest.with_name(dest.name + PARTIAL_SUFFIX)
    have = partial.stat().st_size if partial.exists() else 0
    if have > remote.size:
        partial.unlink()
        have = 0
    with errors:
        if have < remote.size:
            with open(partial, "ab") as out:
                for chunk in read_from(have):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
    try:
        verify_local(partial, remote)
    except StorageError:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, dest)
