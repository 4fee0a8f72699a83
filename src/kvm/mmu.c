// SPDX-License-Identifier: MIT
/*
 * Stage-2 faults and the memory-attribute policy (arm64 KVM's mmu.c
 * user_mem_abort() and pgtable.c stage2_set_prot_attr(); the rules are
 * docs/kvm.md's).
 *
 * Data model: a fault at a guest-physical address names a slot page; the
 * page is resolved through the slot's mm either as device memory (an
 * IO|PFNMAP VMA: mm_follow_pfn gives the frame and the VMA's flags in one
 * step under the mm's lock) or as RAM (mm_pin_pages takes a transient
 * reference, dropped once the leaf is in: the MMU notifier, not the pin,
 * keeps the leaf valid afterwards).  The policy then builds a
 * KVM_PGTABLE_PROT_* value:
 *   R always; W when the VMA and the slot allow writes;
 *   X for an exec fault, or for non-device memory when the modelled
 *     ARM64_HAS_CACHE_DIC capability is set (exec faults on device memory
 *     are -ENOEXEC);
 *   device memory: NORMAL_NC when the VMA carries VM_VFIO_ALLOW_WC (the
 *     driver that supplied the memory says any non-cacheable type is safe)
 *     and the slot does not ask for STAGE2_MEM_MMIO_STRICT; DEVICE
 *     otherwise.  RAM: neither (Normal write-back).
 * stage2_set_prot_attr() turns that into descriptor bits, rejecting
 * DEVICE|NORMAL_NC with -EINVAL and a one-time warning.
 *
 * Invariants: the VMA flag is sampled with the page it describes and the
 * VMA is never looked at again (the flag is read before the mm's lock is
 * dropped); a translation is installed only if
 * no MMU-notifier invalidation or slot change happened since the slot was
 * looked up (mmu_invalidate_seq), otherwise the fault starts over; a
 * failed fault changes nothing (no leaf, no pin, no bit).
 */
#include <stdio.h>

#include "kvm/kvm_internal.h"
#include "pgtable/lpae_format.h"

#define KVM_PGTABLE_PROT_ALL                                            \
	(KVM_PGTABLE_PROT_X | KVM_PGTABLE_PROT_W | KVM_PGTABLE_PROT_R | \
	 KVM_PGTABLE_PROT_DEVICE | KVM_PGTABLE_PROT_NORMAL_NC)

_Static_assert(STAGE2_MT_NORMAL_WB == (int)LPAE_MEM_NORMAL_WB &&
		       STAGE2_MT_NORMAL_NC == (int)LPAE_MEM_NORMAL_NC &&
		       STAGE2_MT_DEVICE == (int)LPAE_MEM_DEVICE,
	       "enum stage2_memtype mirrors enum lpae_memtype");

static _Atomic bool prot_warned;
static _Atomic unsigned int prot_warnings;

/* WARN_ON_ONCE() whose firing the tests can observe. */
static bool stage2_warn_once(bool cond, const char *what)
{
	if (likely(!cond))
		return false;
	if (!atomic_exchange(&prot_warned, true)) {
		atomic_fetch_add(&prot_warnings, 1);
		pr_warn("WARN_ON_ONCE(%s) at %s:%d", what, __FILE__, __LINE__);
	}
	return true;
}

unsigned int stage2_prot_warnings(void)
{
	return atomic_load(&prot_warnings);
}

/* KVM_PGTABLE_PROT_* to the page-table layer's IOMMU_* prot. */
static int stage2_prot_to_iommu(enum kvm_pgtable_prot prot, int *iommu_prot)
{
	bool device = prot & KVM_PGTABLE_PROT_DEVICE;
	bool normal_nc = prot & KVM_PGTABLE_PROT_NORMAL_NC;
	int p = 0;

	if (prot & ~KVM_PGTABLE_PROT_ALL)
		return -EINVAL;
	/* contradictory memory types: a caller bug, refused and warned of
	 * once */
	if (stage2_warn_once(device && normal_nc, "device && normal_nc"))
		return -EINVAL;
	if (!(prot & KVM_PGTABLE_PROT_X))
		p |= IOMMU_NOEXEC;
	else if (device)
		return -EINVAL;
	if (prot & KVM_PGTABLE_PROT_R)
		p |= IOMMU_READ;
	if (prot & KVM_PGTABLE_PROT_W)
		p |= IOMMU_WRITE;
	if (device)
		p |= IOMMU_MMIO; /* MemAttr 0b0001 Device-nGnRE */
	else if (normal_nc)
		p |= IOMMU_NORMAL_NC; /* MemAttr 0b0101 Normal-NC */
	else
		p |= IOMMU_CACHE; /* MemAttr 0b1111 Normal write-back */
	*iommu_prot = p;
	return 0;
}

int stage2_set_prot_attr(enum kvm_pgtable_prot prot, uint64_t *attr)
{
	int iommu_prot, ret;

	ret = stage2_prot_to_iommu(prot, &iommu_prot);
	if (ret)
		return ret;
	return lpae_prot_to_attrs(2, iommu_prot, attr);
}

enum kvm_pgtable_prot stage2_pte_to_prot(uint64_t pte)
{
	enum kvm_pgtable_prot prot = 0;

	if (!(pte & LPAE_PTE_VALID))
		return 0;
	if (pte & LPAE_PTE_S2AP_READ)
		prot |= KVM_PGTABLE_PROT_R;
	if (pte & LPAE_PTE_S2AP_WRITE)
		prot |= KVM_PGTABLE_PROT_W;
	if (!(pte & LPAE_PTE_XN))
		prot |= KVM_PGTABLE_PROT_X;
	switch (lpae_pte_memtype(pte, 2, 0)) {
	case LPAE_MEM_DEVICE:
		prot |= KVM_PGTABLE_PROT_DEVICE;
		break;
	case LPAE_MEM_NORMAL_NC:
		prot |= KVM_PGTABLE_PROT_NORMAL_NC;
		break;
	default:
		break;
	}
	return prot;
}

/* ---- what the guest's stage 1 may use ------------------------------------- */

static int memtype_rank(int t)
{
	switch (t) {
	case STAGE2_MT_DEVICE:
		return 2;
	case STAGE2_MT_NORMAL_NC:
		return 1;
	default:
		return 0;
	}
}

int stage2_effective_memtype(int s1, int s2)
{
	return memtype_rank(s1) >= memtype_rank(s2) ? s1 : s2;
}

int stage2_host_memtype(uint64_t vm_flags)
{
	/* vfio_pci_core_mmap: pgprot_noncached() whatever the WC flag says */
	if (vm_flags & (MM_VM_IO | MM_VM_PFNMAP))
		return STAGE2_MT_DEVICE;
	return STAGE2_MT_NORMAL_WB;
}

/* ---- the fault path ---------------------------------------------------------- */

struct stage2_resolved {
	phys_addr_t pa;
	bool device;
	bool vfio_allow_wc;
	bool writable;
	bool pinned;
	struct mm_pin_run run;
};

/*
 * Resolve hva in mm.  Device memory: the frame and the VMA flags come from
 * one mm_follow_pfn() call, under the mm's lock; what the policy needs of
 * the VMA is copied out here, and the VMA is not used again ("don't use
 * the VMA after the unlock -- it may have vanished").  RAM: one transient
 * pin, writable if possible.
 */
static int stage2_resolve(struct kvm *kvm, unsigned long hva, bool write_fault,
			  bool slot_ro, struct stage2_resolved *out)
{
	uint64_t vm_flags;
	unsigned int nr;
	long n;
	int ret;

	ret = mm_follow_pfn(kvm->mm, hva, &out->pa, &vm_flags);
	if (!ret) {
		out->device = true;
		out->vfio_allow_wc = vm_flags & kvm->allow_wc_mask;
		out->writable = vm_flags & MM_VM_WRITE;
		out->pinned = false;
		return 0;
	}
	if (ret != -EINVAL)
		return ret; /* nothing mapped there */

	out->device = false;
	out->vfio_allow_wc = false;
	n = -EFAULT;
	if (!slot_ro)
		n = mm_pin_pages(kvm->mm, hva, 1, MM_GUP_WRITE, &out->run, 1,
				 &nr);
	out->writable = n == 1;
	if (n == -EFAULT && !write_fault)
		n = mm_pin_pages(kvm->mm, hva, 1, 0, &out->run, 1, &nr);
	if (n != 1)
		return n < 0 ? (int)n : -EFAULT;
	out->pa = out->run.pa;
	out->pinned = true;
	return 0;
}

static void stage2_release_page(struct kvm *kvm, struct stage2_resolved *rs)
{
	if (rs->pinned)
		mm_unpin_pages(kvm->mm, &rs->run, 1, 0);
	rs->pinned = false;
}

/* The policy: what stage 2 may let the guest do with this page. */
static enum kvm_pgtable_prot stage2_fault_prot(struct kvm *kvm,
					       const struct stage2_resolved *rs,
					       uint32_t slot_flags,
					       bool exec_fault)
{
	enum kvm_pgtable_prot prot = KVM_PGTABLE_PROT_R;

	if (rs->writable && !(slot_flags & STAGE2_MEM_READONLY))
		prot |= KVM_PGTABLE_PROT_W;
	if (exec_fault)
		prot |= KVM_PGTABLE_PROT_X;
	if (rs->device) {
		/*
		 * The driver that supplied the memory decides whether any
		 * non-cacheable type is safe; the VMM can only take that
		 * away: MMIO from a source without the flag stays Device
		 * whatever the VMM asks.  Normal-NC at stage 2 lets the guest
		 * choose Device or Normal-NC at its stage 1.
		 */
		if (rs->vfio_allow_wc && !(slot_flags & STAGE2_MEM_MMIO_STRICT))
			prot |= KVM_PGTABLE_PROT_NORMAL_NC;
		else
			prot |= KVM_PGTABLE_PROT_DEVICE;
	} else if (kvm->cfg.cache_dic) {
		prot |= KVM_PGTABLE_PROT_X;
	}
	return prot;
}

static void stage2_count_map(struct kvm *kvm, enum kvm_pgtable_prot prot)
{
	lockdep_assert_held(&kvm->mmu_lock);
	kvm->stats.maps++;
	if (prot & KVM_PGTABLE_PROT_DEVICE)
		kvm->stats.maps_device++;
	else if (prot & KVM_PGTABLE_PROT_NORMAL_NC)
		kvm->stats.maps_nc++;
	else
		kvm->stats.maps_ram++;
}

/*
 * Install (or widen) the leaf for gpa, after the retry check.  A relaxed leaf is unmapped and mapped again; with the
 * table's frames kept (LPAE_QUIRK_KEEP_TABLES) that never allocates, so it
 * cannot fail half way.
 */
static int stage2_install(struct kvm *kvm, struct kvm_memory_slot *slot,
			  uint64_t gpa, phys_addr_t pa,
			  enum kvm_pgtable_prot prot, bool device,
			  enum kvm_pgtable_prot *now)
{
	uint64_t idx = (gpa >> STAGE2_PAGE_SHIFT) - slot->base_gfn;
	enum kvm_pgtable_prot old = 0;
	int iommu_prot, ret;
	size_t mapped;
	uint64_t pte;

	lockdep_assert_held(&kvm->mmu_lock);
	if (!lpae_lookup(kvm->pgt, gpa, &pte, NULL)) {
		old = stage2_pte_to_prot(pte);
		if ((pte & LPAE_PTE_ADDR_MASK) == pa && (old & prot) == prot) {
			/* another vCPU got there first */
			kvm->stats.spurious++;
			*now = old;
			return 0;
		}
		/* permission fault: keep what was granted, add the rest */
		if ((pte & LPAE_PTE_ADDR_MASK) == pa)
			prot |= old & (KVM_PGTABLE_PROT_W | KVM_PGTABLE_PROT_X);
	}
	ret = stage2_prot_to_iommu(prot, &iommu_prot);
	if (ret)
		return ret;
	if (old) {
		if (lpae_unmap_pages(kvm->pgt, gpa, STAGE2_PAGE_SIZE, 1,
				     NULL) != STAGE2_PAGE_SIZE)
			return -EFAULT;
		kvm->stats.mapped_pages--;
		slot_clear_bit(slot, idx);
	}
	ret = lpae_map_pages(kvm->pgt, gpa, pa, STAGE2_PAGE_SIZE, 1, iommu_prot,
			     &mapped);
	if (ret) {
		WARN_ON(old); /* tables are kept: cannot fail */
		return ret;
	}
	slot_set_bit(slot, idx);
	kvm->stats.mapped_pages++;
	if (old)
		kvm->stats.relaxed++;
	else
		stage2_count_map(kvm, prot);
	/* __invalidate_icache_guest_page: X without DIC needs maintenance */
	if ((prot & KVM_PGTABLE_PROT_X) && !(old & KVM_PGTABLE_PROT_X) &&
	    !device && !kvm->cfg.cache_dic)
		kvm->stats.icache_invals++;
	*now = prot;
	return 0;
}

int stage2_handle_fault(struct kvm *kvm, uint64_t gpa, unsigned int flags,
			struct stage2_fault_result *res)
{
	bool write_fault = flags & STAGE2_FAULT_WRITE;
	bool exec_fault = flags & STAGE2_FAULT_EXEC;
	struct stage2_resolved rs = {0};
	struct kvm_memory_slot *slot;
	enum kvm_pgtable_prot prot, now = 0;
	unsigned int retries = 0;
	unsigned long mmu_seq, hva;
	uint32_t slot_flags;
	stage2_fault_hook_t hook;
	void *hook_arg;
	uint64_t attr;
	int ret;

	if (!kvm || (flags & ~(STAGE2_FAULT_WRITE | STAGE2_FAULT_EXEC)))
		return -EINVAL;
	atomic_fetch_add(&kvm->faults, 1);
	gpa = ALIGN_DOWN(gpa, STAGE2_PAGE_SIZE);

again:
	/* the slot, and the invalidation sequence it is valid under */
	mutex_lock(&kvm->mmu_lock);
	slot = kvm->mm_dead ? NULL
			    : stage2_find_slot(kvm, gpa >> STAGE2_PAGE_SHIFT);
	if (!slot) {
		mutex_unlock(&kvm->mmu_lock);
		return -EFAULT;
	}
	hva = slot->userspace_addr +
	      (gpa - (slot->base_gfn << STAGE2_PAGE_SHIFT));
	slot_flags = slot->flags;
	mmu_seq = kvm->mmu_invalidate_seq;
	hook = kvm->fault_hook;
	hook_arg = kvm->fault_hook_arg;
	mutex_unlock(&kvm->mmu_lock);

	if (write_fault && (slot_flags & STAGE2_MEM_READONLY))
		return -EFAULT; /* KVM exits to the VMM (MMIO) */

	ret = stage2_resolve(kvm, hva, write_fault,
			     slot_flags & STAGE2_MEM_READONLY, &rs);
	if (ret)
		return ret;
	/* From here on only rs is used: the VMA may be gone already. */
	if (exec_fault && rs.device) {
		ret = -ENOEXEC;
		goto out_release;
	}
	if (write_fault && !rs.writable) {
		ret = -EFAULT;
		goto out_release;
	}
	prot = stage2_fault_prot(kvm, &rs, slot_flags, exec_fault);
	ret = stage2_set_prot_attr(prot, &attr);
	if (WARN_ON(ret))
		goto out_release;

	if (hook)
		hook(kvm, gpa, hook_arg);

	mutex_lock(&kvm->mmu_lock);
	if (kvm->mmu_invalidate_in_progress ||
	    kvm->mmu_invalidate_seq != mmu_seq || kvm->mm_dead) {
		/* the page or the slot changed under us: start over */
		kvm->stats.retries++;
		mutex_unlock(&kvm->mmu_lock);
		stage2_release_page(kvm, &rs);
		retries++;
		goto again;
	}
	/* the slot cannot have changed: that bumps the sequence */
	ret = stage2_install(kvm, slot, gpa, rs.pa, prot, rs.device, &now);
	mutex_unlock(&kvm->mmu_lock);

out_release:
	stage2_release_page(kvm, &rs);
	if (res) {
		res->prot = ret ? 0 : now;
		res->pa = rs.pa;
		res->device = rs.device;
		res->vfio_allow_wc = rs.vfio_allow_wc;
		res->retries = retries;
	}
	return ret;
}
