// SPDX-License-Identifier: MIT
/*
 * Tests of the per-thread fail-the-Nth switch (lib/fault_inject.c,
 * uiommu_fail_nth_task), the one `uiommu exec` serves as the kernel's
 * /proc/<pid>/task/<tid>/fail-nth (issue 15: "Fault injection through the
 * same per-thread file the kernel uses ... drives uiommu's
 * fail-the-Nth-allocation switch").  As the kernel's task_struct.fail_nth:
 *  - the N-th injectable call of the armed thread fails, once, and the
 *    count then reads 0; unfired it reads the count left;
 *  - calls made by other threads do not count;
 *  - one thread may arm another by its id; an id of no thread is ESRCH;
 *  - it counts every kind of call site (the filter of the process-wide
 *    switch does not apply) and decides alone while armed;
 *  - a fork's child starts disarmed; a thread that exits armed leaves
 *    nothing that a later arming keeps.
 */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/internal.h"

static int gettid_(void)
{
	return (int)syscall(SYS_gettid);
}

/* one injectable call: true when it was failed */
static bool alloc_fails(void)
{
	void *p = ui_malloc(16);

	ui_free(p);
	return !p;
}

/* the N-th call fails, once; the count reads what is left, then 0 */
static void test_nth_call_of_the_thread_fails(void **state)
{
	int me = gettid_();

	assert_int_equal(uiommu_fail_nth_task(me, 3), 0);
	assert_int_equal(uiommu_fail_nth_task_get(me), 3);
	assert_false(alloc_fails());
	assert_int_equal(uiommu_fail_nth_task_get(me), 2);
	assert_false(alloc_fails());
	assert_true(alloc_fails());
	assert_int_equal(uiommu_fail_nth_task_get(me), 0);
	assert_false(alloc_fails());	   /* once */
	assert_false(uiommu_fail_fired()); /* the process-wide one is apart */
}

/* writing 0 disarms */
static void test_zero_disarms(void **state)
{
	int me = gettid_();

	assert_int_equal(uiommu_fail_nth_task(me, 1), 0);
	assert_int_equal(uiommu_fail_nth_task(me, 0), 0);
	assert_int_equal(uiommu_fail_nth_task_get(me), 0);
	assert_false(alloc_fails());
}

static void *alloc_thread(void *arg)
{
	*(bool *)arg = alloc_fails();
	return NULL;
}

/* another thread's calls do not count against the armed one */
static void test_other_threads_do_not_count(void **state)
{
	int me = gettid_();
	bool failed = true;
	pthread_t t;

	assert_int_equal(uiommu_fail_nth_task(me, 1), 0);
	pthread_create(&t, NULL, alloc_thread, &failed);
	pthread_join(t, NULL);
	assert_false(failed);
	assert_int_equal(uiommu_fail_nth_task_get(me), 1);
	assert_true(alloc_fails());
}

struct armed_by_other {
	pthread_barrier_t bar;
	int tid;
	bool failed;
	unsigned int left;
};

static void *wait_then_alloc(void *arg)
{
	struct armed_by_other *a = arg;

	a->tid = gettid_();
	pthread_barrier_wait(&a->bar);
	pthread_barrier_wait(&a->bar); /* armed meanwhile */
	a->failed = alloc_fails();
	a->left = uiommu_fail_nth_task_get(a->tid);
	return NULL;
}

/* one thread arms another by its id */
static void test_arm_another_thread(void **state)
{
	struct armed_by_other a = {0};
	pthread_t t;

	pthread_barrier_init(&a.bar, NULL, 2);
	pthread_create(&t, NULL, wait_then_alloc, &a);
	pthread_barrier_wait(&a.bar);
	assert_int_equal(uiommu_fail_nth_task(a.tid, 1), 0);
	assert_false(alloc_fails()); /* not ours */
	pthread_barrier_wait(&a.bar);
	pthread_join(t, NULL);
	assert_true(a.failed);
	assert_int_equal(a.left, 0);
	pthread_barrier_destroy(&a.bar);
}

/* an id of no thread of this process: ESRCH */
static void test_no_such_thread(void **state)
{
	assert_int_equal(uiommu_fail_nth_task(999999999, 1), -ESRCH);
	assert_int_equal(uiommu_fail_nth_task(0, 1), -ESRCH);
	assert_int_equal(uiommu_fail_nth_task(-1, 1), -ESRCH);
}

/* every kind of call site counts, and it decides before the other switch */
static void test_all_kinds_and_precedence(void **state)
{
	int me = gettid_();

	uiommu_fail_filter(UIOMMU_FAIL_PIN);
	assert_int_equal(uiommu_fail_nth_task(me, 1), 0);
	assert_true(alloc_fails()); /* an ALLOC site, outside the filter */
	uiommu_fail_filter(0);

	uiommu_fail_nth(1); /* process-wide: the next call of anyone */
	assert_int_equal(uiommu_fail_nth_task(me, 2), 0);
	assert_false(alloc_fails()); /* the per-thread count decides */
	assert_false(uiommu_fail_fired());
	assert_true(alloc_fails());
	assert_true(alloc_fails()); /* disarmed: the process-wide one now */
	assert_true(uiommu_fail_fired());
	uiommu_fail_nth(0);
}

/* a fork's child starts disarmed, the parent keeps its count */
static void test_fork_child_disarmed(void **state)
{
	int me = gettid_(), st;
	pid_t pid;

	assert_int_equal(uiommu_fail_nth_task(me, 1), 0);
	pid = fork();
	if (!pid)
		_exit(!alloc_fails() && !uiommu_fail_nth_task_get(me) &&
				      !uiommu_fail_nth_task_get(gettid_())
			      ? 0
			      : 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(uiommu_fail_nth_task_get(me), 1);
	assert_int_equal(uiommu_fail_nth_task(me, 0), 0);
}

static void *arm_self_and_exit(void *arg)
{
	*(int *)arg = gettid_();
	uiommu_fail_nth_task(gettid_(), 5);
	return NULL;
}

/* a thread that exits armed: the next arming frees its count */
static void test_exited_thread_forgotten(void **state)
{
	int me = gettid_(), dead = 0;
	pthread_t t;

	pthread_create(&t, NULL, arm_self_and_exit, &dead);
	pthread_join(t, NULL);
	/* the kernel's thread is gone once joined; so is its id's task */
	while (!syscall(SYS_tgkill, getpid(), dead, 0))
		usleep(1000);
	assert_int_equal(uiommu_fail_nth_task_get(dead), 5);
	assert_int_equal(uiommu_fail_nth_task(me, 1), 0);
	assert_int_equal(uiommu_fail_nth_task_get(dead), 0);
	assert_int_equal(uiommu_fail_nth_task(me, 0), 0);
	assert_false(alloc_fails());
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_nth_call_of_the_thread_fails),
	cmocka_unit_test(test_zero_disarms),
	cmocka_unit_test(test_other_threads_do_not_count),
	cmocka_unit_test(test_arm_another_thread),
	cmocka_unit_test(test_no_such_thread),
	cmocka_unit_test(test_all_kinds_and_precedence),
	cmocka_unit_test(test_fork_child_disarmed),
	cmocka_unit_test(test_exited_thread_forgotten),
};

TEST_MAIN(tests)
