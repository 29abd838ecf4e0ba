#!/usr/bin/env python3
"""console_type.py LOG SOCKET LINE [PATTERN PID]: type LINE into the kernel's console.

A helper process of tools/gdb/lesson.py (GDB's Python cannot run a thread while
GDB waits in `continue`). It waits until the console log (LOG, from the offset in
the environment variable FROM, default 0) ends with the shell's prompt, types LINE
and Enter into the console socket (SOCKET), and with PATTERN and PID, waits until
the log shows PATTERN and sends SIGINT to PID (GDB), as Ctrl-C would.
"""
import os
import re
import signal
import socket
import sys
import time

WAIT = 120


def text(log):
    try:
        return open(log, errors="replace").read().replace("\r", "")
    except OSError:
        return ""


def wait_for(log, test, what):
    deadline = time.time() + WAIT
    while time.time() < deadline:
        if test(text(log)):
            return
        time.sleep(0.2)
    sys.exit(f"console_type: the console never showed {what} in {WAIT} s")


def main(argv):
    log, path, line = argv[0], argv[1], argv[2]
    start = int(os.environ.get("FROM", "0"))
    wait_for(log, lambda t: t.endswith("ferrite> ") and len(t) >= start, "the prompt")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as console:
        console.connect(path)
        console.sendall(line.encode() + b"\r")
        # Open until the shell has echoed the line: QEMU takes the bytes only as fast as
        # the UART drains, and drops what it has not taken when the socket closes.
        echo = "ferrite> " + line + "\n"  # the prompt may be older than start
        wait_for(log, lambda t: t.find(echo, max(0, start - len(echo))) >= 0, "the line echoed")
    if len(argv) == 5:
        pattern, pid = re.compile(argv[3], re.M), int(argv[4])
        wait_for(log, lambda t: pattern.search(t, start), f"/{argv[3]}/")
        time.sleep(0.5)
        os.kill(pid, signal.SIGINT)


if __name__ == "__main__":
    main(sys.argv[1:])
