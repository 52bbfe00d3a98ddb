"""Helpers for the database tests (row and definition comparison lives in harness.compare)."""


def info_for(params):
    """The product's connection settings for a test database."""
    from restorer.db import DbConnectionInfo
    return DbConnectionInfo(params.host, params.port, params.user, params.password, params.database)
