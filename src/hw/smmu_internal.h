/* SPDX-License-Identifier: MIT */
/*
 * Internals of the emulated SMMU, shared by the files of src/hw.
 *
 * Structures the hardware reads from physical memory (stream table, CD
 * tables, translation tables, command queue) are only ever read with
 * single 64-bit relaxed loads, the way a bus master reads them; structures
 * software reads back (event and PRI queues) are written the same way.
 *
 * Caches and their locks:
 *  - the configuration cache (STE + CD of one (sid, ssid)) is a
 *    direct-mapped array of entries, each with a sequence count.  Readers
 *    are lock-free (seqlock read side); fetch-and-fill and CFGI invalidation
 *    run under cfg_lock, so an invalidation can never be overtaken by the
 *    fill of a value fetched before it.
 *  - the IOTLB is set-associative (sets x ways), one sequence count per
 *    set.  Readers are lock-free; fills and invalidations run under
 *    iotlb_lock.  Walks run without the lock: a walker samples
 *    iotlb_inval_seq before it reads the tables and fills only if no
 *    invalidation ran meanwhile (the translation is still used, once).
 *
 * Lock order: enum hw_lock_rank below.  No SMMU lock is held while
 * interrupt callbacks run.
 */
#ifndef UIOMMU_HW_SMMU_INTERNAL_H
#define UIOMMU_HW_SMMU_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/queue.h>

#include "hw/hw.h"

#include "lib/internal.h"
#include "lib/lock.h"
#include "mem/phys.h"
#include "pgtable/lpae_format.h"
#include "smmu_regs.h"

/*
 * The order of the SMMU's locks, outermost first.  The command consumer
 * holds cmdq.lock while it invalidates the configuration cache (cfg_lock)
 * and the IOTLB (iotlb_lock) and while it completes a waiting transaction
 * (fq_lock).  irq_lock and dev_lock nest inside no other SMMU lock (an
 * interrupt is raised, and the devices' counters are folded, with none
 * held); they come last so that any later nesting is the inner one.
 */
enum hw_lock_rank {
	HW_LOCK_CMDQ = LOCK_RANK_HW, /* smmu->cmdq.lock */
	HW_LOCK_CFG,		     /* smmu->cfg_lock */
	HW_LOCK_IOTLB,		     /* smmu->iotlb_lock */
	HW_LOCK_FQ,		     /* smmu->fq_lock */
	HW_LOCK_IRQ,		     /* smmu->irq_lock */
	HW_LOCK_DEV,		     /* smmu->dev_lock */
};

enum smmu_cnt {
#define SMMU_CNT_ENUM(name) SMMU_CNT_##name,
	SMMU_COUNTERS(SMMU_CNT_ENUM)
#undef SMMU_CNT_ENUM
		SMMU_NR_CNT
};

/* Per-stream state: counters only (all atomic, relaxed). */
struct smmu_stream {
	_Atomic uint64_t cnt[SMMU_NR_CNT];
};

static inline void stream_inc(struct smmu_stream *st, enum smmu_cnt c,
			      uint64_t n)
{
	atomic_fetch_add_explicit(&st->cnt[c], n, memory_order_relaxed);
}

/*
 * Hot counters of one device, one set per CPU id: only the thread(s) of
 * that id write them, with a plain load + store (no locked instruction on
 * the hit path).  Exact unless more than UIOMMU_NR_CPUS threads drive one
 * device at the same moment (two threads then share an id).  Folded into
 * the stream's counters when the device is destroyed.
 */
struct smmu_hot {
	_Atomic uint64_t iotlb_hits;
	_Atomic uint64_t dma_reads, dma_writes;
	_Atomic uint64_t dma_bytes_read, dma_bytes_written;
} __attribute__((aligned(64)));

static inline void hot_inc(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c,
			      atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* ---- configuration cache ---- */

#define SMMU_SSID_NONE 0xfffffu /* key of a transaction without PASID */
#define SMMU_SSID_MAX  (1u << 20)

/* A decoded configuration, as the translation path needs it. */
struct smmu_ctx {
	unsigned int config; /* enum smmu_ste_config */
	bool s1_stall, s2_stall;
	bool s1_ha, s1_hd; /* CD.HA, CD.HD in effect (IDR0.HTTU) */
	unsigned int s1_ias, s2_ias;
	int s2_start;
	uint16_t asid, vmid;
	phys_addr_t s1_ttb; /* an IPA when nested */
	phys_addr_t s2_ttb;
	uint64_t mair;
};

/*
 * key: sid, ssid and valid (CFGK); w[]: the packed struct smmu_ctx (CFGW);
 * tlb_ids: what the IOTLB hit path derives from the context, precomputed:
 * the IOTLB ids (ASID 0 for stage 2) | their set-index hash << 32.
 */
struct smmu_cfg_entry {
	_Atomic uint32_t seq;
	_Atomic uint64_t key;
	_Atomic uint64_t w[4];
	_Atomic uint64_t tlb_ids;
} __attribute__((aligned(64)));

/* ---- IOTLB ---- */

/*
 * tag: va aligned to the entry's size with LEVEL, TYPE and VALID below
 * ids: ASID and VMID
 * pa_attr: pa aligned to size with MEMTYPE and PERM below
 * (the TLBTAG, TLBIDS and TLBPA tables of smmu_regs.h)
 */
struct iotlb_entry {
	_Atomic uint64_t tag;
	_Atomic uint64_t ids;
	_Atomic uint64_t pa_attr;
	_Atomic uint64_t gen;
};

struct iotlb_set {
	_Atomic uint32_t seq;
	uint32_t victim; /* iotlb_lock: round-robin replacement */
};

/*
 * Invalidation index (iotlb_lock; never read by lookups): every valid entry
 * is on the list of its ids bucket (a hash of ASID and VMID), so that an
 * invalidation by ASID, or of a range too large to probe set by set, visits
 * the entries of its ids only.  Links are entry index + 1, 0 ends a list.
 */
struct iotlb_link {
	uint32_t next, prev;
};

struct iotlb_bucket {
	uint32_t head; /* entry index + 1 */
	uint32_t len;  /* entries on the list */
};

/* ---- queues in physical memory ---- */

/* prod and cons carry a wrap bit above the index (bit shift). */
struct smmu_queue {
	phys_addr_t base;
	uint64_t *va;
	unsigned int shift;  /* log2(entries) */
	unsigned int dwords; /* per entry */
	unsigned int order;  /* of the frames */
	uint32_t prod, cons;
	bool overflow;
};

static inline uint32_t q_idx(const struct smmu_queue *q, uint32_t p)
{
	return p & ((1u << q->shift) - 1);
}

/* The entry at index p (wrap bit ignored). */
static inline uint64_t *q_entry(const struct smmu_queue *q, uint32_t p)
{
	return q->va + (uint64_t)q_idx(q, p) * q->dwords;
}

static inline bool q_full(const struct smmu_queue *q)
{
	return q_idx(q, q->prod) == q_idx(q, q->cons) && q->prod != q->cons;
}

static inline bool q_empty(const struct smmu_queue *q)
{
	return q->prod == q->cons;
}

static inline uint32_t q_inc(const struct smmu_queue *q, uint32_t p)
{
	return (p + 1) & ((2u << q->shift) - 1);
}

/* A transaction waiting for RESUME or PRI_RESP; lives on the waiter's stack,
 * linked on smmu->waits under fq_lock. */
struct smmu_wait {
	LIST_ENTRY(smmu_wait) link;
	bool pri; /* PRI_RESP (else RESUME) */
	uint32_t sid, ssid;
	uint16_t tag; /* grpid or stag */
	bool done;
	unsigned int resp;
};

struct smmu_cmdq {
	struct mutex lock;	  /* everything below, and consumption */
	pthread_cond_t cons_cond; /* consumer thread: work to do */
	pthread_cond_t done_cond; /* issuers: progress, sync, error */
	struct smmu_queue q;
	bool error;		      /* GERROR.CMDQ_ERR active */
	enum smmu_cmdq_cerror cerror; /* CONS.ERR */
	uint32_t gerror, gerrorn;     /* the registers */
	/* the gerror interrupt is owed (inline: to the next waiter) */
	bool irq_due;
	/* the handler ran and left the error active: waiters give up */
	bool err_unhandled;
	uint64_t err_seq;	   /* bumped by every stop */
	unsigned int fetch_aborts; /* test hook: fetches still to abort */
	uint64_t queued, consumed; /* commands ever written / passed */
};

/*
 * In-flight DMA, for CMD_SYNC: a device access publishes the DMA epoch in
 * its CPU's slot before it looks a translation up and clears it when its
 * copy is done (not while it waits for a fault to be answered).  A sync
 * bumps the epoch and waits for every slot holding an older one, so, as on
 * hardware, it completes only after the transactions that may have used a
 * translation invalidated before it.
 */
struct smmu_inflight {
	_Atomic uint64_t epoch; /* 0: idle */
} __attribute__((aligned(64)));

struct smmu {
	/* immutable after smmu_create() */
	struct phys_mem *pm;
	struct smmu_config cfg;
	uint64_t oas_mask; /* bits above the OAS */
	phys_addr_t strtab;
	uint64_t *strtab_va;
	unsigned int strtab_order;
	uint32_t nr_sids;
	struct smmu_stream *streams;
	/* SMMUEN = 0 with GBPA.ABORT: all DMA aborts.  Set once, by
	 * smmu_disable_abort, which empties the configuration cache; nothing
	 * is cached after it, so the fast path (a cfg hit) needs no check */
	_Atomic bool disabled;

	_Atomic uint64_t dma_epoch; /* bumped by each completed CMD_SYNC */
	_Atomic unsigned int inflight_cpus; /* slots ever used: [0, n) */
	struct smmu_inflight inflight[UIOMMU_NR_CPUS];

	struct mutex cfg_lock;
	struct smmu_cfg_entry *cfg_cache; /* seqlock readers, cfg_lock */
	uint32_t cfg_mask;

	struct mutex iotlb_lock;
	_Atomic uint64_t iotlb_inval_seq; /* bumped by every invalidation */
	_Atomic uint32_t levels_present;  /* bit per level cached since flush */
	struct iotlb_set *sets;		  /* iotlb_lock (victim) */
	struct iotlb_entry *entries;	  /* seqlock readers, iotlb_lock */
	uint32_t set_mask;
	unsigned int ways;
	unsigned int ways_shift;      /* log2(ways) */
	uint64_t nested_entries;      /* iotlb_lock: valid nested entries */
	uint64_t valid_entries;	      /* iotlb_lock: valid entries */
	struct iotlb_link *links;     /* iotlb_lock: one per entry */
	struct iotlb_bucket *buckets; /* iotlb_lock: set_mask + 1 of them */

	struct smmu_cmdq cmdq;

	struct mutex fq_lock; /* evtq, priq, waits, next_stag */
	pthread_cond_t resp_cond;
	struct smmu_queue evtq, priq;
	LIST_HEAD(, smmu_wait) waits;
	uint16_t next_stag;

	struct mutex irq_lock; /* irq_ops, irq_priv, irq_pending, irq_stop */
	pthread_cond_t irq_cond;
	pthread_cond_t irq_idle; /* irq_running dropped to 0 */
	const struct smmu_irq_ops *irq_ops;
	void *irq_priv;
	unsigned int irq_pending;
	unsigned int irq_running; /* irq_lock: handlers being called */
	bool irq_stop;		  /* irq_lock */
	bool cmdq_stop; /* cmdq.lock: consumer thread gone, syncs fail */
	bool threads_started;
	pthread_t cmdq_thread, irq_thread;

	struct mutex dev_lock; /* devs */
	LIST_HEAD(, endpoint) devs;

	_Atomic uint64_t cnt[SMMU_NR_CNT]; /* command queue counts */
};

static inline void smmu_inc(struct smmu *smmu, enum smmu_cnt c)
{
	atomic_fetch_add_explicit(&smmu->cnt[c], 1, memory_order_relaxed);
}

struct endpoint {
	struct smmu *smmu;
	struct smmu_stream *stream;
	uint32_t sid;
	uint32_t ssid; /* SMMU_SSID_NONE without ENDPOINT_CAP_PASID */
	unsigned int caps;
	struct smmu_cfg_entry *cfge;
	uint64_t cfg_key;
	_Atomic uint32_t next_grpid;
	/* what the sanitizer reports it as (endpoint_set_san), or NULL */
	const struct san_device *san;
	LIST_ENTRY(endpoint) link; /* smmu->dev_lock */
	struct smmu_hot hot[UIOMMU_NR_CPUS];
};

/* Add a device's hot counters (of stream sid, or all if sid is -1) to v. */
void smmu_hot_fold(struct smmu *smmu, int64_t sid, uint64_t *v);
void smmu_hot_reset(struct smmu *smmu);

/* A fault as the translation path found it. */
struct smmu_fault {
	struct smmu_event ev;
	bool recoverable; /* translation, access flag, permission */
	bool stall;	  /* the faulting stage has stall enabled */
	bool terminate;	  /* abort config: fail without an event */
};

/* Translation context of one transaction. */
struct smmu_txn {
	struct smmu *smmu;
	struct smmu_stream *st;
	uint32_t sid, ssid;
	uint64_t iova;
	bool write;
	struct smmu_cfg_entry *cfge; /* where (sid, ssid) is cached */
	uint64_t cfg_key;
	struct smmu_hot *hot; /* this thread's counters of the device */
};

/* The transaction of an access by dev (the slow paths build it). */
static inline struct smmu_txn endpoint_txn(struct endpoint *dev,
					   struct smmu_hot *hot, uint64_t iova,
					   bool write)
{
	return (struct smmu_txn){
		.smmu = dev->smmu,
		.st = dev->stream,
		.sid = dev->sid,
		.ssid = dev->ssid,
		.iova = iova,
		.write = write,
		.cfge = dev->cfge,
		.cfg_key = dev->cfg_key,
		.hot = hot,
	};
}

void smmu_inflight_grow(struct smmu *smmu, unsigned int cpu);

static inline void dma_enter(struct smmu *smmu, unsigned int cpu)
{
	if (unlikely(cpu >= atomic_load_explicit(&smmu->inflight_cpus,
						 memory_order_relaxed)))
		smmu_inflight_grow(smmu, cpu); /* once per CPU id */
	/* a locked exchange: the slot store is ordered before the
	 * translation's loads (Dekker with the sync's fence) and costs less
	 * than a store and a full fence */
	atomic_exchange_explicit(&smmu->inflight[cpu].epoch,
				 atomic_load_explicit(&smmu->dma_epoch,
						      memory_order_relaxed),
				 memory_order_seq_cst);
}

static inline void dma_exit(struct smmu *smmu, unsigned int cpu)
{
	atomic_store_explicit(&smmu->inflight[cpu].epoch, 0,
			      memory_order_release);
}

void smmu_sync_inflight(struct smmu *smmu);

/* smmu.c */
int smmu_cfg_lookup(struct smmu_txn *t, struct smmu_ctx *ctx,
		    struct smmu_fault *f);
void smmu_cfg_inval(struct smmu *smmu, bool all, uint32_t sid, bool leaf_cd,
		    uint32_t ssid);
void smmu_fault_init(struct smmu_fault *f, const struct smmu_txn *t,
		     unsigned int type);

/* smmu_walk.c */
int smmu_s2_walk(struct smmu *smmu, const struct smmu_ctx *ctx, uint64_t ipa,
		 phys_addr_t *pa, uint64_t *size, unsigned int *perm,
		 unsigned int *memtype, struct smmu_stream *st,
		 struct smmu_fault *f);
int __smmu_translate(struct smmu_txn *t, struct smmu_xlate *x,
		     struct smmu_fault *f);

/* smmu_tlb.c */
int smmu_iotlb_init(struct smmu *smmu);
void smmu_iotlb_free(struct smmu *smmu);
void smmu_iotlb_fill(struct smmu *smmu, uint64_t seq, unsigned int type,
		     uint16_t asid, uint16_t vmid, uint64_t va,
		     const struct smmu_xlate *x, struct smmu_stream *st);
enum smmu_inval_kind {
	INV_NH_VA,     /* asid, vmid, range: S1 and nested */
	INV_NH_ASID,   /* asid, vmid */
	INV_NH_ALL,    /* vmid: S1 and nested */
	INV_S2_IPA,    /* vmid, range: S2; nested of vmid */
	INV_S12_VMALL, /* vmid: all types */
	INV_ALL,
};
void smmu_iotlb_inval(struct smmu *smmu, enum smmu_inval_kind kind,
		      uint16_t asid, uint16_t vmid, uint64_t addr,
		      uint64_t len);

/* smmu_cmdq.c */
int smmu_cmdq_init(struct smmu *smmu);
void smmu_cmdq_free(struct smmu *smmu);
void *smmu_cmdq_thread(void *arg);

/* smmu_queues.c */
int smmu_queues_init(struct smmu *smmu);
void smmu_queues_free(struct smmu *smmu);
void *smmu_irq_thread(void *arg);
int smmu_queue_alloc(struct smmu *smmu, struct smmu_queue *q,
		     unsigned int entries, unsigned int dwords);
void smmu_queue_free(struct smmu *smmu, struct smmu_queue *q);
/* Record an event (no stall): counts it, raises the irq. */
void smmu_record_event(struct smmu *smmu, struct smmu_stream *st,
		       const struct smmu_event *ev);
/* Recoverable fault of a stall or PRI capable device: record, raise, wait.
 * 0: retry; -EFAULT: aborted / failed / not recorded; -ETIMEDOUT. */
int smmu_fault_wait(struct endpoint *dev, struct smmu_fault *f);
void smmu_resume(struct smmu *smmu, bool pri, uint32_t sid, uint32_t ssid,
		 uint16_t tag, unsigned int resp);
void smmu_raise_irq(struct smmu *smmu, unsigned int which);
#define SMMU_IRQ_EVTQ	1u
#define SMMU_IRQ_PRIQ	2u
#define SMMU_IRQ_GERROR 4u
void smmu_call_gerror_irq(struct smmu *smmu);

static inline uint64_t rd64(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void wr64(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/* ---- hit path helpers, inlined into the translation path ---- */

extern __thread int smmu_this_cpu __attribute__((tls_model("initial-exec")));

static inline unsigned int endpoint_cpu(void)
{
	if (unlikely(smmu_this_cpu < 0))
		smmu_this_cpu = (int)uiommu_cpu_id();
	return (unsigned int)smmu_this_cpu;
}

static inline uint64_t cfg_key(uint32_t sid, uint32_t ssid)
{
	return FIELD_PREP(CFGK, SID, sid) | FIELD_PREP(CFGK, SSID, ssid) |
	       FIELD_PREP(CFGK, VALID, 1);
}

static inline uint32_t cfg_index(const struct smmu *smmu, uint32_t sid,
				 uint32_t ssid)
{
	return (sid ^ (ssid * 0x9e3779b1u)) & smmu->cfg_mask;
}

/* Packed word 0 and tlb_ids of a cached configuration, if (sid, ssid) is
 * cached. */
static inline bool cfg_peek(struct smmu_cfg_entry *e, uint64_t want,
			    uint64_t *w0, uint64_t *tlb_ids)
{
	uint64_t key, w, ti;
	uint32_t seq;

	do {
		seq = atomic_load_explicit(&e->seq, memory_order_acquire);
		/* acquire loads: the re-read of seq cannot pass them */
		key = atomic_load_explicit(&e->key, memory_order_acquire);
		w = atomic_load_explicit(&e->w[0], memory_order_acquire);
		ti = atomic_load_explicit(&e->tlb_ids, memory_order_acquire);
	} while (unlikely(
		(seq & 1) ||
		seq != atomic_load_explicit(&e->seq, memory_order_relaxed)));
	*w0 = w;
	*tlb_ids = ti;
	return key == want;
}

static inline uint64_t iotlb_ids(uint16_t asid, uint16_t vmid)
{
	return FIELD_PREP(TLBIDS, ASID, asid) | FIELD_PREP(TLBIDS, VMID, vmid);
}

/* The ids term of a set index, computed once per lookup. */
static inline uint32_t iotlb_ids_hash(uint64_t ids)
{
	return (uint32_t)(ids * 0x9e37ULL);
}

static inline uint64_t cfg_tlb_ids(const struct smmu_ctx *c)
{
	uint64_t ids =
		iotlb_ids(c->config == SMMU_STE_S2 ? 0 : c->asid, c->vmid);

	return ids | (uint64_t)iotlb_ids_hash(ids) << 32;
}

static inline uint32_t __set_index(const struct smmu *smmu, uint64_t va,
				   unsigned int shift, uint32_t ids_hash)
{
	uint64_t vpn = va >> shift;

	return ((uint32_t)(vpn ^ (vpn >> 20)) ^ ids_hash) & smmu->set_mask;
}

static inline uint32_t set_index(const struct smmu *smmu, uint64_t va,
				 unsigned int shift, uint64_t ids)
{
	return __set_index(smmu, va, shift, iotlb_ids_hash(ids));
}

/*
 * An entry's tag holds the whole input address of its base, bits 63:12,
 * beside the fields of TLBTAG: an address outside the input range (past
 * CD.T0SZ's, or with high bits set) never matches an entry, so it misses
 * and the walk faults it, as the SMMU's range check comes before any
 * lookup.  (Masking the address down to an output address's width would
 * alias such an address onto a cached one.)
 */
#define TLBTAG_VA_MASK (~(uint64_t)0xfff)

static inline uint64_t make_tag(uint64_t base, int level, unsigned int type)
{
	return base | FIELD_PREP(TLBTAG, LEVEL, level) |
	       FIELD_PREP(TLBTAG, TYPE, type) | FIELD_PREP(TLBTAG, VALID, 1);
}

static inline int tag_level(uint64_t tag)
{
	return FIELD_EX(tag, TLBTAG, LEVEL);
}

static inline unsigned int tag_type(uint64_t tag)
{
	return FIELD_EX(tag, TLBTAG, TYPE);
}

static inline void fill_xlate(uint64_t va, int level, uint64_t pa_attr,
			      uint64_t gen, struct smmu_xlate *x)
{
	uint64_t size = 1ULL << lpae_level_shift(level);

	x->size = size;
	x->pa = (pa_attr & ~(size - 1) & LPAE_PTE_ADDR_MASK) |
		(va & (size - 1));
	x->perm = FIELD_EX(pa_attr, TLBPA, PERM);
	x->memtype = FIELD_EX(pa_attr, TLBPA, MEMTYPE);
	x->gen = gen;
	x->hit = true;
}

/*
 * Probe one set for (tag, ids), lock-free.  The ways of a set are
 * contiguous; the set's sequence count is re-read after the probe, and the
 * probe retried while a writer was (or is) at work on the set.
 */
static __attribute__((always_inline)) inline bool
iotlb_probe_set(struct smmu *smmu, uint32_t idx, uint64_t tag, uint64_t ids,
		uint64_t *pa_attr, uint64_t *gen)
{
	struct iotlb_set *set = &smmu->sets[idx];
	struct iotlb_entry *e =
		&smmu->entries[(uint64_t)idx << smmu->ways_shift];
	struct iotlb_entry *end = e + smmu->ways;
	uint32_t seq;
	bool found;

	do {
		struct iotlb_entry *p;

		seq = atomic_load_explicit(&set->seq, memory_order_acquire);
		found = false;
		for (p = e; p < end; p++) {
			if (atomic_load_explicit(&p->tag,
						 memory_order_acquire) != tag ||
			    atomic_load_explicit(&p->ids,
						 memory_order_acquire) != ids)
				continue;
			*pa_attr = atomic_load_explicit(&p->pa_attr,
							memory_order_acquire);
			*gen = atomic_load_explicit(&p->gen,
						    memory_order_acquire);
			found = true;
			break;
		}
	} while (unlikely(
		(seq & 1) ||
		seq != atomic_load_explicit(&set->seq, memory_order_acquire)));
	return found;
}

/* Probe the set of one size (level) for va. */
static __attribute__((always_inline)) inline bool
iotlb_probe_level(struct smmu *smmu, int level, unsigned int type, uint64_t ids,
		  uint32_t ids_hash, uint64_t va, struct smmu_xlate *x)
{
	unsigned int shift = lpae_level_shift(level);
	uint64_t pa_attr = 0, gen = 0;
	uint64_t tag = make_tag(va & ~((1ULL << shift) - 1) & TLBTAG_VA_MASK,
				level, type);
	uint32_t idx = __set_index(smmu, va, shift, ids_hash);

	if (!iotlb_probe_set(smmu, idx, tag, ids, &pa_attr, &gen))
		return false;
	fill_xlate(va, level, pa_attr, gen, x);
	return true;
}

/*
 * One set per size that may be cached (levels_present), smallest first.
 * The levels are unrolled so that each probe works with constant shifts.
 */
static __attribute__((always_inline)) inline bool
__smmu_iotlb_lookup(struct smmu *smmu, unsigned int type, uint64_t ids,
		    uint32_t ids_hash, uint64_t va, struct smmu_xlate *x)
{
	uint32_t present = atomic_load_explicit(&smmu->levels_present,
						memory_order_acquire);

	_Static_assert(LPAE_MAX_LEVELS == 4, "levels 3, 2 and 1 are probed");
	if ((present & (1u << 3)) &&
	    iotlb_probe_level(smmu, 3, type, ids, ids_hash, va, x))
		return true;
	if (unlikely(present & (1u << 2)) &&
	    iotlb_probe_level(smmu, 2, type, ids, ids_hash, va, x))
		return true;
	if (unlikely(present & (1u << 1)) &&
	    iotlb_probe_level(smmu, 1, type, ids, ids_hash, va, x))
		return true;
	return false;
}

static __attribute__((always_inline)) inline bool
smmu_iotlb_lookup(struct smmu *smmu, unsigned int type, uint16_t asid,
		  uint16_t vmid, uint64_t va, struct smmu_xlate *x)
{
	uint64_t ids = iotlb_ids(asid, vmid);

	return __smmu_iotlb_lookup(smmu, type, ids, iotlb_ids_hash(ids), va, x);
}

int smmu_translate_slow(struct smmu_txn *t, struct smmu_xlate *x,
			struct smmu_fault *f);

/*
 * The hit path: the cached configuration's first word (config, ASID, VMID)
 * and one IOTLB set per cached size, lock-free, one per-CPU counter.
 * Anything else (false) goes the slow way, which looks both up again.
 * It takes the transaction's fields one by one, so that a caller builds its
 * struct smmu_txn only on the slow path.
 */
static __attribute__((always_inline)) inline bool
smmu_translate_fast(struct smmu *smmu, struct smmu_cfg_entry *cfge,
		    uint64_t key, uint64_t iova, bool write,
		    struct smmu_hot *hot, struct smmu_xlate *x)
{
	unsigned int need = write ? SMMU_PERM_WRITE : SMMU_PERM_READ;
	unsigned int config;
	uint64_t w0, tlb_ids;

	if (unlikely(!cfg_peek(cfge, key, &w0, &tlb_ids)))
		return false;
	config = FIELD_EX(w0, CFGW, CONFIG);
	if (unlikely(config < SMMU_STE_S1))
		return false;
	if (likely(__smmu_iotlb_lookup(smmu, config - SMMU_STE_BYPASS,
				       (uint32_t)tlb_ids, tlb_ids >> 32, iova,
				       x)) &&
	    likely(x->perm & need)) {
		hot_inc(&hot->iotlb_hits, 1);
		return true;
	}
	return false;
}

#endif /* UIOMMU_HW_SMMU_INTERNAL_H */
