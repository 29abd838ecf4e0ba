# Lab 5's checks (run by `make grade LAB=5`, through labs/lab.py's Grader).
import hashlib
import os
import re

ROOT_FILES = "build/bootfs-root"  # what build/bootfs.tar holds (tools/make-bootfs-root.sh)


def host_files(root):
    """{/path: sha256} of every regular file the archive was made from (links left out)."""
    found = {}
    base = os.path.join(root, ROOT_FILES)
    for folder, _dirs, files in os.walk(base):
        for name in files:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                continue
            found["/" + os.path.relpath(path, base)] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    return found


def grade(lab):
    built = lab.build()
    lab.check("the kernel builds", 10, built, "see build/labs/lab5/build.log")
    ok, why = lab.host_test("fs/test_tar")
    lab.check("host tests: the tar reader (tests/host/fs/test_tar.c)", 15, ok, why)
    # The real-world archives of ../shared/testdata/tar, as tests/host/Makefile finds them.
    corpus = [os.path.join(place, "tar") for place in
              (os.path.join(lab.root, "..", "shared", "testdata"), "/work/shared/testdata")
              if os.path.isdir(os.path.join(place, "tar"))]
    ok, why = lab.host_test("fs/test_bootfs", env={"TAR_CORPUS": corpus[0] if corpus else ""})
    lab.check("host tests: the file tree (tests/host/fs/test_bootfs.c)", 15, ok, why)
    files = host_files(lab.root) if built else {}
    commands = ["mount", "sha256 " + " ".join(sorted(files)), "stat /samples/size-4097",
                "cat /samples/../samples/link-to-readme"]
    log, problem = ("", "the kernel did not build") if not built or not files else lab.boot(
        "bootfs", 'run="' + "; ".join(commands) + '; exit 0"')
    hole = re.search(r"^KERNEL PANIC: (lab 5: .*)$", log, re.M)
    why = problem or (hole.group(1) if hole else "see build/labs/lab5/bootfs.serial")
    sums = dict((path, digest) for digest, path in
                re.findall(r"^([0-9a-f]{64})  (/\S+)$", log, re.M))
    wrong = [path for path, digest in files.items() if sums.get(path) != digest]
    lab.check("every file's sha256 equals the host's", 25, bool(files) and not wrong,
              why if not sums else f"wrong or missing: {', '.join(wrong[:4])}")
    lab.check("file data lies in the module, page-aligned", 15,
              re.search(r"^  files not page-aligned: 0 of \d+$", log, re.M) is not None and
              re.search(r"^  page-aligned: yes$", log, re.M) is not None, why)
    lab.check("no byte copied: the files are the module's own bytes", 10,
              re.search(r"file data served in place: [1-9]\d* bytes; bytes copied: 0$", log,
                        re.M) is not None, why)
    readme = open(os.path.join(lab.root, ROOT_FILES, "README.txt")).readline().strip() if files else ""
    lab.check("paths: .. and a symbolic link lead to the right file", 10,
              bool(readme) and re.search(r"^ferrite> cat /samples/\.\./samples/link-to-readme\n" +
                                         re.escape(readme), log, re.M) is not None, why)
