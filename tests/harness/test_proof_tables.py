"""The generated proof tables come from what the marked tests really did."""

import json
import os
import subprocess
import sys

from harness import proof_tables

SELF_TEST = '''
import pytest

@pytest.mark.proof("security", "an attack the code stops")
def test_held(proof):
    proof.cases += 3
    proof.note("3 of 3 refused")

@pytest.mark.proof("security", "an attack | that gets through")
def test_broken(proof):
    proof.cases += 1
    assert False, "the attack worked"

def test_unmarked():
    pass
'''


def _run_marked_tests(tmp_path):
    """Runs a small test file under the project's conftest with records switched on."""
    folder = proof_tables.ROOT / "build" / f"proof-selftest-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test_selftest.py").write_text(SELF_TEST)
    records = tmp_path / "records.jsonl"
    try:
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "proof",
                        str(folder)], cwd=proof_tables.ROOT, capture_output=True,
                       env=dict(os.environ, **{proof_tables.RECORD_ENV: str(records)}))
    finally:
        (folder / "test_selftest.py").unlink()
        folder.rmdir()
    return [json.loads(line) for line in records.read_text().splitlines()]


def test_records_say_what_each_marked_test_did_and_how_it_ended(tmp_path):
    records = {r["test"].rsplit("::", 1)[1]: r for r in _run_marked_tests(tmp_path)}
    assert set(records) == {"test_held", "test_broken"}
    assert records["test_held"]["outcome"] == "passed"
    assert records["test_held"]["cases"] == 3
    assert records["test_held"]["notes"] == ["3 of 3 refused"]
    assert records["test_broken"]["outcome"] == "failed"


def test_the_table_shows_a_failure_and_replaces_only_its_own_lines(tmp_path):
    records = _run_marked_tests(tmp_path)
    doc = tmp_path / "SECURITY.md"
    doc.write_text(f"# Title\n\nbefore\n\n{proof_tables.START}\nold rows\n{proof_tables.END}\n\nafter\n")
    proof_tables.replace_table(doc, proof_tables.render(records, command="cmd", when="today"))
    text = doc.read_text()
    assert text.startswith("# Title\n\nbefore\n\n") and text.endswith("\n\nafter\n")
    assert "old rows" not in text
    assert "2 tests, 4 cases, 1 held, 1 did not" in text
    assert "| an attack the code stops | 3 | held | 3 of 3 refused |" in text
    assert "| an attack \\| that gets through | 1 | **FAILED** |" in text
