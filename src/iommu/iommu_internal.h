/* SPDX-License-Identifier: MIT */
/*
 * What the files of the IOMMU layer (the core, the SMMUv3 driver, the DMA
 * API and the IOVA allocator) share and nobody else needs: the order of
 * their locks, and the one lookup that needs its caller to hold a lock.
 *
 * Lock order.  A thread takes these locks only in the order below (a lock
 * ranks above every lock it may be taken under).  The layer calls down
 * into hw, pgtable and mem, whose locks all rank higher, and is called
 * from vfio, whose locks rank lower.
 *
 *	iommu_core.lock		the group list and membership
 *	fault_param->lock	a device's fault handler (read while it runs)
 *	group->lock		a group's domain
 *	fault_param->pending_lock  a device's unanswered page requests
 *	cookie->msi_lock	an MSI cookie's window (maps under it)
 *	cookie->timer_lock	a flush queue's timer
 *	fq->lock		one flush-queue ring (flushes the IOTLB and
 *				frees IOVAs under it)
 *	smmu->lock		the SMMU driver's ids, masters and STE/CD
 *				updates (taken by attach under group->lock,
 *				and by a broken domain under fq->lock)
 *	smmu->gerror_lock	the driver's command-error state
 *	cpu_rcache->lock	one CPU's IOVA magazines
 *	rcache->lock		one depot of IOVA magazines
 *	iovad->iova_rbtree_lock	the IOVA tree
 *
 * Two of them are held across calls back up into vfio, against the
 * layers' order: iommu_group_for_each_dev() holds iommu_core.lock while
 * its callback (vfio's IOPF enable) registers a fault handler, which takes
 * fault_param->lock; and iommu_report_device_fault() holds
 * fault_param->lock (for reading) while the handler (vfio's IOPF handler)
 * takes vfio's transfer_lock (and, through the pin, mmap_lock and
 * iopf_lock).  vfio holds its container lock when it calls either.  So
 * these two rank in LOCK_RANK_FAULT (lib/lock.h): after the vfio locks
 * held when calling into the core, before the locks a fault handler takes.
 * Every other lock of the layer ranks from LOCK_RANK_IOMMU.
 */
#ifndef UIOMMU_IOMMU_INTERNAL_H
#define UIOMMU_IOMMU_INTERNAL_H

#include "lib/lock.h"

enum iommu_lock_rank {
	IOMMU_LOCK_CORE = LOCK_RANK_FAULT,
	IOMMU_LOCK_FAULT_PARAM,

	IOMMU_LOCK_GROUP = LOCK_RANK_IOMMU,
	IOMMU_LOCK_FAULT_PENDING,
	IOMMU_LOCK_DMA_MSI,
	IOMMU_LOCK_DMA_TIMER,
	IOMMU_LOCK_DMA_FQ,
	IOMMU_LOCK_SMMU,
	IOMMU_LOCK_SMMU_GERROR,
	IOMMU_LOCK_IOVA_CPU,
	IOMMU_LOCK_IOVA_DEPOT,
	IOMMU_LOCK_IOVA_TREE,
};

struct iova;
struct iova_domain;

/* The node of iovad's tree holding pfn, or NULL: find_iova() for a caller
 * that holds iovad->iova_rbtree_lock already (the tests call it without). */
struct iova *private_find_iova(struct iova_domain *iovad, unsigned long pfn);

#endif /* UIOMMU_IOMMU_INTERNAL_H */
