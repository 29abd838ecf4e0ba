#!/usr/bin/env bash
# debug.sh KERNEL_ELF ISO: start QEMU paused with its GDB stub on a free port,
# then GDB with the kernel's symbols, stopped at kernel_main (the 64-bit C
# entry). Used by `make debug`.
#
# The kernel's serial console goes to build/debug-serial.log (follow it with
# `tail -f build/debug-serial.log` in another terminal), and to the socket
# build/debug-serial.sock for typing (`socat - UNIX-CONNECT:build/debug-serial.sock`).
#
# GDB_BATCH="cmd1;cmd2": run gdb in batch mode with these commands after the
# stop at kernel_main (tests/gdb uses this).
set -uo pipefail
kernel="$1" iso="$2"
build="$(dirname "$kernel")"
here="$(cd "$(dirname "$0")/../.." && pwd)"

port=""
for candidate in $(seq 1234 1334); do
    # A port nobody listens on refuses the connection: free for us.
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
        port=$candidate
        break
    fi
done
[ -n "$port" ] || { echo "debug: no free TCP port in 1234-1334" >&2; exit 1; }

rm -f "$build/debug-serial.sock" "$build/debug-serial.log" # no stale log from an earlier session
qemu-system-x86_64 \
    -machine "${MACHINE:-pc}" -accel "${ACCEL:-tcg}" -m "${MEM:-128M}" -smp "${SMP:-1}" \
    -cdrom "$iso" -boot d -no-reboot -display none \
    -chardev "socket,id=console,path=$build/debug-serial.sock,server=on,wait=off,logfile=$build/debug-serial.log" \
    -serial chardev:console \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -S -gdb "tcp:127.0.0.1:$port" &
qemu_pid=$!
trap 'kill $qemu_pid 2>/dev/null; wait $qemu_pid 2>/dev/null' EXIT
sleep 0.3
if ! kill -0 "$qemu_pid" 2>/dev/null; then # it printed why (a bad -m, no ISO...)
    wait "$qemu_pid"
    echo "debug: QEMU did not start (exit status $?); no GDB session" >&2
    exit 1
fi

gdb_args=(-nx -q -x "$here/tools/gdb/ferrite.gdb" -ex "file $kernel"
    -ex "target remote 127.0.0.1:$port" -ex "hbreak kernel_main" -ex "continue")
if [ -n "${GDB_BATCH:-}" ]; then
    IFS=';' read -ra commands <<< "$GDB_BATCH"
    for command in "${commands[@]}"; do gdb_args+=(-ex "$command"); done
    gdb -batch "${gdb_args[@]}" 2>&1 # its status: the last command's (kill fails with no target)
else
    echo "debug: QEMU is paused, GDB stub on port $port; kernel console: tail -f $build/debug-serial.log"
    gdb "${gdb_args[@]}"
fi
