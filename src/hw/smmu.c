// SPDX-License-Identifier: MIT
/*
 * The emulated SMMU: creation, the stream table and context descriptors,
 * the configuration cache, and counters.
 *
 * Data model: the stream table is 2^sid_bits STEs of 64 bytes in physical
 * frames allocated here; CD tables are wherever software puts them (an IPA
 * for nested streams).  Software writes both with smmu_ste_write() and
 * smmu_cd_write(), which touch memory only; the hardware reads them on a
 * configuration-cache miss and keeps what it read until CFGI_STE (which
 * also drops the CDs fetched through that STE), CFGI_CD or CFGI_ALL.
 * Faulty configurations (C_BAD_STE, C_BAD_CD, ...) are never cached.
 *
 * Encodings: the STE and CD field tables of smmu_regs.h (the SMMUv3
 * positions of the fields the model reads; docs/hw.md lists them).
 *
 * Invariants: a cached configuration entry equals the decode of the memory
 * it was fetched from at a time no earlier than the last CFGI covering it;
 * counters are only ever incremented (or reset as a whole).
 */
#include <stddef.h>
#include <string.h>

#include <jansson.h>

#include "smmu_internal.h"

/* ---- encodings (the tables are in smmu_regs.h) --------------------------- */

SMMU_REGS_CHECK_PUBLIC();

static const struct field_map ste_map[] = {
	FM_VAL(STE, VALID, struct smmu_ste, valid),
	FM_VAL(STE, CONFIG, struct smmu_ste, config),
	FM_ADDR(STE, S1CONTEXTPTR, struct smmu_ste, s1_ctx_ptr),
	FM_VAL(STE, S1CDMAX, struct smmu_ste, s1_cd_max),
	FM_VAL(STE, S2VMID, struct smmu_ste, s2_vmid),
	FM_VAL(STE, S2T0SZ, struct smmu_ste, s2_t0sz),
	FM_VAL(STE, S2SL0, struct smmu_ste, s2_sl0),
	FM_VAL(STE, S2S, struct smmu_ste, s2_stall),
	FM_ADDR(STE, S2TTB, struct smmu_ste, s2_ttb),
};

FIELDS_CODEC(smmu_ste, struct smmu_ste, ste_map, STE_DWORDS);

/* A guest's STE words: only the fields a nested stream's guest may own
 * (Linux 6.13's STRTAB_STE_{0,1}_NESTING_ALLOWED). */
static const struct field_map guest_ste_map[] = {
	FM_VAL(STE, VALID, struct smmu_guest_ste, valid),
	FM_VAL(STE, CONFIG, struct smmu_guest_ste, config),
	FM_VAL(STE, S1FMT, struct smmu_guest_ste, s1_fmt),
	FM_ADDR(STE, S1CONTEXTPTR, struct smmu_guest_ste, s1_ctx_ptr),
	FM_VAL(STE, S1CDMAX, struct smmu_guest_ste, s1_cd_max),
	FM_VAL(STE, S1DSS, struct smmu_guest_ste, s1_dss),
	FM_VAL(STE, S1CIR, struct smmu_guest_ste, s1_cir),
	FM_VAL(STE, S1COR, struct smmu_guest_ste, s1_cor),
	FM_VAL(STE, S1CSH, struct smmu_guest_ste, s1_csh),
	FM_VAL(STE, S1STALLD, struct smmu_guest_ste, s1_stalld),
	FM_VAL(STE, EATS, struct smmu_guest_ste, eats),
};

int smmu_guest_ste_decode(const uint64_t dw[2], struct smmu_guest_ste *ste)
{
	uint64_t back[2];

	fields_decode(guest_ste_map, FM_COUNT(guest_ste_map), dw, ste,
		      sizeof(*ste));
	/* a bit outside those fields does not survive the round trip */
	fields_encode(guest_ste_map, FM_COUNT(guest_ste_map), ste, back, 2);
	return back[0] == dw[0] && back[1] == dw[1] ? 0 : -EIO;
}

static const struct field_map cd_map[] = {
	FM_VAL(CD, T0SZ, struct smmu_cd, t0sz),
	FM_VAL(CD, VALID, struct smmu_cd, valid),
	FM_VAL(CD, S, struct smmu_cd, stall),
	FM_VAL(CD, HA, struct smmu_cd, ha),
	FM_VAL(CD, HD, struct smmu_cd, hd),
	FM_VAL(CD, ASID, struct smmu_cd, asid),
	FM_ADDR(CD, TTB0, struct smmu_cd, ttb0),
	FM_VAL(CD, MAIR, struct smmu_cd, mair),
};

FIELDS_CODEC(smmu_cd, struct smmu_cd, cd_map, CD_DWORDS);

phys_addr_t smmu_strtab_base(const struct smmu *smmu)
{
	return smmu->strtab;
}

/* Dwords 1..7 first, dword 0 (with V) last, as a driver must. */
static void write_desc(uint64_t *p, const uint64_t dw[8])
{
	int i;

	for (i = 1; i < 8; i++)
		wr64(&p[i], dw[i]);
	__atomic_store_n(&p[0], dw[0], __ATOMIC_RELEASE);
}

/* Dword 0 (with V) first, then the rest, as the SMMU fetches. */
static void read_desc(const uint64_t *p, uint64_t dw[8])
{
	int i;

	dw[0] = __atomic_load_n(&p[0], __ATOMIC_ACQUIRE);
	for (i = 1; i < 8; i++)
		dw[i] = rd64(&p[i]);
}

int smmu_ste_write(struct smmu *smmu, uint32_t sid, const struct smmu_ste *ste)
{
	uint64_t dw[8];

	if (sid >= smmu->nr_sids)
		return -EINVAL;
	smmu_ste_encode(ste, dw);
	write_desc(smmu->strtab_va + (uint64_t)sid * 8, dw);
	return 0;
}

int smmu_ste_read(struct smmu *smmu, uint32_t sid, struct smmu_ste *ste)
{
	uint64_t dw[8];
	int i;

	if (sid >= smmu->nr_sids)
		return -EINVAL;
	for (i = 0; i < 8; i++)
		dw[i] = rd64(smmu->strtab_va + (uint64_t)sid * 8 + i);
	smmu_ste_decode(dw, ste);
	return 0;
}

int smmu_cd_write(struct smmu *smmu, phys_addr_t cd_table, uint32_t ssid,
		  const struct smmu_cd *cd)
{
	phys_addr_t pa;
	uint64_t dw[8];

	if (ssid >= SMMU_SSID_MAX || !IS_ALIGNED(cd_table, SMMU_CD_SIZE) ||
	    check_add_overflow(cd_table, (uint64_t)ssid * SMMU_CD_SIZE, &pa) ||
	    !phys_pa_valid(smmu->pm, pa) ||
	    !phys_pa_valid(smmu->pm, pa + SMMU_CD_SIZE - 1))
		return -EFAULT;
	smmu_cd_encode(cd, dw);
	write_desc(__phys_to_virt(smmu->pm, pa), dw);
	return 0;
}

/* ---- configuration cache --------------------------------------------------- */

void smmu_fault_init(struct smmu_fault *f, const struct smmu_txn *t,
		     unsigned int type)
{
	memset(f, 0, sizeof(*f));
	f->ev.type = type;
	f->ev.sid = t->sid;
	f->ev.addr = t->iova;
	if (t->write)
		f->ev.flags |= SMMU_EVT_FL_WRITE;
	if (t->ssid != SMMU_SSID_NONE) {
		f->ev.ssid = t->ssid;
		f->ev.flags |= SMMU_EVT_FL_SSV;
	}
}

/*
 * The configuration cache's packed context (CFGW).  Unpacked on every
 * IOTLB miss, so by hand with the table's names rather than through a map.
 */
static void ctx_pack(const struct smmu_ctx *c, uint64_t w[4])
{
	w[0] = FIELD_PREP(CFGW, CONFIG, c->config) |
	       FIELD_PREP(CFGW, S1_STALL, c->s1_stall) |
	       FIELD_PREP(CFGW, S2_STALL, c->s2_stall) |
	       FIELD_PREP(CFGW, S1_HA, c->s1_ha) |
	       FIELD_PREP(CFGW, S1_HD, c->s1_hd) |
	       FIELD_PREP(CFGW, S1_IAS, c->s1_ias) |
	       FIELD_PREP(CFGW, S2_IAS, c->s2_ias) |
	       FIELD_PREP(CFGW, S2_START, c->s2_start) |
	       FIELD_PREP(CFGW, ASID, c->asid) |
	       FIELD_PREP(CFGW, VMID, c->vmid);
	w[CFGW_S1_TTB_WORD] = c->s1_ttb;
	w[CFGW_S2_TTB_WORD] = c->s2_ttb;
	w[CFGW_MAIR_WORD] = c->mair;
}

static inline void ctx_unpack(const uint64_t w[4], struct smmu_ctx *c)
{
	c->config = FIELD_EX64(w, CFGW, CONFIG);
	c->s1_stall = FIELD_EX64(w, CFGW, S1_STALL);
	c->s2_stall = FIELD_EX64(w, CFGW, S2_STALL);
	c->s1_ha = FIELD_EX64(w, CFGW, S1_HA);
	c->s1_hd = FIELD_EX64(w, CFGW, S1_HD);
	c->s1_ias = FIELD_EX64(w, CFGW, S1_IAS);
	c->s2_ias = FIELD_EX64(w, CFGW, S2_IAS);
	c->s2_start = FIELD_EX64(w, CFGW, S2_START);
	c->asid = FIELD_EX64(w, CFGW, ASID);
	c->vmid = FIELD_EX64(w, CFGW, VMID);
	c->s1_ttb = w[CFGW_S1_TTB_WORD];
	c->s2_ttb = w[CFGW_S2_TTB_WORD];
	c->mair = w[CFGW_MAIR_WORD];
}

static int bad_ste(struct smmu_txn *t, struct smmu_fault *f)
{
	smmu_fault_init(f, t, SMMU_EVT_C_BAD_STE);
	return -EFAULT;
}

static int bad_cd(struct smmu_txn *t, struct smmu_fault *f)
{
	smmu_fault_init(f, t, SMMU_EVT_C_BAD_CD);
	return -EFAULT;
}

/* Read and check the CD of t->ssid (stage 1 and nested streams). */
static int cd_fetch(struct smmu_txn *t, const struct smmu_ste *ste,
		    struct smmu_ctx *ctx, struct smmu_fault *f)
{
	struct smmu *smmu = t->smmu;
	uint32_t ssid = t->ssid == SMMU_SSID_NONE ? 0 : t->ssid;
	phys_addr_t cd_addr, pa;
	unsigned int perm, memtype, ias;
	uint64_t size, dw[8];
	const uint64_t *p;
	struct smmu_cd cd;
	int ret;

	if (t->ssid != SMMU_SSID_NONE && (ssid >> ste->s1_cd_max)) {
		smmu_fault_init(f, t, SMMU_EVT_C_BAD_SUBSTREAMID);
		return -EFAULT;
	}
	cd_addr = ste->s1_ctx_ptr + (uint64_t)ssid * SMMU_CD_SIZE;
	if (ctx->config == SMMU_STE_NESTED) {
		ret = smmu_s2_walk(smmu, ctx, cd_addr, &pa, &size, &perm,
				   &memtype, t->st, f);
		if (!ret && !(perm & SMMU_PERM_READ)) {
			smmu_fault_init(f, t, SMMU_EVT_F_PERMISSION);
			f->ev.flags |= SMMU_EVT_FL_S2;
			f->ev.fetch_addr = cd_addr;
			ret = -EFAULT;
		}
		if (ret) {
			/* the walker filled in the type; make it this txn's */
			unsigned int type = f->ev.type;
			uint8_t fl = f->ev.flags & SMMU_EVT_FL_S2;

			smmu_fault_init(f, t, type);
			f->ev.flags |= fl | SMMU_EVT_FL_CLASS_CD |
				       SMMU_EVT_FL_NESTED;
			f->ev.fetch_addr = cd_addr;
			return ret;
		}
	} else {
		pa = cd_addr;
	}
	if ((pa & smmu->oas_mask) || !phys_pa_valid(smmu->pm, pa) ||
	    !phys_pa_valid(smmu->pm, pa + SMMU_CD_SIZE - 1)) {
		smmu_fault_init(f, t, SMMU_EVT_F_CD_FETCH);
		f->ev.fetch_addr = pa;
		return -EFAULT;
	}
	p = __phys_to_virt(smmu->pm, pa);
	read_desc(p, dw);
	smmu_cd_decode(dw, &cd);
	if (!cd.valid)
		return bad_cd(t, f);
	ias = 64 - cd.t0sz;
	if (cd.t0sz > 64 || ias < LPAE_MIN_IAS || ias > LPAE_MAX_IAS)
		return bad_cd(t, f);
	if (!IS_ALIGNED(cd.ttb0, PHYS_PAGE_SIZE))
		return bad_cd(t, f);
	if (ctx->config == SMMU_STE_NESTED ? (cd.ttb0 >> ctx->s2_ias) != 0
					   : (cd.ttb0 & smmu->oas_mask) != 0)
		return bad_cd(t, f);
	ctx->s1_ias = ias;
	ctx->s1_ttb = cd.ttb0;
	ctx->s1_stall = cd.stall;
	/* HTTU: CD.HA and CD.HD take effect only where IDR0.HTTU says so */
	ctx->s1_ha = cd.ha && !smmu->cfg.no_httu;
	ctx->s1_hd = cd.hd && !smmu->cfg.no_httu;
	ctx->asid = cd.asid;
	ctx->mair = cd.mair;
	return 0;
}

/*
 * Read and check the STE (and CD) of a transaction.  Under cfg_lock, so
 * that no invalidation runs between the fetch and the fill.
 */
static int cfg_fetch(struct smmu_txn *t, struct smmu_ctx *ctx,
		     struct smmu_fault *f)
{
	struct smmu *smmu = t->smmu;
	const uint64_t *p = smmu->strtab_va + (uint64_t)t->sid * STE_DWORDS;
	struct smmu_ste ste;
	uint64_t dw[STE_DWORDS];

	lockdep_assert_held(&smmu->cfg_lock);
	read_desc(p, dw);
	smmu_ste_decode(dw, &ste);
	if (!ste.valid)
		return bad_ste(t, f);

	memset(ctx, 0, sizeof(*ctx));
	ctx->config = ste.config;
	ctx->vmid = ste.s2_vmid;
	switch (ste.config) {
	case SMMU_STE_ABORT:
	case SMMU_STE_BYPASS:
		return 0;
	case SMMU_STE_S1:
	case SMMU_STE_S2:
	case SMMU_STE_NESTED:
		break;
	default:
		return bad_ste(t, f);
	}

	if (ste.config != SMMU_STE_S1) {
		unsigned int ias = 64 - ste.s2_t0sz;
		uint64_t align;
		int start, bits;

		if (ias < LPAE_MIN_IAS || ias > LPAE_MAX_IAS || ste.s2_sl0 > 2)
			return bad_ste(t, f);
		start = 2 - (int)ste.s2_sl0;
		bits = (int)ias - (int)lpae_level_shift(start);
		/* at least two entries, at most 16 concatenated tables */
		if (bits < 1 || bits > LPAE_BITS_PER_LEVEL + 4)
			return bad_ste(t, f);
		align = max(PHYS_PAGE_SIZE, 8ULL << bits);
		if (!IS_ALIGNED(ste.s2_ttb, align) ||
		    (ste.s2_ttb & smmu->oas_mask))
			return bad_ste(t, f);
		ctx->s2_ias = ias;
		ctx->s2_start = start;
		ctx->s2_ttb = ste.s2_ttb;
		ctx->s2_stall = ste.s2_stall;
	}
	if (ste.config != SMMU_STE_S2)
		return cd_fetch(t, &ste, ctx, f);
	return 0;
}

int smmu_cfg_lookup(struct smmu_txn *t, struct smmu_ctx *ctx,
		    struct smmu_fault *f)
{
	struct smmu *smmu = t->smmu;
	uint64_t want = t->cfg_key;
	struct smmu_cfg_entry *e = t->cfge;
	uint64_t w[4], key;
	uint32_t seq;
	int ret, i;

	do {
		seq = atomic_load_explicit(&e->seq, memory_order_acquire);
		/* acquire loads: the re-read of seq cannot pass them */
		key = atomic_load_explicit(&e->key, memory_order_acquire);
		w[0] = atomic_load_explicit(&e->w[0], memory_order_acquire);
		w[1] = atomic_load_explicit(&e->w[1], memory_order_acquire);
		w[2] = atomic_load_explicit(&e->w[2], memory_order_acquire);
		w[3] = atomic_load_explicit(&e->w[3], memory_order_acquire);
	} while (unlikely(
		(seq & 1) ||
		seq != atomic_load_explicit(&e->seq, memory_order_relaxed)));
	if (likely(key == want)) {
		ctx_unpack(w, ctx); /* cfg_hits are derived: see cnt_derive() */
		return 0;
	}

	stream_inc(t->st, SMMU_CNT_cfg_misses, 1);
	mutex_lock(&smmu->cfg_lock);
	ret = cfg_fetch(t, ctx, f);
	/* not cached once disabled: smmu_disable_abort() emptied the cache
	 * under cfg_lock, and it stays empty, so the fast path never hits */
	if (!ret && !atomic_load(&smmu->disabled)) {
		ctx_pack(ctx, w);
		seq = atomic_load_explicit(&e->seq, memory_order_relaxed);
		atomic_store_explicit(&e->seq, seq + 1, memory_order_relaxed);
		/* release stores: none becomes visible before the odd seq */
		atomic_store_explicit(&e->key, want, memory_order_release);
		for (i = 0; i < 4; i++)
			atomic_store_explicit(&e->w[i], w[i],
					      memory_order_release);
		atomic_store_explicit(&e->tlb_ids, cfg_tlb_ids(ctx),
				      memory_order_release);
		atomic_store_explicit(&e->seq, seq + 2, memory_order_release);
	}
	mutex_unlock(&smmu->cfg_lock);
	if (ret)
		stream_inc(t->st, SMMU_CNT_cfg_faults, 1);
	return ret;
}

/*
 * CFGI: all, or every entry of stream sid (CFGI_STE), or only the CD of
 * (sid, ssid) (CFGI_CD; ssid 0 also covers transactions without PASID).
 * Run by the command consumer.
 */
void smmu_cfg_inval(struct smmu *smmu, bool all, uint32_t sid, bool cd_only,
		    uint32_t ssid)
{
	uint32_t i;

	lockdep_assert_held(&smmu->cmdq.lock);
	mutex_lock(&smmu->cfg_lock);
	for (i = 0; i <= smmu->cfg_mask; i++) {
		struct smmu_cfg_entry *e = &smmu->cfg_cache[i];
		uint64_t key =
			atomic_load_explicit(&e->key, memory_order_relaxed);
		uint32_t ksid = FIELD_EX(key, CFGK, SID);
		uint32_t kssid = FIELD_EX(key, CFGK, SSID);
		uint32_t seq;

		if (!FIELD_EX(key, CFGK, VALID))
			continue;
		if (!all && ksid != sid)
			continue;
		if (!all && cd_only && kssid != ssid &&
		    !(ssid == 0 && kssid == SMMU_SSID_NONE))
			continue;
		seq = atomic_load_explicit(&e->seq, memory_order_relaxed);
		atomic_store_explicit(&e->seq, seq + 1, memory_order_relaxed);
		atomic_store_explicit(&e->key, 0, memory_order_release);
		atomic_store_explicit(&e->seq, seq + 2, memory_order_release);
	}
	mutex_unlock(&smmu->cfg_lock);
}

/* ---- counters ------------------------------------------------------------ */

/*
 * The hit path increments one counter (iotlb_hits): translations and
 * cfg_hits are derived from the others when read.
 */
static void cnt_to_struct(uint64_t *v, struct smmu_counters *c)
{
	uint64_t *out = (uint64_t *)c;
	int i;

	v[SMMU_CNT_translations] = v[SMMU_CNT_iotlb_hits] +
				   v[SMMU_CNT_iotlb_misses] +
				   v[SMMU_CNT_bypassed] + v[SMMU_CNT_aborted] +
				   v[SMMU_CNT_cfg_faults];
	v[SMMU_CNT_cfg_hits] =
		v[SMMU_CNT_translations] - v[SMMU_CNT_cfg_misses];

	for (i = 0; i < SMMU_NR_CNT; i++)
		out[i] = v[i];
}

void smmu_counters_read(struct smmu *smmu, struct smmu_counters *c)
{
	uint64_t v[SMMU_NR_CNT];
	uint32_t sid;
	int i;

	for (i = 0; i < SMMU_NR_CNT; i++)
		v[i] = atomic_load_explicit(&smmu->cnt[i],
					    memory_order_relaxed);
	for (sid = 0; sid < smmu->nr_sids; sid++)
		for (i = 0; i < SMMU_NR_CNT; i++)
			v[i] += atomic_load_explicit(&smmu->streams[sid].cnt[i],
						     memory_order_relaxed);
	smmu_hot_fold(smmu, -1, v);
	cnt_to_struct(v, c);
}

int smmu_stream_counters_read(struct smmu *smmu, uint32_t sid,
			      struct smmu_counters *c)
{
	uint64_t v[SMMU_NR_CNT];
	int i;

	if (sid >= smmu->nr_sids)
		return -EINVAL;
	for (i = 0; i < SMMU_NR_CNT; i++)
		v[i] = atomic_load_explicit(&smmu->streams[sid].cnt[i],
					    memory_order_relaxed);
	smmu_hot_fold(smmu, sid, v);
	cnt_to_struct(v, c);
	return 0;
}

void smmu_counters_reset(struct smmu *smmu)
{
	uint32_t sid;
	int i;

	for (i = 0; i < SMMU_NR_CNT; i++)
		atomic_store_explicit(&smmu->cnt[i], 0, memory_order_relaxed);
	for (sid = 0; sid < smmu->nr_sids; sid++)
		for (i = 0; i < SMMU_NR_CNT; i++)
			atomic_store_explicit(&smmu->streams[sid].cnt[i], 0,
					      memory_order_relaxed);
	smmu_hot_reset(smmu);
}

static const char *const cnt_names[] = {
#define SMMU_CNT_NAME(name) #name,
	SMMU_COUNTERS(SMMU_CNT_NAME)
#undef SMMU_CNT_NAME
};

static json_t *counters_obj(const struct smmu_counters *c)
{
	const uint64_t *v = (const uint64_t *)c;
	json_t *o = json_object();
	int i;

	if (!o)
		return NULL;
	for (i = 0; i < SMMU_NR_CNT; i++) {
		if (json_object_set_new(o, cnt_names[i],
					json_integer((json_int_t)v[i]))) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

json_t *smmu_counters_json(struct smmu *smmu)
{
	struct smmu_counters c;
	json_t *root, *streams, *o;
	uint32_t sid;

	root = json_object();
	streams = json_object();
	if (!root || !streams)
		goto err;
	smmu_counters_read(smmu, &c);
	o = counters_obj(&c);
	if (!o || json_object_set_new(root, "global", o))
		goto err;
	for (sid = 0; sid < smmu->nr_sids; sid++) {
		char name[16];

		smmu_stream_counters_read(smmu, sid, &c);
		if (!c.translations && !c.faults && !c.cfg_misses &&
		    !c.events && !c.page_requests)
			continue;
		snprintf(name, sizeof(name), "%u", sid);
		o = counters_obj(&c);
		if (!o || json_object_set_new(streams, name, o))
			goto err;
	}
	if (json_object_set_new(root, "streams", streams)) {
		streams = NULL;
		goto err;
	}
	return root;
err:
	json_decref(streams);
	json_decref(root);
	return NULL;
}

/* ---- creation ------------------------------------------------------------ */

static bool pow2(unsigned int v)
{
	return v && !(v & (v - 1));
}

static unsigned int order_for(uint64_t bytes)
{
	unsigned int order = 0;

	while ((PHYS_PAGE_SIZE << order) < bytes)
		order++;
	return order;
}

/* Limits: a queue of 2^SMMU_QUEUE_MAX_SHIFT entries at most, stream ids
 * of 16 bits, an output address of 32 bits at least. */
#define SMMU_MAX_QUEUE_ENTRIES (1u << SMMU_QUEUE_MAX_SHIFT)
#define SMMU_MAX_SID_BITS      16
#define SMMU_MIN_OAS	       32

/* The defaults of the zero fields of struct smmu_config (hw.h too). */
static const struct {
	size_t off;
	unsigned int def;
} config_defaults[] = {
	{offsetof(struct smmu_config, iotlb_entries), 1024},
	{offsetof(struct smmu_config, iotlb_ways), 4},
	{offsetof(struct smmu_config, cmdq_entries), 256},
	{offsetof(struct smmu_config, evtq_entries), 256},
	{offsetof(struct smmu_config, priq_entries), 256},
	{offsetof(struct smmu_config, sid_bits), 8},
	{offsetof(struct smmu_config, cfg_cache_entries), 64},
	{offsetof(struct smmu_config, oas), 48},
	{offsetof(struct smmu_config, max_retries), 8},
};

static bool queue_size_ok(unsigned int entries)
{
	return pow2(entries) && entries >= 2 &&
	       entries <= SMMU_MAX_QUEUE_ENTRIES;
}

static int config_check(struct smmu_config *c)
{
	size_t i;

	for (i = 0; i < sizeof(config_defaults) / sizeof(config_defaults[0]);
	     i++) {
		unsigned int *v =
			(unsigned int *)((char *)c + config_defaults[i].off);

		if (!*v)
			*v = config_defaults[i].def;
	}
	if (!pow2(c->iotlb_entries) || !pow2(c->iotlb_ways) ||
	    c->iotlb_ways > c->iotlb_entries ||
	    !queue_size_ok(c->cmdq_entries) ||
	    !queue_size_ok(c->evtq_entries) ||
	    !queue_size_ok(c->priq_entries) ||
	    c->sid_bits > SMMU_MAX_SID_BITS || !pow2(c->cfg_cache_entries) ||
	    c->oas < SMMU_MIN_OAS || c->oas > LPAE_MAX_OAS)
		return -EINVAL;
	return 0;
}

static void cmdq_thread_stop(struct smmu *smmu)
{
	mutex_lock(&smmu->cmdq.lock);
	smmu->cmdq_stop = true;
	pthread_cond_broadcast(&smmu->cmdq.cons_cond);
	pthread_cond_broadcast(&smmu->cmdq.done_cond);
	mutex_unlock(&smmu->cmdq.lock);
	pthread_join(smmu->cmdq_thread, NULL);
}

static void irq_thread_stop(struct smmu *smmu)
{
	mutex_lock(&smmu->irq_lock);
	smmu->irq_stop = true;
	pthread_cond_broadcast(&smmu->irq_cond);
	mutex_unlock(&smmu->irq_lock);
	pthread_join(smmu->irq_thread, NULL);
}

/*
 * The tables smmu_create() allocates before its queues, and the smmu
 * itself: any of the tables may be absent (a failed create).
 */
static void smmu_tables_free(struct smmu *smmu)
{
	smmu_iotlb_free(smmu);
	if (smmu->strtab_va)
		phys_free_pages(smmu->pm, smmu->strtab, smmu->strtab_order);
	ui_free(smmu->cfg_cache);
	ui_free(smmu->streams);
	ui_free(smmu);
}

/* The smmu's own locks and conditions (the queues have theirs). */
static void smmu_locks_init(struct smmu *smmu)
{
	mutex_init(&smmu->cfg_lock, HW_LOCK_CFG);
	mutex_init(&smmu->iotlb_lock, HW_LOCK_IOTLB);
	mutex_init(&smmu->irq_lock, HW_LOCK_IRQ);
	mutex_init(&smmu->dev_lock, HW_LOCK_DEV);
	pthread_cond_init(&smmu->irq_cond, NULL);
	pthread_cond_init(&smmu->irq_idle, NULL);
}

static void smmu_locks_destroy(struct smmu *smmu)
{
	mutex_destroy(&smmu->dev_lock);
	pthread_cond_destroy(&smmu->irq_cond);
	pthread_cond_destroy(&smmu->irq_idle);
	mutex_destroy(&smmu->irq_lock);
	mutex_destroy(&smmu->iotlb_lock);
	mutex_destroy(&smmu->cfg_lock);
}

/* Everything smmu_create() made, its threads stopped. */
static void smmu_free(struct smmu *smmu)
{
	smmu_locks_destroy(smmu);
	smmu_queues_free(smmu);
	smmu_cmdq_free(smmu);
	smmu_tables_free(smmu);
}

int smmu_create(struct phys_mem *pm, const struct smmu_config *cfg,
		struct smmu **out)
{
	struct smmu *smmu;
	int ret;

	if (!pm || !out)
		return -EINVAL;
	smmu = ui_zalloc(sizeof(*smmu));
	if (!smmu)
		return -ENOMEM;
	if (cfg)
		smmu->cfg = *cfg;
	ret = config_check(&smmu->cfg);
	if (ret)
		goto err_tables;
	smmu->pm = pm;
	atomic_init(&smmu->dma_epoch, 1); /* a slot holding 0 is idle */
	smmu->oas_mask = ~((1ULL << smmu->cfg.oas) - 1);
	smmu->nr_sids = 1u << smmu->cfg.sid_bits;

	ret = -ENOMEM;
	smmu->streams = ui_calloc(smmu->nr_sids, sizeof(*smmu->streams));
	if (!smmu->streams)
		goto err_tables;
	smmu->cfg_cache = ui_calloc(smmu->cfg.cfg_cache_entries,
				    sizeof(*smmu->cfg_cache));
	if (!smmu->cfg_cache)
		goto err_tables;
	smmu->cfg_mask = smmu->cfg.cfg_cache_entries - 1;

	smmu->strtab_order = order_for((uint64_t)smmu->nr_sids * SMMU_STE_SIZE);
	ret = phys_alloc_pages(pm, smmu->strtab_order, PHYS_ALLOC_ZERO,
			       PHYS_OWNER_KERNEL, &smmu->strtab);
	if (ret)
		goto err_tables;
	smmu->strtab_va = phys_to_virt(pm, smmu->strtab);

	ret = smmu_iotlb_init(smmu);
	if (ret)
		goto err_tables;
	ret = smmu_cmdq_init(smmu);
	if (ret)
		goto err_tables;
	ret = smmu_queues_init(smmu);
	if (ret)
		goto err_cmdq;

	smmu_locks_init(smmu);
	LIST_INIT(&smmu->devs);

	if (smmu->cfg.threaded) {
		ret = -pthread_create(&smmu->cmdq_thread, NULL,
				      smmu_cmdq_thread, smmu);
		if (ret)
			goto err_locks;
		ret = -pthread_create(&smmu->irq_thread, NULL, smmu_irq_thread,
				      smmu);
		if (ret)
			goto err_cmdq_thread;
		smmu->threads_started = true;
	}
	*out = smmu;
	return 0;

err_cmdq_thread:
	cmdq_thread_stop(smmu);
err_locks:
	smmu_locks_destroy(smmu);
	smmu_queues_free(smmu);
err_cmdq:
	smmu_cmdq_free(smmu);
err_tables:
	smmu_tables_free(smmu);
	return ret;
}

void smmu_destroy(struct smmu *smmu)
{
	if (!smmu)
		return;
	if (smmu->threads_started) {
		/* the interrupt thread first: its handlers may still issue
		 * commands and wait for their sync */
		irq_thread_stop(smmu);
		cmdq_thread_stop(smmu);
	}
	smmu_free(smmu);
}

struct phys_mem *smmu_phys(const struct smmu *smmu)
{
	return smmu->pm;
}

void smmu_get_config(const struct smmu *smmu, struct smmu_config *cfg)
{
	*cfg = smmu->cfg;
}

uint32_t smmu_read_idr0(const struct smmu *smmu)
{
	uint64_t v = 0;

	v = FIELD_DP(v, IDR0, S1P, 1);
	v = FIELD_DP(v, IDR0, S2P, 1);
	v = FIELD_DP(v, IDR0, TTF, IDR0_TTF_AARCH64);
	v = FIELD_DP(v, IDR0, HTTU,
		     smmu->cfg.no_httu ? 0 : IDR0_HTTU_ACCESS_DIRTY);
	v = FIELD_DP(v, IDR0, ASID16, 1);
	v = FIELD_DP(v, IDR0, VMID16, 1);
	v = FIELD_DP(v, IDR0, PRI, 1);
	return (uint32_t)v;
}

void smmu_set_irq_ops(struct smmu *smmu, const struct smmu_irq_ops *ops,
		      void *priv)
{
	mutex_lock(&smmu->irq_lock);
	smmu->irq_ops = ops;
	smmu->irq_priv = priv;
	/* like synchronize_irq(): no handler of the old ops runs after this
	 * returns (so it must not be called from a handler) */
	while (smmu->irq_running)
		mutex_cond_wait(&smmu->irq_idle, &smmu->irq_lock);
	mutex_unlock(&smmu->irq_lock);
}
