"""Site detection: platform, database settings and the warnings a backup shows up front."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.demosite import build_demo_site, joomla_config_text, joomla_config_values, wordpress_config_text
from harness.mariadb import DbParams
from packer.site import detect_site, host_from_url, split_db_host
from restorer.db import DbConnectionInfo
from restorer.errors import ConfigError


@pytest.fixture
def demo(tmp_path, db):
    return build_demo_site(tmp_path / "site", db)


def test_demo_site_is_a_joomla_site_whose_database_answers(demo):
    site = detect_site(demo.root)
    assert site.platform == "joomla" and site.platform_version == "4.4.9"
    assert site.name == demo.config["sitename"]
    assert (site.db.host, site.db.port, site.db.user, site.db.password, site.db.database, site.db.socket) == \
        (demo.db.host, demo.db.port, demo.db.user, demo.db.password, demo.db.database, None)
    assert site.prefix == "jos_" and site.live_site == demo.live_site and site.host == "www.example.com"
    assert site.tmp_path == str(demo.root / "tmp") and site.log_path == str(demo.root / "administrator/logs")
    assert site.config_path == demo.root / "configuration.php" and site.warnings == []
    with site.db.connect() as conn, conn.cursor() as cur:   # the awkward password really works
        cur.execute(f"SELECT COUNT(*) FROM `{site.prefix}users`")
        assert cur.fetchone()[0] == demo.row_counts["jos_users"]


def _joomla_root(tmp_path: Path, config_text: str | None) -> Path:
    root = tmp_path / "joomla"
    (root / "administrator").mkdir(parents=True)
    (root / "administrator/index.php").write_text("<?php\n")
    (root / "libraries/src").mkdir(parents=True)
    if config_text is not None:
        (root / "configuration.php").write_text(config_text)
    return root


def _config_text(**overrides) -> str:
    values = joomla_config_values(Path("/var/www/j"), DbParams("localhost", 3306, "u", "p", "d"), prefix="jx_",
                                  live_site="", secret="s" * 16)
    values.update(overrides)
    return joomla_config_text({k: v for k, v in values.items() if v is not None})


def test_include_trick_warns_and_names_the_values(tmp_path):
    text = _config_text(host=None, user=None, password=None, db=None)
    text = text.replace("<?php\n", "<?php\nrequire_once '/home/owner/secret.php';\n", 1)
    site = detect_site(_joomla_root(tmp_path, text))
    assert site.db is None and site.prefix == "jx_"
    assert site.warnings == [
        "configuration.php includes /home/owner/secret.php: the restore wizard will have blanks for values "
        "set there (host, user, password, db)",
        "these values are missing from configuration.php: host, user, password, db; the restore wizard will "
        "have blanks for them"]


def test_missing_configuration_refuses_a_full_backup(tmp_path):
    root = _joomla_root(tmp_path, None)
    with pytest.raises(ConfigError) as caught:
        detect_site(root)
    assert str(caught.value) == (
        f"{root}/configuration.php is missing or unreadable: a full backup needs the site's configuration to "
        "restore it; fix it or make a files-only backup (--type files)")


def test_invalid_configuration_says_where(tmp_path):
    root = _joomla_root(tmp_path, "<?php\nclass JConfig {\n  public $host = 'x'\n}\n")
    with pytest.raises(ConfigError, match=r"configuration.php is not valid PHP \(line 4: expected ';' after "
                                          r"the property, found '}'\).*files-only backup \(--type files\)"):
        detect_site(root)


def test_socket_and_port_forms_of_joomla_host(tmp_path):
    site = detect_site(_joomla_root(tmp_path, _config_text(host="localhost:/run/mysqld/mysqld.sock",
                                                           live_site="http://shop.example.net:8080/x")))
    assert (site.db.host, site.db.port, site.db.socket) == ("localhost", 3306, "/run/mysqld/mysqld.sock")
    assert site.host == "shop.example.net" and site.live_site == "http://shop.example.net:8080/x"


def test_localhost_means_the_default_socket_as_in_php(tmp_path, monkeypatch):
    socket = tmp_path / "mysqld.sock"
    socket.touch()
    monkeypatch.setattr("packer.site.model.DEFAULT_SOCKETS", ("/nonexistent/mysqld.sock", str(socket)))
    for host, expected in (("localhost", str(socket)), ("localhost:3306", None), ("127.0.0.1", None)):
        site = detect_site(_joomla_root(tmp_path / host, _config_text(host=host)))
        assert site.db.socket == expected, host
    numeric = detect_site(_joomla_root(tmp_path / "numeric", _config_text(password=12345, db=2024)))
    assert (numeric.db.password, numeric.db.database) == ("12345", "2024")


def test_db_override_wins(tmp_path):
    override = DbConnectionInfo("db.example", 3310, "other", "pw", "otherdb")
    site = detect_site(_joomla_root(tmp_path, _config_text()), db_override=override)
    assert site.db is override and site.prefix == "jx_"


def test_joomla_3_version_file(tmp_path):
    root = _joomla_root(tmp_path, _config_text())
    (root / "libraries/cms/version").mkdir(parents=True)
    (root / "libraries/cms/version/version.php").write_text(
        "<?php\ndefined('JPATH_PLATFORM') or die;\nfinal class JVersion\n{\n\tconst PRODUCT = 'Joomla!';\n"
        "\tconst RELEASE = '3.6';\n\tconst DEV_LEVEL = '5';\n}\n")
    assert detect_site(root).platform_version == "3.6.5"


def test_wordpress_site(tmp_path, db):
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE wpx_options (option_id int PRIMARY KEY AUTO_INCREMENT, option_name varchar(191),"
                    " option_value longtext, autoload varchar(20))")
        cur.execute("INSERT INTO wpx_options (option_name, option_value) VALUES ('blogname', 'Mein Blog ✓'), "
                    "('siteurl', 'https://blog.example.org'), ('home', 'https://blog.example.org')")
    root = tmp_path / "wp"
    (root / "wp-includes").mkdir(parents=True)
    (root / "wp-includes/version.php").write_text("<?php\n/** The WordPress version string. */\n"
                                                  "$wp_version = '6.4.2';\n$wp_db_version = 56657;\n")
    (root / "wp-config.php").write_text(wordpress_config_text(db, prefix="wpx_", home="https://www.blog.example"))
    site = detect_site(root)
    assert site.platform == "wordpress" and site.platform_version == "6.4.2"
    assert site.name == "Mein Blog ✓" and site.prefix == "wpx_"
    assert site.live_site == "https://www.blog.example" and site.host == "www.blog.example"
    assert (site.db.host, site.db.port, site.db.user, site.db.database) == (db.host, db.port, db.user, db.database)
    assert site.db.password == db.password and site.warnings == []


def test_wordpress_config_above_the_root_is_found_and_warned(tmp_path):
    (tmp_path / "wp-config.php").write_text(
        wordpress_config_text(DbParams("127.0.0.1", 1, "u", "p", "d")))
    root = tmp_path / "public_html"
    (root / "wp-includes").mkdir(parents=True)
    (root / "wp-settings.php").write_text("<?php\n")
    site = detect_site(root)
    assert site.config_path == tmp_path / "wp-config.php"
    assert site.warnings[0] == (f"wp-config.php is outside the site root ({tmp_path / 'wp-config.php'}): the "
                                "archive will not contain it, and the restore wizard will have blanks for every "
                                "value in it")


def test_generic_site_takes_the_database_from_the_override(tmp_path):
    (tmp_path / "index.php").write_text("<?php echo 'hi';\n")
    override = DbConnectionInfo("127.0.0.1", 3306, "u", "p", "app")
    site = detect_site(tmp_path, db_override=override)
    assert (site.platform, site.db, site.prefix, site.config_path, site.host) == \
        ("generic", override, None, None, None)
    assert detect_site(tmp_path).db is None


def test_not_a_folder(tmp_path):
    with pytest.raises(ConfigError, match="is not a folder"):
        detect_site(tmp_path / "nope")


@pytest.mark.parametrize("host, expected", [
    ("localhost", ("localhost", 3306, None)),
    ("127.0.0.1:3307", ("127.0.0.1", 3307, None)),
    ("localhost:/var/run/mysqld/mysqld.sock", ("localhost", 3306, "/var/run/mysqld/mysqld.sock")),
    ("p:db.example.com:3310", ("db.example.com", 3310, None)),
    ("[::1]:3308", ("::1", 3308, None)),
    ("::1", ("::1", 3306, None)),
    ("", ("localhost", 3306, None)),
    (":3309", ("localhost", 3309, None)),
])
def test_split_db_host(host, expected):
    assert split_db_host(host) == expected


def test_host_from_url():
    assert host_from_url("https://www.example.com/joomla") == "www.example.com"
    assert host_from_url("www.example.com/x") == "www.example.com"
    assert host_from_url("") is None and host_from_url(None) is None


def _wordpress_with_another_apps_configuration(root: Path) -> None:
    (root / "wp-config.php").write_text(wordpress_config_text(DbParams("127.0.0.1", 1, "u", "p", "d")))
    (root / "wp-settings.php").write_text("<?php\n")
    (root / "configuration.php").write_text("<?php\n$db_host = 'localhost';\n")  # e.g. WHMCS's


def _another_apps_configuration_alone(root: Path) -> None:
    (root / "configuration.php").write_text("<?php\n$db_host = 'localhost';\n")


def _joomla_whose_configuration_only_includes_another_file(root: Path) -> None:
    (root / "administrator").mkdir()
    (root / "administrator/index.php").write_text("<?php\n")
    (root / "libraries/src").mkdir(parents=True)
    (root / "configuration.php").write_text("<?php\nrequire_once '/home/owner/joomla-config.php';\n")


def _wordpress_whose_configuration_is_one_folder_up(root: Path) -> None:
    (root.parent / "wp-config.php").write_text(wordpress_config_text(DbParams("127.0.0.1", 1, "u", "p", "d")))
    (root / "wp-includes").mkdir()
    (root / "wp-includes/version.php").write_text("<?php\n$wp_version = '6.4.2';\n")
    (root / "wp-settings.php").write_text("<?php\n")


@pytest.mark.parametrize("make, platform", [
    # The backup called these Joomla (any configuration.php) and refused a full backup
    # ("does not declare class JConfig"); the restore said WordPress, generic.
    (_wordpress_with_another_apps_configuration, "wordpress"),
    (_another_apps_configuration_alone, "generic"),
    # The restore called these generic (no "JConfig" in configuration.php, no wp-config.php
    # in the root), so it skipped the site setup and the URL replacement; the backup knew.
    (_joomla_whose_configuration_only_includes_another_file, "joomla"),
    (_wordpress_whose_configuration_is_one_folder_up, "wordpress"),
])
def test_the_backup_and_the_restore_see_the_same_platform(tmp_path, make, platform):
    """One rule (restorer.bundle.detect_platform) for both sides, in the cases where the
    two detectors disagreed."""
    from restorer.bundle import read_bundle
    from tests.restore.test_wizard_gate import _site

    root = tmp_path / "case" / "public_html"
    root.mkdir(parents=True)
    make(root)
    assert detect_site(root).platform == platform
    assert read_bundle(_site(root)).platform == platform
