#!/usr/bin/env python3
"""tools/mkbootfs against the readers it must satisfy.

Makes a folder with the cases a tar writer gets wrong (names of 100, 101, 155
and 451 bytes, a deep path, non-UTF-8 bytes in a name, a symlink with a
300-byte target, a hard link, empty and odd-sized files, a file of 1 MiB + 1),
writes it with mkbootfs, and checks:
  - GNU tar lists it and extracts it with status 0 and nothing on stderr, and
    the extracted tree equals the original, byte for byte;
  - Python's tarfile reads every member (errorlevel 2: no error tolerated) with
    the right type, size, link and data;
  - every regular file with data starts on a 4 KiB boundary of the archive;
  - fs/tar.c (through tar_list) lists the same members.

    check_mkbootfs.py MKBOOTFS TAR_LIST

Ends with "N passed, M failed".
"""
import filecmp
import os
import subprocess
import sys
import tarfile
import tempfile

results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'} mkbootfs/{name}{': ' + detail if detail and not ok else ''}")


def make_tree(root):
    def write(path, data):
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)
    write("empty", b"")
    write("one", b"1")
    for size in (511, 512, 513, 4095, 4096, 4097):
        write(f"sizes/{size}", bytes((i * 7) & 0xFF for i in range(size)))
    write("big", os.urandom(1024 * 1024 + 1))
    write("n" * 100, b"name of 100 bytes")
    write("n" * 101, b"name of 101 bytes")
    write("d" * 155 + "/f", b"in a directory of 155 bytes")
    write("/".join(["deep"] * 40) + "/leaf", b"forty levels down")
    write("x" * 200 + "/" + "y" * 250, b"a path of 451 bytes")
    os.makedirs(os.path.join(root, "bytes"), exist_ok=True)
    with open(os.path.join(root.encode(), b"bytes", b"hi\x80\x81bye"), "wb") as f:
        f.write(b"not utf-8")
    os.symlink("t" * 300, os.path.join(root, "longlink"))
    os.symlink("../one", os.path.join(root, "sizes", "link"))
    os.link(os.path.join(root, "sizes", "4096"), os.path.join(root, "sizes", "hard"))


def main():
    mkbootfs, tar_list = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as work:
        tree, archive, out = os.path.join(work, "tree"), os.path.join(work, "a.tar"), \
            os.path.join(work, "out")
        os.makedirs(tree)
        make_tree(tree)
        made = subprocess.run([mkbootfs, "-o", archive, tree], capture_output=True, text=True)
        check("runs", made.returncode == 0 and not made.stderr, made.stderr)

        listed = subprocess.run(["tar", "-tvf", archive], capture_output=True, text=True)
        check("gnu_tar_lists_without_complaint", listed.returncode == 0 and not listed.stderr,
              listed.stderr)
        os.makedirs(out)
        extracted = subprocess.run(["tar", "-xf", archive, "-C", out], capture_output=True,
                                   text=True)
        check("gnu_tar_extracts_without_complaint",
              extracted.returncode == 0 and not extracted.stderr, extracted.stderr)
        differences = []

        def compare(a, b):
            cmp = filecmp.dircmp(a, b)
            differences.extend(os.path.join(a, n) for n in
                               cmp.left_only + cmp.right_only + cmp.diff_files + cmp.funny_files)
            differences.extend(os.path.join(a, n) for n in cmp.common_files  # bytes, not dates
                               if not filecmp.cmp(os.path.join(a, n), os.path.join(b, n),
                                                  shallow=False))
            for sub in cmp.common_dirs:
                compare(os.path.join(a, sub), os.path.join(b, sub))
        compare(tree.encode(), out.encode())
        check("extracted_tree_equals_the_original", not differences, str(differences[:5]))
        same_inode = os.stat(os.path.join(out, "sizes", "hard")).st_ino == \
            os.stat(os.path.join(out, "sizes", "4096")).st_ino
        check("hard_link_extracts_as_a_hard_link", same_inode)

        members = {}
        try:
            with tarfile.open(archive, errorlevel=2, encoding="utf-8",
                              errors="surrogateescape") as tar:
                for member in tar.getmembers():
                    data = tar.extractfile(member).read() if member.isreg() else None
                    members[member.name] = (member, data)
            check("python_tarfile_reads_every_member", True)
        except Exception as error:  # noqa: BLE001 - any complaint fails the check
            check("python_tarfile_reads_every_member", False, repr(error))
        wrong = []
        for dirpath, dirnames, filenames in os.walk(tree.encode()):
            for name in filenames + dirnames:
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, tree.encode()).decode("utf-8", "surrogateescape")
                if rel not in members:
                    wrong.append(f"{rel}: missing")
                    continue
                member, data = members[rel]
                if os.path.islink(full):
                    if not member.issym() or member.linkname != os.readlink(full).decode(
                            "utf-8", "surrogateescape"):
                        wrong.append(f"{rel}: link")
                elif os.path.isdir(full):
                    if not member.isdir():
                        wrong.append(f"{rel}: not a directory")
                elif member.isreg():
                    if data != open(full, "rb").read():
                        wrong.append(f"{rel}: data")
                elif not member.islnk():
                    wrong.append(f"{rel}: type {member.type}")
        check("python_tarfile_sees_the_tree", not wrong, str(wrong[:5]))
        unaligned = [name for name, (member, _) in members.items()
                     if member.isreg() and member.size and member.offset_data % 4096]
        check("every_file_starts_on_a_4k_boundary", not unaligned and len(members) > 20,
              str(unaligned[:5]))

        ours = subprocess.run([tar_list, archive], capture_output=True, text=True,
                              encoding="latin-1").stdout.splitlines()
        entries = [line for line in ours if line.startswith("type=")]
        check("fs_tar_reads_it", ours[-1:] == ["OK end"] and len(entries) == len(members),
              f"{len(entries)} entries, tarfile {len(members)}; last line {ours[-1:]}")

        bad = subprocess.run([mkbootfs, "-o", archive, os.path.join(work, "missing")],
                             capture_output=True, text=True)
        check("a_missing_folder_is_an_error", bad.returncode != 0 and "missing" in bad.stderr,
              bad.stderr)
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
