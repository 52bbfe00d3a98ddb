import os
import re

from packer.logs import BackupLog


def test_levels_labels_redaction_and_permissions(tmp_path):
    path = tmp_path / "b.log"
    log = BackupLog(path, "warning", secrets=("hunter22", "ab"))
    log.info("not written at level warning")
    log.warning("cannot read x: Permission denied (password hunter22)")
    log.error("boom\nsecond line")
    log.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 3
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d{4} WARNING \| cannot read x: "
                    r"Permission denied \(password \*\*\*\)$", lines[0])
    assert " ERROR   | boom" in lines[1] and lines[2].endswith("ERROR   | second line")
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_debug_level_writes_everything(tmp_path):
    log = BackupLog(tmp_path / "d.log", "debug")
    log.debug("details")
    log.close()
    assert "DEBUG   | details" in (tmp_path / "d.log").read_text()
