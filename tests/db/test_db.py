"""DbConnectionInfo: connects to the real server, explains failures, never shows the password."""

import socket

import pytest

from restorer.db import DbConnectionInfo
from restorer.errors import DatabaseError


def info_for(params, **changes) -> DbConnectionInfo:
    values = dict(host=params.host, port=params.port, user=params.user,
                  password=params.password, database=params.database)
    values.update(changes)
    return DbConnectionInfo(**values)


def test_connects_with_utf8mb4(db):
    with info_for(db).connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT DATABASE(), @@character_set_client, _utf8mb4'\U0001F600'")
        assert cur.fetchone() == (db.database, "utf8mb4", "\U0001F600")


def test_loopback_connections_do_not_negotiate_tls(db):
    # PyMySQL's default "preferred" TLS loads the CA store for each connection: 50-80 ms
    # that a dump of many connections paid on the same machine for no protection.
    with info_for(db, host="127.0.0.1").connect() as conn:
        assert conn.ssl is False


def test_repr_and_public_dict_hide_the_password(db):
    info = info_for(db, password="s3cret-Pa55")
    assert "s3cret-Pa55" not in repr(info)
    assert "s3cret-Pa55" not in str(info)
    assert info.to_public_dict() == {"host": db.host, "port": db.port, "user": db.user,
                                     "database": db.database, "socket": None}
    assert DbConnectionInfo.from_public_dict(info.to_public_dict(), "s3cret-Pa55") == info


def test_wrong_password_names_user_and_host_not_password(db):
    with pytest.raises(DatabaseError) as err:
        info_for(db, password="wrong-Pa55word").connect()
    message = str(err.value)
    assert "wrong-Pa55word" not in message and db.password not in message
    assert f"{db.host}:{db.port}" in message and repr(db.user) in message
    assert "refused the login" in message


def test_unknown_database(db):
    with pytest.raises(DatabaseError, match="does not exist") as err:
        info_for(db, database="no_such_db").connect()
    assert "'no_such_db'" in str(err.value) and db.password not in str(err.value)


def test_unreachable_host():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    info = DbConnectionInfo("127.0.0.1", port, "u", "topsecretpw", "x")
    with pytest.raises(DatabaseError, match=f"Cannot reach the database server at 127.0.0.1:{port}") as err:
        info.connect()
    assert "topsecretpw" not in str(err.value)
