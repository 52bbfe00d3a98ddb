"""Real web servers on loopback ports, started by tests with their own configuration.

Each server here serves one folder on a free 127.0.0.1 port, runs in the foreground as a
child process of the test, and is stopped by its PID (``stop`` or the ``with`` block). No
system service is ever started or touched.

    with PhpBuiltinServer(docroot) as server:
        urllib.request.urlopen(server.url + "/index.php")

``ApacheServer`` (Debian's apache2, ``AllowOverride All``) and ``NginxServer`` (a
default-style server block, PHP off) serve a folder the same way, each from its own
configuration file in a work folder; started as root, their workers run as www-data.
"""

from __future__ import annotations

import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from packer.drill.loopback import free_port, stop_group, wait_listening

from .php import ensure_php


class LoopbackServer:
    """A server process on ``host:port``: waits until it answers, stops by PID."""

    name = "server"

    def __init__(self, host: str = "127.0.0.1", port: int | None = None):
        self.host = host
        self.port = port or free_port(host)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def start(self, timeout: float = 30.0) -> "LoopbackServer":
        self.log = open(self.log_path(), "ab")
        self.process = subprocess.Popen(self.command(), stdout=self.log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, env=self.environment(),
                                        start_new_session=True)
        try:
            wait_listening(self.process, self.host, self.port, name=self.name, log=Path(self.log.name),
                           timeout=timeout)
        except RuntimeError:
            self.stop()
            raise
        return self

    def log_path(self) -> Path:
        raise NotImplementedError

    def stop(self) -> None:
        stop_group(self.process)
        self.process = None
        if getattr(self, "log", None):
            self.log.close()

    def get(self, path: str, *, timeout: float = 30.0) -> tuple[int, dict[str, str], bytes]:
        """GET ``path`` (status, headers, body); HTTP errors are answers too, not exceptions."""
        request = urllib.request.Request(self.url + path)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class PhpBuiltinServer(LoopbackServer):
    """``php -S`` serving ``docroot`` (PHP's built-in server: it ignores ``.htaccess``).

    ``ini`` adds ``-d name=value`` settings; ``router`` is an optional router script.
    """

    name = "php -S"

    def __init__(self, docroot: Path, *, router: Path | None = None, ini: dict[str, str] | None = None,
                 host: str = "127.0.0.1", port: int | None = None, workers: int = 4):
        super().__init__(host, port)
        ensure_php()
        self.docroot = Path(docroot)
        self.router = router
        self.ini = dict(ini or {})
        self.workers = workers

    def command(self) -> list[str]:
        cmd = ["php"]
        for name, value in self.ini.items():
            cmd += ["-d", f"{name}={value}"]
        cmd += ["-S", f"{self.host}:{self.port}", "-t", str(self.docroot)]
        return cmd + ([str(self.router)] if self.router else [])

    def environment(self) -> dict[str, str]:
        # Several workers, so a page that requests the same server (WordPress's loopback
        # checks, assets) does not deadlock the single-threaded default.
        return dict(os.environ, PHP_CLI_SERVER_WORKERS=str(self.workers))

    def log_path(self) -> Path:
        return self.docroot.parent / f".php-server-{self.port}.log"


def _run_as() -> tuple[str, str] | None:
    """The user and group a root-started Apache or nginx worker runs as (neither serves as
    root); ``None`` when the tests do not run as root."""
    return ("www-data", "www-data") if os.geteuid() == 0 else None


class ConfiguredServer(LoopbackServer):
    """A Debian web server serving ``docroot`` with its own configuration file, pid file,
    logs and temp folders in ``workdir`` (``config_text`` and ``arguments`` say how)."""

    CONFIG_NAME = "server.conf"

    def __init__(self, docroot: Path, workdir: Path, *, host: str = "127.0.0.1", port: int | None = None):
        super().__init__(host, port)
        self.docroot = Path(docroot)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)

    def config_text(self) -> str:
        raise NotImplementedError

    def arguments(self, conf: Path) -> list[str]:
        raise NotImplementedError

    def command(self) -> list[str]:
        conf = self.workdir / self.CONFIG_NAME
        conf.write_text(self.config_text())
        return self.arguments(conf)

    def log_path(self) -> Path:
        return self.workdir / "console.log"


class ApacheServer(ConfiguredServer):
    """Debian's ``apache2`` serving ``docroot`` with its own minimal configuration in
    ``workdir``: ``AllowOverride All`` (the site's ``.htaccess`` files count), mod_rewrite,
    no PHP module (a PHP file is served as it is, the worst case for a secret in PHP).

    As root, its workers run as www-data, which must be able to read ``docroot``.
    """

    name = "apache2"
    BINARY = "/usr/sbin/apache2"
    MODULES = ("mpm_event", "authz_core", "authz_host", "access_compat", "authn_core",
               "dir", "mime", "alias", "rewrite")
    CONFIG_NAME = "apache.conf"

    def config_text(self) -> str:
        modules = "\n".join(f"LoadModule {name}_module /usr/lib/apache2/modules/mod_{name}.so"
                            for name in self.MODULES)
        run_as = _run_as()
        user = f"User {run_as[0]}\nGroup {run_as[1]}\n" if run_as else ""
        return f"""{modules}
ServerRoot "{self.workdir}"
ServerName {self.host}
Listen {self.host}:{self.port}
PidFile "{self.workdir}/apache.pid"
ErrorLog "{self.workdir}/error.log"
Mutex file:{self.workdir} default
{user}TypesConfig /etc/mime.types
DirectoryIndex index.html index.php
DocumentRoot "{self.docroot}"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "{self.docroot}">
    Options FollowSymLinks
    AllowOverride All
    Require all granted
</Directory>
"""

    def arguments(self, conf: Path) -> list[str]:
        return [self.BINARY, "-f", str(conf), "-DFOREGROUND"]

    def environment(self) -> dict[str, str]:
        # Debian's apache2 reads its run directories from these when started directly.
        return dict(os.environ, APACHE_RUN_DIR=str(self.workdir), APACHE_LOCK_DIR=str(self.workdir),
                    APACHE_LOG_DIR=str(self.workdir))


class NginxServer(ConfiguredServer):
    """Debian's ``nginx`` serving ``docroot`` with a default-style server block (``index``,
    ``try_files $uri $uri/ =404``) and PHP off, its pid, logs and temp folders in ``workdir``.
    nginx ignores ``.htaccess``: what lies in the web root is served as it is."""

    name = "nginx"
    BINARY = "/usr/sbin/nginx"
    CONFIG_NAME = "nginx.conf"

    def config_text(self) -> str:
        run_as = _run_as()
        user = f"user {run_as[0]} {run_as[1]};\n" if run_as else ""
        temp = "\n".join(f"    {kind}_temp_path {self.workdir}/{kind};"
                         for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        return f"""{user}worker_processes 1;
pid {self.workdir}/nginx.pid;
error_log {self.workdir}/error.log;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {self.workdir}/access.log;
{temp}
    server {{
        listen {self.host}:{self.port} default_server;
        root {self.docroot};
        index index.html index.htm;
        server_name _;
        location / {{
            try_files $uri $uri/ =404;
        }}
    }}
}}
"""

    def arguments(self, conf: Path) -> list[str]:
        return [self.BINARY, "-c", str(conf), "-p", str(self.workdir), "-e", str(self.workdir / "error.log"),
                "-g", "daemon off;"]
