/* SPDX-License-Identifier: MIT */
/*
 * Page-table layer internals: its lock order.  The descriptors themselves
 * are changed lock free (src/pgtable/lpae.c); the only lock is a table's
 * cache of empty frames, taken by map and unmap under whatever lock the
 * caller holds (an iommu domain's, kvm's mmu_lock) and released before the
 * cache falls back to phys, so it is innermost in this layer and nests in
 * nothing of the memory layer.
 */
#ifndef UIOMMU_LPAE_INTERNAL_H
#define UIOMMU_LPAE_INTERNAL_H

#include "lib/lock.h"

enum pgtable_lock_rank {
	PGTABLE_LOCK_CACHE = LOCK_RANK_PGTABLE, /* lpae_pgtable: cache_lock */
};

#endif /* UIOMMU_LPAE_INTERNAL_H */
