import os

import pytest

from packer import profiles
from restorer.errors import SitepackError


def test_default_profile_exists_implicitly():
    prof = profiles.load()
    assert (prof.name, prof.format, prof.retry_wait, prof.retry_count, prof.backup_type) == \
        ("default", "jpa", 10.0, 3, "full")
    assert profiles.list_profiles() == ["default"]


def test_save_load_list_and_owner_only_file(sitepack_home):
    saved = profiles.save({"format": "jps", "archive_password": "s3cret", "part_size": "65536",
                           "filters": {"exclude_dirs": "images/private\nmedia/big\n"},
                           "db": {"exclude_data": ["#__log"]}}, name="nightly")
    assert saved.filters["exclude_dirs"] == ["images/private", "media/big"]
    again = profiles.load("nightly")
    assert again == saved and again.part_size == 65536
    assert profiles.list_profiles() == ["default", "nightly"]
    path = sitepack_home / "profiles" / "nightly.json"
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    profiles.delete("nightly")
    assert profiles.list_profiles() == ["default"]


@pytest.mark.parametrize("data, message", [
    ({"format": "rar"}, "profile setting 'format': 'rar' is not one of jpa, jps, jps2, zip"),
    ({"min_exec": 5, "max_exec": 2}, "profile setting 'min_exec': must not be larger than max_exec"),
    ({"part_size": 1000}, "profile setting 'part_size': 1000 must be at least 65536"),
    ({"retry_count": "x"}, "profile setting 'retry_count': 'x' is not a number"),
    ({"colour": "red"}, "profile setting 'colour': unknown setting"),
    ({"filters": {"exclude_regex": ["("]}}, "profile setting 'filters.exclude_regex': '(' is not a valid regular expression"),
    ({"name_template": "a/b"}, "profile setting 'name_template': is a file name, not a path"),
])
def test_validation_names_the_field(data, message):
    with pytest.raises(SitepackError) as info:
        profiles.validate(data)
    assert str(info.value).startswith(message)


def test_missing_profile_is_a_clear_error():
    with pytest.raises(SitepackError, match=r"there is no backup profile named 'nope' \(known: default\)"):
        profiles.load("nope")
