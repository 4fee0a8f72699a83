// SPDX-License-Identifier: MIT
/*
 * KVM VMs: memory slots over an address space, the stage-2 table that
 * translates them, and the MMU notifier that keeps the table a subset of
 * what the address space maps.
 *
 * Data model:
 *  - struct kvm owns one LPAE stage-2 table (lpae_alloc stage 2, IPA size
 *    from the config, tables kept until the VM goes: LPAE_QUIRK_KEEP_TABLES,
 *    so widening a leaf's permissions never needs a frame).
 *  - Up to STAGE2_MAX_SLOTS slots, each a guest-physical range backed by a
 *    user range of the VM's mm, with a bitmap of the pages stage 2 maps.
 *  - Stage 2 holds no page references: a leaf is kept valid by the MMU
 *    notifier, which removes it before the mm changes the page (unmap,
 *    discard) or goes (release), as KVM does.
 *
 * Invariants (stage2_check_invariants):
 *  - a slot's bit is set exactly while a leaf maps its page, and that leaf
 *    points at the frame the slot's mm maps at the page's address;
 *  - leaves installed minus leaves removed == pages whose bit is set (no
 *    leaf outside a slot);
 *  - slots never overlap in guest-physical space.
 *
 * Locking: see struct kvm (kvm_internal.h).  Slot changes and notifier
 * callbacks bump mmu_invalidate_seq so that a fault that resolved a page
 * before them starts over instead of installing a stale translation.
 */
#include <stdio.h>
#include <string.h>

#include "kvm/kvm_internal.h"
#include "pgtable/lpae_format.h"

#define STAGE2_DEFAULT_IPA_BITS 40

struct kvm_memory_slot *stage2_find_slot(struct kvm *kvm, uint64_t gfn)
{
	lockdep_assert_held(&kvm->mmu_lock);
	for (unsigned int i = 0; i < STAGE2_MAX_SLOTS; i++) {
		struct kvm_memory_slot *s = kvm->slots[i];

		if (s && gfn >= s->base_gfn && gfn - s->base_gfn < s->npages)
			return s;
	}
	return NULL;
}

/*
 * Unmap the slot's pages [first, last] from stage 2, one lpae call per run
 * of mapped pages.
 */
void stage2_zap_slot(struct kvm *kvm, struct kvm_memory_slot *s, uint64_t first,
		     uint64_t last)
{
	uint64_t i = first;

	lockdep_assert_held(&kvm->mmu_lock);
	while (i <= last) {
		uint64_t run = 0;
		size_t unmapped;

		/* skip whole empty words quickly */
		if (!(i % BITS_PER_LONG) && !s->mapped[i / BITS_PER_LONG]) {
			i += BITS_PER_LONG;
			continue;
		}
		if (!slot_test_bit(s, i)) {
			i++;
			continue;
		}
		while (i + run <= last && slot_test_bit(s, i + run)) {
			slot_clear_bit(s, i + run);
			run++;
		}
		unmapped = lpae_unmap_pages(
			kvm->pgt, (s->base_gfn + i) << STAGE2_PAGE_SHIFT,
			STAGE2_PAGE_SIZE, run, NULL);
		WARN_ON(unmapped != run << STAGE2_PAGE_SHIFT);
		kvm->stats.zapped += run;
		kvm->stats.mapped_pages -= run;
		i += run;
	}
}

static void stage2_zap_all(struct kvm *kvm)
{
	lockdep_assert_held(&kvm->mmu_lock);
	for (unsigned int i = 0; i < STAGE2_MAX_SLOTS; i++)
		if (kvm->slots[i])
			stage2_zap_slot(kvm, kvm->slots[i], 0,
					kvm->slots[i]->npages - 1);
}

/* ---- MMU notifier ---------------------------------------------------------- */

/*
 * Before the mm changes [start, end): drop every stage-2 leaf of a slot
 * page in the range, and hold off faults until the change is done.
 */
static void stage2_invalidate_range_start(struct mmu_notifier *mn,
					  const struct mmu_notifier_range *r)
{
	struct kvm *kvm = container_of(mn, struct kvm, mn);

	mutex_lock(&kvm->mmu_lock);
	kvm->mmu_invalidate_in_progress++;
	kvm->stats.notifier_calls++;
	for (unsigned int i = 0; i < STAGE2_MAX_SLOTS; i++) {
		struct kvm_memory_slot *s = kvm->slots[i];
		unsigned long send, a, e;

		if (!s)
			continue;
		send = s->userspace_addr + (s->npages << STAGE2_PAGE_SHIFT);
		a = max(r->start, s->userspace_addr);
		e = min(r->end, send);
		if (a >= e)
			continue;
		stage2_zap_slot(
			kvm, s, (a - s->userspace_addr) >> STAGE2_PAGE_SHIFT,
			((e - s->userspace_addr) >> STAGE2_PAGE_SHIFT) - 1);
	}
	mutex_unlock(&kvm->mmu_lock);
}

static void stage2_invalidate_range_end(struct mmu_notifier *mn,
					const struct mmu_notifier_range *r)
{
	struct kvm *kvm = container_of(mn, struct kvm, mn);

	mutex_lock(&kvm->mmu_lock);
	kvm->mmu_invalidate_seq++;
	kvm->mmu_invalidate_in_progress--;
	mutex_unlock(&kvm->mmu_lock);
}

/* The mm goes: nothing of it may stay mapped, and no fault may resolve. */
static void stage2_release(struct mmu_notifier *mn, struct mm *mm)
{
	struct kvm *kvm = container_of(mn, struct kvm, mn);

	mutex_lock(&kvm->mmu_lock);
	kvm->stats.notifier_calls++;
	stage2_zap_all(kvm);
	kvm->mm_dead = true;
	kvm->mmu_invalidate_seq++;
	mutex_unlock(&kvm->mmu_lock);
}

static const struct mmu_notifier_ops stage2_mmu_notifier_ops = {
	.invalidate_range_start = stage2_invalidate_range_start,
	.invalidate_range_end = stage2_invalidate_range_end,
	.release = stage2_release,
};

/* ---- VMs -------------------------------------------------------------------- */

int stage2_create_vm(struct mm *mm, const struct stage2_config *cfg,
		     struct kvm **out)
{
	struct stage2_config c = {0};
	struct kvm *kvm;
	int ret;

	if (!mm || !out)
		return -EINVAL;
	if (cfg)
		c = *cfg;
	if (!c.ipa_bits)
		c.ipa_bits = STAGE2_DEFAULT_IPA_BITS;
	if (c.ipa_bits < LPAE_MIN_IAS || c.ipa_bits > LPAE_MAX_IAS)
		return -EINVAL;

	kvm = ui_zalloc(sizeof(*kvm));
	if (!kvm)
		return -ENOMEM;
	kvm->pm = mm_phys(mm);
	kvm->mm = mm;
	kvm->cfg = c;
	/* the flag as this build (or the modelled 32-bit host) defines it */
	kvm->allow_wc_mask = c.vm_flags_32bit ? stage2_vm_allow_wc_flag(false)
					      : STAGE2_VM_VFIO_ALLOW_WC;
	mutex_init(&kvm->mmu_lock, KVM_LOCK_MMU);

	struct lpae_cfg pcfg = {
		.stage = 2,
		.ias = c.ipa_bits,
		.oas = LPAE_MAX_OAS,
		.pgsize_bitmap = LPAE_PGSIZE_ALL,
		.coherent_walk = true,
		.quirks = LPAE_QUIRK_KEEP_TABLES,
	};
	ret = lpae_alloc(kvm->pm, &pcfg, &kvm->pgt);
	if (ret)
		goto err_free;

	kvm->mn.ops = &stage2_mmu_notifier_ops;
	ret = mmu_notifier_register(&kvm->mn, mm);
	if (ret)
		goto err_pgt;
	*out = kvm;
	return 0;

err_pgt:
	lpae_free(kvm->pgt);
err_free:
	mutex_destroy(&kvm->mmu_lock);
	ui_free(kvm);
	return ret;
}

static void slot_free(struct kvm_memory_slot *s)
{
	ui_free(s->mapped);
	ui_free(s);
}

void stage2_destroy_vm(struct kvm *kvm)
{
	if (!kvm)
		return;
	/* a no-op when the mm already went (release() unlinked us) */
	mmu_notifier_unregister(&kvm->mn);
	mutex_lock(&kvm->mmu_lock);
	stage2_zap_all(kvm);
	for (unsigned int i = 0; i < STAGE2_MAX_SLOTS; i++) {
		if (kvm->slots[i])
			slot_free(kvm->slots[i]);
		kvm->slots[i] = NULL;
	}
	mutex_unlock(&kvm->mmu_lock);
	lpae_free(kvm->pgt);
	mutex_destroy(&kvm->mmu_lock);
	ui_free(kvm);
}

/* ---- memory slots ------------------------------------------------------------ */

static int check_region(struct kvm *kvm, const struct stage2_memory_region *r,
			uint64_t *gpa_end)
{
	unsigned long uend;

	if (r->slot >= STAGE2_MAX_SLOTS || (r->flags & ~STAGE2_MEM_FLAGS_ALL))
		return -EINVAL;
	if (!IS_ALIGNED(r->guest_phys_addr, STAGE2_PAGE_SIZE) ||
	    !IS_ALIGNED(r->memory_size, STAGE2_PAGE_SIZE) ||
	    !IS_ALIGNED(r->userspace_addr, STAGE2_PAGE_SIZE))
		return -EINVAL;
	if (check_add_overflow(r->guest_phys_addr, r->memory_size, gpa_end) ||
	    check_add_overflow((unsigned long)r->userspace_addr,
			       (unsigned long)r->memory_size, &uend) ||
	    r->userspace_addr != (unsigned long)r->userspace_addr)
		return -EINVAL;
	/* kvm_arch_prepare_memory_region: beyond the IPA space */
	if (*gpa_end > (1ULL << kvm->cfg.ipa_bits))
		return -EFAULT;
	return 0;
}

int stage2_set_memory_region(struct kvm *kvm,
			     const struct stage2_memory_region *r)
{
	struct kvm_memory_slot *s, *old;
	uint64_t gpa_end, npages;
	int ret;

	if (!kvm || !r)
		return -EINVAL;
	if (r->slot >= STAGE2_MAX_SLOTS)
		return -EINVAL;

	mutex_lock(&kvm->mmu_lock);
	old = kvm->slots[r->slot];

	if (!r->memory_size) {
		/* delete */
		ret = -EINVAL;
		if (!old || (r->flags & ~STAGE2_MEM_FLAGS_ALL))
			goto out;
		stage2_zap_slot(kvm, old, 0, old->npages - 1);
		kvm->slots[r->slot] = NULL;
		kvm->mmu_invalidate_seq++;
		slot_free(old);
		ret = 0;
		goto out;
	}

	ret = check_region(kvm, r, &gpa_end);
	if (ret)
		goto out;
	npages = r->memory_size >> STAGE2_PAGE_SHIFT;

	if (old) {
		/* only a flags change, and not of READONLY (as KVM) */
		ret = -EINVAL;
		if (old->base_gfn << STAGE2_PAGE_SHIFT != r->guest_phys_addr ||
		    old->npages != npages ||
		    old->userspace_addr != r->userspace_addr ||
		    ((old->flags ^ r->flags) & STAGE2_MEM_READONLY))
			goto out;
		if (old->flags != r->flags) {
			/* attributes may change: start over from faults */
			stage2_zap_slot(kvm, old, 0, old->npages - 1);
			old->flags = r->flags;
			kvm->mmu_invalidate_seq++;
		}
		ret = 0;
		goto out;
	}

	for (unsigned int i = 0; i < STAGE2_MAX_SLOTS; i++) {
		struct kvm_memory_slot *o = kvm->slots[i];
		uint64_t ostart, oend;

		if (!o)
			continue;
		ostart = o->base_gfn << STAGE2_PAGE_SHIFT;
		oend = ostart + (o->npages << STAGE2_PAGE_SHIFT);
		if (r->guest_phys_addr < oend && ostart < gpa_end) {
			ret = -EEXIST;
			goto out;
		}
	}

	ret = -ENOMEM;
	s = ui_zalloc(sizeof(*s));
	if (!s)
		goto out;
	s->mapped = ui_calloc(DIV_ROUND_UP(npages, BITS_PER_LONG),
			      sizeof(unsigned long));
	if (!s->mapped)
		goto err_slot;
	s->id = r->slot;
	s->flags = r->flags;
	s->base_gfn = r->guest_phys_addr >> STAGE2_PAGE_SHIFT;
	s->npages = npages;
	s->userspace_addr = r->userspace_addr;
	kvm->slots[r->slot] = s;
	kvm->mmu_invalidate_seq++;
	ret = 0;
	goto out;

err_slot:
	ui_free(s);
out:
	mutex_unlock(&kvm->mmu_lock);
	return ret;
}

/* ---- queries ------------------------------------------------------------------ */

struct lpae_pgtable *stage2_pgtable(struct kvm *kvm)
{
	return kvm->pgt;
}

int stage2_lookup(struct kvm *kvm, uint64_t gpa, uint64_t *pte,
		  enum kvm_pgtable_prot *prot)
{
	uint64_t leaf;
	int ret;

	mutex_lock(&kvm->mmu_lock);
	ret = lpae_lookup(kvm->pgt, gpa, &leaf, NULL);
	mutex_unlock(&kvm->mmu_lock);
	if (ret)
		return ret;
	if (pte)
		*pte = leaf;
	if (prot)
		*prot = stage2_pte_to_prot(leaf);
	return 0;
}

void stage2_get_stats(struct kvm *kvm, struct stage2_stats *st)
{
	mutex_lock(&kvm->mmu_lock);
	*st = kvm->stats;
	mutex_unlock(&kvm->mmu_lock);
	st->faults = atomic_load(&kvm->faults);
}

void stage2_set_fault_hook(struct kvm *kvm, stage2_fault_hook_t hook, void *arg)
{
	mutex_lock(&kvm->mmu_lock);
	kvm->fault_hook = hook;
	kvm->fault_hook_arg = arg;
	mutex_unlock(&kvm->mmu_lock);
}

/* The frame the mm maps at uaddr now (without keeping a pin), or an error. */
static int current_pa(struct mm *mm, unsigned long uaddr, phys_addr_t *pa)
{
	struct mm_pin_run run;
	unsigned int nr;
	long n;

	if (!mm_follow_pfn(mm, uaddr, pa, NULL))
		return 0;
	n = mm_pin_pages(mm, uaddr, 1, 0, &run, 1, &nr);
	if (n != 1)
		return n < 0 ? (int)n : -EFAULT;
	*pa = run.pa;
	mm_unpin_pages(mm, &run, nr, 0);
	return 0;
}

/*
 * Quiescent VM only (no fault or mm change running): the checker calls
 * into the mm, so it copies what it needs under mmu_lock first.
 */
int stage2_check_invariants(struct kvm *kvm, FILE *log)
{
	struct lpae_stats ls;
	uint64_t bits = 0;
	int bad = 0;

	mutex_lock(&kvm->mmu_lock);
	for (unsigned int i = 0; i < STAGE2_MAX_SLOTS; i++) {
		struct kvm_memory_slot *s = kvm->slots[i];

		if (!s)
			continue;
		for (unsigned int j = 0; j < STAGE2_MAX_SLOTS; j++) {
			struct kvm_memory_slot *o = kvm->slots[j];

			if (j != i && o &&
			    s->base_gfn < o->base_gfn + o->npages &&
			    o->base_gfn < s->base_gfn + s->npages) {
				bad++;
				if (log)
					fprintf(log,
						"slots %u and %u overlap\n", i,
						j);
			}
		}
		for (uint64_t p = 0; p < s->npages; p++) {
			uint64_t gpa = (s->base_gfn + p) << STAGE2_PAGE_SHIFT;
			bool set = slot_test_bit(s, p);
			uint64_t pte;
			phys_addr_t pa;
			int ret = lpae_lookup(kvm->pgt, gpa, &pte, NULL);

			if (set != !ret) {
				bad++;
				if (log)
					fprintf(log,
						"slot %u gpa %#llx: bit %d, "
						"leaf %s\n",
						i, (unsigned long long)gpa, set,
						ret ? "none" : "present");
				continue;
			}
			if (!set)
				continue;
			bits++;
			if (kvm->mm_dead)
				continue;
			mutex_unlock(&kvm->mmu_lock);
			ret = current_pa(kvm->mm,
					 s->userspace_addr +
						 (p << STAGE2_PAGE_SHIFT),
					 &pa);
			mutex_lock(&kvm->mmu_lock);
			if (ret || pa != (pte & LPAE_PTE_ADDR_MASK)) {
				bad++;
				if (log)
					fprintf(log,
						"slot %u gpa %#llx: leaf to "
						"%#llx, mm maps %#llx (%d)\n",
						i, (unsigned long long)gpa,
						(unsigned long long)(pte &
								     LPAE_PTE_ADDR_MASK),
						(unsigned long long)pa, ret);
			}
		}
	}
	lpae_get_stats(kvm->pgt, &ls);
	if (ls.maps - ls.unmaps != bits || bits != kvm->stats.mapped_pages) {
		bad++;
		if (log)
			fprintf(log,
				"leaves %llu (maps - unmaps), bits %llu, "
				"mapped_pages %llu\n",
				(unsigned long long)(ls.maps - ls.unmaps),
				(unsigned long long)bits,
				(unsigned long long)kvm->stats.mapped_pages);
	}
	mutex_unlock(&kvm->mmu_lock);
	return bad;
}
