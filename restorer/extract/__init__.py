"""Getting files out of an archive: safe extraction, the file writers, the manifest and verification."""
