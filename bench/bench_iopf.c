// SPDX-License-Identifier: MIT
/*
 * I/O page fault round trip at the IOMMU core: a stall-capable device
 * touches an unmapped page; the SMMU stalls the access and reports it; the
 * IOMMU core hands the page request to the device's fault handler, which
 * maps the page (iommu_map) and answers (iommu_page_response -> RESUME);
 * the device retries and completes.  Median ns per faulting access, with
 * the SMMU's queues handled inline and on their own threads.  This is the
 * floor under VFIO's IOPF handler, which also resolves and pins the page.
 *
 * The type1 round trip (seed 001): the same access to a page of a
 * VFIO_IOMMU_MAP_DMA mapping on a container with VFIO_IOMMU_ENABLE_IOPF:
 * type1's handler finds the vfio_dma, pins the page through mm, maps it
 * into the domain, sets its bit, unpins and answers; the device retries.
 * Between repetitions the mapping is removed and made again (UNMAP_DMA,
 * MAP_DMA), so every access faults again on the same, already populated
 * user pages (a discard would add the host's own page fault, ~10 us, to
 * refill the punched frame on first touch).
 *
 * The iommufd round trip: the same access by a device attached to a
 * fault-capable HWPT over an IOAS; the stall goes to the fault fd, where a
 * handler thread (user space's) waits in poll, reads, maps the page
 * with IOAS_MAP (pin, map, one page) and writes the response; the device
 * retries.  Beside type1's in-kernel handler this adds the hand-off to the
 * handler thread and back and three system calls' worth of copying
 * (docs/iommufd.md).  Between repetitions IOAS_UNMAP removes the pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "devices/sva.h"
#include "iommufd/iommufd.h"
#include "iommufd/iommufd_uapi.h"
#include "vfio/vfio.h"
#include "vfio/vfio_device.h"

#include "bench.h"

#define PAGES 256
#define IOVA  0x40000000UL

struct iopf_ctx {
	struct iommu_domain *domain;
	struct device *dev;
	phys_addr_t pool;
};

static int map_on_fault(struct iommu_fault *fault, void *data)
{
	struct iopf_ctx *c = data;
	unsigned long iova = fault->prm.addr & ~4095UL;
	struct iommu_page_response resp = {
		.grpid = fault->prm.grpid,
		.code = IOMMU_PAGE_RESP_SUCCESS,
	};

	if (iommu_map(c->domain, iova, c->pool + (iova - IOVA), 4096,
		      IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE))
		resp.code = IOMMU_PAGE_RESP_INVALID;
	return iommu_page_response(c->dev, &resp);
}

#define TYPE1_SIZE ((PAGES + 512UL) << 12) /* the type1 mapping */

/*
 * One repetition: the device writes a word to each of pages pages from
 * IOVA, each access faulting; *ns (unless NULL: the warm-up) is the time
 * per page.  0, or the first failed write's errno.
 */
static int touch_pages(struct sva_dev *s, unsigned int pages, double *ns)
{
	uint64_t t0 = bench_now_ns();
	uint32_t v = 1;
	int ret;

	for (unsigned int i = 0; i < pages; i++) {
		ret = endpoint_dma_write(sva_hw(s), IOVA + ((uint64_t)i << 12),
					 &v, 4);
		if (ret)
			return ret;
	}
	if (ns)
		*ns = (double)(bench_now_ns() - t0) / pages;
	return 0;
}

static double fault_roundtrip(bool threaded)
{
	struct platform_config cfg = {.smmu.threaded = threaded};
	unsigned int pages = bench_quick || threaded ? PAGES / 8 : PAGES;
	double *samples = calloc(bench_reps, sizeof(double)), med = 0;
	struct iopf_ctx c = {0};
	struct platform *p = NULL;
	struct sva_dev *s = NULL;

	if (!samples || platform_create(&cfg, &p) ||
	    sva_create(p, "sva0", 3, 0, &s))
		goto out;
	c.dev = sva_device(s);
	c.domain = iommu_domain_alloc(c.dev);
	if (!c.domain || iommu_attach_group(c.domain, iommu_group_get(c.dev)) ||
	    phys_alloc_pages(p->pm, 9, 0, PHYS_OWNER_KERNEL, &c.pool) ||
	    iommu_dev_enable_feature(c.dev, IOMMU_DEV_FEAT_IOPF) ||
	    iommu_register_device_fault_handler(c.dev, map_on_fault,
						FAULT_REPORT_FLAT, &c))
		goto out;
	/* the tables of the range exist: only leaves are faulted in */
	if (iommu_map(c.domain, IOVA + (PAGES << 12), c.pool, 4096, IOMMU_READ))
		goto out;
	for (int r = -1; r < bench_reps; r++) {
		if (touch_pages(s, pages, r >= 0 ? &samples[r] : NULL))
			goto out;
		iommu_unmap(c.domain, IOVA, (size_t)pages << 12);
	}
	med = bench_median(samples, bench_reps);
out:
	if (c.domain) {
		iommu_unregister_device_fault_handler(c.dev);
		iommu_dev_disable_feature(c.dev, IOMMU_DEV_FEAT_IOPF);
		iommu_unmap(c.domain, IOVA, (PAGES + 1UL) << 12);
		iommu_detach_group(c.domain, iommu_group_get(c.dev));
		iommu_domain_free(c.domain);
	}
	if (c.pool)
		phys_free_pages(p->pm, c.pool, 9);
	sva_destroy(s);
	platform_destroy(p);
	free(samples);
	return med;
}

static double type1_roundtrip(bool threaded)
{
	struct platform_config cfg = {.smmu.threaded = threaded};
	unsigned int pages = bench_quick || threaded ? PAGES / 8 : PAGES;
	double *samples = calloc(bench_reps, sizeof(double)), med = 0;
	struct vfio_iommu *c = NULL;
	struct platform *p = NULL;
	struct sva_dev *s = NULL;
	struct mm *mm = NULL;
	void *va = NULL;
	uint32_t v = 1;

	if (!samples || platform_create(&cfg, &p) ||
	    sva_create(p, "sva0", 3, 0, &s) || mm_create(p->pm, &mm))
		goto out;
	mm_set_cap_ipc_lock(mm, true);
	if (mm_mmap(mm, (size_t)(PAGES + 512) << 12, MM_MAP_POPULATE, &va) ||
	    vfio_iommu_type1_open(mm, VFIO_TYPE1v2_IOMMU, &c) ||
	    vfio_iommu_type1_attach_group(c, iommu_group_get(sva_device(s))) ||
	    vfio_iommu_type1_ioctl(c, VFIO_IOMMU_ENABLE_IOPF, 0))
		goto out;
	if (bench_type1_map(c, va, IOVA, TYPE1_SIZE))
		goto out;
	/* the tables of the range exist: only leaves are faulted in */
	if (endpoint_dma_write(sva_hw(s), IOVA + (PAGES << 12), &v, 4))
		goto out;
	for (int r = -1; r < bench_reps; r++) {
		if (touch_pages(s, pages, r >= 0 ? &samples[r] : NULL))
			goto out;
		if (bench_type1_unmap(c, IOVA, TYPE1_SIZE) ||
		    bench_type1_map(c, va, IOVA, TYPE1_SIZE))
			goto out;
		if (endpoint_dma_write(sva_hw(s), IOVA + (PAGES << 12), &v, 4))
			goto out;
	}
	med = bench_median(samples, bench_reps);
out:
	vfio_iommu_type1_release(c);
	mm_destroy(mm);
	sva_destroy(s);
	platform_destroy(p);
	free(samples);
	return med;
}

/* The handler thread's fault: the one at STOP_IOVA ends it. */
#define STOP_IOVA (IOVA + ((PAGES + 256UL) << 12))

struct ifd_ctx {
	int fd, ffd;
	uint32_t ioas;
	uint8_t *va;
	int error;
};

static int ifd_ioctl(int fd, unsigned long cmd, void *arg)
{
	return vfio_fops_ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

static int ifd_map(struct ifd_ctx *c, uint64_t iova, uint64_t len)
{
	struct iommu_ioas_map m = {
		.size = sizeof(m),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = c->ioas,
		.user_va = (uintptr_t)(c->va + (iova - IOVA)),
		.length = len,
		.iova = iova,
	};

	return ifd_ioctl(c->fd, IOMMU_IOAS_MAP, &m);
}

/* User space's handler: poll (the fault fd is readable while faults
 * wait; a read never waits), read, IOAS_MAP, the response. */
static void *ifd_handler(void *arg)
{
	struct ifd_ctx *c = arg;

	for (;;) {
		struct pollfd p = {.fd = c->ffd, .events = POLLIN};
		struct iommu_hwpt_pgfault rec;
		struct iommu_hwpt_page_response r = {0};
		uint64_t iova;

		if (poll(&p, 1, -1) != 1) {
			c->error = -errno;
			return NULL;
		}
		if (vfio_fops_read(c->ffd, &rec, sizeof(rec)) != sizeof(rec)) {
			c->error = -errno;
			return NULL;
		}
		iova = rec.addr & ~4095ULL;
		r.cookie = rec.cookie;
		r.code = iova != STOP_IOVA && !ifd_map(c, iova, 4096)
				 ? IOMMUFD_PAGE_RESP_SUCCESS
				 : IOMMUFD_PAGE_RESP_INVALID;
		if (vfio_fops_write(c->ffd, &r, sizeof(r)) != sizeof(r)) {
			c->error = -errno;
			return NULL;
		}
		if (iova == STOP_IOVA)
			return NULL;
	}
}

static double ifd_roundtrip(bool threaded)
{
	struct platform_config cfg = {.smmu.threaded = threaded};
	unsigned int pages = bench_quick || threaded ? PAGES / 8 : PAGES;
	double *samples = calloc(bench_reps, sizeof(double)), med = 0;
	struct iommu_ioas_alloc ia = {.size = sizeof(ia)};
	struct iommu_fault_alloc fa = {.size = sizeof(fa)};
	struct iommu_hwpt_alloc ha = {.size = sizeof(ha),
				      .flags = IOMMU_HWPT_FAULT_ID_VALID};
	struct ifd_ctx c = {.fd = -1, .ffd = -1};
	struct iommufd_device *idev = NULL;
	struct iommufd_ctx *ictx = NULL;
	struct platform *p = NULL;
	struct sva_dev *s = NULL;
	struct mm *mm = NULL;
	bool started = false;
	pthread_t thread;
	uint32_t dev_id, pt, v = 1;
	void *va;

	if (!samples || platform_create(&cfg, &p) ||
	    sva_create(p, "sva0", 3, 0, &s) || mm_create(p->pm, &mm))
		goto out;
	mm_set_cap_ipc_lock(mm, true);
	if (mm_mmap(mm, TYPE1_SIZE, MM_MAP_POPULATE, &va))
		goto out;
	c.va = va;
	c.fd = vfio_fops_open(mm, "/dev/iommu", O_RDWR);
	if (c.fd < 0 || iommufd_ctx_from_fd(c.fd, &ictx) ||
	    iommufd_device_bind(ictx, sva_device(s), &dev_id, &idev) ||
	    ifd_ioctl(c.fd, IOMMU_IOAS_ALLOC, &ia) ||
	    ifd_ioctl(c.fd, IOMMU_FAULT_QUEUE_ALLOC, &fa))
		goto out;
	c.ioas = ia.out_ioas_id;
	c.ffd = (int)fa.out_fault_fd;
	ha.dev_id = dev_id;
	ha.pt_id = c.ioas;
	ha.fault_id = fa.out_fault_id;
	if (ifd_ioctl(c.fd, IOMMU_HWPT_ALLOC, &ha))
		goto out;
	pt = ha.out_hwpt_id;
	if (iommufd_device_attach(idev, &pt) ||
	    pthread_create(&thread, NULL, ifd_handler, &c))
		goto out;
	started = true;
	/* the tables of the range exist: only leaves are faulted in */
	if (ifd_map(&c, IOVA + (PAGES << 12), 4096))
		goto out;
	for (int r = -1; r < bench_reps; r++) {
		struct iommu_ioas_unmap u = {.size = sizeof(u),
					     .ioas_id = c.ioas,
					     .iova = IOVA,
					     .length = (uint64_t)pages << 12};

		if (touch_pages(s, pages, r >= 0 ? &samples[r] : NULL) ||
		    ifd_ioctl(c.fd, IOMMU_IOAS_UNMAP, &u))
			goto out;
	}
	if (!c.error)
		med = bench_median(samples, bench_reps);
out:
	if (started) {
		/* the stop fault, answered INVALID: the write fails */
		endpoint_dma_write(sva_hw(s), STOP_IOVA, &v, 4);
		pthread_join(thread, NULL);
	}
	if (idev)
		iommufd_device_unbind(idev);
	if (ictx)
		iommufd_ctx_put(ictx);
	if (c.ffd >= 0)
		vfio_fops_close(c.ffd);
	if (c.fd >= 0)
		vfio_fops_close(c.fd);
	mm_destroy(mm);
	sva_destroy(s);
	platform_destroy(p);
	free(samples);
	return med;
}

static void bench_iopf(void)
{
	double inl = fault_roundtrip(false), thr = fault_roundtrip(true);
	double t1i = type1_roundtrip(false), t1t = type1_roundtrip(true);
	double ifi = ifd_roundtrip(false), ift = ifd_roundtrip(true);

	bench_report("iopf.core_roundtrip_inline", inl, "ns",
		     "stall -> handler maps -> RESUME -> retry, inline");
	bench_report("iopf.core_roundtrip_threaded", thr, "ns",
		     "the same with the SMMU's queue threads");
	bench_report("iopf.type1_roundtrip_inline", t1i, "ns",
		     "stall -> type1: find dma, pin, map, bit, unpin -> "
		     "RESUME -> retry (target <= 5000)");
	bench_report("iopf.type1_roundtrip_threaded", t1t, "ns",
		     "the same with the SMMU's queue threads");
	bench_report("iopf.iommufd_roundtrip_inline", ifi, "ns",
		     "stall -> fault fd -> user thread: read, IOAS_MAP, "
		     "write -> RESUME -> retry");
	bench_report("iopf.iommufd_roundtrip_threaded", ift, "ns",
		     "the same with the SMMU's queue threads");
	if (t1i > 0 && ifi > 0)
		bench_report("iopf.iommufd_vs_type1_inline", ifi / t1i, "x",
			     "the fault fd's round trip over type1's in-kernel "
			     "handler's");
}

BENCH_SUITE(iopf, bench_iopf)
