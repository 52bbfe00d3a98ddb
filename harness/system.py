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
    # Real web servers for the live-server security tests (started by the tests on
    # loopback ports with their own config files, never as services).
    "/usr/sbin/apache2": "apache2", "/usr/sbin/nginx": "nginx",
    # A real WordPress (Debian's package is the source of the test site) and the PHP
    # extensions it needs to install and serve pages.
    "/usr/share/wordpress/wp-includes/version.php": "wordpress",
    "openssl": "openssl",
    # A real SFTP server for the off-site storage tests (started by the tests on a
    # loopback port with its own config and host key, never as a service).
    "/usr/sbin/sshd": "openssh-server",
}
# PHP extensions by ``php -m`` name, with their Debian package.
PHP_EXTENSIONS = {"mysqli": "php-mysql", "gd": "php-gd", "mbstring": "php-mbstring",
                  "xml": "php-xml", "curl": "php-curl"}
# Debian's maintainer scripts start services on install (apache2, nginx, and wordpress,
# which pulls in apache2): this machine has no init system and the project starts its
# servers itself. A policy-rc.d that answers 101 ("action forbidden") stops them; it is
# put in place only for the install and removed afterwards.
_POLICY_RC_D = "/usr/sbin/policy-rc.d"
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
    placed_policy = not os.path.exists(_POLICY_RC_D)
    if placed_policy:
        with open(_POLICY_RC_D, "w") as policy:
            policy.write("#!/bin/sh\n# sitepack harness: no service starts during install\nexit 101\n")
        os.chmod(_POLICY_RC_D, 0o755)
    try:
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
                       check=True, env=env)
    finally:
        if placed_policy:
            os.unlink(_POLICY_RC_D)


def ensure_project_packages() -> None:
    """Installs every Debian package the project needs (``make`` runs this once)."""
    ensure_debian_packages(PROJECT_PROGRAMS)
    # Debian's own python3 ships venv without ensurepip until python3-venv is installed.
    if importlib.util.find_spec("ensurepip") is None:
        ensure_debian_packages({"/nonexistent/python3-venv": "python3-venv"})
    php_modules = {m.lower() for m in
                   subprocess.run(["php", "-m"], capture_output=True, text=True).stdout.split()}
    ensure_debian_packages({f"/nonexistent/php-{module}": package
                            for module, package in PHP_EXTENSIONS.items()
                            if module not in php_modules})
    # Chromium needs a font to render the pages the browser tests screenshot.
    ensure_debian_packages({"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf": "fonts-dejavu-core"})


if __name__ == "__main__":
    ensure_project_packages()
