// SPDX-License-Identifier: MIT
/*
 * Tests of the KVM layer: memory slots, stage-2 faults and the memory
 * attribute policy for device memory (requirements 7H, H01-H10, seed 003).
 *
 * The stage-2 tables are real LPAE stage-2 descriptors: the tests read the
 * raw leaf with lpae_lookup() and check MemAttr (bits [5:2]: 0x1
 * Device-nGnRE, 0x5 Normal-NC, 0xf Normal write-back), S2AP (bits [7:6]),
 * AF, XN, the type and the output address bit by bit.  Every test ends with
 * the VM's invariants (bitmaps == table == what the mm maps) and, after
 * teardown, the memory layer's (no pinned, orphaned or leaked frame).
 */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>

#include "kvm/kvm.h"
#include "mem/mem.h"
#include "pgtable/pgtable.h"

#include "kvm/kvm_internal.h"
#include "pgtable/lpae_format.h"

#define PG  PHYS_PAGE_SIZE
#define MiB (1ULL << 20)

#define GPA_RAM	  0x40000000ULL /* 1 GiB */
#define GPA_BAR0  0x10000000ULL /* no VM_VFIO_ALLOW_WC */
#define GPA_BAR1  0x10100000ULL /* VM_VFIO_ALLOW_WC */
#define RAM_SIZE  (4 * MiB)
#define BAR_PAGES 4
#define BAR_ORDER 2

/* raw descriptor fields */
#define MEMATTR(pte) (((pte) >> 2) & 0xf)
#define S2AP(pte)    (((pte) >> 6) & 0x3)
#define AF(pte)	     (((pte) >> 10) & 1)
#define XN(pte)	     (((pte) >> 54) & 1)
#define TYPE(pte)    ((pte)&0x3)
#define OA(pte)	     ((pte)&0x0000fffffffff000ULL)

struct fixture {
	struct phys_mem *pm;
	struct mm *mm;
	struct kvm *kvm;
	uint8_t *ram;
	phys_addr_t bar0_pa, bar1_pa;
	uint8_t *bar0, *bar1;
};

static struct fixture *fx_create(const struct stage2_config *cfg)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->pm = test_phys_create();
	assert_int_equal(mm_create(f->pm, &f->mm), 0);
	assert_int_equal(mm_mmap(f->mm, RAM_SIZE, 0, (void **)&f->ram), 0);
	memset(f->ram, 0x11, RAM_SIZE);
	/* device memory: frames mapped IO|PFNMAP as a VFIO BAR mmap does */
	assert_int_equal(phys_alloc_pages(f->pm, BAR_ORDER, PHYS_ALLOC_ZERO,
					  PHYS_OWNER_KERNEL, &f->bar0_pa),
			 0);
	assert_int_equal(phys_alloc_pages(f->pm, BAR_ORDER, PHYS_ALLOC_ZERO,
					  PHYS_OWNER_KERNEL, &f->bar1_pa),
			 0);
	assert_int_equal(mm_mmap_pfn(f->mm, f->bar0_pa, BAR_PAGES * PG, 0,
				     (void **)&f->bar0),
			 0);
	assert_int_equal(mm_mmap_pfn(f->mm, f->bar1_pa, BAR_PAGES * PG,
				     MM_VM_ALLOW_WC, (void **)&f->bar1),
			 0);
	assert_int_equal(stage2_create_vm(f->mm, cfg, &f->kvm), 0);
	return f;
}

static void add_slot(struct fixture *f, uint32_t id, uint64_t gpa, void *uaddr,
		     uint64_t size, uint32_t flags)
{
	struct stage2_memory_region r = {
		.slot = id,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)uaddr,
	};

	assert_int_equal(stage2_set_memory_region(f->kvm, &r), 0);
}

static void add_std_slots(struct fixture *f)
{
	add_slot(f, 0, GPA_RAM, f->ram, RAM_SIZE, 0);
	add_slot(f, 1, GPA_BAR0, f->bar0, BAR_PAGES * PG, 0);
	add_slot(f, 2, GPA_BAR1, f->bar1, BAR_PAGES * PG, 0);
}

static void fx_destroy(struct fixture *f)
{
	struct phys_report rep;

	if (f->kvm) {
		assert_int_equal(stage2_check_invariants(f->kvm, stderr), 0);
		stage2_destroy_vm(f->kvm);
	}
	if (f->mm) {
		assert_int_equal(mm_check_invariants(f->mm, stderr), 0);
		mm_destroy(f->mm);
	}
	phys_free_pages(f->pm, f->bar0_pa, BAR_ORDER);
	phys_free_pages(f->pm, f->bar1_pa, BAR_ORDER);
	phys_report(f->pm, PHYS_OWNER_NONE, &rep);
	assert_int_equal(rep.pin_refs, 0);
	assert_int_equal(rep.allocated, 0); /* page tables freed too */
	assert_int_equal(mem_check_invariants(f->pm, PHYS_OWNER_NONE, stderr),
			 0);
	phys_destroy(f->pm);
	free(f);
}

static uint64_t leaf(struct fixture *f, uint64_t gpa)
{
	uint64_t pte = 0;
	int level = -1;

	assert_int_equal(lpae_lookup(stage2_pgtable(f->kvm), gpa, &pte, &level),
			 0);
	assert_int_equal(level, 3);
	assert_int_equal(TYPE(pte), 0x3); /* page descriptor */
	assert_int_equal(AF(pte), 1);
	return pte;
}

static void no_leaf(struct fixture *f, uint64_t gpa)
{
	assert_int_equal(lpae_lookup(stage2_pgtable(f->kvm), gpa, NULL, NULL),
			 -ENOENT);
}

static uint64_t pages_pinned(struct phys_mem *pm)
{
	struct phys_report rep;

	phys_report(pm, PHYS_OWNER_NONE, &rep);
	return rep.pin_refs;
}

/* The frame the mm maps at a RAM address now. */
static phys_addr_t ram_pa(struct fixture *f, void *addr)
{
	struct mm_pin_run run;
	unsigned int nr;

	assert_int_equal(
		mm_pin_pages(f->mm, (uintptr_t)addr, 1, 0, &run, 1, &nr), 1);
	mm_unpin_pages(f->mm, &run, nr, 0);
	return run.pa;
}

/* ---- H01, H02: stage2_set_prot_attr ----------------------------------------- */

/* H01: DEVICE together with NORMAL_NC is -EINVAL, and warns once only. */
static void test_H01_device_and_normal_nc_rejected(void **state)
{
	uint64_t attr = 0xdeadbeef;

	assert_int_equal(stage2_set_prot_attr(
				 KVM_PGTABLE_PROT_R | KVM_PGTABLE_PROT_DEVICE |
					 KVM_PGTABLE_PROT_NORMAL_NC,
				 &attr),
			 -EINVAL);
	assert_int_equal(attr, 0xdeadbeef); /* untouched */
	assert_int_equal(stage2_prot_warnings(), 1);
	/* again, and with other permissions: still -EINVAL, no new warning */
	assert_int_equal(stage2_set_prot_attr(
				 KVM_PGTABLE_PROT_RW | KVM_PGTABLE_PROT_DEVICE |
					 KVM_PGTABLE_PROT_NORMAL_NC,
				 &attr),
			 -EINVAL);
	assert_int_equal(
		stage2_set_prot_attr(KVM_PGTABLE_PROT_DEVICE |
					     KVM_PGTABLE_PROT_NORMAL_NC,
				     &attr),
		-EINVAL);
	assert_int_equal(stage2_prot_warnings(), 1);
	assert_int_equal(attr, 0xdeadbeef);
}

/* H02: DEVICE -> Device-nGnRE, NORMAL_NC -> Normal-NC, neither -> Normal
 * write-back; S2AP and XN follow R, W and X; other rules of the kernel. */
static void test_H02_prot_attr_memattr(void **state)
{
	static const struct {
		enum kvm_pgtable_prot prot;
		unsigned int memattr, s2ap, xn;
	} cases[] = {
		{KVM_PGTABLE_PROT_R | KVM_PGTABLE_PROT_DEVICE, 0x1, 0x1, 1},
		{KVM_PGTABLE_PROT_RW | KVM_PGTABLE_PROT_DEVICE, 0x1, 0x3, 1},
		{KVM_PGTABLE_PROT_W | KVM_PGTABLE_PROT_DEVICE, 0x1, 0x2, 1},
		{KVM_PGTABLE_PROT_R | KVM_PGTABLE_PROT_NORMAL_NC, 0x5, 0x1, 1},
		{KVM_PGTABLE_PROT_RW | KVM_PGTABLE_PROT_NORMAL_NC, 0x5, 0x3, 1},
		{KVM_PGTABLE_PROT_RWX | KVM_PGTABLE_PROT_NORMAL_NC, 0x5, 0x3,
		 0},
		{KVM_PGTABLE_PROT_R, 0xf, 0x1, 1},
		{KVM_PGTABLE_PROT_RW, 0xf, 0x3, 1},
		{KVM_PGTABLE_PROT_RWX, 0xf, 0x3, 0},
		{KVM_PGTABLE_PROT_R | KVM_PGTABLE_PROT_X, 0xf, 0x1, 0},
	};
	uint64_t attr;

	for (size_t i = 0; i < ARRAY_SIZE_T(cases); i++) {
		attr = 0;
		assert_int_equal(stage2_set_prot_attr(cases[i].prot, &attr), 0);
		assert_int_equal(MEMATTR(attr), cases[i].memattr);
		/* S2AP[0] (bit 6) read, S2AP[1] (bit 7) write */
		assert_int_equal((attr >> 6) & 1, cases[i].s2ap & 1);
		assert_int_equal((attr >> 7) & 1, (cases[i].s2ap >> 1) & 1);
		assert_int_equal(XN(attr), cases[i].xn);
		assert_int_equal(AF(attr), 1);
		assert_int_equal(OA(attr), 0); /* attributes only */
		assert_int_equal(TYPE(attr), 0);
	}
	/* Device memory is never executable at stage 2 */
	assert_int_equal(stage2_set_prot_attr(KVM_PGTABLE_PROT_RWX |
						      KVM_PGTABLE_PROT_DEVICE,
					      &attr),
			 -EINVAL);
	/* unknown bits */
	assert_int_equal(stage2_set_prot_attr(KVM_PGTABLE_PROT_R | (1u << 7),
					      &attr),
			 -EINVAL);
}

/* ---- H03, H04: device memory at fault time ---------------------------------- */

/* H03: MMIO in a VMA without VM_VFIO_ALLOW_WC is mapped with PROT_DEVICE:
 * MemAttr 0b0001, read/write, never executable. */
static void test_H03_mmio_without_flag_is_device(void **state)
{
	struct fixture *f = fx_create(NULL);
	struct stage2_fault_result res;
	uint64_t pte;

	add_std_slots(f);
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_BAR0 + PG + 0x10,
					     STAGE2_FAULT_WRITE, &res),
			 0);
	assert_true(res.device);
	assert_false(res.vfio_allow_wc);
	assert_int_equal(res.prot,
			 KVM_PGTABLE_PROT_RW | KVM_PGTABLE_PROT_DEVICE);
	assert_int_equal(res.pa, f->bar0_pa + PG);

	pte = leaf(f, GPA_BAR0 + PG);
	assert_int_equal(OA(pte), f->bar0_pa + PG);
	assert_int_equal(MEMATTR(pte), 0x1); /* Device-nGnRE */
	assert_int_equal((pte >> 2) & 1, 1); /* MemAttr[0] */
	assert_int_equal((pte >> 3) & 1, 0);
	assert_int_equal((pte >> 4) & 1, 0);
	assert_int_equal((pte >> 5) & 1, 0); /* MemAttr[3:2] = 00: Device */
	assert_int_equal((pte >> 6) & 1, 1); /* S2AP read */
	assert_int_equal((pte >> 7) & 1, 1); /* S2AP write */
	assert_int_equal(XN(pte), 1);
	assert_int_equal(lpae_pte_memtype(pte, 2, 0), LPAE_MEM_DEVICE);
	/* a neighbour page was not touched */
	no_leaf(f, GPA_BAR0);

	/* a read fault gets the same: the VMA is writable */
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_BAR0, 0, &res), 0);
	assert_int_equal(res.prot,
			 KVM_PGTABLE_PROT_RW | KVM_PGTABLE_PROT_DEVICE);
	fx_destroy(f);
}

/* H04: the same fault in a VMA with VM_VFIO_ALLOW_WC uses PROT_NORMAL_NC:
 * MemAttr 0b0101. */
static void test_H04_mmio_with_flag_is_normal_nc(void **state)
{
	struct fixture *f = fx_create(NULL);
	struct stage2_fault_result res;
	struct stage2_stats st;
	uint64_t pte;

	add_std_slots(f);
	for (int i = 0; i < BAR_PAGES; i++) {
		assert_int_equal(stage2_handle_fault(f->kvm, GPA_BAR1 + i * PG,
						     0, &res),
				 0);
		assert_true(res.device);
		assert_true(res.vfio_allow_wc);
		assert_int_equal(res.prot, KVM_PGTABLE_PROT_RW |
						   KVM_PGTABLE_PROT_NORMAL_NC);
		pte = leaf(f, GPA_BAR1 + i * PG);
		assert_int_equal(OA(pte), f->bar1_pa + i * PG);
		assert_int_equal(MEMATTR(pte), 0x5); /* Normal-NC */
		assert_int_equal((pte >> 2) & 1, 1);
		assert_int_equal((pte >> 3) & 1, 0);
		assert_int_equal((pte >> 4) & 1, 1);
		assert_int_equal((pte >> 5) & 1, 0);
		assert_int_equal(S2AP(pte), 0x3);
		assert_int_equal(XN(pte), 1);
		assert_int_equal(lpae_pte_memtype(pte, 2, 0),
				 LPAE_MEM_NORMAL_NC);
	}
	stage2_get_stats(f->kvm, &st);
	assert_int_equal(st.maps_nc, BAR_PAGES);
	assert_int_equal(st.maps_device, 0);
	assert_int_equal(st.maps_ram, 0);
	/* the device's memory is what the guest reaches */
	f->bar1[3 * PG + 7] = 0x5a;
	assert_int_equal(((uint8_t *)phys_to_virt(
				 f->pm, OA(leaf(f, GPA_BAR1 + 3 * PG))))[7],
			 0x5a);
	fx_destroy(f);
}

/* ---- H05: RAM and execute permission ---------------------------------------- */

static void test_H05_ram_normal_wb_and_exec(void **state)
{
	struct fixture *f = fx_create(NULL);
	struct stage2_fault_result res;
	struct stage2_stats st;
	uint64_t pte;

	add_std_slots(f);
	/* read fault on RAM: Normal write-back, RW, XN (no CACHE_DIC) */
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_RAM, 0, &res), 0);
	assert_false(res.device);
	assert_false(res.vfio_allow_wc);
	assert_int_equal(res.prot, KVM_PGTABLE_PROT_RW);
	pte = leaf(f, GPA_RAM);
	assert_int_equal(OA(pte), ram_pa(f, f->ram));
	assert_int_equal(MEMATTR(pte), 0xf);
	for (int b = 2; b <= 5; b++)
		assert_int_equal((pte >> b) & 1, 1);
	assert_int_equal(S2AP(pte), 0x3);
	assert_int_equal(XN(pte), 1);

	/* exec fault on the same page: X added (permission relaxed) after
	 * icache maintenance, attribute unchanged */
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_RAM + 8,
					     STAGE2_FAULT_EXEC, &res),
			 0);
	assert_int_equal(res.prot, KVM_PGTABLE_PROT_RWX);
	pte = leaf(f, GPA_RAM);
	assert_int_equal(XN(pte), 0);
	assert_int_equal(MEMATTR(pte), 0xf);
	assert_int_equal(S2AP(pte), 0x3);
	/* exec fault on a fresh page: X at once */
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_RAM + PG,
					     STAGE2_FAULT_EXEC, &res),
			 0);
	assert_int_equal(XN(leaf(f, GPA_RAM + PG)), 0);
	stage2_get_stats(f->kvm, &st);
	assert_int_equal(st.relaxed, 1);
	assert_int_equal(st.icache_invals, 2);
	assert_int_equal(st.maps_ram, 2);

	/* exec faults on device memory: -ENOEXEC, nothing mapped */
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_BAR0,
					     STAGE2_FAULT_EXEC, &res),
			 -ENOEXEC);
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_BAR1,
					     STAGE2_FAULT_EXEC, &res),
			 -ENOEXEC);
	no_leaf(f, GPA_BAR0);
	no_leaf(f, GPA_BAR1);
	assert_int_equal(pages_pinned(f->pm), 0);
	fx_destroy(f);

	/* ARM64_HAS_CACHE_DIC: non-device memory is executable on any fault,
	 * device memory still not */
	struct stage2_config cfg = {.cache_dic = true};

	f = fx_create(&cfg);
	add_std_slots(f);
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_RAM, 0, &res), 0);
	assert_int_equal(res.prot, KVM_PGTABLE_PROT_RWX);
	assert_int_equal(XN(leaf(f, GPA_RAM)), 0);
	assert_int_equal(MEMATTR(leaf(f, GPA_RAM)), 0xf);
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_BAR0, 0, &res), 0);
	assert_int_equal(XN(leaf(f, GPA_BAR0)), 1);
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_BAR1, 0, &res), 0);
	assert_int_equal(XN(leaf(f, GPA_BAR1)), 1);
	assert_int_equal(MEMATTR(leaf(f, GPA_BAR1)), 0x5);
	stage2_get_stats(f->kvm, &st);
	assert_int_equal(st.icache_invals, 0);
	fx_destroy(f);
}

/* ---- H06: the BAR's VMA and the host's own mapping ---------------------------- */

static void test_H06_bar_vm_flags_and_host_mapping(void **state)
{
	struct fixture *f = fx_create(NULL);
	struct mm_vma_info vi;
	uint64_t want = MM_VM_ALLOW_WC | MM_VM_IO | MM_VM_PFNMAP |
			MM_VM_DONTEXPAND | MM_VM_DONTDUMP;

	assert_int_equal(mm_find_vma(f->mm, (uintptr_t)f->bar1, &vi), 0);
	/* exactly those, on a read/write shared mapping */
	assert_int_equal(vi.vm_flags & ~(MM_VM_READ | MM_VM_WRITE), want);
	/* the user's own stage-1 mapping stays non-cached Device, flag or not */
	assert_int_equal(stage2_host_memtype(vi.vm_flags), STAGE2_MT_DEVICE);
	assert_int_equal(mm_find_vma(f->mm, (uintptr_t)f->bar0, &vi), 0);
	assert_int_equal(vi.vm_flags & ~(MM_VM_READ | MM_VM_WRITE),
			 want & ~MM_VM_ALLOW_WC);
	assert_int_equal(stage2_host_memtype(vi.vm_flags), STAGE2_MT_DEVICE);
	assert_int_equal(mm_find_vma(f->mm, (uintptr_t)f->ram, &vi), 0);
	assert_int_equal(stage2_host_memtype(vi.vm_flags), STAGE2_MT_NORMAL_WB);
	fx_destroy(f);
}

/* What the guest's stage 1 may pick: stage 2 bounds it. */
static void test_H06_guest_stage1_combining(void **state)
{
	const int D = STAGE2_MT_DEVICE, NC = STAGE2_MT_NORMAL_NC,
		  WB = STAGE2_MT_NORMAL_WB;

	/* S2 Device: whatever the guest says, Device */
	assert_int_equal(stage2_effective_memtype(WB, D), D);
	assert_int_equal(stage2_effective_memtype(NC, D), D);
	assert_int_equal(stage2_effective_memtype(D, D), D);
	/* S2 Normal-NC: Device or Normal-NC (write-combining), never cached */
	assert_int_equal(stage2_effective_memtype(D, NC), D);
	assert_int_equal(stage2_effective_memtype(NC, NC), NC);
	assert_int_equal(stage2_effective_memtype(WB, NC), NC);
	/* S2 Normal-WB (RAM): the guest's choice */
	assert_int_equal(stage2_effective_memtype(WB, WB), WB);
	assert_int_equal(stage2_effective_memtype(NC, WB), NC);
	assert_int_equal(stage2_effective_memtype(D, WB), D);
}

/* ---- H07: 32-bit builds ------------------------------------------------------ */

static void test_H07_32bit_flag_is_vm_none(void **state)
{
	struct stage2_config cfg = {.vm_flags_32bit = true};
	struct stage2_fault_result res;
	struct fixture *f;

	/* the definition: bit 39 on 64-bit, VM_NONE on 32-bit */
	assert_int_equal(stage2_vm_allow_wc_flag(false), VM_NONE);
	assert_int_equal(stage2_vm_allow_wc_flag(true), 1ULL << 39);
#if STAGE2_HOST_64BIT
	assert_int_equal(STAGE2_VM_VFIO_ALLOW_WC, MM_VM_ALLOW_WC);
#else
	assert_int_equal(STAGE2_VM_VFIO_ALLOW_WC, VM_NONE);
#endif

	/* a modelled 32-bit host: the BAR with the flag stays Device */
	f = fx_create(&cfg);
	add_std_slots(f);
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_BAR1, 0, &res), 0);
	assert_true(res.device);
	assert_false(res.vfio_allow_wc);
	assert_int_equal(res.prot,
			 KVM_PGTABLE_PROT_RW | KVM_PGTABLE_PROT_DEVICE);
	assert_int_equal(MEMATTR(leaf(f, GPA_BAR1)), 0x1);
	/* RAM unaffected */
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_RAM, 0, &res), 0);
	assert_int_equal(MEMATTR(leaf(f, GPA_RAM)), 0xf);
	fx_destroy(f);
}

/* ---- H08: the flag is read before the VMA may go ------------------------------ */

struct unmap_hook {
	struct fixture *f;
	void *addr;
	size_t len;
	bool discard;
	int calls;
};

/* Runs between the attribute decision and the install: another path of
 * the VMM unmaps (or discards) the memory right then. */
static void unmap_hook(struct kvm *kvm, uint64_t gpa, void *arg)
{
	struct unmap_hook *h = arg;

	if (h->calls++)
		return;
	if (h->discard)
		assert_int_equal(mm_discard(h->f->mm, h->addr, h->len), 0);
	else
		assert_int_equal(mm_munmap(h->f->mm, h->addr, h->len), 0);
}

static void test_H08_vma_unmapped_after_decision(void **state)
{
	struct fixture *f = fx_create(NULL);
	struct unmap_hook h = {.f = f, .len = BAR_PAGES * PG};
	struct stage2_fault_result res;
	struct stage2_stats st;

	add_std_slots(f);
	h.addr = f->bar1;
	stage2_set_fault_hook(f->kvm, unmap_hook, &h);
	/*
	 * The flag was sampled with the pfn (res.vfio_allow_wc); the VMA then
	 * vanished.  The fault notices the invalidation, starts over, finds
	 * nothing mapped and installs nothing: no Normal-NC leaf to a BAR the
	 * VMM no longer maps.
	 */
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_BAR1, 0, &res),
			 -EFAULT);
	assert_int_equal(h.calls, 1);
	no_leaf(f, GPA_BAR1);
	stage2_get_stats(f->kvm, &st);
	assert_int_equal(st.retries, 1);
	assert_int_equal(st.maps, 0);
	assert_int_equal(st.mapped_pages, 0);
	fx_destroy(f);
}

/* The same race on RAM: a discard after the page was resolved gives the
 * address a fresh frame; the fault must map that one, not the old one. */
static void test_H08_ram_discarded_after_decision(void **state)
{
	struct fixture *f = fx_create(NULL);
	struct unmap_hook h = {.f = f, .len = PG, .discard = true};
	struct stage2_fault_result res;
	phys_addr_t before;

	add_std_slots(f);
	h.addr = f->ram + 2 * PG;
	before = ram_pa(f, h.addr);
	stage2_set_fault_hook(f->kvm, unmap_hook, &h);
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_RAM + 2 * PG,
					     STAGE2_FAULT_WRITE, &res),
			 0);
	assert_int_equal(res.retries, 1);
	assert_int_not_equal(res.pa, before);
	assert_int_equal(OA(leaf(f, GPA_RAM + 2 * PG)), ram_pa(f, h.addr));
	assert_int_equal(pages_pinned(f->pm), 0);
	fx_destroy(f);
}

/* ---- H09: only the driver relaxes; the VMM can only restrict --------------- */

static void test_H09_vmm_can_only_restrict(void **state)
{
	struct fixture *f = fx_create(NULL);
	struct stage2_memory_region r = {
		.slot = 1,
		.guest_phys_addr = GPA_BAR0,
		.memory_size = BAR_PAGES * PG,
	};
	struct stage2_fault_result res;

	add_slot(f, 0, GPA_RAM, f->ram, RAM_SIZE, 0);
	/* a non-VFIO source (no flag): there is no way to ask for more;
	 * an unknown slot flag is refused */
	r.userspace_addr = (uintptr_t)f->bar0;
	r.flags = 1u << 9;
	assert_int_equal(stage2_set_memory_region(f->kvm, &r), -EINVAL);
	r.flags = 0;
	assert_int_equal(stage2_set_memory_region(f->kvm, &r), 0);
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_BAR0, 0, &res), 0);
	assert_int_equal(MEMATTR(leaf(f, GPA_BAR0)), 0x1);

	/* the driver allows Normal-NC; the VMM asks for Device: Device */
	add_slot(f, 2, GPA_BAR1, f->bar1, BAR_PAGES * PG,
		 STAGE2_MEM_MMIO_STRICT);
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_BAR1, 0, &res), 0);
	assert_true(res.vfio_allow_wc);
	assert_int_equal(res.prot,
			 KVM_PGTABLE_PROT_RW | KVM_PGTABLE_PROT_DEVICE);
	assert_int_equal(MEMATTR(leaf(f, GPA_BAR1)), 0x1);

	/* dropping the restriction zaps the slot; the next fault follows the
	 * driver again */
	add_slot(f, 2, GPA_BAR1, f->bar1, BAR_PAGES * PG, 0);
	no_leaf(f, GPA_BAR1);
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_BAR1, 0, &res), 0);
	assert_int_equal(MEMATTR(leaf(f, GPA_BAR1)), 0x5);
	/* and restricting again takes effect on the mapped page too */
	add_slot(f, 2, GPA_BAR1, f->bar1, BAR_PAGES * PG,
		 STAGE2_MEM_MMIO_STRICT);
	no_leaf(f, GPA_BAR1);
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_BAR1, 0, &res), 0);
	assert_int_equal(MEMATTR(leaf(f, GPA_BAR1)), 0x1);

	/* the restriction means nothing for RAM: still Normal write-back */
	add_slot(f, 0, GPA_RAM, f->ram, RAM_SIZE, STAGE2_MEM_MMIO_STRICT);
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_RAM, 0, &res), 0);
	assert_int_equal(MEMATTR(leaf(f, GPA_RAM)), 0xf);
	fx_destroy(f);
}

/* ---- H10 ------------------------------------------------------------------------ */

static void test_H10_flag_is_bit_39(void **state)
{
	_Static_assert(STAGE2_VM_VFIO_ALLOW_WC_BIT == 39, "VM_VFIO_ALLOW_WC");
	assert_int_equal(STAGE2_VM_VFIO_ALLOW_WC_BIT, 39);
	assert_int_equal(MM_VM_ALLOW_WC_BIT, 39);
	assert_int_equal(MM_VM_ALLOW_WC, 0x8000000000ULL);
	/* no other VMA flag shares the bit */
	assert_int_equal(MM_VM_ALLOW_WC & (MM_VM_READ | MM_VM_WRITE | MM_VM_IO |
					   MM_VM_PFNMAP | MM_VM_DONTEXPAND |
					   MM_VM_DONTDUMP),
			 0);
}

/* ---- errno paths -------------------------------------------------------------- */

static void test_slot_errors(void **state)
{
	struct fixture *f = fx_create(NULL);
	struct stage2_memory_region r = {
		.slot = 0,
		.guest_phys_addr = GPA_RAM,
		.memory_size = RAM_SIZE,
		.userspace_addr = 0,
	};
	struct stage2_fault_result res;

	r.userspace_addr = (uintptr_t)f->ram;
	/* misaligned gpa, size, uaddr */
	r.guest_phys_addr = GPA_RAM + 1;
	assert_int_equal(stage2_set_memory_region(f->kvm, &r), -EINVAL);
	r.guest_phys_addr = GPA_RAM;
	r.memory_size = RAM_SIZE - 1;
	assert_int_equal(stage2_set_memory_region(f->kvm, &r), -EINVAL);
	r.memory_size = RAM_SIZE;
	r.userspace_addr += 8;
	assert_int_equal(stage2_set_memory_region(f->kvm, &r), -EINVAL);
	r.userspace_addr -= 8;
	/* bad slot id, overflow, beyond the 40-bit IPA space */
	r.slot = STAGE2_MAX_SLOTS;
	assert_int_equal(stage2_set_memory_region(f->kvm, &r), -EINVAL);
	r.slot = 0;
	r.guest_phys_addr = ~0ULL & ~(PG - 1);
	assert_int_equal(stage2_set_memory_region(f->kvm, &r), -EINVAL);
	r.guest_phys_addr = (1ULL << 40) - PG;
	assert_int_equal(stage2_set_memory_region(f->kvm, &r), -EFAULT);
	r.guest_phys_addr = GPA_RAM;
	/* deleting a slot that does not exist */
	r.memory_size = 0;
	assert_int_equal(stage2_set_memory_region(f->kvm, &r), -EINVAL);
	r.memory_size = RAM_SIZE;
	assert_int_equal(stage2_set_memory_region(f->kvm, &r), 0);

	/* overlaps, at either end and inside; another slot id */
	add_slot(f, 5, GPA_BAR0, f->bar0, BAR_PAGES * PG, 0);
	r.slot = 1;
	r.guest_phys_addr = GPA_RAM - PG;
	r.memory_size = 2 * PG;
	assert_int_equal(stage2_set_memory_region(f->kvm, &r), -EEXIST);
	r.guest_phys_addr = GPA_RAM + RAM_SIZE - PG;
	assert_int_equal(stage2_set_memory_region(f->kvm, &r), -EEXIST);
	r.guest_phys_addr = GPA_RAM + PG;
	r.memory_size = PG;
	assert_int_equal(stage2_set_memory_region(f->kvm, &r), -EEXIST);
	r.guest_phys_addr = GPA_RAM - 2 * MiB;
	r.memory_size = 8 * MiB;
	assert_int_equal(stage2_set_memory_region(f->kvm, &r), -EEXIST);
	/* adjacent is fine */
	r.guest_phys_addr = GPA_RAM + RAM_SIZE;
	r.memory_size = PG;
	assert_int_equal(stage2_set_memory_region(f->kvm, &r), 0);

	/* an existing slot: only its flags may change, not READONLY */
	r.slot = 0;
	r.guest_phys_addr = GPA_RAM;
	r.memory_size = 2 * MiB;
	assert_int_equal(stage2_set_memory_region(f->kvm, &r), -EINVAL);
	r.memory_size = RAM_SIZE;
	r.flags = STAGE2_MEM_READONLY;
	assert_int_equal(stage2_set_memory_region(f->kvm, &r), -EINVAL);
	r.flags = 0;
	assert_int_equal(stage2_set_memory_region(f->kvm, &r), 0);

	/* faults: outside any slot; a slot page the mm does not map */
	assert_int_equal(stage2_handle_fault(f->kvm, 0, 0, &res), -EFAULT);
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_RAM - 1, 0, &res),
			 -EFAULT);
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_RAM + RAM_SIZE + PG, 0,
					     &res),
			 -EFAULT);
	assert_int_equal(stage2_handle_fault(f->kvm, 1ULL << 45, 0, &res),
			 -EFAULT);
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_RAM, 1u << 5, &res),
			 -EINVAL);
	/* slot 1's user address is a page the mm does not map */
	r.slot = 1;
	r.guest_phys_addr = GPA_RAM + RAM_SIZE;
	r.memory_size = 0;
	assert_int_equal(stage2_set_memory_region(f->kvm, &r), 0);
	add_slot(f, 1, GPA_RAM + RAM_SIZE, f->ram + RAM_SIZE + 64 * MiB, PG, 0);
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_RAM + RAM_SIZE, 0,
					     &res),
			 -EFAULT);
	no_leaf(f, GPA_RAM + RAM_SIZE);
	assert_int_equal(pages_pinned(f->pm), 0);
	fx_destroy(f);
}

/* Read-only slots and read-only VMAs: S2AP read only, writes -EFAULT. */
static void test_readonly(void **state)
{
	struct fixture *f = fx_create(NULL);
	struct stage2_fault_result res;
	uint8_t *ro;
	uint64_t pte;

	assert_int_equal(mm_mmap(f->mm, 4 * PG, MM_MAP_RDONLY, (void **)&ro),
			 0);
	add_slot(f, 0, GPA_RAM, f->ram, RAM_SIZE, STAGE2_MEM_READONLY);
	add_slot(f, 1, GPA_RAM + RAM_SIZE, ro, 4 * PG, 0);
	add_slot(f, 2, GPA_BAR0, f->bar0, BAR_PAGES * PG, STAGE2_MEM_READONLY);

	assert_int_equal(stage2_handle_fault(f->kvm, GPA_RAM,
					     STAGE2_FAULT_WRITE, &res),
			 -EFAULT);
	no_leaf(f, GPA_RAM);
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_RAM, 0, &res), 0);
	pte = leaf(f, GPA_RAM);
	assert_int_equal((pte >> 6) & 1, 1); /* S2AP read */
	assert_int_equal((pte >> 7) & 1, 0); /* no write */
	assert_int_equal(MEMATTR(pte), 0xf);
	/* a write to the now-mapped page is still refused */
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_RAM,
					     STAGE2_FAULT_WRITE, &res),
			 -EFAULT);

	assert_int_equal(stage2_handle_fault(f->kvm, GPA_RAM + RAM_SIZE,
					     STAGE2_FAULT_WRITE, &res),
			 -EFAULT);
	assert_int_equal(
		stage2_handle_fault(f->kvm, GPA_RAM + RAM_SIZE, 0, &res), 0);
	assert_int_equal(S2AP(leaf(f, GPA_RAM + RAM_SIZE)), 0x1);

	assert_int_equal(stage2_handle_fault(f->kvm, GPA_BAR0, 0, &res), 0);
	pte = leaf(f, GPA_BAR0);
	assert_int_equal(S2AP(pte), 0x1);
	assert_int_equal(MEMATTR(pte), 0x1);
	assert_int_equal(pages_pinned(f->pm), 0);
	fx_destroy(f);
}

/* A fault on a page already mapped well enough changes nothing. */
static void test_spurious_fault(void **state)
{
	struct fixture *f = fx_create(NULL);
	struct stage2_fault_result res;
	struct stage2_stats st;
	uint64_t pte;

	add_std_slots(f);
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_RAM, 0, &res), 0);
	pte = leaf(f, GPA_RAM);
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_RAM,
					     STAGE2_FAULT_WRITE, &res),
			 0);
	assert_int_equal(leaf(f, GPA_RAM), pte);
	stage2_get_stats(f->kvm, &st);
	assert_int_equal(st.spurious, 1);
	assert_int_equal(st.maps, 1);
	assert_int_equal(st.faults, 2);
	fx_destroy(f);
}

/* ---- MMU notifiers and slot deletion ------------------------------------------ */

static void test_notifier_discard_unmap(void **state)
{
	struct fixture *f = fx_create(NULL);
	struct stage2_fault_result res;
	struct stage2_stats st;

	add_std_slots(f);
	for (int i = 0; i < 8; i++)
		assert_int_equal(stage2_handle_fault(f->kvm, GPA_RAM + i * PG,
						     STAGE2_FAULT_WRITE, &res),
				 0);
	for (int i = 0; i < BAR_PAGES; i++) {
		assert_int_equal(stage2_handle_fault(f->kvm, GPA_BAR0 + i * PG,
						     0, &res),
				 0);
		assert_int_equal(stage2_handle_fault(f->kvm, GPA_BAR1 + i * PG,
						     0, &res),
				 0);
	}
	assert_int_equal(stage2_check_invariants(f->kvm, stderr), 0);

	/* discard pages 2..4: their leaves go, the others stay */
	assert_int_equal(mm_discard(f->mm, f->ram + 2 * PG, 3 * PG), 0);
	for (int i = 0; i < 8; i++) {
		if (i >= 2 && i <= 4)
			no_leaf(f, GPA_RAM + i * PG);
		else
			leaf(f, GPA_RAM + i * PG);
	}
	assert_int_equal(stage2_check_invariants(f->kvm, stderr), 0);
	/* the guest faults again and gets the new frame */
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_RAM + 3 * PG, 0, &res),
			 0);
	assert_int_equal(OA(leaf(f, GPA_RAM + 3 * PG)),
			 ram_pa(f, f->ram + 3 * PG));

	/* the VMM unmaps a BAR: stage 2 loses it, a new fault is -EFAULT */
	assert_int_equal(mm_munmap(f->mm, f->bar1 + PG, 2 * PG), 0);
	leaf(f, GPA_BAR1);
	no_leaf(f, GPA_BAR1 + PG);
	no_leaf(f, GPA_BAR1 + 2 * PG);
	leaf(f, GPA_BAR1 + 3 * PG);
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_BAR1 + PG, 0, &res),
			 -EFAULT);
	stage2_get_stats(f->kvm, &st);
	assert_int_equal(st.zapped, 3 + 2);
	assert_int_equal(st.mapped_pages, 8 - 3 + 1 + BAR_PAGES + 2);
	assert_int_equal(stage2_check_invariants(f->kvm, stderr), 0);

	/* deleting a slot unmaps it */
	add_slot(f, 1, GPA_BAR0, f->bar0, 0, 0);
	for (int i = 0; i < BAR_PAGES; i++)
		no_leaf(f, GPA_BAR0 + i * PG);
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_BAR0, 0, &res),
			 -EFAULT);
	assert_int_equal(pages_pinned(f->pm), 0);
	fx_destroy(f);
}

/* The mm goes first: release() empties stage 2; faults then fail. */
static void test_notifier_release(void **state)
{
	struct fixture *f = fx_create(NULL);
	struct stage2_fault_result res;
	struct stage2_stats st;

	add_std_slots(f);
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_RAM, 0, &res), 0);
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_BAR1, 0, &res), 0);
	mm_destroy(f->mm);
	f->mm = NULL;
	no_leaf(f, GPA_RAM);
	no_leaf(f, GPA_BAR1);
	stage2_get_stats(f->kvm, &st);
	assert_int_equal(st.mapped_pages, 0);
	assert_int_equal(stage2_handle_fault(f->kvm, GPA_RAM, 0, &res),
			 -EFAULT);
	fx_destroy(f);
}

/* ---- failure sweeps ------------------------------------------------------------ */

struct sweep {
	struct fixture *f;
	struct kvm *kvm;
	uint64_t gpa;
	unsigned int flags;
	uint64_t frames;
};

static uint64_t frames_used(struct phys_mem *pm)
{
	struct phys_report rep;

	phys_report(pm, PHYS_OWNER_NONE, &rep);
	return rep.allocated;
}

static int sweep_create(void *ctx)
{
	struct sweep *s = ctx;

	return stage2_create_vm(s->f->mm, NULL, &s->kvm);
}

static void sweep_create_undo(void *ctx)
{
	struct sweep *s = ctx;

	stage2_destroy_vm(s->kvm);
	s->kvm = NULL;
}

static void sweep_create_check(void *ctx)
{
	struct sweep *s = ctx;

	assert_int_equal(frames_used(s->f->pm), s->frames);
}

static void test_fail_sweep_create(void **state)
{
	struct fixture *f = fx_create(NULL);
	struct sweep s = {.f = f};

	s.frames = frames_used(f->pm);
	/* heap (the VM, the table) and frames (the root table) */
	assert_true(test_fail_sweep(sweep_create, sweep_create_undo,
				    sweep_create_check, &s, 0) >= 2);
	assert_int_equal(frames_used(f->pm), s.frames);
	fx_destroy(f);
}

static int sweep_slot(void *ctx)
{
	struct sweep *s = ctx;
	struct stage2_memory_region r = {
		.slot = 3,
		.guest_phys_addr = GPA_RAM,
		.memory_size = RAM_SIZE,
		.userspace_addr = (uintptr_t)s->f->ram,
	};

	return stage2_set_memory_region(s->f->kvm, &r);
}

static void sweep_slot_undo(void *ctx)
{
	struct sweep *s = ctx;
	struct stage2_memory_region r = {.slot = 3};

	assert_int_equal(stage2_set_memory_region(s->f->kvm, &r), 0);
}

static void sweep_slot_check(void *ctx)
{
	struct sweep *s = ctx;
	struct stage2_fault_result res;

	/* no slot was left behind */
	assert_int_equal(stage2_handle_fault(s->f->kvm, GPA_RAM, 0, &res),
			 -EFAULT);
}

static void test_fail_sweep_slot(void **state)
{
	struct fixture *f = fx_create(NULL);
	struct sweep s = {.f = f};

	/* the slot and its bitmap */
	assert_int_equal(test_fail_sweep(sweep_slot, sweep_slot_undo,
					 sweep_slot_check, &s,
					 UIOMMU_FAIL_ALLOC),
			 2);
	fx_destroy(f);
}

static int sweep_fault(void *ctx)
{
	struct sweep *s = ctx;

	return stage2_handle_fault(s->f->kvm, s->gpa, s->flags, NULL);
}

static void sweep_fault_check(void *ctx)
{
	struct sweep *s = ctx;
	struct stage2_stats st;

	no_leaf(s->f, s->gpa);
	stage2_get_stats(s->f->kvm, &st);
	assert_int_equal(st.mapped_pages, 0);
	assert_int_equal(pages_pinned(s->f->pm), 0);
	assert_int_equal(stage2_check_invariants(s->f->kvm, stderr), 0);
}

static void test_fail_sweep_fault(void **state)
{
	static const uint64_t gpas[] = {GPA_RAM + 5 * PG, GPA_BAR0 + PG,
					GPA_BAR1 + 2 * PG};
	struct fixture *f = fx_create(NULL);
	struct sweep s = {.f = f, .flags = STAGE2_FAULT_WRITE};

	add_std_slots(f);
	for (size_t i = 0; i < ARRAY_SIZE_T(gpas); i++) {
		int points;

		s.gpa = gpas[i];
		/* a fresh VM each time: the tables must be allocated */
		stage2_destroy_vm(f->kvm);
		assert_int_equal(stage2_create_vm(f->mm, NULL, &f->kvm), 0);
		add_std_slots(f);
		points = test_fail_sweep(sweep_fault, NULL, sweep_fault_check,
					 &s, 0);
		/* RAM: the pin, then the L2 and L3 tables; device memory:
		 * the two tables only (40-bit IPA: the root is two
		 * concatenated L1 tables) */
		assert_int_equal(points, i == 0 ? 3 : 2);
		leaf(f, s.gpa);
	}
	fx_destroy(f);
}

/* ---- concurrency: faults against discards ---------------------------------------- */

struct race {
	struct fixture *f;
	_Atomic bool stop;
	int errors;
};

static void *race_discard(void *arg)
{
	struct race *r = arg;

	for (int i = 0; i < 2000; i++) {
		if (mm_discard(r->f->mm, r->f->ram + (i % 16) * PG, PG))
			r->errors++;
		sched_yield(); /* let the faulting thread in between */
	}
	atomic_store(&r->stop, true);
	return NULL;
}

static void test_fault_discard_race(void **state)
{
	struct fixture *f = fx_create(NULL);
	struct race r = {.f = f};
	struct stage2_stats st;
	pthread_t t;
	unsigned int i = 0;

	add_std_slots(f);
	for (i = 0; i < 16; i++)
		assert_int_equal(stage2_handle_fault(f->kvm, GPA_RAM + i * PG,
						     STAGE2_FAULT_WRITE, NULL),
				 0);
	assert_int_equal(pthread_create(&t, NULL, race_discard, &r), 0);
	while (!atomic_load(&r.stop)) {
		int ret = stage2_handle_fault(f->kvm, GPA_RAM + (i++ % 16) * PG,
					      STAGE2_FAULT_WRITE, NULL);
		assert_int_equal(ret, 0);
	}
	pthread_join(t, NULL);
	assert_int_equal(r.errors, 0);
	/* every leaf points at the frame the mm maps now */
	assert_int_equal(stage2_check_invariants(f->kvm, stderr), 0);
	stage2_get_stats(f->kvm, &st);
	/* the first discard at least found its page mapped */
	assert_true(st.zapped >= 1);
	assert_int_equal(st.maps, 16 + st.zapped - (16 - st.mapped_pages));
	assert_int_equal(pages_pinned(f->pm), 0);
	fx_destroy(f);
}

#ifdef UI_LOCKDEP
static void find_slot_unlocked(void *ctx)
{
	struct fixture *f = ctx;

	stage2_find_slot(f->kvm, GPA_RAM >> PHYS_PAGE_SHIFT);
}

/* The slot array is guarded by mmu_lock: a lookup without it aborts naming
 * the function and the lock. */
static void test_lockdep_mmu_lock_not_held(void **state)
{
	static const char *const want[] = {"stage2_find_slot() must be called "
					   "with &kvm->mmu_lock held",
					   "lock class kvm->mmu_lock", NULL};
	struct fixture *f = fx_create(NULL);

	add_std_slots(f);
	test_expect_abort(find_slot_unlocked, f, want);
	fx_destroy(f);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_H01_device_and_normal_nc_rejected),
		cmocka_unit_test(test_H02_prot_attr_memattr),
		cmocka_unit_test(test_H03_mmio_without_flag_is_device),
		cmocka_unit_test(test_H04_mmio_with_flag_is_normal_nc),
		cmocka_unit_test(test_H05_ram_normal_wb_and_exec),
		cmocka_unit_test(test_H06_bar_vm_flags_and_host_mapping),
		cmocka_unit_test(test_H06_guest_stage1_combining),
		cmocka_unit_test(test_H07_32bit_flag_is_vm_none),
		cmocka_unit_test(test_H08_vma_unmapped_after_decision),
		cmocka_unit_test(test_H08_ram_discarded_after_decision),
		cmocka_unit_test(test_H09_vmm_can_only_restrict),
		cmocka_unit_test(test_H10_flag_is_bit_39),
		cmocka_unit_test(test_slot_errors),
		cmocka_unit_test(test_readonly),
		cmocka_unit_test(test_spurious_fault),
		cmocka_unit_test(test_notifier_discard_unmap),
		cmocka_unit_test(test_notifier_release),
		cmocka_unit_test(test_fail_sweep_create),
		cmocka_unit_test(test_fail_sweep_slot),
		cmocka_unit_test(test_fail_sweep_fault),
		cmocka_unit_test(test_fault_discard_race),
#ifdef UI_LOCKDEP
		cmocka_unit_test(test_lockdep_mmu_lock_not_held),
#endif
	};

	return test_run(__FILE__, tests, ARRAY_SIZE_T(tests));
}
