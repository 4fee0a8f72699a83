/* SPDX-License-Identifier: MIT */
/*
 * Locks whose rules execute: struct mutex, struct rw_semaphore and
 * spinlock_t over pthreads, with the kernel's names and lockdep's checks.
 *
 * Data model.  Every lock has a class: a name (the field it lives in, as
 * the code spells it) and a rank.  Ranks order all the locks of the
 * library: a thread may take a lock only while every lock it holds ranks
 * lower.  Locks of one class taken together (two groups, a parent and a
 * child table) say which comes first with a subclass, mutex_lock_nested(),
 * which adds to the rank.  Each layer writes its locks' order once, as an
 * enum of ranks in its internal header, counted from that layer's base
 * below; a layer that calls another takes its locks first, so bases grow
 * downwards through the layers.
 *
 * Checks (UI_LOCKDEP, on in every build without NDEBUG: the debug and test
 * builds).  A lock records the thread that owns it; each thread records
 * the locks it holds, innermost last.  Taking a lock that does not rank
 * above every lock held aborts, naming both; so does releasing a lock the
 * thread does not hold.  lockdep_assert_held(l) at the top of a function
 * that needs a lock aborts, naming the function and the lock, when the
 * calling thread does not hold it.  Without UI_LOCKDEP every operation is
 * the bare pthread call and the assertions compile to nothing.
 *
 * Condition variables wait on a struct mutex with mutex_cond_wait() and
 * mutex_cond_timedwait(), which hand ownership over around the wait.
 */
#ifndef UIOMMU_LIB_LOCK_H
#define UIOMMU_LIB_LOCK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#if !defined(NDEBUG) && !defined(UI_NO_LOCKDEP)
#define UI_LOCKDEP 1
#endif

/*
 * Rank bases, one per layer, upper layers first.  A layer's own enum
 * counts up from its base (at most LOCK_LAYER_SPAN locks), e.g.
 *
 *	enum { HW_LOCK_DEV = LOCK_RANK_HW, HW_LOCK_CFG, HW_LOCK_IOTLB };
 *
 * Three bases are not layers but places in the real order that crosses
 * them.  VFIO calls its device drivers (src/devices) back with its core
 * and device-list locks held (close_device, dma_unmap), and the drivers
 * then call type1 (pins, DMA that faults) holding their own: so a driver's
 * lock taken in such a callback ranks at LOCK_RANK_VFIO_DRIVER, inside
 * vfio's span, after vfio.lock and device_list_lock and before the
 * container lock.  The IOMMU core calls device fault handlers up into vfio while it
 * holds iommu_core.lock and a device's fault_param->lock, and vfio holds
 * its container lock when it calls the core: so those two core locks, and
 * the handlers' own lock taken before they pin (vfio's transfer_lock), rank
 * in LOCK_RANK_FAULT, after vfio's and before mmap_lock.  The mm's mmap_lock (src/mem/mm.c) is taken by the layers that pin
 * user memory while they hold their own locks (vfio's container lock
 * around mm_pin_pages(), as the kernel's type1 takes mmap_lock inside
 * iommu->lock), and it is held while the mm's MMU notifiers call up into
 * those layers, as the kernel's are.  So mmap_lock ranks after every lock
 * a pinning caller may hold (LOCK_RANK_MMAP, below every layer that pins)
 * and before the locks the notifier callbacks take (LOCK_RANK_MM_NOTIFIER:
 * kvm's mmu_lock, vfio's fault lock), which in turn rank before the
 * layers those callbacks call down into (iommu, hw, pgtable, mem).
 *
 * The PCI layer's function lock (src/pci) is taken for configuration
 * space and interrupt state by vfio-pci with vfio's locks held, and by
 * device models from their ops and threads with their own locks held; it
 * calls nothing below while held (a model's DMA into hw/ holds nothing of
 * pci).  So it ranks after every band above, at LOCK_RANK_PCI, and before
 * the IOMMU core and the layers under it.
 */
#define LOCK_LAYER_SPAN 64
enum lock_rank_base {
	LOCK_RANK_SYSTEM = 0,
	LOCK_RANK_DEVICES = 1 * LOCK_LAYER_SPAN,
	LOCK_RANK_KVM = 2 * LOCK_LAYER_SPAN,
	LOCK_RANK_VFIO = 3 * LOCK_LAYER_SPAN,
	LOCK_RANK_FAULT = 4 * LOCK_LAYER_SPAN,
	LOCK_RANK_MMAP = 5 * LOCK_LAYER_SPAN,
	LOCK_RANK_MM_NOTIFIER = 6 * LOCK_LAYER_SPAN,
	LOCK_RANK_PCI = 7 * LOCK_LAYER_SPAN,
	LOCK_RANK_IOMMU = 8 * LOCK_LAYER_SPAN,
	LOCK_RANK_HW = 9 * LOCK_LAYER_SPAN,
	LOCK_RANK_PGTABLE = 10 * LOCK_LAYER_SPAN,
	LOCK_RANK_MEM = 11 * LOCK_LAYER_SPAN,
	LOCK_RANK_LIB = 12 * LOCK_LAYER_SPAN,
	/* the sanitizer's (src/sanitizer): leaves, taken with any lock of
	 * any layer held (a MAP under type1's lock, a fault under a device
	 * model's), calling nothing that takes a lock */
	LOCK_RANK_SANITIZER = 13 * LOCK_LAYER_SPAN,
};

/* VFIO device drivers' locks taken in vfio's callbacks (see above) */
#define LOCK_RANK_VFIO_DRIVER (LOCK_RANK_VFIO + LOCK_LAYER_SPAN / 4)

/* The most locks one thread holds at once. */
#define LOCKDEP_MAX_HELD 24

struct lock_class {
	const char *name;
	unsigned int rank;
};

struct mutex {
	pthread_mutex_t m;
#ifdef UI_LOCKDEP
	struct lock_class class;
	_Atomic(const void *) owner; /* the owning thread's lockdep_self() */
#endif
};

struct rw_semaphore {
	pthread_rwlock_t rw;
#ifdef UI_LOCKDEP
	struct lock_class class;
	_Atomic(const void *) owner; /* the writer, NULL while read-held */
#endif
};

typedef struct {
	pthread_spinlock_t s;
#ifdef UI_LOCKDEP
	struct lock_class class;
	_Atomic(const void *) owner;
#endif
} spinlock_t;

#ifdef UI_LOCKDEP
#define __LOCK_CLASS(n, r) .class = {.name = (n), .rank = (r)},
#else
#define __LOCK_CLASS(n, r)
#endif

/* Static initializers: 'name' is the variable's name as a string. */
#define MUTEX_INITIALIZER(name, rank)                                    \
	{                                                                \
		.m = PTHREAD_MUTEX_INITIALIZER, __LOCK_CLASS(name, rank) \
	}
#define RWSEM_INITIALIZER(name, rank)                                      \
	{                                                                  \
		.rw = PTHREAD_RWLOCK_INITIALIZER, __LOCK_CLASS(name, rank) \
	}

/*
 * Initialisation names the lock after the expression that holds it
 * (mutex_init(&c->lock, VFIO_LOCK_CONTAINER) is "c->lock"); the _name
 * forms take the name explicitly.  pthread's init can fail only for want
 * of memory, which Linux's never does; these return nothing.
 */
void mutex_init_name(struct mutex *m, const char *name, unsigned int rank);
void mutex_init_adaptive(struct mutex *m, const char *name, unsigned int rank);
void mutex_destroy(struct mutex *m);
void init_rwsem_name(struct rw_semaphore *s, const char *name,
		     unsigned int rank);
void rwsem_destroy(struct rw_semaphore *s);
void spin_lock_init_name(spinlock_t *l, const char *name, unsigned int rank);
void spin_lock_destroy(spinlock_t *l);

#define mutex_init(m, rank)	mutex_init_name((m), #m, (rank))
#define init_rwsem(s, rank)	init_rwsem_name((s), #s, (rank))
#define spin_lock_init(l, rank) spin_lock_init_name((l), #l, (rank))

#ifdef UI_LOCKDEP

void lockdep_acquire(const void *lock, const struct lock_class *c,
		     unsigned int subclass, bool read, bool trylock);
void lockdep_release(const void *lock, const struct lock_class *c);
bool lockdep_is_held(const void *lock);
bool lockdep_is_held_write(const void *lock);
/* 'owner': the lock's recorded owner, for the message */
void lockdep_assert_failed(const char *func, const char *lock_expr,
			   const struct lock_class *c, const char *what,
			   const void *owner) __attribute__((noreturn));
/* The calling thread's identity as owners record it. */
const void *lockdep_self(void);
/* How many locks the calling thread holds (tests). */
unsigned int lockdep_depth(void);

/* 'ok' is the check, 'what' how the lock should be, for the message. */
#define __lockdep_assert(l, lock_expr, ok, what)                             \
	do {                                                                 \
		if (__builtin_expect(!(ok), 0))                              \
			lockdep_assert_failed(                               \
				__func__, lock_expr, &(l)->class, what,      \
				atomic_load_explicit(&(l)->owner,            \
						     memory_order_relaxed)); \
	} while (0)

#define lockdep_assert_held(l) \
	__lockdep_assert(l, #l, lockdep_is_held(l), "held")
#define lockdep_assert_held_write(l) \
	__lockdep_assert(l, #l, lockdep_is_held_write(l), "held for writing")
/* For data that either of two locks guards for readers (its writers hold
 * both): one of them held. */
#define lockdep_assert_held_either(a, b)  \
	__lockdep_assert(a, #a " or " #b, \
			 lockdep_is_held(a) || lockdep_is_held(b), "held")
#define lockdep_assert_not_held(l) \
	__lockdep_assert(l, #l, !lockdep_is_held(l), "not held")

#else /* !UI_LOCKDEP */

#define lockdep_assert_held(l)		 ((void)(l))
#define lockdep_assert_held_write(l)	 ((void)(l))
#define lockdep_assert_not_held(l)	 ((void)(l))
#define lockdep_assert_held_either(a, b) ((void)(a), (void)(b))

#endif /* UI_LOCKDEP */

void mutex_lock(struct mutex *m);
void mutex_lock_nested(struct mutex *m, unsigned int subclass);
/* true when taken, as the kernel's (not pthread's 0) */
bool mutex_trylock(struct mutex *m);
void mutex_unlock(struct mutex *m);
/* Wait on c, giving m up meanwhile; m is held again on return. */
void mutex_cond_wait(pthread_cond_t *c, struct mutex *m);
/* The same with an absolute CLOCK_REALTIME deadline (or the clock c was
 * made with): 0, or ETIMEDOUT when it passed. */
int mutex_cond_timedwait(pthread_cond_t *c, struct mutex *m,
			 const struct timespec *abstime);

void down_read(struct rw_semaphore *s);
bool down_read_trylock(struct rw_semaphore *s);
void up_read(struct rw_semaphore *s);
void down_write(struct rw_semaphore *s);
bool down_write_trylock(struct rw_semaphore *s);
void up_write(struct rw_semaphore *s);

void spin_lock(spinlock_t *l);
bool spin_trylock(spinlock_t *l);
void spin_unlock(spinlock_t *l);

#endif /* UIOMMU_LIB_LOCK_H */
