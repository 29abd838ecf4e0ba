# qemu-firmware.sh: sourced by tools/qemu-run.sh and tools/gdb/debug.sh, so that
# both start QEMU with the same firmware.
#
# firmware_options DIR: sets the array `firmware` to QEMU's options for
# FIRMWARE (bios, the default: SeaBIOS, QEMU's own; uefi: OVMF) and
# `firmware_vars` to the file the caller removes once QEMU has ended ("" for
# bios). Under UEFI, OVMF's code is read-only and its variable store is a fresh
# writable copy in DIR for this run only: two runs at once do not share one,
# and every boot starts from the same variables. Returns 2, saying why, when
# FIRMWARE is unknown or OVMF is missing.
firmware_options() {
    firmware=()
    firmware_vars=""
    case "${FIRMWARE:-bios}" in
    bios) ;;
    uefi)
        local ovmf=/usr/share/OVMF
        if [ ! -e "$ovmf/OVMF_CODE_4M.fd" ] || [ ! -e "$ovmf/OVMF_VARS_4M.fd" ]; then
            echo "FIRMWARE=uefi needs OVMF ($ovmf/OVMF_CODE_4M.fd): apt-get install ovmf" >&2
            return 2
        fi
        mkdir -p "$1"
        firmware_vars="$(mktemp "$1/OVMF_VARS.XXXXXX.fd")"
        cp "$ovmf/OVMF_VARS_4M.fd" "$firmware_vars"
        firmware=(-drive "if=pflash,format=raw,readonly=on,file=$ovmf/OVMF_CODE_4M.fd"
            -drive "if=pflash,format=raw,file=$firmware_vars")
        ;;
    *)
        echo "FIRMWARE is bios or uefi, not '$FIRMWARE'" >&2
        return 2
        ;;
    esac
}
