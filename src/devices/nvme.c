// SPDX-License-Identifier: MIT
/*
 * An NVMe-like block device and its host driver on the DMA API.
 *
 * Data model:
 *  - The controller (device side) has a namespace of 4 KiB blocks (host
 *    memory of its own) and one submission/completion queue pair per I/O
 *    thread.  A doorbell write makes it consume the new submission entries:
 *    it fetches each 64-byte entry from the SQ by DMA, moves the 4 KiB block
 *    by DMA (a read of the namespace is a DMA write into host memory), and
 *    posts a 16-byte completion entry by DMA with the queue's phase bit.
 *    Like an emulated device serving an MMIO exit, it runs in the thread
 *    that rang the doorbell: no cross-thread hand-off per I/O.
 *  - The driver (host side) allocates the queues in physical memory and
 *    maps them once (dma_alloc_coherent style); every I/O maps its data
 *    buffer with dma_map_page(), and the completion handler unmaps it.
 *  - The namespace holds a pattern derived from each block's LBA and writes
 *    store the same pattern, so every read can be checked.
 *  - Optionally a probe device, a second stream in the same group (so the
 *    same domain and ASID), keeps trying each unmapped IOVA in turn with an
 *    ATS-like translation: while it succeeds although the page table no
 *    longer maps the IOVA, the IOTLB is stale (the security note of the arm-smmu-v3 non-strict mode series).
 *
 * Both streams sit on the bus (src/iommu/bus.h), which pairs each
 * SMMU endpoint with its core device.  Counts come from the domain (TLBIs,
 * syncs, flush-alls, IOVA cache) and from the bus's counters of the NVMe
 * stream, so the probe does not disturb them.  With one thread and no
 * flush timer every count is deterministic.
 *
 * Lifetimes: nvme_run() builds the controller, the driver and both bus
 * devices on the caller's platform, runs, and tears everything down before
 * it returns.
 *
 * Locking: each I/O thread owns its queue pair (driver and device side);
 * the only shared state is the namespace, whose blocks move under their
 * stripe's ns_lock (ranks: devices_internal.h), and the error counter,
 * which is atomic.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "iommu/bus.h"
#include "devices/devices.h"

#include "devices_internal.h"
#include "lib/internal.h"

#define NVME_BLOCK     4096u
#define NVME_CMD_WRITE 0x01
#define NVME_CMD_READ  0x02
#define NVME_SID       1
#define NVME_PROBE_SID 2
#define NVME_GROUP_TAG 0x4e56 /* both streams in one group */

struct nvme_sqe {
	uint8_t opcode;
	uint8_t flags;
	uint16_t cid;
	uint32_t nsid;
	uint64_t rsvd;
	uint64_t mptr;
	uint64_t prp1;
	uint64_t prp2;
	uint64_t slba;
	uint16_t nlb; /* zero based */
	uint16_t control;
	uint32_t dsmgmt, reftag;
	uint16_t apptag, appmask;
};
_Static_assert(sizeof(struct nvme_sqe) == 64, "SQ entries are 64 bytes");

struct nvme_cqe {
	uint32_t result;
	uint32_t rsvd;
	uint16_t sq_head;
	uint16_t sq_id;
	uint16_t cid;
	uint16_t status; /* bit 0: phase */
};
_Static_assert(sizeof(struct nvme_cqe) == 16, "CQ entries are 16 bytes");

#define NVME_SC_SUCCESS	  0
#define NVME_SC_DATA_XFER 0x04 /* data transfer error */
#define NVME_SC_LBA_RANGE 0x80

/* The device's view of one queue pair. */
struct nvme_hw_queue {
	dma_addr_t sq_dma, cq_dma;
	unsigned int depth;
	unsigned int sq_head, cq_tail;
	uint16_t phase;
};

#define NVME_NS_LOCKS 64

/*
 * The controller.  Queues of different threads may hit one block at once:
 * the block moves under its stripe's lock, so a read sees a whole write,
 * as NVMe's atomic write unit guarantees for one block.
 */
struct nvme_ctrl {
	struct endpoint *hwdev; /* its endpoint: nvme_dev.bus.hw */
	uint8_t *ns;
	uint64_t nblocks;
	struct mutex ns_lock[NVME_NS_LOCKS]; /* by LBA */
	_Atomic uint64_t dma_errors;
};

/* The driver's side of one queue pair, with its I/O thread. */
struct nvme_queue {
	struct nvme_dev *nd;
	unsigned int qid;
	struct nvme_hw_queue hwq; /* the device's registers for it */
	phys_addr_t sq_pa, cq_pa;
	struct nvme_sqe *sq;
	struct nvme_cqe *cq;
	unsigned int depth, sq_tail, cq_head;
	uint16_t cq_phase;
	phys_addr_t *buf_pa;
	dma_addr_t *buf_dma;
	uint64_t *buf_lba;
	uint8_t *buf_write;
	uint64_t ios, reads, writes, data_errors, io_errors;
	uint64_t rng;
	/* stale probe */
	dma_addr_t probe_iova;
	uint64_t probe_window;
	bool probing;
	uint64_t stale_accesses, stale_windows, max_window, probed;
	pthread_t thread;
	int ret;
};

struct nvme_dev {
	struct platform *p;
	const struct nvme_config *cfg;
	struct bus_device bus;	     /* the controller's stream */
	struct bus_device probe_bus; /* the probe's stream, same group */
	struct iommu_domain *domain;
	struct nvme_ctrl ctrl;
	struct nvme_queue *queues;
};

static inline uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static inline uint64_t block_tag(uint64_t lba)
{
	return lba * 0x9e3779b97f4a7c15ULL + 1;
}

/* ---- the device -------------------------------------------------------------------- */

static uint16_t nvme_exec(struct nvme_ctrl *c, const struct nvme_sqe *sqe)
{
	uint8_t *blk;
	int ret;

	if (sqe->slba >= c->nblocks || sqe->nlb)
		return NVME_SC_LBA_RANGE << 1;
	blk = c->ns + sqe->slba * NVME_BLOCK;
	mutex_lock(&c->ns_lock[sqe->slba % NVME_NS_LOCKS]);
	if (sqe->opcode == NVME_CMD_READ)
		ret = endpoint_dma_write(c->hwdev, sqe->prp1, blk, NVME_BLOCK);
	else
		ret = endpoint_dma_read(c->hwdev, sqe->prp1, blk, NVME_BLOCK);
	mutex_unlock(&c->ns_lock[sqe->slba % NVME_NS_LOCKS]);
	if (ret) {
		atomic_fetch_add(&c->dma_errors, 1);
		return NVME_SC_DATA_XFER << 1;
	}
	return NVME_SC_SUCCESS;
}

/* The SQ tail doorbell: consume entries up to tail. */
static void nvme_ring_sq(struct nvme_ctrl *c, struct nvme_hw_queue *q,
			 unsigned int tail)
{
	while (q->sq_head != tail) {
		struct nvme_sqe sqe;
		struct nvme_cqe cqe = {0};

		if (endpoint_dma_read(c->hwdev,
				      q->sq_dma + q->sq_head * sizeof(sqe),
				      &sqe, sizeof(sqe))) {
			atomic_fetch_add(&c->dma_errors, 1);
			return; /* a controller fatal status, in real life */
		}
		q->sq_head = (q->sq_head + 1) % q->depth;
		cqe.cid = sqe.cid;
		cqe.sq_head = q->sq_head;
		cqe.status = nvme_exec(c, &sqe) | q->phase;
		if (endpoint_dma_write(c->hwdev,
				       q->cq_dma + q->cq_tail * sizeof(cqe),
				       &cqe, sizeof(cqe))) {
			atomic_fetch_add(&c->dma_errors, 1);
			return;
		}
		if (++q->cq_tail == q->depth) {
			q->cq_tail = 0;
			q->phase ^= 1;
		}
	}
}

/* ---- the driver ----------------------------------------------------------------------- */

/*
 * One probe per completed I/O: the probe device tries the IOVA it tracks;
 * while that works although no page table maps the IOVA, the IOTLB is
 * stale, and each such success is one stale access of the window.  When it
 * fails (or the IOVA was handed out again) the window ends and the next
 * unmapped IOVA is tracked.
 */
static void probe_unmapped(struct nvme_queue *q, dma_addr_t iova)
{
	struct nvme_dev *nd = q->nd;

	if (!q->probing) {
		q->probing = true;
		q->probe_iova = iova;
		q->probe_window = 0;
		q->probed++;
	}
	if (bus_device_iotlb_stale(&nd->probe_bus, q->probe_iova)) {
		q->stale_accesses++;
		q->probe_window++;
		return;
	}
	if (q->probe_window) {
		q->stale_windows++;
		q->max_window = max(q->max_window, q->probe_window);
	}
	q->probing = false;
}

static void nvme_complete(struct nvme_queue *q)
{
	struct nvme_dev *nd = q->nd;

	for (;;) {
		struct nvme_cqe *cqe = &q->cq[q->cq_head];
		uint16_t status = READ_ONCE(cqe->status);
		unsigned int cid;

		if ((status & 1) != q->cq_phase)
			break;
		cid = cqe->cid;
		dma_unmap_page(&nd->bus.dev, q->buf_dma[cid], NVME_BLOCK,
			       q->buf_write[cid] ? DMA_TO_DEVICE
						 : DMA_FROM_DEVICE);
		if (status >> 1) {
			q->io_errors++;
		} else if (!q->buf_write[cid]) {
			uint64_t *data =
				phys_to_virt(nd->p->pm, q->buf_pa[cid]);

			if (data[0] != block_tag(q->buf_lba[cid]))
				q->data_errors++;
		}
		q->ios++;
		if (nd->cfg->probe_stale)
			probe_unmapped(q, q->buf_dma[cid]);
		if (++q->cq_head == q->depth) {
			q->cq_head = 0;
			q->cq_phase ^= 1;
		}
	}
}

static int nvme_submit_batch(struct nvme_queue *q, unsigned int n)
{
	struct nvme_dev *nd = q->nd;
	const struct nvme_config *cfg = nd->cfg;

	for (unsigned int cid = 0; cid < n; cid++) {
		uint64_t lba = xorshift(&q->rng) % nd->ctrl.nblocks;
		bool write = xorshift(&q->rng) % 100 >= cfg->read_pct;
		struct nvme_sqe *sqe = &q->sq[q->sq_tail];
		dma_addr_t dma;

		if (write) {
			uint64_t *data =
				phys_to_virt(nd->p->pm, q->buf_pa[cid]);

			data[0] = block_tag(lba);
		}
		dma = dma_map_page(&nd->bus.dev, q->buf_pa[cid], NVME_BLOCK,
				   write ? DMA_TO_DEVICE : DMA_FROM_DEVICE);
		if (dma == DMA_MAPPING_ERROR)
			return -ENOMEM;
		q->buf_dma[cid] = dma;
		q->buf_lba[cid] = lba;
		q->buf_write[cid] = write;
		write ? q->writes++ : q->reads++;
		*sqe = (struct nvme_sqe){
			.opcode = write ? NVME_CMD_WRITE : NVME_CMD_READ,
			.cid = cid,
			.nsid = 1,
			.prp1 = dma,
			.slba = lba,
		};
		q->sq_tail = (q->sq_tail + 1) % q->depth;
	}
	/* the doorbell: the device runs here */
	nvme_ring_sq(&nd->ctrl, &q->hwq, q->sq_tail);
	return 0;
}

static void *nvme_io_thread(void *arg)
{
	struct nvme_queue *q = arg;
	struct nvme_dev *nd = q->nd;
	const struct nvme_config *cfg = nd->cfg;
	uint64_t share =
		cfg->ios / cfg->threads + (q->qid < cfg->ios % cfg->threads);
	uint64_t done = 0;

	uiommu_set_cpu_id(q->qid);
	while (done < share) {
		unsigned int n =
			(unsigned int)min((uint64_t)cfg->qdepth, share - done);

		q->ret = nvme_submit_batch(q, n);
		if (q->ret)
			break;
		nvme_complete(q);
		done += n;
		if (cfg->progress && q->qid == 0 && !(done % (256 * n)))
			cfg->progress(done * cfg->threads, cfg->ios,
				      cfg->progress_arg);
	}
	return NULL;
}

/* Queue memory, data buffers, and their one-time mappings. */
static int nvme_queue_init(struct nvme_dev *nd, struct nvme_queue *q,
			   unsigned int qid)
{
	struct phys_mem *pm = nd->p->pm;
	unsigned int qd = nd->cfg->qdepth;
	int ret;

	q->nd = nd;
	q->qid = qid;
	q->depth = 2 * qd; /* room for a full batch */
	q->cq_phase = 1;
	q->hwq.depth = q->depth;
	q->hwq.phase = 1;
	q->rng = nd->cfg->seed * 0x2545f4914f6cdd1dULL + qid + 1;
	q->buf_pa = ui_calloc(qd, sizeof(*q->buf_pa));
	q->buf_dma = ui_calloc(qd, sizeof(*q->buf_dma));
	q->buf_lba = ui_calloc(qd, sizeof(*q->buf_lba));
	q->buf_write = ui_calloc(qd, 1);
	if (!q->buf_pa || !q->buf_dma || !q->buf_lba || !q->buf_write)
		return -ENOMEM;
	ret = phys_alloc_pages(pm, 3, PHYS_ALLOC_ZERO, PHYS_OWNER_KERNEL,
			       &q->sq_pa);
	if (ret)
		return ret;
	ret = phys_alloc_pages(pm, 1, PHYS_ALLOC_ZERO, PHYS_OWNER_KERNEL,
			       &q->cq_pa);
	if (ret)
		return ret;
	if (q->depth * sizeof(struct nvme_sqe) > 8 * PHYS_PAGE_SIZE)
		return -EINVAL;
	q->sq = phys_to_virt(pm, q->sq_pa);
	q->cq = phys_to_virt(pm, q->cq_pa);
	q->hwq.sq_dma = dma_map_page(&nd->bus.dev, q->sq_pa, 8 * PHYS_PAGE_SIZE,
				     DMA_TO_DEVICE);
	q->hwq.cq_dma = dma_map_page(&nd->bus.dev, q->cq_pa, 2 * PHYS_PAGE_SIZE,
				     DMA_FROM_DEVICE);
	if (q->hwq.sq_dma == DMA_MAPPING_ERROR ||
	    q->hwq.cq_dma == DMA_MAPPING_ERROR)
		return -ENOMEM;
	for (unsigned int i = 0; i < qd; i++) {
		ret = phys_alloc_pages(pm, 0, PHYS_ALLOC_ZERO,
				       PHYS_OWNER_KERNEL, &q->buf_pa[i]);
		if (ret)
			return ret;
	}
	return 0;
}

static void nvme_queue_fini(struct nvme_dev *nd, struct nvme_queue *q)
{
	struct phys_mem *pm = nd->p->pm;

	if (q->buf_pa)
		for (unsigned int i = 0; i < nd->cfg->qdepth; i++)
			if (q->buf_pa[i])
				phys_free_pages(pm, q->buf_pa[i], 0);
	if (q->hwq.sq_dma && q->hwq.sq_dma != DMA_MAPPING_ERROR)
		dma_unmap_page(&nd->bus.dev, q->hwq.sq_dma, 8 * PHYS_PAGE_SIZE,
			       DMA_TO_DEVICE);
	if (q->hwq.cq_dma && q->hwq.cq_dma != DMA_MAPPING_ERROR)
		dma_unmap_page(&nd->bus.dev, q->hwq.cq_dma, 2 * PHYS_PAGE_SIZE,
			       DMA_FROM_DEVICE);
	if (q->sq_pa)
		phys_free_pages(pm, q->sq_pa, 3);
	if (q->cq_pa)
		phys_free_pages(pm, q->cq_pa, 1);
	ui_free(q->buf_pa);
	ui_free(q->buf_dma);
	ui_free(q->buf_lba);
	ui_free(q->buf_write);
}

static void nvme_collect(struct nvme_dev *nd, struct nvme_result *res,
			 double seconds)
{
	struct iommu_dma_stats st;
	struct smmu_counters c;

	memset(res, 0, sizeof(*res));
	for (unsigned int i = 0; i < nd->cfg->threads; i++) {
		struct nvme_queue *q = &nd->queues[i];

		res->ios += q->ios;
		res->reads += q->reads;
		res->writes += q->writes;
		res->data_errors += q->data_errors + q->io_errors;
		res->stale_accesses += q->stale_accesses;
		res->stale_windows += q->stale_windows;
		res->max_stale_window =
			max(res->max_stale_window, q->max_window);
		res->probed += q->probed;
	}
	/* a window still open at the end counts too */
	for (unsigned int i = 0; i < nd->cfg->threads; i++) {
		struct nvme_queue *q = &nd->queues[i];

		if (q->probing && q->probe_window) {
			res->stale_windows++;
			res->max_stale_window =
				max(res->max_stale_window, q->probe_window);
		}
	}
	res->dma_errors = atomic_load(&nd->ctrl.dma_errors);
	res->seconds = seconds;
	res->iops = seconds > 0 ? res->ios / seconds : 0;
	iommu_dma_get_stats(nd->domain, &st);
	res->maps = st.maps;
	res->unmaps = st.unmaps;
	res->tlbis = st.tlbis;
	res->syncs = st.syncs;
	res->flush_all = st.flush_all;
	res->iova_hits = st.iova_hits;
	res->iova_misses = st.iova_misses;
	bus_device_counters(&nd->bus, &c);
	res->iotlb_hits = c.iotlb_hits;
	res->iotlb_misses = c.iotlb_misses;
	res->walks = c.walks;
}

int nvme_run(struct platform *p, const struct nvme_config *cfg_in,
	     struct nvme_result *res)
{
	struct nvme_config cfg = *cfg_in;
	struct iommu_dma_options opts = {0};
	struct nvme_dev *nd;
	struct timespec t0, t1;
	unsigned int started = 0;
	int ret;

	if (!cfg.threads)
		cfg.threads = 1;
	if (!cfg.qdepth)
		cfg.qdepth = 32;
	if (!cfg.ios)
		cfg.ios = 100000;
	if (!cfg.ns_bytes)
		cfg.ns_bytes = 64ULL << 20;
	if (cfg.read_pct > 100 || cfg.threads > UIOMMU_NR_CPUS ||
	    cfg.qdepth > 256 || cfg.ns_bytes < NVME_BLOCK)
		return -EINVAL;

	nd = ui_zalloc(sizeof(*nd));
	if (!nd)
		return -ENOMEM;
	nd->p = p;
	nd->cfg = &cfg;
	nd->ctrl.nblocks = cfg.ns_bytes / NVME_BLOCK;
	nd->ctrl.ns = ui_malloc(nd->ctrl.nblocks * NVME_BLOCK);
	nd->queues = ui_calloc(cfg.threads, sizeof(*nd->queues));
	if (!nd->ctrl.ns || !nd->queues) {
		ret = -ENOMEM;
		goto out_free;
	}
	for (unsigned int i = 0; i < NVME_NS_LOCKS; i++)
		mutex_init_name(&nd->ctrl.ns_lock[i], "nvme_ctrl.ns_lock",
				DEVICES_LOCK_NVME_NS);
	for (uint64_t b = 0; b < nd->ctrl.nblocks; b++)
		*(uint64_t *)(nd->ctrl.ns + b * NVME_BLOCK) = block_tag(b);

	ret = bus_device_add(&nd->bus, p->hw, p->iommu, "nvme0", NVME_SID, 0,
			     NVME_GROUP_TAG);
	if (ret)
		goto out_locks;
	nd->ctrl.hwdev = nd->bus.hw;
	ret = bus_device_add(&nd->probe_bus, p->hw, p->iommu, "probe0",
			     NVME_PROBE_SID, 0, NVME_GROUP_TAG);
	if (ret)
		goto out_bus;

	if (cfg.mode == NVME_DMA_LAZY_SINGLE)
		opts.single_queue = true;
	if (!cfg.fq_timer)
		opts.fq_timeout_ms = IOMMU_DMA_FQ_NO_TIMER;
	ret = iommu_dma_domain_create(&nd->bus.dev, cfg.mode != NVME_DMA_STRICT,
				      &opts, &nd->domain);
	if (ret)
		goto out_probe_bus;

	for (unsigned int i = 0; i < cfg.threads; i++) {
		ret = nvme_queue_init(nd, &nd->queues[i], i);
		if (ret)
			goto out_queues;
	}

	smmu_counters_reset(p->hw);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (cfg.threads == 1) {
		nvme_io_thread(&nd->queues[0]);
	} else {
		for (; started < cfg.threads; started++)
			if (pthread_create(&nd->queues[started].thread, NULL,
					   nvme_io_thread,
					   &nd->queues[started])) {
				ret = -EAGAIN;
				break;
			}
		for (unsigned int i = 0; i < started; i++)
			pthread_join(nd->queues[i].thread, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (unsigned int i = 0; i < cfg.threads && !ret; i++)
		ret = nd->queues[i].ret;
	if (!ret)
		nvme_collect(nd, res,
			     (t1.tv_sec - t0.tv_sec) +
				     (t1.tv_nsec - t0.tv_nsec) / 1e9);

out_queues:
	for (unsigned int i = 0; i < cfg.threads; i++)
		nvme_queue_fini(nd, &nd->queues[i]);
	iommu_dma_domain_destroy(&nd->bus.dev, nd->domain);
out_probe_bus:
	bus_device_remove(&nd->probe_bus);
out_bus:
	bus_device_remove(&nd->bus);
out_locks:
	for (unsigned int i = 0; i < NVME_NS_LOCKS; i++)
		mutex_destroy(&nd->ctrl.ns_lock[i]);
out_free:
	ui_free(nd->queues);
	ui_free(nd->ctrl.ns);
	ui_free(nd);
	return ret;
}
