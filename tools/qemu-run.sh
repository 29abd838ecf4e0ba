#!/usr/bin/env bash
# qemu-run.sh ISO [EXTRA QEMU ARGS...]: boot the ISO in QEMU with the serial
# console on this terminal, and exit with the guest's status.
#
# Environment: MEM (-m, default 128M), SMP (-smp, default 1), MACHINE (pc or
# q35), ACCEL (default tcg), SERIAL_LOG (a copy of the serial output, default
# build/serial.log), GUI=1 to show the VGA window (and use its PS/2 keyboard),
# EXIT_DEVICE=0 to leave out the isa-debug-exit device, FIRMWARE=uefi to boot
# through OVMF (UEFI) instead of SeaBIOS (FIRMWARE=bios, the default).
#
# Status: the kernel ends QEMU by writing N to the isa-debug-exit device at
# port 0xf4; QEMU then exits with 2N+1. This script exits with N again.
# QEMU's own failures also give 1, so status 1 means "guest status 0" only if
# the kernel printed "ferrite: exit status 0" first.
set -uo pipefail
iso="$1"
shift
serial_log="${SERIAL_LOG:-build/serial.log}"
mkdir -p "$(dirname "$serial_log")"
: > "$serial_log"

accel="${ACCEL:-tcg}"
# Multi-threaded TCG runs each virtual CPU on its own host thread.
if [ "$accel" = tcg ] && [ "${SMP:-1}" != 1 ]; then accel="tcg,thread=multi"; fi
exit_device=(-device isa-debug-exit,iobase=0xf4,iosize=0x04)
if [ "${EXIT_DEVICE:-1}" = 0 ]; then exit_device=(); fi # to see the kernel halt instead
display=(-display none)
if [ "${GUI:-0}" = 1 ]; then display=(); fi
# shellcheck source=tools/qemu-firmware.sh
. "$(dirname "$0")/qemu-firmware.sh"
firmware_options "$(dirname "$serial_log")" || exit 2
trap 'rm -f "$firmware_vars"' EXIT

qemu-system-x86_64 \
    -machine "${MACHINE:-pc}" -accel "$accel" -m "${MEM:-128M}" -smp "${SMP:-1}" \
    "${firmware[@]}" -cdrom "$iso" -boot d -no-reboot \
    "${display[@]}" \
    -chardev "stdio,id=console,mux=on,signal=off,logfile=$serial_log" \
    -serial chardev:console -mon chardev=console,mode=readline \
    "${exit_device[@]}" \
    "$@"
rc=$?

if [ "$rc" -eq 0 ]; then
    exit 0 # QEMU was closed from outside (Ctrl-A X, the window, a signal)
fi
if [ $((rc % 2)) -eq 1 ]; then
    status=$(((rc - 1) / 2))
    if [ "$status" -eq 0 ] && ! grep -q "ferrite: exit status 0" "$serial_log"; then
        echo "qemu-run: QEMU failed (status 1) before the kernel exited" >&2
        exit 1
    fi
    if [ "$status" -eq 127 ]; then
        echo "qemu-run: the kernel panicked (status 127)" >&2
    else
        echo "qemu-run: the kernel exited with status $status" >&2
    fi
    exit "$status"
fi
echo "qemu-run: QEMU ended with status $rc" >&2
exit "$rc"
