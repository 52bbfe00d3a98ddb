"""``python3 kickstart.pyz [ARCHIVE] [DEST]``: extract a backup and start the wizard.

The kickstart is uploaded next to the archive on a host with Python 3.9+ and nothing
else. It extracts the archive (asking for the JPS password on the terminal, or reading
it from the environment variable named by ``--password-env``, default
``SITEPACK_ARCHIVE_PASSWORD``), server files written as ``*.bak`` until the restore
finishes, and everything the restore needs that the web server must not serve (the dump,
the installer password's hash, ...) written into the private folder outside the site
(``restorer/private.py``, ``--private-dir``); then it offers to start the restore wizard.
An archive made by Akeeba Backup
carries Akeeba's PHP installer, not ours: the kickstart copies its own restorer into
``installation/`` so the same wizard restores it.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import zipfile
from pathlib import Path

from restorer.bundle import ENTRY_SCRIPT, INSTALLATION
from restorer.errors import SitepackError, WrongPasswordError
from restorer.launch import exit_code
from restorer.private import resolve_private_dir
from restorer.restore.answers import WIZARD_DEFAULTS

PASSWORD_ENV = "SITEPACK_ARCHIVE_PASSWORD"
ARCHIVE_SUFFIXES = (".jpa", ".jps", ".zip")
CRYPTOGRAPHY_HELP = (
    "this archive is encrypted and decrypting it needs the Python package 'cryptography', "
    "which this Python does not have. Install it with:\n"
    "    python3 -m pip install --user cryptography\n"
    "or, on Debian/Ubuntu:\n"
    "    apt install python3-cryptography\n"
    "then run the kickstart again.")


def _pyz_path() -> Path | None:
    """The kickstart file itself when running from a zipapp."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if parent.is_file() and zipfile.is_zipfile(parent):
            return parent
    return None


def find_archive(folder: Path) -> Path:
    found = sorted(p for p in folder.iterdir() if p.suffix.lower() in ARCHIVE_SUFFIXES and p.is_file())
    if len(found) == 1:
        return found[0]
    if not found:
        raise SitepackError(f"no archive (.jpa, .jps, .zip) next to the kickstart in {folder}: "
                            f"upload it there or give its path: python3 kickstart.pyz ARCHIVE")
    names = ", ".join(p.name for p in found)
    raise SitepackError(f"several archives in {folder} ({names}): say which one: python3 kickstart.pyz ARCHIVE")


def _missing_cryptography(exc: BaseException) -> bool:
    return isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] == "cryptography"


def extract_with_password(archive: Path, dest: Path, password: str | None, ask: bool,
                          private_dir: Path) -> None:
    """Extracts; a site bundle's server files become ``*.bak`` until the finish step."""
    from restorer.extract.extractor import extract
    while True:
        try:
            extract(archive, dest, password=password, server_files_as_bak="auto", private_dir=private_dir)
            return
        except WrongPasswordError:
            if not ask:
                raise
            password = getpass.getpass(f"Password of {archive.name}: ")
        except ModuleNotFoundError as exc:
            if _missing_cryptography(exc):
                raise SitepackError(CRYPTOGRAPHY_HELP) from None
            raise


def install_runtime(pyz: Path, installation: Path) -> int:
    """Copies the restorer runtime carried by ``pyz`` into ``installation/``."""
    count = 0
    with zipfile.ZipFile(pyz) as zf:
        for info in zf.infolist():
            name = info.filename
            if info.is_dir() or name == "__main__.py" or name.startswith("/") or ".." in name.split("/"):
                continue
            target = installation / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    pyz = _pyz_path()
    here = pyz.parent if pyz else Path.cwd()
    parser = argparse.ArgumentParser(prog="kickstart.pyz",
                                     description="Extract a site backup and start the restore wizard.")
    parser.add_argument("archive", nargs="?", type=Path, help="the archive (default: the one next to the kickstart)")
    parser.add_argument("dest", nargs="?", type=Path, help="where to extract (default: the kickstart's folder)")
    parser.add_argument("--password-env", default=PASSWORD_ENV, metavar="VAR",
                        help=f"environment variable holding the archive password (default {PASSWORD_ENV})")
    wizard = parser.add_mutually_exclusive_group()
    wizard.add_argument("--wizard", dest="wizard", action="store_true", default=None,
                        help="start the wizard after extracting without asking")
    wizard.add_argument("--no-wizard", dest="wizard", action="store_false", help="only extract")
    parser.add_argument("--host", default=WIZARD_DEFAULTS.host, help="wizard address (see restore.py wizard --help)")
    parser.add_argument("--port", default=str(WIZARD_DEFAULTS.port), help="wizard port")
    parser.add_argument("--private-dir", type=Path, default=None,
                        help="where the dump, password hash and other restore data go, outside "
                             "the site (default: $SITEPACK_HOME/restores/<folder>-<hash>)")
    args = parser.parse_args(argv)

    def run() -> int:
        archive = args.archive or find_archive(here)
        dest = (args.dest or here).resolve()
        password = os.environ.get(args.password_env) or None
        interactive = sys.stdin.isatty()
        private = resolve_private_dir(dest, args.private_dir)
        print(f"extracting {archive} into {dest} (a site backup's restore data into {private}, "
              f"outside the site, owner-only)", flush=True)
        extract_with_password(archive, dest, password, ask=interactive and password is None,
                              private_dir=private)
        installation = dest / INSTALLATION
        if not private.is_dir():
            print("extracted; this archive holds no installation/ folder, so there is nothing to restore "
                  "beyond the files", flush=True)
            return 0
        if pyz is not None and not (installation / "restorer").is_dir():
            install_runtime(pyz, installation)
            print("this backup carries another installer (Akeeba's, never run): sitepack's restorer "
                  "was copied into installation/", flush=True)
        from restorer.restore.session import RestoreSession
        session = RestoreSession(dest, private)
        if pyz is not None:
            session.state.kickstart = str(pyz)
            session.save()
        entry = installation / ENTRY_SCRIPT
        command = [sys.executable, str(entry), "wizard", "--host", args.host, "--port", str(args.port)]
        if args.private_dir:
            command += ["--private-dir", str(private)]
        start = args.wizard
        if start is None:
            start = interactive and input("Start the restore wizard now? [Y/n] ").strip().lower() in ("", "y", "yes")
        if not start:
            print(f"extracted. Start the wizard with: python3 {entry} {' '.join(command[2:3] + command[7:])}",
                  flush=True)
            return 0
        sys.stdout.flush()
        # The wizard never needs the archive password: it does not inherit it.
        os.execve(sys.executable, command,
                  {name: value for name, value in os.environ.items() if name != args.password_env})
        return 0  # not reached: the wizard replaced this process

    return exit_code(run)
