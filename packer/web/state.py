"""What the web UI keeps for the lifetime of one server: site, login, per-backup locks."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

from flask import current_app

from packer.engine import BackupJob
from restorer.web.guard import LoginThrottle, OneTimeToken

from .login import LoginPassword


@dataclasses.dataclass
class WebState:
    site_root: Path
    password: LoginPassword
    token: OneTimeToken | None
    throttle: LoginThrottle = dataclasses.field(default_factory=LoginThrottle)
    # Ids of the sessions logged in on this server: logging out revokes the cookie for good.
    sessions: set[str] = dataclasses.field(default_factory=set)
    # Running backups stepped by this server, kept open between requests (archive writer,
    # database connection) instead of being reloaded from their saved state every step.
    jobs: dict[int, BackupJob] = dataclasses.field(default_factory=dict)
    # The archive key typed for a running backup of a ``drill: true`` profile, in memory
    # only, until the drill after it is started (``packer/drill/background.py``).
    drill_keys: dict[int, str] = dataclasses.field(default_factory=dict)
    _locks: dict[int, threading.Lock] = dataclasses.field(default_factory=dict)
    _locks_guard: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def backup_lock(self, backup_id: int) -> threading.Lock:
        """One lock per backup: two tabs driving the same backup take turns, never overlap."""
        with self._locks_guard:
            return self._locks.setdefault(backup_id, threading.Lock())


def web_state() -> WebState:
    return current_app.extensions["sitepack"]
