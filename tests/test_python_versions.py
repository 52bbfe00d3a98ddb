"""The restorer runs where hosts are: Python 3.9 and newer (``restorer.MIN_PYTHON``).

Only one interpreter is installable on the development machines, so the oldest Python is
checked statically: ``vermin`` over ``restorer/`` (stdlib members, syntax, keyword
arguments), an AST check for what vermin does not see (a union of classes built at run
time with ``|``), and the declared ``Requires-Python`` of every vendored package.
"""

import ast
import importlib.metadata
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

import restorer
from packer import bundle_runtime
from restorer.extract import filewriter

ROOT = Path(__file__).resolve().parents[1]
OLDEST = ".".join(map(str, restorer.MIN_PYTHON))


def test_the_oldest_supported_python_is_3_9():
    assert restorer.MIN_PYTHON == (3, 9)


def test_vermin_finds_nothing_in_the_restorer_that_needs_a_newer_python():
    vermin = Path(sys.executable).parent / "vermin"  # installed with the test extras
    result = subprocess.run([str(vermin), "--no-tips", "--violations",
                             f"--target={OLDEST}-", "--eval-annotations", "--no-parse-comments",
                             str(ROOT / "restorer")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


_BUILTIN_TYPES = {"str", "int", "bytes", "float", "bool", "list", "dict", "tuple", "set",
                  "frozenset", "type", "object"}


def _is_type_like(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return node.value is None
    if isinstance(node, ast.Name):  # CamelCase names are classes here; CONSTANTS are flags
        return node.id in _BUILTIN_TYPES or (node.id[:1].isupper() and any(c.islower() for c in node.id))
    if isinstance(node, ast.Subscript):
        return _is_type_like(node.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _is_type_like(node.left) or _is_type_like(node.right)
    return False


def _runtime_type_unions(source: str) -> list[str]:
    """``X | Y`` of classes outside annotations: evaluated at run time, a TypeError on 3.9."""
    tree = ast.parse(source)
    in_annotation: set[int] = set()
    for node in ast.walk(tree):
        annotations = [getattr(node, "annotation", None), getattr(node, "returns", None)]
        for annotation in annotations:
            if annotation is not None:
                in_annotation.update(id(sub) for sub in ast.walk(annotation))
    return [f"line {node.lineno}: {ast.unparse(node)}" for node in ast.walk(tree)
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr)
            and id(node) not in in_annotation and (_is_type_like(node.left) or _is_type_like(node.right))]


def test_the_union_check_sees_a_runtime_union_and_ignores_annotations_and_flags():
    found = _runtime_type_unions("Value = PNull | PBool\n"
                                 "def f(x: int | None) -> str | None: ...\n"
                                 "FLAGS = os.O_WRONLY | os.O_CREAT\nmask = _A | _B\n")
    assert found == ["line 1: PNull | PBool"]


def test_no_union_of_classes_is_built_at_run_time_in_the_restorer():
    offenders = [f"{path.relative_to(ROOT)} {hit}" for path in sorted((ROOT / "restorer").rglob("*.py"))
                 for hit in _runtime_type_unions(path.read_text(encoding="utf-8"))]
    assert offenders == []


@pytest.mark.parametrize("package", bundle_runtime.VENDORED_PACKAGES)
def test_every_vendored_release_declares_it_runs_on_the_oldest_python(package):
    declared = importlib.metadata.metadata(package).get("Requires-Python") or ""
    assert SpecifierSet(declared).contains(f"{OLDEST}.0"), (
        f"{package} {importlib.metadata.version(package)} declares Requires-Python {declared!r}: "
        f"pin a release that admits Python {OLDEST} in pyproject.toml")


def test_the_kickstart_carries_each_vendored_release_s_metadata(tmp_path):
    pyz = bundle_runtime.build_kickstart(tmp_path / "kickstart.pyz")
    names = zipfile.ZipFile(pyz).namelist()
    for package, version in bundle_runtime.vendored_versions().items():
        metadata = [n for n in names if n.startswith("vendor/") and n.endswith(".dist-info/METADATA")
                    and importlib.metadata.metadata(package)["Name"].lower().replace("-", "_")
                    in n.lower().replace("-", "_")]
        assert len(metadata) == 1, (package, metadata)
        text = zipfile.ZipFile(pyz).read(metadata[0]).decode()
        assert f"\nVersion: {version}\n" in text


def test_the_file_writer_uses_the_kernel_s_pipe_size_numbers():
    import fcntl
    assert (filewriter.F_SETPIPE_SZ, filewriter.F_GETPIPE_SZ) == (fcntl.F_SETPIPE_SZ, fcntl.F_GETPIPE_SZ)


def _laid_out_bundle(tmp_path: Path) -> Path:
    """``installation/`` with the restorer runtime, as a backup lays it out."""
    for rel, source in bundle_runtime.runtime_files():
        target = tmp_path / "installation" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())
    return tmp_path / "installation" / bundle_runtime.ENTRY_SCRIPT


@pytest.mark.parametrize("runner", ["bundle", "kickstart"])
def test_an_older_python_is_told_what_is_needed_before_anything_else_runs(runner, tmp_path):
    """The bundle's restore.py and kickstart.pyz, run by a Python that says it is 3.8.4."""
    if runner == "bundle":
        script, what = _laid_out_bundle(tmp_path), "The sitepack restorer"
    else:
        script, what = bundle_runtime.build_kickstart(tmp_path / "kickstart.pyz"), "kickstart.pyz"
    code = ("import runpy, sys\n"
            "sys.version_info = (3, 8, 4, 'final', 0)\n"
            f"runpy.run_path({str(script)!r}, run_name='__main__')\n")
    result = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == (f"{what} needs Python 3.9 or newer; this is 3.8.4. Run it with "
                                     "python3.9 or a newer python3 (your host's package, e.g. apt "
                                     "install python3 / dnf install python3).")
    # Only the version rule ran: no wizard, no restore step was imported.
    assert "Traceback" not in result.stderr


def test_the_pre_restore_checks_name_the_oldest_python():
    assert restorer.python_too_old("x", (3, 9, 0)) is None
    assert restorer.python_too_old("x", (3, 13, 1)) is None
    assert "needs Python 3.9 or newer; this is 3.8.20" in restorer.python_too_old("x", (3, 8, 20))

