"""The dependency rule: ``restorer`` travels alone inside every archive."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_restorer_source_never_imports_packer():
    offenders = []
    for path in sorted((ROOT / "restorer").rglob("*.py")):
        bad = sorted(n for n in _imported_modules(path) if n == "packer" or n.startswith("packer."))
        if bad:
            offenders.append(f"{path.relative_to(ROOT)}: {', '.join(bad)}")
    assert offenders == []


def test_every_restorer_module_imports_without_packer(tmp_path):
    """Copies restorer/ and templates/ alone (as an archive carries them) and imports all."""
    import shutil

    shutil.copytree(ROOT / "restorer", tmp_path / "restorer")
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    modules = sorted(
        ".".join(p.relative_to(tmp_path).with_suffix("").parts).removesuffix(".__init__")
        for p in (tmp_path / "restorer").rglob("*.py"))
    code = (
        "import importlib, sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'packer' or name.startswith('packer.'):\n"
        "            raise ImportError('restorer imported ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"for m in {modules!r}:\n"
        "    if m.endswith('__main__'): continue\n"
        "    importlib.import_module(m)\n"
        "print('ok', len(sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")
