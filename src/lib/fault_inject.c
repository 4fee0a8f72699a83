// SPDX-License-Identifier: MIT
/*
 * Fault injection: fail the n-th injectable call.
 *
 * Two switches, both consulted by uiommu_should_fail() at every injectable
 * call site (ui_malloc/ui_zalloc, frame allocations, page pins):
 *
 * The process-wide switch (uiommu_fail_nth, the tests' sweeps): 'countdown'
 * is the number of injectable calls left before the one that fails (0:
 * disarmed), made by any thread; 'fired' records that the failure was
 * delivered; 'filter' restricts it to some kinds of call site.  Atomics,
 * so that threaded tests may arm it; the disarmed fast path is one relaxed
 * load.
 *
 * The per-thread switch (uiommu_fail_nth_task, what `uiommu exec` serves
 * as the kernel's /proc/<pid>/task/<tid>/fail-nth): as the kernel's
 * task_struct.fail_nth, a count per thread of the injectable calls that
 * thread makes; the call that brings it from 1 to 0 fails, and a read
 * returns what is left (0 once the failure was injected).  It counts every
 * kind of call site (the kernel's file "enables all types of faults") and,
 * while armed, decides alone for the thread's calls, before the
 * process-wide switch (the kernel's per-task setting takes precedence over
 * the other ones).  Calls other threads make for it (the SMMU's threads,
 * fault workers) do not count, as the kernel counts only the task's own.
 *
 * Data model of the per-thread switch: task_slot[] holds the armed threads,
 * each slot one 64-bit atomic word: the thread id in the high half, the
 * count left in the low half (a word with count 0 is a free slot).  The
 * owning thread decrements its count with a compare-and-swap of the whole
 * word, so a slot that another thread re-arms or hands to another thread
 * meanwhile is never decremented for the wrong one.  'task_armed' counts
 * the slots with a count: 0 keeps the fast path to one relaxed load.
 *
 * Lifetimes: a slot is armed by a write of n > 0 and freed when its count
 * reaches 0 (injected, or a write of 0).  A thread that exits armed leaves
 * its slot behind; every arming frees those of threads that no longer exist
 * (tgkill(pid, tid, 0) is ESRCH), and a fork's child starts with none (the
 * kernel zeroes the child's fail_nth; the child's one thread is new).
 *
 * Locking: arming takes fail_task_lock (a leaf: it is never held across a
 * call into the library) so that two armings cannot claim two slots for
 * one thread; the injectable calls take no lock.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "lock.h"

static _Atomic unsigned long countdown;
static _Atomic unsigned int filter;
static _Atomic bool fired;

/* the per-thread switch: at most this many threads armed at once */
#define FAIL_TASK_SLOTS 64

static _Atomic uint64_t task_slot[FAIL_TASK_SLOTS];
static _Atomic unsigned int task_armed;
static struct mutex fail_task_lock =
	MUTEX_INITIALIZER("fail_task_lock", LOCK_RANK_LIB);
static pthread_once_t fail_task_once = PTHREAD_ONCE_INIT;

static inline uint64_t slot_word(pid_t tid, unsigned int n)
{
	return n ? (uint64_t)(uint32_t)tid << 32 | n : 0;
}

static inline pid_t slot_tid(uint64_t w)
{
	return (pid_t)(uint32_t)(w >> 32);
}

static inline unsigned int slot_nth(uint64_t w)
{
	return (unsigned int)w;
}

static pid_t current_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static bool thread_exists(pid_t tid)
{
	return !syscall(SYS_tgkill, getpid(), tid, 0) || errno != ESRCH;
}

void uiommu_fail_nth(unsigned long n)
{
	atomic_store(&fired, false);
	atomic_store(&countdown, n);
}

bool uiommu_fail_fired(void)
{
	return atomic_load(&fired);
}

void uiommu_fail_filter(unsigned int kinds)
{
	atomic_store(&filter, kinds);
}

/* A fork's child: its one thread is new, the kernel zeroes its fail_nth. */
static void fail_task_atfork_child(void)
{
	for (unsigned int i = 0; i < FAIL_TASK_SLOTS; i++)
		atomic_store(&task_slot[i], 0);
	atomic_store(&task_armed, 0);
	pthread_mutex_init(&fail_task_lock.m, NULL);
}

static void fail_task_setup(void)
{
	pthread_atfork(NULL, NULL, fail_task_atfork_child);
}

/*
 * The calling thread's slot while it is armed: decrement it; true when this
 * call is the one that fails.  *decided says the per-thread switch decided
 * (the thread was armed).
 */
static bool task_should_fail(bool *decided)
{
	pid_t tid = current_tid();

	for (unsigned int i = 0; i < FAIL_TASK_SLOTS; i++) {
		uint64_t w = atomic_load(&task_slot[i]);

		while (slot_nth(w) && slot_tid(w) == tid) {
			unsigned int left = slot_nth(w) - 1;

			if (atomic_compare_exchange_weak(
				    &task_slot[i], &w, slot_word(tid, left))) {
				*decided = true;
				if (left)
					return false;
				atomic_fetch_sub(&task_armed, 1);
				return true;
			}
		}
	}
	*decided = false;
	return false;
}

int uiommu_fail_nth_task(int tid, unsigned int n)
{
	int free_slot = -1, ret = 0;
	unsigned int i;

	if (tid <= 0)
		return -ESRCH;
	pthread_once(&fail_task_once, fail_task_setup);
	mutex_lock(&fail_task_lock);
	if (!thread_exists(tid)) {
		ret = -ESRCH;
		goto out;
	}
	for (i = 0; i < FAIL_TASK_SLOTS; i++) {
		uint64_t w = atomic_load(&task_slot[i]);

		/* the slots of threads that exited armed */
		if (slot_nth(w) && slot_tid(w) != tid &&
		    !thread_exists(slot_tid(w)) &&
		    atomic_compare_exchange_strong(&task_slot[i], &w, 0)) {
			atomic_fetch_sub(&task_armed, 1);
			w = 0;
		}
		if (slot_nth(w) && slot_tid(w) == tid) {
			/* the thread's own calls may decrement it meanwhile */
			while (!atomic_compare_exchange_weak(&task_slot[i], &w,
							     slot_word(tid, n)))
				if (!slot_nth(w))
					break;
			if (slot_nth(w)) {
				if (!n)
					atomic_fetch_sub(&task_armed, 1);
				goto out;
			}
			/* it reached 0 meanwhile: the slot is free */
		}
		if (!slot_nth(w) && free_slot < 0)
			free_slot = (int)i;
	}
	if (!n)
		goto out;
	if (free_slot < 0) {
		ret = -ENOSPC;
		goto out;
	}
	/* free slots are claimed only under the lock: a plain store */
	atomic_fetch_add(&task_armed, 1);
	atomic_store(&task_slot[free_slot], slot_word(tid, n));
out:
	mutex_unlock(&fail_task_lock);
	return ret;
}

unsigned int uiommu_fail_nth_task_get(int tid)
{
	for (unsigned int i = 0; i < FAIL_TASK_SLOTS; i++) {
		uint64_t w = atomic_load(&task_slot[i]);

		if (slot_nth(w) && slot_tid(w) == tid)
			return slot_nth(w);
	}
	return 0;
}

bool uiommu_should_fail(unsigned int kind)
{
	unsigned long left;
	unsigned int f;

	if (unlikely(atomic_load_explicit(&task_armed, memory_order_relaxed))) {
		bool decided, fail = task_should_fail(&decided);

		if (decided)
			return fail;
	}
	left = atomic_load_explicit(&countdown, memory_order_relaxed);
	if (likely(!left))
		return false;
	f = atomic_load_explicit(&filter, memory_order_relaxed);
	if (f && !(f & kind))
		return false;
	while (left) {
		if (atomic_compare_exchange_weak(&countdown, &left, left - 1)) {
			if (left == 1) {
				atomic_store(&fired, true);
				return true;
			}
			return false;
		}
	}
	return false;
}
