#!/usr/bin/env python3
"""lab.py: the classroom labs' machinery (labs/README.md).

    lab.py start N          make the student's tree: the lab's functions become holes
    lab.py reset N          save the student's work as a patch, then put the solution back
    lab.py export N DIR [F] a student's tree in DIR: holes in, no git history, no answers
                            (with F, only function F's hole: the tests use it)
    lab.py grade N          run the lab's checks: points, a total, then "N passed, M failed"
    lab.py holes N          list the lab's holes and whether each is open

A lab is a folder labs/NN-name/ with holes.txt (one "FILE FUNCTION" a line: the functions the
student writes), grade.py (the checks), README.md (the handout) and ANSWERS.md (for teachers).
A hole keeps the function's signature and replaces its body with a panic that names the lab
and the function, so the tree builds and says what is missing the moment it is needed.

The timeout for every boot and build of a grader is in one place: LAB_TIMEOUT (seconds,
default 600, generous for a slow machine); a check that runs out of time says so.
"""
import datetime
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = int(os.environ.get("LAB_TIMEOUT", "600"))
# Stop at the first failed check (tests/labs/run.sh: enough to show that a hole costs points).
STOP_AT_FIRST_FAILURE = os.environ.get("LAB_STOP_AT_FIRST_FAILURE") == "1"
HOLE_MARK = "is yours to write"


def lab_folder(number, root=ROOT):
    prefix = f"{int(number):02d}-"
    for name in sorted(os.listdir(os.path.join(root, "labs"))):
        if name.startswith(prefix) and os.path.isdir(os.path.join(root, "labs", name)):
            return os.path.join(root, "labs", name)
    sys.exit(f"lab: no lab {number} (labs/README.md lists them)")


def holes(folder):
    """[(file, function)] from holes.txt."""
    return [(words[0], words[1]) for words in hole_lines(folder)]


def hole_lines(folder):
    """Each line of holes.txt as words: FILE FUNCTION [HELPER...]. The helpers are the
    file's functions the student's code will call: the hole names them, which also keeps
    the compiler from calling them unused while the hole is open."""
    lines = []
    for line in open(os.path.join(folder, "holes.txt")):
        words = line.split("#")[0].split()
        if len(words) >= 2:
            lines.append(words)
    return lines


# ---- holes in C functions ------------------------------------------------------------------


def find_function(text, function):
    """(start of the body's "{", end after its "}", parameter names) of a definition."""
    match = re.search(rf"^[A-Za-z_][^;{{}}]*?\b{re.escape(function)}\(([^)]*)\)\s*\{{", text, re.M)
    if not match:
        return None
    open_brace = match.end() - 1
    depth, at = 0, open_brace
    while at < len(text):
        if text[at] == "{":
            depth += 1
        elif text[at] == "}":
            depth -= 1
            if depth == 0:
                break
        at += 1
    parameters = []
    for parameter in match.group(1).split(","):
        words = re.findall(r"[A-Za-z_]\w*", parameter)
        if words and words != ["void"]:
            parameters.append(words[-1])
    return open_brace, at + 1, parameters


def hole_body(lab, function, parameters, helpers, handout):
    lines = ["{", f"    /* Lab {lab}: write this function ({handout}). */"]
    if helpers:
        lines.append(f"    /* You will need: {', '.join(helpers)}. */")
        lines += [f"    (void){name};" for name in helpers]
    lines += [f"    (void){name};" for name in parameters]
    lines.append(f'    platform_panic("lab {lab}: {function} {HOLE_MARK} ({handout})");')
    lines.append("}")
    return "\n".join(lines)


def is_hole(text, function):
    place = find_function(text, function)
    return place is not None and f"{function} {HOLE_MARK}" in text[place[0]:place[1]]


def open_holes(number, root, only=None):
    """Open the lab's holes in the tree at root (only the one named `only`, if given)."""
    folder = lab_folder(number, root)
    handout = os.path.relpath(os.path.join(folder, "README.md"), root)
    for path, function, *helpers in hole_lines(folder):
        if only and function != only:
            continue
        full = os.path.join(root, path)
        text = open(full).read()
        place = find_function(text, function)
        if place is None:
            sys.exit(f"lab: {function} is not defined in {path} (holes.txt is out of date)")
        if is_hole(text, function):
            continue
        start, end, parameters = place
        text = text[:start] + hole_body(int(number), function, parameters, helpers, handout) + \
            text[end:]
        if '#include "lib/platform.h"' not in text:  # platform_panic, for the hole
            first = re.search(r'^#include "[^"]+"\n', text, re.M)
            text = text[:first.end()] + '#include "lib/platform.h" /* lab hole */\n' + \
                text[first.end():]
        open(full, "w").write(text)


def git(*args, check=True):
    return subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True, check=check)


# ---- the commands ----------------------------------------------------------------------------


def command_start(number):
    folder = lab_folder(number)
    files = sorted({path for path, _ in holes(folder)})
    changed = git("status", "--porcelain", "--", *files).stdout.strip()
    if changed:
        sys.exit(f"lab: {', '.join(files)} have changes that are not committed; commit or save "
                 "them first (lab-start replaces functions in these files)")
    open_holes(number, ROOT)
    print(f"lab {number}: the holes are open in {', '.join(files)}:")
    command_holes(number)
    print(f"Read {os.path.relpath(os.path.join(folder, 'README.md'), ROOT)}; "
          f"`make grade LAB={number}` grades your work.")


def command_reset(number):
    folder = lab_folder(number)
    files = sorted({path for path, _ in holes(folder)})
    if git("rev-parse", "--git-dir", check=False).returncode != 0:
        sys.exit("lab: this tree has no git history, so there is no solution to put back "
                 "(an exported tree: your work stays as it is)")
    diff = git("diff", "HEAD", "--", *files).stdout
    if diff:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        saved = os.path.join(folder, f"my-work-{stamp}.patch")
        open(saved, "w").write(diff)
        print(f"lab {number}: your work is saved in {os.path.relpath(saved, ROOT)} "
              f"(`git apply {os.path.relpath(saved, ROOT)}` brings it back)")
    git("checkout", "HEAD", "--", *files)
    print(f"lab {number}: the solution is back in {', '.join(files)}")


def command_export(number, out, only=None):
    if os.path.exists(out) and os.listdir(out):
        sys.exit(f"lab: {out} exists and is not empty")
    tracked = git("ls-files", "-z").stdout.split("\0")
    for path in filter(None, tracked):
        if re.match(r"labs/[^/]+/ANSWERS\.md$", path) or path.startswith(".ci/"):
            continue
        target = os.path.join(out, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, path), target)
    open_holes(number, out, only)
    print(f"lab {number}: a student's tree in {out} ({'the hole ' + only if only else 'holes'} "
          "open, no git history, no answers)")


def command_holes(number):
    folder = lab_folder(number)
    for path, function in holes(folder):
        state = "open (yours to write)" if is_hole(open(os.path.join(ROOT, path)).read(),
                                                   function) else "written"
        print(f"  {path}: {function}: {state}")


# ---- grading ----------------------------------------------------------------------------------


class StopGrading(Exception):
    """A check failed and LAB_STOP_AT_FIRST_FAILURE=1: the rest are not run."""


class Grader:
    """What a lab's grade.py uses: run things, check output, keep the score."""

    def __init__(self, number):
        self.number = number
        self.root = ROOT
        self.results = []  # (name, points earned, points possible)
        self.logs = os.path.join(ROOT, "build", "labs", f"lab{int(number)}")
        os.makedirs(self.logs, exist_ok=True)

    def run(self, name, command, cwd=ROOT, env=None):
        """(exit status, output); status None when it ran out of time."""
        try:
            done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, errors="replace",
                                  timeout=TIMEOUT, env=dict(os.environ, **(env or {})))
            output, status = done.stdout + done.stderr, done.returncode
        except subprocess.TimeoutExpired as expired:
            output = (expired.stdout or b"").decode("utf-8", "replace") if isinstance(
                expired.stdout, bytes) else (expired.stdout or "")
            status = None
        open(os.path.join(self.logs, f"{name}.log"), "w").write(output)
        return status, output

    def build(self):
        status, output = self.run("build", ["make", "-s", "all"])
        if status != 0:
            print("lab: the kernel does not build (build/labs/.../build.log):")
            print("\n".join(output.strip().split("\n")[-12:]))
        return status == 0

    def boot(self, name, cmdline, mem="128M", smp="1", machine="pc"):
        """The kernel's serial log for one boot with this command line (its own ISO)."""
        iso = os.path.join(self.logs, f"{name}.iso")
        status, output = self.run(f"{name}-iso", ["tools/make-iso.sh", "build/ferrite.elf", iso,
                                                  cmdline, "build/bootfs.tar"])
        if status != 0:
            return None, f"the ISO was not made: {output.strip()[-200:]}"
        log = os.path.join(self.logs, f"{name}.serial")
        status, _ = self.run(name, ["tools/qemu-run.sh", iso],
                             env={"MEM": mem, "SMP": smp, "MACHINE": machine, "SERIAL_LOG": log})
        text = open(log, errors="replace").read().replace("\r", "") if os.path.exists(log) else ""
        if status is None:
            return text, f"timeout: the boot took more than {TIMEOUT} s (LAB_TIMEOUT)"
        return text, None

    def host_test(self, binary, env=None, tsan=False):
        """A host test program of tests/host (built there): passes if it reports no failure.
        With tsan, the ThreadSanitizer build of it (build/host-tsan/): a data race fails it."""
        program = os.path.join(ROOT, "build", "host-tsan" if tsan else "host", binary)
        name = ("tsan-" if tsan else "") + binary.replace("/", "-")
        status, output = self.run(f"host-{name}", ["make", "-s", "-C", "tests/host", program])
        if status != 0:
            return False, f"the test does not build: {output.strip()[-200:]}"
        if tsan:
            env = dict(env or {}, TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1")
        status, output = self.run(f"run-{name}", [program], env=env)
        summary = re.findall(r"^(\d+) passed, (\d+) failed", output, re.M)
        if status is None:
            return False, f"timeout after {TIMEOUT} s (LAB_TIMEOUT)"
        race = re.search(r"WARNING: ThreadSanitizer: (.*)", output)
        if race:
            where = re.search(r"^ +#0 (\S+) ", output[race.end():], re.M)
            return False, f"ThreadSanitizer: {race.group(1).strip()}" + (
                f" in {where.group(1)}" if where else "") + f" (build/labs/lab{self.number}/run-{name}.log)"
        ok = status == 0 and bool(summary) and summary[-1][1] == "0" and summary[-1][0] != "0"
        if summary:
            return ok, f"{summary[-1][0]} passed, {summary[-1][1]} failed"
        panic = re.findall(r"^PANIC: (.*)$", output, re.M)
        if panic:
            return False, f"the test program stopped: {panic[0]}"
        last = output.strip().split("\n")[-1] if output.strip() else "no output"
        return False, f"no summary (exit status {status}): {last[:160]}"

    def check(self, name, points, ok, why=""):
        self.results.append((name, points if ok else 0, points))
        mark = f"OK ({points}/{points})" if ok else f"FAIL (0/{points})"
        print(f"{name} ... {mark}" + ("" if ok or not why else f"  {why}"))
        if not ok and STOP_AT_FIRST_FAILURE:
            raise StopGrading()

    def finish(self):
        earned = sum(r[1] for r in self.results)
        possible = sum(r[2] for r in self.results)
        passed = sum(1 for r in self.results if r[1] == r[2])
        print(f"Score: {earned}/{possible}")
        print(f"{passed} passed, {len(self.results) - passed} failed")
        return 0 if passed == len(self.results) else 1


def command_grade(number):
    folder = lab_folder(number)
    namespace = {}
    exec(compile(open(os.path.join(folder, "grade.py")).read(),
                 os.path.join(folder, "grade.py"), "exec"), namespace)
    grader = Grader(number)
    print(f"lab {number} ({os.path.basename(folder)}), graded in {ROOT}; timeout {TIMEOUT} s "
          "(LAB_TIMEOUT); logs in build/labs/")
    try:
        namespace["grade"](grader)
    except StopGrading:
        print("(the other checks were not run: LAB_STOP_AT_FIRST_FAILURE=1)")
    return grader.finish()


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    verb, number = argv[0], argv[1]
    if not number.isdigit():
        sys.exit("lab: LAB is a number (make grade LAB=2)")
    if verb == "start":
        command_start(number)
    elif verb == "reset":
        command_reset(number)
    elif verb == "export" and len(argv) in (3, 4):
        command_export(number, argv[2], argv[3] if len(argv) == 4 else None)  # 4th: one hole
    elif verb == "grade":
        return command_grade(number)
    elif verb == "holes":
        command_holes(number)
    else:
        sys.exit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
