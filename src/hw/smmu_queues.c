// SPDX-License-Identifier: MIT
/*
 * The event queue, the page request (PRI) queue, stalled transactions and
 * interrupts.
 *
 * Data model: both queues are rings in physical frames, written by the
 * hardware at prod and read by software at cons (wrap bit above the index,
 * as the command queue), written and read by one fq_write() and one
 * fq_read() over the queue's struct smmu_queue.  Records: the EVT (32
 * bytes) and PRI (16 bytes) field tables of smmu_regs.h, the SMMUv3
 * layouts; the model's NESTED flag sits in a bit the specification leaves
 * RES0.
 * A record that finds its queue full is dropped: the queue's overflow flag
 * is set (until software acknowledges it) and the drop is counted; a
 * stalled transaction or page request that could not be recorded is
 * terminated at once.
 *
 * A transaction waiting for a response (RESUME for a stall, PRI_RESP for a
 * page request) is a struct smmu_wait on the waiting device thread's stack,
 * on smmu->waits; the command consumer completes it.  Stall tags come from
 * a counter, PRI group indices from the device (9 bits).
 *
 * Interrupts: inline, the thread that wrote the record calls the callback
 * after dropping every lock; threaded, it sets a pending bit and the
 * interrupt thread calls the callbacks (coalescing raises).  irq_* counters
 * count raises, which do not depend on the mode.
 *
 * Locks: fq_lock guards both queues, waits and next_stag; irq_lock guards
 * the callbacks, irq_pending and the interrupt thread's sleep.
 */
#include <string.h>
#include <time.h>

#include "smmu_internal.h"

int smmu_queue_alloc(struct smmu *smmu, struct smmu_queue *q,
		     unsigned int entries, unsigned int dwords)
{
	uint64_t bytes = (uint64_t)entries * dwords * 8;
	unsigned int order = 0;
	int ret;

	while ((PHYS_PAGE_SIZE << order) < bytes)
		order++;
	memset(q, 0, sizeof(*q));
	ret = phys_alloc_pages(smmu->pm, order, PHYS_ALLOC_ZERO,
			       PHYS_OWNER_KERNEL, &q->base);
	if (ret)
		return ret;
	q->va = phys_to_virt(smmu->pm, q->base);
	q->order = order;
	q->dwords = dwords;
	while ((1u << q->shift) < entries)
		q->shift++;
	return 0;
}

void smmu_queue_free(struct smmu *smmu, struct smmu_queue *q)
{
	if (q->va)
		phys_free_pages(smmu->pm, q->base, q->order);
	q->va = NULL;
}

int smmu_queues_init(struct smmu *smmu)
{
	int ret;

	ret = smmu_queue_alloc(smmu, &smmu->evtq, smmu->cfg.evtq_entries,
			       EVT_DWORDS);
	if (ret)
		return ret;
	ret = smmu_queue_alloc(smmu, &smmu->priq, smmu->cfg.priq_entries,
			       PRI_DWORDS);
	if (ret) {
		smmu_queue_free(smmu, &smmu->evtq);
		return ret;
	}
	mutex_init(&smmu->fq_lock, HW_LOCK_FQ);
	pthread_cond_init(&smmu->resp_cond, NULL);
	LIST_INIT(&smmu->waits);
	return 0;
}

void smmu_queues_free(struct smmu *smmu)
{
	pthread_cond_destroy(&smmu->resp_cond);
	mutex_destroy(&smmu->fq_lock);
	smmu_queue_free(smmu, &smmu->priq);
	smmu_queue_free(smmu, &smmu->evtq);
}

/* ---- interrupts ---- */

static void call_irq(struct smmu *smmu, unsigned int which)
{
	const struct smmu_irq_ops *ops;
	void *priv;

	mutex_lock(&smmu->irq_lock);
	ops = smmu->irq_ops;
	priv = smmu->irq_priv;
	if (ops)
		smmu->irq_running++; /* smmu_set_irq_ops() waits for us */
	mutex_unlock(&smmu->irq_lock);
	if (ops) {
		if ((which & SMMU_IRQ_GERROR) && ops->gerror)
			ops->gerror(priv);
		if ((which & SMMU_IRQ_EVTQ) && ops->evtq)
			ops->evtq(priv);
		if ((which & SMMU_IRQ_PRIQ) && ops->priq)
			ops->priq(priv);
		mutex_lock(&smmu->irq_lock);
		if (!--smmu->irq_running)
			pthread_cond_broadcast(&smmu->irq_idle);
		mutex_unlock(&smmu->irq_lock);
	}
}

void smmu_raise_irq(struct smmu *smmu, unsigned int which)
{
	smmu_inc(smmu, which == SMMU_IRQ_EVTQ ? SMMU_CNT_irq_evtq
					      : SMMU_CNT_irq_priq);
	if (!smmu->cfg.threaded) {
		call_irq(smmu, which);
		return;
	}
	mutex_lock(&smmu->irq_lock);
	smmu->irq_pending |= which;
	pthread_cond_signal(&smmu->irq_cond);
	mutex_unlock(&smmu->irq_lock);
}

/* The global-error line has a handler context of its own (never the
 * interrupt thread, whose handlers may be the syncs waiting on it): the
 * thread that ran the consumer calls it, with cmdq.lock dropped (the
 * handler issues commands). */
void smmu_call_gerror_irq(struct smmu *smmu)
{
	lockdep_assert_not_held(&smmu->cmdq.lock);
	smmu_inc(smmu, SMMU_CNT_irq_gerror);
	call_irq(smmu, SMMU_IRQ_GERROR);
}

void *smmu_irq_thread(void *arg)
{
	struct smmu *smmu = arg;

	mutex_lock(&smmu->irq_lock);
	while (!smmu->irq_stop) {
		unsigned int which = smmu->irq_pending;

		if (which) {
			smmu->irq_pending = 0;
			mutex_unlock(&smmu->irq_lock);
			call_irq(smmu, which);
			mutex_lock(&smmu->irq_lock);
			continue;
		}
		mutex_cond_wait(&smmu->irq_cond, &smmu->irq_lock);
	}
	mutex_unlock(&smmu->irq_lock);
	return NULL;
}

/* ---- event queue ---- */

static enum smmu_cnt evt_counter(unsigned int type)
{
	switch (type) {
	case SMMU_EVT_F_TRANSLATION:
		return SMMU_CNT_evt_translation;
	case SMMU_EVT_F_ADDR_SIZE:
		return SMMU_CNT_evt_addr_size;
	case SMMU_EVT_F_ACCESS:
		return SMMU_CNT_evt_access;
	case SMMU_EVT_F_PERMISSION:
		return SMMU_CNT_evt_permission;
	case SMMU_EVT_C_BAD_STE:
		return SMMU_CNT_evt_bad_ste;
	case SMMU_EVT_C_BAD_CD:
		return SMMU_CNT_evt_bad_cd;
	default:
		return SMMU_CNT_evt_other;
	}
}

/* CLASS comes from two flags: the encoder and decoder add it. */
static const struct field_map evt_map[] = {
	FM_VAL(EVT, TYPE, struct smmu_event, type),
	FM_FLAG(EVT, SSV, struct smmu_event, flags, SMMU_EVT_FL_SSV),
	FM_VAL(EVT, SSID, struct smmu_event, ssid),
	FM_VAL(EVT, SID, struct smmu_event, sid),
	FM_VAL(EVT, STAG, struct smmu_event, stag),
	FM_FLAG(EVT, STALL, struct smmu_event, flags, SMMU_EVT_FL_STALL),
	FM_NFLAG(EVT, RNW, struct smmu_event, flags, SMMU_EVT_FL_WRITE),
	FM_FLAG(EVT, S2, struct smmu_event, flags, SMMU_EVT_FL_S2),
	FM_FLAG(EVT, NESTED, struct smmu_event, flags, SMMU_EVT_FL_NESTED),
	FM_VAL(EVT, INPUT_ADDR, struct smmu_event, addr),
	FM_VAL(EVT, FETCH_ADDR, struct smmu_event, fetch_addr),
};

/* The flag of each CLASS value (IN has none). */
static const uint8_t evt_class_flag[4] = {
	[EVT_CLASS_CD] = SMMU_EVT_FL_CLASS_CD,
	[EVT_CLASS_TT] = SMMU_EVT_FL_CLASS_TT,
};

void smmu_event_encode(const struct smmu_event *ev, uint64_t dw[4])
{
	unsigned int class = EVT_CLASS_IN;

	if (ev->flags & SMMU_EVT_FL_CLASS_CD)
		class = EVT_CLASS_CD;
	else if (ev->flags & SMMU_EVT_FL_CLASS_TT)
		class = EVT_CLASS_TT;
	fields_encode(evt_map, FM_COUNT(evt_map), ev, dw, EVT_DWORDS);
	FIELD_DP64(dw, EVT, CLASS, class);
}

void smmu_event_decode(const uint64_t dw[4], struct smmu_event *ev)
{
	fields_decode(evt_map, FM_COUNT(evt_map), dw, ev, sizeof(*ev));
	ev->flags |= evt_class_flag[FIELD_EX64(dw, EVT, CLASS)];
}

/* A read requests read permission, a write write permission. */
static const struct field_map pri_map[] = {
	FM_VAL(PRI, SID, struct smmu_page_request, sid),
	FM_VAL(PRI, SSID, struct smmu_page_request, ssid),
	FM_NFLAG_ENC(PRI, READ, struct smmu_page_request, flags,
		     SMMU_PRI_FL_WRITE),
	FM_FLAG(PRI, WRITE, struct smmu_page_request, flags, SMMU_PRI_FL_WRITE),
	FM_FLAG(PRI, LAST, struct smmu_page_request, flags, SMMU_PRI_FL_LAST),
	FM_FLAG(PRI, SSV, struct smmu_page_request, flags, SMMU_PRI_FL_PASID),
	FM_VAL(PRI, GRPID, struct smmu_page_request, grpid),
	FM_ADDR(PRI, ADDR, struct smmu_page_request, addr),
};

FIELDS_CODEC(smmu_page_request, struct smmu_page_request, pri_map, PRI_DWORDS);

/*
 * Write one record (q->dwords words) at prod, or set the overflow flag if
 * the queue is full.
 */
static bool fq_write(struct smmu *smmu, struct smmu_queue *q,
		     const uint64_t *rec)
{
	uint64_t *p;
	unsigned int i;

	lockdep_assert_held(&smmu->fq_lock);
	if (q_full(q)) {
		q->overflow = true;
		return false;
	}
	p = q_entry(q, q->prod);
	for (i = 0; i < q->dwords; i++)
		wr64(&p[i], rec[i]);
	q->prod = q_inc(q, q->prod);
	return true;
}

/* Pop the record at cons into rec: false if the queue is empty. */
static bool fq_read(struct smmu *smmu, struct smmu_queue *q, uint64_t *rec)
{
	const uint64_t *p;
	unsigned int i;
	bool ret = false;

	mutex_lock(&smmu->fq_lock);
	if (!q_empty(q)) {
		p = q_entry(q, q->cons);
		for (i = 0; i < q->dwords; i++)
			rec[i] = rd64(&p[i]);
		q->cons = q_inc(q, q->cons);
		ret = true;
	}
	mutex_unlock(&smmu->fq_lock);
	return ret;
}

/*
 * A record queue's typed ends: name_write() (under fq_lock) encodes a
 * record and pushes it, false when the queue overflows; smmu_name_read()
 * pops the oldest and decodes it: 1, or 0 when the queue is empty.
 */
#define FQ_RECORDS(name, type, words, encode, decode)                \
	static bool name##_write(struct smmu *smmu, const type *rec) \
	{                                                            \
		uint64_t dw[words];                                  \
                                                                     \
		lockdep_assert_held(&smmu->fq_lock);                 \
		encode(rec, dw);                                     \
		return fq_write(smmu, &smmu->name, dw);              \
	}                                                            \
	int smmu_##name##_read(struct smmu *smmu, type *rec)         \
	{                                                            \
		uint64_t dw[words];                                  \
                                                                     \
		if (!fq_read(smmu, &smmu->name, dw))                 \
			return 0;                                    \
		decode(dw, rec);                                     \
		return 1;                                            \
	}                                                            \
	_Static_assert(1, "FQ_RECORDS() takes a semicolon")

FQ_RECORDS(evtq, struct smmu_event, EVT_DWORDS, smmu_event_encode,
	   smmu_event_decode);
FQ_RECORDS(priq, struct smmu_page_request, PRI_DWORDS, smmu_page_request_encode,
	   smmu_page_request_decode);

void smmu_record_event(struct smmu *smmu, struct smmu_stream *st,
		       const struct smmu_event *ev)
{
	bool ok;

	mutex_lock(&smmu->fq_lock);
	ok = evtq_write(smmu, ev);
	mutex_unlock(&smmu->fq_lock);
	if (ok) {
		stream_inc(st, SMMU_CNT_events, 1);
		stream_inc(st, evt_counter(ev->type), 1);
	} else {
		stream_inc(st, SMMU_CNT_evtq_overflows, 1);
	}
	smmu_raise_irq(smmu, SMMU_IRQ_EVTQ);
}

static bool q_overflowed(struct smmu *smmu, struct smmu_queue *q, bool ack)
{
	bool ret;

	mutex_lock(&smmu->fq_lock);
	ret = q->overflow;
	if (ack)
		q->overflow = false;
	mutex_unlock(&smmu->fq_lock);
	return ret;
}

bool smmu_evtq_overflowed(struct smmu *smmu)
{
	return q_overflowed(smmu, &smmu->evtq, false);
}

bool smmu_priq_overflowed(struct smmu *smmu)
{
	return q_overflowed(smmu, &smmu->priq, false);
}

void smmu_evtq_ack_overflow(struct smmu *smmu)
{
	q_overflowed(smmu, &smmu->evtq, true);
}

void smmu_priq_ack_overflow(struct smmu *smmu)
{
	q_overflowed(smmu, &smmu->priq, true);
}

/* ---- stalls and page requests ---- */

static int wait_response(struct smmu *smmu, struct smmu_wait *w)
{
	unsigned int ms = smmu->cfg.stall_timeout_ms;
	struct timespec ts;
	int ret = 0;

	if (ms) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += ms / 1000;
		ts.tv_nsec += (long)(ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
	}
	mutex_lock(&smmu->fq_lock);
	while (!w->done && !ret) {
		if (ms)
			ret = mutex_cond_timedwait(&smmu->resp_cond,
						   &smmu->fq_lock, &ts);
		else
			mutex_cond_wait(&smmu->resp_cond, &smmu->fq_lock);
	}
	LIST_REMOVE(w, link);
	mutex_unlock(&smmu->fq_lock);
	return w->done ? 0 : -ETIMEDOUT;
}

int smmu_fault_wait(struct endpoint *dev, struct smmu_fault *f)
{
	struct smmu *smmu = dev->smmu;
	struct smmu_stream *st = dev->stream;
	bool pri = dev->caps & ENDPOINT_CAP_PRI;
	struct smmu_wait w;
	bool ok;
	int ret;

	memset(&w, 0, sizeof(w));
	w.pri = pri;
	w.sid = dev->sid;
	w.ssid = dev->ssid;
	mutex_lock(&smmu->fq_lock);
	if (pri) {
		struct smmu_page_request r = {
			.sid = dev->sid,
			.addr = f->ev.addr & ~(PHYS_PAGE_SIZE - 1),
			.flags = SMMU_PRI_FL_LAST,
		};

		w.tag = atomic_fetch_add(&dev->next_grpid, 1) &
			FIELD_MAX(PRI, GRPID);
		r.grpid = w.tag;
		if (f->ev.flags & SMMU_EVT_FL_WRITE)
			r.flags |= SMMU_PRI_FL_WRITE;
		if (dev->ssid != SMMU_SSID_NONE) {
			r.ssid = dev->ssid;
			r.flags |= SMMU_PRI_FL_PASID;
		}
		ok = priq_write(smmu, &r);
	} else {
		w.tag = smmu->next_stag++;
		f->ev.flags |= SMMU_EVT_FL_STALL;
		f->ev.stag = w.tag;
		ok = evtq_write(smmu, &f->ev);
	}
	if (ok)
		LIST_INSERT_HEAD(&smmu->waits, &w, link);
	mutex_unlock(&smmu->fq_lock);

	if (!ok) {
		stream_inc(st,
			   pri ? SMMU_CNT_priq_overflows
			       : SMMU_CNT_evtq_overflows,
			   1);
		smmu_raise_irq(smmu, pri ? SMMU_IRQ_PRIQ : SMMU_IRQ_EVTQ);
		return -EFAULT;
	}
	if (pri) {
		stream_inc(st, SMMU_CNT_page_requests, 1);
	} else {
		stream_inc(st, SMMU_CNT_stalls, 1);
		stream_inc(st, SMMU_CNT_events, 1);
		stream_inc(st, evt_counter(f->ev.type), 1);
	}
	smmu_raise_irq(smmu, pri ? SMMU_IRQ_PRIQ : SMMU_IRQ_EVTQ);

	ret = wait_response(smmu, &w);
	if (ret)
		return ret;
	if (pri ? w.resp == SMMU_PRI_RESP_SUCCESS
		: w.resp == SMMU_RESUME_RETRY) {
		stream_inc(st, SMMU_CNT_resp_success, 1);
		return 0;
	}
	stream_inc(st, SMMU_CNT_resp_fail, 1);
	return -EFAULT;
}

/* RESUME and PRI_RESP, executed by the command consumer. */
void smmu_resume(struct smmu *smmu, bool pri, uint32_t sid, uint32_t ssid,
		 uint16_t tag, unsigned int resp)
{
	struct smmu_wait *w;

	lockdep_assert_held(&smmu->cmdq.lock);
	mutex_lock(&smmu->fq_lock);
	LIST_FOREACH(w, &smmu->waits, link) {
		if (w->pri != pri || w->sid != sid || w->tag != tag || w->done)
			continue;
		w->done = true;
		w->resp = resp;
		pthread_cond_broadcast(&smmu->resp_cond);
		break;
	}
	mutex_unlock(&smmu->fq_lock);
}
