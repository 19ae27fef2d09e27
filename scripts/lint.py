#!/usr/bin/env python3
"""Lint, run by ctest (lint.clang_format, lint.clang_tidy; label lint) and by hand:

  lint.py format             clang-format --dry-run -Werror over the project's C and C++ sources, each
                             with its nearest .clang-format: the root one (Google-based) for loader/,
                             tests/ and lab/; kernel style in bpf/, include/ and tests/*/progs/.
  lint.py tidy BUILD_DIR     clang-tidy with .clang-tidy over loader/'s sources, compiled as
                             BUILD_DIR/compile_commands.json says (ctest passes its own build dir).
  lint.py layers             every #include in loader/ names a file of its own layer or of a layer its
                             library links (the DEPS of vxtrace_layer() in loader/*/CMakeLists.txt),
                             so the folders keep telling the architecture: nothing includes upward.

Either fails on any finding, except in the files listed as pending below: their findings are printed,
and do not fail the test. clang-tidy spends 5-25 s of CPU per loader file (most of it matching inside
the fmt/spdlog/nlohmann headers), so its output is kept in BUILD_DIR/lint-cache, keyed by the
preprocessed file, its flags, .clang-tidy and the clang-tidy version: only files whose code changed
are run again.
"""
import concurrent.futures
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Files with known findings that their owner is fixing in a change of their own. Keep these empty:
# a file here is still linted and its findings printed, they only do not fail the test.
PENDING_FORMAT: set[str] = set()
PENDING_TIDY: set[str] = set()

FORMAT_DIRS = ["loader", "tests", "lab", "bpf", "include"]
SOURCE_SUFFIXES = {".cpp", ".hpp", ".c", ".h"}
DIAGNOSTIC = re.compile(r"^(?P<file>[^\s:]+):(?P<line>\d+):(?P<col>\d+): (?P<kind>warning|error): ")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def rel(path: str) -> str:
    p = Path(os.path.normpath(path))
    try:
        return str(p.relative_to(ROOT))
    except ValueError:
        return str(p)


def lint_format() -> int:
    files = sorted(str(p.relative_to(ROOT)) for d in FORMAT_DIRS for p in (ROOT / d).rglob("*")
                   if p.suffix in SOURCE_SUFFIXES and p.is_file())
    failed = 0
    for f in files:
        r = subprocess.run(["clang-format", "--dry-run", "-Werror", f], cwd=ROOT,
                           capture_output=True, text=True)
        if r.returncode == 0:
            if f in PENDING_FORMAT:
                print(f"{f} is clang-format clean now: take it off PENDING_FORMAT")
            continue
        if f in PENDING_FORMAT:
            print(f"pending, not failing: {f}")
        else:
            failed += 1
        print(r.stderr, end="")
    print(f"clang-format: {len(files)} files, {failed} with findings")
    return 1 if failed else 0


def preprocessed_key(entry: dict, config: bytes, version: bytes) -> str:
    """What clang-tidy's output depends on: the file after preprocessing, its flags, the config."""
    args = shlex.split(entry["command"]) if "command" in entry else list(entry["arguments"])
    cpp, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a == "-o":
            skip = True
        elif a != "-c":
            cpp.append(a)
    # -C keeps the comments, NOLINT among them.
    out = subprocess.run(cpp + ["-E", "-C"], cwd=entry["directory"], capture_output=True,
                         check=True).stdout
    h = hashlib.sha256()
    for part in (out, " ".join(args).encode(), config, version):
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def tidy_one(entry: dict, build: Path, cache: Path, config: bytes, version: bytes):
    key = preprocessed_key(entry, config, version)
    hit = cache / f"{key}.out"
    if hit.exists():
        return entry["file"], hit.read_text(), True, key
    r = subprocess.run(["clang-tidy", "-p", str(build), "--quiet", entry["file"]],
                       capture_output=True, text=True)
    out = ANSI.sub("", r.stdout + r.stderr)
    if r.returncode == 0:  # findings are warnings; non-zero is a file that did not compile
        hit.write_text(out)
    else:
        out += f"\n{entry['file']}:1:1: error: clang-tidy exited with {r.returncode}\n"
    return entry["file"], out, False, key


def lint_tidy(build: Path) -> int:
    db = build / "compile_commands.json"
    if not db.exists():
        print(f"no {db}: configure with -DCMAKE_EXPORT_COMPILE_COMMANDS=ON")
        return 1
    entries = [e for e in json.loads(db.read_text())
               if rel(e["file"]).startswith("loader/") and e["file"].endswith(".cpp")]
    config = (ROOT / ".clang-tidy").read_bytes()
    version = subprocess.run(["clang-tidy", "--version"], capture_output=True, check=True).stdout
    cache = build / "lint-cache"
    cache.mkdir(exist_ok=True)
    os.nice(10)  # children too: builds and benchmarks share these cores
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        results = list(pool.map(lambda e: tidy_one(e, build, cache, config, version), entries))
    keep = {f"{key}.out" for *_, key in results}
    for old in cache.iterdir():
        if old.name not in keep:
            old.unlink()

    findings, pending, seen, notes = [], [], set(), []
    for _, out, _, _ in results:
        for line in out.splitlines():
            m = DIAGNOSTIC.match(line)
            if not m:
                continue
            f = rel(m["file"])
            text = f"{f}{line[len(m['file']):]}"
            if text in seen:  # a header's finding shows once per file including it
                continue
            seen.add(text)
            (pending if f in PENDING_TIDY else findings).append(text)
        if any(DIAGNOSTIC.match(l) and rel(DIAGNOSTIC.match(l)["file"]) not in PENDING_TIDY
               for l in out.splitlines()):
            notes.append(out)
    for text in pending:
        print(f"pending, not failing: {text}")
    if findings:
        print("--- clang-tidy output of the files with findings ---")
        for out in notes:
            print("\n".join(l for l in out.splitlines()
                            if not re.match(r"^\d+ warnings? (and \d+ errors? )?generated", l)))
        print("--- findings ---")
        print("\n".join(findings))
    cached = sum(1 for r in results if r[2])
    print(f"clang-tidy: {len(entries)} files of loader/ ({cached} unchanged, from the cache), "
          f"{len(findings)} findings, {len(pending)} pending")
    return 1 if findings else 0


LAYER_CALL = re.compile(r"vxtrace_layer\((\w+)\s+SOURCES[^)]*?DEPS([^)]*)\)", re.S)
INCLUDE = re.compile(r'^#include "([^"]+)"', re.M)


def lint_layers() -> int:
    loader = ROOT / "loader"
    folder_of, deps = {}, {}
    for cm in loader.rglob("CMakeLists.txt"):
        for name, dep_list in LAYER_CALL.findall(cm.read_text()):
            folder_of[name] = str(cm.parent.relative_to(loader))
            deps[name] = [d for d in dep_list.split() if d.startswith("vxtrace_")]
    exe = re.search(r"target_link_libraries\(vxtrace PRIVATE([^)]*)\)", (loader / "CMakeLists.txt").read_text())
    folder_of["main"], deps["main"] = ".", exe.group(1).split()
    reach: dict[str, set[str]] = {}

    def reachable(lib: str) -> set[str]:
        if lib not in reach:
            reach[lib] = {folder_of[lib]}.union(*(reachable(d) for d in deps[lib] if d in folder_of))
        return reach[lib]

    lib_of = {folder: lib for lib, folder in folder_of.items()}
    folders = sorted((f for f in lib_of if f != "."), key=len, reverse=True)
    bad = 0
    for f in sorted(loader.rglob("*")):
        if f.suffix not in SOURCE_SUFFIXES:
            continue
        here = str(f.parent.relative_to(loader))
        allowed = reachable(lib_of[here])
        for inc in INCLUDE.findall(f.read_text()):
            target = next((d for d in folders if inc.startswith(d + "/")), None)
            if target is None:
                if (loader / inc).exists():  # a loader file outside every layer
                    print(f"{rel(str(f))}: includes {inc}, which belongs to no layer")
                    bad += 1
                continue
            if target not in allowed:
                print(f"{rel(str(f))}: includes {inc}: {here} may not use {target} "
                      f"({lib_of[here]} does not link {lib_of[target]})")
                bad += 1
    print(f"layers: {len(lib_of)} libraries, {bad} upward or sideways includes")
    return 1 if bad else 0


def main() -> int:
    if len(sys.argv) == 2 and sys.argv[1] == "layers":
        return lint_layers()
    if len(sys.argv) == 2 and sys.argv[1] == "format":
        return lint_format()
    if len(sys.argv) == 3 and sys.argv[1] == "tidy":
        return lint_tidy(Path(sys.argv[2]).resolve())
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
