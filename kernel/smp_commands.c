/*
 * smp_commands.c: the shell's view of the CPUs: `cpus` (who is there and
 * what each holds), `on CPU COMMAND` (run a command there), and `stress`
 * (every CPU allocates, checks and frees at once, and hands objects to the
 * others to free).
 */
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/delay.h"
#include "kernel/memlayout.h"
#include "kernel/memory.h"
#include "kernel/shell.h"
#include "kernel/smp.h"
#include "lib/alloc.h"
#include "lib/args.h"
#include "lib/format.h"
#include "lib/string.h"
#include "mm/malloc.h"
#include "mm/page_cache.h"

static const char *state_name(enum cpu_state state)
{
    switch (state) {
    case CPU_ABSENT:
        return "absent";
    case CPU_STARTING:
        return "starting";
    case CPU_ONLINE:
        return "online";
    case CPU_FAILED:
        return "FAILED";
    }
    return "?";
}

static int command_cpus(int argc, char **argv)
{
    (void)argc, (void)argv; /* no words: the shell checked (shell.h) */
    kprintf("cpu apic state   kernel stack (virtual)                  per-CPU area        "
            "page cache   malloc: slabs pages allocations remote-frees inbox\n");
    unsigned failed = 0;
    for (unsigned i = 0; i < smp_cpu_count(); i++) {
        const struct cpu *cpu = smp_cpu(i);
        struct page_cache_stats cache = {0};
        bool has_cache = memory_page_cache_stats(i, &cache);
        struct km_cpu_usage usage;
        km_cpu_usage(i, &usage);
        kprintf("%3u %4u %-7s %#lx-%#lx  %#lx  ", i, cpu->apic_id, state_name(cpu->state),
                cpu->stack_bottom, cpu->stack_top, (uint64_t)cpu);
        if (has_cache)
            kprintf("%4u/%-4u    ", cache.pages, cache.high);
        else
            kprintf("%-12s ", "none");
        kprintf("       %5lu %5lu %11lu %12lu %5lu\n", usage.slabs, usage.slab_pages,
                usage.allocations, usage.remote_frees, usage.inbox_waiting);
        failed += cpu->state == CPU_FAILED;
    }
    if (failed)
        kprintf("%u CPU(s) did not start\n", failed);
    kprintf("%u CPUs online\n", smp_online_count());
    return 0;
}

SHELL_COMMAND(cpus, "cpus",
              "every CPU: APIC id, state, stack, per-CPU area, page cache, malloc pool",
              command_cpus);

/* ---- on CPU COMMAND ------------------------------------------------------------ */

struct remote_command {
    char line[256];
    int status;
};

static void run_remote_command(void *argument)
{
    struct remote_command *command = argument;
    command->status = shell_execute_line(command->line);
}

static int command_on(int argc, char **argv)
{
    uint64_t index;
    if (!args_parse_u64(argv[1], &index)) {
        kprintf("on: CPU is an index from `cpus`\n");
        return SHELL_USAGE;
    }
    struct cpu *cpu = smp_cpu((unsigned)index);
    if (index >= smp_cpu_count() || !cpu) {
        kprintf("on: no CPU %lu (there are %u)\n", index, smp_cpu_count());
        return 1;
    }
    if (cpu->state != CPU_ONLINE) {
        kprintf("on: CPU %lu is %s\n", index, state_name(cpu->state));
        return 1;
    }
    /* On this CPU's stack: `on` waits until the other CPU is done with it, and
     * a nested `on` (on 1 on 0 ...) gets its own. */
    struct remote_command command;
    size_t used = 0;
    command.line[0] = '\0';
    for (int i = 2; i < argc; i++) {
        int written = ksnprintf(command.line + used, sizeof(command.line) - used, "%s%s",
                                i > 2 ? " " : "", argv[i]);
        if (written < 0 || (size_t)written >= sizeof(command.line) - used) {
            kprintf("on: the command is too long\n");
            return 1;
        }
        used += (size_t)written;
    }
    if (!smp_run_on((unsigned)index, run_remote_command, &command)) {
        kprintf("on: CPU %lu is busy\n", index);
        return 1;
    }
    return command.status;
}

SHELL_COMMAND(on, "on CPU COMMAND [ARGS...]", "run a shell command on another CPU", command_on);
