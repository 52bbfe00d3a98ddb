"""The dependency rule (``restorer`` travels alone inside every archive) and the shape of
the packages: no import circles, no module over 700 lines, every folder says what it holds."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

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


# -- the shape of the packages ---------------------------------------------------------
MAX_MODULE_LINES = 700


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _import_graph(package: str) -> dict[str, set[str]]:
    """Module → the modules of ``package`` it imports (relative imports resolved; every
    import counts, also one inside a function: it is a dependency all the same)."""
    paths = {_module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = here.rsplit(".", node.level - 1)[0] if node.level > 1 else here
                    base = f"{parent}.{base}" if base else parent
                # "from x import y" imports the module x.y when there is one, else x
                found = [f"{base}.{a.name}" if f"{base}.{a.name}" in paths else base
                         for a in node.names]
            else:
                continue
            targets.update(t for t in found if t in paths and t != name)
        graph[name] = targets
    return graph


def _unresolved_imports(folders: list[str]) -> list[str]:
    """Imports of a packer/restorer module that names no module or name that exists.

    The import-everything test above cannot see an import inside a function, which only
    runs when the function does (a wizard page, a finish step): after a module moves, such
    an import fails in front of a user. Every import is resolved here instead.
    """
    import importlib
    import importlib.util

    def exists(module: str, name: str | None = None) -> bool:
        try:
            if importlib.util.find_spec(module) is None:
                return False
            if name is None or hasattr(importlib.import_module(module), name):
                return True
            return importlib.util.find_spec(f"{module}.{name}") is not None  # a submodule
        except ModuleNotFoundError:
            return False

    problems = []
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = _module_name(path)
            here = name if path.name == "__init__.py" else name.rpartition(".")[0]
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
                if isinstance(node, ast.ImportFrom):
                    base = node.module or ""
                    if node.level:
                        parent = here.rsplit(".", node.level - 1)[0] if node.level > 1 else here
                        base = f"{parent}.{base}" if base else parent
                    pairs = [(base, alias.name) for alias in node.names]
                elif isinstance(node, ast.Import):
                    pairs = [(alias.name, None) for alias in node.names]
                else:
                    continue
                for module, imported in pairs:
                    if module.split(".")[0] in ("packer", "restorer") and not exists(module, imported):
                        problems.append(f"{path.relative_to(ROOT)}:{node.lineno}: "
                                        f"{module}{'.' + imported if imported else ''}")
    return problems


def test_every_import_of_a_project_module_resolves_even_inside_functions():
    assert _unresolved_imports(["packer", "restorer", "harness", "tests", "e2e", "bench"]) == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One import circle per strongly connected group of modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circle_inside_packer():
    assert _cycles(_import_graph("packer")) == []


def test_no_import_circle_inside_restorer():
    assert _cycles(_import_graph("restorer")) == []


def test_the_circle_finder_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


PACKAGES = ("packer", "restorer")
#: Modules beside the folders at restorer's top level, ``__init__.py`` not counted (it
#: holds the package's docstring and version only): what every part of the restore uses.
MAX_RESTORER_TOP_MODULES = 8


def _folders(package: str) -> list[Path]:
    return sorted([ROOT / package, *(p for p in (ROOT / package).rglob("*")
                                     if p.is_dir() and p.name != "__pycache__")])


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_is_over_700_lines(package):
    long = {str(p.relative_to(ROOT)): n for p in sorted((ROOT / package).rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert long == {}


def test_restorer_keeps_at_most_8_modules_at_its_top_level():
    """The rest is grouped by job in folders (extract/, dbimport/, replace/, restore/, ...)."""
    top = sorted(p.name for p in (ROOT / "restorer").glob("*.py") if p.name != "__init__.py")
    assert len(top) <= MAX_RESTORER_TOP_MODULES, top


@pytest.mark.parametrize("package", PACKAGES)
def test_every_folder_says_what_lives_there(package):
    """Each folder's ``__init__.py`` opens with a one-line docstring."""
    missing = []
    for folder in _folders(package):
        init = folder / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) if init.exists() else None
        summary = (doc or "").split("\n\n")[0]
        if not summary.strip() or "\n" in summary:
            missing.append(str(folder.relative_to(ROOT)))
    assert missing == []


def _architecture_rows() -> list[str]:
    """The first cell of every row of docs/ARCHITECTURE.md's layout table."""
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    table = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    return [line.split("|")[1] for line in table.splitlines()
            if line.startswith("|") and not line.startswith("|---")]


def test_the_architecture_table_has_a_row_for_every_folder():
    """A newcomer reads docs/ARCHITECTURE.md first: a folder added without a row fails here,
    and so does a row naming a folder that is gone."""
    named = set()
    for cell in _architecture_rows():
        named.update(part.strip("`,") for part in cell.split() if part.strip("`,").endswith("/"))
    folders = {f"{folder.relative_to(ROOT).as_posix()}/" for package in PACKAGES
               for folder in _folders(package)}
    assert sorted(folders - named) == [], "folders without a row in docs/ARCHITECTURE.md"
    gone = sorted(n for n in named if n.startswith(PACKAGES) and n not in folders)
    assert gone == [], "rows for folders that are not there"
