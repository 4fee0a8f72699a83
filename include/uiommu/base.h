/* SPDX-License-Identifier: MIT */
/*
 * uiommu: base definitions shared by every layer.
 *
 * Part of the stable interface, with <uiommu/uapi.h>; self-contained (the
 * C library only).
 *
 * Error convention: functions return 0 or a negative errno, the way the
 * kernel does; only the calls of the fd front named after a system call
 * (uiommu_open, uiommu_ioctl, ... in uapi.h) turn that into -1 and errno.
 * The calls below cannot fail, but uiommu_fail_nth_task.
 *
 * Fault injection: every allocation site of the library (and every page pin)
 * passes through uiommu_should_fail().  A test arms it with
 * uiommu_fail_nth(n): the n-th such call from then on fails, once, and the
 * switch disarms itself.  Sweeping n = 1, 2, ... until an operation succeeds
 * with the switch unfired visits every failure path of that operation.
 * uiommu_fail_nth_task(tid, n) is the same per thread, as the kernel's
 * per-task fail-nth: only the calls thread tid makes count.
 *
 * CPU ids: per-CPU structures (IOVA magazines, flush queues) are indexed by a
 * small per-thread id in [0, UIOMMU_NR_CPUS), the way the kernel indexes
 * them by smp_processor_id().
 */
#ifndef UIOMMU_BASE_H
#define UIOMMU_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UIOMMU_API __attribute__((visibility("default")))

#define UIOMMU_NR_CPUS 64

/* Version of the library, "MAJOR.MINOR.PATCH". */
UIOMMU_API const char *uiommu_version(void);

/* Arm fault injection: the n-th injectable call from now on fails (n >= 1);
 * n == 0 disarms. */
UIOMMU_API void uiommu_fail_nth(unsigned long n);
/* True once the armed failure has been delivered (and the switch disarmed). */
UIOMMU_API bool uiommu_fail_fired(void);
/* Restrict injection to call sites of one kind (UIOMMU_FAIL_*), 0 for all. */
UIOMMU_API void uiommu_fail_filter(unsigned int kinds);
/*
 * The per-thread switch, the kernel's /proc/<pid>/task/<tid>/fail-nth
 * (served by `uiommu exec`): the n-th injectable call that thread tid of
 * this process makes from now on fails, whatever its kind; n == 0 disarms.
 * While armed it alone decides for that thread's calls.  0, or -ESRCH when
 * tid is no thread of this process, -ENOSPC when 64 threads are armed.
 */
UIOMMU_API int uiommu_fail_nth_task(int tid, unsigned int n);
/* What is left of thread tid's count: 0 once its failure was injected (or
 * when it was never armed), as the kernel's file reads. */
UIOMMU_API unsigned int uiommu_fail_nth_task_get(int tid);

#define UIOMMU_FAIL_ALLOC (1u << 0) /* heap allocations */
#define UIOMMU_FAIL_FRAME (1u << 1) /* physical frame allocations */
#define UIOMMU_FAIL_PIN	  (1u << 2) /* page pins (get_user_pages) */

/* Small dense id of the calling thread, stable for its lifetime. */
UIOMMU_API unsigned int uiommu_cpu_id(void);
/* Pin the calling thread's id (tests and per-CPU benchmarks). */
UIOMMU_API void uiommu_set_cpu_id(unsigned int cpu);

#ifdef __cplusplus
}
#endif
#endif /* UIOMMU_BASE_H */
