/*
 * test_spinlock.c: the fair lock of lib/spinlock.c (the code the kernel runs),
 * with threads standing for CPUs: first come, first served; mutual
 * exclusion under contention; a recursive take and a lock that never changes
 * hands are reported. (It sits with the mm tests because it needs the host
 * platform and threads, and runs under ThreadSanitizer with them.)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lib/platform.h"
#include "tests/host/lib/test_report.h"
#include "tests/host/platform_host.h"

#define WAITERS 6

static struct platform_lock fifo_lock = PLATFORM_LOCK_INIT;
static int order[WAITERS];
static int order_length;

static void *take_in_turn(void *argument)
{
    int id = (int)(intptr_t)argument;
    host_set_cpu((unsigned)id, WAITERS + 1);
    platform_lock_acquire(&fifo_lock);
    order[order_length++] = id; /* under the lock */
    platform_lock_release(&fifo_lock);
    return NULL;
}

/* The main thread holds the lock; waiters arrive one at a time (each starts
 * only once the previous one holds its ticket); they must get the lock in the
 * order they arrived. A test-and-set lock gives them any order. */
static void first_come_first_served(void **state)
{
    (void)state;
    host_set_cpu(0, WAITERS + 1);
    platform_lock_acquire(&fifo_lock);
    pthread_t threads[WAITERS];
    for (int i = 0; i < WAITERS; i++) {
        pthread_create(&threads[i], NULL, take_in_turn, (void *)(intptr_t)(i + 1));
        while (__atomic_load_n(&fifo_lock.next_ticket, __ATOMIC_ACQUIRE) != (uint32_t)(i + 2))
            sched_yield(); /* until waiter i + 1 holds ticket i + 1 */
    }
    platform_lock_release(&fifo_lock);
    for (int i = 0; i < WAITERS; i++)
        pthread_join(threads[i], NULL);
    for (int i = 0; i < WAITERS; i++)
        assert_int_equal(order[i], i + 1);
    assert_false(platform_lock_is_held(&fifo_lock));
    host_set_cpu(0, 1);
}

#define THREADS 4
#define ROUNDS 20000
static struct platform_lock counter_lock = PLATFORM_LOCK_INIT;
static uint64_t counter; /* plain: only the lock protects it */
static uint64_t taken[THREADS];

static void *count(void *argument)
{
    int id = (int)(intptr_t)argument;
    host_set_cpu((unsigned)id, THREADS);
    for (int i = 0; i < ROUNDS; i++) {
        platform_lock_acquire(&counter_lock);
        counter++;
        taken[id]++;
        platform_lock_release(&counter_lock);
    }
    return NULL;
}

static void mutual_exclusion_under_contention(void **state)
{
    (void)state;
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&threads[i], NULL, count, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    assert_int_equal(counter, (uint64_t)THREADS * ROUNDS);
    assert_int_equal(counter_lock.next_ticket, counter_lock.now_serving);
    assert_int_equal(counter_lock.now_serving, (uint32_t)(THREADS * ROUNDS));
    host_set_cpu(0, 1);
}

static void a_recursive_take_is_reported(void **state)
{
    (void)state;
    struct platform_lock lock = PLATFORM_LOCK_INIT;
    host_set_quiet(true);
    platform_lock_acquire(&lock);
    assert_true(HOST_EXPECT_PANIC(platform_lock_acquire(&lock)));
    assert_non_null(strstr(host_last_panic, "already holds it"));
    platform_lock_release(&lock); /* the refused take took no ticket */
    assert_false(platform_lock_is_held(&lock));
    host_set_quiet(false);
}

static struct platform_lock stuck_lock = PLATFORM_LOCK_INIT;
static volatile int holder_may_go;

static void *hold(void *argument)
{
    (void)argument;
    host_set_cpu(1, 2);
    platform_lock_acquire(&stuck_lock);
    while (!__atomic_load_n(&holder_may_go, __ATOMIC_ACQUIRE))
        sched_yield();
    platform_lock_release(&stuck_lock);
    return NULL;
}

/* Two seconds without a hand-over: reported, naming the holder. */
static void a_lock_that_never_changes_hands_is_reported(void **state)
{
    (void)state;
    pthread_t thread;
    pthread_create(&thread, NULL, hold, NULL);
    while (!platform_lock_is_held(&stuck_lock))
        sched_yield();
    host_set_cpu(0, 2);
    host_set_quiet(true);
    uint64_t start = platform_time_us();
    assert_true(HOST_EXPECT_PANIC(platform_lock_acquire(&stuck_lock)));
    assert_true(platform_time_us() - start >= PLATFORM_LOCK_STUCK_US);
    assert_non_null(strstr(host_last_panic, "without the lock changing hands; held by CPU 1"));
    host_set_quiet(false);
    __atomic_store_n(&holder_may_go, 1, __ATOMIC_RELEASE);
    pthread_join(thread, NULL);
    host_set_cpu(0, 1);
}

/* A lock handed to a ticket whose CPU never runs again (a ticket taken by
 * nobody here: the CPU in line is not running): no code holds it, so the
 * 2 s limit does not apply; after 10 s it is reported as such. */
static void a_lock_handed_to_a_cpu_that_does_not_run_is_reported_later(void **state)
{
    (void)state;
    struct platform_lock lock = PLATFORM_LOCK_INIT;
    lock.next_ticket = 1; /* ticket 0 is served, and its CPU never takes the lock */
    host_set_quiet(true);
    uint64_t start = platform_time_us();
    assert_true(HOST_EXPECT_PANIC(platform_lock_acquire(&lock)));
    uint64_t waited = platform_time_us() - start;
    assert_true(waited >= PLATFORM_LOCK_HANDOVER_STUCK_US);
    assert_non_null(strstr(host_last_panic, "for the CPU whose turn it is to take the lock"));
    host_set_quiet(false);
}

#define QUEUE 4
#define HOLD_US 700000
static struct platform_lock queue_lock = PLATFORM_LOCK_INIT;

static void *hold_a_while(void *argument)
{
    host_set_cpu((unsigned)(intptr_t)argument, QUEUE + 1);
    platform_lock_acquire(&queue_lock);
    uint64_t start = platform_time_us();
    while (platform_time_us() - start < HOLD_US)
        sched_yield();
    platform_lock_release(&queue_lock);
    return NULL;
}

/* Behind a queue of holders that each keep the lock 0.7 s, a waiter waits
 * 2.8 s in all, more than the 2 s limit, but the lock changes hands every
 * 0.7 s: progress, no report (the old lock's deadline did not restart). */
static void a_long_queue_is_not_a_deadlock(void **state)
{
    (void)state;
    pthread_t threads[QUEUE];
    for (int i = 0; i < QUEUE; i++) {
        pthread_create(&threads[i], NULL, hold_a_while, (void *)(intptr_t)(i + 1));
        while (__atomic_load_n(&queue_lock.next_ticket, __ATOMIC_ACQUIRE) != (uint32_t)(i + 1))
            sched_yield();
    }
    host_set_cpu(0, QUEUE + 1);
    uint64_t start = platform_time_us();
    bool reported = HOST_EXPECT_PANIC(platform_lock_acquire(&queue_lock));
    assert_false(reported);
    assert_true(platform_time_us() - start > PLATFORM_LOCK_STUCK_US);
    platform_lock_release(&queue_lock);
    for (int i = 0; i < QUEUE; i++)
        pthread_join(threads[i], NULL);
    host_set_cpu(0, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_come_first_served),
        cmocka_unit_test(mutual_exclusion_under_contention),
        cmocka_unit_test(a_recursive_take_is_reported),
        cmocka_unit_test(a_lock_that_never_changes_hands_is_reported),
        cmocka_unit_test(a_long_queue_is_not_a_deadlock),
        cmocka_unit_test(a_lock_handed_to_a_cpu_that_does_not_run_is_reported_later),
    };
    return RUN_AND_REPORT(tests);
}
