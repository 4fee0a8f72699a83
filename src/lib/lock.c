// SPDX-License-Identifier: MIT
/*
 * Locks and their checks (lib/lock.h).
 *
 * Data model: each thread keeps the locks it holds in 'held', innermost
 * last, each with the rank it was taken at (class rank + subclass) and
 * whether it was taken for reading.  A lock's 'owner' is the address of its
 * owner's 'held' array (unique per live thread), set after the lock is
 * taken and cleared before it is given up, so that it is only ever written
 * by the thread that holds the lock; other threads read it only for
 * messages.  A read-held rw_semaphore has no owner: its readers find it in
 * their own 'held'.
 *
 * The order check compares a lock with the innermost one held: ranks only
 * grow inwards, so that one comparison covers them all.  A trylock cannot
 * deadlock and is not checked, but is recorded.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"
#include "lock.h"

#ifdef UI_LOCKDEP

struct held_lock {
	const void *lock;
	const struct lock_class *class;
	unsigned int rank;
	bool read;
};

static __thread struct held_lock held[LOCKDEP_MAX_HELD];
static __thread unsigned int nr_held;

const void *lockdep_self(void)
{
	return held;
}

unsigned int lockdep_depth(void)
{
	return nr_held;
}

static void __attribute__((noreturn)) lockdep_die(void)
{
	fflush(stderr);
	abort();
}

static void print_held(void)
{
	unsigned int i;

	fprintf(stderr, "uiommu: lockdep: locks held by this thread:\n");
	for (i = 0; i < nr_held; i++)
		fprintf(stderr, "  #%u: %s (rank %u%s)\n", i,
			held[i].class->name, held[i].rank,
			held[i].read ? ", read" : "");
}

/* The held lock of highest rank: not always the innermost, since a
 * trylock may take a lock of lower rank than those already held. */
static const struct held_lock *highest_held(void)
{
	const struct held_lock *h = NULL;
	unsigned int i;

	for (i = 0; i < nr_held; i++)
		if (!h || held[i].rank > h->rank)
			h = &held[i];
	return h;
}

void lockdep_acquire(const void *lock, const struct lock_class *c,
		     unsigned int subclass, bool read, bool trylock)
{
	unsigned int rank = c->rank + subclass;
	const struct held_lock *in = trylock ? NULL : highest_held();

	if (in && in->rank >= rank) {
		fprintf(stderr,
			"uiommu: lockdep: lock order violated: taking %s "
			"(rank %u) while holding %s (rank %u)\n",
			c->name, rank, in->class->name, in->rank);
		print_held();
		lockdep_die();
	}
	if (nr_held == LOCKDEP_MAX_HELD) {
		fprintf(stderr, "uiommu: lockdep: more than %d locks held\n",
			LOCKDEP_MAX_HELD);
		print_held();
		lockdep_die();
	}
	held[nr_held++] = (struct held_lock){
		.lock = lock, .class = c, .rank = rank, .read = read};
}

void lockdep_release(const void *lock, const struct lock_class *c)
{
	unsigned int i = nr_held;

	while (i && held[i - 1].lock != lock)
		i--;
	if (!i) {
		fprintf(stderr,
			"uiommu: lockdep: releasing %s, which this thread "
			"does not hold\n",
			c->name);
		print_held();
		lockdep_die();
	}
	for (; i < nr_held; i++)
		held[i - 1] = held[i];
	nr_held--;
}

static const struct held_lock *find_held(const void *lock)
{
	unsigned int i;

	for (i = nr_held; i; i--)
		if (held[i - 1].lock == lock)
			return &held[i - 1];
	return NULL;
}

bool lockdep_is_held(const void *lock)
{
	return find_held(lock) != NULL;
}

bool lockdep_is_held_write(const void *lock)
{
	const struct held_lock *h = find_held(lock);

	return h && !h->read;
}

void lockdep_assert_failed(const char *func, const char *lock_expr,
			   const struct lock_class *c, const char *what,
			   const void *owner)
{
	fprintf(stderr,
		"uiommu: lockdep: %s() must be called with %s %s "
		"(lock class %s; %s)\n",
		func, lock_expr, what, c->name ? c->name : "?",
		!owner			  ? "no thread holds it for writing"
		: owner == lockdep_self() ? "this thread holds it"
					  : "another thread holds it");
	print_held();
	lockdep_die();
}

#define OWNER_SET(l) \
	atomic_store_explicit(&(l)->owner, lockdep_self(), memory_order_relaxed)
#define OWNER_CLEAR(l) \
	atomic_store_explicit(&(l)->owner, NULL, memory_order_relaxed)
#define ACQUIRE(l, sub, read, try) \
	lockdep_acquire((l), &(l)->class, (sub), (read), (try))
#define RELEASE(l) lockdep_release((l), &(l)->class)

#else /* !UI_LOCKDEP */

#define OWNER_SET(l)		   ((void)0)
#define OWNER_CLEAR(l)		   ((void)0)
#define ACQUIRE(l, sub, read, try) ((void)0)
#define RELEASE(l)		   ((void)0)

#endif /* UI_LOCKDEP */

#ifdef UI_LOCKDEP
/* "&c->lock" names the lock "c->lock" */
#define SET_CLASS(l, n, r) \
	((l)->class = (struct lock_class){(n) + ((n)[0] == '&'), (r)})
#else
#define SET_CLASS(l, n, r) ((void)(n), (void)(r))
#endif

/* pthread's lock calls fail only on misuse, which lockdep reports first */
#define MUST(call)                                                        \
	do {                                                              \
		int __e = (call);                                         \
		if (unlikely(__e)) {                                      \
			fprintf(stderr, "uiommu: %s failed: %d\n", #call, \
				__e);                                     \
			abort();                                          \
		}                                                         \
	} while (0)

/*
 * The steps every lock kind shares, as macros so that each lock's fast
 * path stays one call to pthread: init (the pthread lock, then its class
 * and no owner), take (check the order, wait, own), try (EBUSY is "not
 * taken", anything else misuse) and give up.  'read' is true for a read
 * hold, which has no owner.
 */
#define INIT(l, name, rank, call)         \
	do {                              \
		MUST(call);               \
		SET_CLASS(l, name, rank); \
		OWNER_CLEAR(l);           \
	} while (0)

#define TAKE(l, sub, read, call)              \
	do {                                  \
		ACQUIRE(l, sub, read, false); \
		MUST(call);                   \
		if (!(read))                  \
			OWNER_SET(l);         \
	} while (0)

#define TRY_TAKE(l, read, call)                    \
	({                                         \
		int __ret = (call);                \
		bool __taken = __ret != EBUSY;     \
		if (__taken) {                     \
			MUST(__ret);               \
			ACQUIRE(l, 0, read, true); \
			if (!(read))               \
				OWNER_SET(l);      \
		}                                  \
		__taken;                           \
	})

#define GIVE(l, read, call)             \
	do {                            \
		RELEASE(l);             \
		if (!(read))            \
			OWNER_CLEAR(l); \
		MUST(call);             \
	} while (0)

/* ---- struct mutex ---------------------------------------------------------- */

void mutex_init_name(struct mutex *m, const char *name, unsigned int rank)
{
	INIT(m, name, rank, pthread_mutex_init(&m->m, NULL));
}

/* A mutex that spins a little before it sleeps, for short hot sections. */
void mutex_init_adaptive(struct mutex *m, const char *name, unsigned int rank)
{
	pthread_mutexattr_t a;

	MUST(pthread_mutexattr_init(&a));
	MUST(pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP));
	INIT(m, name, rank, pthread_mutex_init(&m->m, &a));
	pthread_mutexattr_destroy(&a);
}

void mutex_destroy(struct mutex *m)
{
	pthread_mutex_destroy(&m->m);
}

void mutex_lock(struct mutex *m)
{
	TAKE(m, 0, false, pthread_mutex_lock(&m->m));
}

void mutex_lock_nested(struct mutex *m, unsigned int subclass)
{
	TAKE(m, subclass, false, pthread_mutex_lock(&m->m));
}

bool mutex_trylock(struct mutex *m)
{
	return TRY_TAKE(m, false, pthread_mutex_trylock(&m->m));
}

void mutex_unlock(struct mutex *m)
{
	GIVE(m, false, pthread_mutex_unlock(&m->m));
}

#ifdef UI_LOCKDEP
/* Ownership goes with the wait: m must be the innermost lock held, and
 * its held entry is put back on top when the wait returns. */
static void cond_release(struct mutex *m, struct held_lock *saved)
{
	if (!nr_held || held[nr_held - 1].lock != m) {
		if (!lockdep_is_held(m))
			lockdep_assert_failed(
				"mutex_cond_wait", "the mutex", &m->class,
				"held",
				atomic_load_explicit(&m->owner,
						     memory_order_relaxed));
		/* a lock taken after m would stay held while m is given
		 * up and retaken: the order inverted, a deadlock waiting */
		fprintf(stderr,
			"uiommu: lockdep: waiting on %s with %s, taken after "
			"it, still held\n",
			m->class.name, held[nr_held - 1].class->name);
		print_held();
		lockdep_die();
	}
	*saved = held[nr_held - 1];
	RELEASE(m);
	OWNER_CLEAR(m);
}

static void cond_reacquire(struct mutex *m, const struct held_lock *saved)
{
	held[nr_held++] = *saved;
	OWNER_SET(m);
}
#endif

/* Both waits: abstime NULL waits for as long as it takes. */
static int cond_wait(pthread_cond_t *c, struct mutex *m,
		     const struct timespec *abstime)
{
	int ret;
#ifdef UI_LOCKDEP
	struct held_lock saved;

	cond_release(m, &saved);
#endif

	ret = abstime ? pthread_cond_timedwait(c, &m->m, abstime)
		      : pthread_cond_wait(c, &m->m);
#ifdef UI_LOCKDEP
	cond_reacquire(m, &saved);
#endif
	if (ret && ret != ETIMEDOUT)
		MUST(ret);
	return ret;
}

void mutex_cond_wait(pthread_cond_t *c, struct mutex *m)
{
	cond_wait(c, m, NULL);
}

int mutex_cond_timedwait(pthread_cond_t *c, struct mutex *m,
			 const struct timespec *abstime)
{
	return cond_wait(c, m, abstime);
}

/* ---- struct rw_semaphore -------------------------------------------------- */

void init_rwsem_name(struct rw_semaphore *s, const char *name,
		     unsigned int rank)
{
	INIT(s, name, rank, pthread_rwlock_init(&s->rw, NULL));
}

void rwsem_destroy(struct rw_semaphore *s)
{
	pthread_rwlock_destroy(&s->rw);
}

void down_read(struct rw_semaphore *s)
{
	TAKE(s, 0, true, pthread_rwlock_rdlock(&s->rw));
}

void down_write(struct rw_semaphore *s)
{
	TAKE(s, 0, false, pthread_rwlock_wrlock(&s->rw));
}

bool down_read_trylock(struct rw_semaphore *s)
{
	return TRY_TAKE(s, true, pthread_rwlock_tryrdlock(&s->rw));
}

bool down_write_trylock(struct rw_semaphore *s)
{
	return TRY_TAKE(s, false, pthread_rwlock_trywrlock(&s->rw));
}

void up_read(struct rw_semaphore *s)
{
	GIVE(s, true, pthread_rwlock_unlock(&s->rw));
}

void up_write(struct rw_semaphore *s)
{
	GIVE(s, false, pthread_rwlock_unlock(&s->rw));
}

/* ---- spinlock_t -------------------------------------------------------------- */

void spin_lock_init_name(spinlock_t *l, const char *name, unsigned int rank)
{
	INIT(l, name, rank, pthread_spin_init(&l->s, PTHREAD_PROCESS_PRIVATE));
}

void spin_lock_destroy(spinlock_t *l)
{
	pthread_spin_destroy(&l->s);
}

void spin_lock(spinlock_t *l)
{
	TAKE(l, 0, false, pthread_spin_lock(&l->s));
}

bool spin_trylock(spinlock_t *l)
{
	return TRY_TAKE(l, false, pthread_spin_trylock(&l->s));
}

void spin_unlock(spinlock_t *l)
{
	GIVE(l, false, pthread_spin_unlock(&l->s));
}
