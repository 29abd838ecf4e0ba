"""lesson.py: the GDB lesson of docs/gdb.md, played on a real kernel and written down.

Run inside GDB by tools/gdb/lesson.sh (`make gdb-lesson`, and tests/gdb), which
starts QEMU with two CPUs the way `make debug` does and stops GDB at kernel_main.
Each step runs GDB commands (gdb.execute) and, where the lesson needs the shell,
types into the kernel's console (the serial socket) from a helper process
(tools/gdb/console_type.py) while GDB waits in `continue`. Everything GDB prints and everything the console shows
goes into the transcript (LESSON_OUT, markdown), so the lesson in docs/gdb.md is
what the code does today.
"""
import os
import subprocess

import gdb

BUILD = os.environ.get("LESSON_BUILD", "build")
OUT = os.environ["LESSON_OUT"]
SERIAL_LOG = os.path.join(BUILD, "debug-serial.log")
SERIAL_SOCKET = os.path.join(BUILD, "debug-serial.sock")
HERE = os.path.dirname(os.path.abspath(os.environ.get("LESSON_SCRIPT", "tools/gdb/lesson.py")))

parts = []  # the transcript: ("text" | "gdb" | "console", lines)
console_seen = 0  # how much of the serial log the transcript has shown


def say(text):
    parts.append(("text", [text]))


def run(command):
    """One GDB command: run it, keep what it printed (for `continue` and `finish`, also
    where it stopped, which GDB prints outside the captured text)."""
    try:
        output = gdb.execute(command, to_string=True)
        if command in ("continue", "finish"):
            output += gdb.execute("frame", to_string=True)
    except gdb.error as error:
        output = f"{error}\n"
    lines = [f"(gdb) {command}"] + [line for line in output.rstrip("\n").split("\n") if line]
    if parts and parts[-1][0] == "gdb":
        parts[-1][1].extend(lines)
    else:
        parts.append(("gdb", lines))
    return output


def serial_text():
    try:
        return open(SERIAL_LOG, errors="replace").read().replace("\r", "")
    except OSError:
        return ""


def show_console(first_command):
    """The console from the line where first_command was typed to now, into the
    transcript (the boot log before it is left out)."""
    global console_seen
    text = serial_text()
    start = text.find(f"ferrite> {first_command}", max(0, console_seen - len("ferrite> ")))
    if start < 0:
        raise RuntimeError(f"lesson: `{first_command}` is not in the console log")
    lines = [line for line in text[start:].split("\n") if line.strip() and line != "ferrite> "]
    console_seen = len(text)
    parts.append(("console", lines))


def type_at_prompt(line, then_interrupt_on=None):
    """Start a helper process (tools/gdb/console_type.py) that, once the prompt shows,
    types line into the console; with then_interrupt_on, it then interrupts GDB (as
    Ctrl-C does) when the console shows that pattern. GDB's Python cannot do this from
    a thread: no Python thread runs while GDB waits in `continue`."""
    command = ["python3", os.path.join(HERE, "console_type.py"), SERIAL_LOG, SERIAL_SOCKET, line]
    if then_interrupt_on:
        command += [then_interrupt_on, str(os.getpid())]
    return subprocess.Popen(command, env=dict(os.environ, FROM=str(len(serial_text()))))


def wait_for_helper(helper):
    if helper.wait(timeout=150) != 0:
        raise RuntimeError("lesson: typing into the console failed (see above)")


def lesson():
    say("GDB has stopped the kernel at `kernel_main`, before its first boot step. Ask it to "
        "stop when the buddy allocator first splits a block, and let the kernel boot:")
    run("kbreak split")
    run("continue")
    run("bt 5")
    say("The first split comes from a page cache's refill: a batch of single pages taken from "
        "the buddy allocator, and the smallest free block was bigger than one page. The free "
        "lists right now:")
    run("kmem buddy dma32")
    say("Now follow one 2 KiB allocation. `kbreak malloc 2048` stops in malloc for requests of "
        "the 2048-byte class. After `continue`, type `malloc alloc 2048` in the console (the "
        "first terminal) once the prompt shows:")
    run("delete")
    run("kbreak malloc 2048")
    typing = type_at_prompt("malloc alloc 2048")
    run("continue")
    wait_for_helper(typing)
    say("GDB stopped on CPU 0, in malloc. `finish` runs it to its return; with more than one "
        "CPU, `set scheduler-locking on` first, so that only this CPU runs meanwhile (another "
        "could stop somewhere else first):")
    run("set scheduler-locking on")
    run("finish")
    run("set scheduler-locking off")
    run("print (void *) $rax")
    address = int(gdb.parse_and_eval("$rax")) & 0xFFFFFFFFFFFFFFFF
    say("Back in the shell's command, the object is in `rax`. What is it, and what is its "
        "page?")
    run("kmem obj $rax")
    run("kmem page $rax")
    say("Two 2048-byte objects fill one 4 KiB page: object 0 and object 1, no header between "
        "them (the slab's bitmap and descriptor live elsewhere). Delete the breakpoint and let "
        "the shell finish; then type `on 1 malloc free ADDR` with the address malloc printed: "
        "CPU 1, which does not own the slab, frees it (a remote free). Once the console says "
        "it is freed, press Ctrl-C in GDB:")
    run("delete")
    typing = type_at_prompt(f"on 1 malloc free {address:#x}",
                            then_interrupt_on=r"malloc free: 0x[0-9a-f]+ freed on CPU 1")
    run("continue")
    wait_for_helper(typing)
    show_console("malloc alloc 2048")
    say("The CPUs were idle, halted until the next interrupt. Where is the object now?")
    run(f"kmem obj {address:#x}")
    run("kmem malloc 1")
    say("The object waits in CPU 1's magazine, although CPU 0's slab holds it: a free goes to "
        "the freeing CPU's magazine, with no lock. It goes home when that magazine flushes. "
        "`continue`, type `malloc drain` (it flushes every CPU's magazines), and Ctrl-C once it "
        "has answered:")
    typing = type_at_prompt("malloc drain", then_interrupt_on=r"^malloc drain: ")
    run("continue")
    wait_for_helper(typing)
    show_console("malloc drain")
    run("kmem malloc 0")
    say("CPU 1 sent the object home through CPU 0's inbox (head and tail moved by one: one "
        "object came and was taken in); object 0 came back from CPU 0's own magazine. With "
        "both objects free the slab was empty, so its page went back to the page allocator "
        "(the 2048 class has no current slab any more). The page is now part of a free buddy "
        "block:")
    run(f"kmem page {address:#x}")


def write_transcript():
    with open(OUT, "w") as out:
        for kind, lines in parts:
            if kind == "text":
                out.write(lines[0] + "\n\n")
            else:
                out.write("In the console:\n\n" if kind == "console" else "")
                out.write("```\n" + "\n".join(line.rstrip() for line in lines) + "\n```\n\n")


try:
    lesson()
finally:
    write_transcript()
    try:
        gdb.execute("kill")
    except gdb.error:
        pass
