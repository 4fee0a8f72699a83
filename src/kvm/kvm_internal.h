/* SPDX-License-Identifier: MIT */
/*
 * KVM layer internals: struct kvm, its memory slots and the MMU-notifier
 * sequence that keeps the fault path honest (src/kvm/kvm.c, src/kvm/mmu.c).
 */
#ifndef UIOMMU_KVM_INTERNAL_H
#define UIOMMU_KVM_INTERNAL_H

#include "kvm/kvm.h"

#include "lib/internal.h"
#include "lib/lock.h"

/*
 * The KVM layer's lock order: one lock.  It is taken inside the mm's
 * mmap_lock (the MMU notifier's callbacks run under it), never around it
 * (the fault path resolves pages with no lock of ours held), so it ranks
 * in the band of the locks MMU-notifier callbacks take, after mmap_lock,
 * not at LOCK_RANK_KVM (lib/lock.h).  Under it the stage-2 table is
 * changed (the page-table layer's cache_lock, phys_mem's lock).
 */
enum kvm_lock_rank {
	KVM_LOCK_MMU = LOCK_RANK_MM_NOTIFIER, /* struct kvm: mmu_lock */
};

#define STAGE2_PAGE_SHIFT PHYS_PAGE_SHIFT
#define STAGE2_PAGE_SIZE  PHYS_PAGE_SIZE
#define BITS_PER_LONG	  (8 * sizeof(unsigned long))

/*
 * One memory slot (struct kvm_memory_slot): guest pages
 * [base_gfn, base_gfn + npages) are the pages of the slot's mm at
 * [userspace_addr, userspace_addr + npages * 4 KiB).  mapped has one bit
 * per page, set exactly while stage 2 holds a leaf for it.  Immutable
 * after creation except flags (mmu_lock) and mapped (mmu_lock).
 */
struct kvm_memory_slot {
	uint32_t id;
	uint32_t flags;
	uint64_t base_gfn;
	uint64_t npages;
	unsigned long userspace_addr;
	unsigned long *mapped;
};

typedef void (*stage2_fault_hook_t)(struct kvm *kvm, uint64_t gpa, void *arg);

/*
 * Locking: mmu_lock (a struct mutex) guards the slot array, the stage-2
 * table, the mapped bitmaps, the invalidation sequence and the statistics.
 * The MMU notifier runs with the mm's mmap_lock held for writing and takes
 * mmu_lock inside it, so the order is mmap_lock -> mmu_lock (KVM_LOCK_MMU
 * above): the fault path never calls into the mm while holding mmu_lock.
 *
 * mmu_invalidate_seq / mmu_invalidate_in_progress are KVM's retry
 * protocol: a fault samples the sequence under mmu_lock, resolves the page
 * with no lock of ours held, and installs only if no invalidation started
 * or finished since (otherwise it starts over).
 */
struct kvm {
	struct phys_mem *pm;	  /* immutable */
	struct mm *mm;		  /* immutable; unused once mm_dead */
	struct stage2_config cfg; /* immutable */
	uint64_t allow_wc_mask;	  /* immutable: VM_VFIO_ALLOW_WC or VM_NONE */
	struct lpae_pgtable *pgt; /* mmu_lock */
	struct mmu_notifier mn;

	struct mutex mmu_lock;
	struct kvm_memory_slot *slots[STAGE2_MAX_SLOTS]; /* mmu_lock */
	unsigned long mmu_invalidate_seq;		 /* mmu_lock */
	unsigned int mmu_invalidate_in_progress;	 /* mmu_lock */
	bool mm_dead;		   /* mmu_lock: release() ran */
	struct stage2_stats stats; /* mmu_lock, except faults */
	_Atomic uint64_t faults;

	/* tests: called by the fault path after the attribute decision and
	 * before it takes mmu_lock to install (src/kvm/mmu.c) */
	stage2_fault_hook_t fault_hook;
	void *fault_hook_arg;
};

static inline bool slot_test_bit(const struct kvm_memory_slot *s, uint64_t idx)
{
	return s->mapped[idx / BITS_PER_LONG] & (1UL << (idx % BITS_PER_LONG));
}

static inline void slot_set_bit(struct kvm_memory_slot *s, uint64_t idx)
{
	s->mapped[idx / BITS_PER_LONG] |= 1UL << (idx % BITS_PER_LONG);
}

static inline void slot_clear_bit(struct kvm_memory_slot *s, uint64_t idx)
{
	s->mapped[idx / BITS_PER_LONG] &= ~(1UL << (idx % BITS_PER_LONG));
}

/* kvm.c */
struct kvm_memory_slot *stage2_find_slot(struct kvm *kvm, uint64_t gfn);
void stage2_zap_slot(struct kvm *kvm, struct kvm_memory_slot *s, uint64_t first,
		     uint64_t last);

/* mmu.c */
enum kvm_pgtable_prot stage2_pte_to_prot(uint64_t pte);

/* Tests only: see struct kvm.fault_hook. */
void stage2_set_fault_hook(struct kvm *kvm, stage2_fault_hook_t hook,
			   void *arg);

#endif /* UIOMMU_KVM_INTERNAL_H */
