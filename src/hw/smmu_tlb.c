// SPDX-License-Identifier: MIT
/*
 * The IOTLB: a set-associative cache of leaf and block translations.
 *
 * Data model: sets x ways entries (struct iotlb_entry).  An entry caches one
 * translation of a 4 KiB page, a 2 MiB block or a 1 GiB block, tagged by its
 * type (stage 1, stage 2 or nested), ASID and VMID; the set is chosen from
 * the input address shifted by the entry's size, so a lookup probes one set
 * per size that may be present (levels_present), smallest first.  A block
 * entry therefore covers its whole range: every address inside it hits.
 * Replacement is round robin per set (deterministic), preferring a free way.
 *
 * Concurrency: lookups take no lock and write nothing: each set has a
 * sequence count (odd while a writer changes the set) and readers retry
 * until they saw a stable set.  Fills and invalidations hold iotlb_lock.
 * Each invalidation bumps iotlb_inval_seq; a fill whose walk started before
 * the last invalidation is dropped, so an entry can never be filled from
 * tables that software changed and invalidated meanwhile.
 *
 * Invalidation index: every valid entry is on the doubly linked list of its
 * ids bucket (struct iotlb_bucket, a hash of ASID and VMID; links live apart
 * from the entries, under iotlb_lock, and lookups never read them).
 * TLBI_NH_ASID walks the list of its ids only; a ranged TLBI probes the sets
 * of its range when that is cheaper than the list, and walks the list
 * otherwise (always beyond INV_PROBE_MAX pages); TLBI by VMID or of all
 * scans every set, unless the IOTLB is empty.  Whichever way, exactly the
 * matching entries are dropped and counted (iotlb_invalidated).
 *
 * Invariants: no two valid entries of a set share tag and ids; nested_entries
 * equals the number of valid nested entries and valid_entries the number of
 * valid entries; an entry is on its bucket's list iff it is valid, and a
 * bucket's len is the length of its list; after an invalidation returns, no
 * entry it matched is valid.
 */
#include <string.h>

#include "smmu_internal.h"

int smmu_iotlb_init(struct smmu *smmu)
{
	uint32_t nsets = smmu->cfg.iotlb_entries / smmu->cfg.iotlb_ways;

	smmu->ways = smmu->cfg.iotlb_ways;
	smmu->ways_shift = (unsigned int)__builtin_ctz(smmu->ways);
	smmu->set_mask = nsets - 1;
	smmu->sets = ui_calloc(nsets, sizeof(*smmu->sets));
	if (!smmu->sets)
		goto err;
	smmu->entries =
		ui_calloc(smmu->cfg.iotlb_entries, sizeof(*smmu->entries));
	if (!smmu->entries)
		goto err_sets;
	smmu->links = ui_calloc(smmu->cfg.iotlb_entries, sizeof(*smmu->links));
	if (!smmu->links)
		goto err_entries;
	smmu->buckets = ui_calloc(nsets, sizeof(*smmu->buckets));
	if (!smmu->buckets)
		goto err_links;
	return 0;

err_links:
	ui_free(smmu->links);
	smmu->links = NULL;
err_entries:
	ui_free(smmu->entries);
	smmu->entries = NULL;
err_sets:
	ui_free(smmu->sets);
	smmu->sets = NULL;
err:
	return -ENOMEM;
}

void smmu_iotlb_free(struct smmu *smmu)
{
	ui_free(smmu->buckets);
	ui_free(smmu->links);
	ui_free(smmu->entries);
	ui_free(smmu->sets);
}

/* Writers of a set hold iotlb_lock (entry_drop and the fill assert it). */
static inline void set_write_begin(struct iotlb_set *set)
{
	uint32_t seq = atomic_load_explicit(&set->seq, memory_order_relaxed);

	/* the entry stores that follow are release stores (see below) */
	atomic_store_explicit(&set->seq, seq + 1, memory_order_relaxed);
}

static inline void set_write_end(struct iotlb_set *set)
{
	uint32_t seq = atomic_load_explicit(&set->seq, memory_order_relaxed);

	atomic_store_explicit(&set->seq, seq + 1, memory_order_release);
}

/* ---- the ids index, under iotlb_lock ---- */

static struct iotlb_bucket *ids_bucket(struct smmu *smmu, uint64_t ids)
{
	uint64_t h = (ids + 1) * 0x9e3779b97f4a7c15ULL;

	return &smmu->buckets[(uint32_t)(h >> 32) & smmu->set_mask];
}

static void entry_link(struct smmu *smmu, uint32_t i, uint64_t ids)
{
	struct iotlb_bucket *b = ids_bucket(smmu, ids);

	lockdep_assert_held(&smmu->iotlb_lock);
	smmu->links[i].prev = 0;
	smmu->links[i].next = b->head;
	if (b->head)
		smmu->links[b->head - 1].prev = i + 1;
	b->head = i + 1;
	b->len++;
	smmu->valid_entries++;
}

static void entry_unlink(struct smmu *smmu, uint32_t i, uint64_t ids)
{
	struct iotlb_bucket *b = ids_bucket(smmu, ids);
	struct iotlb_link *l = &smmu->links[i];

	lockdep_assert_held(&smmu->iotlb_lock);
	if (l->prev)
		smmu->links[l->prev - 1].next = l->next;
	else
		b->head = l->next;
	if (l->next)
		smmu->links[l->next - 1].prev = l->prev;
	b->len--;
	smmu->valid_entries--;
}

/* Drop valid entry i (its tag and ids as read under the lock). */
static void entry_drop(struct smmu *smmu, uint32_t i, uint64_t tag,
		       uint64_t ids)
{
	struct iotlb_set *set = &smmu->sets[i >> smmu->ways_shift];

	lockdep_assert_held(&smmu->iotlb_lock);
	set_write_begin(set);
	atomic_store_explicit(&smmu->entries[i].tag, 0, memory_order_release);
	set_write_end(set);
	if (tag_type(tag) == SMMU_TLB_NESTED)
		smmu->nested_entries--;
	entry_unlink(smmu, i, ids);
}

static int size_level(uint64_t size)
{
	int level;

	for (level = LPAE_MAX_LEVELS - 1; level >= 1; level--)
		if (size == 1ULL << lpae_level_shift(level))
			return level;
	return -1;
}

void smmu_iotlb_fill(struct smmu *smmu, uint64_t seq, unsigned int type,
		     uint16_t asid, uint16_t vmid, uint64_t va,
		     const struct smmu_xlate *x, struct smmu_stream *st)
{
	int level = size_level(x->size);
	uint64_t ids = iotlb_ids(asid, vmid);
	unsigned int shift, w, victim = UINT32_MAX;
	struct iotlb_entry *e;
	struct iotlb_set *set;
	uint64_t tag, pa_attr, old_tag;
	uint32_t idx, base;

	if (WARN_ON(level < 0))
		return;
	shift = lpae_level_shift(level);
	tag = make_tag(va & ~((1ULL << shift) - 1) & TLBTAG_VA_MASK, level,
		       type);
	pa_attr = (x->pa & ~((1ULL << shift) - 1)) |
		  FIELD_PREP(TLBPA, MEMTYPE, x->memtype) |
		  FIELD_PREP(TLBPA, PERM, x->perm);
	idx = set_index(smmu, va, shift, ids);
	set = &smmu->sets[idx];
	base = idx << smmu->ways_shift;
	e = &smmu->entries[base];

	mutex_lock(&smmu->iotlb_lock);
	if (atomic_load_explicit(&smmu->iotlb_inval_seq,
				 memory_order_relaxed) != seq)
		goto out; /* raced with an invalidation: do not cache */
	for (w = 0; w < smmu->ways; w++) {
		uint64_t t =
			atomic_load_explicit(&e[w].tag, memory_order_relaxed);

		if (t == tag &&
		    atomic_load_explicit(&e[w].ids, memory_order_relaxed) ==
			    ids) {
			victim = w;
			break;
		}
		if (!(t & TLBTAG_VALID_MASK) && victim == UINT32_MAX)
			victim = w;
	}
	if (victim == UINT32_MAX) {
		victim = set->victim;
		set->victim = (victim + 1) & (smmu->ways - 1);
		stream_inc(st, SMMU_CNT_iotlb_evictions, 1);
	}
	old_tag = atomic_load_explicit(&e[victim].tag, memory_order_relaxed);
	if (old_tag & TLBTAG_VALID_MASK) {
		if (tag_type(old_tag) == SMMU_TLB_NESTED)
			smmu->nested_entries--;
		entry_unlink(smmu, base + victim,
			     atomic_load_explicit(&e[victim].ids,
						  memory_order_relaxed));
	}
	if (type == SMMU_TLB_NESTED)
		smmu->nested_entries++;
	set_write_begin(set);
	atomic_store_explicit(&e[victim].tag, tag, memory_order_release);
	atomic_store_explicit(&e[victim].ids, ids, memory_order_release);
	atomic_store_explicit(&e[victim].pa_attr, pa_attr,
			      memory_order_release);
	atomic_store_explicit(&e[victim].gen, x->gen, memory_order_release);
	set_write_end(set);
	entry_link(smmu, base + victim, ids);
	atomic_fetch_or_explicit(&smmu->levels_present, 1u << level,
				 memory_order_relaxed);
	stream_inc(st, SMMU_CNT_iotlb_fills, 1);
out:
	mutex_unlock(&smmu->iotlb_lock);
}

static bool inv_match(enum smmu_inval_kind kind, uint64_t tag, uint64_t ids,
		      uint16_t asid, uint16_t vmid, uint64_t addr,
		      uint64_t last)
{
	unsigned int type = tag_type(tag);
	uint16_t e_asid = FIELD_EX(ids, TLBIDS, ASID);
	uint16_t e_vmid = FIELD_EX(ids, TLBIDS, VMID);
	uint64_t base = tag & TLBTAG_VA_MASK;
	uint64_t end = base + (1ULL << lpae_level_shift(tag_level(tag))) - 1;
	bool overlap = base <= last && addr <= end;
	bool s1 = type == SMMU_TLB_S1 || type == SMMU_TLB_NESTED;

	if (!(tag & TLBTAG_VALID_MASK))
		return false;
	switch (kind) {
	case INV_NH_VA:
		return s1 && e_vmid == vmid && e_asid == asid && overlap;
	case INV_NH_ASID:
		return s1 && e_vmid == vmid && e_asid == asid;
	case INV_NH_ALL:
		return s1 && e_vmid == vmid;
	case INV_S2_IPA:
		/* nested entries do not record their IPA: drop the VMID's */
		return e_vmid == vmid && ((type == SMMU_TLB_S2 && overlap) ||
					  type == SMMU_TLB_NESTED);
	case INV_S12_VMALL:
		return e_vmid == vmid;
	case INV_ALL:
		return true;
	}
	return false;
}

struct inv_req {
	enum smmu_inval_kind kind;
	uint16_t asid, vmid;
	uint64_t addr, last;
};

/* Invalidate the matching ways of one set. */
static uint64_t inval_set(struct smmu *smmu, uint32_t idx,
			  const struct inv_req *r, bool nested_only)
{
	uint32_t base = idx << smmu->ways_shift;
	struct iotlb_entry *e = &smmu->entries[base];
	uint64_t n = 0;
	unsigned int w;

	lockdep_assert_held(&smmu->iotlb_lock);
	for (w = 0; w < smmu->ways; w++) {
		uint64_t tag =
			atomic_load_explicit(&e[w].tag, memory_order_relaxed);
		uint64_t ids =
			atomic_load_explicit(&e[w].ids, memory_order_relaxed);

		if (nested_only && tag_type(tag) != SMMU_TLB_NESTED)
			continue;
		if (!inv_match(r->kind, tag, ids, r->asid, r->vmid, r->addr,
			       r->last))
			continue;
		entry_drop(smmu, base + w, tag, ids);
		n++;
	}
	return n;
}

/* Invalidate the matching entries on the list of ids. */
static uint64_t inval_list(struct smmu *smmu, uint64_t ids,
			   const struct inv_req *r)
{
	uint32_t next = ids_bucket(smmu, ids)->head;
	uint64_t n = 0;

	lockdep_assert_held(&smmu->iotlb_lock);
	while (next) {
		uint32_t i = next - 1;
		struct iotlb_entry *e = &smmu->entries[i];
		uint64_t tag =
			atomic_load_explicit(&e->tag, memory_order_relaxed);
		uint64_t e_ids =
			atomic_load_explicit(&e->ids, memory_order_relaxed);

		next = smmu->links[i].next; /* before i leaves the list */
		if (!inv_match(r->kind, tag, e_ids, r->asid, r->vmid, r->addr,
			       r->last))
			continue;
		entry_drop(smmu, i, tag, e_ids);
		n++;
	}
	return n;
}

/* Sets a probe of [addr, last] visits, or UINT64_MAX beyond max. */
static uint64_t probe_cost(uint32_t present, uint64_t addr, uint64_t last,
			   uint64_t max)
{
	uint64_t cost = 0;
	int level;

	for (level = 1; level < LPAE_MAX_LEVELS; level++) {
		unsigned int shift = lpae_level_shift(level);

		if (!(present & (1u << level)))
			continue;
		cost += (last >> shift) - (addr >> shift) + 1;
		if (cost > max)
			return UINT64_MAX;
	}
	return cost;
}

/* Probe the sets that may hold an entry overlapping [addr, last]. */
static uint64_t inval_probe(struct smmu *smmu, uint32_t present,
			    uint64_t probe_ids, const struct inv_req *r)
{
	uint64_t n = 0;
	int level;

	for (level = 1; level < LPAE_MAX_LEVELS; level++) {
		unsigned int shift = lpae_level_shift(level);
		uint64_t va;

		if (!(present & (1u << level)))
			continue;
		for (va = r->addr & ~((1ULL << shift) - 1); va <= r->last;
		     va += 1ULL << shift) {
			n += inval_set(smmu,
				       set_index(smmu, va, shift, probe_ids), r,
				       false);
			if (va + (1ULL << shift) < va)
				break;
		}
	}
	return n;
}

static uint64_t inval_all_sets(struct smmu *smmu, const struct inv_req *r,
			       bool nested_only)
{
	uint32_t nsets = smmu->set_mask + 1, idx;
	uint64_t n = 0;

	for (idx = 0; idx < nsets; idx++)
		n += inval_set(smmu, idx, r, nested_only);
	return n;
}

#define INV_PROBE_MAX 32 /* probe sets for ranges up to this many pages */

/*
 * Which entries an invalidation visits (every one it matches, whichever
 * way): the list of its ids for TLBI_NH_ASID, and for a ranged TLBI when
 * that list is shorter than the probe of the range (always beyond
 * INV_PROBE_MAX pages); the sets of the range for a short range; every set
 * otherwise (by VMID, all).  Nested entries do not record their IPA, so
 * TLBI_S2_IPA also scans for the VMID's nested entries while any exist.
 */
void smmu_iotlb_inval(struct smmu *smmu, enum smmu_inval_kind kind,
		      uint16_t asid, uint16_t vmid, uint64_t addr, uint64_t len)
{
	struct inv_req r = {
		.kind = kind, .asid = asid, .vmid = vmid, .addr = addr};
	uint64_t n = 0, ids;
	uint32_t present;

	lockdep_assert_held(&smmu->cmdq.lock); /* run by the consumer */
	if (!len)
		len = PHYS_PAGE_SIZE;
	if (check_add_overflow(addr, len - 1, &r.last))
		r.last = UINT64_MAX;

	mutex_lock(&smmu->iotlb_lock);
	atomic_fetch_add_explicit(&smmu->iotlb_inval_seq, 1,
				  memory_order_release);
	present = atomic_load_explicit(&smmu->levels_present,
				       memory_order_relaxed);
	switch (kind) {
	case INV_NH_ASID:
		n = inval_list(smmu, iotlb_ids(asid, vmid), &r);
		break;
	case INV_NH_VA:
	case INV_S2_IPA: {
		/* S2 entries are tagged ASID 0 */
		uint64_t cost,
			max = (uint64_t)INV_PROBE_MAX * (LPAE_MAX_LEVELS - 1);

		ids = iotlb_ids(kind == INV_S2_IPA ? 0 : asid, vmid);
		if ((r.last - addr) / PHYS_PAGE_SIZE < INV_PROBE_MAX)
			cost = probe_cost(present, addr, r.last, max);
		else
			cost = UINT64_MAX;
		if (cost != UINT64_MAX &&
		    cost * smmu->ways < ids_bucket(smmu, ids)->len)
			n = inval_probe(smmu, present, ids, &r);
		else
			n = inval_list(smmu, ids, &r);
		/* nested entries are indexed by VA, not by IPA */
		if (kind == INV_S2_IPA && smmu->nested_entries)
			n += inval_all_sets(smmu, &r, true);
		break;
	}
	case INV_NH_ALL:
	case INV_S12_VMALL:
		if (smmu->valid_entries)
			n = inval_all_sets(smmu, &r, false);
		break;
	case INV_ALL:
		if (smmu->valid_entries)
			n = inval_all_sets(smmu, &r, false);
		atomic_store_explicit(&smmu->levels_present, 0,
				      memory_order_relaxed);
		break;
	}
	atomic_fetch_add_explicit(&smmu->cnt[SMMU_CNT_iotlb_invalidated], n,
				  memory_order_relaxed);
	mutex_unlock(&smmu->iotlb_lock);
}

size_t smmu_iotlb_dump(struct smmu *smmu, struct smmu_iotlb_entry *out,
		       size_t max)
{
	uint64_t total = (uint64_t)smmu->set_mask + 1;
	size_t n = 0;
	uint64_t i;

	mutex_lock(&smmu->iotlb_lock);
	for (i = 0; i < total * smmu->ways; i++) {
		struct iotlb_entry *e = &smmu->entries[i];
		uint64_t tag =
			atomic_load_explicit(&e->tag, memory_order_relaxed);
		uint64_t ids, pa_attr, size;

		if (!(tag & TLBTAG_VALID_MASK))
			continue;
		if (n < max) {
			ids = atomic_load_explicit(&e->ids,
						   memory_order_relaxed);
			pa_attr = atomic_load_explicit(&e->pa_attr,
						       memory_order_relaxed);
			size = 1ULL << lpae_level_shift(tag_level(tag));
			out[n].type = tag_type(tag);
			out[n].asid = FIELD_EX(ids, TLBIDS, ASID);
			out[n].vmid = FIELD_EX(ids, TLBIDS, VMID);
			out[n].va = tag & TLBTAG_VA_MASK;
			out[n].size = size;
			out[n].pa = pa_attr & ~(size - 1) & LPAE_PTE_ADDR_MASK;
			out[n].perm = FIELD_EX(pa_attr, TLBPA, PERM);
			out[n].memtype = FIELD_EX(pa_attr, TLBPA, MEMTYPE);
			out[n].gen = atomic_load_explicit(&e->gen,
							  memory_order_relaxed);
		}
		n++;
	}
	mutex_unlock(&smmu->iotlb_lock);
	return n;
}
