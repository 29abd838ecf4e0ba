/*
 * paging_commands.c: the shell's view of the kernel's page tables
 * (kernel/paging.c): `vtop` (a virtual address walked level by level) and
 * `phys` (a hex dump of physical memory through the direct map).
 */
#include "kernel/console.h"
#include "kernel/memlayout.h"
#include "kernel/paging.h"
#include "kernel/shell.h"
#include "lib/args.h"

#define KIB ((uint64_t)1024)

static int command_vtop(int argc, char **argv)
{
    uint64_t virt;
    (void)argc;
    if (!args_parse_u64(argv[1], &virt)) {
        kprintf("vtop: ADDR is a virtual address, e.g. 0x%lx\n", (uint64_t)DIRECT_MAP_BASE);
        return SHELL_USAGE;
    }
    struct paging_walk walk;
    paging_walk(virt, &walk);
    for (unsigned i = 0; i < walk.step_count; i++) {
        const struct paging_walk_step *step = &walk.steps[i];
        uint64_t entry = step->entry;
        kprintf("  %-4s[%3u] = %#018lx  %s%s%s%s%s\n", step->level, step->index, entry,
                entry & 1 ? "present" : "not present", entry & 2 ? " writable" : "",
                entry & 4 ? " user" : "", (entry & 0x80) && i < 3 ? " huge" : "",
                entry >> 63 ? " no-execute" : "");
    }
    if (!walk.mapped) {
        kprintf("%#lx is not mapped\n", virt);
        return 1;
    }
    kprintf("%#lx -> physical %#lx (in a %lu KiB page)\n", virt, walk.phys, walk.page_bytes / KIB);
    return 0;
}

static int command_phys(int argc, char **argv)
{
    uint64_t phys, length = 64;
    if (!args_parse_u64(argv[1], &phys) || (argc == 3 && !args_parse_u64(argv[2], &length)) ||
        length == 0 || length > 4096) {
        kprintf("phys: ADDR and LEN are numbers, LEN from 1 to 4096\n");
        return SHELL_USAGE;
    }
    for (uint64_t offset = 0; offset < length; offset += 16) {
        uint64_t line = phys + offset;
        struct paging_walk walk;
        paging_walk(DIRECT_MAP_BASE + line, &walk);
        if (!walk.mapped) {
            kprintf("phys: %#lx is not in the direct map (not RAM, or page 0)\n", line);
            return 1;
        }
        const uint8_t *bytes = phys_to_virt(line);
        kprintf("%012lx ", line);
        for (unsigned i = 0; i < 16 && offset + i < length; i++)
            kprintf(" %02x", bytes[i]);
        kprintf("\n");
    }
    return 0;
}

SHELL_COMMAND(vtop, "vtop ADDR", "walk the page tables for a virtual address", command_vtop);
SHELL_COMMAND(phys, "phys ADDR [LEN]", "hex dump of physical memory", command_phys);
