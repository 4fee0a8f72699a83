// SPDX-License-Identifier: MIT
/*
 * The IOMMU driver for the emulated SMMU (the part of arm-smmu-v3 that
 * matters here): domains backed by LPAE stage-1 or stage-2 tables, nested
 * domains (a guest's stage 1 over a stage-2 parent), stream table and
 * context descriptor programming, TLB invalidation through the command
 * queue, and the event and page-request queues turned into IOMMU faults.
 *
 * Data model:
 *  - struct arm_smmu_device wraps one struct smmu and registers one
 *    struct iommu_device.  masters[sid] points at the master of each probed
 *    stream.
 *  - struct arm_smmu_master is the driver's per-device state: its stream
 *    id, a one-entry CD table in a frame of its own, and the domain it is
 *    attached to.
 *  - struct arm_smmu_domain embeds struct iommu_domain.  Paging domains own
 *    an LPAE stage-1 table and an ASID; identity and blocked domains own
 *    nothing and program bypass / abort STEs.
 *  - Nest-parent domains (IOMMU_DOMAIN_NEST_PARENT) own an LPAE stage-2
 *    table (IPA -> PA) and a VMID; a device attached to one directly gets
 *    an S2 STE.  Nested domains own no table: they hold the guest's CD
 *    table (an IPA and its size) and point at their parent, which counts
 *    them (nested_refs) and must outlive them; attach writes a NESTED STE
 *    (the guest's CD pointer, the parent's S2 fields and VMID) + CFGI_STE +
 *    CMD_SYNC.  The guest owns its CDs and stage-1 tables; the driver
 *    never writes them.  A nested domain whose guest STE bypasses stage
 *    1 (iommu_nested_s1.config) gets the parent's S2 STE, one that aborts
 *    an abort STE.  The guest's own invalidation commands (iommufd's
 *    HWPT_INVALIDATE) go through arm_smmu_nested_invalidate, tagged with
 *    the domain's VMID and aimed at its streams.  VMID 0 is the stage-1 domains' and never handed
 *    out.  Stage-2 faults stall (STE.S2S) while IOPF is enabled.
 *
 * TLB maintenance (the flush ops handed to the page tables): cleared leaves
 * are gathered; iotlb_sync turns the gathered range into TLBI_NH_VA
 * commands (range-encoded when enabled) followed by one CMD_SYNC, so a
 * strict single-page unmap costs exactly one TLBI and one sync: K strict
 * unmaps are K of each, which is what makes lazy mode cheaper.
 * flush_iotlb_all is TLBI_NH_ASID + CMD_SYNC.  For stage-2 domains the
 * same with TLBI_S2_IPA (which also drops the VMID's nested entries) and
 * TLBI_S12_VMALL; for a nested domain flush_iotlb_all is TLBI_NH_ALL of
 * the VMID (the guest's stage-1 entries).  Table frames are only freed
 * after tlb_flush_walk has invalidated and synced their range.
 *
 * Dirty tracking: with IDR0.HTTU = access + dirty and coherent walks the
 * SMMU is IOMMU_CAP_DIRTY_TRACKING; a domain allocated with
 * __IOMMU_DOMAIN_DIRTY_TRACKING is stage 1 with LPAE_QUIRK_ARM_HD (writable
 * leaves carry DBM) and its CD sets HA and HD, so the SMMU dirties leaves
 * on DMA writes; arm_smmu_dirty_ops reads and cleans them through the page
 * table, recording each dirty range into the caller's bitmap and gather.
 *
 * Faults: the event-queue interrupt reports stalled transactions as page
 * requests (grpid = stall tag) and everything else as unrecoverable faults
 * to the device's handler, and to the domain's handler; the page-request
 * queue interrupt reports PRI requests.  A stall that nobody takes is
 * aborted (RESUME with abort), so a device never waits forever.
 *
 * Command errors: the global-error interrupt skips an illegal command
 * (reported, replaced by CMD_SYNC), retries an aborted fetch a few times,
 * and acknowledges, so the waiting sync completes.  A sync that still
 * fails is retried once; then the domain whose invalidation it was is
 * broken: iommu_domain_error() says -EIO, its streams' STEs abort, and if
 * the queue cannot carry even that, the SMMU is disabled (GBPA abort).  An
 * unmap never returns as if an invalidation completed that did not.
 *
 * Locking: smmu->lock (a mutex) guards the ASID and VMID maps, masters[] and
 * every STE/CD update with its CFGI and sync, and masters[]->domain;
 * gerror_lock the handler's fetch-retry state and the last error; the
 * command queue has its own lock in the hardware model; map/unmap/sync take
 * no driver lock (a domain that breaks takes smmu->lock to block it).  The
 * core calls attach and detach under its group lock, the flush queue
 * flushes under its ring lock; both rank below smmu->lock, and gerror_lock
 * ranks above it (a command retried under smmu->lock takes it): see
 * iommu/iommu_internal.h.  The interrupt handlers hold no driver lock while
 * they report a fault: find_master() takes and drops smmu->lock, and the
 * core's report holds only its own locks across the handlers.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "iommu/arm_smmu_v3.h"

#include "iommu/iommu_internal.h"
#include "lib/internal.h"
#include "pgtable/lpae_format.h"

/* The driver's defaults and the limits of the fields it fills in. */
#define ARM_SMMU_ASID_BITS   16 /* CD.ASID, TLBI_NH_* ASID */
#define ARM_SMMU_VMID_BITS   16 /* STE.S2VMID, TLBI_S2_IPA/S12_VMALL VMID */
#define ARM_SMMU_DEFAULT_IAS 48 /* stage-1 input size without an option */
#define ARM_SMMU_OAS	     48 /* output size of every table */
/* A range TLBI covers (NUM + 1) << SCALE pages, NUM and SCALE 5 bits each
 * (at most 32 pages of one scale). */
#define ARM_SMMU_TLBI_RANGE_MAX_NUM   (SMMU_TLBI_NUM_MAX + 1UL)
#define ARM_SMMU_TLBI_RANGE_MAX_SCALE SMMU_TLBI_SCALE_MAX

/*
 * An id allocator: one bit per id of a space of 1 << ARM_SMMU_ID_BITS ids,
 * set while the id is in use.  Both the ASID and the VMID space are this
 * wide; id 0 of each is reserved at probe.  Guarded by smmu->lock.
 */
#define ARM_SMMU_ID_BITS 16
_Static_assert(ARM_SMMU_ASID_BITS == ARM_SMMU_ID_BITS &&
		       ARM_SMMU_VMID_BITS == ARM_SMMU_ID_BITS,
	       "the ASID and VMID maps share one id allocator");
#define ARM_SMMU_ID_WORDS ((1u << ARM_SMMU_ID_BITS) / 64)

struct arm_smmu_id_map {
	uint64_t bits[ARM_SMMU_ID_WORDS];
};

struct arm_smmu_device {
	struct iommu_device iommu;
	struct smmu *hw;
	struct phys_mem *pm;
	struct arm_smmu_options opts;
	unsigned int nr_sids;
	bool hd; /* IDR0.HTTU: access and dirty state updates (probe) */

	struct mutex lock;
	struct arm_smmu_id_map asids;	  /* lock; ASID 0 reserved */
	struct arm_smmu_id_map vmids;	  /* lock; VMID 0 reserved */
	struct arm_smmu_master **masters; /* lock; indexed by sid */

	_Atomic uint64_t tlbi_cmds, syncs, cfgi_cmds, events, unrecoverable,
		page_requests, unhandled, responses;
	/* command-queue errors: CERRORs seen by the gerror handler, commands
	 * skipped (turned into CMD_SYNC), fetches retried, syncs retried and
	 * failed for good, domains marked broken, SMMU disabled */
	_Atomic uint64_t cerrors, skipped_cmds, fetch_retries, sync_retries,
		sync_failures, broken_domains, disabled;
	struct mutex gerror_lock;	   /* the four below */
	uint32_t abt_cons;		   /* the command whose fetch aborted */
	unsigned int abt_count;		   /* its fetch retries so far */
	enum smmu_cmdq_cerror last_cerror; /* the last CMDQ error */
	uint64_t last_cmd[2];		   /* and its command */
	/* interrupt handlers running (threaded SMMU): remove waits for
	 * them to leave before the structure goes */
	_Atomic unsigned int irq_active;
};

struct arm_smmu_master {
	struct arm_smmu_device *smmu;
	struct device *dev;
	uint32_t sid;
	phys_addr_t cd_table;		/* one CD, in a frame of its own */
	struct arm_smmu_domain *domain; /* smmu->lock: its STE's domain */
	bool stall_enabled;		/* IOPF on, and the device can stall */
	bool pri_enabled;		/* IOPF on, and the device issues PRI */
};

enum arm_smmu_domain_stage {
	ARM_SMMU_DOMAIN_S1,
	ARM_SMMU_DOMAIN_S2,	/* nest parent */
	ARM_SMMU_DOMAIN_NESTED, /* guest stage 1 over a nest parent */
	ARM_SMMU_DOMAIN_BYPASS,
	ARM_SMMU_DOMAIN_ABORT,
};

struct arm_smmu_domain {
	struct iommu_domain domain;
	struct arm_smmu_device *smmu;
	enum arm_smmu_domain_stage stage;
	struct lpae_pgtable *pgtbl; /* immutable; S1 and S2 */
	struct lpae_cfg cfg;	    /* immutable */
	uint16_t asid;		    /* immutable; S1 */
	uint16_t vmid;		    /* immutable; S2, and NESTED (parent's) */
	/* NESTED: the parent and the guest's CD table (immutable) */
	struct arm_smmu_domain *s2_parent;
	struct iommu_nested_s1 s1;
	/* S2: nested domains over this one (atomic) */
	_Atomic unsigned int nested_refs;
};

static inline struct arm_smmu_domain *to_smmu_domain(struct iommu_domain *d)
{
	return container_of(d, struct arm_smmu_domain, domain);
}

static inline struct arm_smmu_master *dev_to_master(struct device *dev)
{
	return dev->iommu_priv;
}

#define inc(smmu, field, n) \
	atomic_fetch_add_explicit(&(smmu)->field, (n), memory_order_relaxed)

/* ---- command helpers --------------------------------------------------------- */

/* Give a stuck command queue one more chance: a fresh budget of fetch
 * retries, and the pending error acknowledged (the fetch is retried). */
static void arm_smmu_cmdq_retry(struct arm_smmu_device *smmu)
{
	mutex_lock(&smmu->gerror_lock);
	smmu->abt_count = 0;
	mutex_unlock(&smmu->gerror_lock);
	if (smmu_gerror_read(smmu->hw) & SMMU_GERROR_CMDQ_ERR)
		smmu_gerror_ack(smmu->hw, SMMU_GERROR_CMDQ_ERR);
}

/* Queue one command; retried once if the queue was full and stuck.  An
 * error means the command is not in the queue. */
static int arm_smmu_cmd(struct arm_smmu_device *smmu,
			const struct smmu_cmd *cmd)
{
	int ret = smmu_cmdq_issue(smmu->hw, cmd);

	if (ret) {
		arm_smmu_cmdq_retry(smmu);
		ret = smmu_cmdq_issue(smmu->hw, cmd);
	}
	if (ret)
		pr_err("arm-smmu-v3: command %#x could not be queued (%d)",
		       cmd->op, ret);
	return ret;
}

/*
 * CMD_SYNC and wait.  The gerror handler has already skipped illegal
 * commands and retried aborted fetches while we waited; a sync that still
 * fails (the handler gave up, the SMMU is disabled) is retried once with a
 * fresh budget.  The kernel ignores the error here (its iotlb_sync cannot
 * fail); we return it, and the domain paths mark the domain broken.
 */
static int arm_smmu_sync(struct arm_smmu_device *smmu)
{
	int ret = smmu_cmdq_sync(smmu->hw);

	inc(smmu, syncs, 1);
	if (ret) {
		pr_err("arm-smmu-v3: CMD_SYNC failed (%d): retrying", ret);
		inc(smmu, sync_retries, 1);
		arm_smmu_cmdq_retry(smmu);
		ret = smmu_cmdq_sync(smmu->hw);
		inc(smmu, syncs, 1);
	}
	if (ret) {
		pr_err("arm-smmu-v3: CMD_SYNC did not complete (%d): the "
		       "commands before it may not have taken effect",
		       ret);
		inc(smmu, sync_failures, 1);
	}
	return ret;
}

static void arm_smmu_domain_broken(struct arm_smmu_domain *d, int err);

/* A sync on behalf of a domain's invalidation: counted on the domain.  If
 * it (or a command before it, err) failed, the invalidation did not
 * complete: the domain is broken. */
static int arm_smmu_domain_sync(struct arm_smmu_domain *d, int err)
{
	int ret = arm_smmu_sync(d->smmu);

	atomic_fetch_add_explicit(&d->domain.nr_syncs, 1, memory_order_relaxed);
	if (!err)
		err = ret;
	if (err)
		arm_smmu_domain_broken(d, err);
	return err;
}

/* Invalidate [iova, iova + size) of an ASID in granule steps, without the
 * sync. */
static int arm_smmu_tlb_inv_range(struct arm_smmu_domain *d, unsigned long iova,
				  size_t size, size_t granule, bool leaf)
{
	struct arm_smmu_device *smmu = d->smmu;
	struct smmu_cmd cmd = {
		.op = SMMU_CMD_TLBI_NH_VA,
		.asid = d->asid,
		.leaf = leaf,
	};
	unsigned long pages = size / granule;

	if (d->stage == ARM_SMMU_DOMAIN_S2) {
		/* IPAs of the VMID (and its nested entries) */
		cmd.op = SMMU_CMD_TLBI_S2_IPA;
		cmd.asid = 0;
		cmd.vmid = d->vmid;
	}
	unsigned int n = 0;
	int err = 0;

	while (pages) {
		unsigned long chunk;

		cmd.addr = iova;
		if (smmu->opts.range_inv && granule == PHYS_PAGE_SIZE) {
			/* (num + 1) << scale pages per command */
			unsigned int scale = __builtin_ctzl(pages);
			unsigned long num = min(pages >> scale,
						ARM_SMMU_TLBI_RANGE_MAX_NUM);

			if (scale > ARM_SMMU_TLBI_RANGE_MAX_SCALE)
				scale = ARM_SMMU_TLBI_RANGE_MAX_SCALE;
			cmd.scale = scale;
			cmd.num = num - 1;
			chunk = num << scale;
		} else {
			/* one command per granule: the entry holding iova */
			cmd.scale = 0;
			cmd.num = 0;
			chunk = 1;
		}
		if (arm_smmu_cmd(smmu, &cmd) && !err)
			err = -EIO;
		n++;
		iova += chunk * granule;
		pages -= chunk;
	}
	inc(smmu, tlbi_cmds, n);
	atomic_fetch_add_explicit(&d->domain.nr_tlbi, n, memory_order_relaxed);
	return err;
}

/* Everything the domain may have cached: its ASID (stage 1), its VMID
 * (stage 2, with the nested entries), or the VMID's stage-1 entries
 * (nested: the guest's), then CMD_SYNC. */
static int arm_smmu_tlb_inv_asid(struct arm_smmu_domain *d)
{
	struct smmu_cmd cmd = {.op = SMMU_CMD_TLBI_NH_ASID, .asid = d->asid};

	if (d->stage == ARM_SMMU_DOMAIN_S2)
		cmd = (struct smmu_cmd){.op = SMMU_CMD_TLBI_S12_VMALL,
					.vmid = d->vmid};
	else if (d->stage == ARM_SMMU_DOMAIN_NESTED)
		cmd = (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_ALL,
					.vmid = d->vmid};
	int err = arm_smmu_cmd(d->smmu, &cmd);

	inc(d->smmu, tlbi_cmds, 1);
	atomic_fetch_add_explicit(&d->domain.nr_tlbi, 1, memory_order_relaxed);
	return arm_smmu_domain_sync(d, err);
}

/* ---- flush ops for the page tables -------------------------------------------- */

static void arm_smmu_tlb_flush_all(void *cookie)
{
	struct arm_smmu_domain *d = cookie;

	arm_smmu_tlb_inv_asid(d);
}

static void arm_smmu_tlb_flush_walk(unsigned long iova, size_t size,
				    size_t granule, void *cookie)
{
	struct arm_smmu_domain *d = cookie;

	/* non-leaf: walk caches too, before the table frame is freed */
	arm_smmu_domain_sync(d, arm_smmu_tlb_inv_range(d, iova, size, granule,
						       false));
}

static void gather_sync(struct iommu_iotlb_gather *g, void *arg)
{
	struct arm_smmu_domain *d = arg;
	/* a gather of ranges only (the dirty bits' clearing read) has no
	 * page size: its leaves may be of any size, step by the smallest */
	size_t granule = g->pgsize
				 ? g->pgsize
				 : 1UL << __builtin_ctzl(d->cfg.pgsize_bitmap);

	arm_smmu_domain_sync(d, arm_smmu_tlb_inv_range(d, g->start,
						       g->end - g->start + 1,
						       granule, true));
}

static void arm_smmu_tlb_add_page(struct iommu_iotlb_gather *gather,
				  unsigned long iova, size_t granule,
				  void *cookie)
{
	/* a queued (lazy) gather is covered by the flush queue's flush-all */
	if (gather && !gather->queued)
		iommu_iotlb_gather_add_page(gather, iova, granule, gather_sync,
					    cookie);
}

static const struct lpae_flush_ops arm_smmu_flush_ops = {
	.tlb_flush_all = arm_smmu_tlb_flush_all,
	.tlb_flush_walk = arm_smmu_tlb_flush_walk,
	.tlb_add_page = arm_smmu_tlb_add_page,
};

/* ---- ASIDs and VMIDs ------------------------------------------------------------ */

/* The lowest free id of map, marked used; -ENOSPC when all are. */
static int arm_smmu_id_alloc(struct arm_smmu_device *smmu,
			     struct arm_smmu_id_map *map, uint16_t *id)
{
	lockdep_assert_held(&smmu->lock);
	for (unsigned int w = 0; w < ARM_SMMU_ID_WORDS; w++) {
		uint64_t free = ~map->bits[w];

		if (free) {
			unsigned int b = __builtin_ctzll(free);

			map->bits[w] |= 1ULL << b;
			*id = w * 64 + b;
			return 0;
		}
	}
	return -ENOSPC;
}

static void arm_smmu_id_free(struct arm_smmu_device *smmu,
			     struct arm_smmu_id_map *map, uint16_t id)
{
	lockdep_assert_held(&smmu->lock);
	map->bits[id / 64] &= ~(1ULL << (id % 64));
}

/* A paging domain's tag: a VMID for stage 2, an ASID for stage 1. */
static int arm_smmu_domain_tag_alloc(struct arm_smmu_domain *d)
{
	struct arm_smmu_device *smmu = d->smmu;

	if (d->stage == ARM_SMMU_DOMAIN_S2)
		return arm_smmu_id_alloc(smmu, &smmu->vmids, &d->vmid);
	return arm_smmu_id_alloc(smmu, &smmu->asids, &d->asid);
}

static void arm_smmu_domain_tag_free(struct arm_smmu_domain *d)
{
	struct arm_smmu_device *smmu = d->smmu;

	if (d->stage == ARM_SMMU_DOMAIN_S2)
		arm_smmu_id_free(smmu, &smmu->vmids, d->vmid);
	else
		arm_smmu_id_free(smmu, &smmu->asids, d->asid);
}

/* ---- dirty tracking ---------------------------------------------------------------- */

/* 6.12's arm_smmu_dbm_capable: HTTU with dirty state, and coherent table
 * walks (the SMMU's updates must be seen by the CPU's reads). */
static bool arm_smmu_dbm_capable(struct arm_smmu_device *smmu)
{
	return smmu->hd && smmu->opts.coherent;
}

static void arm_smmu_dirty_record(void *arg, unsigned long iova, size_t size)
{
	iommu_dirty_bitmap_record(arg, iova, size);
}

static int arm_smmu_read_and_clear_dirty(struct iommu_domain *domain,
					 unsigned long iova, size_t size,
					 unsigned long flags,
					 struct iommu_dirty_bitmap *dirty)
{
	struct arm_smmu_domain *d = to_smmu_domain(domain);

	return lpae_read_and_clear_dirty(
		d->pgtbl, iova, size,
		flags & IOMMU_DIRTY_NO_CLEAR ? LPAE_DIRTY_NO_CLEAR : 0,
		arm_smmu_dirty_record, dirty);
}

/* Always on, as 6.12's: the hardware dirties the leaves whatever we say;
 * the caller cleans them before it starts tracking. */
static int arm_smmu_set_dirty_tracking(struct iommu_domain *domain,
				       bool enabled)
{
	(void)domain;
	(void)enabled;
	return 0;
}

static const struct iommu_dirty_ops arm_smmu_dirty_ops = {
	.set_dirty_tracking = arm_smmu_set_dirty_tracking,
	.read_and_clear_dirty = arm_smmu_read_and_clear_dirty,
};

/* ---- domains --------------------------------------------------------------------- */

static int arm_smmu_domain_alloc(struct iommu_device *iommu, unsigned int type,
				 struct iommu_domain *parent,
				 struct iommu_domain **out)
{
	struct arm_smmu_device *smmu = iommu->priv;
	bool dirty = type & __IOMMU_DOMAIN_DIRTY_TRACKING;
	struct arm_smmu_domain *d;
	int ret;

	if (parent)
		return -EOPNOTSUPP; /* nesting needs a stage-2 parent */
	type &= ~__IOMMU_DOMAIN_DIRTY_TRACKING;
	/* dirty tracking: stage 1 paging only, with HTTU (6.12's
	 * finalise: a stage-2 domain cannot, -EOPNOTSUPP) */
	if (dirty && (!(type & __IOMMU_DOMAIN_PAGING) ||
		      (type & __IOMMU_DOMAIN_NEST_PARENT) ||
		      !arm_smmu_dbm_capable(smmu)))
		return -EOPNOTSUPP;
	d = ui_zalloc(sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->smmu = smmu;

	if (type == IOMMU_DOMAIN_IDENTITY) {
		d->stage = ARM_SMMU_DOMAIN_BYPASS;
		goto out;
	}
	if (type == IOMMU_DOMAIN_BLOCKED) {
		d->stage = ARM_SMMU_DOMAIN_ABORT;
		goto out;
	}
	if (!(type & __IOMMU_DOMAIN_PAGING)) {
		ret = -EINVAL;
		goto err_free;
	}

	d->stage = type & __IOMMU_DOMAIN_NEST_PARENT ? ARM_SMMU_DOMAIN_S2
						     : ARM_SMMU_DOMAIN_S1;
	mutex_lock(&smmu->lock);
	ret = arm_smmu_domain_tag_alloc(d);
	mutex_unlock(&smmu->lock);
	if (ret)
		goto err_free;

	d->cfg = (struct lpae_cfg){
		.stage = d->stage == ARM_SMMU_DOMAIN_S2 ? 2 : 1,
		.ias = smmu->opts.ias,
		.oas = ARM_SMMU_OAS,
		.pgsize_bitmap = smmu->opts.pgsize_bitmap,
		.coherent_walk = smmu->opts.coherent,
		.tlb = &arm_smmu_flush_ops,
		.cookie = d,
		/* as the kernel's io-pgtable-arm: a table stays until its
		 * range is unmapped whole, so the fast paths take no table
		 * counts and emptied tables cost no walk invalidation */
		.quirks = LPAE_QUIRK_KEEP_TABLES |
			  (dirty ? LPAE_QUIRK_ARM_HD : 0),
	};
	ret = lpae_alloc(smmu->pm, &d->cfg, &d->pgtbl);
	if (ret)
		goto err_asid;
	if (dirty)
		d->domain.dirty_ops = &arm_smmu_dirty_ops;
	d->domain.pgsize_bitmap = d->cfg.pgsize_bitmap;
	d->domain.geometry.aperture_start = 0;
	d->domain.geometry.aperture_end = (1ULL << d->cfg.ias) - 1;
	d->domain.geometry.force_aperture = true;
out:
	*out = &d->domain;
	return 0;

err_asid:
	mutex_lock(&smmu->lock);
	arm_smmu_domain_tag_free(d);
	mutex_unlock(&smmu->lock);
err_free:
	ui_free(d);
	return ret;
}

/*
 * A nested domain over parent (a stage-2 domain of this SMMU) with the
 * guest's CD table: the IPA, 64-byte aligned and inside the parent's input
 * range, and 2^cd_max CDs.
 */
static int arm_smmu_domain_alloc_nested(struct iommu_domain *parent,
					const struct iommu_nested_s1 *s1,
					struct iommu_domain **out)
{
	struct arm_smmu_domain *p = to_smmu_domain(parent);
	struct arm_smmu_domain *d;
	uint64_t span;

	if (p->stage != ARM_SMMU_DOMAIN_S2 || !s1 ||
	    s1->config > IOMMU_NESTED_S1_BYPASS)
		return -EINVAL;
	if (s1->config != IOMMU_NESTED_S1_TRANSLATE)
		goto alloc;
	if (s1->cd_max > IOMMU_NESTED_CD_MAX_LOG2 ||
	    !IS_ALIGNED(s1->cd_table, SMMU_CD_SIZE))
		return -EINVAL;
	span = (uint64_t)SMMU_CD_SIZE << s1->cd_max;
	if (s1->cd_table >> p->cfg.ias ||
	    span > (1ULL << p->cfg.ias) - s1->cd_table)
		return -EINVAL;
alloc:
	d = ui_zalloc(sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->smmu = p->smmu;
	d->stage = ARM_SMMU_DOMAIN_NESTED;
	d->s2_parent = p;
	d->vmid = p->vmid;
	d->s1 = *s1;
	atomic_fetch_add(&p->nested_refs, 1);
	*out = &d->domain;
	return 0;
}

static void arm_smmu_domain_free(struct iommu_domain *domain)
{
	struct arm_smmu_domain *d = to_smmu_domain(domain);
	struct arm_smmu_device *smmu = d->smmu;

	if (d->stage == ARM_SMMU_DOMAIN_NESTED) {
		/* the guest's stage-1 entries go with its context */
		arm_smmu_tlb_inv_asid(d);
		atomic_fetch_sub(&d->s2_parent->nested_refs, 1);
	} else if (d->pgtbl) {
		/* nothing may stay cached under this ASID (VMID) once it is
		 * reused */
		bool clean;

		WARN_ON(atomic_load(&d->nested_refs));
		clean = !arm_smmu_tlb_inv_asid(d);
		lpae_free(d->pgtbl);
		/* an ASID (VMID) whose entries could not be invalidated is
		 * never handed out again: a new domain would inherit them */
		if (clean) {
			mutex_lock(&smmu->lock);
			arm_smmu_domain_tag_free(d);
			mutex_unlock(&smmu->lock);
		}
	}
	ui_free(d);
}

/* The stage-2 fields of an STE from a nest-parent domain. */
static void ste_set_s2(struct smmu_ste *ste, const struct arm_smmu_domain *s2,
		       const struct arm_smmu_master *master)
{
	ste->s2_vmid = s2->vmid;
	ste->s2_t0sz = s2->cfg.tsz;
	ste->s2_sl0 = SMMU_S2_SL0(s2->cfg.start_level);
	ste->s2_ttb = s2->cfg.ttbr;
	/* stage-2 faults stall (become page requests) with IOPF on */
	ste->s2_stall = master->stall_enabled;
}

/* Write the master's STE for a domain (NULL: abort), then CFGI_STE + sync. */
static int arm_smmu_install_ste(struct arm_smmu_master *master,
				struct arm_smmu_domain *d)
{
	struct arm_smmu_device *smmu = master->smmu;
	struct smmu_ste ste = {.valid = true, .config = SMMU_STE_ABORT};
	struct smmu_cmd cmd;
	int ret, err = 0;

	lockdep_assert_held(&smmu->lock);
	if (d && iommu_domain_error(&d->domain))
		d = NULL; /* broken: its streams stay blocked */
	if (d && d->stage == ARM_SMMU_DOMAIN_BYPASS) {
		ste.config = SMMU_STE_BYPASS;
	} else if (d && d->stage == ARM_SMMU_DOMAIN_S2) {
		ste.config = SMMU_STE_S2;
		ste_set_s2(&ste, d, master);
	} else if (d && d->stage == ARM_SMMU_DOMAIN_NESTED &&
		   d->s1.config == IOMMU_NESTED_S1_BYPASS) {
		/* the guest bypasses its stage 1: the parent's stage 2 */
		ste.config = SMMU_STE_S2;
		ste_set_s2(&ste, d->s2_parent, master);
	} else if (d && d->stage == ARM_SMMU_DOMAIN_NESTED &&
		   d->s1.config == IOMMU_NESTED_S1_ABORT) {
		/* the guest's STE aborts: ste stays as initialized */
	} else if (d && d->stage == ARM_SMMU_DOMAIN_NESTED) {
		/* the guest's CD table (an IPA) over the parent's stage 2;
		 * the CDs are the guest's: no CD write, no CFGI_CD */
		ste.config = SMMU_STE_NESTED;
		ste.s1_ctx_ptr = d->s1.cd_table;
		ste.s1_cd_max = d->s1.cd_max;
		ste_set_s2(&ste, d->s2_parent, master);
	} else if (d && d->stage == ARM_SMMU_DOMAIN_S1) {
		struct smmu_cd cd = {
			.valid = true,
			.t0sz = d->cfg.tsz,
			.ttb0 = d->cfg.ttbr,
			.asid = d->asid,
			.mair = d->cfg.mair,
			.stall = master->stall_enabled,
			/* dirty flag updates need both, as 6.12 sets them */
			.ha = d->cfg.quirks & LPAE_QUIRK_ARM_HD,
			.hd = d->cfg.quirks & LPAE_QUIRK_ARM_HD,
		};

		ret = smmu_cd_write(smmu->hw, master->cd_table, 0, &cd);
		if (ret)
			return ret;
		cmd = (struct smmu_cmd){.op = SMMU_CMD_CFGI_CD,
					.sid = master->sid};
		err = arm_smmu_cmd(smmu, &cmd);
		inc(smmu, cfgi_cmds, 1);
		ste.config = SMMU_STE_S1;
		ste.s1_ctx_ptr = master->cd_table;
		ste.s1_cd_max = 0;
	}
	ret = smmu_ste_write(smmu->hw, master->sid, &ste);
	if (ret)
		return ret;
	master->domain = d;
	cmd = (struct smmu_cmd){.op = SMMU_CMD_CFGI_STE, .sid = master->sid};
	ret = arm_smmu_cmd(smmu, &cmd);
	if (!err)
		err = ret;
	inc(smmu, cfgi_cmds, 1);
	ret = arm_smmu_sync(smmu);
	/* the SMMU may still use the old configuration */
	return err ? err : ret;
}

/*
 * An invalidation of d did not complete: the IOTLB may still hold what its
 * tables no longer map.  Mark it broken (the core refuses maps, callers
 * see the error) and block its DMA: its streams' STEs abort, with CFGI and
 * a sync.  If even that cannot go through the command queue, nothing the
 * SMMU caches can be trusted any more: disable it (GBPA abort), so no
 * stream's DMA goes anywhere.
 */
static void arm_smmu_domain_broken(struct arm_smmu_domain *d, int err)
{
	struct arm_smmu_device *smmu = d->smmu;
	int ret = 0;

	if (!iommu_domain_set_broken(&d->domain, err))
		return;
	inc(smmu, broken_domains, 1);
	mutex_lock(&smmu->lock);
	for (unsigned int sid = 0; sid < smmu->nr_sids; sid++) {
		struct arm_smmu_master *m = smmu->masters[sid];
		int r;

		if (!m || !m->domain ||
		    (m->domain != d && m->domain->s2_parent != d))
			continue;
		r = arm_smmu_install_ste(m, NULL);
		if (r && !ret)
			ret = r;
	}
	mutex_unlock(&smmu->lock);
	if (ret) {
		pr_err("arm-smmu-v3: the command queue cannot block domain "
		       "%p's streams (%d): disabling the SMMU, all DMA aborts",
		       (void *)&d->domain, ret);
		inc(smmu, disabled, 1);
		smmu_disable_abort(smmu->hw);
	}
}

static int arm_smmu_attach_dev(struct iommu_domain *domain, struct device *dev)
{
	struct arm_smmu_master *master = dev_to_master(dev);
	struct arm_smmu_device *smmu = master->smmu;
	int ret;

	if (to_smmu_domain(domain)->smmu != smmu)
		return -EINVAL;
	if (iommu_domain_error(domain))
		return iommu_domain_error(domain);
	mutex_lock(&smmu->lock);
	ret = arm_smmu_install_ste(master, to_smmu_domain(domain));
	mutex_unlock(&smmu->lock);
	return ret;
}

static void arm_smmu_detach_dev(struct iommu_domain *domain, struct device *dev)
{
	struct arm_smmu_master *master = dev_to_master(dev);

	mutex_lock(&master->smmu->lock);
	WARN_ON(arm_smmu_install_ste(master, NULL));
	mutex_unlock(&master->smmu->lock);
}

static int arm_smmu_map_pages(struct iommu_domain *domain, unsigned long iova,
			      phys_addr_t paddr, size_t pgsize, size_t pgcount,
			      int prot, size_t *mapped)
{
	struct arm_smmu_domain *d = to_smmu_domain(domain);

	if (!d->pgtbl)
		return -ENODEV;
	return lpae_map_pages(d->pgtbl, iova, paddr, pgsize, pgcount, prot,
			      mapped);
}

static size_t arm_smmu_unmap_pages(struct iommu_domain *domain,
				   unsigned long iova, size_t pgsize,
				   size_t pgcount,
				   struct iommu_iotlb_gather *gather)
{
	struct arm_smmu_domain *d = to_smmu_domain(domain);

	if (!d->pgtbl)
		return 0;
	return lpae_unmap_pages(d->pgtbl, iova, pgsize, pgcount, gather);
}

static void arm_smmu_iotlb_sync(struct iommu_domain *domain,
				struct iommu_iotlb_gather *gather)
{
	struct arm_smmu_domain *d = to_smmu_domain(domain);

	if (!d->pgtbl || iommu_iotlb_gather_empty(gather))
		return;
	gather_sync(gather, d);
}

static void arm_smmu_flush_iotlb_all(struct iommu_domain *domain)
{
	struct arm_smmu_domain *d = to_smmu_domain(domain);

	if (d->pgtbl || d->stage == ARM_SMMU_DOMAIN_NESTED)
		arm_smmu_tlb_inv_asid(d);
}

/*
 * A guest's invalidation commands for its nested domain (iommufd's
 * HWPT_INVALIDATE; Linux 6.13's arm_vsmmu_cache_invalidate is the model):
 * the stage-1 TLBIs are tagged with the domain's VMID (the guest's own
 * VMID field is replaced), TLBI_NSNH_ALL becomes TLBI_NH_ALL of the VMID;
 * the CFGIs of CDs go to every stream attached to the domain (the guest's
 * SID is not used: no vSID table without a vIOMMU).  Commands the model
 * has not (TLBI_NH_VAA, CFGI_CD_ALL) are passed as the wider command the
 * model has: TLBI_NH_ALL of the VMID, CFGI_STE of the streams (which drops
 * their CDs too).  Any other command, or a TLBI range of a granule other
 * than 4 KiB, -EIO; *done is the count of commands queued, then CMD_SYNC
 * (an error of the queue -EIO and the domain broken, as an unmap's).
 */
static const struct iommu_ops arm_smmu_ops;

int arm_smmu_nested_invalidate(struct iommu_domain *domain,
			       const uint64_t (*cmds)[2], unsigned int n,
			       unsigned int *done)
{
	struct arm_smmu_domain *d = to_smmu_domain(domain);
	struct arm_smmu_device *smmu = d->smmu;
	int ret = 0, err = 0;
	unsigned int i;

	*done = 0;
	if (d->stage != ARM_SMMU_DOMAIN_NESTED)
		return -EINVAL;
	for (i = 0; i < n && !ret; i++) {
		unsigned int guest_op = cmds[i][0] & 0xff;
		struct smmu_cmd c;

		if (guest_op == ARM_SMMU_CMD_TLBI_NH_VAA ||
		    guest_op == SMMU_CMD_TLBI_NSNH_ALL)
			c = (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_ALL};
		else if (guest_op == ARM_SMMU_CMD_CFGI_CD_ALL)
			c = (struct smmu_cmd){.op = SMMU_CMD_CFGI_STE};
		else if (guest_op == SMMU_CMD_CFGI_STE)
			c = (struct smmu_cmd){.op = 0}; /* not a guest's */
		else
			smmu_cmd_decode(cmds[i], &c);
		switch (c.op) {
		case SMMU_CMD_TLBI_NH_VA:
			if (c.tg != SMMU_TLBI_TG_NONE &&
			    c.tg != SMMU_TLBI_TG_4K) {
				ret = -EIO;
				break;
			}
			/* fall through */
		case SMMU_CMD_TLBI_NH_ASID:
		case SMMU_CMD_TLBI_NH_ALL:
			c.vmid = d->vmid;
			if (arm_smmu_cmd(smmu, &c) && !err)
				err = -EIO;
			inc(smmu, tlbi_cmds, 1);
			atomic_fetch_add_explicit(&d->domain.nr_tlbi, 1,
						  memory_order_relaxed);
			break;
		case SMMU_CMD_CFGI_CD:
		case SMMU_CMD_CFGI_STE:
			mutex_lock(&smmu->lock);
			for (unsigned int sid = 0; sid < smmu->nr_sids; sid++) {
				struct arm_smmu_master *m = smmu->masters[sid];

				if (!m || m->domain != d)
					continue;
				c.sid = sid;
				if (arm_smmu_cmd(smmu, &c) && !err)
					err = -EIO;
				inc(smmu, cfgi_cmds, 1);
			}
			mutex_unlock(&smmu->lock);
			break;
		default:
			ret = -EIO;
			break;
		}
		if (!ret)
			(*done)++;
	}
	if (*done) {
		err = arm_smmu_domain_sync(d, err);
		if (err) {
			*done = 0;
			return err;
		}
	}
	return ret;
}

bool arm_smmu_dev_is_master(struct device *dev)
{
	return dev && dev->iommu && dev->iommu->ops == &arm_smmu_ops;
}

static phys_addr_t arm_smmu_iova_to_phys(struct iommu_domain *domain,
					 dma_addr_t iova)
{
	struct arm_smmu_domain *d = to_smmu_domain(domain);

	return d->pgtbl ? lpae_iova_to_phys(d->pgtbl, iova) : 0;
}

static bool arm_smmu_capable(struct device *dev, enum iommu_cap cap)
{
	struct arm_smmu_master *master = dev_to_master(dev);

	switch (cap) {
	case IOMMU_CAP_CACHE_COHERENCY:
	case IOMMU_CAP_ENFORCE_CACHE_COHERENCY:
		return master->smmu->opts.coherent;
	case IOMMU_CAP_NOEXEC:
		return true;
	case IOMMU_CAP_DIRTY_TRACKING:
		return arm_smmu_dbm_capable(master->smmu);
	}
	return false;
}

static bool arm_smmu_enforce_cache_coherency(struct iommu_domain *domain)
{
	return to_smmu_domain(domain)->smmu->opts.coherent;
}

/* ---- devices ----------------------------------------------------------------------- */

static int arm_smmu_probe_device(struct device *dev)
{
	struct arm_smmu_device *smmu = dev->iommu->priv;
	struct arm_smmu_master *master;
	int ret;

	if (dev->sid >= smmu->nr_sids)
		return -ENODEV;
	master = ui_zalloc(sizeof(*master));
	if (!master)
		return -ENOMEM;
	master->smmu = smmu;
	master->dev = dev;
	master->sid = dev->sid;
	ret = phys_alloc_pages(smmu->pm, 0, PHYS_ALLOC_ZERO, PHYS_OWNER_KERNEL,
			       &master->cd_table);
	if (ret)
		goto err_free;

	mutex_lock(&smmu->lock);
	if (smmu->masters[dev->sid]) {
		ret = -EBUSY;
		goto err_unlock;
	}
	ret = arm_smmu_install_ste(master, NULL); /* blocked until attached */
	if (ret)
		goto err_unlock;
	smmu->masters[dev->sid] = master;
	mutex_unlock(&smmu->lock);
	dev->iommu_priv = master;
	return 0;

err_unlock:
	mutex_unlock(&smmu->lock);
	phys_free_pages(smmu->pm, master->cd_table, 0);
err_free:
	ui_free(master);
	return ret;
}

static void arm_smmu_release_device(struct device *dev)
{
	struct arm_smmu_master *master = dev_to_master(dev);
	struct arm_smmu_device *smmu = master->smmu;
	struct smmu_ste ste = {0}; /* invalid */
	struct smmu_cmd cmd = {.op = SMMU_CMD_CFGI_STE, .sid = master->sid};

	mutex_lock(&smmu->lock);
	smmu->masters[master->sid] = NULL;
	WARN_ON(smmu_ste_write(smmu->hw, master->sid, &ste));
	WARN_ON(arm_smmu_cmd(smmu, &cmd));
	inc(smmu, cfgi_cmds, 1);
	WARN_ON(arm_smmu_sync(smmu));
	mutex_unlock(&smmu->lock);
	phys_free_pages(smmu->pm, master->cd_table, 0);
	dev->iommu_priv = NULL;
	ui_free(master);
}

/*
 * Turn IOPF on or off for a master: stall when the device can stall, PRI
 * otherwise; the CD's and STE's stall bits follow.  -EBUSY when already
 * on, -EINVAL when already off; a failed enable leaves it off.
 */
static int arm_smmu_dev_set_iopf(struct device *dev, bool on)
{
	struct arm_smmu_master *master = dev_to_master(dev);
	struct iommu_domain *domain = dev->domain;
	int ret = 0;

	mutex_lock(&master->smmu->lock);
	if ((master->stall_enabled || master->pri_enabled) == on) {
		ret = on ? -EBUSY : -EINVAL;
		goto out;
	}
	master->stall_enabled = on && (dev->fw_flags & DEVICE_FW_CAN_STALL);
	master->pri_enabled = on && !master->stall_enabled;
	if (domain)
		ret = arm_smmu_install_ste(master, to_smmu_domain(domain));
	if (ret && on)
		master->stall_enabled = master->pri_enabled = false;
out:
	mutex_unlock(&master->smmu->lock);
	return ret;
}

static int arm_smmu_dev_enable_feat(struct device *dev,
				    enum iommu_dev_features feat)
{
	if (feat != IOMMU_DEV_FEAT_IOPF)
		return -ENODEV;
	if (!(dev->fw_flags & (DEVICE_FW_CAN_STALL | DEVICE_FW_PRI)))
		return -ENODEV;
	return arm_smmu_dev_set_iopf(dev, true);
}

static int arm_smmu_dev_disable_feat(struct device *dev,
				     enum iommu_dev_features feat)
{
	if (feat != IOMMU_DEV_FEAT_IOPF)
		return -EINVAL;
	return arm_smmu_dev_set_iopf(dev, false);
}

static void arm_smmu_get_resv_regions(struct device *dev,
				      struct iommu_resv_region *regions,
				      unsigned int *nr)
{
	regions[0] = (struct iommu_resv_region){
		.start = MSI_IOVA_BASE,
		.length = MSI_IOVA_LENGTH,
		.prot = IOMMU_WRITE | IOMMU_NOEXEC | IOMMU_MMIO,
		.type = IOMMU_RESV_SW_MSI,
	};
	*nr = 1;
}

static int arm_smmu_page_response(struct device *dev, struct iommu_fault *evt,
				  struct iommu_page_response *resp)
{
	struct arm_smmu_master *master = dev_to_master(dev);
	struct arm_smmu_device *smmu = master->smmu;
	struct smmu_cmd cmd = {.sid = master->sid};
	int ret;

	if (master->stall_enabled) {
		cmd.op = SMMU_CMD_RESUME;
		cmd.stag = resp->grpid;
		cmd.resp = resp->code == IOMMU_PAGE_RESP_SUCCESS
				   ? SMMU_RESUME_RETRY
				   : SMMU_RESUME_ABORT;
	} else if (master->pri_enabled) {
		cmd.op = SMMU_CMD_PRI_RESP;
		cmd.grpid = resp->grpid;
		cmd.ssid = resp->pasid;
		cmd.resp = resp->code == IOMMU_PAGE_RESP_SUCCESS
				   ? SMMU_PRI_RESP_SUCCESS
			   : resp->code == IOMMU_PAGE_RESP_INVALID
				   ? SMMU_PRI_RESP_INVALID
				   : SMMU_PRI_RESP_FAILURE;
	} else {
		return -ENODEV;
	}
	inc(smmu, responses, 1);
	ret = arm_smmu_cmd(smmu, &cmd);
	if (!ret)
		ret = arm_smmu_sync(smmu);
	return ret;
}

static const struct iommu_ops arm_smmu_ops = {
	.capable = arm_smmu_capable,
	.probe_device = arm_smmu_probe_device,
	.release_device = arm_smmu_release_device,
	.domain_alloc = arm_smmu_domain_alloc,
	.domain_free = arm_smmu_domain_free,
	.attach_dev = arm_smmu_attach_dev,
	.detach_dev = arm_smmu_detach_dev,
	.map_pages = arm_smmu_map_pages,
	.unmap_pages = arm_smmu_unmap_pages,
	.flush_iotlb_all = arm_smmu_flush_iotlb_all,
	.iotlb_sync = arm_smmu_iotlb_sync,
	.iova_to_phys = arm_smmu_iova_to_phys,
	.domain_alloc_nested = arm_smmu_domain_alloc_nested,
	.enforce_cache_coherency = arm_smmu_enforce_cache_coherency,
	.dev_enable_feat = arm_smmu_dev_enable_feat,
	.dev_disable_feat = arm_smmu_dev_disable_feat,
	.page_response = arm_smmu_page_response,
	.get_resv_regions = arm_smmu_get_resv_regions,
	.pgsize_bitmap = LPAE_PGSIZE_ALL,
};

/* ---- interrupts: events and page requests ------------------------------------------ */

static struct arm_smmu_master *find_master(struct arm_smmu_device *smmu,
					   uint32_t sid)
{
	struct arm_smmu_master *m = NULL;

	mutex_lock(&smmu->lock);
	if (sid < smmu->nr_sids)
		m = smmu->masters[sid];
	mutex_unlock(&smmu->lock);
	return m;
}

static uint32_t evt_reason(uint8_t type)
{
	switch (type) {
	case SMMU_EVT_F_TRANSLATION:
	case SMMU_EVT_F_ADDR_SIZE:
		return IOMMU_FAULT_REASON_PTE_FETCH;
	case SMMU_EVT_F_ACCESS:
		return IOMMU_FAULT_REASON_ACCESS;
	case SMMU_EVT_F_PERMISSION:
		return IOMMU_FAULT_REASON_PERMISSION;
	case SMMU_EVT_F_WALK_EABT:
		return IOMMU_FAULT_REASON_WALK_EABT;
	case SMMU_EVT_C_BAD_CD:
	case SMMU_EVT_F_CD_FETCH:
		return IOMMU_FAULT_REASON_PASID_FETCH;
	case SMMU_EVT_C_BAD_SUBSTREAMID:
		return IOMMU_FAULT_REASON_PASID_INVALID;
	default:
		return IOMMU_FAULT_REASON_UNKNOWN;
	}
}

static void arm_smmu_resume_abort(struct arm_smmu_device *smmu, uint32_t sid,
				  uint16_t stag)
{
	struct smmu_cmd cmd = {.op = SMMU_CMD_RESUME,
			       .sid = sid,
			       .stag = stag,
			       .resp = SMMU_RESUME_ABORT};

	if (!arm_smmu_cmd(smmu, &cmd))
		arm_smmu_sync(smmu);
}

static void arm_smmu_handle_event(struct arm_smmu_device *smmu,
				  const struct smmu_event *ev)
{
	struct arm_smmu_master *master = find_master(smmu, ev->sid);
	bool stall = ev->flags & SMMU_EVT_FL_STALL;
	bool l2 = (ev->flags & SMMU_EVT_FL_S2) &&
		  (ev->flags & SMMU_EVT_FL_NESTED);
	unsigned int perm = ev->flags & SMMU_EVT_FL_WRITE
				    ? IOMMU_FAULT_PERM_WRITE
				    : IOMMU_FAULT_PERM_READ;
	struct iommu_fault fault = {0};
	int ret = -ENODEV;

	inc(smmu, events, 1);
	if (stall) {
		fault.type = IOMMU_FAULT_PAGE_REQ;
		fault.prm.flags = IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE;
		if (ev->flags & SMMU_EVT_FL_SSV) {
			fault.prm.flags |= IOMMU_FAULT_PAGE_REQUEST_PASID_VALID;
			fault.prm.pasid = ev->ssid;
		}
		fault.prm.grpid = ev->stag;
		fault.prm.perm = perm;
		fault.prm.addr = ev->addr;
		if (l2) {
			/* the host resolves stage 2: the page to fault in is
			 * the IPA (the output IPA, or the guest's table or CD
			 * entry being fetched) */
			fault.prm.flags |= IOMMU_FAULT_PAGE_REQUEST_L2;
			fault.prm.addr = ev->fetch_addr;
			if (ev->flags &
			    (SMMU_EVT_FL_CLASS_TT | SMMU_EVT_FL_CLASS_CD))
				fault.prm.perm = IOMMU_FAULT_PERM_READ;
		}
		inc(smmu, page_requests, 1);
	} else {
		fault.type = IOMMU_FAULT_DMA_UNRECOV;
		fault.event.reason = evt_reason(ev->type);
		fault.event.flags = IOMMU_FAULT_UNRECOV_ADDR_VALID;
		if (ev->flags & SMMU_EVT_FL_SSV) {
			fault.event.flags |= IOMMU_FAULT_UNRECOV_PASID_VALID;
			fault.event.pasid = ev->ssid;
		}
		if (l2) {
			fault.event.flags |=
				IOMMU_FAULT_UNRECOV_L2 |
				IOMMU_FAULT_UNRECOV_FETCH_ADDR_VALID;
			fault.event.fetch_addr = ev->fetch_addr;
		}
		fault.event.perm = perm;
		fault.event.addr = ev->addr;
		inc(smmu, unrecoverable, 1);
	}

	if (master && master->dev->fault_param)
		ret = iommu_report_device_fault(master->dev, &fault);
	if (master && !stall) {
		/* under the group lock: a detach may be freeing the domain */
		int r = report_iommu_fault_dev(master->dev, ev->addr,
					       perm == IOMMU_FAULT_PERM_WRITE);

		if (!r)
			ret = 0;
	}
	if (ret) {
		inc(smmu, unhandled, 1);
		if (stall)
			arm_smmu_resume_abort(smmu, ev->sid, ev->stag);
	}
}

static void arm_smmu_evtq_irq(void *priv)
{
	struct arm_smmu_device *smmu = priv;
	struct smmu_event ev;

	atomic_fetch_add(&smmu->irq_active, 1);
	while (smmu_evtq_read(smmu->hw, &ev) == 1)
		arm_smmu_handle_event(smmu, &ev);
	if (smmu_evtq_overflowed(smmu->hw))
		smmu_evtq_ack_overflow(smmu->hw);
	atomic_fetch_sub(&smmu->irq_active, 1);
}

static void arm_smmu_priq_irq(void *priv)
{
	struct arm_smmu_device *smmu = priv;
	struct smmu_page_request req;

	while (smmu_priq_read(smmu->hw, &req) == 1) {
		struct arm_smmu_master *master = find_master(smmu, req.sid);
		struct iommu_fault fault = {.type = IOMMU_FAULT_PAGE_REQ};
		int ret = -ENODEV;

		inc(smmu, page_requests, 1);
		fault.prm.grpid = req.grpid;
		fault.prm.addr = req.addr;
		fault.prm.perm = req.flags & SMMU_PRI_FL_WRITE
					 ? IOMMU_FAULT_PERM_WRITE
					 : IOMMU_FAULT_PERM_READ;
		if (req.flags & SMMU_PRI_FL_LAST)
			fault.prm.flags |= IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE;
		if (req.flags & SMMU_PRI_FL_PASID) {
			fault.prm.flags |=
				IOMMU_FAULT_PAGE_REQUEST_PASID_VALID |
				IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID;
			fault.prm.pasid = req.ssid;
		}
		if (master && master->dev->fault_param)
			ret = iommu_report_device_fault(master->dev, &fault);
		if (ret && (req.flags & SMMU_PRI_FL_LAST)) {
			struct smmu_cmd cmd = {.op = SMMU_CMD_PRI_RESP,
					       .sid = req.sid,
					       .ssid = req.ssid,
					       .grpid = req.grpid,
					       .resp = SMMU_PRI_RESP_INVALID};

			inc(smmu, unhandled, 1);
			if (!arm_smmu_cmd(smmu, &cmd))
				arm_smmu_sync(smmu);
		}
	}
	if (smmu_priq_overflowed(smmu->hw))
		smmu_priq_ack_overflow(smmu->hw);
}

static const char *cerror_str(enum smmu_cmdq_cerror e)
{
	switch (e) {
	case SMMU_CERROR_NONE:
		return "no error";
	case SMMU_CERROR_ILL:
		return "illegal command";
	case SMMU_CERROR_ABT:
		return "abort on command fetch";
	case SMMU_CERROR_ATC_INV_SYNC:
		return "ATC invalidation timeout";
	}
	return "unknown";
}

/* Every STE, CD and command goes through the hardware model's encoders
 * and decoders (struct smmu_ste, smmu_cd, smmu_cmd), the failed command the
 * gerror handler names included. */
static const char *cmd_str(const uint64_t dw[2])
{
	struct smmu_cmd c;

	smmu_cmd_decode(dw, &c);
	switch (c.op) {
	case SMMU_CMD_CFGI_STE:
		return "CFGI_STE";
	case SMMU_CMD_CFGI_ALL:
		return "CFGI_ALL";
	case SMMU_CMD_CFGI_CD:
		return "CFGI_CD";
	case SMMU_CMD_TLBI_NH_ALL:
		return "TLBI_NH_ALL";
	case SMMU_CMD_TLBI_NH_ASID:
		return "TLBI_NH_ASID";
	case SMMU_CMD_TLBI_NH_VA:
		return "TLBI_NH_VA";
	case SMMU_CMD_TLBI_S12_VMALL:
		return "TLBI_S12_VMALL";
	case SMMU_CMD_TLBI_S2_IPA:
		return "TLBI_S2_IPA";
	case SMMU_CMD_TLBI_NSNH_ALL:
		return "TLBI_NSNH_ALL";
	case SMMU_CMD_PRI_RESP:
		return "PRI_RESP";
	case SMMU_CMD_RESUME:
		return "RESUME";
	case SMMU_CMD_SYNC:
		return "CMD_SYNC";
	}
	return "unknown opcode";
}

/*
 * The global-error interrupt.  A command error stopped the queue at cons:
 * an illegal command is reported and replaced by a CMD_SYNC (skipped), an
 * aborted fetch is retried (up to ARM_SMMU_CMDQ_ABT_RETRIES times for one
 * command, then the error is left active so that the syncs behind it fail
 * rather than spin), an ATC invalidation timeout repeats its sync.  Then
 * the error is acknowledged and the queue resumes.
 */
#define ARM_SMMU_CMDQ_ABT_RETRIES 3

static void arm_smmu_gerror_irq(void *priv)
{
	struct arm_smmu_device *smmu = priv;
	const struct smmu_cmd sync_cmd = {.op = SMMU_CMD_SYNC};
	uint64_t sync[2];
	struct smmu_cmdq_state st;
	uint32_t active = smmu_gerror_read(smmu->hw);
	bool give_up;

	if (!active)
		return;
	smmu_cmd_encode(&sync_cmd, sync);
	pr_warn("arm-smmu-v3: unexpected global error reported (%#x), this "
		"could be serious",
		active);
	if (active & SMMU_GERROR_CMDQ_ERR) {
		smmu_cmdq_state(smmu->hw, &st);
		inc(smmu, cerrors, 1);
		mutex_lock(&smmu->gerror_lock);
		smmu->last_cerror = st.cerror;
		memcpy(smmu->last_cmd, st.bad_cmd, sizeof(smmu->last_cmd));
		mutex_unlock(&smmu->gerror_lock);
		pr_err("arm-smmu-v3: CMDQ error (cons %#x): %s", st.cons,
		       cerror_str(st.cerror));
		switch (st.cerror) {
		case SMMU_CERROR_NONE:
		case SMMU_CERROR_ATC_INV_SYNC: /* cons is at the sync: again */
			break;
		case SMMU_CERROR_ABT:
			mutex_lock(&smmu->gerror_lock);
			if (st.cons != smmu->abt_cons)
				smmu->abt_count = 0;
			smmu->abt_cons = st.cons;
			give_up = ++smmu->abt_count > ARM_SMMU_CMDQ_ABT_RETRIES;
			mutex_unlock(&smmu->gerror_lock);
			if (give_up) {
				pr_err("arm-smmu-v3: command fetch still "
				       "aborts after %u retries: the queue "
				       "stays stopped",
				       ARM_SMMU_CMDQ_ABT_RETRIES);
				return; /* not acknowledged */
			}
			pr_err("arm-smmu-v3: retrying command fetch");
			inc(smmu, fetch_retries, 1);
			break;
		case SMMU_CERROR_ILL:
		default:
			pr_err("arm-smmu-v3: skipping command in error state: "
			       "%s 0x%016llx 0x%016llx",
			       cmd_str(st.bad_cmd),
			       (unsigned long long)st.bad_cmd[0],
			       (unsigned long long)st.bad_cmd[1]);
			WARN_ON(smmu_cmdq_write_cons(smmu->hw, sync));
			inc(smmu, skipped_cmds, 1);
			break;
		}
	}
	smmu_gerror_ack(smmu->hw, active);
}

static const struct smmu_irq_ops arm_smmu_irq_ops = {
	.evtq = arm_smmu_evtq_irq,
	.priq = arm_smmu_priq_irq,
	.gerror = arm_smmu_gerror_irq,
};

/* ---- probe ---------------------------------------------------------------------------- */

/* What probe made, the masters table perhaps not (a failed probe). */
static void arm_smmu_device_free(struct arm_smmu_device *smmu)
{
	mutex_destroy(&smmu->gerror_lock);
	mutex_destroy(&smmu->lock);
	ui_free(smmu->masters);
	ui_free(smmu);
}

int arm_smmu_device_probe(struct smmu *hw, const struct arm_smmu_options *opts,
			  struct arm_smmu_device **out)
{
	struct arm_smmu_options def = {
		.coherent = true,
		.ias = ARM_SMMU_DEFAULT_IAS,
		.range_inv = true,
	};
	struct smmu_config hwcfg;
	struct arm_smmu_device *smmu;
	int ret;

	if (!hw || !out)
		return -EINVAL;
	if (!opts)
		opts = &def;
	if (opts->ias && (opts->ias < LPAE_MIN_IAS || opts->ias > LPAE_MAX_IAS))
		return -EINVAL;
	smmu_get_config(hw, &hwcfg);

	smmu = ui_zalloc(sizeof(*smmu));
	if (!smmu)
		return -ENOMEM;
	smmu->hw = hw;
	smmu->pm = smmu_phys(hw);
	smmu->opts = *opts;
	if (!smmu->opts.ias)
		smmu->opts.ias = ARM_SMMU_DEFAULT_IAS;
	if (!smmu->opts.pgsize_bitmap)
		smmu->opts.pgsize_bitmap = LPAE_PGSIZE_ALL;
	smmu->nr_sids = 1u << hwcfg.sid_bits;
	smmu->hd = ((smmu_read_idr0(hw) >> SMMU_IDR0_HTTU_SHIFT) &
		    SMMU_IDR0_HTTU_MASK) == SMMU_HTTU_ACCESS_DIRTY;
	mutex_init(&smmu->lock, IOMMU_LOCK_SMMU);
	mutex_init(&smmu->gerror_lock, IOMMU_LOCK_SMMU_GERROR);
	smmu->masters = ui_calloc(smmu->nr_sids, sizeof(*smmu->masters));
	if (!smmu->masters) {
		arm_smmu_device_free(smmu);
		return -ENOMEM;
	}
	smmu->asids.bits[0] = 1; /* ASID 0 is never handed out */
	smmu->vmids.bits[0] = 1; /* VMID 0 tags the stage-1 domains */

	smmu->iommu.ops = &arm_smmu_ops;
	smmu->iommu.pm = smmu->pm;
	smmu->iommu.priv = smmu;
	snprintf(smmu->iommu.name, sizeof(smmu->iommu.name), "smmu3");
	ret = iommu_device_register(&smmu->iommu);
	if (ret) {
		arm_smmu_device_free(smmu);
		return ret;
	}
	smmu_set_irq_ops(hw, &arm_smmu_irq_ops, smmu);
	*out = smmu;
	return 0;
}

void arm_smmu_device_remove(struct arm_smmu_device *smmu)
{
	if (!smmu)
		return;
	smmu_set_irq_ops(smmu->hw, NULL, NULL);
	/* an event interrupt still finishing on the SMMU's thread */
	while (atomic_load(&smmu->irq_active))
		sched_yield();
	iommu_device_unregister(&smmu->iommu);
	for (unsigned int i = 0; i < smmu->nr_sids; i++)
		WARN_ON(smmu->masters[i]);
	arm_smmu_device_free(smmu);
}

struct iommu_device *arm_smmu_iommu(struct arm_smmu_device *smmu)
{
	return &smmu->iommu;
}

struct smmu *arm_smmu_hw(struct arm_smmu_device *smmu)
{
	return smmu->hw;
}

int arm_smmu_domain_tag(struct iommu_domain *domain)
{
	struct arm_smmu_domain *d = to_smmu_domain(domain);

	switch (d->stage) {
	case ARM_SMMU_DOMAIN_S1:
		return d->asid;
	case ARM_SMMU_DOMAIN_S2:
	case ARM_SMMU_DOMAIN_NESTED:
		return d->vmid;
	default:
		return -EINVAL;
	}
}

void arm_smmu_get_stats(struct arm_smmu_device *smmu, struct arm_smmu_stats *st)
{
	memset(st, 0, sizeof(*st)); /* padding too: callers compare them */
	st->tlbi_cmds = atomic_load(&smmu->tlbi_cmds);
	st->syncs = atomic_load(&smmu->syncs);
	st->cfgi_cmds = atomic_load(&smmu->cfgi_cmds);
	st->events = atomic_load(&smmu->events);
	st->unrecoverable = atomic_load(&smmu->unrecoverable);
	st->page_requests = atomic_load(&smmu->page_requests);
	st->unhandled = atomic_load(&smmu->unhandled);
	st->responses = atomic_load(&smmu->responses);
	st->cerrors = atomic_load(&smmu->cerrors);
	st->skipped_cmds = atomic_load(&smmu->skipped_cmds);
	st->fetch_retries = atomic_load(&smmu->fetch_retries);
	st->sync_retries = atomic_load(&smmu->sync_retries);
	st->sync_failures = atomic_load(&smmu->sync_failures);
	st->broken_domains = atomic_load(&smmu->broken_domains);
	st->disabled = atomic_load(&smmu->disabled);
	mutex_lock(&smmu->gerror_lock);
	st->last_cerror = smmu->last_cerror;
	memcpy(st->last_cmd, smmu->last_cmd, sizeof(st->last_cmd));
	mutex_unlock(&smmu->gerror_lock);
}
