"""The demo site: a realistic Joomla 4 site (files + MariaDB database), deterministic from a seed.

    site = build_demo_site(tmp_path / "site", db)          # db: harness.mariadb.DbParams
    site.config["password"]     # what PHP sees in configuration.php
    site.db                     # the site's own database account (the one in configuration.php)

Everything a site-backup tool trips over is in here on purpose: a configuration whose
strings hold quotes, backslashes, ``$`` and non-ASCII; non-ASCII file names, an empty
folder, a relative symlink, ``.htaccess``; cache/tmp/log folders with junk that backups
skip; tables with 4-byte UTF-8, BLOBs holding every byte value, NULLs next to empty
strings, JSON with escaped slashes and PHP-serialized values holding the site URL,
Joomla's literal ``#__`` in data, a session table, a view, a trigger, a procedure, a
function, foreign keys, and one table without the prefix.

The same seed gives the same file bytes and mtimes every time. The database gets its own
user whose password is the awkward one written in ``configuration.php``, so whatever
reads the configuration must really connect with it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import shutil
from pathlib import Path

import bcrypt

from .mariadb import DbParams

# Fixed timestamps: files, directories and rows carry them so builds are reproducible.
BASE_MTIME = 1_700_000_000  # 2023-11-14 22:13:20 UTC
CREATED = "2023-11-14 22:13:20"

JOOMLA_VERSION = (4, 4, 9)

SIZES = {
    # name: (extra PHP library files, extra gallery images, content rows, action log rows)
    "small": (0, 0, 60, 400),
    "large": (50_000, 48_000, 200_000, 800_000),
}

# Strings that break naive quoting; they end up in configuration.php and the database.
SITE_PASSWORD = "s3cr'et\"Pa\\ss$word{$x}\\n;#%"
SITENAME = "Café \"Ünïcødé\" & O'Brien's \\ Site $HOME 🚀"
OFFLINE_MESSAGE = "This site is down for maintenance.<br>\nPlease check back again soon. ‘Merci’"
META_DESC = "Ein Beispiel: Grüße aus Köln — \"quotes\", 'apostrophes', back\\slash, $dollar, 日本語"
SMTP_PASSWORD = "mail'pässwörd\\\\$"

SUPER_USER = {"username": "admin", "email": "admin@example.com", "password": "Adm1n'Pass\\$word!"}

_WORDS = ("joomla article module plugin component template media image gallery user group "
          "category field content contact banner tag menu item route router helper model view "
          "controller table form layout language string filter access asset cache session "
          "extension package library vendor event dispatcher service provider factory").split()


@dataclasses.dataclass
class DemoSite:
    """What ``build_demo_site`` made, for tests and ``make demo`` to check against."""

    root: Path
    db: DbParams                      # the site's own account: exactly what configuration.php holds
    prefix: str
    live_site: str
    config: dict                      # JConfig public properties as PHP sees them (JSON-decoded)
    file_count: int                   # regular files written (symlinks not counted)
    total_bytes: int
    symlinks: dict[str, str]          # relative path -> link target
    empty_dirs: list[str]
    skipped_dirs: list[str]           # folders whose contents backups leave out (cache, tmp, logs)
    tables: list[str]                 # base tables with the prefix
    unprefixed_tables: list[str]
    views: list[str]
    triggers: list[str]
    procedures: list[str]
    functions: list[str]
    row_counts: dict[str, int]
    super_user: dict[str, str]        # username, email, password (plain) of the group-8 user
    platform_version: str


# --- configuration.php ------------------------------------------------------------------

def php_single_quoted(value: str) -> str:
    """A PHP single-quoted literal, escaped the way Joomla's configuration writer does."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _php_literal(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return php_single_quoted(value)
    if isinstance(value, dict):
        items = ", ".join(f"{php_single_quoted(str(k))} => {_php_literal(v)}" for k, v in value.items())
        return f"array({items})"
    raise TypeError(f"no PHP literal for {value!r}")


def _as_php_sees(value):
    """The JSON-decoded form of a value after PHP loaded it (``'0' => x`` keys become lists)."""
    if isinstance(value, dict):
        keys = list(value)
        if keys == [str(i) for i in range(len(keys))]:
            return [_as_php_sees(v) for v in value.values()]
        return {str(k): _as_php_sees(v) for k, v in value.items()}
    return value


def joomla_config_values(root: Path, db: DbParams, *, prefix: str, live_site: str,
                         secret: str) -> dict:
    """The ~90 public properties of a Joomla 4 ``JConfig``, in the order Joomla writes them."""
    return {
        "offline": False,
        "offline_message": OFFLINE_MESSAGE,
        "display_offline_message": 1,
        "offline_image": "",
        "sitename": SITENAME,
        "editor": "tinymce",
        "captcha": "0",
        "list_limit": 20,
        "access": 1,
        "debug": False,
        "debug_lang": False,
        "debug_lang_const": True,
        "dbtype": "mysqli",
        "host": f"{db.host}:{db.port}",
        "user": db.user,
        "password": db.password,
        "db": db.database,
        "dbprefix": prefix,
        "dbencryption": 0,
        "dbsslverifyservercert": False,
        "dbsslkey": "",
        "dbsslcert": "",
        "dbsslca": "",
        "dbsslcipher": "",
        "force_ssl": 0,
        "live_site": live_site,
        "secret": secret,
        "gzip": False,
        "error_reporting": "default",
        "helpurl": "https://help.joomla.org/proxy?keyref=Help{major}{minor}:{keyref}&lang={langcode}",
        "offset": "Europe/Berlin",
        "mailonline": True,
        "mailer": "mail",
        "mailfrom": "webmaster@example.com",
        "fromname": "Café O'Brien \"Webmaster\"",
        "sendmail": "/usr/sbin/sendmail",
        "smtpauth": False,
        "smtpuser": "mailer@example.com",
        "smtppass": SMTP_PASSWORD,
        "smtphost": "localhost",
        "smtpsecure": "none",
        "smtpport": 25,
        "caching": 0,
        "cache_handler": "file",
        "cachetime": 15,
        "cache_platformprefix": False,
        "MetaDesc": META_DESC,
        "MetaAuthor": True,
        "MetaVersion": False,
        "MetaRights": "",
        "robots": "",
        "sef": True,
        "sef_rewrite": True,
        "sef_suffix": False,
        "unicodeslugs": False,
        "feed_limit": 10,
        "feed_email": "none",
        "log_path": str(root / "administrator" / "logs"),
        "tmp_path": str(root / "tmp"),
        "lifetime": 15,
        "session_handler": "database",
        "shared_session": False,
        "session_metadata": True,
        "session_metadata_for_guest": True,
        "session_filesystem_path": "",
        "session_memcached_server_host": "localhost",
        "session_memcached_server_port": 11211,
        "session_redis_persist": 1,
        "session_redis_server_host": "localhost",
        "session_redis_server_port": 6379,
        "session_redis_server_auth": "",
        "session_redis_server_db": 0,
        "memcached_persist": True,
        "memcached_compress": False,
        "memcached_server_host": "localhost",
        "memcached_server_port": 11211,
        "redis_persist": True,
        "redis_server_host": "localhost",
        "redis_server_port": 6379,
        "redis_server_auth": "",
        "redis_server_db": 0,
        "proxy_enable": False,
        "proxy_host": "",
        "proxy_port": "",
        "proxy_user": "",
        "proxy_pass": "",
        "massmailoff": False,
        "replyto": "",
        "replytoname": "",
        "sitename_pagetitles": 0,
        "cookie_domain": "",
        "cookie_path": "",
        "asset_id": 1,
        "frontediting": 1,
        "behind_loadbalancer": False,
        "cors": False,
        "cors_allow_origin": "*",
        "cors_allow_headers": "Content-Type,X-Joomla-Token",
        "cors_allow_methods": "",
        "log_everything": 0,
        "log_deprecated": 0,
        "log_priorities": {"0": "all"},
        "log_categories": "",
        "log_category_mode": 0,
    }


def joomla_config_text(values: dict) -> str:
    lines = ["<?php", "class JConfig {"]
    lines += [f"\tpublic ${name} = {_php_literal(value)};" for name, value in values.items()]
    lines += ["}", ""]
    return "\n".join(lines)


# --- files ----------------------------------------------------------------------------

class _Files:
    """Collects the planned tree; ``write`` puts it on disk with fixed mtimes."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.files: dict[str, bytes] = {}
        self.symlinks: dict[str, str] = {}
        self.empty_dirs: list[str] = []

    def add(self, path: str, data: bytes | str) -> None:
        self.files[path] = data.encode("utf-8") if isinstance(data, str) else data

    def words(self, count: int) -> str:
        return " ".join(self.rng.choices(_WORDS, k=count))

    def ident(self) -> str:
        return "".join(w.capitalize() for w in self.rng.choices(_WORDS, k=2))

    # content makers -------------------------------------------------------------------
    def php(self, package: str) -> str:
        methods = []
        for _ in range(self.rng.randint(1, 8)):
            body = "\n".join(f"        $this->{self.ident().lower()} = '{self.words(self.rng.randint(2, 9))}';"
                             for _ in range(self.rng.randint(1, 6)))
            methods.append(f"    public function get{self.ident()}()\n    {{\n{body}\n"
                           f"        return $this;\n    }}\n")
        return ("<?php\n\n/**\n * @package     Joomla.Site\n"
                f" * @subpackage  {package}\n *\n"
                " * @copyright   (C) 2023 Open Source Matters, Inc. <https://www.joomla.org>\n"
                " * @license     GNU General Public License version 2 or later; see LICENSE.txt\n */\n\n"
                "\\defined('_JEXEC') or die;\n\n"
                f"class {self.ident()}{self.ident()}\n{{\n" + "\n".join(methods) + "}\n")

    def css(self) -> str:
        rules = [f".{self.rng.choice(_WORDS)}-{self.rng.choice(_WORDS)} {{ margin: {self.rng.randint(0, 40)}px; "
                 f"color: #{self.rng.randrange(16**6):06x}; }}" for _ in range(self.rng.randint(5, 60))]
        return "\n".join(rules) + "\n"

    def js(self) -> str:
        parts = [f"function {self.ident()}(a,b){{return a+b+'{self.words(3)}';}}"
                 for _ in range(self.rng.randint(3, 40))]
        return "(()=>{'use strict';" + ";".join(parts) + "})();\n"

    def ini(self, prefix: str) -> str:
        return "".join(f'{prefix}_{self.rng.choice(_WORDS).upper()}_{i}="{self.words(5).capitalize()}"\n'
                       for i in range(self.rng.randint(5, 50)))

    def xml(self, name: str) -> str:
        return ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f'<extension type="component" method="upgrade">\n\t<name>{name}</name>\n'
                "\t<author>Joomla! Project</author>\n\t<creationDate>2023-11</creationDate>\n"
                f"\t<version>{'.'.join(map(str, JOOMLA_VERSION))}</version>\n"
                f"\t<description>{self.words(12)}</description>\n</extension>\n")

    def image(self, kind: str, low: int, high: int) -> bytes:
        body = self.rng.randbytes(self.rng.randint(low, high))
        if kind == "jpg":
            return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + body + b"\xff\xd9"
        if kind == "png":
            return (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + self.rng.randbytes(13) + b"\x00\x00\x00\x00"
                    + body + b"\x00\x00\x00\x00IEND\xaeB`\x82")
        if kind == "gif":
            return b"GIF89a" + body + b";"
        raise ValueError(kind)

    # writing -----------------------------------------------------------------------------
    def write(self, root: Path) -> None:
        made: set[Path] = set()
        for index, (rel, data) in enumerate(sorted(self.files.items())):
            path = root / rel
            if path.parent not in made:
                path.parent.mkdir(parents=True, exist_ok=True)
                made.add(path.parent)
            path.write_bytes(data)
            mtime = BASE_MTIME + index * 61
            os.utime(path, (mtime, mtime))
        for rel, target in sorted(self.symlinks.items()):
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.symlink_to(target)
            os.utime(path, (BASE_MTIME, BASE_MTIME), follow_symlinks=False)
        for rel in self.empty_dirs:
            (root / rel).mkdir(parents=True, exist_ok=True)
        # Directory mtimes last (writing files changes them), deepest first.
        for dirpath in sorted((p for p in root.rglob("*") if p.is_dir() and not p.is_symlink()),
                              key=lambda p: len(p.parts), reverse=True):
            os.utime(dirpath, (BASE_MTIME, BASE_MTIME))
        os.utime(root, (BASE_MTIME, BASE_MTIME))


_COMPONENTS = ("content users menus modules plugins templates media categories contact banners "
               "tags fields finder installer languages messages newsfeeds privacy redirect "
               "scheduler search config cache checkin admin").split()
_MODULES = ("articles_latest articles_popular articles_news breadcrumbs custom footer login menu "
            "random_image related_items search stats syndicate tags_popular users_latest "
            "whosonline wrapper banners languages finder articles_archive articles_categories "
            "articles_category tags_similar").split()
_PLUGIN_GROUPS = {
    "authentication": "joomla cookie ldap",
    "content": "emailcloak fields finder joomla loadmodule pagebreak pagenavigation vote",
    "editors": "codemirror none tinymce",
    "system": "cache debug fields highlight httpheaders languagefilter log logout redirect sef stats",
    "user": "contactcreator joomla profile terms token",
    "finder": "categories contacts content newsfeeds tags",
    "quickicon": "checkinfo downloadkey extensionupdate joomlaupdate overridecheck phpversioncheck",
    "webservices": "banners config contact content languages media menus modules plugins users",
}
_VENDOR_PACKAGES = ("joomla/application joomla/database joomla/di joomla/event joomla/filesystem "
                    "joomla/http joomla/registry joomla/string joomla/uri psr/log psr/container "
                    "symfony/console symfony/yaml laminas/laminas-diactoros phpmailer/phpmailer "
                    "tobscure/json-api algo26-matthias/idna-convert ezyang/htmlpurifier").split()


def _plan_files(rng: random.Random, config_text: str, extra_php: int,
                extra_images: int) -> _Files:
    f = _Files(rng)
    f.add("configuration.php", config_text)
    f.add("index.php", "<?php\n\n/**\n * @package    Joomla.Site\n */\n\n"
          "define('_JEXEC', 1);\n\nrequire_once __DIR__ . '/includes/app.php';\n")
    htaccess = ("##\n# Joomla! .htaccess (trimmed for the demo)\n##\nOptions +FollowSymlinks\n"
                "Options -Indexes\n<IfModule mod_headers.c>\n\tHeader always set X-Content-Type-Options \"nosniff\"\n"
                "</IfModule>\nRewriteEngine On\nRewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]\n"
                "RewriteCond %{REQUEST_URI} !^/index\\.php\nRewriteCond %{REQUEST_FILENAME} !-f\n"
                "RewriteCond %{REQUEST_FILENAME} !-d\nRewriteRule .* index.php [L]\n")
    f.add(".htaccess", htaccess)
    f.add("htaccess.txt", htaccess)
    f.add("web.config.txt", '<?xml version="1.0" encoding="UTF-8"?>\n<configuration>\n   <system.webServer>\n'
          '       <directoryBrowse enabled="false" />\n   </system.webServer>\n</configuration>\n')
    f.add("robots.txt", "User-agent: *\nDisallow: /administrator/\nDisallow: /cache/\nDisallow: /tmp/\n")
    f.add("robots.txt.dist", "User-agent: *\nDisallow: /administrator/\n")
    f.add("LICENSE.txt", "GNU GENERAL PUBLIC LICENSE\nVersion 2, June 1991\n" + f.words(2000) + "\n")
    f.add("README.txt", "Joomla! " + ".".join(map(str, JOOMLA_VERSION)) + "\n" + f.words(300) + "\n")
    major, minor, patch = JOOMLA_VERSION
    f.add("libraries/src/Version.php",
          "<?php\n\nnamespace Joomla\\CMS;\n\n\\defined('JPATH_PLATFORM') or die;\n\nfinal class Version\n{\n"
          "    public const PRODUCT = 'Joomla!';\n"
          f"    public const MAJOR_VERSION = {major};\n    public const MINOR_VERSION = {minor};\n"
          f"    public const PATCH_VERSION = {patch};\n    public const EXTRA_VERSION = '';\n"
          "    public const DEV_STATUS = 'Stable';\n    public const CODENAME = 'Pamoja';\n"
          "    public const RELDATE = '30-September-2024';\n}\n")
    for name in ("app.php", "defines.php", "framework.php"):
        f.add(f"includes/{name}", f.php("Joomla.Site"))
        f.add(f"administrator/includes/{name}", f.php("Joomla.Administrator"))
    f.add("administrator/index.php", f.php("Joomla.Administrator"))
    f.add("api/index.php", f.php("Joomla.API"))
    f.add("cli/joomla.php", f.php("Joomla.CLI"))

    for comp in _COMPONENTS:
        admin = f"administrator/components/com_{comp}"
        f.add(f"{admin}/{comp}.xml", f.xml(f"com_{comp}"))
        f.add(f"{admin}/config.xml", f.xml(f"com_{comp}"))
        for sub in ("Controller", "Model", "View/Articles", "Table", "Service/HTML", "Extension"):
            for _ in range(rng.randint(1, 4)):
                f.add(f"{admin}/src/{sub}/{f.ident()}.php", f.php(f"com_{comp}"))
        for _ in range(rng.randint(2, 6)):
            f.add(f"{admin}/tmpl/{rng.choice(_WORDS)}/{rng.choice(_WORDS)}.php", f.php(f"com_{comp}"))
        f.add(f"{admin}/forms/filter_{comp}.xml", f.xml(comp))
        f.add(f"{admin}/services/provider.php", f.php(f"com_{comp}"))
        site = f"components/com_{comp}"
        for sub in ("Controller", "Model", "View/Category", "Helper"):
            for _ in range(rng.randint(0, 3)):
                f.add(f"{site}/src/{sub}/{f.ident()}.php", f.php(f"com_{comp}"))
        f.add(f"{site}/tmpl/default.php", f.php(f"com_{comp}"))
        f.add(f"administrator/language/en-GB/com_{comp}.ini", f.ini(f"COM_{comp.upper()}"))
        f.add(f"administrator/language/en-GB/com_{comp}.sys.ini", f.ini(f"COM_{comp.upper()}"))
        f.add(f"media/com_{comp}/js/admin-{comp}.min.js", f.js())
        f.add(f"media/com_{comp}/css/{comp}.css", f.css())
    for mod in _MODULES:
        base = f"modules/mod_{mod}"
        f.add(f"{base}/mod_{mod}.php", f.php(f"mod_{mod}"))
        f.add(f"{base}/mod_{mod}.xml", f.xml(f"mod_{mod}"))
        f.add(f"{base}/tmpl/default.php", f.php(f"mod_{mod}"))
        f.add(f"{base}/src/Helper/{f.ident()}Helper.php", f.php(f"mod_{mod}"))
        f.add(f"language/en-GB/mod_{mod}.ini", f.ini(f"MOD_{mod.upper()}"))
    for group, names in _PLUGIN_GROUPS.items():
        for name in names.split():
            base = f"plugins/{group}/{name}"
            f.add(f"{base}/{name}.xml", f.xml(f"plg_{group}_{name}"))
            f.add(f"{base}/services/provider.php", f.php(f"plg_{group}_{name}"))
            f.add(f"{base}/src/Extension/{name.capitalize()}.php", f.php(f"plg_{group}_{name}"))
            f.add(f"administrator/language/en-GB/plg_{group}_{name}.ini", f.ini(f"PLG_{group.upper()}"))
    for tmpl, where in (("cassiopeia", "templates"), ("atum", "administrator/templates")):
        f.add(f"{where}/{tmpl}/index.php", f.php(f"tpl_{tmpl}"))
        f.add(f"{where}/{tmpl}/templateDetails.xml", f.xml(f"tpl_{tmpl}"))
        for name in ("error", "offline", "component"):
            f.add(f"{where}/{tmpl}/{name}.php", f.php(f"tpl_{tmpl}"))
        for _ in range(8):
            f.add(f"media/templates/{'site' if where == 'templates' else 'administrator'}/{tmpl}/css/"
                  f"{rng.choice(_WORDS)}-{rng.randint(1, 99)}.css", f.css())
            f.add(f"media/templates/{'site' if where == 'templates' else 'administrator'}/{tmpl}/images/"
                  f"{rng.choice(_WORDS)}-{rng.randint(1, 99)}.png", f.image("png", 200, 6000))
    for area in ("Application", "Access", "Cache", "Component", "Database", "Document", "Event",
                 "Factory", "Form/Field", "Form/Rule", "Helper", "HTML", "Image", "Language",
                 "Log", "Mail", "MVC/Model", "MVC/View", "Router", "Session", "Table", "User"):
        for _ in range(rng.randint(4, 14)):
            f.add(f"libraries/src/{area}/{f.ident()}.php", f.php("Joomla.Libraries"))
    for package in _VENDOR_PACKAGES:
        f.add(f"libraries/vendor/{package}/LICENSE", f.words(200))
        for _ in range(rng.randint(6, 20)):
            f.add(f"libraries/vendor/{package}/src/{f.ident()}/{f.ident()}.php", f.php(package))
    for i in range(extra_php):
        f.add(f"libraries/vendor/bulk/pkg{i // 500:03d}/src/Class{i:06d}.php", f.php("bulk"))
    for lib in ("bootstrap", "choicesjs", "codemirror", "tinymce", "fontawesome-free", "joomla-custom-elements"):
        for _ in range(rng.randint(4, 15)):
            f.add(f"media/vendor/{lib}/js/{rng.choice(_WORDS)}-{rng.randint(1, 999)}.min.js", f.js())
        for _ in range(rng.randint(1, 5)):
            f.add(f"media/vendor/{lib}/css/{rng.choice(_WORDS)}-{rng.randint(1, 999)}.min.css", f.css())
    for name in ("core", "joomla-fieldset", "keepalive", "multiselect", "showon", "fields/calendar"):
        f.add(f"media/system/js/{name}.js", f.js())
        f.add(f"media/system/js/{name}.min.js", f.js())
    f.add("media/system/images/joomla-favicon.svg",
          '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7"/></svg>\n')
    f.add("language/en-GB/joomla.ini", f.ini("J"))
    f.add("language/en-GB/langmetadata.xml", f.xml("English (en-GB)"))
    f.add("language/de-DE/joomla.ini", "JLIB_GRÜSSE=\"Grüße aus Köln\"\n" + f.ini("J"))

    # images: the user's uploads, including non-ASCII names and a space.
    f.add("images/index.html", "<!DOCTYPE html><title></title>\n")
    f.add("images/joomla_black.png", f.image("png", 1000, 3000))
    f.add("images/powered_by.png", f.image("png", 500, 2000))
    for i in range(1, 13):
        f.add(f"images/banners/banner-{i:03d}.jpg", f.image("jpg", 3000, 20000))
    for i in range(1, 9):
        f.add(f"images/headers/header-{i:02d}.jpg", f.image("jpg", 5000, 30000))
    for park in ("blue_mountains", "landscape", "animals"):
        for i in range(1, 11):
            f.add(f"images/sampledata/parks/{park}/photo_{i:02d}.jpg", f.image("jpg", 2000, 25000))
    f.add("images/café/übersicht 1.jpg", f.image("jpg", 4000, 9000))
    f.add("images/café/menü & preise.gif", f.image("gif", 500, 3000))
    f.add("images/日本語/写真.png", f.image("png", 500, 3000))
    f.add("images/docs/O'Reilly notes (draft).txt", "It's a file name with an apostrophe.\n")
    for i in range(extra_images):
        f.add(f"images/gallery/{2010 + i // 4000}/{(i // 400) % 10 + 1:02d}/img-{i:06d}.jpg",
              f.image("jpg", 1000, 10000))
    f.symlinks["images/latest-banner.jpg"] = "banners/banner-001.jpg"
    f.empty_dirs.append("images/uploads-empty")

    # Folders whose contents backups skip; Joomla keeps an index.html in each.
    for folder in ("cache", "tmp", "administrator/cache", "administrator/logs"):
        f.add(f"{folder}/index.html", "<!DOCTYPE html><title></title>\n")
    for i in range(12):
        f.add(f"cache/com_content/{hashlib.md5(f'c{i}'.encode()).hexdigest()}.php",
              "<?php die(\"Access Denied\"); ?>#x#" + f.words(80))
        f.add(f"administrator/cache/autoload_psr4-{i}.php", f.php("cache"))
    f.add("tmp/install_6560f1a2b3c4d.zip", b"PK\x03\x04" + rng.randbytes(40_000))
    f.add("tmp/sess_upload.tmp", rng.randbytes(2_000))
    f.add("administrator/logs/error.php", "#<?php die('Forbidden.'); ?>\n#Date: 2023-11-14 22:13:20 UTC\n"
          + "".join(f"2023-11-14T22:{i % 60:02d}:00+00:00\tERROR 127.0.0.1\t{f.words(8)}\n" for i in range(50)))
    f.add("administrator/logs/joomla_update.php", "#<?php die('Forbidden.'); ?>\n" + f.words(300))
    return f


# --- database ---------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE `{p}usergroups` (
  `id` int unsigned NOT NULL AUTO_INCREMENT, `parent_id` int unsigned NOT NULL DEFAULT 0,
  `lft` int NOT NULL DEFAULT 0, `rgt` int NOT NULL DEFAULT 0,
  `title` varchar(100) NOT NULL DEFAULT '',
  PRIMARY KEY (`id`), UNIQUE KEY `idx_usergroup_parent_title_lookup` (`parent_id`,`title`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `{p}users` (
  `id` int NOT NULL AUTO_INCREMENT, `name` varchar(400) NOT NULL DEFAULT '',
  `username` varchar(150) NOT NULL DEFAULT '', `email` varchar(100) NOT NULL DEFAULT '',
  `password` varchar(100) NOT NULL DEFAULT '', `block` tinyint NOT NULL DEFAULT 0,
  `sendEmail` tinyint DEFAULT 0, `registerDate` datetime NOT NULL,
  `lastvisitDate` datetime DEFAULT NULL, `activation` varchar(100) NOT NULL DEFAULT '',
  `params` text NOT NULL, `lastResetTime` datetime DEFAULT NULL,
  `resetCount` int NOT NULL DEFAULT 0, `otpKey` varchar(1000) NOT NULL DEFAULT '',
  `otep` varchar(1000) NOT NULL DEFAULT '', `requireReset` tinyint NOT NULL DEFAULT 0,
  `authProvider` varchar(100) NOT NULL DEFAULT '',
  PRIMARY KEY (`id`), UNIQUE KEY `idx_username` (`username`), KEY `email` (`email`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `{p}user_usergroup_map` (
  `user_id` int NOT NULL DEFAULT 0, `group_id` int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (`user_id`,`group_id`),
  CONSTRAINT `{p}fk_map_user` FOREIGN KEY (`user_id`) REFERENCES `{p}users` (`id`) ON DELETE CASCADE,
  CONSTRAINT `{p}fk_map_group` FOREIGN KEY (`group_id`) REFERENCES `{p}usergroups` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `{p}categories` (
  `id` int NOT NULL AUTO_INCREMENT, `parent_id` int unsigned NOT NULL DEFAULT 0,
  `extension` varchar(50) NOT NULL DEFAULT '', `title` varchar(255) NOT NULL,
  `alias` varchar(400) NOT NULL DEFAULT '', `published` tinyint NOT NULL DEFAULT 0,
  `params` text NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `{p}content` (
  `id` int unsigned NOT NULL AUTO_INCREMENT, `asset_id` int unsigned NOT NULL DEFAULT 0,
  `title` varchar(255) NOT NULL DEFAULT '', `alias` varchar(400) NOT NULL DEFAULT '',
  `introtext` mediumtext NOT NULL, `fulltext` mediumtext NOT NULL,
  `state` tinyint NOT NULL DEFAULT 0, `catid` int NOT NULL DEFAULT 0,
  `created` datetime NOT NULL, `created_by` int NOT NULL DEFAULT 0,
  `modified` datetime NOT NULL, `attribs` varchar(5120) NOT NULL,
  `version` int unsigned NOT NULL DEFAULT 1, `metadesc` text NOT NULL,
  `hits` int unsigned NOT NULL DEFAULT 0, `note` varchar(255) DEFAULT NULL,
  `language` char(7) NOT NULL DEFAULT '*',
  PRIMARY KEY (`id`), KEY `idx_catid` (`catid`), KEY `idx_state` (`state`),
  CONSTRAINT `{p}fk_content_category` FOREIGN KEY (`catid`) REFERENCES `{p}categories` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `{p}modules` (
  `id` int NOT NULL AUTO_INCREMENT, `title` varchar(100) NOT NULL DEFAULT '',
  `note` varchar(255) NOT NULL DEFAULT '', `content` text DEFAULT NULL,
  `position` varchar(50) NOT NULL DEFAULT '', `module` varchar(50) DEFAULT NULL,
  `published` tinyint NOT NULL DEFAULT 0, `params` text NOT NULL,
  `client_id` tinyint NOT NULL DEFAULT 0, `language` char(7) NOT NULL DEFAULT '*',
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `{p}extensions` (
  `extension_id` int NOT NULL AUTO_INCREMENT, `name` varchar(100) NOT NULL,
  `type` varchar(20) NOT NULL, `element` varchar(100) NOT NULL, `folder` varchar(100) NOT NULL DEFAULT '',
  `client_id` tinyint NOT NULL, `enabled` tinyint NOT NULL DEFAULT 0,
  `manifest_cache` text NOT NULL, `params` text NOT NULL, `custom_data` text NOT NULL,
  PRIMARY KEY (`extension_id`), KEY `element_clientid` (`element`,`client_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `{p}content_types` (
  `type_id` int unsigned NOT NULL AUTO_INCREMENT, `type_title` varchar(255) NOT NULL DEFAULT '',
  `type_alias` varchar(400) NOT NULL DEFAULT '', `table` varchar(2048) NOT NULL DEFAULT '',
  `rules` text NOT NULL, `field_mappings` text NOT NULL, `router` varchar(255) NOT NULL DEFAULT '',
  PRIMARY KEY (`type_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `{p}session` (
  `session_id` varbinary(192) NOT NULL, `client_id` tinyint unsigned DEFAULT NULL,
  `guest` tinyint unsigned DEFAULT 1, `time` int NOT NULL DEFAULT 0,
  `data` mediumtext, `userid` int DEFAULT 0, `username` varchar(150) DEFAULT '',
  PRIMARY KEY (`session_id`), KEY `time` (`time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `{p}action_logs` (
  `id` int unsigned NOT NULL AUTO_INCREMENT, `message_language_key` varchar(255) NOT NULL DEFAULT '',
  `message` text NOT NULL, `log_date` datetime NOT NULL, `extension` varchar(50) NOT NULL DEFAULT '',
  `user_id` int NOT NULL DEFAULT 0, `item_id` int NOT NULL DEFAULT 0,
  `ip_address` varchar(40) NOT NULL DEFAULT '0.0.0.0',
  PRIMARY KEY (`id`), KEY `idx_user_id` (`user_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `{p}sitepack_samples` (
  `id` int NOT NULL AUTO_INCREMENT, `label` varchar(100) NOT NULL,
  `payload` longblob DEFAULT NULL, `note` varchar(255) DEFAULT NULL, `amount` decimal(12,4) DEFAULT NULL,
  `ratio` double DEFAULT NULL, `flags` bit(8) DEFAULT NULL, `day` date DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `{p}fields_values` (
  `field_id` int unsigned NOT NULL,
  `item_id` varchar(255) NOT NULL COMMENT 'Allow references to items which have strings as ids, eg. none db systems.',
  `value` text,
  KEY `idx_field_id` (`field_id`), KEY `idx_item_id` (`item_id`(191))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `legacy_stats` (
  `day` date NOT NULL, `visits` int NOT NULL DEFAULT 0, `note` varchar(255) DEFAULT NULL,
  PRIMARY KEY (`day`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE VIEW `{p}content_published` AS
  SELECT `id`, `title`, `catid`, `created` FROM `{p}content` WHERE `state` = 1;

CREATE TRIGGER `{p}content_version_bump` BEFORE UPDATE ON `{p}content`
  FOR EACH ROW SET NEW.`version` = OLD.`version` + 1;

CREATE PROCEDURE `{p}count_published`(OUT total INT)
  READS SQL DATA
  SELECT COUNT(*) INTO total FROM `{p}content` WHERE `state` = 1;

CREATE FUNCTION `{p}article_url`(article_id INT) RETURNS varchar(600) CHARSET utf8mb4
  DETERMINISTIC
  RETURN CONCAT({live_site_sql}, '/index.php?option=com_content&view=article&id=', article_id);
"""


def _sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _php_serialize(value) -> str:
    """PHP ``serialize()`` for str/int/bool/None/list/dict (lengths in UTF-8 bytes)."""
    if value is None:
        return "N;"
    if isinstance(value, bool):
        return f"b:{int(value)};"
    if isinstance(value, int):
        return f"i:{value};"
    if isinstance(value, str):
        return f's:{len(value.encode("utf-8"))}:"{value}";'
    items = value.items() if isinstance(value, dict) else enumerate(value)
    body = "".join(_php_serialize(k) + _php_serialize(v) for k, v in items)
    return f"a:{len(value)}:{{{body}}}"


def _json_joomla(value) -> str:
    """JSON as Joomla stores params: slashes escaped (``\\/``), non-ASCII as \\u escapes."""
    return json.dumps(value, separators=(",", ":")).replace("/", "\\/")


def _create_site_account(admin: DbParams) -> DbParams:
    """A database user of its own for the site, with the awkward password from the config."""
    user = f"site_{hashlib.sha1(admin.database.encode()).hexdigest()[:12]}"
    with admin.connect() as conn, conn.cursor() as cur:
        for host in ("127.0.0.1", "localhost"):
            cur.execute(f"DROP USER IF EXISTS '{user}'@'{host}'")
            cur.execute(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY %s", (SITE_PASSWORD,))
            cur.execute(f"GRANT ALL PRIVILEGES ON `{admin.database}`.* TO '{user}'@'{host}'")
    return dataclasses.replace(admin, user=user, password=SITE_PASSWORD)


def _bcrypt(rng: random.Random, password: str, cost: int) -> str:
    """A PHP-style ``$2y$`` bcrypt hash with a salt drawn from ``rng`` (reproducible rows)."""
    alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    salt = "".join(rng.choice(alphabet) for _ in range(21)) + rng.choice(".Oeu")
    return bcrypt.hashpw(password.encode(), f"$2y${cost:02d}${salt}".encode()).decode()


def _fill_database(conn, rng: random.Random, prefix: str, live_site: str,
                   content_rows: int, log_rows: int) -> None:
    p = prefix
    escaped_url = live_site.replace("/", "\\/")
    with conn.cursor() as cur:
        for statement in _SCHEMA.format(p=p, live_site_sql=_sql_string(live_site)).split(";\n\n"):
            if statement.strip():
                cur.execute(statement.strip().rstrip(";"))

        groups = [(1, 0, "Public"), (2, 1, "Registered"), (3, 2, "Author"), (4, 3, "Editor"),
                  (5, 4, "Publisher"), (6, 1, "Manager"), (7, 6, "Administrator"),
                  (8, 1, "Super Users"), (9, 1, "Guest")]
        cur.executemany(f"INSERT INTO `{p}usergroups` (id, parent_id, lft, rgt, title) "
                        "VALUES (%s, %s, %s, %s, %s)",
                        [(g, parent, g * 2, g * 2 + 1, title) for g, parent, title in groups])
        users = [(1, "Super User", SUPER_USER["username"], SUPER_USER["email"], SUPER_USER["password"], 8),
                 (2, "Zoë Ørsted 👩‍💻", "zoe", "zoe@example.com", "Zoe'sPass", 3),
                 (3, "Иван Петров", "ivan", "ivan@example.com", "ivan\\pass", 2),
                 (4, "O'Brien", "obrien", "obrien@example.com", "x$y", 2)]
        cur.executemany(
            f"INSERT INTO `{p}users` (id, name, username, email, password, block, sendEmail, "
            "registerDate, lastvisitDate, activation, params, lastResetTime) "
            "VALUES (%s, %s, %s, %s, %s, 0, %s, %s, %s, '', %s, NULL)",
            # Joomla's cost 10 for the super user; the others cheaper so tests stay fast.
            [(uid, name, login, mail, _bcrypt(rng, pw, 10 if uid == 1 else 4), int(uid == 1), CREATED,
              CREATED if uid == 1 else None,
              _json_joomla({"admin_style": "", "language": "", "editor": "", "timezone": ""}))
             for uid, name, login, mail, pw, _ in users])
        cur.executemany(f"INSERT INTO `{p}user_usergroup_map` (user_id, group_id) VALUES (%s, %s)",
                        [(u[0], u[5]) for u in users])

        cur.executemany(
            f"INSERT INTO `{p}categories` (id, parent_id, extension, title, alias, published, params) "
            "VALUES (%s, 0, 'com_content', %s, %s, 1, %s)",
            [(1, "Uncategorised", "uncategorised", "{}"), (2, "Blog 📝", "blog", "{}"),
             (3, "Nachrichten – Köln", "nachrichten-koeln",
              _json_joomla({"image": "images/headers/header-01.jpg", "link": live_site + "/blog"}))])

        articles = []
        for i in range(1, min(content_rows, 100) + 1):
            intro = (f"<p>{' '.join(rng.choice(_WORDS) for _ in range(20))} 😀🚀 "
                     f"<a href=\"{live_site}/index.php/blog/{i}\">read more</a> "
                     f"<img src=\"{live_site}/images/banners/banner-{i % 12 + 1:03d}.jpg\"></p>")
            articles.append((i, f"Artikel {i}: Grüße 🎉", f"artikel-{i}", intro,
                             "" if i % 3 else f"<p>{' '.join(rng.choice(_WORDS) for _ in range(60))}</p>",
                             int(i % 5 != 0), i % 3 + 1, CREATED, 1, CREATED,
                             _json_joomla({"show_title": "", "link_titles": "", "urla": live_site + f"/x/{i}"}),
                             "" if i % 2 else f"Meta {i}", None if i % 4 else "", rng.randint(0, 5000)))
        cur.executemany(
            f"INSERT INTO `{p}content` (id, title, alias, introtext, `fulltext`, state, catid, created, "
            "created_by, modified, attribs, metadesc, note, hits) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", articles)

        serialized_url = _php_serialize({"site": live_site, "count": 3, "nested": {"url": live_site + "/x",
                                         "tags": ["a", "ü"]}, "on": True, "off": None})
        modules = [
            (1, "Main Menu", None, "sidebar-right", "mod_menu",
             _json_joomla({"menutype": "mainmenu", "base": live_site + "/index.php"})),
            (2, "Custom HTML", f"<p>Visit <a href=\"{live_site}/\">us</a> 🌍</p>", "footer", "mod_custom",
             _json_joomla({"prepare_content": 0, "backgroundimage": "images/headers/header-02.jpg"})),
            (3, "Login", "", "sidebar-left", "mod_login", _json_joomla({"login": live_site + "/welcome"})),
            (4, "Legacy serialized", serialized_url, "debug", "mod_custom", "{}"),
        ]
        cur.executemany(f"INSERT INTO `{p}modules` (id, title, content, position, module, published, params) "
                        "VALUES (%s, %s, %s, %s, %s, 1, %s)", modules)

        extensions = []
        for i, name in enumerate(["com_content", "com_users", "mod_menu", "plg_system_sef",
                                  "tpl_cassiopeia", "lib_joomla"], start=1):
            params = {"sitemap_url": live_site + "/sitemap.xml", "nested": {"cdn": live_site + "/media"}}
            extensions.append((i, name, name.split("_")[0], name, 0, 1,
                               _json_joomla({"name": name, "author": "Joomla! Project",
                                             "authorUrl": "www.joomla.org", "version": "4.4.9"}),
                               _json_joomla(params),
                               _php_serialize({"last_check": CREATED, "url": live_site})))
        cur.executemany(
            f"INSERT INTO `{p}extensions` (extension_id, name, type, element, client_id, enabled, "
            "manifest_cache, params, custom_data) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", extensions)

        content_types = [
            (1, "Article", "com_content.article",
             '{"special":{"dbtable":"#__content","key":"id","type":"ArticleTable","prefix":'
             '"Joomla\\\\Component\\\\Content\\\\Administrator\\\\Table\\\\","config":"array()"},'
             '"common":{"dbtable":"#__ucm_content","key":"ucm_id","type":"Corecontent",'
             '"prefix":"JTable","config":"array()"}}',
             "", '{"common":{"core_content_item_id":"id","core_title":"title"}}',
             "RouteHelper::getArticleRoute"),
            (2, "User", "com_users.user", '{"special":{"dbtable":"#__users","key":"id"}}', "", "{}", ""),
        ]
        cur.executemany(f"INSERT INTO `{p}content_types` (type_id, type_title, type_alias, `table`, rules, "
                        "field_mappings, router) VALUES (%s, %s, %s, %s, %s, %s, %s)", content_types)

        cur.executemany(f"INSERT INTO `{p}session` (session_id, client_id, guest, time, data, userid, username) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                        [(rng.randbytes(16).hex().encode(), 0, int(i != 0), 1_700_000_000 + i,
                          "joomla|s:" + "x" * 20 + ";", 1 if i == 0 else 0, "admin" if i == 0 else "")
                         for i in range(5)])

        samples = [
            ("every byte 0..255", bytes(range(256)), "binary", "1234.5678", 0.1, b"\xa5", "2023-11-14"),
            ("reversed bytes", bytes(range(255, -1, -1)), "", "-0.0001", -1e300, b"\x00", "1970-01-01"),
            ("NUL bytes only", b"\x00" * 64, None, None, None, None, None),
            ("empty blob", b"", "", "0.0000", 0.0, b"\xff", "9999-12-31"),
            ("NULL blob", None, None, None, None, None, None),
            ("quotes and escapes", b"'\"\\\n\r\t\x1a%_", "it's \"quoted\" \\ ;-- DROP", "1.0000", 2.5, b"\x01",
             "2000-02-29"),
            ("utf8 text as bytes", "emoji 😀 ü 日本".encode(), "emoji 😀 ü 日本", None, None, None, None),
            ("large random", rng.randbytes(300_000), "300 kB", None, None, None, None),
        ]
        cur.executemany(f"INSERT INTO `{p}sitepack_samples` (label, payload, note, amount, ratio, flags, day) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s)", samples)

        # Joomla's custom field values: no primary key (as in Joomla 3.10 to 5), URLs in
        # them, a NULL, and the same value saved twice for one item (rows nothing tells apart).
        cur.executemany(f"INSERT INTO `{p}fields_values` (field_id, item_id, value) VALUES (%s, %s, %s)",
                        [(1, "1", f"{live_site}/images/headers/header-01.jpg"),
                         (2, "1", f'<a href="{live_site}/index.php/blog">blog</a>'),
                         (2, "1", f'<a href="{live_site}/index.php/blog">blog</a>'),
                         (3, "2", None), (4, "2", "no URL here")])

        cur.executemany("INSERT INTO legacy_stats (day, visits, note) VALUES (%s, %s, %s)",
                        [(f"2023-11-{d:02d}", rng.randint(0, 999), None if d % 2 else f"{escaped_url} day {d}")
                         for d in range(1, 31)])

        # Bulk rows generated by the server itself (Sequence engine), fast even for "large".
        if content_rows > 100:
            cur.execute(
                f"INSERT INTO `{p}content` (id, title, alias, introtext, `fulltext`, state, catid, created, "
                "created_by, modified, attribs, metadesc, note, hits) "
                f"SELECT seq, CONCAT('Bulk article ', seq, ' ✓'), CONCAT('bulk-', seq), "
                f"CONCAT('<p>Bulk ', seq, ' 🚀 <a href=\"', {_sql_string(live_site)}, '/bulk/', seq, '\">link</a></p>'), "
                f"REPEAT('lorem ipsum ', seq % 50), seq % 2, seq % 3 + 1, '{CREATED}', 1, '{CREATED}', "
                f"CONCAT('{{\"urla\":\"', {_sql_string(escaped_url)}, '\\\\/b\\\\/', seq, '\"}}'), '', "
                f"IF(seq % 4 = 0, NULL, ''), seq % 1000 "
                f"FROM seq_101_to_{content_rows}")
        cur.execute(
            f"INSERT INTO `{p}action_logs` (message_language_key, message, log_date, extension, user_id, item_id, "
            "ip_address) "
            "SELECT 'PLG_ACTIONLOG_JOOMLA_USER_LOGGED_IN', "
            "CONCAT('{\"action\":\"login\",\"userid\":1,\"username\":\"admin\",\"app\":\"PLG_ACTIONLOG_JOOMLA_APPLICATION_ADMINISTRATOR\",\"n\":', seq, '}'), "
            f"'{CREATED}' + INTERVAL seq SECOND, 'com_users', 1, seq % 100, "
            "CONCAT('10.0.', seq % 256, '.', seq % 200) "
            f"FROM seq_1_to_{log_rows}")


def _count_rows(conn, tables: list[str]) -> dict[str, int]:
    counts = {}
    with conn.cursor() as cur:
        for table in tables:
            cur.execute(f"SELECT COUNT(*) FROM `{table}`")
            counts[table] = cur.fetchone()[0]
    return counts


def build_demo_site(root: Path, db: DbParams, *, size: str = "small", prefix: str = "jos_",
                    live_site: str = "https://www.example.com/joomla", seed: int = 1) -> DemoSite:
    """Builds the demo site's files into ``root`` (must not exist or be empty) and its
    tables into the (empty) database ``db``; returns what it made.

    ``db`` must be an account allowed to create users (the harness's one is): the site gets
    its own database user whose password is in ``configuration.php``.
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, not {size!r}")
    extra_php, extra_images, content_rows, log_rows = SIZES[size]
    root = Path(root).absolute()
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty; the demo site is built into a new folder")
    root.mkdir(parents=True, exist_ok=True)

    rng = random.Random(seed)
    site_db = _create_site_account(db)
    secret = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
                     for _ in range(16))
    values = joomla_config_values(root, site_db, prefix=prefix, live_site=live_site, secret=secret)
    files = _plan_files(rng, joomla_config_text(values), extra_php, extra_images)
    try:
        files.write(root)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise

    with site_db.connect() as conn:
        _fill_database(conn, random.Random(seed + 1), prefix, live_site, content_rows, log_rows)
        tables = [f"{prefix}{name}" for name in (
            "usergroups", "users", "user_usergroup_map", "categories", "content", "modules", "extensions",
            "content_types", "session", "action_logs", "sitepack_samples", "fields_values")]
        row_counts = _count_rows(conn, tables + ["legacy_stats"])

    return DemoSite(
        root=root, db=site_db, prefix=prefix, live_site=live_site,
        config={name: _as_php_sees(value) for name, value in values.items()},
        file_count=len(files.files), total_bytes=sum(len(d) for d in files.files.values()),
        symlinks=dict(files.symlinks), empty_dirs=list(files.empty_dirs),
        skipped_dirs=["cache", "tmp", "administrator/cache", "administrator/logs"],
        tables=tables, unprefixed_tables=["legacy_stats"], views=[f"{prefix}content_published"],
        triggers=[f"{prefix}content_version_bump"], procedures=[f"{prefix}count_published"],
        functions=[f"{prefix}article_url"], row_counts=row_counts, super_user=dict(SUPER_USER),
        platform_version=".".join(map(str, JOOMLA_VERSION)),
    )


# --- a WordPress configuration (for WordPress-platform tests) ------------------------------

WP_CONFIG_TEMPLATE = """<?php
/**
 * The base configuration for WordPress
 *
 * @package WordPress
 */

// ** Database settings - You can get this info from your web host ** //
/** The name of the database for WordPress */
define( 'DB_NAME', @DB_NAME@ );

/** Database username */
define( 'DB_USER', @DB_USER@ );

/** Database password */
define( 'DB_PASSWORD', @DB_PASSWORD@ );

/** Database hostname */
define( 'DB_HOST', @DB_HOST@ );

/** Database charset to use in creating database tables. */
define( 'DB_CHARSET', 'utf8mb4' );

/** The database collate type. Don't change this if in doubt. */
define( 'DB_COLLATE', '' );

/**#@+
 * Authentication unique keys and salts.
 */
define( 'AUTH_KEY',         'put your unique phrase here' );
define( 'SECURE_AUTH_KEY',  'put your unique phrase here' );
define( 'LOGGED_IN_KEY',    'put your unique phrase here' );
define( 'NONCE_KEY',        'put your unique phrase here' );
define( 'AUTH_SALT',        'put your unique phrase here' );
define( 'SECURE_AUTH_SALT', 'put your unique phrase here' );
define( 'LOGGED_IN_SALT',   'put your unique phrase here' );
define( 'NONCE_SALT',       'put your unique phrase here' );

/**#@-*/

/**
 * WordPress database table prefix.
 */
$table_prefix = @PREFIX@;

define( 'WP_DEBUG', false );

define( 'WP_HOME', @HOME@ );
define( 'WP_SITEURL', @HOME@ );

/* Add any custom values between this line and the "stop editing" line. */



/* That's all, stop editing! Happy publishing. */

/** Absolute path to the WordPress directory. */
if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/' );
}

/** Sets up WordPress vars and included files. */
require_once ABSPATH . 'wp-settings.php';
"""


def wordpress_config_text(db: DbParams, *, prefix: str = "wp_", home: str = "https://blog.example.com") -> str:
    """WordPress' sample ``wp-config.php`` filled in (host as WordPress writes it: ``host:port``)."""
    text = WP_CONFIG_TEMPLATE
    for marker, value in (("@DB_NAME@", db.database), ("@DB_USER@", db.user), ("@DB_PASSWORD@", db.password),
                          ("@DB_HOST@", f"{db.host}:{db.port}"), ("@PREFIX@", prefix), ("@HOME@", home)):
        text = text.replace(marker, php_single_quoted(value))
    return text
