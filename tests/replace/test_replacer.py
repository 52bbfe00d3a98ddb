"""Replacer on a real MariaDB holding a WordPress-style database, judged by real PHP."""

from __future__ import annotations

import base64
import json

import pytest

from harness.php import run_php
from restorer.db import DbConnectionInfo
from restorer.errors import SitepackError
from restorer.replace.plan import plan_replacements
from restorer.replace.tables import Replacer, tables_for

OLD_URL, NEW_URL = "https://www.old-site.com/blog", "https://new-site.org"
OLD_PATH, NEW_PATH = "/var/www/old", "/srv/sites/new"
PAIRS, _ = plan_replacements(OLD_URL, NEW_URL, OLD_PATH, NEW_PATH)

SCHEMA = [
    """CREATE TABLE wp_options (option_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
       option_name VARCHAR(191) NOT NULL UNIQUE, option_value LONGTEXT NOT NULL,
       autoload VARCHAR(20) NOT NULL DEFAULT 'yes')""",
    """CREATE TABLE wp_posts (ID BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
       post_title TEXT NOT NULL, post_content LONGTEXT NOT NULL, guid VARCHAR(255) NOT NULL,
       post_excerpt TEXT NULL)""",
    """CREATE TABLE wp_postmeta (meta_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
       post_id BIGINT UNSIGNED NOT NULL, meta_key VARCHAR(255), meta_value LONGTEXT)""",
    """CREATE TABLE wp_termmeta_pairs (term_id INT NOT NULL, meta_key VARCHAR(64) NOT NULL,
       meta_value TEXT, PRIMARY KEY (term_id, meta_key))""",
    """CREATE TABLE wp_blobs (id INT NOT NULL PRIMARY KEY, data LONGBLOB)""",
    """CREATE TABLE wp_latin (id INT NOT NULL PRIMARY KEY,
       val TEXT CHARACTER SET latin1 COLLATE latin1_swedish_ci)""",
    """CREATE TABLE wp_nokey (note TEXT)""",
    """CREATE TABLE wp_term_relationships (object_id BIGINT UNSIGNED NOT NULL,
       term_taxonomy_id BIGINT UNSIGNED NOT NULL, PRIMARY KEY (object_id, term_taxonomy_id))""",
]

# Rows made by real PHP: serialize() and json_encode() as WordPress and plugins use them.
_ROWS_PHP = r"""
class Keeper { public $open; protected $guarded; private $hidden;
  function __construct($a, $b, $c) { $this->open = $a; $this->guarded = $b; $this->hidden = $c; } }
$u = URL; $p = PATH;
$o = new stdClass; $o->url = "$u/"; $o->child = new stdClass; $o->child->img = "$u/img/ñ.png";
$options = [
  'siteurl' => $u, 'home' => $u, 'upload_path' => "$p/wp-content/uploads",
  'theme_mods' => serialize(['header' => ['image' => "$u/wp-content/h.jpg", 'ü' => "ä $u ö"],
      'f' => 0.1, 'big' => 1.0E+25, 'n' => null, 't' => true, 'path' => "$p/cache"]),
  'widget_text' => serialize([2 => ['title' => 'Ünïcödé', 'text' => "<a href=\"$u/about\">é</a>",
      'inner' => serialize(['u' => "$u/inner", 'deeper' => serialize(['x' => "http://old-site.com/blog/deep"])])],
      '_multiwidget' => 1]),
  'obj' => serialize($o),
  'keeper' => serialize(new Keeper($u, "$p/x", [$u, 'ß'])),
  'json_cfg' => json_encode(['url' => "$u/x", 'list' => ["$u/y", 'é'], 'path' => $p]),
  'ser_json' => serialize(['cfg' => json_encode(['u' => $u, 'é' => 1])]),
  'no_url' => serialize(['a' => 'b', 'c' => 'é']),
  'broken_len' => 'a:1:{s:3:"url";s:5:"' . $u . '";}',
  'broken_cut' => 'a:2:{s:3:"url";s:29:"' . $u . '";',
];
$rows = [];
foreach ($options as $k => $v) { $rows[] = ['wp_options', ['option_name' => $k, 'option_value' => $v]]; }
for ($i = 1; $i <= 12; $i++) {
  $rows[] = ['wp_posts', ['post_title' => "Pöst $i", 'post_content' =>
      "<p>ñ $i <a href=\"$u/post-$i\">link</a> <img src=\"//www.old-site.com/blog/img/$i.png\"></p>"
      . "<script>var u = \"" . str_replace('/', '\/', $u) . "\";</script>",
      'guid' => "$u/?p=$i", 'post_excerpt' => ($i % 3 ? null : "see $u")]];
  $rows[] = ['wp_postmeta', ['post_id' => $i, 'meta_key' => '_builder', 'meta_value' =>
      json_encode(['link' => "$u/p/$i", 'title' => "é $i", 'nested' => ['src' => "$u/x.png"]])]];
  $rows[] = ['wp_postmeta', ['post_id' => $i, 'meta_key' => '_wp_attachment_metadata', 'meta_value' =>
      serialize(['file' => "$p/uploads/$i.jpg", 'sizes' => ['thumb' => ['url' => "$u/t$i.jpg"]]])]];
  $rows[] = ['wp_postmeta', ['post_id' => $i, 'meta_key' => '_redirect', 'meta_value' =>
      'to=' . urlencode("$u/wp-login.php?i=$i")]];
}
$rows[] = ['wp_postmeta', ['post_id' => 1, 'meta_key' => '_broken', 'meta_value' =>
    's:7:"' . $u . '/x";']];
$rows[] = ['wp_termmeta_pairs', ['term_id' => 1, 'meta_key' => 'link', 'meta_value' => "$u/t"]];
$rows[] = ['wp_termmeta_pairs', ['term_id' => 1, 'meta_key' => 'data', 'meta_value' => serialize([$u])]];
$rows[] = ['wp_blobs', ['id' => 1, 'data' => serialize(['u' => "$u/blob"])]];
$rows[] = ['wp_blobs', ['id' => 2, 'data' => "\xff\xfe$u\x00\x01"]];
$rows[] = ['wp_nokey', ['note' => $u]];
foreach ($rows as &$row) { foreach ($row[1] as &$v) { $v = $v === null ? null : base64_encode((string)$v); } }
echo json_encode($rows);
"""

BROKEN = {("wp_options", "broken_len"), ("wp_options", "broken_cut"), ("wp_postmeta", "_broken")}


def _rows() -> list:
    code = _ROWS_PHP.replace("URL", json.dumps(OLD_URL)).replace("PATH", json.dumps(OLD_PATH))
    return json.loads(run_php(code))


def fill(params) -> None:
    rows = _rows()
    with params.connect() as conn, conn.cursor() as cur:
        for statement in SCHEMA:
            cur.execute(statement)
        for table, values in rows:
            names = ", ".join(f"`{name}`" for name in values)
            marks = ", ".join("_binary %s" if v is not None else "%s" for v in values.values())
            cur.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})",
                        [None if v is None else base64.b64decode(v) for v in values.values()])
        # latin1 bytes, as an old site connecting with latin1 stored them: é is one byte,
        # and PHP counted it as one.
        latin = b'a:2:{s:1:"u";s:29:"' + OLD_URL.encode() + b'";s:1:"e";s:3:"\xe9t\xe9";}'
        cur.execute("INSERT INTO wp_latin VALUES (1, _binary %s)", (latin,))
        cur.execute("INSERT INTO wp_term_relationships VALUES (1, 1), (2, 1)")


def info(params) -> DbConnectionInfo:
    return DbConnectionInfo(params.host, params.port, params.user, params.password, params.database)


def snapshot(params) -> dict:
    """Every row of every table, raw bytes, keyed by table."""
    result = {}
    with params.connect() as conn, conn.cursor() as cur:
        cur.execute("SHOW TABLES")
        for (table,) in cur.fetchall():
            cur.execute(f"SELECT * FROM `{table}`")
            names = [d[0] for d in cur.description]
            cur.execute(f"SELECT {', '.join(f'CAST(`{n}` AS BINARY)' for n in names)} FROM `{table}` "
                        f"ORDER BY 1, 2" if len(names) > 1 else f"SELECT CAST(`{names[0]}` AS BINARY) "
                        f"FROM `{table}` ORDER BY 1")
            result[table] = [dict(zip(names, row)) for row in cur.fetchall()]
    return result


def run_to_end(replacer: Replacer) -> None:
    while not replacer.run(budget_seconds=5):
        pass
    replacer.close()


# PHP's verdict on every value: what unserialize() accepted before it accepts after, and
# the decoded structure after equals the one before with the old strings replaced
# (strtr: longest first, one pass — the same rule as the engine).
_JUDGE_PHP = r"""
function deep($v, $pairs) {
  if (is_string($v)) {
    $x = @unserialize($v);
    if ($x !== false || $v === 'b:0;') return ['__ser' => deep($x, $pairs)];
    $j = json_decode($v, true);
    if (is_array($j)) return ['__json' => deep($j, $pairs)];
    return $pairs ? strtr($v, $pairs) : $v;
  }
  if (is_object($v)) return ['__class' => get_class($v), 'props' => deep((array)$v, $pairs)];
  if (is_array($v)) { $r = []; foreach ($v as $k => $item) {
      $r[] = [is_string($k) && $pairs ? strtr($k, $pairs) : $k, deep($item, $pairs)]; } return $r; }
  if (is_float($v) && is_nan($v)) return 'NAN';
  return $v;
}
$in = json_decode(stream_get_contents(STDIN), true);
$pairs = $in['pairs']; $problems = []; $accepted = 0;
foreach ($in['values'] as $i => [$before, $after]) {
  $before = base64_decode($before); $after = base64_decode($after);
  $ok_before = $before === 'b:0;' || @unserialize($before) !== false;
  $ok_after = $after === 'b:0;' || @unserialize($after) !== false;
  if ($ok_before) { $accepted++; if (!$ok_after) { $problems[] = "$i: unserialize() refuses the new value"; continue; } }
  $want = json_encode(deep($before, $pairs), JSON_INVALID_UTF8_SUBSTITUTE);
  $got = json_encode(deep($after, []), JSON_INVALID_UTF8_SUBSTITUTE);
  if ($want !== $got) $problems[] = "$i: expected $want got $got";
}
echo json_encode(['problems' => $problems, 'accepted' => $accepted]);
"""


def php_judge(pairs_values: list[tuple[bytes, bytes]]) -> dict:
    payload = {"pairs": dict(PAIRS),
               "values": [[base64.b64encode(b).decode(), base64.b64encode(a).decode()]
                          for b, a in pairs_values]}
    return json.loads(run_php(_JUDGE_PHP, stdin=json.dumps(payload).encode()))


def _text_values(snap: dict) -> list[tuple[str, str, dict, bytes]]:
    """(table, column, row, value) for every non-NULL value of a text-like column."""
    out = []
    for table, rows in snap.items():
        for row in rows:
            for column, value in row.items():
                if value is not None and column not in ("option_id", "ID", "meta_id", "post_id",
                                                        "id", "term_id", "object_id",
                                                        "term_taxonomy_id"):
                    out.append((table, column, row, value))
    return out


def _row_name(table: str, row: dict) -> str | None:
    name = row.get("option_name") or row.get("meta_key")
    return name.decode() if isinstance(name, bytes) else name


def test_wordpress_database_is_migrated_and_php_agrees(php, db):
    fill(db)
    before = snapshot(db)
    with db.connect() as conn:
        tables = tables_for("wordpress", "wp_", conn, everything=True)
    assert tables == ["wp_blobs", "wp_latin", "wp_nokey", "wp_options", "wp_postmeta",
                      "wp_posts", "wp_term_relationships", "wp_termmeta_pairs"]
    replacer = Replacer(info(db), PAIRS, tables, batch_rows=5)
    run_to_end(replacer)
    after = snapshot(db)

    reports = {r.table: r for r in replacer.report()}
    assert reports["wp_nokey"].skipped is None and reports["wp_nokey"].rows_changed == 1
    assert replacer.warnings == []
    assert reports["wp_term_relationships"].skipped == "no text columns"
    options = reports["wp_options"]
    assert (options.rows, options.rows_matched, options.rows_changed) == (12, 11, 9)
    assert options.invalid_serialized == 2 and options.serialized_rewritten == 7
    posts = reports["wp_posts"]
    assert (posts.rows, posts.rows_changed, posts.values_changed) == (12, 12, 28)
    meta = reports["wp_postmeta"]
    assert (meta.rows, meta.rows_changed, meta.invalid_serialized, meta.json_rewritten) == (37, 36, 1, 12)
    assert reports["wp_blobs"].rows_changed == 1 and reports["wp_blobs"].skipped_binary == 1
    assert reports["wp_latin"].rows_changed == 1 and reports["wp_termmeta_pairs"].rows_changed == 2

    flat_before = _text_values(before)
    flat_after = _text_values(after)
    assert [(t, c) for t, c, _, _ in flat_before] == [(t, c) for t, c, _, _ in flat_after]
    judged = []
    for (table, column, row, old), (_, _, _, new) in zip(flat_before, flat_after):
        broken = (table, _row_name(table, row)) in BROKEN
        binary = table == "wp_blobs" and row["id"] == b"2"
        if broken or binary:
            assert new == old, f"{table}.{column} must stay untouched"
            continue
        assert b"old-site.com" not in new and OLD_PATH.encode() not in new, (table, column, new)
        if table != "wp_latin":  # PHP reads latin1 bytes differently from utf8 ones
            judged.append((old, new))
    verdict = php_judge(judged)
    assert verdict["problems"] == []
    assert verdict["accepted"] == 20

    latin = after["wp_latin"][0]["val"]
    assert latin == b'a:2:{s:1:"u";s:20:"https://new-site.org";s:1:"e";s:3:"\xe9t\xe9";}'


def test_resumed_run_ends_with_the_same_database_as_an_unbroken_one(php, db_factory):
    straight, resumed = db_factory(), db_factory()
    fill(straight)
    fill(resumed)
    tables = ["wp_options", "wp_posts", "wp_postmeta", "wp_termmeta_pairs", "wp_blobs", "wp_latin"]
    run_to_end(Replacer(info(straight), PAIRS, tables, batch_rows=4))

    state = Replacer(info(resumed), PAIRS, tables, batch_rows=4).state()
    steps = 0
    while True:
        replacer = Replacer.resume(json.loads(json.dumps(state)), info(resumed))
        finished = replacer.run(budget_seconds=0)  # exactly one batch
        replacer.close()
        steps += 1
        if finished:
            break
        # every third batch "crashes" after its commit but before its state was saved:
        # the next process redoes that batch from the older state
        if steps % 3:
            state = replacer.state()
    assert steps > 10
    assert snapshot(resumed) == snapshot(straight)


def test_dry_run_counts_the_same_and_writes_nothing(php, db_factory):
    dry_db, real_db = db_factory(), db_factory()
    fill(dry_db)
    fill(real_db)
    before = snapshot(dry_db)
    tables = ["wp_options", "wp_posts", "wp_postmeta"]
    dry = Replacer(info(dry_db), PAIRS, tables, dry_run=True)
    real = Replacer(info(real_db), PAIRS, tables)
    run_to_end(dry)
    run_to_end(real)
    assert snapshot(dry_db) == before
    assert dry.report() == real.report()
    assert dry.totals().rows_changed == real.totals().rows_changed == 9 + 12 + 36
    assert dry.totals().done and dry.current_table is None
    assert sum(r.rows_changed for r in dry.report()) == 9 + 12 + 36


def test_value_too_long_for_its_column_is_left_and_reported(db):
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE t (id INT PRIMARY KEY, short VARCHAR(40), long_text TEXT)")
        cur.execute("INSERT INTO t VALUES (7, 'https://a.com/x', 'https://a.com/x')")
    pairs, _ = plan_replacements("https://a.com", "https://a-much-longer-host-name.example.org")
    replacer = Replacer(info(db), pairs)  # no table list: every table of the database
    run_to_end(replacer)
    assert [r.table for r in replacer.report()] == ["t"]
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT short, long_text FROM t")
        assert cur.fetchone() == ("https://a.com/x", "https://a-much-longer-host-name.example.org/x")
    assert replacer.report()[0].too_long == 1
    assert replacer.warnings == [
        "t.short (row id=7): the replaced value is longer than the column allows, so this value "
        "was left unchanged; widen the column and run the replacement again."]


def test_unsafe_pairs_are_refused():
    with pytest.raises(SitepackError, match="The replacement pairs are unsafe: Refused to replace "
                                            "'/old' with '/old/new'"):
        Replacer(DbConnectionInfo("127.0.0.1", 1, "u", "p", "d"), [("/old", "/old/new")])


def test_tables_for_platforms(db):
    with db.connect() as conn, conn.cursor() as cur:
        for name in ("wp_options", "wp_posts", "wp_custom", "jos_content", "jos_modules",
                     "jos_session", "other"):
            cur.execute(f"CREATE TABLE {name} (id INT PRIMARY KEY)")
        cur.execute("CREATE VIEW wp_view AS SELECT 1 AS x")
        assert tables_for("wordpress", "wp_", conn) == ["wp_options", "wp_posts"]
        assert tables_for("wordpress", "wp_", conn, everything=True) == [
            "wp_custom", "wp_options", "wp_posts"]
        assert tables_for("joomla", "jos_", conn) == ["jos_content", "jos_modules"]
        assert tables_for("generic", "", conn) == [
            "jos_content", "jos_modules", "jos_session", "other", "wp_custom", "wp_options",
            "wp_posts"]
        with pytest.raises(SitepackError, match="Unknown platform 'drupal'"):
            tables_for("drupal", "", conn)


def test_big_rows_shrink_the_batch_and_give_the_same_result(php, db_factory, monkeypatch):
    import restorer.replace.tables
    normal, small = db_factory(), db_factory()
    fill(normal)
    fill(small)
    tables = ["wp_options", "wp_posts", "wp_postmeta"]
    run_to_end(Replacer(info(normal), PAIRS, tables, batch_rows=50))
    monkeypatch.setattr(restorer.replace.tables, "_BATCH_BYTES", 600)  # a few rows' worth
    shrinking = Replacer(info(small), PAIRS, tables, batch_rows=50)
    shrinking.run(budget_seconds=0)
    assert shrinking._batch_limit < 50
    run_to_end(shrinking)
    assert snapshot(small) == snapshot(normal)
