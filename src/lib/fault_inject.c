// SPDX-License-Identifier: MIT
/*
 * Fault injection: fail the n-th injectable call.
 *
 * Data model: 'countdown' is the number of injectable calls left before the
 * one that fails (0: disarmed); 'fired' records that the failure was
 * delivered.  Both are atomics so that threaded tests may arm it too; the
 * disarmed fast path is one relaxed load.
 */
#include "internal.h"

static _Atomic unsigned long countdown;
static _Atomic unsigned int filter;
static _Atomic bool fired;

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

bool uiommu_should_fail(unsigned int kind)
{
	unsigned long left =
		atomic_load_explicit(&countdown, memory_order_relaxed);
	unsigned int f;

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
