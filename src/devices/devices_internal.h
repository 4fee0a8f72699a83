/* SPDX-License-Identifier: MIT */
/*
 * The workload layer's internal header: the order of its locks.
 *
 * Each device model has one lock class, and no two of them nest: a thread
 * holds at most one of them, then calls down into the layers below (the
 * SMMU model's DMA, the VFIO container's pins).  Two of them are also
 * taken from below, which places them inside the VFIO layer's order:
 *  - dmaengine.regs_lock is taken under the VFIO core's file lock, whose
 *    last close resets the engine (close_device), and is held across the
 *    engine's DMA, whose stall faults reach type1's fault handler through
 *    the SMMU driver in the same thread on an unthreaded SMMU;
 *  - mdev.cache_lock is taken in the dma_unmap callback under type1's
 *    device list lock, and held across the container's pin and unpin.
 * So both rank at LOCK_RANK_VFIO_DRIVER (lib/lock.h), after those VFIO
 * locks and before the container's; NVMe's stripes, never taken from
 * VFIO, rank in the layer's own span.
 */
#ifndef UIOMMU_DEVICES_INTERNAL_H
#define UIOMMU_DEVICES_INTERNAL_H

#include "lib/lock.h"

enum devices_lock_rank {
	DEVICES_LOCK_DMAENGINE_REGS = LOCK_RANK_VFIO_DRIVER,
	DEVICES_LOCK_MDEV_CACHE = LOCK_RANK_VFIO_DRIVER + 1,
	/* ioat.lock: taken in vfio-pci's reset and BAR accesses under its
	 * igate (VFIO_LOCK_PCI_IGATE, + 4) and its memory lock (igate + 2,
	 * + 6), and held across the channel's DMA, whose stall faults reach
	 * type1 (the container lock, + 8) */
	DEVICES_LOCK_IOAT = LOCK_RANK_VFIO_DRIVER + 7,
	DEVICES_LOCK_NVME_NS =
		LOCK_RANK_DEVICES, /* nvme_ctrl.ns_lock[]: one block's stripe */
};

#endif /* UIOMMU_DEVICES_INTERNAL_H */
