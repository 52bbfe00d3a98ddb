import datetime as dt
import re

from packer.naming import (DEFAULT_NAME_TEMPLATE, NamingContext, archive_base_name,
                           default_description, expand, slug)
from restorer import __version__

CET = dt.timezone(dt.timedelta(hours=1), "CET")


def _ctx(**kwargs):
    now = dt.datetime(2026, 3, 5, 15, 30, 7, tzinfo=CET)
    return NamingContext(now=now, random="abcdefghij012345", **kwargs)


def test_every_variable_of_formats_section_6():
    ctx = _ctx(host="www.Example.com", site_name="Café \"Ünïcødé\" & O'Brien's Site 🚀",
               platform_name="Joomla!", platform_version="4.4.9")
    text = ("[DATE]|[YEAR]|[MONTH]|[DAY]|[TIME]|[TIME_TZ]|[TZ]|[TZ_RAW]|[GMT_OFFSET]|[WEEK]|"
            "[WEEKDAY]|[HOST]|[SITENAME]|[SITE]|[VERSION]|[PLATFORM_NAME]|[PLATFORM_VERSION]|[RANDOM]")
    assert expand(text, ctx).split("|") == [
        "20260305", "2026", "03", "05", "153007", "153007cet", "cet", "CET", "+0100", "10",
        "Thursday", "www.example.com", "cafe_unicde_o_brien_s_site", "cafe_unicde_o_brien_s_site",
        __version__, "Joomla!", "4.4.9", "abcdefghij012345"]


def test_unknown_host_and_unknown_variables():
    assert expand("[HOST]-[NOPE]", _ctx()) == "unknown_host-[NOPE]"


def test_random_is_16_file_safe_characters_and_stable_per_context():
    ctx = NamingContext.for_now()
    first = expand("[RANDOM]", ctx)
    assert re.fullmatch(r"[a-z0-9]{16}", first)
    assert expand("[RANDOM]", ctx) == first
    assert expand("[RANDOM]", NamingContext.for_now()) != first


def test_site_slug_is_at_most_50_characters():
    assert len(slug("x" * 80)) == 50
    assert expand("[SITE]", _ctx(site_name="")) == "site"


def test_default_archive_name_and_description():
    ctx = _ctx(host="example.org")
    assert archive_base_name(DEFAULT_NAME_TEMPLATE, ctx) == \
        "site-example.org-20260305-153007cet-abcdefghij012345"
    assert default_description(ctx) == "Backup taken on 2026-03-05 15:30:07 CET"


def test_archive_name_is_made_file_safe():
    assert archive_base_name("my backup/../[DATE] *?", _ctx()) == "my_backup_.._20260305"
