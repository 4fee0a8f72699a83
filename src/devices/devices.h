/* SPDX-License-Identifier: MIT */
/*
 * uiommu workloads: device and driver models that scenarios run
 * (src/devices/).
 *
 * A platform is where a device model sits: physical memory, one emulated
 * SMMU and the driver probed on it.  The system layer's machine builder
 * (src/system/machine.c) makes them: platform_create() builds a machine of
 * one SMMU and no devices and returns its platform.  Each model puts its
 * devices behind the SMMU through the bus (src/iommu/bus.h).
 *
 * The NVMe model is an NVMe-like block device (submission and completion
 * queues in memory, 4 KiB reads and writes DMAed by the device) with its
 * host driver on the DMA API: every I/O maps its buffer with dma_map_page()
 * and the completion unmaps it, which is where strict and lazy
 * invalidation differ (seed 004).
 */
#ifndef UIOMMU_DEVICES_H
#define UIOMMU_DEVICES_H

#include "iommu/arm_smmu_v3.h"
#include "iommu/dma.h"

#ifdef __cplusplus
extern "C" {
#endif

struct machine;

struct platform {
	struct phys_mem *pm;
	struct smmu *hw;
	struct arm_smmu_device *smmu;
	struct iommu_device *iommu;
	struct machine *machine; /* the machine it belongs to (src/system) */
};

struct platform_config {
	uint64_t mem_size;	 /* bytes of physical memory (1 GiB) */
	struct smmu_config smmu; /* zero fields: the SMMU's defaults */
};

/* Build a one-SMMU machine (src/system/machine.c); 0 or a negative errno. */
int platform_create(const struct platform_config *cfg, struct platform **out);
/* Add an SMMU (hw NULL: the model's defaults) with its driver (drv NULL:
 * the driver's defaults) to the machine of p, any platform of it; *out is
 * the new SMMU's platform, on the same memory, which platform_destroy()
 * of the machine tears down.  0, -ENOSPC past 8 SMMUs, or an errno of
 * the model or driver. */
int platform_add_iommu(struct platform *p, const struct smmu_config *hw,
		       const struct arm_smmu_options *drv,
		       struct platform **out);
/* Tear down the machine of p, any of its platforms (NULL: nothing). */
void platform_destroy(struct platform *p);

/* ---- the DMA-engine device (docs/dmaengine.md) ---------------------------- */

struct vfio_device;

/* A memcpy engine with stream id sid on p's SMMU, probed into the IOMMU
 * group of group_tag (iommu_probe_device), ready to register with VFIO. */
int dmaengine_create(struct platform *p, const char *name, uint32_t sid,
		     unsigned int group_tag, unsigned int fw_flags,
		     struct vfio_device **out);
void dmaengine_destroy(struct vfio_device *vdev);

/* ---- the Intel I/OAT (docs/ioat.md) ------------------------------------- */

struct pci_function;

/*
 * A Crystal Beach DMA 3.3 engine (PCI 8086:2021) at PCI address bdf
 * ("0000:00:04.0", also its VFIO device's name) on stream sid of p's SMMU,
 * probed into the IOMMU group of group_tag, its channel run inline by the
 * doorbell write or (threaded) by a thread of its own.
 */
struct ioat_config {
	const char *bdf;
	uint32_t sid;
	unsigned int group_tag;
	unsigned int fw_flags; /* DEVICE_FW_* */
	bool threaded;
};

struct ioat_stats {
	uint64_t reg_reads, reg_writes; /* BAR0 register accesses (pread/
					 * pwrite and trapped loads/stores) */
	uint64_t doorbells;		/* DMACOUNT writes */
	uint64_t descriptors;		/* run to completion */
	uint64_t copies, fills, nulls;
	uint64_t bytes;	      /* copied or filled */
	uint64_t completions; /* completion write-backs */
	uint64_t errors;      /* halts on an error */
	uint64_t aborts, resets;
	uint64_t irqs_sent;	/* MSI-X messages the PCI layer delivered */
	uint64_t irqs_held;	/* raised but held or dropped by the PCI layer
				 * (vector or function masked, MSI-X or bus
				 * mastering off) */
	uint64_t irqs_disabled; /* raised with INTRCTRL's master enable off */
	uint64_t irqs_unarmed;	/* asked for without CHANCTRL.INT_REARM */
};

/* 0, -EINVAL (no cfg or bdf, a bdf too long for a VFIO name), -ENOMEM,
 * or an errno of the bus, PCI or vfio-pci layers, with nothing left. */
int ioat_create(struct platform *p, const struct ioat_config *cfg,
		struct vfio_device **out);
/* Once unregistered from VFIO (NULL: nothing). */
void ioat_destroy(struct vfio_device *vdev);
struct pci_function *ioat_function(struct vfio_device *vdev);
void ioat_get_stats(struct vfio_device *vdev, struct ioat_stats *st);
/* No descriptor is queued to run and no reset is pending (threaded mode:
 * the thread has caught up). */
bool ioat_idle(struct vfio_device *vdev);

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
int nvme_run(struct platform *p, const struct nvme_config *cfg,
	     struct nvme_result *res);

/* ---- mediated devices that pin (seed 002, docs/devices.md) ---------------- */

/*
 * A mediated device's driver: it pins guest pages through the container
 * (vfio_iommu_type1_device_pin_pages), keeps them in a cache keyed by IOVA
 * page, "DMAs" through the CPU to the pinned frames, and answers
 * VFIO_IOMMU_UNMAP_DMA's dma_unmap(iova, length) callback as one of three
 * drivers of the seed does:
 *  - MDEV_GVT: the correct contract (GVT-g): under its cache lock, walk
 *    every page from iova to iova + length, halt and unpin each one it has.
 *  - MDEV_CCW: vfio-ccw's bug: only checks whether the range's first IOVA
 *    is pinned; if it is, resets the device (unpins everything), otherwise
 *    does nothing.
 *  - MDEV_AP: vfio-ap's bug: unpins one page at the range's first IOVA,
 *    whether or not it pinned it.
 */
enum mdev_model {
	MDEV_GVT,
	MDEV_CCW,
	MDEV_AP,
};

struct mdev;
struct vfio_iommu;
struct iommu_group;

struct mdev_stats {
	uint64_t pinned;      /* pages in its cache now */
	uint64_t unmap_calls; /* dma_unmap callbacks received */
	uint64_t unpinned;    /* pages it unpinned from callbacks */
	uint64_t resets;      /* device resets (ccw) */
	uint64_t dma_refused; /* accesses to pages it does not hold */
	uint64_t holder_refs; /* references type1 says it holds */
};

const char *mdev_model_name(enum mdev_model model);
/* Create the driver of model on container iommu, for group (attached to
 * the container, usually as an emulated group), and register it. */
int mdev_create(struct phys_mem *pm, struct vfio_iommu *iommu,
		struct iommu_group *group, enum mdev_model model,
		const char *name, struct mdev **out);
/* Reset (unpin everything it holds), unregister, free. */
void mdev_destroy(struct mdev *m);
/* Pin npage pages from iova (each page once in its cache: a page it
 * already holds is not pinned again). */
int mdev_pin(struct mdev *m, uint64_t iova, int npage, int prot);
/* Unpin one page it holds (-ENOENT if it holds none there). */
int mdev_unpin(struct mdev *m, uint64_t iova);
/* The device's emulated DMA: through the CPU to a page it holds pinned;
 * -EFAULT for a page it does not hold (halted, or never pinned). */
int mdev_dma_rw(struct mdev *m, uint64_t iova, void *buf, size_t len,
		bool write);
/* Reset the device: unpin everything it holds (what ccw does). */
void mdev_reset(struct mdev *m);
void mdev_get_stats(struct mdev *m, struct mdev_stats *st);

#ifdef __cplusplus
}
#endif
#endif /* UIOMMU_DEVICES_H */
