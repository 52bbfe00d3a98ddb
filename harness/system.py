"""Debian packages the harness needs, installed on demand (we run as root here)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess

# Every program the project's tests, demo and benchmarks use, with its Debian package.
PROJECT_PROGRAMS = {
    "mariadbd": "mariadb-server", "mariadb-install-db": "mariadb-server",
    "mariadb": "mariadb-client", "mariadb-admin": "mariadb-client",
    "mariadb-dump": "mariadb-client",
    "php": "php-cli",
    "chromium": "chromium",
    "zip": "zip", "unzip": "unzip", "tar": "tar",
}
# PHP's MySQL extension has no program of its own; checked by module name.
_PHP_MYSQL_PACKAGE = "php-mysql"

_apt_updated = False


def _present(binary: str) -> bool:
    return os.path.exists(binary) if os.path.isabs(binary) else shutil.which(binary) is not None


def ensure_debian_packages(binaries: dict[str, str]) -> None:
    """Installs the Debian package for each program or file that is not there.

    ``binaries`` maps a program name (looked up on PATH) or an absolute file path to the
    package providing it.
    """
    global _apt_updated
    missing = sorted({pkg for binary, pkg in binaries.items() if not _present(binary)})
    if not missing:
        return
    if os.geteuid() != 0:
        raise RuntimeError(
            f"missing programs from Debian packages {', '.join(missing)}; "
            f"install them with: sudo apt-get install {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if not _apt_updated:
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        _apt_updated = True
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
                   check=True, env=env)


def ensure_project_packages() -> None:
    """Installs every Debian package the project needs (``make`` runs this once)."""
    ensure_debian_packages(PROJECT_PROGRAMS)
    # Debian's own python3 ships venv without ensurepip until python3-venv is installed.
    if importlib.util.find_spec("ensurepip") is None:
        ensure_debian_packages({"/nonexistent/python3-venv": "python3-venv"})
    php_modules = subprocess.run(["php", "-m"], capture_output=True, text=True).stdout.split()
    if "mysqli" not in php_modules:
        ensure_debian_packages({"/nonexistent/php-mysqli": _PHP_MYSQL_PACKAGE})
    # Chromium needs a font to render the pages the browser tests screenshot.
    ensure_debian_packages({"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf": "fonts-dejavu-core"})


if __name__ == "__main__":
    ensure_project_packages()
