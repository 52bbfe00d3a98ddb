"""A real WordPress site for the tests: Debian's ``wordpress`` package (WordPress 6.1),
installed by WordPress's own ``wp_install()`` and filled through its own functions.

    site = build_wordpress_site(root, db, "http://127.0.0.1:8123")
    with site.server():                    # php -S on the URL WordPress was installed for
        ...

Debian's tree links into ``/usr/share`` and its ``wp-config.php`` reads ``/etc/wordpress``;
the site here is a normal folder (every link dereferenced) with an upstream-style
``wp-config.php`` made from WordPress's own ``wp-config-sample.php``. Debian's package
ships no theme, so the site uses a small classic theme (``wordpress_fixture/theme``).
Content (``wordpress_fixture/content.php``): posts and a page linking to the site URL, an
uploaded image with its sizes, a cover block holding its URL JSON-escaped, nested
serialized options, a text widget, theme mods, a menu, an editor beside the admin, a
comment, post meta and per-prefix user options.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from .demosite import php_single_quoted
from .mariadb import DbParams
from .php import ensure_php
from .system import PHP_EXTENSIONS, ensure_debian_packages
from .webservers import PhpBuiltinServer

WORDPRESS_SOURCE = Path("/usr/share/wordpress")
FIXTURE = Path(__file__).with_name("wordpress_fixture")
THEME = "sitepack-fixture"
# No quote or backslash in them: wp-login.php compares $_POST['pwd'] as PHP slashed it.
USERS = {"admin": ("administrator", "Admin pw ü $1 <&>"), "editor": ("editor", "Editor pw & 2 ß")}
# What WordPress writes into .htaccess for pretty permalinks (Debian's file is all comments).
HTACCESS = """# BEGIN WordPress
<IfModule mod_rewrite.c>
RewriteEngine On
RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]
RewriteBase /
RewriteRule ^index\\.php$ - [L]
RewriteCond %{REQUEST_FILENAME} !-f
RewriteCond %{REQUEST_FILENAME} !-d
RewriteRule . /index.php [L]
</IfModule>
# END WordPress
"""


@dataclasses.dataclass
class WordPressSite:
    root: Path        # the WordPress folder (ABSPATH)
    docroot: Path     # what the web server serves: root, or a parent when the URL has a path
    db: DbParams
    url: str          # siteurl and home, no trailing slash
    prefix: str
    ids: dict         # what the install made: admin, editor, post, page, attachment, image

    def server(self) -> PhpBuiltinServer:
        return server_for(self.url, self.docroot)


def server_for(url: str, docroot: Path) -> PhpBuiltinServer:
    """``php -S`` on the host and port of ``url`` (WordPress redirects to its own URL), serving ``docroot``."""
    parts = urlsplit(url)
    return PhpBuiltinServer(docroot, host=parts.hostname, port=parts.port)


def ensure_wordpress() -> None:
    """Debian's wordpress package and the PHP extensions it needs (the project's setup)."""
    ensure_php()
    ensure_debian_packages({str(WORDPRESS_SOURCE / "wp-includes" / "version.php"): "wordpress"})
    loaded = {m.lower() for m in subprocess.run(["php", "-m"], capture_output=True, text=True).stdout.split()}
    ensure_debian_packages({f"/nonexistent/php-{module}": package
                            for module, package in PHP_EXTENSIONS.items() if module not in loaded})


def wp_config_text(db: DbParams, prefix: str) -> str:
    """WordPress's ``wp-config-sample.php`` filled in, with salts and the offline settings."""
    text = (WORDPRESS_SOURCE / "wp-config-sample.php").read_text()
    for placeholder, value in (("'database_name_here'", db.database), ("'username_here'", db.user),
                               ("'password_here'", db.password), ("'localhost'", f"{db.host}:{db.port}"),
                               ("'utf8'", "utf8mb4"), ("'wp_'", prefix)):
        assert placeholder in text, placeholder
        text = text.replace(placeholder, php_single_quoted(value), 1)
    text = re.sub("'put your unique phrase here'", lambda _: php_single_quoted(secrets.token_urlsafe(48)), text)
    # No internet and no cron runs on page views: the pages must not wait for either.
    marker = "/* Add any custom values between this line and the \"stop editing\" line. */\n"
    return text.replace(marker, marker + "define( 'DISABLE_WP_CRON', true );\n"
                                         "define( 'WP_HTTP_BLOCK_EXTERNAL', true );\n", 1)


def build_wordpress_site(root: Path, db: DbParams, url: str, *, prefix: str = "wp_",
                         docroot: Path | None = None) -> WordPressSite:
    """Installs a fresh WordPress at ``root`` for ``url`` into the empty database ``db``.

    ``docroot`` is the folder the server serves when ``url`` has a path (``root`` is then
    that path under it).
    """
    ensure_wordpress()
    root = Path(root)
    url = url.rstrip("/")
    shutil.copytree(WORDPRESS_SOURCE, root, symlinks=False,
                    ignore=lambda folder, names: {"wp-config.php"} if Path(folder) == WORDPRESS_SOURCE else set())
    (root / ".htaccess").write_text(HTACCESS)
    (root / "wp-config.php").write_text(wp_config_text(db, prefix))
    shutil.copytree(FIXTURE / "theme", root / "wp-content" / "themes" / THEME)
    env = dict(os.environ, WP_FIXTURE_URL=url, WP_FIXTURE_ROOT=str(root),
               WP_FIXTURE_ADMIN_PW=USERS["admin"][1], WP_FIXTURE_EDITOR_PW=USERS["editor"][1])
    ids = _run_php(FIXTURE / "install.php", env)
    ids.update(_run_php(FIXTURE / "content.php", dict(env, WP_FIXTURE_ADMIN_ID=str(ids["admin"]))))
    return WordPressSite(root=root, docroot=Path(docroot or root), db=db, url=url, prefix=prefix,
                         ids=ids)


def _run_php(script: Path, env: dict) -> dict:
    result = subprocess.run(["php", "-d", "display_errors=stderr", str(script)],
                            capture_output=True, text=True, env=env, timeout=300)
    if result.returncode != 0 or not result.stdout.startswith("{"):
        raise RuntimeError(f"{script.name} failed ({result.returncode}): {result.stderr[-3000:]}"
                           f"{result.stdout[-3000:]}")
    return json.loads(result.stdout)
