"""The wizard's gate: installer password (throttled), CSRF, no session no API, and no
listening beyond 127.0.0.1 without a password."""

import json
import re

import pytest

from restorer.errors import SitepackError
from restorer.restore.install_password import password_file_text
from restorer.web.guard import PER_ADDRESS_PER_WINDOW
from restorer.wizard import create_app, serve


def _site(root, password=None):
    inst = root / "installation"
    (inst / "sql").mkdir(parents=True)
    (inst / "sql" / "databases.json").write_text(json.dumps({"site.sql": {"dbname": "x", "prefix": "jos_"}}))
    (inst / "sitepack-manifest.tsv.gz").write_text("")
    if password:
        (inst / "password.json").write_text(password_file_text(password))
    return root


def _csrf(client, path="/login"):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf[-_]token" (?:value|content)="([^"]+)"', page).group(1)


def test_wrong_passwords_are_refused_then_throttled(tmp_path):
    client = create_app(_site(tmp_path, "right one")).test_client()
    assert client.get("/checks").headers["Location"].endswith("/login")
    token = _csrf(client)
    for _ in range(PER_ADDRESS_PER_WINDOW):
        reply = client.post("/login", data={"password": "wrong", "csrf_token": token})
        assert reply.status_code == 403 and "Wrong installer password." in reply.get_data(as_text=True)
    reply = client.post("/login", data={"password": "right one", "csrf_token": token})
    assert reply.status_code == 429
    assert re.search(r"Too many login attempts: wait \d+ seconds", reply.get_data(as_text=True))


def test_right_password_opens_the_wizard_and_the_password_is_nowhere_in_pages(tmp_path):
    client = create_app(_site(tmp_path, "right one")).test_client()
    reply = client.post("/login", data={"password": "right one", "csrf_token": _csrf(client)})
    assert reply.status_code == 302 and reply.headers["Location"].endswith("/checks")
    page = client.get("/checks").get_data(as_text=True)
    assert "Pre-restore checks" in page and "right one" not in page


def test_posts_without_the_csrf_token_are_refused(tmp_path):
    client = create_app(_site(tmp_path, "pw")).test_client()
    client.get("/login")
    # 403, the one CSRF rule of both apps (restorer.web.guard); the wizard answered 400 before.
    assert client.post("/login", data={"password": "pw"}).status_code == 403
    assert client.post("/login", data={"password": "pw", "csrf_token": "forged"}).status_code == 403


def test_api_without_a_session_says_to_log_in_again(tmp_path):
    client = create_app(_site(tmp_path, "pw")).test_client()
    token = _csrf(client)
    reply = client.post("/api/database/site.sql/step", headers={"X-CSRF-Token": token}, json={})
    assert reply.status_code == 401
    assert "log in again" in reply.get_json()["error"]


def test_without_a_password_it_refuses_other_addresses_and_opens_on_localhost(tmp_path):
    site = _site(tmp_path)
    with pytest.raises(SitepackError, match="refusing to listen on 0.0.0.0: this backup has no installer password"):
        serve(site, host="0.0.0.0", port=0)
    client = create_app(site).test_client()
    page = client.get("/checks").get_data(as_text=True)
    assert "Pre-restore checks" in page
    assert "no installer password, so the wizard\n  listens on 127.0.0.1 only" in page


def _sql_site(root, statements):
    site = _site(root)
    sql = "".join(f"/**ABDB**/{s};\n" for s in statements)
    (site / "installation" / "sql" / "site.sql").write_text(sql)
    (site / "installation" / "sql" / "databases.json").write_text(json.dumps({"site.sql": {
        "sqlfile": "site.sql", "marker": "\n/**ABDB**/", "prefix": "jos_", "parts": 1, "tables": ["#__t"],
        "dbname": "old"}}))
    return site


def _db_form(db, **over):
    return {"host": db.host, "port": db.port, "user": db.user, "password": db.password,
            "database": db.database, "prefix": "n_", "existing": "drop", **over}


def test_database_errors_are_clear_and_never_show_the_password(tmp_path, db):
    site = _sql_site(tmp_path, ["CREATE TABLE `#__t` (id INT PRIMARY KEY, v TEXT)",
                                "INSERT INTO `#__t` VALUES (1, 'a #__ stays')",
                                "INSERT INTO `#__t` VALUES (2, 'b'",
                                "INSERT INTO `#__t` VALUES (3, 'c')"])
    app = create_app(site)
    client = app.test_client()
    token = _csrf(client, "/checks")
    headers = {"X-CSRF-Token": token}
    reply = client.post("/api/database/site.sql/connect", headers=headers,
                        json=_db_form(db, password="Wr0ng-Pass!"))
    assert reply.status_code == 400
    assert "refused the login" in reply.get_json()["error"] and "Wr0ng-Pass!" not in reply.get_data(as_text=True)
    assert client.post("/api/database/site.sql/connect", headers=headers, json=_db_form(db)).status_code == 200
    offset = (app.extensions["restore_session"].bundle.sql_dir / "site.sql").read_bytes().index(b"INSERT INTO `#__t` VALUES (2")
    while True:
        reply = client.post("/api/database/site.sql/step", headers=headers, json={})
        if reply.status_code != 200:
            break
        assert not reply.get_json()["done"]
    error = reply.get_json()["error"]
    assert reply.status_code == 400
    assert f"at byte {offset - len('/**ABDB**/')}" in error or f"at byte {offset}" in error
    assert "of site.sql" in error and db.password not in error
    state = (app.extensions["restore_session"].bundle.state_path).read_text()
    assert db.password not in state
    with db.connect() as conn, conn.cursor() as cur:  # the new prefix was used
        cur.execute("SHOW TABLES LIKE 'n\\_t'")
        assert cur.fetchall() == (("n_t",),)


def test_a_missing_database_is_created(tmp_path, mariadb, db):
    site = _sql_site(tmp_path, ["CREATE TABLE `#__t` (id INT PRIMARY KEY)", "INSERT INTO `#__t` VALUES (7)"])
    client = create_app(site).test_client()
    headers = {"X-CSRF-Token": _csrf(client, "/checks")}
    fresh = db.database + "_new"
    try:
        assert client.post("/api/database/site.sql/connect", headers=headers,
                           json=_db_form(db, database=fresh)).status_code == 200
        while not client.post("/api/database/site.sql/step", headers=headers, json={}).get_json()["done"]:
            pass
        with db.connect() as conn, conn.cursor() as cur:
            cur.execute(f"SELECT id FROM `{fresh}`.n_t")
            assert cur.fetchall() == ((7,),)
    finally:
        mariadb.drop_database(fresh)


def test_a_finish_refused_before_any_change_leaves_the_restore_open(tmp_path):
    site = _site(tmp_path)
    client = create_app(site).test_client()
    token = _csrf(client, "/checks")
    refused = client.post("/finish", data={"csrf_token": token, "htaccess": "default"})
    assert refused.status_code == 400 and "htaccess.txt is missing" in refused.get_data(as_text=True)
    assert client.get("/checks").status_code == 200
    assert client.post("/finish", data={"csrf_token": token, "htaccess": "keep"}).status_code == 200
    assert not (site / "installation").exists()
    assert client.get("/checks").status_code == 410
