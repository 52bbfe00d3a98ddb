"""One log file per backup: levels, WARNING labels, secrets redacted.

Lines look like ``2026-11-27 01:30:00 WARNING | cannot read images/x.jpg: ...``. The
level threshold comes from the profile (``error`` < ``warning`` < ``info`` < ``debug``);
warnings and errors are always written when the threshold lets them through, with their
upper-case label so they can be searched for. A NOTE is a reminder that is no warning
(it does not make a backup "finished with warnings"); it is written wherever warnings are. Messages never should contain secrets;
as a second line of defence every secret value the log was told about is replaced by
``***`` before a line is written. Log files are 0600 and are kept after failures.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from .home import logs_dir

LEVELS = {"error": 0, "warning": 1, "info": 2, "debug": 3}
_MIN_SECRET_LENGTH = 3  # shorter values would redact ordinary words


def log_path_for(backup_id: int) -> Path:
    return logs_dir() / f"backup-{backup_id}.log"


class BackupLog:
    def __init__(self, path: Path, level: str = "info", secrets: tuple[str, ...] = ()):
        self.path = Path(path)
        self.threshold = LEVELS[level]
        self._secrets = sorted({s for s in secrets if s and len(s) >= _MIN_SECRET_LENGTH},
                               key=len, reverse=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8", errors="backslashreplace")

    def add_secret(self, value: str | None) -> None:
        if value and len(value) >= _MIN_SECRET_LENGTH and value not in self._secrets:
            self._secrets.append(value)
            self._secrets.sort(key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _write(self, level: str, message: str, label: str | None = None) -> None:
        if LEVELS[level] > self.threshold or self._file.closed:
            return
        stamp = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S%z")
        label = label or level.upper()
        for line in self.redact(str(message)).splitlines() or [""]:
            self._file.write(f"{stamp} {label:7} | {line}\n")
        self._file.flush()

    def error(self, message: str) -> None:
        self._write("error", message)

    def warning(self, message: str) -> None:
        self._write("warning", message)

    def note(self, message: str) -> None:
        self._write("warning", message, label="NOTE")

    def info(self, message: str) -> None:
        self._write("info", message)

    def debug(self, message: str) -> None:
        self._write("debug", message)

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


def read_log(path: str | Path) -> str:
    """The log's text ('' when it is gone), for the web UI's log viewer and the CLI."""
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
