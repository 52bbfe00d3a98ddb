"""A WordPress-style site (wp-config.php + its database, no WordPress code) restored headless
to a new database, prefix and URL: wp-config rewritten (salts refreshed), siteurl/home set,
the old URL replaced everywhere, serialized values still readable by PHP."""

import json
import os
import subprocess
import types

from harness.demosite import wordpress_config_text
from harness.php import php_json
from tests.restore.bundles import make_bundle_dir

OLD = "https://blog.example.com"
NEW = "https://new-blog.example.net/wp"


def _serialized(url: str) -> str:
    inner = f's:{len(url)}:"{url}";'
    return f'a:2:{{s:4:"home";s:{len(url)}:"{url}";s:5:"inner";s:{len(inner)}:"{inner}";}}'


def _wordpress_site(root, db):
    root.mkdir()
    (root / "wp-config.php").write_text(wordpress_config_text(db, prefix="wp_", home=OLD))
    (root / "index.php").write_text("<?php // WordPress front controller stand-in\n")
    (root / "wp-content" / "uploads").mkdir(parents=True)
    (root / "wp-content" / "uploads" / "photo.txt").write_bytes(b"\x00binary\xff")
    (root / ".htaccess").write_text("RewriteEngine On\n")
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE wp_options (option_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, "
                    "option_name VARCHAR(191) NOT NULL UNIQUE, option_value LONGTEXT NOT NULL, "
                    "autoload VARCHAR(20) NOT NULL DEFAULT 'yes') DEFAULT CHARSET=utf8mb4")
        cur.execute("CREATE TABLE wp_posts (ID BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, "
                    "post_content LONGTEXT NOT NULL, guid VARCHAR(255) NOT NULL) DEFAULT CHARSET=utf8mb4")
        cur.execute("CREATE TABLE wp_postmeta (meta_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, "
                    "post_id BIGINT UNSIGNED NOT NULL, meta_key VARCHAR(255), meta_value LONGTEXT) DEFAULT CHARSET=utf8mb4")
        cur.executemany("INSERT INTO wp_options (option_name, option_value) VALUES (%s, %s)",
                        [("siteurl", OLD), ("home", OLD), ("widget_text", _serialized(OLD + "/about")),
                         ("blogname", "Ünïcode 'blog'")])
        cur.executemany("INSERT INTO wp_posts (post_content, guid) VALUES (%s, %s)",
                        [(f'<a href="{OLD}/post-{i}">post {i}</a>', f"{OLD}/?p={i}") for i in range(1, 40)])
        cur.execute("INSERT INTO wp_postmeta (post_id, meta_key, meta_value) VALUES (1, 'json', %s)",
                    (json.dumps({"link": OLD + "/x"}),))
    return types.SimpleNamespace(root=root, db=db, prefix="wp_", live_site=OLD)


def test_wordpress_site_restores_to_a_new_url_prefix_and_database(tmp_path, db, db_factory, php):
    site = _wordpress_site(tmp_path / "origin", db)
    restored = make_bundle_dir(site, tmp_path / "restored")
    target = db_factory()
    answers = {"db": {"host": target.host, "port": target.port, "user": target.user, "password_env": "WP_DBPW",
                      "database": target.database, "prefix": "nwp_"},
               "site": {"live_site": NEW}, "replace": {"enabled": True}}
    (tmp_path / "answers.json").write_text(json.dumps(answers))
    result = subprocess.run(["sitepack", "restore", str(restored), "--answers", str(tmp_path / "answers.json")],
                            capture_output=True, text=True, env=dict(os.environ, WP_DBPW=target.password))
    assert result.returncode in (0, 2), result.stdout + result.stderr
    assert "restoring wordpress site" in result.stdout
    config = php_json(
        "define('ABSPATH', '/nonexistent/'); $src = file_get_contents(" + json.dumps(str(restored / "wp-config.php"))
        + "); $src = str_replace(\"require_once ABSPATH . 'wp-settings.php';\", '', $src);"
        " eval('?>' . $src); echo json_encode([DB_NAME, DB_USER, DB_PASSWORD, DB_HOST, $table_prefix, AUTH_KEY,"
        " WP_HOME, WP_SITEURL]);")
    assert config[:5] == [target.database, target.user, target.password, f"{target.host}:{target.port}", "nwp_"]
    assert config[6:] == [NEW, NEW]
    assert config[5] not in (site.root / "wp-config.php").read_text()  # salts refreshed
    with target.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT option_name, option_value FROM nwp_options")
        options = dict(cur.fetchall())
        cur.execute("SELECT COUNT(*) FROM nwp_posts WHERE post_content LIKE %s", (f"%{OLD}%",))
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT meta_value FROM nwp_postmeta")
        assert json.loads(cur.fetchone()[0]) == {"link": NEW + "/x"}
    assert options["siteurl"] == NEW and options["home"] == NEW
    assert options["blogname"] == "Ünïcode 'blog'"
    widget = php_json("echo json_encode(unserialize(" + json.dumps(options["widget_text"]).replace("$", "\\$") + "));")
    assert widget["home"] == NEW + "/about"
    assert php_json("echo json_encode(unserialize(" + json.dumps(widget["inner"]).replace("$", "\\$") + "));") == NEW + "/about"
    assert (restored / ".htaccess").read_text() == "RewriteEngine On\n"
    assert not (restored / "installation").exists()
