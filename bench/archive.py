"""Archive benchmark: our formats against ``zip``/``unzip`` and ``tar``, in the same run.

Generates a tree (about 20k small PHP/text files plus 100 MB of incompressible data,
times ``--scale``), then times creation (``sitepack pack`` per format vs ``zip -r -q``
and ``tar czf``) and extraction (``sitepack extract`` vs ``unzip -q`` and ``tar xzf``),
each as a separate process whose peak RSS ``/usr/bin/time`` reports. Every tool runs
``--rounds`` times, interleaved (every other round in reverse order), each time into a
new file or folder: nothing is deleted between timings. Prints wall and CPU times, the
ratios of the medians to the peer's, archive sizes and peak RSS.

    python bench/archive.py [--scale 2] [--formats jpa,zip,jps,jps2] [--rounds 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

PASSWORD = "bench-password-not-secret"
SUFFIX = {"jpa": ".jpa", "zip": ".zip", "jps": ".jps", "jps2": ".jps"}

_WORDS = ("function", "return", "$this->", "array(", "public", "static", "echo", "if (",
          "foreach", "=> ", "null", "true", "'option'", "JFactory::getApplication()", "->get(",
          "/**", " * @param", "string", "$value", "Joomla\\CMS\\", "use ", "namespace ", ";\n",
          "{\n", "}\n", "    ", "\t", "<?php\n", "defined('_JEXEC') or die;\n")


def php_like(rng: random.Random, size: int) -> bytes:
    out = []
    length = 0
    while length < size:
        word = rng.choice(_WORDS) + (rng.choice(("abc", "user", "item", "id", "name", "x")) if rng.random() < 0.3 else "")
        out.append(word)
        length += len(word)
    return "".join(out).encode()[:size]


def generate(root: Path, scale: int) -> tuple[int, int]:
    """The tree: 20k*scale small files in nested folders + 100 MB*scale incompressible."""
    rng = random.Random(42)
    files = 0
    total = 0
    vocabulary = [php_like(rng, 64 * 1024) for _ in range(8)]
    for i in range(20_000 * scale):
        folder = root / f"components/com_{i % 50}/src/{(i // 50) % 40}"
        folder.mkdir(parents=True, exist_ok=True)
        size = min(int(rng.lognormvariate(8.2, 1.0)), 60_000)
        source = vocabulary[i % len(vocabulary)]
        start = rng.randrange(0, len(source) - size) if size < len(source) else 0
        name = f"file{i}.php" if i % 4 else f"readme{i}.txt"
        (folder / name).write_bytes(source[start:start + size])
        files += 1
        total += size
    media = root / "images"
    media.mkdir(exist_ok=True)
    for i in range(10 * scale):
        data = os.urandom(10 * 1024 * 1024)
        (media / f"photo{i}.jpg").write_bytes(data)
        files += 1
        total += len(data)
    return files, total


class Timing(NamedTuple):
    seconds: float   # wall clock
    rss: int         # peak RSS, KiB
    cpu: float       # user + system seconds of the child


def run(cmd: list, cwd: Path | None = None, env: dict | None = None, ok: tuple[int, ...] = (0,)) -> Timing:
    """Wall seconds, peak RSS (KiB) and CPU seconds of one child process.

    The child is started by ``/usr/bin/time``: a child forked from this (larger) Python
    process would report this process's RSS as its own high-water mark. The time runs
    from a clean page cache (``sync`` first) until the child's own writes are on disk
    (``sync`` after): otherwise a tool pays for the writeback of the one before it and
    the ratios swing with the kernel's flushing. CPU time swings less than wall time on
    a shared box, so it shows what a tool costs when the wall clock is noisy.
    """
    with tempfile.NamedTemporaryFile("r") as stats_file:
        os.sync()
        started = time.perf_counter()
        result = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", stats_file.name,
                                 *map(str, cmd)], cwd=cwd, env=env, stdout=subprocess.DEVNULL)
        os.sync()
        elapsed = time.perf_counter() - started
        if result.returncode not in ok:
            raise SystemExit(f"{' '.join(map(str, cmd))} failed with {result.returncode}")
        rss, user, system = stats_file.read().splitlines()[-1].split()
        return Timing(elapsed, int(rss), float(user) + float(system))


def size_of(paths) -> int:
    return sum(p.stat().st_size for p in paths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=1, help="multiply the tree size")
    parser.add_argument("--formats", default="jpa,zip,jps,jps2")
    parser.add_argument("--rounds", type=int, default=3,
                        help="times each tool runs (interleaved; medians are compared)")
    parser.add_argument("--keep", type=Path, help="work in DIR and keep it")
    parser.add_argument("--huge", action="store_true",
                        help="instead: one real round trip of a 4.5 GiB file (JPA 1.3, ZIP64)")
    args = parser.parse_args()
    if args.huge:
        huge_round_trip(args.keep)
        return
    formats = [f for f in args.formats.split(",") if f]
    work = args.keep or Path(tempfile.mkdtemp(prefix="sitepack-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    tree = work / "site"
    out = work / "out"
    try:
        if not tree.exists():
            t = time.perf_counter()
            files, total = generate(tree, args.scale)
            print(f"tree: {files} files, {total / 1e6:.1f} MB (generated in {time.perf_counter() - t:.1f} s)")
        # What an earlier run left is deleted now, not between timings: on a disk with
        # online discard, deleting many files slows the writes after it for seconds.
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        os.sync()
        env = dict(os.environ, SITEPACK_BENCH_PASSWORD=PASSWORD)
        sitepack = [sys.executable, "-c", "from packer.cli import main; main()"]
        secret = ["--password-env", "SITEPACK_BENCH_PASSWORD"]

        def creators(r: int) -> list[tuple[str, list, Path]]:
            tools = [("zip -r", ["zip", "-r", "-q", out / f"peer{r}.zip", "."], out / f"peer{r}.zip"),
                     ("tar czf", ["tar", "czf", out / f"peer{r}.tgz", "."], out / f"peer{r}.tgz")]
            for fmt in formats:
                archive = out / f"ours{r}-{fmt}{SUFFIX[fmt]}"
                cmd = sitepack + ["pack", tree, "-o", archive, "--format", fmt, "-q"]
                tools.append((f"sitepack {fmt}", cmd + (secret if fmt.startswith("jps") else []),
                              archive))
            return tools

        def extractors(r: int) -> list[tuple[str, list, Path]]:
            target = out / f"x{r}"
            tools = [("unzip", ["unzip", "-q", out / "peer0.zip", "-d", target / "unzip"], target / "unzip"),
                     ("tar xzf", ["tar", "xzf", out / "peer0.tgz", "-C", target / "tar"], target / "tar")]
            for fmt in formats:
                tools.append((f"sitepack {fmt}", sitepack + ["extract", out / f"ours0-{fmt}{SUFFIX[fmt]}",
                                                             target / fmt, "-q"]
                              + (secret if fmt.startswith("jps") else []), target / fmt))
            return tools

        results: dict[tuple[str, str], list[tuple[Timing, int]]] = {}   # (timing, size)
        for kind, tools_for in (("create", creators), ("extract", extractors)):
            for r in range(args.rounds):
                tools = tools_for(r)
                # every other round in reverse order: no tool always runs right after another
                for label, cmd, made in (tools if r % 2 == 0 else tools[::-1]):
                    if kind == "extract":
                        made.mkdir(parents=True)
                    timing = run(cmd, cwd=tree if kind == "create" else None, env=env)
                    size = made.stat().st_size if kind == "create" else 0
                    results.setdefault((kind, label), []).append((timing, size))
                    print(f"{kind:8} {label:14} round {r + 1}  {timing.seconds:7.2f} s  "
                          f"{timing.cpu:6.2f} s CPU  {timing.rss / 1024:7.1f} MiB RSS  "
                          f"{size / 1e6:8.1f} MB", flush=True)
        print()

        def median(kind: str, label: str, field: str = "seconds") -> float:
            return statistics.median(getattr(timing, field) for timing, _ in results[(kind, label)])

        def peak(kind: str, label: str) -> int:
            return max(timing.rss for timing, _ in results[(kind, label)])

        zip_time, unzip_time = median("create", "zip -r"), median("extract", "unzip")
        zip_size = results[("create", "zip -r")][0][1]
        print(f"medians of {args.rounds} rounds: zip -r {zip_time:.2f} s, unzip {unzip_time:.2f} s, "
              f"tar czf {median('create', 'tar czf'):.2f} s, tar xzf {median('extract', 'tar xzf'):.2f} s")
        for fmt in formats:
            label = f"sitepack {fmt}"
            create, extract = median("create", label), median("extract", label)
            size = results[("create", label)][0][1]
            print(f"{fmt:5} create {create / zip_time:5.2f}x zip's time, size {size / zip_size:5.3f}x "
                  f"zip's; extract {extract / unzip_time:5.2f}x unzip's time; peak RSS "
                  f"{max(peak('create', label), peak('extract', label)) / 1024:.0f} MiB")
        if "jpa" in formats and "jps" in formats:
            jps, jpa = results[("create", "sitepack jps")], results[("create", "sitepack jpa")]
            per_round = [a.seconds / b.seconds - 1 for (a, _), (b, _) in zip(jps, jpa)]
            wall = median("create", "sitepack jps") / median("create", "sitepack jpa") - 1
            cpu = median("create", "sitepack jps", "cpu") / median("create", "sitepack jpa", "cpu") - 1
            print(f"jps creation costs {wall:+.0%} over jpa in wall time (per round: "
                  f"{', '.join(f'{ratio:+.0%}' for ratio in per_round)}), {cpu:+.0%} in CPU time")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def huge_round_trip(keep: Path | None) -> None:
    """A file over 4 GiB through jpa and zip: pack, verify, extract, compare."""
    work = keep or Path(tempfile.mkdtemp(prefix="sitepack-huge-"))
    try:
        tree = work / "site"
        tree.mkdir(parents=True, exist_ok=True)
        size = 4 * 1024 ** 3 + 512 * 1024 ** 2
        with open(tree / "huge.bin", "wb") as handle:   # sparse, with data at both ends
            handle.write(os.urandom(1024 * 1024))
            handle.seek(size - 1024 * 1024)
            handle.write(os.urandom(1024 * 1024))
        (tree / "small.txt").write_text("small\n")
        sitepack = [sys.executable, "-c", "from packer.cli import main; main()"]
        for fmt in ("jpa", "zip"):
            archive = work / f"huge{SUFFIX[fmt]}"
            for step, cmd in (("pack", ["pack", tree, "-o", archive, "-q"]),
                              ("verify", ["verify", archive, "-q"]),
                              ("extract", ["extract", archive, work / f"x-{fmt}", "-q"])):
                timing = run(sitepack + cmd)
                print(f"{fmt} {step:8} {timing.seconds:7.1f} s  {timing.rss / 1024:6.1f} MiB RSS",
                      flush=True)
            same = subprocess.run(["cmp", tree / "huge.bin", work / f"x-{fmt}" / "huge.bin"]).returncode == 0
            print(f"{fmt}: archive {archive.stat().st_size / 1e9:.2f} GB, extracted file identical: {same}")
            shutil.rmtree(work / f"x-{fmt}")
            archive.unlink()
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
