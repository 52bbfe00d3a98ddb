"""Database dump: a MySQL/MariaDB database as Akeeba-style ``site.sql`` parts (FORMATS §5)."""

from .mysql import DEFAULT_DATA_EXCLUSIONS, DumpOptions, DumpProgress, Dumper

__all__ = ["DEFAULT_DATA_EXCLUSIONS", "DumpOptions", "DumpProgress", "Dumper"]
