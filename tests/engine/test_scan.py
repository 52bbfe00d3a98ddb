import os

from packer.filters import Filters
from packer.scan import DIR, FILE, LINK, EntryList, Scanner, dir_identity


def _tree(root):
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "deep.txt").write_text("deep")
    (root / "a" / "one.txt").write_text("1")
    (root / "cache").mkdir()
    (root / "cache" / "junk.txt").write_text("junk")
    (root / "empty").mkdir()
    (root / "out").mkdir()
    (root / "out" / "old.jpa").write_text("archive")
    (root / "z.php").write_text("<?php")
    (root / "error_log").write_text("log")
    os.symlink("a/one.txt", root / "link")
    os.mkfifo(root / "fifo")


def _scan(root, list_path, state=None, deadline=float("inf"), excluded=()):
    warnings = []
    scanner = Scanner(root, list_path, Filters.for_site({}, site_root=root), set(excluded), state)
    done = scanner.run(deadline, warnings.append, lambda m: None)
    return scanner, done, warnings


def test_scan_lists_kept_entries_in_order(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    _tree(root)
    listing = tmp_path / "scan.list"
    scanner, done, warnings = _scan(root, listing, excluded=[dir_identity(root / "out")])
    assert done and warnings == []
    scanner.close()
    entries = list(EntryList(listing))
    assert [(e.kind, e.path) for e in entries] == [
        (DIR, "a"), (DIR, "cache"), (DIR, "empty"), (LINK, "link"), (FILE, "z.php"),
        (DIR, "a/b"), (FILE, "a/one.txt"), (FILE, "a/b/deep.txt")]
    link = next(e for e in entries if e.kind == LINK)
    assert link.target == "a/one.txt"
    assert scanner.files == 3 and scanner.bytes == len("<?php") + 1 + 4


def test_scan_resumes_in_slices_without_duplicates(tmp_path):
    root = tmp_path / "site"
    for i in range(30):
        d = root / f"d{i:02d}" / "inner"
        d.mkdir(parents=True)
        (d / "f.txt").write_text(str(i))
    whole = tmp_path / "whole.list"
    _scan(root, whole)
    sliced = tmp_path / "sliced.list"
    state = None
    rounds = 0
    while True:
        scanner, done, _ = _scan(root, sliced, state, deadline=0)  # one directory per slice
        state = scanner.state()
        # a killed process may have appended lines after the saved state: resume cuts them
        scanner._out.write(b'{"garbage": true}\n')
        scanner.close()
        rounds += 1
        if done:
            break
    assert rounds > 30
    with open(sliced, "r+b") as fh:
        fh.truncate(state["offset"])
    assert sliced.read_bytes() == whole.read_bytes()


def test_unreadable_directory_is_a_warning(tmp_path):
    root = tmp_path / "site"
    (root / "locked").mkdir(parents=True)
    listing = tmp_path / "scan.list"
    scanner = Scanner(root, listing, Filters.for_site({}, site_root=root), set())
    warnings = []
    # a directory that vanished between listing its parent and listing it
    scanner.stack.append("gone")
    scanner.run(float("inf"), warnings.append, lambda m: None)
    assert warnings == ["cannot read directory gone: No such file or directory (its contents are skipped)"]


def test_awkward_names_survive_the_list(tmp_path):
    """Tabs, line breaks, quotes and backslashes in names are what a tab-separated list
    could mangle: each comes back exactly, a link's target too."""
    root = tmp_path / "site"
    root.mkdir()
    names = ["tab\there.php", "line\nbreak.txt", '"quoted".css', "back\\slash", "ünï cødé.js",
             "cr\rname", "trail "]
    for name in names:
        (root / name).write_bytes(name.encode())
    (root / 'dir\t"x').mkdir()
    (root / 'dir\t"x' / "in\nside").write_text("1")
    os.symlink("tab\there.php\n", root / '"link')
    listing = tmp_path / "scan.list"
    scanner, done, warnings = _scan(root, listing)
    scanner.close()
    assert done and warnings == []
    entries = {e.path: e for e in EntryList(listing)}
    assert set(entries) == {*names, 'dir\t"x', 'dir\t"x/in\nside', '"link'}
    assert entries['"link'].kind == LINK and entries['"link'].target == "tab\there.php\n"
    assert all(entries[n].kind == FILE and entries[n].size == len(n.encode()) for n in names)


def test_list_written_by_an_earlier_version_still_reads(tmp_path):
    """A backup saved by a version that wrote JSON lines resumes: the old lines read as
    before, the lines the resumed scan appends in the new format after them."""
    old_lines = (b'{"k":"d","p":"a","m":16877,"t":1600000000}\n'
                 b'{"k":"f","p":"a/x\\ty.php","m":33188,"t":1600000001,"s":12}\n'
                 b'{"k":"l","p":"a/l","m":41471,"t":1600000002,"l":"x\\ty.php"}\n')
    listing = tmp_path / "scan.list"
    listing.write_bytes(old_lines)
    root = tmp_path / "site"
    (root / "b").mkdir(parents=True)
    (root / "b" / "new.txt").write_text("new")
    state = {"stack": ["b"], "offset": len(old_lines), "dirs": 1, "files": 1, "bytes": 12,
             "last_dir": "a"}
    scanner, done, _ = _scan(root, listing, state)
    scanner.close()
    assert done
    read = [(e.kind, e.path, e.mode, e.mtime, e.size, e.target) for e in EntryList(listing)]
    assert read == [(DIR, "a", 16877, 1600000000, 0, None),
                    (FILE, "a/x\ty.php", 33188, 1600000001, 12, None),
                    (LINK, "a/l", 41471, 1600000002, 0, "x\ty.php"),
                    (FILE, "b/new.txt", read[3][2], read[3][3], 3, None)]
    # the archive step resumes from a saved offset inside the old lines as well
    second = len(old_lines.split(b"\n")[0]) + 1
    assert [e.path for e in EntryList(listing, second)] == ["a/x\ty.php", "a/l", "b/new.txt"]
