"""The restorer runtime a bundle carries: complete, pure Python, runnable without sitepack."""

import subprocess
import sys
from pathlib import Path

from packer.bundle_runtime import VENDORED_PACKAGES, runtime_files


def _install(target: Path) -> list[str]:
    names = []
    for arcname, source in runtime_files():
        dest = target / arcname
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(source.read_bytes())
        names.append(arcname)
    return names


def test_runtime_has_restorer_templates_vendor_and_entry_script_but_nothing_compiled(tmp_path):
    names = _install(tmp_path)
    assert "restore.py" in names
    assert "restorer/__init__.py" in names
    assert "restorer/launch/cli.py" in names
    for package in VENDORED_PACKAGES:
        assert f"vendor/{package}/__init__.py" in names
    assert not [n for n in names if n.endswith((".so", ".pyc")) or "__pycache__" in n]
    assert len(names) == len(set(names))


def test_entry_script_runs_isolated_from_site_packages(tmp_path):
    _install(tmp_path / "installation")
    result = subprocess.run(
        [sys.executable, "-I", "-S", str(tmp_path / "installation" / "restore.py"), "--help"],
        capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "wizard" in result.stdout and "restore" in result.stdout
