#!/usr/bin/env bash
# debug.sh: QEMU paused with its GDB stub, and GDB with the kernel's symbols and
# Ferrite's commands (tools/gdb/ferrite.gdb, tools/gdb/ferrite.py: `help kmem`),
# stopped at kernel_main (the 64-bit C entry).
#
#   debug.sh KERNEL_ELF ISO          `make debug`: both in this terminal. The
#       kernel's console goes to build/debug-serial.log (`tail -f` it in another
#       terminal) and to the socket build/debug-serial.sock for typing (`socat -
#       UNIX-CONNECT:build/debug-serial.sock`).
#   debug.sh --qemu KERNEL_ELF ISO   `make qemu-gdb`: QEMU only, its console on this
#       terminal (type shell commands here), waiting for GDB; the port goes to
#       build/debug-port.
#   debug.sh --gdb KERNEL_ELF        `make gdb`, in a second terminal: GDB, attached
#       to the QEMU that `make qemu-gdb` started.
#
# MEM, SMP, MACHINE, ACCEL as for `make run`; EXIT_DEVICE=0 leaves out
# isa-debug-exit, so that a panic halts the machine instead of ending QEMU, and
# GDB can still look at it (Ctrl-C, then kmem ...).
# GDB_BATCH="cmd1;cmd2": gdb in batch mode with these commands after the stop at
# kernel_main (tests/gdb uses this).
set -uo pipefail
mode=both
case "${1:-}" in
--qemu) mode=qemu; shift ;;
--gdb) mode=gdb; shift ;;
esac
kernel="$1" iso="${2:-}"
build="$(dirname "$kernel")"
here="$(cd "$(dirname "$0")/../.." && pwd)"

gdb_args=(-nx -q -x "$here/tools/gdb/ferrite.gdb" -x "$here/tools/gdb/ferrite.py" -ex "file $kernel")

run_gdb() { # port
    gdb_args+=(-ex "target remote 127.0.0.1:$1" -ex "hbreak kernel_main" -ex "continue")
    if [ -n "${GDB_BATCH:-}" ]; then
        IFS=';' read -ra commands <<< "$GDB_BATCH"
        for command in "${commands[@]}"; do gdb_args+=(-ex "$command"); done
        gdb -batch "${gdb_args[@]}" 2>&1 # its status: the last command's (kill fails with no target)
    else
        gdb "${gdb_args[@]}"
    fi
}

if [ "$mode" = gdb ]; then
    port=$(cat "$build/debug-port" 2>/dev/null)
    if [ -z "$port" ] || ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "gdb: no QEMU waiting for GDB: run \`make qemu-gdb\` in another terminal first" >&2
        exit 1
    fi
    run_gdb "$port"
    exit
fi

port=""
for candidate in $(seq 1234 1334); do
    # A port nobody listens on refuses the connection: free for us.
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
        port=$candidate
        break
    fi
done
[ -n "$port" ] || { echo "debug: no free TCP port in 1234-1334" >&2; exit 1; }

exit_device=(-device isa-debug-exit,iobase=0xf4,iosize=0x04)
if [ "${EXIT_DEVICE:-1}" = 0 ]; then exit_device=(); fi
# shellcheck source=tools/qemu-firmware.sh
. "$(dirname "$0")/../qemu-firmware.sh"
firmware_options "$build" || exit 2
qemu=(qemu-system-x86_64 -machine "${MACHINE:-pc}" -accel "${ACCEL:-tcg}" -m "${MEM:-128M}"
    -smp "${SMP:-1}" "${firmware[@]}" -cdrom "$iso" -boot d -no-reboot -display none
    "${exit_device[@]}" -S -gdb "tcp:127.0.0.1:$port")

if [ "$mode" = qemu ]; then
    echo "$port" > "$build/debug-port"
    echo "qemu-gdb: QEMU is paused, waiting for GDB on port $port: run \`make gdb\` in another" \
        "terminal. The kernel's console is this terminal (Ctrl-A X quits QEMU)."
    "${qemu[@]}" -serial mon:stdio
    status=$?
    rm -f "$build/debug-port" "$firmware_vars"
    exit $status
fi

rm -f "$build/debug-serial.sock" "$build/debug-serial.log" # no stale log from an earlier session
"${qemu[@]}" \
    -chardev "socket,id=console,path=$build/debug-serial.sock,server=on,wait=off,logfile=$build/debug-serial.log" \
    -serial chardev:console &
qemu_pid=$!
trap 'kill $qemu_pid 2>/dev/null; wait $qemu_pid 2>/dev/null; rm -f "$firmware_vars"' EXIT
sleep 0.3
if ! kill -0 "$qemu_pid" 2>/dev/null; then # it printed why (a bad -m, no ISO...)
    wait "$qemu_pid"
    echo "debug: QEMU did not start (exit status $?); no GDB session" >&2
    exit 1
fi
if [ -z "${GDB_BATCH:-}" ]; then
    echo "debug: QEMU is paused, GDB stub on port $port; kernel console: tail -f $build/debug-serial.log"
    echo "debug: two terminals instead (console in one, GDB in the other): make qemu-gdb, then make gdb"
    echo "debug: for a plain \`gdb $kernel\` with the kmem commands, add to ~/.config/gdb/gdbinit:"
    echo "    add-auto-load-safe-path $here/$kernel-gdb.py"
fi
run_gdb "$port"
