"""The database import: dump statements streamed, the table prefix swapped, collations downgraded."""
