// SPDX-License-Identifier: MIT
/*
 * Version, per-thread CPU ids and diagnostics.
 *
 * CPU ids are handed out round-robin to threads on their first call and kept
 * in a thread-local; per-CPU structures index by them.  Two threads may share
 * an id once more than UIOMMU_NR_CPUS threads exist, so per-CPU structures
 * still lock (as the kernel's do against preemption), but uncontended.
 */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

#ifndef UIOMMU_VERSION
#define UIOMMU_VERSION "0.0.0"
#endif

const char *uiommu_version(void)
{
	return UIOMMU_VERSION;
}

static _Atomic unsigned int next_cpu;
static __thread int this_cpu = -1;

unsigned int uiommu_cpu_id(void)
{
	if (unlikely(this_cpu < 0))
		this_cpu = atomic_fetch_add(&next_cpu, 1) % UIOMMU_NR_CPUS;
	return this_cpu;
}

void uiommu_set_cpu_id(unsigned int cpu)
{
	this_cpu = cpu % UIOMMU_NR_CPUS;
}

static void vlog(const char *level, const char *fmt, va_list ap)
{
	if (getenv("UIOMMU_QUIET"))
		return;
	fprintf(stderr, "uiommu: %s: ", level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void pr_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("warning", fmt, ap);
	va_end(ap);
}

void pr_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("error", fmt, ap);
	va_end(ap);
}
