# Ferrite: build the kernel, the ISO, run it, test it.
# `make help` lists the targets and variables.

# ---- what the user may set ---------------------------------------------------
# (No comments at the end of these lines: make would keep the spaces.)
# MEM: QEMU -m. SMP: QEMU -smp. MACHINE: pc or q35. ACCEL: tcg (KVM is slower
# on these machines). FIRMWARE: bios (SeaBIOS) or uefi (OVMF); the ISO boots
# under both. CMDLINE: kernel command line, e.g. CMDLINE='run="help; exit 3"'.
# BOOTFS: a tar archive to boot with instead of build/bootfs.tar (made by
# tools/mkbootfs from iso/bootfs/ and the samples of tools/make-bootfs-root.sh).
MEM ?= 128M
SMP ?= 1
MACHINE ?= pc
ACCEL ?= tcg
FIRMWARE ?= bios
CMDLINE ?=
DEFAULT_BOOTFS := build/bootfs.tar
BOOTFS ?= $(DEFAULT_BOOTFS)
export MEM SMP MACHINE ACCEL FIRMWARE

BUILD := build
# V=1 shows every command.
Q := $(if $(V),,@)
KERNEL := $(BUILD)/ferrite.elf
ISO := $(BUILD)/ferrite.iso

# ---- kernel flags ---------------------------------------------------------------
CC := gcc
NASM := nasm
# Frame pointers and no tail calls: every caller shows in a backtrace. No
# unwind tables in the image (.eh_frame): -g puts the call-frame information
# in .debug_frame instead, which GDB reads and nothing loads.
# -Dkm_malloc=malloc -Dkm_free=free: mm/malloc.c's fast paths are the kernel's
# malloc and free (kernel/heap.c).
KERNEL_CFLAGS := -std=c11 -ffreestanding -nostdlib -fno-pic -fno-pie -DPLATFORM_KERNEL \
    -Dkm_malloc=malloc -Dkm_free=free \
    -mcmodel=kernel -mno-red-zone -mgeneral-regs-only \
    -fno-stack-protector -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer \
    -fno-optimize-sibling-calls -fno-asynchronous-unwind-tables \
    -fno-tree-loop-distribute-patterns \
    -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
    -I. -MMD -MP
# Size or speed: the allocators and what their fast paths call are built for
# speed (-O2), and so is the `bench` command (at -Os its own loop cost the
# kernel's malloc figure 38%: it would measure itself); everything else (boot
# steps, shell commands, tests, parsers, and mm/'s boot-time memmap.c and
# bootmem.c) for size (-Os), which keeps 25 KiB of text out of the kernel's
# footprint at -m 3M (docs/performance.md).
KERNEL_SPEED_SOURCES := $(filter-out mm/memmap.c mm/bootmem.c,$(wildcard mm/*.c)) lib/string.c \
    lib/spinlock.c kernel/heap.c kernel/platform.c kernel/percpu.c kernel/bench.c
KERNEL_LDFLAGS := -nostdlib -static -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments
NASM_FLAGS := -f elf64 -I$(BUILD)/ -Werror

KERNEL_C_SOURCES := $(wildcard kernel/*.c lib/*.c mm/*.c fs/*.c tests/kernel/*.c)
KERNEL_ASM_SOURCES := $(wildcard boot/*.asm kernel/*.asm)
KERNEL_OBJECTS := $(KERNEL_C_SOURCES:%.c=$(BUILD)/kernel-objects/%.o) \
    $(KERNEL_ASM_SOURCES:%.asm=$(BUILD)/kernel-objects/%.o)

.PHONY: all iso run debug qemu-gdb gdb gdb-lesson memmap lab-start lab-reset lab-export grade test test-host test-qemu test-gdb clean help deps deps-test format format-check
.DEFAULT_GOAL := all

all: $(KERNEL) $(ISO) $(KERNEL)-gdb.py
iso: $(ISO)

help:
	@echo "targets: all iso run debug qemu-gdb gdb gdb-lesson memmap lab-start lab-reset lab-export grade test test-host test-qemu test-gdb format-check format bench libkmalloc clean"
	@echo "variables: MEM=$(MEM) SMP=$(SMP) MACHINE=$(MACHINE) ACCEL=$(ACCEL) FIRMWARE=$(FIRMWARE) CMDLINE='...' BOOTFS=file.tar GUI=1"

deps:
	@tools/check-deps.sh run
deps-test:
	@tools/check-deps.sh test

# One owner of addresses: kernel/memlayout.h, turned into NASM %defines.
$(BUILD)/memlayout.inc: kernel/memlayout.h
	@mkdir -p $(@D)
	sed -n 's/^#define \([A-Z0-9_]*\) \([^ ]*\).*/%define \1 \2/p' $< > $@

$(BUILD)/linker.ld: linker.ld kernel/memlayout.h
	@mkdir -p $(@D)
	$(CC) -E -P -x c -D__ASSEMBLER__ -I. $< -o $@

$(BUILD)/kernel-objects/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(KERNEL_CFLAGS) $(if $(filter $<,$(KERNEL_SPEED_SOURCES)),-O2,-Os) -c $< -o $@

$(BUILD)/kernel-objects/%.o: %.asm $(BUILD)/memlayout.inc
	@mkdir -p $(@D)
	@echo "  NASM    $<"
	$(Q)$(NASM) $(NASM_FLAGS) $< -o $@

# Two link passes for the symbol table (see tools/gensyms.py).
$(BUILD)/ksyms-empty.c: Makefile
	@mkdir -p $(@D)
	printf '#include "kernel/ksyms.h"\nconst size_t ksyms_count = 0;\nconst uint32_t ksyms_first_offset = 0;\nconst uint16_t ksyms_gaps[] = {0};\nconst uint8_t ksyms_names[] = {0};\nconst uint8_t ksyms_token_pairs[][2] = {{0, 0}};\n' > $@

$(BUILD)/ksyms-%.o: $(BUILD)/ksyms-%.c
	$(CC) $(KERNEL_CFLAGS) -Os -c $< -o $@

$(BUILD)/ferrite-pass1.elf: $(KERNEL_OBJECTS) $(BUILD)/ksyms-empty.o $(BUILD)/linker.ld
	ld $(KERNEL_LDFLAGS) -T $(BUILD)/linker.ld -o $@ $(KERNEL_OBJECTS) $(BUILD)/ksyms-empty.o

$(BUILD)/ksyms-final.c: $(BUILD)/ferrite-pass1.elf tools/gensyms.py
	tools/gensyms.py $< > $@

$(KERNEL): $(KERNEL_OBJECTS) $(BUILD)/ksyms-final.o $(BUILD)/linker.ld
	@python3 tools/check-boot-only.py $(KERNEL_OBJECTS)
	ld $(KERNEL_LDFLAGS) -T $(BUILD)/linker.ld -o $@ $(KERNEL_OBJECTS) $(BUILD)/ksyms-final.o
	@tools/gensyms.py $@ | sed 1d > $(BUILD)/ksyms-check.c
	@sed 1d $(BUILD)/ksyms-final.c | cmp -s - $(BUILD)/ksyms-check.c || \
	    { echo "error: text symbols moved between the two links (see tools/gensyms.py)"; rm -f $@; exit 1; }
	@size $@ | tail -1 | awk '{printf "kernel: %s bytes text, %s data, %s bss\n", $$1, $$2, $$3}'

# GDB's auto-load script for the ELF: a plain `gdb build/ferrite.elf` gets the
# kmem commands too (once build/ is on its auto-load safe-path: make debug
# prints the line to add).
$(KERNEL)-gdb.py: tools/gdb/ferrite.py
	@mkdir -p $(@D)
	@printf '# Written by the Makefile: GDB runs this when it loads %s.\nimport gdb\ngdb.execute("source %s/tools/gdb/ferrite.py")\n' \
	    '$(KERNEL)' '$(CURDIR)' > $@

# The ISO depends on the command line: keep it in a file that changes only
# when the command line does.
$(BUILD)/cmdline.txt: FORCE
	@mkdir -p $(@D)
	@printf '%s' '$(subst ','\'',$(CMDLINE))' | cmp -s - $@ || printf '%s' '$(subst ','\'',$(CMDLINE))' > $@

# Likewise the choice of archive (BOOTFS=), so that going back to the default rebuilds.
ifneq ($(BOOTFS),$(DEFAULT_BOOTFS))
ifeq ($(wildcard $(BOOTFS)),)
$(error BOOTFS=$(BOOTFS): no such file (give a tar archive, or leave BOOTFS unset for $(DEFAULT_BOOTFS)))
endif
endif
$(BUILD)/bootfs-choice.txt: FORCE
	@mkdir -p $(@D)
	@printf '%s' '$(abspath $(BOOTFS))' | cmp -s - $@ || printf '%s' '$(abspath $(BOOTFS))' > $@

$(ISO): $(KERNEL) $(BUILD)/cmdline.txt $(BUILD)/bootfs-choice.txt iso/grub.cfg.in tools/make-iso.sh \
        $(BOOTFS)
	tools/make-iso.sh $(KERNEL) $@ "$$(cat $(BUILD)/cmdline.txt)" $(BOOTFS)

# ---- the default boot filesystem -------------------------------------------------
# tools/mkbootfs is a host program; every file's data lands on a 4 KiB boundary.
# The archive's dates are the last commit's, so the same tree gives the same bytes.
MKBOOTFS := $(BUILD)/host-tools/mkbootfs
BOOTFS_MTIME := $(shell git log -1 --format=%ct 2>/dev/null || echo 0)

$(MKBOOTFS): tools/mkbootfs/mkbootfs.c
	@mkdir -p $(@D)
	$(Q)$(CC) -std=c11 -O2 -g -Wall -Wextra -Werror -o $@ $<

$(DEFAULT_BOOTFS): $(MKBOOTFS) tools/make-bootfs-root.sh $(shell find iso/bootfs)
	$(Q)tools/make-bootfs-root.sh $(BUILD)/bootfs-root
	$(Q)$(MKBOOTFS) --mtime $(BOOTFS_MTIME) -o $@ $(BUILD)/bootfs-root
	@echo "bootfs: $@, $$(stat -c %s $@) bytes"

.PHONY: bootfs
bootfs: $(DEFAULT_BOOTFS)

run: deps $(ISO)
	@tools/qemu-run.sh $(ISO)

# The classroom labs (labs/README.md): LAB=N.
lab-start lab-reset grade: deps-test
	@[ -n "$(LAB)" ] || { echo "make $@ LAB=N: which lab (labs/README.md lists them)"; exit 1; }
	@python3 labs/lab.py $(patsubst lab-%,%,$@) $(LAB)
lab-export: deps-test
	@[ -n "$(LAB)" ] && [ -n "$(OUT)" ] || { echo "make lab-export LAB=N OUT=DIR"; exit 1; }
	@python3 labs/lab.py export $(LAB) $(OUT)

# A picture of physical memory from a real boot (tools/memmap): MEM= and MACHINE=
# as for make run; build/memmap/memmap-MEM-MACHINE.svg and .png.
MEMMAP := $(BUILD)/memmap/memmap-$(MEM)-$(MACHINE)
memmap: $(KERNEL) $(DEFAULT_BOOTFS)
	@tools/check-deps.sh memmap
	@mkdir -p $(BUILD)/memmap
	@tools/make-iso.sh $(KERNEL) $(BUILD)/memmap/memmap.iso 'quiet run="e820; mem; exit 0"' \
	    $(DEFAULT_BOOTFS) > /dev/null
	@SERIAL_LOG=$(MEMMAP).log tools/qemu-run.sh $(BUILD)/memmap/memmap.iso > /dev/null
	@python3 tools/memmap/memmap.py $(MEMMAP).log $(MEMMAP).svg \
	    "Physical memory at -m $(MEM) ($(MACHINE)), as the kernel found and uses it"
	@rsvg-convert -o $(MEMMAP).png $(MEMMAP).svg
	@echo "memmap: $(MEMMAP).svg and $(MEMMAP).png"

debug: deps $(ISO) $(KERNEL)-gdb.py
	@tools/gdb/debug.sh $(KERNEL) $(ISO)
# The same in two terminals, as xv6 does: the console in one, GDB in the other.
qemu-gdb: deps $(ISO) $(KERNEL)-gdb.py
	@tools/gdb/debug.sh --qemu $(KERNEL) $(ISO)
gdb: deps $(KERNEL)
	@tools/gdb/debug.sh --gdb $(KERNEL)
# docs/gdb.md's lesson, played again on the current kernel (tools/gdb/lesson.py).
gdb-lesson: deps-test $(ISO)
	@tools/gdb/lesson.sh $(KERNEL) $(ISO) $(BUILD)/gdb-lesson.md docs/gdb.md

test: deps-test
	@tools/run-tests.sh

test-host: deps-test
	@$(MAKE) --no-print-directory -C tests/host test
test-qemu: deps-test $(KERNEL) $(DEFAULT_BOOTFS)
	@python3 tests/qemu/run_tests.py
test-gdb: deps-test $(ISO)
	@tests/gdb/run.sh

# One style for every C file (.clang-format); make test checks it first.
format-check: deps-test
	@tools/format-check.sh
format: deps-test
	@git ls-files '*.c' '*.h' | xargs clang-format -i --style=file

# The same malloc on Linux, for LD_PRELOAD (tools/libkmalloc).
LIBKMALLOC := $(BUILD)/host/libkmalloc.so
LIBKMALLOC_SOURCES := $(filter-out lib/string.c,$(wildcard lib/*.c)) $(wildcard mm/*.c) \
                      $(wildcard tools/libkmalloc/*.c) tests/host/platform_posix.c
# mm/malloc.c's fast paths are the exported malloc and free themselves (renamed
# here): a call from the program lands in them with no wrapper in between.
LIBKMALLOC_CFLAGS := -std=c11 -O2 -g -fPIC -shared -ftls-model=initial-exec -fvisibility=hidden \
                     -Wall -Wextra -Werror -I. -Dkm_malloc=malloc -Dkm_free=free \
                     -Wl,--version-script=tools/libkmalloc/exports.map \
                     '-DKM_FAST_PATH_EXPORT=__attribute__((visibility("default")))'

.PHONY: libkmalloc test-preload bench
libkmalloc: $(LIBKMALLOC)

$(LIBKMALLOC): $(LIBKMALLOC_SOURCES) $(wildcard lib/*.h mm/*.h) tools/libkmalloc/exports.map
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LIBKMALLOC_CFLAGS) $(LIBKMALLOC_SOURCES) -o $@ -pthread

test-preload: $(LIBKMALLOC)
	$(Q)sh tests/preload/run.sh $(LIBKMALLOC)

# malloc against glibc, jemalloc, mimalloc and tcmalloc (tools/bench/README.md).
bench: $(LIBKMALLOC) $(KERNEL)
	@tools/bench/run.sh

clean:
	rm -rf $(BUILD)

# A change of flags rebuilds everything.
$(KERNEL_OBJECTS) $(BUILD)/ksyms-empty.o $(BUILD)/ksyms-final.o: Makefile

FORCE:
-include $(KERNEL_OBJECTS:.o=.d)
