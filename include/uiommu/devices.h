/* SPDX-License-Identifier: MIT */
/*
 * uiommu workloads: device and driver models that scenarios run.
 *
 * A platform is the machine: physical memory, one emulated SMMU and its
 * driver.  The NVMe model is an NVMe-like block device (submission and
 * completion queues in memory, 4 KiB reads and writes DMAed by the device)
 * with its host driver on the DMA API: every I/O maps its buffer with
 * dma_map_page() and the completion unmaps it, which is where strict and
 * lazy invalidation differ (seed 004).
 */
#ifndef UIOMMU_DEVICES_H
#define UIOMMU_DEVICES_H

#include <uiommu/arm_smmu_v3.h>
#include <uiommu/dma.h>

#ifdef __cplusplus
extern "C" {
#endif

struct platform {
	struct phys_mem *pm;
	struct smmu *hw;
	struct arm_smmu_device *smmu;
	struct iommu_device *iommu;
};

struct platform_config {
	uint64_t mem_size;	 /* bytes of physical memory (1 GiB) */
	struct smmu_config smmu; /* zero fields: the SMMU's defaults */
};

UIOMMU_API int platform_create(const struct platform_config *cfg,
			       struct platform **out);
UIOMMU_API void platform_destroy(struct platform *p);

/* ---- the DMA-engine device (docs/dmaengine.md) ---------------------------- */

struct vfio_device;

/* A memcpy engine with stream id sid on p's SMMU, probed into the IOMMU
 * group of group_tag (iommu_probe_device), ready to register with VFIO. */
UIOMMU_API int dmaengine_create(struct platform *p, const char *name,
				uint32_t sid, unsigned int group_tag,
				unsigned int fw_flags,
				struct vfio_device **out);
UIOMMU_API void dmaengine_destroy(struct vfio_device *vdev);

/* ---- NVMe --------------------------------------------------------------------- */

enum nvme_dma_mode {
	NVME_DMA_STRICT,      /* IOMMU_DOMAIN_DMA */
	NVME_DMA_LAZY,	      /* IOMMU_DOMAIN_DMA_FQ, per-CPU queues */
	NVME_DMA_LAZY_SINGLE, /* IOMMU_DOMAIN_DMA_FQ, one queue */
};

struct nvme_config {
	enum nvme_dma_mode mode;
	unsigned int threads;  /* I/O queue pairs, one thread each (1) */
	unsigned int qdepth;   /* commands per doorbell (32) */
	uint64_t ios;	       /* I/Os in all (100000) */
	unsigned int read_pct; /* % reads (70) */
	uint64_t ns_bytes;     /* namespace size (64 MiB) */
	uint64_t seed;	       /* LBA sequence (1) */
	bool fq_timer;	       /* lazy: also flush on the timer; off keeps
				    * counts deterministic */
	/* a second device in the same domain keeps using each unmapped
	 * IOVA, one at a time, to measure the stale-IOTLB window */
	bool probe_stale;
	void (*progress)(uint64_t done, uint64_t total, void *arg);
	void *progress_arg;
};

struct nvme_result {
	uint64_t ios, reads, writes;
	double seconds;
	double iops; /* the emulator's own, on this machine */
	uint64_t maps, unmaps;
	uint64_t tlbis, syncs, flush_all;
	uint64_t iotlb_hits, iotlb_misses, walks;
	uint64_t iova_hits, iova_misses;
	uint64_t dma_errors;  /* device DMAs that failed (must be 0) */
	uint64_t data_errors; /* failed I/Os and reads whose data did not
			       * match (must be 0) */
	/* probe_stale */
	uint64_t stale_accesses;   /* probe accesses that succeeded after the
				    * unmap returned (one per I/O completed
				    * while the entry stayed usable) */
	uint64_t stale_windows;	   /* unmapped IOVAs found still usable */
	uint64_t max_stale_window; /* longest window, in I/Os */
	uint64_t probed;	   /* unmapped IOVAs tracked */
};

/* Build the device and driver on a platform, run, tear down. */
UIOMMU_API int nvme_run(struct platform *p, const struct nvme_config *cfg,
			struct nvme_result *res);

#ifdef __cplusplus
}
#endif
#endif /* UIOMMU_DEVICES_H */
