/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by every layer of the library, in the kernel's spelling:
 * branch hints, container_of, alignment, overflow-checked arithmetic on
 * user-supplied ranges, READ_ONCE/WRITE_ONCE, diagnostics, and the
 * fault-injectable allocators (every heap allocation of the library goes
 * through ui_malloc/ui_zalloc so tests can fail it on purpose).
 */
#ifndef UIOMMU_INTERNAL_H
#define UIOMMU_INTERNAL_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uiommu/base.h>

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define ALIGN_DOWN(x, a)   ((x) & ~((__typeof__(x))(a)-1))
#define ALIGN_UP(x, a)	   ALIGN_DOWN((x) + (a)-1, (a))
#define IS_ALIGNED(x, a)   (((x) & ((__typeof__(x))(a)-1)) == 0)
#define DIV_ROUND_UP(n, d) (((n) + (d)-1) / (d))

#define check_add_overflow(a, b, d) __builtin_add_overflow(a, b, d)
#define check_mul_overflow(a, b, d) __builtin_mul_overflow(a, b, d)

#define min(a, b)     ((a) < (b) ? (a) : (b))
#define max(a, b)     ((a) > (b) ? (a) : (b))
#define min3(a, b, c) min(min(a, b), c)

#define READ_ONCE(x)	 (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

#define BIT(n)		  (1UL << (n))
#define BIT_ULL(n)	  (1ULL << (n))
#define GENMASK_ULL(h, l) (((~0ULL) >> (63 - (h))) & ~((1ULL << (l)) - 1))

#define __hidden __attribute__((visibility("hidden")))

/* fault injection (lib/fault_inject.c) */
bool uiommu_should_fail(unsigned int kind);

static inline void *ui_malloc(size_t size)
{
	if (unlikely(uiommu_should_fail(UIOMMU_FAIL_ALLOC)))
		return NULL;
	return malloc(size);
}

/*
 * Zeroed objects are aligned to a cache line: several structures are
 * declared __attribute__((aligned(64))) (per-CPU queues, locks that must
 * not share a line) and malloc only promises 16 bytes.
 */
#define UI_ALLOC_ALIGN 64

static inline void *ui_calloc(size_t n, size_t size)
{
	size_t bytes;
	void *p;

	if (unlikely(uiommu_should_fail(UIOMMU_FAIL_ALLOC)))
		return NULL;
	if (__builtin_mul_overflow(n, size, &bytes))
		return NULL;
	if (posix_memalign(&p, UI_ALLOC_ALIGN, bytes ? bytes : 1))
		return NULL;
	return memset(p, 0, bytes);
}

static inline void *ui_zalloc(size_t size)
{
	return ui_calloc(1, size);
}

static inline void ui_free(void *p)
{
	free(p);
}

/* diagnostics (lib/lib.c): printed to stderr unless silenced by tests */
void pr_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pr_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define WARN_ON(cond)                                                    \
	({                                                               \
		bool __c = !!(cond);                                     \
		if (unlikely(__c))                                       \
			pr_warn("WARN_ON(%s) at %s:%d", #cond, __FILE__, \
				__LINE__);                               \
		__c;                                                     \
	})

#define WARN_ON_ONCE(cond)                                                    \
	({                                                                    \
		static bool __warned;                                         \
		bool __c = !!(cond);                                          \
		if (unlikely(__c) && !__warned) {                             \
			__warned = true;                                      \
			pr_warn("WARN_ON_ONCE(%s) at %s:%d", #cond, __FILE__, \
				__LINE__);                                    \
		}                                                             \
		__c;                                                          \
	})

#endif /* UIOMMU_INTERNAL_H */
