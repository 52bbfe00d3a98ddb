"""restorer.replace.plan: every spelling of a move, and refusal of self-feeding pairs."""

from __future__ import annotations

import pytest

from restorer.replace.plan import (check_pairs, expand_pair, pairs_from_rows, plan_replacements,
                                   prefilter_groups)
from restorer.replace.values import replace_in_value


def test_plan_covers_schemes_www_json_urlencoding_and_path():
    pairs, warnings = plan_replacements("https://www.old.com/blog/", "https://new.org/site",
                                        "/var/www/old/", "/srv/new")
    assert warnings == []
    plan = dict(pairs)
    assert plan["https://www.old.com/blog"] == "https://new.org/site"
    assert plan["http://www.old.com/blog"] == "https://new.org/site"
    assert plan["https://old.com/blog"] == "https://new.org/site"
    assert plan["http://old.com/blog"] == "https://new.org/site"
    assert plan["//www.old.com/blog"] == "//new.org/site"
    assert plan["//old.com/blog"] == "//new.org/site"
    assert plan["https:\\/\\/www.old.com\\/blog"] == "https:\\/\\/new.org\\/site"
    assert plan["\\/\\/old.com\\/blog"] == "\\/\\/new.org\\/site"
    assert plan["https%3A%2F%2Fwww.old.com%2Fblog"] == "https%3A%2F%2Fnew.org%2Fsite"
    assert plan["/var/www/old"] == "/srv/new"
    assert plan["\\/var\\/www\\/old"] == "\\/srv\\/new"
    assert plan["%2Fvar%2Fwww%2Fold"] == "%2Fsrv%2Fnew"
    assert len(pairs) == len(plan) == 21
    lengths = [len(old) for old, _ in pairs]
    assert lengths == sorted(lengths, reverse=True)


def test_schemeless_new_url_keeps_each_scheme():
    pairs, _ = plan_replacements("http://old.com", "new.org")
    plan = dict(pairs)
    assert plan["http://old.com"] == "http://new.org"
    assert plan["https://old.com"] == "https://new.org"


def test_no_www_variant_for_ip_addresses_and_localhost():
    for old in ("http://127.0.0.1/site", "http://localhost:8080/site"):
        pairs, _ = plan_replacements(old, "https://new.org")
        assert not any("www." in o for o, _ in pairs)


def test_http_to_https_on_the_same_host_keeps_only_real_changes():
    pairs, warnings = plan_replacements("http://x.com", "https://x.com")
    assert warnings == []
    plan = dict(pairs)
    assert plan["http://x.com"] == "https://x.com"
    assert plan["http://www.x.com"] == "https://x.com"
    assert "https://x.com" not in plan and "//x.com" not in plan


def test_new_url_containing_the_old_one_is_refused_with_one_explanation():
    pairs, warnings = plan_replacements("https://example.com", "https://example.com/new",
                                        "/home/old", "/home/new")
    assert [old for old, _ in pairs] == ["%2Fhome%2Fold", "\\/home\\/old", "/home/old"]
    assert warnings == [
        "The URL is not replaced: the new URL 'https://example.com/new' contains the old one "
        "('example.com'), so a second or resumed run would replace it again and corrupt the "
        "data (…/new/new/…). Move in two runs through a temporary URL that contains neither."]


def test_new_path_containing_the_old_one_is_refused():
    pairs, warnings = plan_replacements("https://a.com", "https://b.com", "/var/www", "/var/www/site")
    assert not any("var" in old for old, _ in pairs)
    assert warnings[0].startswith("The path is not replaced: the new path '/var/www/site' "
                                  "contains the old one ('/var/www')")


def test_root_path_is_never_replaced():
    pairs, warnings = plan_replacements("https://a.com", "https://b.com", "/", "/srv/x")
    assert all(old.count("a.com") for old, _ in pairs)
    assert "filesystem root" in warnings[0]


def test_moving_to_a_subdomain_of_the_old_host_is_allowed():
    pairs, warnings = plan_replacements("https://x.com", "https://shop.x.com")
    assert warnings == []
    assert dict(pairs)["https://x.com"] == "https://shop.x.com"


def test_check_pairs_drops_edited_pairs_that_feed_themselves():
    kept, warnings = check_pairs([("http://a.com", "http://b.com"), ("/old", "/old/new"),
                                  ("same", "same"), ("", "x")])
    assert kept == [("http://a.com", "http://b.com")]
    assert len(warnings) == 1 and warnings[0].startswith(
        "Refused to replace '/old' with '/old/new': the new value contains '/old'")


def test_expand_pair_escapes_json_special_characters():
    assert expand_pair('C:\\sites\\old', 'D:\\www\\"new"') == [
        ('C:\\sites\\old', 'D:\\www\\"new"'),
        ('C:\\\\sites\\\\old', 'D:\\\\www\\\\\\"new\\"'),
        ('C%3A%5Csites%5Cold', 'D%3A%5Cwww%5C%22new%22'),
    ]


@pytest.mark.parametrize("text, expected", [
    ("see https://x.com/a/page", "see https://y.org/page"),
    ("see https://x.com/a.", "see https://y.org."),
    ("see https://x.com/abc", "see https://x.com/abc"),
    ("see https://x.com/a.html", "see https://x.com/a.html"),
    ("see https://x.com.au/a", "see https://x.com.au/a"),
    ("see https://x.com/a?q=1#f", "see https://y.org?q=1#f"),
    ('src="//x.com/a/img.png"', 'src="//y.org/img.png"'),
    ("/srv/var/www/old/file and /var/www/old/file", "/srv/var/www/old/file and /new/file"),
    ("/var/www/older", "/var/www/older"),
])
def test_old_strings_match_only_whole_names(text, expected):
    pairs, _ = plan_replacements("https://x.com/a", "https://y.org", "/var/www/old", "/new")
    assert replace_in_value(text, pairs)[0] == expected


def test_prefilter_groups_are_few_and_cover_every_spelling():
    pairs, _ = plan_replacements("https://www.old.com/blog", "https://new.org", "/var/www/old", "/srv")
    groups = prefilter_groups([old for old, _ in pairs])
    assert groups == [(b"blog", b"old.com"), (b"old", b"var", b"www")]
    for old, _ in pairs:
        assert any(all(needle in old.encode() for needle in group) for group in groups)


def test_pairs_from_edited_rows_are_expanded_and_checked():
    rows = [(" https://a.com/x ", "https://b.org"), ("/srv/a", "/srv/a/b"), ("OldName", "NewName")]
    pairs, warnings = pairs_from_rows(rows)
    assert pairs == plan_replacements("https://a.com/x", "https://b.org")[0] + [("OldName", "NewName")]
    assert len(warnings) == 1 and warnings[0].startswith(
        "The path is not replaced: the new path '/srv/a/b' contains the old one ('/srv/a')")
    assert pairs_from_rows([("/var/www/a", "/srv/b"), ("https://x.com", "https://y.com")])[0] == \
        plan_replacements("https://x.com", "https://y.com", "/var/www/a", "/srv/b")[0]


def test_rows_that_clash_with_each_other_are_refused():
    pairs, warnings = pairs_from_rows([("https://a.com", "https://b.com"), ("b.com", "c.com")])
    assert ("https://a.com", "https://b.com") not in pairs
    assert any(w.startswith("Refused to replace 'https://a.com' with 'https://b.com': the new "
                            "value contains 'b.com'") for w in warnings)


def test_www_variant_that_would_feed_itself_is_left_out():
    pairs, warnings = plan_replacements("https://www.x.com", "https://x.com/new")
    olds = {old for old, _ in pairs}
    assert "https://www.x.com" in olds and "https://x.com" not in olds
    assert warnings == ["'x.com' is not replaced: the new URL 'https://x.com/new' contains it, "
                        "so a second run would replace it again."]
