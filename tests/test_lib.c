// SPDX-License-Identifier: MIT
/*
 * Tests of the library's own helpers: the locks whose rules execute
 * (lib/lock.h).  A function that needs a lock and is called without it
 * aborts naming both; taking locks out of their ranked order aborts naming
 * the two; condition waits hand ownership over and back.  The death tests
 * fork: the child's standard error is the report checked.
 */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/internal.h"
#include "lib/lock.h"

#ifdef UI_LOCKDEP

enum {
	TEST_LOCK_OUTER = LOCK_RANK_LIB,
	TEST_LOCK_INNER,
};

struct counter {
	struct mutex lock;
	struct rw_semaphore sem;
	spinlock_t spin;
	unsigned long n; /* guarded by lock */
};

static void counter_init(struct counter *c)
{
	memset(c, 0, sizeof(*c));
	mutex_init(&c->lock, TEST_LOCK_INNER);
	init_rwsem(&c->sem, TEST_LOCK_OUTER);
	spin_lock_init(&c->spin, TEST_LOCK_INNER);
}

static void counter_destroy(struct counter *c)
{
	mutex_destroy(&c->lock);
	rwsem_destroy(&c->sem);
	spin_lock_destroy(&c->spin);
}

/* the pattern every layer follows: the rule at the top of the function */
static void counter_inc_locked(struct counter *c)
{
	lockdep_assert_held(&c->lock);
	c->n++;
}

static void test_lock_held_passes(void **state)
{
	struct counter c;

	counter_init(&c);
	mutex_lock(&c.lock);
	assert_int_equal(lockdep_depth(), 1);
	counter_inc_locked(&c);
	mutex_unlock(&c.lock);
	assert_int_equal(lockdep_depth(), 0);
	assert_int_equal(c.n, 1);
	counter_destroy(&c);
}

static void call_unlocked(void *ctx)
{
	counter_inc_locked(ctx);
}

/* L01: the function and the lock are named */
static void test_lock_not_held_aborts(void **state)
{
	static const char *const want[] = {"counter_inc_locked() must be "
					   "called with &c->lock held",
					   "lock class c->lock",
					   "no thread holds it", NULL};
	struct counter c;

	counter_init(&c);
	test_expect_abort(call_unlocked, &c, want);
	assert_int_equal(c.n, 0);
	counter_destroy(&c);
}

struct other_thread {
	struct counter *c;
	pthread_barrier_t locked, done;
};

static void *hold_lock(void *arg)
{
	struct other_thread *o = arg;

	mutex_lock(&o->c->lock);
	pthread_barrier_wait(&o->locked);
	pthread_barrier_wait(&o->done);
	mutex_unlock(&o->c->lock);
	return NULL;
}

static void call_while_other_holds(void *ctx)
{
	struct other_thread *o = ctx;
	pthread_t t;

	pthread_barrier_init(&o->locked, NULL, 2);
	pthread_barrier_init(&o->done, NULL, 2);
	pthread_create(&t, NULL, hold_lock, o);
	pthread_barrier_wait(&o->locked);
	counter_inc_locked(o->c); /* held, but by the other thread */
}

/* L02: held by another thread is not held */
static void test_lock_held_by_other_thread_aborts(void **state)
{
	static const char *const want[] = {"counter_inc_locked()", "c->lock",
					   "another thread holds it", NULL};
	struct other_thread o;
	struct counter c;

	counter_init(&c);
	o.c = &c;
	test_expect_abort(call_while_other_holds, &o, want);
	counter_destroy(&c);
}

static void take_out_of_order(void *ctx)
{
	struct counter *c = ctx;

	mutex_lock(&c->lock);
	down_read(&c->sem); /* ranks below c->lock: must come first */
}

/* L03: order violations name both locks */
static void test_lock_order_violation_aborts(void **state)
{
	static const char *const want[] = {"lock order violated",
					   "taking c->sem", "holding c->lock",
					   NULL};
	struct counter c;

	counter_init(&c);
	test_expect_abort(take_out_of_order, &c, want);
	/* the right order passes */
	down_read(&c.sem);
	mutex_lock(&c.lock);
	mutex_unlock(&c.lock);
	up_read(&c.sem);
	counter_destroy(&c);
}

static void take_same_class_twice(void *ctx)
{
	struct counter *c = ctx;

	mutex_lock(&c[0].lock);
	mutex_lock(&c[1].lock);
}

/* L04: two locks of one class need a subclass */
static void test_lock_same_class_needs_subclass(void **state)
{
	static const char *const want[] = {"lock order violated", NULL};
	struct counter c[2];

	counter_init(&c[0]);
	counter_init(&c[1]);
	test_expect_abort(take_same_class_twice, c, want);
	mutex_lock(&c[0].lock);
	mutex_lock_nested(&c[1].lock, 1);
	mutex_unlock(&c[0].lock); /* out of order release is fine */
	mutex_unlock(&c[1].lock);
	assert_int_equal(lockdep_depth(), 0);
	counter_destroy(&c[0]);
	counter_destroy(&c[1]);
}

static void unlock_unheld(void *ctx)
{
	struct counter *c = ctx;

	spin_unlock(&c->spin);
}

/* L05 */
static void test_unlock_not_held_aborts(void **state)
{
	static const char *const want[] = {"releasing c->spin", NULL};
	struct counter c;

	counter_init(&c);
	test_expect_abort(unlock_unheld, &c, want);
	counter_destroy(&c);
}

static void assert_write_under_read(void *ctx)
{
	struct counter *c = ctx;

	down_read(&c->sem);
	lockdep_assert_held_write(&c->sem);
}

/* L06: read and write holders are told apart */
static void test_rwsem_modes(void **state)
{
	static const char *const want[] = {"held for writing", NULL};
	struct counter c;

	counter_init(&c);
	down_read(&c.sem);
	lockdep_assert_held(&c.sem);
	up_read(&c.sem);
	down_write(&c.sem);
	lockdep_assert_held_write(&c.sem);
	assert_false(down_read_trylock(&c.sem) && (up_read(&c.sem), true));
	up_write(&c.sem);
	lockdep_assert_not_held(&c.sem);
	test_expect_abort(assert_write_under_read, &c, want);
	counter_destroy(&c);
}

struct waiter {
	struct counter *c;
	pthread_cond_t cond;
	bool go;
};

static void *signal_go(void *arg)
{
	struct waiter *w = arg;

	mutex_lock(&w->c->lock);
	w->go = true;
	pthread_cond_signal(&w->cond);
	mutex_unlock(&w->c->lock);
	return NULL;
}

/* L07: a condition wait gives the mutex up and takes it back, in place */
static void test_cond_wait_keeps_ownership(void **state)
{
	struct waiter w = {.cond = PTHREAD_COND_INITIALIZER};
	struct counter c;
	pthread_t t;

	counter_init(&c);
	w.c = &c;
	down_read(&c.sem);
	mutex_lock(&c.lock);
	assert_int_equal(pthread_create(&t, NULL, signal_go, &w), 0);
	while (!w.go)
		mutex_cond_wait(&w.cond, &c.lock);
	counter_inc_locked(&c);
	assert_int_equal(lockdep_depth(), 2);
	mutex_unlock(&c.lock);
	up_read(&c.sem);
	pthread_join(t, NULL);
	assert_true(mutex_trylock(&c.lock));
	assert_true(lockdep_is_held(&c.lock));
	mutex_unlock(&c.lock);
	counter_destroy(&c);
}

static void *try_all(void *arg)
{
	struct counter *c = arg;
	bool any = mutex_trylock(&c->lock) || spin_trylock(&c->spin) ||
		   down_read_trylock(&c->sem) || down_write_trylock(&c->sem);

	/* nothing taken, nothing recorded */
	return (void *)(uintptr_t)(any || lockdep_depth());
}

/* L08: every trylock records what it took and nothing when it found the
 * lock busy; a timed wait that times out still holds the mutex after */
static void test_trylocks(void **state)
{
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
	struct timespec ts;
	struct counter c;
	pthread_t t;
	void *ret;

	counter_init(&c);
	assert_true(down_write_trylock(&c.sem));
	assert_true(lockdep_is_held_write(&c.sem));
	assert_true(mutex_trylock(&c.lock));
	assert_true(spin_trylock(&c.spin));
	assert_int_equal(lockdep_depth(), 3);
	assert_int_equal(pthread_create(&t, NULL, try_all, &c), 0);
	pthread_join(t, &ret);
	assert_null(ret);
	spin_unlock(&c.spin);
	clock_gettime(CLOCK_REALTIME, &ts);
	assert_int_equal(mutex_cond_timedwait(&cond, &c.lock, &ts), ETIMEDOUT);
	counter_inc_locked(&c);
	mutex_unlock(&c.lock);
	up_write(&c.sem);
	assert_true(down_read_trylock(&c.sem));
	assert_true(lockdep_is_held(&c.sem));
	assert_false(lockdep_is_held_write(&c.sem));
	up_read(&c.sem);
	assert_int_equal(lockdep_depth(), 0);
	counter_destroy(&c);
}

static void order_after_trylock(void *ctx)
{
	struct counter *c = ctx;

	mutex_lock(&c->lock);		 /* inner rank */
	if (!down_read_trylock(&c->sem)) /* outer rank: a trylock may */
		return;
	spin_lock(&c->spin); /* inner rank again: below c->lock held */
}

/* L09: the order is checked against the highest rank held, not the
 * innermost lock (a trylock may have taken a lower one last) */
static void test_order_checked_past_trylock(void **state)
{
	static const char *const want[] = {"lock order violated",
					   "taking c->spin", "holding c->lock",
					   NULL};
	struct counter c;

	counter_init(&c);
	test_expect_abort(order_after_trylock, &c, want);
	counter_destroy(&c);
}

static void wait_with_inner_held(void *ctx)
{
	struct counter *c = ctx;
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
	struct timespec t = {0};

	down_write(&c->sem);
	mutex_lock(&c->lock);
	/* c->lock is the innermost: c->sem, outside it, may stay held */
	assert_int_equal(mutex_cond_timedwait(&cond, &c->lock, &t), ETIMEDOUT);
	mutex_unlock(&c->lock);
	up_write(&c->sem);
}

static void wait_on_outer(void *ctx)
{
	struct counter *c = ctx;
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
	struct counter d;
	struct timespec t = {0};

	counter_init(&d);
	mutex_lock(&c->lock);
	mutex_lock_nested(&d.lock, 1);
	mutex_cond_timedwait(&cond, &c->lock, &t); /* d.lock still held */
}

/* L10: a condition wait gives up only the innermost lock */
static void test_cond_wait_innermost_only(void **state)
{
	static const char *const want[] = {"waiting on c->lock",
					   "taken after it, still held", NULL};
	struct counter c;

	counter_init(&c);
	wait_with_inner_held(&c); /* the innermost: fine */
	test_expect_abort(wait_on_outer, &c, want);
	counter_destroy(&c);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_lock_held_passes),
	cmocka_unit_test(test_lock_not_held_aborts),
	cmocka_unit_test(test_lock_held_by_other_thread_aborts),
	cmocka_unit_test(test_lock_order_violation_aborts),
	cmocka_unit_test(test_lock_same_class_needs_subclass),
	cmocka_unit_test(test_unlock_not_held_aborts),
	cmocka_unit_test(test_rwsem_modes),
	cmocka_unit_test(test_cond_wait_keeps_ownership),
	cmocka_unit_test(test_trylocks),
	cmocka_unit_test(test_order_checked_past_trylock),
	cmocka_unit_test(test_cond_wait_innermost_only),
};

#else /* release builds have no checks to test */

static void test_lockdep_off(void **state)
{
	skip();
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_lockdep_off),
};

#endif

TEST_MAIN(tests)
