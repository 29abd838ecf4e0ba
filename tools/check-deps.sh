#!/usr/bin/env bash
# check-deps.sh [build|run|test|memmap]: make sure the tools for that job are here.
# Missing Debian packages are installed when we are root or have passwordless
# sudo; otherwise the one command that installs them is printed.
set -euo pipefail
job="${1:-run}"
missing=()

need_command() { # command package
    command -v "$1" >/dev/null 2>&1 || missing+=("$2")
}
need_file() { # path package
    [ -e "$1" ] || missing+=("$2")
}

need_command make make
need_command gcc gcc
need_command ld binutils
need_command nasm nasm
if [ "$job" != build ]; then
    need_command grub-mkrescue grub-common
    need_file /usr/lib/grub/i386-pc/multiboot2.mod grub-pc-bin
    # One ISO boots under both firmwares (tools/make-iso.sh): GRUB's EFI image, and OVMF
    # (UEFI for QEMU) for FIRMWARE=uefi.
    need_file /usr/lib/grub/x86_64-efi/multiboot2.mod grub-efi-amd64-bin
    need_file /usr/share/OVMF/OVMF_CODE_4M.fd ovmf
    # The font of the framebuffer console, put in the boot filesystem (and read by
    # lib/psf's host tests).
    need_file /usr/share/consolefonts/Lat15-VGA16.psf.gz console-setup-linux
    need_command xorriso xorriso
    need_command mformat mtools
    need_command qemu-system-x86_64 qemu-system-x86
    need_command gdb gdb
fi
if [ "$job" = memmap ]; then # make memmap: the picture as PNG too
    need_command python3 python3
    need_command rsvg-convert librsvg2-bin
fi
if [ "$job" = test ]; then
    need_command python3 python3
    need_file /usr/include/cmocka.h libcmocka-dev
    need_command clang clang
    need_command clang-format clang-format
    # libFuzzer's runtime comes in a package named after clang's major version.
    if command -v clang >/dev/null 2>&1; then
        major="$(clang -dumpversion | cut -d. -f1)"
        probe="$(mktemp -d)"
        printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' > "$probe/p.c"
        clang -fsanitize=fuzzer "$probe/p.c" -o "$probe/p" >/dev/null 2>&1 ||
            missing+=("libclang-rt-$major-dev")
        rm -rf "$probe"
    fi
fi

[ ${#missing[@]} -eq 0 ] && exit 0

mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "check-deps: missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo)
else
    echo "check-deps: install them with:"
    echo "    sudo apt-get install -y ${missing[*]}"
    exit 1
fi
echo "check-deps: installing them with apt-get"
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get install -y -q "${missing[@]}"; then
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q "${missing[@]}"
fi
