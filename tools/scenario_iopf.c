// SPDX-License-Identifier: MIT
/*
 * Scenario "iopf": seed 001's experiment (UADK hisi_sec_test on a
 * Kunpeng 920 accelerator passed to a VM), rebuilt on the emulated stack.
 * An SVA accelerator that can stall sends `times` messages of msg_len
 * bytes, each read from a source buffer and written to a destination
 * buffer in the process's memory, which the process maps for DMA through a
 * type1 container (two VFIO_IOMMU_MAP_DMA mappings, one per buffer).
 *
 *  - pinned: static pinning, as without the series: MAP_DMA pins and maps
 *    everything before the device starts.
 *  - iopf: VFIO_IOMMU_ENABLE_IOPF first; MAP_DMA pins nothing, each first
 *    access to a page stalls, type1's handler pins, maps (premap pages from
 *    the faulting one) and answers, the device retries.
 *  - iommufd: the same experiment through /dev/iommu: an IOAS, a
 *    fault-capable HWPT over it (IOMMU_FAULT_QUEUE_ALLOC, HWPT_ALLOC with
 *    FAULT_ID_VALID) the device is bound and attached to, and a handler
 *    thread in "user space" that polls the fault fd, reads the faults,
 *    maps each faulting page (and the same premap window type1 maps)
 *    with IOAS_MAP and writes the response; the device retries.  Its
 *    fault count must equal type1's (the run fails otherwise); its time
 *    adds a hand-off between threads per fault (docs/iommufd.md).
 *
 * For msg_len 1 MiB with pre-map 1 and 10 MiB with pre-map 512, and times
 * 1, 100 and 1000, the table gives the faults (the SMMU's stall count,
 * exact and deterministic with the inline SMMU) and the slowdown of the
 * IOPF run against the pinned run (1 - t_pinned / t_iopf, the seed's
 * "speed loss"; only the device's work is timed, not the mapping), beside
 * the seed's published figures.  docs/vfio.md explains why the counts
 * differ.  --ios N scales `times` down to at most N (quick runs).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices/sva.h"
#include "iommufd/iommufd.h"
#include "iommufd/iommufd_uapi.h"
#include "vfio/vfio.h"
#include "vfio/vfio_device.h"

#include "scenarios.h"

#define IOVA_SRC 0x10000000ULL
#define IOVA_DST 0x40000000ULL

struct iopf_cfg {
	uint64_t msg_len;
	unsigned int premap;
	unsigned int times;
	/* seed 001.3 (VFIO IOPF column) */
	double seed_slowdown;
	unsigned int seed_faults;
};

static const struct iopf_cfg cfgs[] = {
	{1ULL << 20, 1, 1, 63.4, 518},	  {1ULL << 20, 1, 100, 22.9, 1058},
	{1ULL << 20, 1, 1000, 2.6, 1071}, {10ULL << 20, 512, 1, 32.6, 13},
	{10ULL << 20, 512, 100, 3.5, 26}, {10ULL << 20, 512, 1000, 1.6, 26},
};

struct iopf_out {
	double seconds;
	uint64_t faults, mapped_pages;
	bool ok;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int map(struct vfio_iommu *c, uint64_t iova, void *va, uint64_t len)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)va,
		.iova = iova,
		.size = len,
	};

	return (int)vfio_iommu_type1_ioctl(c, VFIO_IOMMU_MAP_DMA,
					   (unsigned long)&m);
}

/* One run on a fresh address space and container. */
static int run_one(struct platform *p, struct sva_dev *s,
		   const struct iopf_cfg *cfg, unsigned int times, bool iopf,
		   struct iopf_out *out)
{
	struct vfio_iommu_type1_stats st;
	struct vfio_iommu *c = NULL;
	struct sva_result res;
	void *src, *dst;
	struct mm *mm;
	double t0;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = mm_create(p->pm, &mm);
	if (ret)
		return ret;
	mm_set_cap_ipc_lock(mm, true);
	ret = mm_mmap(mm, cfg->msg_len, MM_MAP_POPULATE, &src);
	if (!ret)
		ret = mm_mmap(mm, cfg->msg_len, MM_MAP_POPULATE, &dst);
	if (!ret)
		ret = vfio_iommu_type1_open(mm, VFIO_TYPE1v2_IOMMU, &c);
	if (!ret)
		ret = vfio_iommu_type1_attach_group(
			c, iommu_group_get(sva_device(s)));
	if (!ret && iopf) {
		ret = (int)vfio_iommu_type1_ioctl(c, VFIO_IOMMU_ENABLE_IOPF, 0);
		if (!ret)
			ret = vfio_iommu_type1_set_iopf_premap(c, cfg->premap);
	}
	if (!ret)
		ret = map(c, IOVA_SRC, src, cfg->msg_len);
	if (!ret)
		ret = map(c, IOVA_DST, dst, cfg->msg_len);
	if (ret)
		goto out;
	memset(src, 0x5a, cfg->msg_len);
	t0 = now_s();
	ret = sva_run(s, IOVA_SRC, IOVA_DST, cfg->msg_len, times, &res);
	out->seconds = now_s() - t0;
	if (ret)
		goto out;
	vfio_iommu_type1_get_stats(c, &st);
	out->faults = res.faults;
	out->mapped_pages = st.iopf_mapped_pages;
	out->ok = !memcmp(src, dst, cfg->msg_len);
	if (iopf && vfio_iommu_type1_iopf_check(c, stderr))
		out->ok = false;
out:
	vfio_iommu_type1_release(c);
	mm_destroy(mm);
	return ret;
}

/* ---- the iommufd path: a user-space handler on the fault fd ---- */

#define PAGE 4096ULL

struct ifd_buf {
	uint64_t iova;
	uint8_t *va;
	uint64_t pages;
	uint8_t *mapped; /* per page: IOAS_MAP'd (the handler's only) */
};

struct ifd_handler {
	int fd, ffd;
	uint32_t ioas;
	unsigned int premap;
	struct ifd_buf buf[2];
	atomic_bool stop;
	uint64_t faults, mapped_pages;
	int error;
};

static int ifd_ioctl(int fd, unsigned long cmd, void *arg)
{
	return vfio_fops_ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

/*
 * Resolve one fault as type1's handler would: the faulting page and up to
 * premap - 1 following pages of the same buffer not mapped yet, in one
 * IOAS_MAP.  IOMMUFD_PAGE_RESP_SUCCESS, or INVALID outside the buffers.
 */
static uint32_t ifd_resolve(struct ifd_handler *h, uint64_t addr)
{
	for (int b = 0; b < 2; b++) {
		struct ifd_buf *buf = &h->buf[b];
		uint64_t i, n;

		if (addr < buf->iova || addr >= buf->iova + buf->pages * PAGE)
			continue;
		i = (addr - buf->iova) / PAGE;
		if (buf->mapped[i])
			return IOMMUFD_PAGE_RESP_SUCCESS; /* raced: mapped */
		for (n = 1;
		     n < h->premap && i + n < buf->pages && !buf->mapped[i + n];
		     n++)
			;
		{
			struct iommu_ioas_map m = {
				.size = sizeof(m),
				.flags = IOMMU_IOAS_MAP_FIXED_IOVA |
					 IOMMU_IOAS_MAP_READABLE |
					 IOMMU_IOAS_MAP_WRITEABLE,
				.ioas_id = h->ioas,
				.user_va = (uintptr_t)(buf->va + i * PAGE),
				.length = n * PAGE,
				.iova = buf->iova + i * PAGE,
			};

			if (ifd_ioctl(h->fd, IOMMU_IOAS_MAP, &m))
				return IOMMUFD_PAGE_RESP_INVALID;
		}
		memset(buf->mapped + i, 1, n);
		h->mapped_pages += n;
		return IOMMUFD_PAGE_RESP_SUCCESS;
	}
	return IOMMUFD_PAGE_RESP_INVALID;
}

/* poll the fault fd, read what waits, resolve, answer; until stop. */
static void *ifd_handler_thread(void *arg)
{
	struct ifd_handler *h = arg;
	struct iommu_hwpt_pgfault rec[16];

	while (!atomic_load(&h->stop)) {
		struct pollfd p = {.fd = h->ffd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 20) != 1)
			continue;
		n = vfio_fops_read(h->ffd, rec, sizeof(rec));
		if (n < 0) {
			if (errno == EAGAIN)
				continue;
			h->error = -errno;
			return NULL;
		}
		for (ssize_t i = 0; i < n / (ssize_t)sizeof(rec[0]); i++) {
			struct iommu_hwpt_page_response r = {
				.cookie = rec[i].cookie,
				.code = ifd_resolve(h, rec[i].addr),
			};

			h->faults++;
			if (vfio_fops_write(h->ffd, &r, sizeof(r)) !=
			    sizeof(r)) {
				h->error = -errno;
				return NULL;
			}
		}
	}
	return NULL;
}

/* The iommufd run: IOAS, fault queue, fault-capable HWPT, the handler. */
static int run_one_iommufd(struct platform *p, struct sva_dev *s,
			   const struct iopf_cfg *cfg, unsigned int times,
			   struct iopf_out *out)
{
	struct ifd_handler h = {.fd = -1, .ffd = -1, .premap = cfg->premap};
	struct iommu_ioas_alloc ia = {.size = sizeof(ia)};
	struct iommu_fault_alloc fa = {.size = sizeof(fa)};
	struct iommu_hwpt_alloc ha = {.size = sizeof(ha),
				      .flags = IOMMU_HWPT_FAULT_ID_VALID};
	struct iommufd_device *idev = NULL;
	struct iommufd_ctx *ictx = NULL;
	bool started = false;
	struct sva_result res;
	pthread_t thread;
	void *src, *dst;
	struct mm *mm;
	uint32_t dev_id, pt;
	double t0;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = mm_create(p->pm, &mm);
	if (ret)
		return ret;
	mm_set_cap_ipc_lock(mm, true);
	ret = mm_mmap(mm, cfg->msg_len, MM_MAP_POPULATE, &src);
	if (!ret)
		ret = mm_mmap(mm, cfg->msg_len, MM_MAP_POPULATE, &dst);
	if (ret)
		goto out;
	for (int b = 0; b < 2; b++) {
		h.buf[b].iova = b ? IOVA_DST : IOVA_SRC;
		h.buf[b].va = b ? dst : src;
		h.buf[b].pages = cfg->msg_len / PAGE;
		h.buf[b].mapped = calloc(h.buf[b].pages, 1);
		if (!h.buf[b].mapped) {
			ret = -ENOMEM;
			goto out;
		}
	}
	h.fd = vfio_fops_open(mm, "/dev/iommu", O_RDWR);
	if (h.fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = iommufd_ctx_from_fd(h.fd, &ictx);
	if (!ret)
		ret = iommufd_device_bind(ictx, sva_device(s), &dev_id, &idev);
	if (!ret)
		ret = ifd_ioctl(h.fd, IOMMU_IOAS_ALLOC, &ia);
	if (!ret)
		ret = ifd_ioctl(h.fd, IOMMU_FAULT_QUEUE_ALLOC, &fa);
	if (ret)
		goto out;
	h.ioas = ia.out_ioas_id;
	h.ffd = (int)fa.out_fault_fd;
	ha.dev_id = dev_id;
	ha.pt_id = h.ioas;
	ha.fault_id = fa.out_fault_id;
	ret = ifd_ioctl(h.fd, IOMMU_HWPT_ALLOC, &ha);
	if (ret)
		goto out;
	pt = ha.out_hwpt_id;
	ret = iommufd_device_attach(idev, &pt);
	if (ret)
		goto out;
	if (fcntl(h.ffd, F_SETFL, fcntl(h.ffd, F_GETFL) | O_NONBLOCK)) {
		ret = -errno;
		goto out;
	}
	ret = pthread_create(&thread, NULL, ifd_handler_thread, &h);
	if (ret) {
		ret = -ret;
		goto out;
	}
	started = true;
	memset(src, 0x5a, cfg->msg_len);
	t0 = now_s();
	ret = sva_run(s, IOVA_SRC, IOVA_DST, cfg->msg_len, times, &res);
	out->seconds = now_s() - t0;
	if (ret)
		goto out;
	out->faults = res.faults;
	out->ok = !memcmp(src, dst, cfg->msg_len);
out:
	if (started) {
		atomic_store(&h.stop, true);
		pthread_join(thread, NULL);
		out->mapped_pages = h.mapped_pages;
		if (h.error) {
			fprintf(stderr, "iopf: iommufd handler: %d\n", h.error);
			out->ok = false;
		}
		/* every fault the device saw was the handler's */
		if (h.faults != out->faults)
			out->ok = false;
	}
	if (idev)
		iommufd_device_unbind(idev);
	if (ictx)
		iommufd_ctx_put(ictx);
	if (h.ffd >= 0)
		vfio_fops_close(h.ffd);
	if (h.fd >= 0)
		vfio_fops_close(h.fd);
	free(h.buf[0].mapped);
	free(h.buf[1].mapped);
	mm_destroy(mm);
	return ret;
}

static int iopf_run(struct scenario_ctx *ctx)
{
	struct platform_config pcfg = {.mem_size = 1ULL << 30};
	json_t *rows = json_array();
	struct platform *p = NULL;
	struct sva_dev *s = NULL;
	int ret, failed = 0;

	ret = platform_create(&pcfg, &p);
	if (!ret)
		ret = sva_create(p, "sec0", 4, 0, &s);
	if (ret) {
		fprintf(stderr, "iopf: platform: %d\n", ret);
		platform_destroy(p);
		json_decref(rows);
		return 1;
	}
	printf("iopf: an SVA accelerator sends `times` messages (read msg_len "
	       "from src, write it to dst)\n"
	       "      through a type1 container, statically pinned vs I/O page "
	       "faults (inline SMMU),\n"
	       "      and through iommufd (a fault-capable HWPT, the faults "
	       "handled by a user-space thread\n"
	       "      on the fault fd)\n\n");
	printf("  %-8s %-7s %6s | %8s %9s | %9s %9s | %9s %9s | %8s %9s "
	       "%9s\n",
	       "msg_len", "premap", "times", "faults", "slowdown", "seed flt",
	       "seed slow", "pinned s", "iopf s", "ifd flt", "ifd slow",
	       "ifd s");
	for (size_t i = 0; i < sizeof(cfgs) / sizeof(cfgs[0]); i++) {
		const struct iopf_cfg *cfg = &cfgs[i];
		unsigned int times = cfg->times;
		struct iopf_out pin, io, ifd;
		double slow, ifd_slow;

		if (ctx->ios && times > ctx->ios)
			times = (unsigned int)ctx->ios;
		ret = run_one(p, s, cfg, times, false, &pin);
		if (!ret)
			ret = run_one(p, s, cfg, times, true, &io);
		if (!ret)
			ret = run_one_iommufd(p, s, cfg, times, &ifd);
		if (ret || !pin.ok || !io.ok || !ifd.ok) {
			fprintf(stderr, "iopf: run %zu failed: %d\n", i, ret);
			failed = 1;
			continue;
		}
		if (ifd.faults != io.faults ||
		    ifd.mapped_pages != io.mapped_pages) {
			fprintf(stderr,
				"iopf: run %zu: iommufd %llu faults, %llu "
				"pages; type1 %llu, %llu\n",
				i, (unsigned long long)ifd.faults,
				(unsigned long long)ifd.mapped_pages,
				(unsigned long long)io.faults,
				(unsigned long long)io.mapped_pages);
			failed = 1;
		}
		slow = io.seconds > 0 ? 100.0 * (1.0 - pin.seconds / io.seconds)
				      : 0;
		ifd_slow = ifd.seconds > 0
				   ? 100.0 * (1.0 - pin.seconds / ifd.seconds)
				   : 0;
		printf("  %4llu MiB %-7u %6u | %8llu %8.1f%% | %9u %8.1f%% | "
		       "%9.4f %9.4f | %8llu %8.1f%% %9.4f\n",
		       (unsigned long long)(cfg->msg_len >> 20), cfg->premap,
		       times, (unsigned long long)io.faults, slow,
		       cfg->seed_faults, cfg->seed_slowdown, pin.seconds,
		       io.seconds, (unsigned long long)ifd.faults, ifd_slow,
		       ifd.seconds);
		json_array_append_new(
			rows,
			json_pack("{s:I, s:i, s:i, s:I, s:I, s:f, s:f, s:f, "
				  "s:i, s:f, s:I, s:f, s:f}",
				  "msg_len", (json_int_t)cfg->msg_len, "premap",
				  (int)cfg->premap, "times", (int)times,
				  "faults", (json_int_t)io.faults,
				  "pinned_faults", (json_int_t)pin.faults,
				  "slowdown_pct", slow, "pinned_s", pin.seconds,
				  "iopf_s", io.seconds, "seed_faults",
				  (int)cfg->seed_faults, "seed_slowdown_pct",
				  cfg->seed_slowdown, "iommufd_faults",
				  (json_int_t)ifd.faults,
				  "iommufd_slowdown_pct", ifd_slow, "iommufd_s",
				  ifd.seconds));
	}
	printf("\n  faults: page requests of the IOPF run (the pinned run has "
	       "none); slowdown: 1 - t_pinned/t_iopf\n"
	       "  of the device's work.  Counts: one fault per page first "
	       "touched (src + dst = 2 x msg_len / 4 KiB\n"
	       "  with pre-map 1; per 512 pages with pre-map 512); later "
	       "messages reuse the mappings, so the\n"
	       "  count stays flat.  The seed's extra faults after warm-up "
	       "are not modelled (docs/vfio.md).\n"
	       "  ifd: the iommufd run (the same faults; each one a hand-off "
	       "to the handler thread\n"
	       "  and back, and an IOAS_MAP ioctl: docs/iommufd.md).\n");
	scenario_json_add(ctx, "iopf", json_pack("{s:o}", "runs", rows));
	sva_destroy(s);
	platform_destroy(p);
	return failed;
}

DEFINE_SCENARIO(iopf, iopf_run,
		"seed 001: I/O page faults vs static pinning "
		"(hisi_sec_test)");
