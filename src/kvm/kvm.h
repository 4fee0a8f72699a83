/* SPDX-License-Identifier: MIT */
/*
 * uiommu KVM layer: an arm64-style guest address space (struct kvm) whose
 * memory slots are backed by regions of an address space (struct mm), and
 * its stage-2 translation table, populated on guest faults the way
 * user_mem_abort() does it.
 *
 * The point of the layer is the stage-2 memory-attribute policy for device
 * memory (the 2023 "kvm: arm64: allow vm to select DEVICE_* and NORMAL_NC" series, VM_VFIO_ALLOW_WC):
 *  - RAM (pinnable pages) is mapped Normal write-back (MemAttr 0b1111);
 *  - device memory (an IO|PFNMAP region, resolved with mm_follow_pfn) is
 *    mapped Device-nGnRE (MemAttr 0b0001), unless the driver that supplied
 *    the memory put STAGE2_VM_VFIO_ALLOW_WC on the VMA: then Normal-NC
 *    (MemAttr 0b0101), so that the guest may pick Device or Normal-NC
 *    (write-combining) at its own stage 1;
 *  - the flag is read in the same locked step that resolves the address
 *    (mm_follow_pfn), never from a VMA that may have gone;
 *  - the VMM can only ask for more restriction (STAGE2_MEM_MMIO_STRICT on
 *    a slot), never for less;
 *  - asking stage2_set_prot_attr() for both DEVICE and NORMAL_NC is a bug
 *    of the caller: -EINVAL and a one-time warning.
 * See docs/kvm.md.
 *
 * Errors are negative errno values; a failed call changes nothing.
 */
#ifndef UIOMMU_KVM_H
#define UIOMMU_KVM_H

#include <stdint.h>
#include <uiommu/base.h>
#include "mem/mem.h"
#include "pgtable/pgtable.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the VMA flag ------------------------------------------------------- */

#define VM_NONE 0ULL

/*
 * VM_VFIO_ALLOW_WC is bit 39 of vm_flags, which only exists where vm_flags
 * is 64 bits wide.  On a 32-bit build the flag is VM_NONE: nobody can set
 * it, and no relaxation ever happens.  UIOMMU_KVM_FORCE_32BIT models a
 * 32-bit build on a 64-bit host; stage2_config.vm_flags_32bit does the same
 * at run time for one VM.
 */
#define STAGE2_VM_VFIO_ALLOW_WC_BIT MM_VM_ALLOW_WC_BIT
#if UINTPTR_MAX == UINT32_MAX || defined(UIOMMU_KVM_FORCE_32BIT)
#define STAGE2_HOST_64BIT 0
#else
#define STAGE2_HOST_64BIT 1
#endif

/* The flag as a build of the given word size defines it. */
static inline uint64_t stage2_vm_allow_wc_flag(bool bits64)
{
	return bits64 ? (1ULL << STAGE2_VM_VFIO_ALLOW_WC_BIT) : VM_NONE;
}

#define STAGE2_VM_VFIO_ALLOW_WC stage2_vm_allow_wc_flag(STAGE2_HOST_64BIT)

/* ---- stage-2 protections (the kernel's enum kvm_pgtable_prot) ------------ */

enum kvm_pgtable_prot {
	KVM_PGTABLE_PROT_X = 1u << 0,
	KVM_PGTABLE_PROT_W = 1u << 1,
	KVM_PGTABLE_PROT_R = 1u << 2,
	KVM_PGTABLE_PROT_DEVICE = 1u << 3,
	KVM_PGTABLE_PROT_NORMAL_NC = 1u << 4,
};

#define KVM_PGTABLE_PROT_RW  (KVM_PGTABLE_PROT_R | KVM_PGTABLE_PROT_W)
#define KVM_PGTABLE_PROT_RWX (KVM_PGTABLE_PROT_RW | KVM_PGTABLE_PROT_X)

/*
 * The leaf attribute bits (MemAttr, S2AP, SH, AF, XN; no address, no type)
 * of a stage-2 descriptor for prot.  -EINVAL, with a warning printed once
 * per process (WARN_ON_ONCE), for DEVICE together with NORMAL_NC;
 * -EINVAL for X on DEVICE memory (Device memory is never executable at
 * stage 2); -EINVAL for unknown bits.  Neither DEVICE nor NORMAL_NC is
 * Normal write-back; DEVICE alone is Device-nGnRE, NORMAL_NC alone
 * Normal-NC.
 */
int stage2_set_prot_attr(enum kvm_pgtable_prot prot, uint64_t *attr);
/* How many times the contradictory-attribute warning was printed (0 or 1). */
unsigned int stage2_prot_warnings(void);

/* ---- VMs and memory slots ----------------------------------------------- */

struct kvm;

struct stage2_config {
	unsigned int ipa_bits; /* guest physical address size, 32..48; 0: 40 */
	/* ARM64_HAS_CACHE_DIC: no icache maintenance needed, so non-device
	 * memory is mapped executable on every fault */
	bool cache_dic;
	/* model a 32-bit host: VM_VFIO_ALLOW_WC is VM_NONE, nothing relaxes */
	bool vm_flags_32bit;
};

/* Slot flags (KVM_SET_USER_MEMORY_REGION's, plus one restriction). */
#define STAGE2_MEM_READONLY (1u << 1) /* KVM_MEM_READONLY: no S2 write */
/*
 * uiommu: the VMM asks for more restriction: device memory of this slot is
 * Device-nGnRE at stage 2 even where its driver allows Normal-NC.  There
 * is no flag for less restriction: relaxation comes only from the driver
 * that supplied the memory.  No effect on RAM.
 */
#define STAGE2_MEM_MMIO_STRICT (1u << 8)
#define STAGE2_MEM_FLAGS_ALL   (STAGE2_MEM_READONLY | STAGE2_MEM_MMIO_STRICT)

#define STAGE2_MAX_SLOTS 32

/* struct kvm_userspace_memory_region */
struct stage2_memory_region {
	uint32_t slot;
	uint32_t flags;
	uint64_t guest_phys_addr;
	uint64_t memory_size; /* 0 deletes the slot */
	uint64_t userspace_addr;
};

struct stage2_stats {
	uint64_t faults;	/* stage2_handle_fault calls */
	uint64_t maps;		/* leaves installed */
	uint64_t maps_ram;	/* of which Normal write-back */
	uint64_t maps_device;	/* of which Device-nGnRE */
	uint64_t maps_nc;	/* of which Normal-NC */
	uint64_t relaxed;	/* permission faults that added W or X */
	uint64_t spurious;	/* faults on an entry already good enough */
	uint64_t retries;	/* invalidation raced with the fault */
	uint64_t icache_invals; /* X granted without CACHE_DIC */
	uint64_t zapped;	/* pages unmapped by notifiers / slot changes */
	uint64_t notifier_calls;
	uint64_t mapped_pages; /* now */
};

/* Create a VM whose slots are regions of mm (registers an MMU notifier). */
int stage2_create_vm(struct mm *mm, const struct stage2_config *cfg,
		     struct kvm **out);
/* Unmap everything, unregister, free the table.  No fault may be running. */
void stage2_destroy_vm(struct kvm *kvm);

/*
 * KVM_SET_USER_MEMORY_REGION.  Creates, deletes (memory_size 0) or changes
 * the flags of a slot; a flags change zaps the slot's stage-2 mappings.
 *  -EINVAL  slot >= STAGE2_MAX_SLOTS, unknown flags, gpa / size / uaddr not
 *           page aligned, overflow, a change of an existing slot other
 *           than its flags, deleting a slot that does not exist
 *  -EFAULT  the range goes beyond the IPA size
 *  -EEXIST  the range overlaps another slot
 *  -ENOMEM
 */
int stage2_set_memory_region(struct kvm *kvm,
			     const struct stage2_memory_region *r);

/* Fault flags (from the ESR: WnR, instruction abort) */
#define STAGE2_FAULT_WRITE (1u << 0)
#define STAGE2_FAULT_EXEC  (1u << 1)

/* What a fault did (for tests and reports). */
struct stage2_fault_result {
	enum kvm_pgtable_prot prot; /* of the leaf now (0 if none) */
	phys_addr_t pa;		    /* output address of the page */
	bool device;		    /* resolved as device memory */
	bool vfio_allow_wc;	    /* the VMA flag as sampled */
	unsigned int retries;
};

/*
 * A guest stage-2 abort at gpa (user_mem_abort): resolve the page through
 * the slot's mm, choose the attribute and permissions, install one 4 KiB
 * leaf (or widen the permissions of the existing one).  res may be NULL.
 *  -EFAULT   gpa in no slot, the slot's address is not mapped, a write to a
 *            read-only slot or VMA, or the mm is gone
 *  -ENOEXEC  an exec fault on device memory
 *  -ENOMEM   no memory for a table (nothing changed)
 */
int stage2_handle_fault(struct kvm *kvm, uint64_t gpa, unsigned int flags,
			struct stage2_fault_result *res);

/* The stage-2 table (for decoding leaves: lpae_lookup, lpae_get_cfg). */
struct lpae_pgtable *stage2_pgtable(struct kvm *kvm);
/* The raw leaf at gpa and its prot decoded back; -ENOENT. */
int stage2_lookup(struct kvm *kvm, uint64_t gpa, uint64_t *pte,
		  enum kvm_pgtable_prot *prot);
void stage2_get_stats(struct kvm *kvm, struct stage2_stats *st);
/*
 * Invariants: every slot's mapped-page bitmap equals the stage-2 table
 * (each set bit a valid leaf to the page the slot's mm maps now, each
 * clear bit no leaf), and no leaf outside any slot.  Returns problems.
 */
int stage2_check_invariants(struct kvm *kvm, FILE *log);

/* ---- what the guest's stage 1 may choose --------------------------------- */

/* Memory types (the values of the page-table layer's enum lpae_memtype,
 * as lpae_pte_memtype() reports them). */
enum stage2_memtype {
	STAGE2_MT_NORMAL_WB = 0,
	STAGE2_MT_NORMAL_NC = 1,
	STAGE2_MT_DEVICE = 2,
};

/*
 * The memory type a guest access gets when its stage 1 says s1 and stage 2
 * says s2 (enum stage2_memtype): the more restrictive of the two
 * (Device over Normal-NC over Normal write-back), the combining rule of
 * VMSAv8 without FWB.  Stage 2 therefore bounds what the guest may use.
 */
int stage2_effective_memtype(int s1, int s2);
/* The host user's own stage-1 type of a VMA: IO|PFNMAP mappings stay
 * non-cached Device (pgprot_noncached) whatever VM_VFIO_ALLOW_WC says. */
int stage2_host_memtype(uint64_t vm_flags);

#ifdef __cplusplus
}
#endif
#endif /* UIOMMU_KVM_H */
