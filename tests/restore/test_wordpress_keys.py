"""A WordPress move to a new table prefix renames the rows whose key carries the prefix
(``{prefix}user_roles``, ``{prefix}capabilities``…), exactly once, and refuses to move a
multisite network to another prefix before writing anything."""

import types

import pytest

from harness.demosite import wordpress_config_text
from restorer.bundle import SITE_DUMP
from restorer.errors import SitepackError
from restorer.restore.answers import DbAnswers
from restorer.restore.session import RestoreSession
from tests.restore.bundles import make_bundle_dir

# WordPress 6.1's own definitions (wp-admin/includes/schema.php).
OPTIONS_DDL = ("CREATE TABLE `{p}options` (option_id bigint(20) unsigned NOT NULL auto_increment, "
               "option_name varchar(191) NOT NULL default '', option_value longtext NOT NULL, "
               "autoload varchar(20) NOT NULL default 'yes', PRIMARY KEY (option_id), "
               "UNIQUE KEY option_name (option_name), KEY autoload (autoload)) "
               "DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci")
USERMETA_DDL = ("CREATE TABLE `{p}usermeta` (umeta_id bigint(20) unsigned NOT NULL auto_increment, "
                "user_id bigint(20) unsigned NOT NULL default '0', meta_key varchar(255) default NULL, "
                "meta_value longtext, PRIMARY KEY (umeta_id), KEY user_id (user_id), "
                "KEY meta_key (meta_key(191))) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci")
ROLES = 'a:1:{s:13:"administrator";a:2:{s:4:"name";s:13:"Administrator";s:12:"capabilities";a:0:{}}}'


def _usermeta(prefix: str) -> list[tuple[int, str, str]]:
    """(user_id, meta_key, meta_value) as WordPress and a plugin write them for ``prefix``."""
    rows = []
    for user, role, level in ((1, "administrator", "10"), (2, "editor", "7")):
        rows += [(user, f"{prefix}capabilities", f'a:1:{{s:{len(role)}:"{role}";b:1;}}'),
                 (user, f"{prefix}user_level", level),
                 (user, f"{prefix}user-settings", "libraryContent=browse"),
                 (user, f"{prefix}user-settings-time", "1700000000"),
                 (user, f"{prefix}dashboard_quick_press_last_post_id", "4"),
                 (user, f"{prefix}myplugin_state", f"remembers {prefix}capabilities in its value"),
                 (user, "nickname", f"{prefix}capabilities"),  # a value holding the prefix: untouched
                 (user, "session_tokens", "a:0:{}")]
    # `_` is a LIKE wildcard: these start with something else than the exact prefix.
    rows += [(1, prefix.replace("_", "X", 1) + "capabilities", "not ours"),
             (1, prefix.upper() + "capabilities", "other case, not ours")]
    return rows


def _site(tmp_path, db, prefix, *, multisite=False, network_tables=False):
    root = tmp_path / "origin"
    root.mkdir()
    config = wordpress_config_text(db, prefix=prefix)
    if multisite:
        config = config.replace("define( 'WP_DEBUG', false );", "define( 'WP_DEBUG', false );\n"
                                "define( 'MULTISITE', true );")
    (root / "wp-config.php").write_text(config)
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute(OPTIONS_DDL.format(p=prefix))
        cur.execute(USERMETA_DDL.format(p=prefix))
        cur.executemany(f"INSERT INTO `{prefix}options` (option_name, option_value) VALUES (%s, %s)",
                        [(f"{prefix}user_roles", ROLES), ("siteurl", "https://blog.example.com"),
                         ("home", "https://blog.example.com"),
                         # core's own name, whatever the prefix: never renamed
                         ("wp_page_for_privacy_policy", "3")])
        cur.executemany(f"INSERT INTO `{prefix}usermeta` (user_id, meta_key, meta_value) VALUES (%s, %s, %s)",
                        _usermeta(prefix))
        if network_tables:
            cur.execute(f"CREATE TABLE `{prefix}blogs` (blog_id bigint(20) NOT NULL PRIMARY KEY)")
    return types.SimpleNamespace(root=root, db=db, prefix=prefix, live_site="https://blog.example.com")


def _answers(target, prefix) -> DbAnswers:
    return DbAnswers(host=target.host, port=target.port, user=target.user, password=target.password,
                     database=target.database, prefix=prefix)


def _import(session, target, prefix):
    session.set_database(SITE_DUMP, _answers(target, prefix))
    while not session.import_step(SITE_DUMP, 5).done:
        pass


def _rows(target, prefix):
    with target.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT option_name, option_value FROM `{prefix}options` ORDER BY option_id")
        options = cur.fetchall()
        cur.execute(f"SELECT umeta_id, user_id, meta_key, meta_value FROM `{prefix}usermeta` ORDER BY umeta_id")
        return options, cur.fetchall()


def _expected(origin_prefix, new_prefix):
    """The origin's rows with every key that starts with the exact old prefix renamed."""
    def rename(key):
        return new_prefix + key[len(origin_prefix):] if key.startswith(origin_prefix) else key
    options = ((f"{new_prefix}user_roles", ROLES), ("siteurl", "https://blog.example.com"),
               ("home", "https://blog.example.com"), ("wp_page_for_privacy_policy", "3"))
    meta = tuple((i, user, rename(key), value) for i, (user, key, value) in enumerate(_usermeta(origin_prefix), 1))
    return options, meta


@pytest.mark.parametrize("old, new", [("wp_", "wp_x_"), ("wp_x_", "wp_"), ("wp_", "nw_")])
def test_prefix_bound_keys_are_renamed_once(old, new, tmp_path, db, db_factory):
    restored = make_bundle_dir(_site(tmp_path, db, old), tmp_path / "restored")
    target = db_factory()
    session = RestoreSession(restored)
    _import(session, target, new)
    setup = {"live_site": "", "htaccess": "keep"}
    result = session.apply_setup(setup, None)
    expected = _expected(old, new)
    assert _rows(target, new) == expected
    assert result.written
    assert any(f"from {old} to {new}: 1 option(s), 12 user meta key(s)" in n for n in result.notes), result.notes

    session.apply_setup(setup, None)  # the setup page submitted twice
    assert _rows(target, new) == expected

    # A crash after the rename's commit, before its record was saved: a new session
    # (as after a restart) must see from the database that the keys are renamed.
    session.state.databases[SITE_DUMP].keys_renamed_to = None
    session.save()
    again = RestoreSession(restored)
    again.db_answers[SITE_DUMP] = _answers(target, new)
    again.apply_setup(setup, None)
    assert _rows(target, new) == expected


def test_same_prefix_keeps_every_key(tmp_path, db, db_factory):
    restored = make_bundle_dir(_site(tmp_path, db, "wp_"), tmp_path / "restored")
    target = db_factory()
    session = RestoreSession(restored)
    _import(session, target, "wp_")
    session.apply_setup({"live_site": "", "htaccess": "keep"}, None)
    assert _rows(target, "wp_") == _expected("wp_", "wp_")


@pytest.mark.parametrize("how, reason", [("MULTISITE in wp-config.php", "wp-config.php defines MULTISITE as true"),
                                         ("network tables in the dump", "its database has the network table wp_blogs")])
def test_multisite_prefix_change_is_refused_before_anything_is_written(how, reason, tmp_path, db, db_factory):
    site = _site(tmp_path, db, "wp_", multisite=how.startswith("MULTISITE"),
                 network_tables=how.startswith("network"))
    restored = make_bundle_dir(site, tmp_path / "restored")
    target = db_factory()
    session = RestoreSession(restored)
    with pytest.raises(SitepackError) as refused:
        session.set_database(SITE_DUMP, _answers(target, "nw_"))
    assert str(refused.value) == (f"this WordPress site is a multisite network ({reason}): moving a network to "
                                  f"another table prefix is not supported yet; restore it with its own prefix wp_")
    with target.connect() as conn, conn.cursor() as cur:
        cur.execute("SHOW TABLES")
        assert cur.fetchall() == ()
    assert not session.bundle.state_path.exists()

    # The same prefix keeps working: the network is restored as it was.
    _import(session, target, "wp_")
    session.apply_setup({"live_site": "", "htaccess": "keep"}, None)
    assert _rows(target, "wp_") == _expected("wp_", "wp_")
