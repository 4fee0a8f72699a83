/* SPDX-License-Identifier: MIT */
/*
 * uiommu DMA API over an IOMMU (the kernel's dma-iommu): a DMA domain has
 * an IOVA cookie (an IOVA allocator, or a fixed MSI window), and drivers map
 * pages and scatter lists with dma_map_page() / dma_map_sg().
 *
 * Strict domains unmap, invalidate (TLBI + CMD_SYNC) and only then free
 * the IOVA.  Lazy domains (IOMMU_DOMAIN_DMA_FQ) put the IOVA in a flush
 * queue instead: when a queue fills, or its timer fires, one domain-wide
 * invalidation covers the whole batch and only then are the IOVAs freed, so
 * an IOVA is never handed out again before the invalidation that covers it
 * has completed.  The price is a window in which the IOTLB may still
 * translate an unmapped IOVA (its page-table entry is gone at once, the
 * cached translation stays until the queue flushes): memory the caller
 * frees after dma_unmap_page() is not protected, and the DMA layer does not
 * defer that free.
 */
#ifndef UIOMMU_DMA_H
#define UIOMMU_DMA_H

#include "iommu/iommu.h"
#include "iommu/iova.h"

#ifdef __cplusplus
extern "C" {
#endif

enum dma_data_direction {
	DMA_BIDIRECTIONAL = 0,
	DMA_TO_DEVICE = 1,
	DMA_FROM_DEVICE = 2,
	DMA_NONE = 3,
};

#define DMA_MAPPING_ERROR (~(dma_addr_t)0)

/* Flush queue defaults (the kernel's). */
#define IOVA_FQ_SIZE	       256   /* entries per CPU */
#define IOVA_FQ_TIMEOUT	       10    /* ms */
#define IOVA_SINGLE_FQ_SIZE    32768 /* entries, single-queue mode */
#define IOVA_SINGLE_FQ_TIMEOUT 1000  /* ms */

struct iommu_dma_options {
	bool single_queue;    /* one shared queue instead of per-CPU ones */
	unsigned int fq_size; /* 0: the mode's default */
	/* ms; 0: the mode's default; IOMMU_DMA_FQ_NO_TIMER: flush only when a
	 * queue is full (deterministic counts) */
	unsigned int fq_timeout_ms;
};

#define IOMMU_DMA_FQ_NO_TIMER (~0u)

enum iommu_dma_cookie_type {
	IOMMU_DMA_IOVA_COOKIE,
	IOMMU_DMA_MSI_COOKIE,
};

/* Attach a cookie to a domain: -EEXIST if it has one, -ENOMEM. */
int iommu_get_dma_cookie(struct iommu_domain *domain);
int iommu_get_msi_cookie(struct iommu_domain *domain, dma_addr_t base);
/* Flush what is queued, stop the timer, free the cookie. */
void iommu_put_dma_cookie(struct iommu_domain *domain);

/*
 * Set up the IOVA space of a DMA domain for dev: the allocator over
 * [base, base + size) within the aperture, the device's reserved regions
 * kept out of it, and, for a lazy domain, the flush queue (whose flush
 * invalidates the whole domain).  -EINVAL for a lazy domain whose driver
 * cannot flush its IOTLB (the kernel's BUG_ON) or a domain without an IOVA cookie.
 */
int iommu_dma_init_domain(struct iommu_domain *domain, dma_addr_t base,
			  uint64_t size, struct device *dev,
			  const struct iommu_dma_options *opts);

/*
 * The whole setup a bus does for a DMA-API device: allocate a DMA domain
 * (DMA_FQ when lazy; strict if the driver can only do strict), its cookie, its
 * IOVA space, and attach dev's group.  iommu_dma_domain_destroy() undoes it.
 */
int iommu_dma_domain_create(struct device *dev, bool lazy,
			    const struct iommu_dma_options *opts,
			    struct iommu_domain **out);
void iommu_dma_domain_destroy(struct device *dev, struct iommu_domain *domain);

/* Map len bytes at phys for DMA by dev; DMA_MAPPING_ERROR on failure. */
dma_addr_t dma_map_page(struct device *dev, phys_addr_t phys, size_t len,
			enum dma_data_direction dir);
void dma_unmap_page(struct device *dev, dma_addr_t addr, size_t len,
		    enum dma_data_direction dir);

struct scatterlist {
	phys_addr_t phys;
	unsigned int length;
	dma_addr_t dma_address; /* set by dma_map_sg */
	unsigned int dma_length;
};

/* Map a list into one contiguous IOVA range; returns nents, 0 on error. */
int dma_map_sg(struct device *dev, struct scatterlist *sg, int nents,
	       enum dma_data_direction dir);
void dma_unmap_sg(struct device *dev, struct scatterlist *sg, int nents,
		  enum dma_data_direction dir);

/* The MSI cookie's doorbell mapping (iommu_dma_get_msi_page): maps one
 * page at the next address of the MSI window. */
dma_addr_t iommu_dma_map_msi(struct iommu_domain *domain, phys_addr_t doorbell);
void iommu_dma_unmap_msi(struct iommu_domain *domain, dma_addr_t iova);

/* Flush every queue now (one invalidation, then all queued IOVAs freed). */
void iommu_dma_flush_queues(struct iommu_domain *domain);

struct iommu_dma_stats {
	uint64_t maps, unmaps; /* dma_map_*, dma_unmap_* calls */
	uint64_t map_errors;
	uint64_t tlbis, syncs;		 /* of the domain */
	uint64_t flush_all;		 /* domain-wide invalidations */
	uint64_t iova_hits, iova_misses; /* IOVA rcache */
	uint64_t fq_queued;		 /* IOVAs put in a flush queue */
	uint64_t fq_freed;		 /* IOVAs freed from a flush queue */
	uint64_t fq_flush_full;		 /* flushes because a queue was full */
	uint64_t fq_flush_timer;	 /* flushes by the timer */
	uint64_t fq_pending;		 /* IOVAs queued now */
	bool lazy;
	enum iommu_dma_cookie_type cookie;
	/* iommu_domain_error(): -EIO once an invalidation did not complete
	 * (the domain's DMA is blocked, dma_map_* fail from then on) */
	int error;
};

int iommu_dma_get_stats(struct iommu_domain *domain,
			struct iommu_dma_stats *st);

#ifdef __cplusplus
}
#endif
#endif /* UIOMMU_DMA_H */
