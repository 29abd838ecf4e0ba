#!/bin/sh
# make-bootfs-root.sh FOLDER: lays out the default boot filesystem's tree in
# FOLDER (made anew): the files of iso/bootfs/, plus samples/ with files whose
# sizes sit on the edges a reader can get wrong (empty, one byte, around a
# 512-byte tar block and around a 4 KiB page), a symbolic link and a hard
# link; and fonts/ with the console font the framebuffer console draws with
# under UEFI (kernel/fbcon.c), Debian's Lat15-VGA16 (package
# console-setup-linux), uncompressed so that the kernel reads it in place.
# tools/mkbootfs then writes FOLDER as build/bootfs.tar.
set -eu
dest=$1
here=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$dest"
mkdir -p "$dest/samples"
cp -R "$here/iso/bootfs/." "$dest/"
for size in 0 1 511 512 513 4095 4096 4097 8192; do
    # Readable text, so that `cat` and `hexdump` show where each line falls.
    yes 'Ferrite bootfs sample: served in place from the GRUB module.' |
        head -c "$size" >"$dest/samples/size-$size"
done
ln -s ../README.txt "$dest/samples/link-to-readme"
ln "$dest/samples/size-4096" "$dest/samples/hard-link-to-size-4096"
font=/usr/share/consolefonts/Lat15-VGA16.psf.gz
if [ -e "$font" ]; then
    mkdir -p "$dest/fonts"
    gzip -dc "$font" >"$dest/fonts/Lat15-VGA16.psf"
else
    echo "make-bootfs-root: no $font (apt-get install console-setup-linux): no console font" \
        "in the boot filesystem, so no text on a UEFI framebuffer" >&2
fi
