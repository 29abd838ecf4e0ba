"""QEMU tests of the boot filesystem (issue 6), with their host-side oracles.

The default archive (build/bootfs.tar) is read on the host by GNU tar (its
`-tv` listing, and files extracted for sha256sum) and by Python's tarfile (each
member's data offset in the archive); the kernel's `ls -lR /`, `sha256`,
`stat` and `mount` must say the same, and every file's data must sit at the
module's address plus its offset in the archive, on a page boundary.
Archives of the shared corpus are booted too: valid ones list and hash as the
host says; malformed ones are refused with the offset and the reason, and the
kernel still reaches its shell.
"""
import hashlib
import io
import os
import re
import subprocess
import tarfile
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def corpus_dir():
    for candidate in [os.environ.get("TESTDATA", ""), os.path.join(ROOT, "..", "shared", "testdata"),
                      "/work/shared/testdata"]:
        if candidate and os.path.isdir(os.path.join(candidate, "tar")):
            return os.path.join(candidate, "tar")
    return os.path.join(ROOT, "no-testdata-found")  # the tests then fail, saying so


def regular_members(archive):
    """(path, member) of the regular files, in archive order."""
    with tarfile.open(archive) as tar:
        return [("/" + m.name, m) for m in tar.getmembers() if m.isreg()]


# ---- the oracle: GNU tar and sha256sum on the host ----------------------------------

def host_listing(archive):
    """{path: (mode, owner, size, date, link)} from GNU tar -tv (UTC, numeric owners),
    a hard link shown as the file it is (its source's size, "link to SOURCE")."""
    text = subprocess.run(["tar", "--numeric-owner", "-tvf", archive], capture_output=True,
                          text=True, check=True, env=dict(os.environ, TZ="UTC")).stdout
    entries, sizes = {}, {}
    for line in text.splitlines():
        match = re.match(r"^(\S{10}) (\d+/\d+)\s+(\d+) (\S+ \S+) (.*)$", line)
        mode, owner, size, date, rest = match.groups()
        link = None
        if mode[0] == "l":
            rest, link = rest.split(" -> ", 1)
            link = "-> " + link
        elif mode[0] == "h":
            rest, link = rest.split(" link to ", 1)
            link = "link to " + link
            mode = "-" + mode[1:]
        path = "/" + rest.rstrip("/")
        entries[path] = [mode, owner, int(size), date, link]
        sizes[path] = int(size)
    for path, entry in entries.items():
        if entry[4] and entry[4].startswith("link to "):
            entry[2] = sizes["/" + entry[4][len("link to "):]]
    return {path: tuple(entry) for path, entry in entries.items()}


def kernel_listing(log):
    """The same shape, from the kernel's `ls -lR /`."""
    block = log.split("ferrite> ls -lR /", 1)[-1]
    entries, directory = {}, None
    for line in block.splitlines():
        line = line.rstrip("\r")
        if line.startswith("ferrite> "):
            break
        if line.endswith(":") and line.startswith("/"):
            directory = line[:-1].rstrip("/")
            continue
        match = re.match(r"^(\S{10}) (\d+/\d+)\s+(\d+) (\S+ \S+) (.*)$", line)
        if not match or directory is None:
            continue
        mode, owner, size, date, rest = match.groups()
        link = None
        for separator, label in ((" -> ", "-> "), (" link to ", "link to ")):
            if separator in rest:
                rest, target = rest.split(separator, 1)
                link = label + target
        entries[directory + "/" + rest] = (mode, owner, int(size), date, link)
    return entries


def host_digests(archive):
    """{path: sha256} of every regular file, extracted by GNU tar, hashed by sha256sum."""
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(["tar", "-xf", archive, "-C", folder], check=True)
        digests = {}
        for path, _ in regular_members(archive):
            out = subprocess.run(["sha256sum", folder + path], capture_output=True, text=True,
                                 check=True).stdout
            digests[path] = out.split()[0]
        return digests


def default_bootfs_check(archive, cat_files):
    def check(log):
        problems = []
        text = log.replace("\r\n", "\n")
        with tempfile.TemporaryDirectory() as folder:  # what `cat` printed, against tar -x
            subprocess.run(["tar", "-xf", archive, "-C", folder], check=True)
            for path in cat_files:
                content = open(folder + path, encoding="utf-8").read()
                if f"ferrite> cat {path}\n{content}ferrite> " not in text and \
                        f"ferrite> cat {path}\n{content}" + "\n" not in text:
                    problems.append(f"cat {path} did not print the file as tar extracts it")
        host, kernel = host_listing(archive), kernel_listing(log)
        if host != kernel:
            only_host = {k: v for k, v in host.items() if kernel.get(k) != v}
            only_kernel = {k: v for k, v in kernel.items() if host.get(k) != v}
            problems.append(f"ls -lR / differs from tar -tv: host {only_host}, kernel {only_kernel}")
        for path, digest in host_digests(archive).items():
            if not re.search(rf"^{digest}  {re.escape(path)}\r?$", log, re.M):
                problems.append(f"sha256 of {path} is not sha256sum's {digest}")
        module = re.search(r"module: physical (0x[0-9a-f]+)-", log)
        if not module:
            return "; ".join(problems + ["no module address in `mount`"])
        base = int(module.group(1), 16)
        if base % 4096:
            problems.append(f"the module is not page-aligned: {base:#x}")
        for path, member in regular_members(archive):
            stat = re.search(rf"file: {re.escape(path)}\r?\n(?:  .*\n)*?  data: archive offset "
                             rf"(\d+) \(0x[0-9a-f]+\), physical (0x[0-9a-f]+), virtual "
                             rf"(0x[0-9a-f]+)\r?\n  page-aligned: (\S+)", log)
            if not stat:
                problems.append(f"no stat of {path}")
                continue
            offset, phys = int(stat.group(1)), int(stat.group(2), 16)
            if offset != member.offset_data or phys != base + member.offset_data:
                problems.append(f"{path}: data at offset {offset}, phys {phys:#x}; tarfile says "
                                f"offset {member.offset_data}, so {base + member.offset_data:#x}")
            if int(stat.group(3), 16) != 0xFFFF800000000000 + phys:
                problems.append(f"{path}: virtual address is not the direct map of {phys:#x}")
            if member.size and stat.group(4) != "yes":
                problems.append(f"{path} is not page-aligned")
        return "; ".join(problems) or None
    return check


def hexdump_line(archive, path, offset):
    """The line hexdump -C prints for the 16 bytes at offset of a member."""
    with tarfile.open(archive) as tar:
        data = tar.extractfile(path.lstrip("/")).read()[offset:offset + 16]
    hexes = " ".join(f"{b:02x}" for b in data[:8]) + "  " + " ".join(f"{b:02x}" for b in data[8:])
    text = "".join(chr(b) if 0x20 <= b < 0x7f else "." for b in data)
    return f"{offset:08x}  {hexes:<48}  |{text}|"


def make_escaping_archive(path):
    """Names that would leave the root, and one name given twice (Python's tarfile writes them
    as asked: it only refuses them when extracting)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in [("../evil", b"no\n"), ("a/../../evil2", b"no\n"),
                           ("dup", b"first copy\n"), ("ok", b"fine\n"),
                           ("dup", b"second copy wins\n")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def every_corpus_archive(QemuTest, corpus, no_panic):
    """One boot per archive of the shared corpus: the kernel reaches its shell either way, and
    mounts exactly what the host build of the same reader lists (build/host/tar_list, which
    tests/host/fs/check_corpus.py holds against Python's tarfile), or refuses it at the same
    offset for the same reason."""
    tar_list = os.path.join(ROOT, "build", "host", "tar_list")
    if not os.path.isdir(corpus):
        return [QemuTest("bootfs_corpus_every_archive", "", 0,
                         check=lambda log: f"no tar corpus at {corpus} (set TESTDATA)")]
    if not os.path.exists(tar_list):
        subprocess.run(["make", "-s", "-C", os.path.join(ROOT, "tests", "host"), tar_list],
                       check=True, stdout=subprocess.DEVNULL)
    cases = []
    for folder in sorted(d for d in os.listdir(corpus) if os.path.isdir(os.path.join(corpus, d))):
        paths = sorted(os.path.join(corpus, folder, f) for f in os.listdir(os.path.join(corpus, folder))
                       if f.endswith(".tar"))
        listing = subprocess.run([tar_list] + paths, capture_output=True, text=True,
                                 encoding="latin-1").stdout.split("== ")[1:]
        for path, block in zip(paths, listing):
            lines = block.splitlines()[1:]
            error = [line for line in lines if line.startswith("ERROR ")]
            if error:
                offset, reason = re.match(r"ERROR offset=(\d+) (.*)", error[0]).groups()
                expect = [rf"^bootfs: refused: .* at byte offset {offset}: {re.escape(reason)}\r?$",
                          r"mount: no root filesystem"]
            else:
                entries = sum(line.startswith("type=") for line in lines)
                expect = [rf"^  archive entries: {entries}; nodes: \d+", r"bytes copied: 0\r?$"]
            name = os.path.basename(path)[:-4].replace("-", "_").replace(".", "_")
            cases.append(QemuTest(f"bootfs_corpus_all_{folder.replace('-', '_')}_{name}",
                                  'quiet run="mount; echo at the shell; exit 0"', 0, bootfs=path,
                                  expect=expect + [r"^at the shell"], forbid=no_panic))
    return cases


def tests(QemuTest, default_bootfs, no_panic):
    cases = []
    if os.path.exists(default_bootfs):
        files = [path for path, _ in regular_members(default_bootfs)]
    else:
        files = ["/README.txt"]  # the test then fails: no archive to compare with
    readme = hashlib.sha256(open(os.path.join(ROOT, "iso", "bootfs", "README.txt"), "rb")
                            .read()).hexdigest()
    mount_ok = [r"^bootfs: mounted the module at 0x[0-9a-f]+000 \(\d+ bytes\)",
                r"file data served in place: [1-9]\d* bytes; bytes copied: 0\r?$",
                r"files not page-aligned: 0 of \d+"]
    cat_files = ["/docs/bootfs.txt", "/samples/size-513"]
    commands = (["mount", "ls -lR /", "sha256 " + " ".join(files)] + [f"stat {f}" for f in files]
                + [f"cat {f}" for f in cat_files])
    cases.append(QemuTest(
        "bootfs_default_matches_host_tar", 'run="' + "; ".join(commands + ["exit 0"]) + '"', 0,
        timeout=120,
        expect=mount_ok + [r"metadata: \d+ bytes \(\d+ nodes x (\d+) bytes"],
        forbid=no_panic + [r"bootfs: warning"],
        check=default_bootfs_check(default_bootfs, cat_files)))
    cases.append(QemuTest(
        "bootfs_every_write_path_is_erofs",
        'run="write /README.txt hello; touch /new; truncate /README.txt 0; rm /README.txt; '
        'mkdir /d; mv /README.txt /x; sha256 /README.txt; exit 0"', 0,
        expect=[rf"^{command}: /[A-Za-z.]+: EROFS: read-only file system"
                for command in ["write", "touch", "truncate", "rm", "mkdir", "mv"]]
        + [rf"^{readme}  /README.txt"], forbid=no_panic))
    cases.append(QemuTest(
        "bootfs_mounts_at_3M", 'run="mount; sha256 /README.txt; mem; exit 0"', 0, mem="3M",
        expect=mount_ok + [rf"^{readme}  /README.txt", r"boot module 'bootfs' +\d+ bytes",
                           r"^accounted: (\d+) bytes, usable: \1 bytes\r?$"],
        forbid=no_panic))
    cases.append(QemuTest(
        "bootfs_symlinks_dots_and_errors",
        'run="cat /samples/link-to-readme; ls -l //samples/../samples/./link-to-readme; '
        'sha256 /samples/hard-link-to-size-4096 /samples/size-4096; cat /nothing; cat /samples; '
        'ls /README.txt/x; hexdump /samples/size-513 496; exit 0"', 0,
        expect=[r"^Ferrite's boot filesystem", r"link-to-readme -> \.\./README\.txt",
                r"^(\w{64})  /samples/hard-link-to-size-4096\r?\n\1  /samples/size-4096",
                r"cat: /nothing: ENOENT", r"cat: /samples: EISDIR",
                r"ls: /README.txt/x: ENOTDIR",
                "^" + re.escape(hexdump_line(default_bootfs, "/samples/size-513", 496)) + r"\r?$"
                if os.path.exists(default_bootfs) else "no archive", r"^00000201\r?$"],
        forbid=no_panic))

    corpus = corpus_dir()
    kilts = hashlib.sha256(b"Kilts").hexdigest()
    cases.append(QemuTest(
        "bootfs_corpus_gnu_tar_not_page_aligned",
        'run="mount; ls -l /; sha256 /small.txt /small2.txt; stat /small.txt; exit 0"', 0,
        bootfs=os.path.join(corpus, "go", "gnu.tar"),
        expect=[r"bootfs: 2 of 2 files do not start on a page",
                r"-rw-r----- 73025/5000 +5 \S+ \S+ small\.txt",
                r"-rw-r----- 73025/5000 +11 \S+ \S+ small2\.txt",
                rf"^{kilts}  /small.txt", rf"^{hashlib.sha256(b'Google.com' + bytes([10])).hexdigest()}  /small2.txt",
                r"page-aligned: NO", r"bytes copied: 0\r?$"], forbid=no_panic))
    regtype = "e09e4bc8b3c9d9177e77256353b36c159f5f040531bbd4b024a8f9b9196c71ce"
    cases.append(QemuTest(
        "bootfs_corpus_cpython_testtar",
        'run="mount; ls -lR /; sha256 /ustar/regtype /pax/regtype4 /misc/regtype-old-v7 '
        '/ustar/linktest2/lnktype /ustar/conttype; cat /gnu/sparse; stat /ustar/blktype; '
        'cat /ustar/fifotype; cat /ustar/symtype; exit 0"', 0,
        bootfs=os.path.join(corpus, "cpython", "testtar.tar"), timeout=90,
        expect=[rf"^{regtype}  /{path}\r?$" for path in
                ["ustar/regtype", "pax/regtype4", "misc/regtype-old-v7", "ustar/linktest2/lnktype",
                 "ustar/conttype"]]
        + [r"cat: /gnu/sparse: ENOTSUP: not supported", r"type: block device",
           r"cat: /ustar/fifotype: ENOTSUP", r"^S\S{9} .* sparse-1\.0\r?$",
           r"bytes copied: 0\r?$", r"symtype -> regtype"],
        forbid=no_panic))
    for folder, name, offset, reason in [
            ("go", "neg-size.tar", 0, r"size field is not a number|unknown magic"),
            ("go", "pax-bad-hdr-file.tar", 512, r"pax record does not end in a newline"),
            ("cpython", "recursion.tar", 512, r"pax record"),
            ("go", "writer-big.tar", 0, r"entry's 17179869184 bytes of data go past the end")]:
        cases.append(QemuTest(
            f"bootfs_corpus_refused_{name.replace('.tar', '').replace('-', '_')}",
            'run="ls /; mount; echo still here; exit 0"', 0,
            bootfs=os.path.join(corpus, folder, name),
            expect=[rf"^bootfs: refused: the module at 0x[0-9a-f]+ \(\d+ bytes\) is not a valid tar "
                    rf"archive: at byte offset {offset}: ({reason})",
                    r"bootfs: going on without a root filesystem",
                    r"ls: no root filesystem", r"^still here"], forbid=no_panic))
    cases.append(QemuTest(
        "bootfs_missing_module", 'run="ls /; exit 0"', 0, bootfs="none",
        expect=[r"bootfs: no boot module named 'bootfs' \(grub.cfg: module2 /boot/bootfs.tar "
                r"bootfs; 0 module\(s\) given\)", r"ls: no root filesystem"], forbid=no_panic))
    cases += every_corpus_archive(QemuTest, corpus, no_panic)
    crafted = os.path.join(ROOT, "build", "tests", "escapes.tar")
    make_escaping_archive(crafted)
    cases.append(QemuTest(
        "bootfs_escaping_names_skipped_duplicates_replaced",
        'run="ls -l /; cat /dup; mount; exit 0"', 0, bootfs=crafted,
        expect=[r"bootfs: warning: entry at offset 0 '\.\./evil': the name leaves the root: skipped",
                r"bootfs: warning: entry at offset 1024 'a/\.\./\.\./evil2': the name leaves the root",
                r"bootfs: warning: entry at offset \d+ 'dup': replaces an earlier entry",
                r"^second copy wins", r"entries skipped: 2; replaced by a later one: 1",
                r" ok\r?$"],
        forbid=no_panic + [r" evil2?\r?$", r"^first copy"]))
    empty = os.path.join(ROOT, "build", "tests", "empty.tar")
    os.makedirs(os.path.dirname(empty), exist_ok=True)
    open(empty, "wb").close()
    cases.append(QemuTest(
        "bootfs_empty_module", 'run="ls -l /; mount; exit 0"', 0, bootfs=empty,
        expect=[r"bootfs: mounted the module at (0x[0-9a-f]+|0) \(0 bytes\)",
                r"archive entries: 0; nodes: 1"], forbid=no_panic))
    return cases
