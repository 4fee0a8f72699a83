// SPDX-License-Identifier: MIT
/*
 * The translation path: configuration, IOTLB lookup, and the table walker.
 *
 * Data model: the walker reads LPAE descriptors (src/pgtable/lpae_format.h)
 * straight from physical memory, one relaxed 64-bit load per descriptor,
 * independently of the page-table code that wrote them.  Stage 1 starts at
 * the level that CD.T0SZ implies; stage 2 at the level STE.S2SL0 names, with
 * up to 16 concatenated tables at the start level.  In a nested stream the
 * CD pointer, TTB0 and every stage-1 table address are IPAs: each
 * descriptor fetch of the stage-1 walk is itself translated by stage 2
 * (through the IOTLB's stage-2 entries, which walks fill), and the walk's
 * output IPA goes through stage 2 last.  The combined entry cached for a
 * nested translation has the smaller of the two sizes.
 *
 * Fault priority in a walk: walk external abort (descriptor outside
 * memory), translation (invalid or reserved descriptor, input out of
 * range), address size (output beyond the OAS, or the IPA size when
 * nested), access flag (if checked), then permission, checked on the
 * combined permissions by the caller.  Stage-2 faults carry the IPA in
 * fetch_addr and the S2 flag; during a nested stage-1 walk also CLASS_TT.
 *
 * Hardware table updates (HTTU; IDR0.HTTU = access + dirty unless the
 * config's no_httu): with CD.HA a stage-1 leaf with AF = 0 gets AF set
 * instead of an access flag fault; with CD.HD a write through a
 * writable-clean leaf (DBM set, AP[2] read-only) clears AP[2] (dirty).
 * The walker writes the new descriptor with one compare-and-swap on its
 * word in memory (counted httu_af_set / httu_dirty_set); if software
 * changed the word meanwhile (httu_races) the walk starts again.  A leaf
 * is cached with the permissions of the descriptor as it now is: a
 * writable-clean leaf read through is cached read-only, so a later write
 * misses the IOTLB's permission check and walks (and dirties) again; an
 * entry cached while dirty stays writable until software's TLBI.  Nested,
 * the update is a write of the descriptor's IPA: stage 2 must allow it
 * (else an S2 permission fault, CLASS_TT).  Stage 2 has no HTTU here.
 *
 * Invariant: a translation is cached only with the phys epoch sampled before
 * its walk began, so a later DMA through it detects frames reallocated
 * since (phys_access_checked).
 */
#include <string.h>

#include "smmu_internal.h"

struct walk_ctx {
	struct smmu *smmu;
	const struct smmu_ctx *ctx;
	struct smmu_stream *st;
	uint64_t seq;	/* iotlb_inval_seq before the walk */
	uint64_t epoch; /* phys epoch before the walk */
	bool write;	/* the transaction writes (HTTU's dirty update) */
};

struct walk_out {
	phys_addr_t pa; /* output for the input address */
	uint64_t size;
	unsigned int perm;
	unsigned int memtype;
};

static int walk_fault(struct smmu_fault *f, unsigned int type, bool s2,
		      uint64_t fetch_addr, bool recoverable, bool stall)
{
	memset(f, 0, sizeof(*f));
	f->ev.type = type;
	f->ev.flags = s2 ? SMMU_EVT_FL_S2 : 0;
	f->ev.fetch_addr = fetch_addr;
	f->recoverable = recoverable;
	f->stall = stall;
	return -EFAULT;
}

static unsigned int mair_memtype(uint64_t mair, unsigned int idx)
{
	uint8_t a = mair >> (8 * idx);
	unsigned int outer = FIELD_EX(a, MAIR_ATTR, OUTER);

	if (outer == MAIR_ATTR_DEVICE)
		return SMMU_MEM_DEVICE;
	if (outer == MAIR_ATTR_NC ||
	    FIELD_EX(a, MAIR_ATTR, INNER) == MAIR_ATTR_NC)
		return SMMU_MEM_NORMAL_NC;
	return SMMU_MEM_NORMAL_WB;
}

static unsigned int s2_memtype(lpae_pte_t pte)
{
	unsigned int ma = (pte & LPAE_PTE_MEMATTR_MASK) >>
			  LPAE_PTE_MEMATTR_SHIFT;

	if (FIELD_EX(ma, S2_MEMATTR, OUTER) == S2_MEMATTR_DEVICE)
		return SMMU_MEM_DEVICE;
	if (FIELD_EX(ma, S2_MEMATTR, OUTER) == S2_MEMATTR_WB &&
	    FIELD_EX(ma, S2_MEMATTR, INNER) == S2_MEMATTR_WB)
		return SMMU_MEM_NORMAL_WB;
	return SMMU_MEM_NORMAL_NC;
}

static bool read_desc(struct smmu *smmu, struct smmu_stream *st, phys_addr_t pa,
		      lpae_pte_t *pte)
{
	if ((pa & smmu->oas_mask) || !phys_pa_valid(smmu->pm, pa))
		return false;
	*pte = rd64(__phys_to_virt(smmu->pm, pa));
	stream_inc(st, SMMU_CNT_walk_reads, 1);
	return true;
}

int smmu_s2_walk(struct smmu *smmu, const struct smmu_ctx *ctx, uint64_t ipa,
		 phys_addr_t *pa, uint64_t *size, unsigned int *perm,
		 unsigned int *memtype, struct smmu_stream *st,
		 struct smmu_fault *f)
{
	int level = ctx->s2_start;
	unsigned int shift = lpae_level_shift(level);
	uint64_t nr = 1ULL << (ctx->s2_ias - shift);
	phys_addr_t table = ctx->s2_ttb;
	bool stall = ctx->s2_stall;

	stream_inc(st, SMMU_CNT_walks, 1);
	if (ipa >> ctx->s2_ias)
		return walk_fault(f, SMMU_EVT_F_TRANSLATION, true, ipa, false,
				  stall);
	for (;;) {
		uint64_t idx = (ipa >> shift) & (nr - 1);
		lpae_pte_t pte;
		phys_addr_t out;

		if (!read_desc(smmu, st, table + idx * 8, &pte))
			return walk_fault(f, SMMU_EVT_F_WALK_EABT, true,
					  table + idx * 8, false, false);
		if (!(pte & LPAE_PTE_VALID))
			return walk_fault(f, SMMU_EVT_F_TRANSLATION, true, ipa,
					  true, stall);
		if (lpae_pte_is_table(pte, level)) {
			table = pte & LPAE_PTE_ADDR_MASK;
			if (table & smmu->oas_mask)
				return walk_fault(f, SMMU_EVT_F_ADDR_SIZE, true,
						  ipa, false, false);
			level++;
			shift = lpae_level_shift(level);
			nr = LPAE_PTES_PER_TABLE;
			continue;
		}
		if (!lpae_pte_is_leaf(pte, level))
			return walk_fault(f, SMMU_EVT_F_TRANSLATION, true, ipa,
					  true, stall);
		*size = 1ULL << shift;
		out = (pte & LPAE_PTE_ADDR_MASK & ~(*size - 1)) |
		      (ipa & (*size - 1));
		if (out & smmu->oas_mask)
			return walk_fault(f, SMMU_EVT_F_ADDR_SIZE, true, ipa,
					  false, false);
		if (smmu->cfg.check_af && !(pte & LPAE_PTE_AF))
			return walk_fault(f, SMMU_EVT_F_ACCESS, true, ipa, true,
					  stall);
		*pa = out;
		*perm = ((pte & LPAE_PTE_S2AP_READ) ? SMMU_PERM_READ : 0) |
			((pte & LPAE_PTE_S2AP_WRITE) ? SMMU_PERM_WRITE : 0);
		*memtype = s2_memtype(pte);
		return 0;
	}
}

/* Stage 2 of a nested translation, through the IOTLB's stage-2 entries. */
static int s2_xlate(struct walk_ctx *w, uint64_t ipa, bool write,
		    struct walk_out *o, struct smmu_fault *f)
{
	unsigned int need = write ? SMMU_PERM_WRITE : SMMU_PERM_READ;
	struct smmu_xlate x;
	int ret;

	if (!smmu_iotlb_lookup(w->smmu, SMMU_TLB_S2, 0, w->ctx->vmid, ipa,
			       &x) ||
	    !(x.perm & need)) {
		ret = smmu_s2_walk(w->smmu, w->ctx, ipa, &x.pa, &x.size,
				   &x.perm, &x.memtype, w->st, f);
		if (ret)
			return ret;
		x.gen = w->epoch;
		smmu_iotlb_fill(w->smmu, w->seq, SMMU_TLB_S2, 0, w->ctx->vmid,
				ipa, &x, w->st);
	}
	o->pa = x.pa;
	o->size = x.size;
	o->perm = x.perm;
	o->memtype = x.memtype;
	return 0;
}

/*
 * HTTU at a stage-1 leaf (CD.HA / CD.HD in effect): the descriptor the
 * access needs.  With HA an access sets AF (no access flag fault); with
 * HD a write through a writable-clean leaf (DBM set, AP[2] read-only)
 * clears AP[2], making it writable-dirty.  A read never dirties; without
 * HD (or DBM) a read-only leaf stays read-only and the write faults as a
 * permission fault in the caller.
 */
static lpae_pte_t httu_update(const struct walk_ctx *w, lpae_pte_t pte)
{
	if (w->ctx->s1_ha && !(pte & LPAE_PTE_AF))
		pte |= LPAE_PTE_AF;
	if (w->ctx->s1_hd && w->write && (pte & LPAE_PTE_DBM) &&
	    (pte & LPAE_PTE_AP_RDONLY))
		pte &= ~LPAE_PTE_AP_RDONLY;
	return pte;
}

/*
 * Write the updated leaf back as the hardware does: one atomic
 * compare-and-swap on the descriptor in memory.  False: software changed
 * the descriptor since the walk read it (the walk starts again).
 */
static bool httu_write(struct walk_ctx *w, phys_addr_t desc, lpae_pte_t old,
		       lpae_pte_t new)
{
	lpae_pte_t *p = __phys_to_virt(w->smmu->pm, desc);

	if (!__atomic_compare_exchange_n(p, &old, new, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		stream_inc(w->st, SMMU_CNT_httu_races, 1);
		return false;
	}
	if ((new ^ old) & LPAE_PTE_AF)
		stream_inc(w->st, SMMU_CNT_httu_af_set, 1);
	if ((new ^ old) & LPAE_PTE_AP_RDONLY)
		stream_inc(w->st, SMMU_CNT_httu_dirty_set, 1);
	return true;
}

static int s1_walk(struct walk_ctx *w, uint64_t va, struct walk_out *o,
		   struct smmu_fault *f)
{
	const struct smmu_ctx *ctx = w->ctx;
	struct smmu *smmu = w->smmu;
	bool nested = ctx->config == SMMU_STE_NESTED;
	/* the output of stage 1 is an IPA when nested */
	uint64_t out_mask = nested ? ~((1ULL << ctx->s2_ias) - 1)
				   : smmu->oas_mask;
	unsigned int nr, shift;
	phys_addr_t table;
	bool stall = ctx->s1_stall;
	int level;

	stream_inc(w->st, SMMU_CNT_walks, 1);
	if (va >> ctx->s1_ias)
		return walk_fault(f, SMMU_EVT_F_TRANSLATION, false, 0, false,
				  stall);
restart:
	table = ctx->s1_ttb;
	level = lpae_start_level(ctx->s1_ias, false, &nr);
	shift = lpae_level_shift(level);
	for (;;) {
		uint64_t idx = (va >> shift) & (nr - 1);
		phys_addr_t desc = table + idx * 8;
		bool desc_writable = true;
		lpae_pte_t pte, upd;
		phys_addr_t out;

		if (nested) {
			struct walk_out d;
			int ret = s2_xlate(w, desc, false, &d, f);

			if (!ret && !(d.perm & SMMU_PERM_READ))
				ret = walk_fault(f, SMMU_EVT_F_PERMISSION, true,
						 desc, true, ctx->s2_stall);
			if (ret) {
				f->ev.flags |= SMMU_EVT_FL_CLASS_TT;
				f->ev.fetch_addr = desc;
				return ret;
			}
			desc = d.pa;
			desc_writable = d.perm & SMMU_PERM_WRITE;
		}
		if (!read_desc(smmu, w->st, desc, &pte))
			return walk_fault(f, SMMU_EVT_F_WALK_EABT, false, desc,
					  false, false);
		if (!(pte & LPAE_PTE_VALID))
			return walk_fault(f, SMMU_EVT_F_TRANSLATION, false, 0,
					  true, stall);
		if (lpae_pte_is_table(pte, level)) {
			table = pte & LPAE_PTE_ADDR_MASK;
			if (table & out_mask)
				return walk_fault(f, SMMU_EVT_F_ADDR_SIZE,
						  false, 0, false, false);
			level++;
			shift = lpae_level_shift(level);
			nr = LPAE_PTES_PER_TABLE;
			continue;
		}
		if (!lpae_pte_is_leaf(pte, level))
			return walk_fault(f, SMMU_EVT_F_TRANSLATION, false, 0,
					  true, stall);
		o->size = 1ULL << shift;
		out = (pte & LPAE_PTE_ADDR_MASK & ~(o->size - 1)) |
		      (va & (o->size - 1));
		if (out & out_mask)
			return walk_fault(f, SMMU_EVT_F_ADDR_SIZE, false, 0,
					  false, false);
		upd = httu_update(w, pte);
		if (smmu->cfg.check_af && !(upd & LPAE_PTE_AF))
			return walk_fault(f, SMMU_EVT_F_ACCESS, false, 0, true,
					  stall);
		if (upd != pte) {
			/* the update is a write of the descriptor: nested,
			 * its IPA must be writable at stage 2 */
			if (!desc_writable) {
				walk_fault(f, SMMU_EVT_F_PERMISSION, true, 0,
					   true, ctx->s2_stall);
				f->ev.flags |= SMMU_EVT_FL_CLASS_TT;
				f->ev.fetch_addr = table + idx * 8;
				return -EFAULT;
			}
			if (!httu_write(w, desc, pte, upd))
				goto restart;
			pte = upd;
		}
		o->pa = out;
		o->perm = SMMU_PERM_READ |
			  ((pte & LPAE_PTE_AP_RDONLY) ? 0 : SMMU_PERM_WRITE);
		o->memtype = mair_memtype(ctx->mair,
					  (pte & LPAE_PTE_ATTRINDX_MASK) >>
						  LPAE_PTE_ATTRINDX_SHIFT);
		return 0;
	}
}

/* Give a walker's fault the transaction's identity. */
static int txn_fault(struct smmu_txn *t, const struct smmu_ctx *ctx,
		     struct smmu_fault *f)
{
	struct smmu_fault w = *f;

	smmu_fault_init(f, t, w.ev.type);
	f->ev.flags |= w.ev.flags;
	f->ev.fetch_addr = w.ev.fetch_addr;
	if (ctx->config == SMMU_STE_NESTED)
		f->ev.flags |= SMMU_EVT_FL_NESTED;
	f->recoverable = w.recoverable;
	f->stall = w.stall;
	return -EFAULT;
}

static int perm_fault(struct smmu_txn *t, const struct smmu_ctx *ctx,
		      struct smmu_fault *f, bool s2, uint64_t ipa)
{
	walk_fault(f, SMMU_EVT_F_PERMISSION, s2, s2 ? ipa : 0, true,
		   s2 ? ctx->s2_stall : ctx->s1_stall);
	return txn_fault(t, ctx, f);
}

int smmu_translate_slow(struct smmu_txn *t, struct smmu_xlate *x,
			struct smmu_fault *f)
{
	struct smmu *smmu = t->smmu;
	unsigned int need = t->write ? SMMU_PERM_WRITE : SMMU_PERM_READ;
	struct walk_out o, o2;
	struct smmu_ctx ctx;
	struct walk_ctx w;
	unsigned int type;
	uint16_t asid;
	int ret;

	if (unlikely(atomic_load(&smmu->disabled))) {
		/* SMMUEN = 0, GBPA.ABORT: terminated, no event */
		stream_inc(t->st, SMMU_CNT_aborted, 1);
		smmu_fault_init(f, t, 0);
		f->terminate = true;
		return -EFAULT;
	}
	ret = smmu_cfg_lookup(t, &ctx, f);
	if (unlikely(ret))
		return ret;

	switch (ctx.config) {
	case SMMU_STE_S1:
		type = SMMU_TLB_S1;
		asid = ctx.asid;
		break;
	case SMMU_STE_S2:
		type = SMMU_TLB_S2;
		asid = 0;
		break;
	case SMMU_STE_NESTED:
		type = SMMU_TLB_NESTED;
		asid = ctx.asid;
		break;
	case SMMU_STE_BYPASS:
		stream_inc(t->st, SMMU_CNT_bypassed, 1);
		x->pa = t->iova;
		x->size = PHYS_PAGE_SIZE;
		x->perm = SMMU_PERM_READ | SMMU_PERM_WRITE;
		x->memtype = SMMU_MEM_NORMAL_WB;
		x->gen = phys_epoch(smmu->pm);
		x->hit = false;
		return 0;
	default: /* abort: terminated, no event */
		stream_inc(t->st, SMMU_CNT_aborted, 1);
		smmu_fault_init(f, t, 0);
		f->terminate = true;
		return -EFAULT;
	}

	if (smmu_iotlb_lookup(smmu, type, asid, ctx.vmid, t->iova, x) &&
	    (x->perm & need)) {
		hot_inc(&t->hot->iotlb_hits, 1);
		return 0;
	}

	/* miss (or a cached entry without the permission: walk again) */
	stream_inc(t->st, SMMU_CNT_iotlb_misses, 1);
	w.smmu = smmu;
	w.ctx = &ctx;
	w.st = t->st;
	w.seq = atomic_load_explicit(&smmu->iotlb_inval_seq,
				     memory_order_acquire);
	w.epoch = phys_epoch(smmu->pm);
	w.write = t->write;

	switch (type) {
	case SMMU_TLB_S1:
		ret = s1_walk(&w, t->iova, &o, f);
		break;
	case SMMU_TLB_S2:
		ret = smmu_s2_walk(smmu, &ctx, t->iova, &o.pa, &o.size, &o.perm,
				   &o.memtype, t->st, f);
		break;
	default:
		ret = s1_walk(&w, t->iova, &o, f);
		if (ret)
			break;
		ret = s2_xlate(&w, o.pa, t->write, &o2, f);
		if (ret)
			break;
		if (!(o.perm & need))
			return perm_fault(t, &ctx, f, false, 0);
		if (!(o2.perm & need))
			return perm_fault(t, &ctx, f, true, o.pa);
		o.perm &= o2.perm;
		o.memtype = max(o.memtype, o2.memtype);
		o.size = min(o.size, o2.size);
		o.pa = o2.pa;
		break;
	}
	if (ret)
		return txn_fault(t, &ctx, f);

	x->pa = o.pa;
	x->size = o.size;
	x->perm = o.perm;
	x->memtype = o.memtype;
	x->gen = w.epoch;
	x->hit = false;
	smmu_iotlb_fill(smmu, w.seq, type, asid, ctx.vmid, t->iova, x, t->st);
	if (!(o.perm & need))
		return perm_fault(t, &ctx, f, type == SMMU_TLB_S2, t->iova);
	return 0;
}

int __smmu_translate(struct smmu_txn *t, struct smmu_xlate *x,
		     struct smmu_fault *f)
{
	if (likely(smmu_translate_fast(t->smmu, t->cfge, t->cfg_key, t->iova,
				       t->write, t->hot, x)))
		return 0;
	return smmu_translate_slow(t, x, f);
}

static __attribute__((noinline)) int
dev_translate_slow(struct endpoint *dev, struct smmu_hot *hot, uint64_t iova,
		   bool write, struct smmu_xlate *x, struct smmu_event *fault)
{
	struct smmu_txn t = endpoint_txn(dev, hot, iova, write);
	struct smmu_fault f;
	int ret;

	ret = smmu_translate_slow(&t, x, &f);
	if (ret && fault)
		*fault = f.ev;
	return ret;
}

int smmu_translate(struct endpoint *dev, uint64_t iova, bool write,
		   struct smmu_xlate *x, struct smmu_event *fault)
{
	struct smmu_hot *hot = &dev->hot[endpoint_cpu()];

	if (likely(smmu_translate_fast(dev->smmu, dev->cfge, dev->cfg_key, iova,
				       write, hot, x)))
		return 0;
	return dev_translate_slow(dev, hot, iova, write, x, fault);
}
