#!/usr/bin/env python3
"""The tar reader (fs/tar.c) against the corpus in ../shared/testdata/tar.

Lists every archive with build/host/tar_list and compares, entry by entry,
with what Python's tarfile read (ORACLE.txt beside each folder): types,
sizes, names, link targets and the sha256 of the data. The archives that the
suites themselves call malformed (EXPECTED.md) must be refused, with no entry
served past the error. Where this reader knowingly differs from Python, the
difference is listed below with its reason; anything else fails.

    check_corpus.py TAR_LIST CORPUS_DIR

Ends with "N passed, M failed".
"""
import ast
import os
import re
import subprocess
import sys

# Refused on purpose: the suites expect an error (EXPECTED.md), or the rule
# list at its end says so.
REFUSED = {
    "go/neg-size.tar": "negative base-256 size",
    "go/issue10968.tar": "checksum field not octal (garbage header)",
    "go/issue11169.tar": "pax record length disagrees with the record",
    "go/issue12435.tar": "absurd base-256 size in a K header",
    "go/pax-bad-hdr-file.tar": "pax record ends in NUL, not newline",
    "go/pax-bad-mtime-file.tar": "pax mtime is not a number",
    "go/pax-nul-path.tar": "NUL inside the pax path",
    "go/pax-nul-xattrs.tar": "NUL inside a pax key",
    "go/pax-bad-hdr-large.tar": "pax header above 1 MiB",
    "go/writer-big.tar": "16 GiB of data past the end",
    "go/writer-big-long.tar": "16 GiB of data past the end",
    "libarchive/test_read_format_tar_V_negative_size.tar": "negative size (garbage header)",
    "libarchive/test_read_format_tar_invalid_pax_size.tar": "misspelled magic, negative pax size",
    "libarchive/test_read_format_tar_pax_g_large.tar": "g header of 4 GiB",
    "libarchive/test_read_format_tar_acl_oob_read.tar": "third header broken",
    "libarchive/test_read_format_gtar_sparse_1_17_posix10_modified.tar": "corrupt sparse map",
    # libarchive only warns; GNU tar says "missing newline"; rule 7 says reject.
    "libarchive/test_read_pax_empty_val_no_nl.tar": "pax record without its newline",
    "cpython/recursion.tar": "pax record of length 0 (CVE-2019-20907)",
}

# Valid archives where Python's view is not the suite's (EXPECTED.md).
# Each maps to the entries expected instead: (type, size, name, link).
DIFFERENT_FROM_PYTHON = {
    # Python fails on an x header with nothing after it; Go: 0 entries, EOF.
    "go/pax-path-hdr.tar": [],
    # Python fails on a lone g header; libarchive: EOF, no entries.
    "libarchive/test_read_format_tar_empty_pax.tar": [],
    # Python applies g records' path to later entries; Go (and this reader)
    # do not: a global path would give every later file the same name.
    "go/pax-global-records.tar": [("regular", 0, b"file1", None), ("regular", 0, b"file2", None),
                                  ("regular", 0, b"file3", None), ("regular", 0, b"file4", None)],
    # Python keeps the first of several L/K (or x) headers; Go, whose suite this is,
    # the last: for x headers the last header as a whole, so 'bar' keeps its own name.
    "go/gnu-multi-hdrs.tar": [("symlink", 0, b"GNU2/GNU2/long-path-name",
                               b"GNU4/GNU4/long-linkpath-name")],
    "go/pax-multi-hdrs.tar": [("symlink", 0, b"bar", b"PAX4/PAX4/long-linkpath-name")],
    # Python prefixes the GNU atime field as if it were a ustar prefix (rule 8: not
    # for the GNU magic; Go: test2/, test2/foo, test2/sparse).
    "go/gnu-incremental.tar": [("directory", 0, b"test2/", None),
                               ("regular", 64, b"test2/foo", None),
                               ("sparse", 536870912, b"test2/sparse", None)],
    # Python stops after the sparse entry; libarchive: a, b, then the end.
    "libarchive/test_read_format_gtar_sparse_skip_entry.tar": [
        ("sparse", 10737418244, b"a", None), ("regular", 4, b"b", None)],
    # The size field is "\0\0\0\0\0\0\0" "0016\0": Python stops at the first NUL
    # (size 0); Go and this reader trim NULs and spaces around the digits (14).
    "libarchive/test_read_format_tar_timestamp_overflow.tar": [
        ("regular", 14, b"tmp/f.txt", None)],
}

PY_TYPES = {"regular": {"0", "\x00", "7"}, "hard link": {"1"}, "symlink": {"2"},
            "char device": {"3"}, "block device": {"4"}, "directory": {"5", "D"},
            "fifo": {"6"}, "sparse": {"S", "0"}}
NOT_ENTRIES = {"A", "V", "g", "x", "X", "L", "K"}  # Python lists these; they are not files
STRING = r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
PY_LINE = re.compile(r"^  py: type=(b'(?:[^'\\]|\\.)*') size=(-?\d+) name=" + STRING +
                     r"(?: link=" + STRING + r")?(?: sha256=([0-9a-f]+))?")


def py_bytes(literal):
    return ast.literal_eval(literal).encode("utf-8", "surrogateescape")


def read_oracle(path):
    archives, current = {}, None
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("== "):
            current = archives.setdefault(line[3:], {"entries": [], "ok": False})
            continue
        match = PY_LINE.match(line)
        if match:
            kind = ast.literal_eval(match.group(1)).decode("latin-1")
            link = py_bytes(match.group(4)) if match.group(4) else None
            current["entries"].append((kind, int(match.group(2)), py_bytes(match.group(3)),
                                       link, match.group(5)))
        elif line == "  py: OK end":
            current["ok"] = True
    return archives


def unescape(text):
    return re.sub(rb"\\x([0-9a-f]{2})", lambda m: bytes([int(m.group(1), 16)]),
                  text.encode("latin-1"))


def read_listing(output):
    archives, current = {}, None
    for line in output.splitlines():
        if line.startswith("== "):
            current = archives.setdefault(line[3:], {"entries": [], "error": None})
        elif line.startswith("ERROR "):
            current["error"] = line
        elif line.startswith("type="):
            fields = dict(re.findall(r"(\w+)=(\S*)", line.replace("hard link", "hard_link")
                                     .replace("char device", "char_device")
                                     .replace("block device", "block_device")))
            current["entries"].append((fields["type"].replace("_", " "), int(fields["size"]),
                                       unescape(fields["name"]),
                                       unescape(fields["link"]) if "link" in fields else None,
                                       fields.get("sha256")))
    return archives


def compare(ours, oracle):
    """A list of differences between our entries and Python's."""
    theirs = [e for e in oracle if e[0] not in NOT_ENTRIES]
    if len(ours) != len(theirs):
        return [f"{len(ours)} entries, Python has {len(theirs)}"]
    problems = []
    for index, (mine, py) in enumerate(zip(ours, theirs)):
        kind, size, name, link, digest = mine
        py_kind, py_size, py_name, py_link, py_digest = py
        where = f"entry {index} ({name!r})"
        if py_kind not in PY_TYPES[kind]:
            problems.append(f"{where}: type {kind}, Python {py_kind!r}")
        # Python expands pax sparse files as type 0 with its own idea of the size.
        if (kind == "regular" or py_kind == "S") and size != py_size:
            problems.append(f"{where}: size {size}, Python {py_size}")
        shown = name.rstrip(b"/") or name  # Python drops trailing slashes
        if not shown.startswith(py_name):  # the oracle cut long names
            problems.append(f"{where}: Python's name is {py_name!r}")
        if py_link is not None and not (link or b"").startswith(py_link):
            problems.append(f"{where}: link {link!r}, Python {py_link!r}")
        if kind == "regular" and py_digest and digest != py_digest[:16]:
            problems.append(f"{where}: sha256 {digest}, Python {py_digest}")
    return problems


def main():
    tar_list, corpus = sys.argv[1], sys.argv[2]
    if not os.path.isdir(corpus):
        print(f"the tar corpus is not at {corpus!r}: set TESTDATA=/path/to/shared/testdata")
        print("0 passed, 1 failed")
        return 1
    folders = sorted(d for d in os.listdir(corpus) if os.path.isdir(os.path.join(corpus, d)))
    passed = failed = 0
    for folder in folders:
        oracle = read_oracle(os.path.join(corpus, folder, "ORACLE.txt"))
        paths = sorted(os.path.join(corpus, folder, f) for f in os.listdir(os.path.join(corpus, folder))
                       if f.endswith(".tar"))
        listing = read_listing(subprocess.run([tar_list] + paths, capture_output=True, text=True,
                                              encoding="latin-1", check=True).stdout)
        for path in paths:
            key = f"{folder}/{os.path.basename(path)}"
            ours = listing[path]
            if key in REFUSED:
                problems = [] if ours["error"] else ["accepted, but the suite calls it malformed"]
                what = f"refused ({REFUSED[key]}): {ours['error']}"
            elif ours["error"]:
                problems, what = [f"refused: {ours['error']}"], ""
            elif key in DIFFERENT_FROM_PYTHON:
                got = [(k, s, n, l) for k, s, n, l, _ in ours["entries"]]
                want = DIFFERENT_FROM_PYTHON[key]
                problems = [] if got == want else [f"entries {got}, the suite expects {want}"]
                what = f"{len(got)} entries, as the suite expects"
            elif key not in oracle:
                problems, what = ["not in ORACLE.txt"], ""
            else:
                problems = compare(ours["entries"], oracle[key]["entries"])
                what = f"{len(ours['entries'])} entries match Python's tarfile"
            if problems:
                failed += 1
                print(f"FAIL corpus/{key}: " + "; ".join(problems))
            else:
                passed += 1
                print(f"PASS corpus/{key}: {what}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
