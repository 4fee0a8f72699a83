// SPDX-License-Identifier: MIT
/*
 * Endpoints: the requesters behind the SMMU model, and their DMA.
 *
 * Data model: a struct endpoint is one requester behind the SMMU: a stream id,
 * an optional PASID (substream id) and capabilities (stall, PRI).  A DMA is
 * split at 4 KiB boundaries; each piece is translated (IOTLB, walk on a
 * miss), its permission checked, and copied through the direct map with
 * phys_access_checked() using the generation snapshot of the translation:
 * a frame freed (or freed and reused) since the translation was cached
 * fails the check, which is reported as an SMMU event (E_DMA_STALE, or
 * E_DMA_EABT outside memory), counted, and aborts the transfer.
 *
 * Faults: a recoverable fault (translation, access flag, permission) of a
 * PRI-capable device becomes a page request; of a stall-capable device on a
 * stage with stall enabled, a stalled event.  The device waits for the
 * response and retries the piece after a success (at most max_retries
 * times), or fails the transfer with -EFAULT after an invalid/failure or
 * abort response.  Every other fault is recorded as an event and fails the
 * transfer with -EFAULT (unrecoverable faults are never suppressed).  A
 * stream configured to abort fails without an event.
 *
 * In flight: an access holds its CPU's in-flight slot (smmu_internal.h)
 * from before its translation until its copy is done, and leaves it while
 * it waits for a fault's answer.  In a batch (endpoint_dma_batch_begin)
 * the thread holds the slot from the batch's start to its end and each
 * access only re-enters it when the SMMU's DMA epoch moved on (a CMD_SYNC
 * began and waits for the slot): the access that sees the new epoch
 * publishes it before its translation, as a fresh entry would, and the
 * ones before it were all in flight under the old one.
 *
 * Sanitizer: a fault that fails the transfer (an event, an abort
 * configuration, a fault the handler could not resolve) is reported with
 * the endpoint's struct san_device, on the fault path only: the hot path
 * has no hook.
 *
 * Locking: none of its own on the DMA path.  An endpoint may be used by several
 * threads at once: its hot counters are per CPU id (struct smmu_hot), the
 * rest are the stream's atomics.  smmu->dev_lock guards the list of devices
 * (counter reads fold their hot counters in).
 */
#include <string.h>

#include "sanitizer/sanitizer.h"
#include "smmu_internal.h"

__thread int smmu_this_cpu __attribute__((tls_model("initial-exec"))) = -1;
/* The SMMU whose in-flight window this thread holds for a batch, or NULL. */
static __thread struct smmu *batch_smmu __attribute__((tls_model("initial-"
								 "exec")));

/* Enter the in-flight window for one access, or in a batch re-enter it
 * only if a sync began since it was entered. */
static __attribute__((always_inline)) inline void win_enter(struct smmu *smmu,
							    unsigned int cpu)
{
	if (likely(batch_smmu == smmu) &&
	    atomic_load_explicit(&smmu->inflight[cpu].epoch,
				 memory_order_relaxed) ==
		    atomic_load_explicit(&smmu->dma_epoch,
					 memory_order_relaxed))
		return;
	dma_enter(smmu, cpu);
}

/* Leave it after one access; a batch keeps it. */
static __attribute__((always_inline)) inline void win_exit(struct smmu *smmu,
							   unsigned int cpu)
{
	if (batch_smmu != smmu)
		dma_exit(smmu, cpu);
}

bool endpoint_dma_batch_begin(struct endpoint *dev)
{
	if (batch_smmu)
		return false;
	dma_enter(dev->smmu, endpoint_cpu());
	batch_smmu = dev->smmu;
	return true;
}

void endpoint_dma_batch_end(struct endpoint *dev)
{
	batch_smmu = NULL;
	dma_exit(dev->smmu, endpoint_cpu());
}

int endpoint_create(struct smmu *smmu, uint32_t sid, uint32_t pasid,
		    unsigned int caps, struct endpoint **out)
{
	struct endpoint *dev;

	if (!smmu || !out || sid >= smmu->nr_sids)
		return -EINVAL;
	if ((caps & ENDPOINT_CAP_PASID) && pasid >= SMMU_SSID_MAX - 1)
		return -EINVAL;
	if (caps &
	    ~(ENDPOINT_CAP_STALL | ENDPOINT_CAP_PRI | ENDPOINT_CAP_PASID))
		return -EINVAL;
	dev = ui_zalloc(sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->smmu = smmu;
	dev->stream = &smmu->streams[sid];
	dev->sid = sid;
	dev->ssid = (caps & ENDPOINT_CAP_PASID) ? pasid : SMMU_SSID_NONE;
	dev->caps = caps;
	dev->cfg_key = cfg_key(sid, dev->ssid);
	dev->cfge = &smmu->cfg_cache[cfg_index(smmu, sid, dev->ssid)];
	mutex_lock(&smmu->dev_lock);
	LIST_INSERT_HEAD(&smmu->devs, dev, link);
	mutex_unlock(&smmu->dev_lock);
	*out = dev;
	return 0;
}

static void hot_add(const struct smmu_hot *h, uint64_t *v)
{
	v[SMMU_CNT_iotlb_hits] +=
		atomic_load_explicit(&h->iotlb_hits, memory_order_relaxed);
	v[SMMU_CNT_dma_reads] +=
		atomic_load_explicit(&h->dma_reads, memory_order_relaxed);
	v[SMMU_CNT_dma_writes] +=
		atomic_load_explicit(&h->dma_writes, memory_order_relaxed);
	v[SMMU_CNT_dma_bytes_read] +=
		atomic_load_explicit(&h->dma_bytes_read, memory_order_relaxed);
	v[SMMU_CNT_dma_bytes_written] += atomic_load_explicit(
		&h->dma_bytes_written, memory_order_relaxed);
}

static void endpoint_hot_sum(const struct endpoint *dev, uint64_t *v)
{
	unsigned int cpu;

	lockdep_assert_held(&dev->smmu->dev_lock);
	for (cpu = 0; cpu < UIOMMU_NR_CPUS; cpu++)
		hot_add(&dev->hot[cpu], v);
}

void smmu_hot_fold(struct smmu *smmu, int64_t sid, uint64_t *v)
{
	struct endpoint *dev;

	mutex_lock(&smmu->dev_lock);
	LIST_FOREACH(dev, &smmu->devs, link)
		if (sid < 0 || dev->sid == (uint32_t)sid)
			endpoint_hot_sum(dev, v);
	mutex_unlock(&smmu->dev_lock);
}

/* Zero every device's hot counters (counters reset). */
void smmu_hot_reset(struct smmu *smmu)
{
	struct endpoint *dev;
	unsigned int cpu;

	mutex_lock(&smmu->dev_lock);
	LIST_FOREACH(dev, &smmu->devs, link)
		for (cpu = 0; cpu < UIOMMU_NR_CPUS; cpu++) {
			atomic_store(&dev->hot[cpu].iotlb_hits, 0);
			atomic_store(&dev->hot[cpu].dma_reads, 0);
			atomic_store(&dev->hot[cpu].dma_writes, 0);
			atomic_store(&dev->hot[cpu].dma_bytes_read, 0);
			atomic_store(&dev->hot[cpu].dma_bytes_written, 0);
		}
	mutex_unlock(&smmu->dev_lock);
}

void endpoint_destroy(struct endpoint *dev)
{
	struct smmu *smmu;
	uint64_t v[SMMU_NR_CNT] = {0};
	int i;

	if (!dev)
		return;
	smmu = dev->smmu;
	/* fold the device's counts into its stream's */
	mutex_lock(&smmu->dev_lock);
	LIST_REMOVE(dev, link);
	endpoint_hot_sum(dev, v);
	for (i = 0; i < SMMU_NR_CNT; i++)
		if (v[i])
			stream_inc(dev->stream, i, v[i]);
	mutex_unlock(&smmu->dev_lock);
	ui_free(dev);
}

void endpoint_set_san(struct endpoint *dev, const struct san_device *sd)
{
	dev->san = sd;
}

uint32_t endpoint_sid(const struct endpoint *dev)
{
	return dev->sid;
}

static bool can_wait(const struct endpoint *dev, const struct smmu_fault *f)
{
	if (!f->recoverable)
		return false;
	if (dev->caps & ENDPOINT_CAP_PRI)
		return true;
	return (dev->caps & ENDPOINT_CAP_STALL) && f->stall;
}

static __attribute__((noinline, cold)) int dma_abort(struct endpoint *dev,
						     phys_addr_t pa,
						     uint64_t iova, bool write,
						     int err)
{
	struct smmu_event ev = {
		.type = phys_pa_valid(dev->smmu->pm, pa) ? SMMU_EVT_E_DMA_STALE
							 : SMMU_EVT_E_DMA_EABT,
		.flags = write ? SMMU_EVT_FL_WRITE : 0,
		.sid = dev->sid,
		.addr = iova,
		.fetch_addr = pa,
	};

	if (dev->ssid != SMMU_SSID_NONE) {
		ev.ssid = dev->ssid;
		ev.flags |= SMMU_EVT_FL_SSV;
	}
	if (ev.type == SMMU_EVT_E_DMA_STALE)
		stream_inc(dev->stream, SMMU_CNT_stale_dma, 1);
	smmu_record_event(dev->smmu, dev->stream, &ev);
	return err;
}

/* The sanitizer's report of a fault that failed a piece of len bytes. */
static __attribute__((noinline, cold)) void
dma_fault_report(struct endpoint *dev, const struct smmu_fault *f,
		 uint64_t iova, size_t len, bool write, bool unresolved)
{
	struct san_dma d = {
		.dev = dev->san,
		.write = write,
		.iova = iova,
		.len = len,
	};

	if (f->terminate) {
		d.kind = SAN_KIND_UNMAPPED;
		d.cause = "abort";
		d.detail = "the stream is attached to no translation";
	} else {
		switch (f->ev.type) {
		case SMMU_EVT_F_TRANSLATION:
			d.kind = SAN_KIND_UNMAPPED;
			d.cause = "F_TRANSLATION";
			d.detail = "no mapping for the IOVA";
			break;
		case SMMU_EVT_F_ADDR_SIZE:
			d.kind = SAN_KIND_UNMAPPED;
			d.cause = "F_ADDR_SIZE";
			d.detail = "the IOVA is beyond the input range";
			break;
		case SMMU_EVT_F_PERMISSION:
			d.kind = SAN_KIND_PERMISSION;
			d.cause = "F_PERMISSION";
			d.detail = write ? "a write through a mapping the "
					   "device may not write"
					 : "a read through a mapping the "
					   "device may not read";
			break;
		default:
			return; /* not a kind the sanitizer reports */
		}
		if (unresolved)
			d.detail = "a recoverable fault the fault handler "
				   "did not resolve";
	}
	san_report_dma(&d);
}

/* One piece of len bytes that does not cross a page boundary, after an
 * IOTLB miss (or a hit without the permission): translate the slow way,
 * handle faults. */
static __attribute__((noinline)) int
dma_page_slow(struct endpoint *dev, struct smmu_hot *hot, unsigned int cpu,
	      uint64_t iova, size_t len, bool write, struct smmu_xlate *x,
	      bool *waited)
{
	struct smmu *smmu = dev->smmu;
	struct smmu_txn t = endpoint_txn(dev, hot, iova, write);
	unsigned int tries = 0;
	struct smmu_fault f;
	int ret;

	while (unlikely(smmu_translate_slow(&t, x, &f))) {
		/* not in flight while the fault is reported and answered:
		 * the answer may need a CMD_SYNC */
		dma_exit(smmu, cpu);
		stream_inc(dev->stream, SMMU_CNT_faults, 1);
		ret = -EFAULT;
		if (f.terminate)
			goto out_report;
		if (can_wait(dev, &f) && tries < smmu->cfg.max_retries) {
			ret = smmu_fault_wait(dev, &f);
			if (ret) {
				if (unlikely(san_enabled()))
					dma_fault_report(dev, &f, iova, len,
							 write, true);
				goto out;
			}
			*waited = true;
			tries++;
			stream_inc(dev->stream, SMMU_CNT_retries, 1);
			dma_enter(smmu, cpu);
			continue;
		}
		smmu_record_event(smmu, dev->stream, &f.ev);
		goto out_report;
	}
	return 0;
out_report:
	if (unlikely(san_enabled()))
		dma_fault_report(dev, &f, iova, len, write, false);
out:
	if (batch_smmu == smmu)
		dma_enter(smmu, cpu); /* the batch holds the window again */
	return ret;
}

/* One piece that does not cross a page boundary. */
static __attribute__((always_inline)) inline int
dma_page(struct endpoint *dev, struct smmu_hot *hot, unsigned int cpu,
	 uint64_t iova, void *buf, size_t len, bool write)
{
	struct smmu *smmu = dev->smmu;
	struct smmu_xlate x;
	int ret;

	/* in flight from before the lookup until the copy is done, so that a
	 * CMD_SYNC after an invalidation waits for this access */
	win_enter(smmu, cpu);
	/* x does not escape on the hit path: its fields stay in registers */
	if (unlikely(!smmu_translate_fast(smmu, dev->cfge, dev->cfg_key, iova,
					  write, hot, &x))) {
		struct smmu_xlate xs;
		bool waited = false;

		ret = dma_page_slow(dev, hot, cpu, iova, len, write, &xs,
				    &waited);
		if (ret)
			return ret; /* the slot was left */
		x = xs;
	}
	if (unlikely(x.memtype != SMMU_MEM_NORMAL_WB)) {
		/* not cacheable: the access does not snoop the CPU caches and
		 * sees the memory behind them (mem's cache view) */
		stream_inc(dev->stream, SMMU_CNT_dma_nc_bytes, len);
		ret = phys_access_checked_nc(smmu->pm, x.pa, buf, len, write,
					     x.gen);
	} else {
		ret = phys_access_checked_frame(smmu->pm, x.pa, buf, len, write,
						x.gen);
	}
	win_exit(smmu, cpu);
	if (unlikely(ret))
		return dma_abort(dev, x.pa, iova, write, ret);
	return 0;
}

/* Inlined into endpoint_dma_read() and endpoint_dma_write(): write is a constant. */
static __attribute__((always_inline)) inline int
dma_rw(struct endpoint *dev, uint64_t iova, void *buf, size_t len, bool write)
{
	unsigned int cpu = endpoint_cpu();
	struct smmu_hot *hot = &dev->hot[cpu];
	uint8_t *p = buf;
	uint64_t last;
	size_t done = 0;
	int ret = 0;

	if (!len)
		return 0;
	if (likely((iova & (PHYS_PAGE_SIZE - 1)) + len <= PHYS_PAGE_SIZE)) {
		/* one piece (cannot wrap): no loop state on the hot path */
		ret = dma_page(dev, hot, cpu, iova, buf, len, write);
		if (likely(!ret))
			done = len;
		goto count;
	}
	if (check_add_overflow(iova, (uint64_t)len - 1, &last))
		return -EINVAL;
	while (done < len) {
		size_t chunk =
			min(len - done,
			    PHYS_PAGE_SIZE - (iova & (PHYS_PAGE_SIZE - 1)));

		ret = dma_page(dev, hot, cpu, iova, p + done, chunk, write);
		if (unlikely(ret))
			break;
		done += chunk;
		iova += chunk;
	}
count:
	if (write) {
		hot_inc(&hot->dma_writes, 1);
		hot_inc(&hot->dma_bytes_written, done);
	} else {
		hot_inc(&hot->dma_reads, 1);
		hot_inc(&hot->dma_bytes_read, done);
	}
	if (unlikely(ret))
		stream_inc(dev->stream, SMMU_CNT_dma_errors, 1);
	return ret;
}

int endpoint_dma_read(struct endpoint *dev, uint64_t iova, void *buf,
		      size_t len)
{
	return dma_rw(dev, iova, buf, len, false);
}

int endpoint_dma_write(struct endpoint *dev, uint64_t iova, const void *buf,
		       size_t len)
{
	return dma_rw(dev, iova, (void *)buf, len, true);
}

/* ---- copies: device-to-memory reads feeding writes -------------------- */

/* A translation for one side of a copy piece, on the fast path or the
 * slow one; *waited is set when it left the in-flight window to wait. */
static __attribute__((always_inline)) inline int
copy_xlate(struct endpoint *dev, struct smmu_hot *hot, unsigned int cpu,
	   uint64_t iova, size_t len, bool write, struct smmu_xlate *x,
	   bool *waited)
{
	if (likely(smmu_translate_fast(dev->smmu, dev->cfge, dev->cfg_key, iova,
				       write, hot, x)))
		return 0;
	return dma_page_slow(dev, hot, cpu, iova, len, write, x, waited);
}

/* A piece the frame-to-frame path cannot move (memory that is not
 * cacheable, a frame check that failed): through a small bounce buffer on
 * the read and write paths, which tell the errors apart. */
static __attribute__((noinline)) int
copy_bounce(struct endpoint *dev, struct smmu_hot *hot, unsigned int cpu,
	    uint64_t dst, uint64_t src, size_t len, int *failed)
{
	/* small: a trapped doorbell runs this on the program's signal stack */
	uint8_t tmp[256];
	int ret;

	for (size_t off = 0, n; off < len; off += n) {
		n = min(len - off, sizeof(tmp));
		ret = dma_page(dev, hot, cpu, src + off, tmp, n, false);
		if (ret) {
			*failed = ENDPOINT_COPY_SRC;
			return ret;
		}
		ret = dma_page(dev, hot, cpu, dst + off, tmp, n, true);
		if (ret) {
			*failed = ENDPOINT_COPY_DST;
			return ret;
		}
	}
	return 0;
}

/*
 * One piece that crosses no page of either side.  Both translations are
 * made inside one in-flight window, the source's first: when the
 * destination's had to wait for a fault response (outside the window),
 * the source's may have been invalidated meanwhile, so the piece starts
 * again.  Both cacheable and both frames current: one copy, frame to
 * frame.  Anything else: copy_bounce().
 */
static __attribute__((always_inline)) inline int
copy_page(struct endpoint *dev, struct smmu_hot *hot, unsigned int cpu,
	  uint64_t dst, uint64_t src, size_t len, int *failed)
{
	struct phys_mem *pm = dev->smmu->pm;
	struct smmu *smmu = dev->smmu;
	struct smmu_xlate xs, xd;
	void *ps, *pd;
	int ret;

	for (unsigned int round = 0;; round++) {
		bool waited = false;

		win_enter(smmu, cpu);
		ret = copy_xlate(dev, hot, cpu, src, len, false, &xs, &waited);
		if (unlikely(ret)) {
			*failed = ENDPOINT_COPY_SRC;
			return ret; /* the slot was left */
		}
		waited = false;
		ret = copy_xlate(dev, hot, cpu, dst, len, true, &xd, &waited);
		if (unlikely(ret)) {
			*failed = ENDPOINT_COPY_DST;
			return ret;
		}
		if (likely(!waited))
			break;
		win_exit(smmu, cpu);
		if (round == smmu->cfg.max_retries)
			return copy_bounce(dev, hot, cpu, dst, src, len,
					   failed);
	}
	ps = xs.memtype == SMMU_MEM_NORMAL_WB
		     ? phys_frame_ptr_checked(pm, xs.pa, len, xs.gen)
		     : NULL;
	pd = xd.memtype == SMMU_MEM_NORMAL_WB
		     ? phys_frame_ptr_checked(pm, xd.pa, len, xd.gen)
		     : NULL;
	if (likely(ps && pd)) {
		memmove(pd, ps, len);
		win_exit(smmu, cpu);
		return 0;
	}
	win_exit(smmu, cpu);
	return copy_bounce(dev, hot, cpu, dst, src, len, failed);
}

int endpoint_dma_copy(struct endpoint *dev, uint64_t dst, uint64_t src,
		      size_t len, int *failed)
{
	unsigned int cpu = endpoint_cpu();
	struct smmu_hot *hot = &dev->hot[cpu];
	uint64_t last;
	size_t done = 0;
	int ret = 0, side = 0;

	if (!len)
		return 0;
	if (check_add_overflow(src, (uint64_t)len - 1, &last))
		side = ENDPOINT_COPY_SRC;
	else if (check_add_overflow(dst, (uint64_t)len - 1, &last))
		side = ENDPOINT_COPY_DST;
	if (unlikely(side)) {
		if (failed)
			*failed = side;
		return -EINVAL;
	}
	while (done < len) {
		size_t chunk =
			min3(len - done,
			     PHYS_PAGE_SIZE - (src & (PHYS_PAGE_SIZE - 1)),
			     PHYS_PAGE_SIZE - (dst & (PHYS_PAGE_SIZE - 1)));

		ret = copy_page(dev, hot, cpu, dst, src, chunk, &side);
		if (unlikely(ret))
			break;
		done += chunk;
		src += chunk;
		dst += chunk;
	}
	/* counted as the read and the write it is made of */
	hot_inc(&hot->dma_reads, 1);
	hot_inc(&hot->dma_bytes_read, done);
	hot_inc(&hot->dma_writes, 1);
	hot_inc(&hot->dma_bytes_written, done);
	if (unlikely(ret)) {
		stream_inc(dev->stream, SMMU_CNT_dma_errors, 1);
		if (failed)
			*failed = side;
	}
	return ret;
}

int endpoint_dma_sg(struct endpoint *dev, const struct endpoint_sg *sg,
		    unsigned int nents, bool write)
{
	unsigned int i;
	int ret;

	for (i = 0; i < nents; i++) {
		ret = dma_rw(dev, sg[i].iova, sg[i].buf, sg[i].len, write);
		if (ret)
			return ret;
	}
	return 0;
}
