"""WordPress rows whose *key* carries the table prefix, renamed when the prefix changes.

WordPress looks up the roles as the option ``{prefix}user_roles`` and each user's role,
level and settings as the user meta ``{prefix}capabilities``, ``{prefix}user_level``,
``{prefix}user-settings``… (plugins add their own ``{prefix}…`` user meta through
``update_user_option``). Renaming the tables alone leaves every user without a role, so
nobody can enter wp-admin. Only keys starting with the exact old prefix are renamed,
never values that merely contain it.

A key must never be renamed twice (when the new prefix starts with the old one,
``wp_x_capabilities`` starts with ``wp_`` too). The restore records the rename in its
saved progress; for a crash between the commit and that record, the rename is one
transaction that moves ``{old}user_roles`` together with the user meta keys, so
``{old}user_roles`` gone and ``{new}user_roles`` there tells that it already ran.

Multisite networks keep per-site prefixes (``wp_2_…``) in table names, keys and values;
moving one to another prefix is not supported yet and is refused before anything is
written.
"""

from __future__ import annotations

from restorer.dbimport.sqltext import quote_ident
from restorer.errors import SitepackError

ROLES_OPTION = "user_roles"
# Tables only a multisite network has (``#__`` is the dump's abstract prefix).
NETWORK_TABLES = ("#__blogs", "#__site")


def multisite_reason(config_values: dict, dump_tables: list[str], prefix: str) -> str | None:
    """Why this WordPress site is (or is set up to become) a multisite network, or None."""
    for name in ("MULTISITE", "WP_ALLOW_MULTISITE"):
        if config_values.get(name) is True:
            return f"wp-config.php defines {name} as true"
    found = [t for t in NETWORK_TABLES if t in dump_tables]
    if found:
        return f"its database has the network table{'s' if len(found) > 1 else ''} " + \
            ", ".join(t.replace("#__", prefix) for t in found)
    return None


def multisite_refusal(reason: str, old_prefix: str) -> SitepackError:
    return SitepackError(
        f"this WordPress site is a multisite network ({reason}): moving a network to another table "
        f"prefix is not supported yet; restore it with its own prefix {old_prefix}")


def _like_prefix(prefix: str) -> str:
    """A LIKE pattern for 'starts with ``prefix``' (``_`` and ``%`` are wildcards otherwise)."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def rename_prefixed_keys(conn, old: str, new: str) -> dict[str, int] | None:
    """Renames the prefix-bound keys in ``{new}options`` and ``{new}usermeta`` (tables
    already renamed by the import). Returns the counts, or None when there was nothing
    to do (same prefix, or already done)."""
    if old == new:
        return None
    options, usermeta = quote_ident(f"{new}options"), quote_ident(f"{new}usermeta")
    old_roles, new_roles = old + ROLES_OPTION, new + ROLES_OPTION
    with conn.cursor() as cur:
        # A backup may have left a table out: rename in the ones it holds.
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                    "AND TABLE_NAME IN (%s, %s)", (f"{new}options", f"{new}usermeta"))
        tables = {row[0] for row in cur.fetchall()}
    conn.begin()
    try:
        with conn.cursor() as cur:
            present = set()
            if f"{new}options" in tables:
                cur.execute(f"SELECT option_name FROM {options} WHERE option_name IN (%s, %s) FOR UPDATE",
                            (old_roles, new_roles))
                present = {row[0] for row in cur.fetchall()}
            if old_roles not in present and new_roles in present:
                conn.rollback()
                return None  # renamed by an earlier run: its roles option moved with the keys
            meta = roles = 0
            if f"{new}usermeta" in tables:
                # LIKE finds the candidates through the meta_key index; the binary comparison
                # keeps only the exact prefix (the column's collation ignores case).
                cur.execute(f"UPDATE {usermeta} SET meta_key = CONCAT(%s, SUBSTRING(meta_key, %s)) "
                            f"WHERE meta_key LIKE %s AND LEFT(meta_key, CHAR_LENGTH(%s)) = BINARY %s",
                            (new, len(old) + 1, _like_prefix(old), old, old))
                meta = cur.rowcount
            if old_roles in present:
                # The site's own roles win over a stray option of the new name.
                cur.execute(f"DELETE FROM {options} WHERE option_name = BINARY %s", (new_roles,))
                cur.execute(f"UPDATE {options} SET option_name = %s WHERE option_name = BINARY %s",
                            (new_roles, old_roles))
                roles = cur.rowcount
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return {"options": roles, "usermeta": meta}
