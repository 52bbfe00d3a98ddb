"""Joomla's super users: list them, change one's e-mail and password.

Joomla stores passwords with PHP's ``password_hash()`` (bcrypt, ``$2y$10$…``). The
``$2y$`` and ``$2b$`` variants are the same algorithm, so a hash made here is accepted by
PHP's ``password_verify()``. The ``bcrypt`` package is used when the host has it;
otherwise the restorer's own pure-Python bcrypt (slower, a few seconds for one hash).
"""

from __future__ import annotations

import re

from restorer.dbimport.sqltext import quote_ident
from restorer.errors import SitepackError

SUPER_USERS_GROUP = 8  # Joomla's "Super Users" group id in every standard installation
BCRYPT_COST = 10  # PHP's password_hash() default cost
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def hash_password(password: str) -> str:
    """``password`` as Joomla stores it: ``$2y$10$`` + 22 salt chars + 31 hash chars."""
    data = password.encode("utf-8")
    if len(data) > 72:
        raise SitepackError("the new password is longer than 72 bytes, which bcrypt cannot use; choose a shorter one")
    try:
        import bcrypt
    except ImportError:
        from . import bcrypt_pure as bcrypt
    hashed = bcrypt.hashpw(data, bcrypt.gensalt(BCRYPT_COST)).decode("ascii")
    return "$2y$" + hashed[4:]


def super_users(conn, prefix: str) -> list[dict]:
    """Every user in the Super Users group: ``id``, ``name``, ``username``, ``email``."""
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT u.id, u.name, u.username, u.email FROM {quote_ident(prefix + 'users')} u "
            f"JOIN {quote_ident(prefix + 'user_usergroup_map')} m ON m.user_id = u.id "
            f"WHERE m.group_id = %s ORDER BY u.id", (SUPER_USERS_GROUP,))
        return [dict(zip(("id", "name", "username", "email"), row)) for row in cur.fetchall()]


def update_super_user(conn, prefix: str, *, user_id: int | None, email: str | None,
                      password: str | None) -> dict:
    """Sets the e-mail and/or password of a super user (the first one unless ``user_id``).

    Returns the user as it was found (without any password).
    """
    users = super_users(conn, prefix)
    if not users:
        raise SitepackError(
            f"no super user found in table {prefix}users (group {SUPER_USERS_GROUP}): check the "
            f"table prefix, or leave the super user fields empty")
    if user_id is None:
        user = users[0]
    else:
        matching = [u for u in users if int(u["id"]) == int(user_id)]
        if not matching:
            ids = ", ".join(str(u["id"]) for u in users)
            raise SitepackError(f"user id {user_id} is not a super user; the super users are: {ids}")
        user = matching[0]
    if email is not None and email != "" and not _EMAIL.match(email):
        raise SitepackError(f"{email!r} is not an e-mail address; write it like admin@example.com")
    sets, values = [], []
    if email:
        sets.append("email = %s")
        values.append(email)
    if password:
        sets.append("password = %s")
        values.append(hash_password(password))
    if sets:
        with conn.cursor() as cur:
            cur.execute(f"UPDATE {quote_ident(prefix + 'users')} SET {', '.join(sets)} WHERE id = %s",
                        (*values, user["id"]))
    return user
