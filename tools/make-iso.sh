#!/usr/bin/env bash
# make-iso.sh KERNEL_ELF OUTPUT_ISO [CMDLINE] [BOOTFS_TAR]
#
# Builds one bootable ISO for both firmwares, BIOS and UEFI (GRUB's i386-pc and
# x86_64-efi images), with a lean GRUB: only the modules the boot needs; no
# fonts, locales or themes. GRUB is what sets the least RAM the machine can
# have: under BIOS a full image needs -m 4M, this one boots with -m 3M.
#
# GRUB_MAPS=1: before it loads the kernel, GRUB prints its own view of memory,
# `lsmmap` (the map it will pass as tag 6) and under UEFI `lsefimmap` (the EFI
# map): an oracle for the tests, on the serial console under OVMF.
set -euo pipefail
kernel="$1" iso="$2" cmdline="${3:-}" bootfs="${4:-}"
here="$(cd "$(dirname "$0")/.." && pwd)"
staging="$(mktemp -d "${TMPDIR:-/tmp}/ferrite-iso.XXXXXX")"
log="$(mktemp "${TMPDIR:-/tmp}/ferrite-iso-log.XXXXXX")" # not in $staging: that goes on the ISO
trap 'rm -rf "$staging" "$log"' EXIT

mkdir -p "$staging/boot/grub"
# GRUB reads the whole file into memory before loading it: at -m 3M every
# kilobyte counts, so the ISO gets a copy without debug information (GDB reads
# the full build/ferrite.elf; backtraces use the kernel's own symbol table).
strip --strip-all -o "$staging/boot/ferrite.elf" "$kernel"
modules=""
if [ -n "$bootfs" ]; then
    cp "$bootfs" "$staging/boot/bootfs.tar"
    modules="    module2 /boot/bootfs.tar bootfs"
fi
# GRUB parses the menu line like a shell, then rebuilds the kernel's command
# line from the words, quoting and escaping them in its own way, which the
# kernel decodes (lib/cmdline.h). So split the command line into words here,
# shell-style (xargs does quotes and backslashes, and runs nothing), and hand
# each word to GRUB in single quotes, inside which GRUB takes every byte as is.
if ! words="$(printf '%s' "$cmdline" | xargs -r -n1 printf '%s\n' 2>&1)"; then
    echo "make-iso: cannot split the kernel command line: ${words#xargs: }" >&2
    exit 1
fi
grub_maps='    echo "grub: lsmmap"
    lsmmap
    if [ "$grub_platform" = efi ]; then echo "grub: lsefimmap"; lsefimmap; fi
    echo "grub: end of maps"'
quoted=""
while IFS= read -r word; do
    [ -n "$quoted" ] && quoted+=" "
    quoted+="'${word//\'/\'\\\'\'}'"
done <<< "$words"
[ -z "$words" ] && quoted=""
while IFS= read -r line; do
    case "$line" in
    *@CMDLINE@*) printf '%s\n' "${line%%@CMDLINE@*}$quoted${line#*@CMDLINE@}" ;;
    @MODULES@) [ -n "$modules" ] && printf '%s\n' "$modules" ;;
    @GRUB_MAPS@) [ "${GRUB_MAPS:-0}" = 1 ] && printf '%s\n' "$grub_maps" ;;
    *) printf '%s\n' "$line" ;;
    esac
done < "$here/iso/grub.cfg.in" > "$staging/boot/grub/grub.cfg"
cp "$staging/boot/grub/grub.cfg" "$iso.grub.cfg" # kept to read what GRUB was told

# grub-mkrescue installs one module list for every platform it finds, so the
# list holds the modules both have; the EFI-only ones go in by hand (their
# folder on the ISO is merged with the one grub-mkrescue writes). The EFI
# image's start-up loads every partition module, hence all of them.
efi_modules=/usr/lib/grub/x86_64-efi
for needed in /usr/lib/grub/i386-pc/multiboot2.mod "$efi_modules/multiboot2.mod"; do
    [ -e "$needed" ] || {
        echo "make-iso: $needed is missing (tools/check-deps.sh installs GRUB for BIOS and UEFI)" >&2
        exit 1
    }
done
mkdir -p "$staging/boot/grub/x86_64-efi"
for module in lsefimmap efi_gop efi_uga; do
    cp "$efi_modules/$module.mod" "$staging/boot/grub/x86_64-efi/"
done
partitions="$(cd "$efi_modules" && ls part_*.mod | sed 's/\.mod$//' | tr '\n' ' ')"
grub-mkrescue \
    --install-modules="multiboot2 normal iso9660 configfile echo test lsmmap video video_fb \
        $partitions" \
    --fonts= --locales= --themes= --compress=xz \
    -o "$iso" "$staging" >/dev/null 2>"$log" || {
    cat "$log" >&2
    exit 1
}
