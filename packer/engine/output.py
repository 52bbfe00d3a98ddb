"""The output folder: checked writable, protected from web access, and cleared of an
unfinished archive's files.

Archives often land inside the site (the default ``<site>/sitepack-backups``), where a
web server could serve them: such a folder gets ``.htaccess`` (Apache) and
``web.config`` (IIS) files that deny every request. An unfinished archive is deleted by
name alone (numbered parts, sidecars), so a backup killed before it saved any state can
still be cleaned up.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from restorer.errors import SitepackError
from restorer.formats.parts import find_parts, numbered_part

from ..archive.base import leftover_sidecars
from ..filters import relative_inside

DEFAULT_OUTPUT_DIR_NAME = "sitepack-backups"
#: A reminder, not a warning: the backup page calls it "not an error message ... just a
#: reminder"; it goes to the log as a NOTE and does not change the exit code.
DEFAULT_OUTPUT_NOTE = (
    "Default output directory is in use: {path} is a well-known place inside the site. "
    "sitepack put .htaccess and web.config files there that deny web access, but a server "
    "that ignores them would serve the archives to anyone. Use an output directory outside "
    "the web root (--output-dir, or output_dir in the profile).")

_HTACCESS = """# Written by sitepack: backup archives must never be served over the web.
<IfModule mod_authz_core.c>
  Require all denied
</IfModule>
<IfModule !mod_authz_core.c>
  Order deny,allow
  Deny from all
</IfModule>
"""
_WEB_CONFIG = """<?xml version="1.0" encoding="utf-8"?>
<!-- Written by sitepack: backup archives must never be served over the web. -->
<configuration>
  <system.webServer>
    <authorization>
      <deny users="*" />
    </authorization>
    <security>
      <requestFiltering>
        <hiddenSegments>
          <add segment="." />
        </hiddenSegments>
      </requestFiltering>
    </security>
  </system.webServer>
</configuration>
"""


def default_output_dir(site_root: Path) -> Path:
    return Path(site_root) / DEFAULT_OUTPUT_DIR_NAME


def output_notes(output_dir: str, default_output: bool) -> list[str]:
    """The reminders about a backup's output folder (notes, never warnings)."""
    return [DEFAULT_OUTPUT_NOTE.format(path=output_dir)] if default_output else []


def prepare_output_dir(site_root: Path, output_dir: Path | None) -> Path:
    """The absolute output folder (``None``: the default one), created, checked writable
    and, when it lies inside the site, protected from web access."""
    out = default_output_dir(site_root) if output_dir is None else Path(output_dir).expanduser()
    if not out.is_absolute():
        out = Path.cwd() / out
    _check_writable(out)
    out = out.resolve()
    if relative_inside(site_root, out) is not None or out == site_root:
        _protect(out)
    if out == site_root:
        raise SitepackError("the output directory cannot be the site root itself: "
                            "choose a sub-folder or a folder outside the site")
    return out


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SitepackError(f"cannot create the output directory {folder}: {exc.strerror}; "
                            f"create it yourself or choose another (--output-dir)") from None
    if not folder.is_dir():
        raise SitepackError(f"the output directory {folder} is not a directory; "
                            f"choose another (--output-dir)")
    try:
        _probe_write(folder)
    except OSError as exc:
        raise SitepackError(f"the output directory {folder} is not writable ({exc.strerror}): "
                            f"fix its permissions or choose another (--output-dir)") from None


def _probe_write(folder: Path) -> None:
    """Creates a file in ``folder`` and lets it go: a nameless one where the system has
    them (O_TMPFILE), so a process killed meanwhile leaves nothing behind."""
    try:
        os.close(os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o600))
        return
    except AttributeError:  # no O_TMPFILE on this system
        pass
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            raise
    probe = folder / f".sitepack-write-test-{os.getpid()}"
    probe.write_bytes(b"")
    probe.unlink()


def _protect(folder: Path) -> None:
    """Deny web access to ``folder`` on Apache (.htaccess) and IIS (web.config)."""
    for name, text in ((".htaccess", _HTACCESS), ("web.config", _WEB_CONFIG)):
        path = folder / name
        if not path.exists():
            path.write_text(text, encoding="utf-8")
            path.chmod(0o644)


def archive_name_taken(archive: Path) -> bool:
    """Whether ``archive`` or the first part of an archive of that name exists."""
    return archive.exists() or numbered_part(archive, 1).exists()


def completed_parts(archive: Path, sent: list[str] = ()) -> list[Path]:
    """The parts of the complete archive ``archive`` (its writer's sidecars deleted);
    ``sent``: names of parts stored off-site, which may be gone locally."""
    for sidecar in leftover_sidecars(archive):
        sidecar.unlink(missing_ok=True)
    if not sent:
        return find_parts(archive)
    parts, index = [], 1
    while numbered_part(archive, index).exists() or numbered_part(archive, index).name in sent:
        parts.append(numbered_part(archive, index))
        index += 1
    return [*parts, archive]


def remove_unfinished(archive: Path, *, keep_final: bool = False) -> None:
    """Deletes the numbered parts and sidecars of an unfinished ``archive``, and the file
    of the real name unless ``keep_final`` (it may be a complete archive)."""
    index = 1
    while numbered_part(archive, index).exists():
        numbered_part(archive, index).unlink()
        index += 1
    if not keep_final:
        archive.unlink(missing_ok=True)
    for sidecar in leftover_sidecars(archive):
        sidecar.unlink(missing_ok=True)
