import datetime as dt
import json

from packer.installer import databases_json, extrainfo, runtime_entries, write_generated
from restorer import __version__
from restorer.restore.install_password import load as load_password


def _info():
    return extrainfo(host="example.org", root="/var/www/site", backup_id=7,
                     description="Nightly <b>", started_utc=dt.datetime(2026, 1, 2, 3, 4, 5,
                                                                          tzinfo=dt.timezone.utc),
                     platform="joomla", platform_version="4.4.9", prefix="jos_",
                     live_site="https://example.org", site_name="Café")


def test_extrainfo_fields():
    info = _info()
    assert info["backup_date"] == "2026-01-02 03:04:05"
    assert info["tool_version"] == __version__
    assert (info["host"], info["root"], info["platform"], info["prefix"], info["backup_id"]) == \
        ("example.org", "/var/www/site", "joomla", "jos_", 7)


def test_full_backup_files_readme_escaped_and_password_hash(tmp_path):
    from restorer.restore.install_password import password_file_text
    out = write_generated(tmp_path, info=_info(), description="Nightly <b>",
                          comment="<script>alert(1)</script>\nline 2", full=True,
                          password_record=password_file_text("Open sesame"))
    assert [arc for arc, _ in out] == ["installation/extrainfo.json", "installation/README.html",
                                       "installation/password.json"]
    readme = (tmp_path / "README.html").read_text()
    assert "Nightly &lt;b&gt;" in readme and "&lt;script&gt;alert(1)&lt;/script&gt;" in readme
    assert "<script>" not in readme
    check = load_password(tmp_path)
    assert check.verify("Open sesame") and not check.verify("open sesame")
    assert "Open sesame" not in (tmp_path / "password.json").read_text()


def test_database_only_has_no_readme(tmp_path):
    out = write_generated(tmp_path, info=_info(), description="d", comment="", full=False,
                          password_record=None)
    assert [arc for arc, _ in out] == ["installation/extrainfo.json"]


def test_databases_json_blanks_the_password():
    data = json.loads(databases_json({"dbname": "x", "dbpass": "secret", "parts": 2}))
    assert data == {"site.sql": {"dbname": "x", "dbpass": "", "parts": 2}}


def test_runtime_carries_restorer_templates_and_entry_script():
    paths = {arc for arc, _ in runtime_entries()}
    assert "installation/restore.py" in paths
    assert "installation/restorer/__init__.py" in paths
    assert any(p.startswith("installation/templates/wizard/") for p in paths)
    assert any(p.startswith("installation/vendor/flask/") for p in paths)
