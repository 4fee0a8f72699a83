// SPDX-License-Identifier: MIT
/*
 * Scenario "stage2": the KVM stage-2 memory-attribute policy for assigned
 * device memory (seed 003, VM_VFIO_ALLOW_WC).
 *
 * A VMM (an mm) maps guest RAM and two BARs of an assigned PCI device, the
 * way vfio-pci's mmap does (IO|PFNMAP over device frames): BAR0, registers,
 * without VM_VFIO_ALLOW_WC, and BAR2, a prefetchable BAR whose driver deems
 * write-combining safe, with it.  The guest touches every page; each fault
 * builds a stage-2 leaf.  The table decodes each leaf (MemAttr, S2AP, XN,
 * output address) and says what the guest may then choose at its own stage
 * 1: stage 2 bounds it (the more restrictive type wins).  Then the policy's
 * edges: the VMM asking for more restriction, a contradictory request, an
 * exec fault on MMIO, and the VMM unmapping a BAR (the MMU notifier takes
 * the leaves away).  Ends with the invariant checks.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kvm/kvm.h"
#include "mem/mem.h"
#include "pgtable/pgtable.h"

#include "scenarios.h"

#define PG	  PHYS_PAGE_SIZE
#define MiB	  (1ULL << 20)
#define RAM_SIZE  (2 * MiB)
#define BAR0_SIZE (64 * 1024)
#define BAR2_SIZE (1 * MiB)
#define GPA_RAM	  0x40000000ULL
#define GPA_BAR0  0x10000000ULL
#define GPA_BAR2  0x10400000ULL

static const char *memattr_name(unsigned int a)
{
	switch (a) {
	case 0x1:
		return "Device-nGnRE";
	case 0x5:
		return "Normal-NC";
	case 0xf:
		return "Normal-WB";
	default:
		return "?";
	}
}

/* What the guest's stage 1 may usefully pick over a stage-2 type. */
static const char *guest_s1(int s2)
{
	if (stage2_effective_memtype(STAGE2_MT_NORMAL_WB, s2) ==
	    STAGE2_MT_NORMAL_WB)
		return "Device, Normal-NC or cacheable";
	if (stage2_effective_memtype(STAGE2_MT_NORMAL_NC, s2) ==
	    STAGE2_MT_NORMAL_NC)
		return "Device or Normal-NC (write-combining)";
	return "Device only";
}

struct row {
	const char *name;
	uint64_t gpa;
	uint64_t pages;
	uint64_t vm_flags;
};

static int show(struct kvm *kvm, const struct row *r, json_t *rows)
{
	uint64_t pte, first = 0;
	unsigned int attr;
	char hex[24];
	int s2, bad = 0;

	/* every page of the range must carry the same attributes */
	for (uint64_t i = 0; i < r->pages; i++) {
		if (stage2_lookup(kvm, r->gpa + i * PG, &pte, NULL)) {
			bad++;
			continue;
		}
		if (!i)
			first = pte;
		else if ((pte & ~0x0000fffffffff000ULL) !=
			 (first & ~0x0000fffffffff000ULL))
			bad++;
	}
	if (bad) {
		printf("  %-22s  missing or mixed leaves (%d)\n", r->name, bad);
		return bad;
	}
	attr = (first >> 2) & 0xf; /* MemAttr[3:0] */
	s2 = lpae_pte_memtype(first, 2, 0);
	printf("  %-22s %#11llx %5llu  %-4s 0b%u%u%u%u %-12s %c%c  %-3s  %-12s "
	       " "
	       "%s\n",
	       r->name, (unsigned long long)r->gpa,
	       (unsigned long long)r->pages,
	       (r->vm_flags & MM_VM_ALLOW_WC) ? "WC" : "-", (attr >> 3) & 1,
	       (attr >> 2) & 1, (attr >> 1) & 1, attr & 1, memattr_name(attr),
	       (first >> 6) & 1 ? 'R' : '-', (first >> 7) & 1 ? 'W' : '-',
	       (first >> 54) & 1 ? "XN" : "X",
	       stage2_host_memtype(r->vm_flags) == STAGE2_MT_DEVICE ? "Device"
								    : "Normal-"
								      "WB",
	       guest_s1(s2));
	snprintf(hex, sizeof(hex), "%#llx", (unsigned long long)first);
	json_array_append_new(
		rows,
		json_pack("{s:s, s:I, s:I, s:b, s:i, s:s, s:b, s:b, s:b, s:s, "
			  "s:s, s:s}",
			  "mapping", r->name, "gpa", (json_int_t)r->gpa,
			  "pages", (json_int_t)r->pages, "vm_allow_wc",
			  (r->vm_flags & MM_VM_ALLOW_WC) != 0, "memattr",
			  (int)attr, "s2_type", memattr_name(attr), "s2ap_r",
			  (int)((first >> 6) & 1), "s2ap_w",
			  (int)((first >> 7) & 1), "xn",
			  (int)((first >> 54) & 1), "leaf", hex, "host_s1",
			  stage2_host_memtype(r->vm_flags) == STAGE2_MT_DEVICE
				  ? "Device"
				  : "Normal-WB",
			  "guest_s1_may_use", guest_s1(s2)));
	return 0;
}

static int fault_range(struct kvm *kvm, uint64_t gpa, uint64_t pages,
		       unsigned int flags)
{
	for (uint64_t i = 0; i < pages; i++) {
		int ret = stage2_handle_fault(kvm, gpa + i * PG, flags, NULL);

		if (ret)
			return ret;
	}
	return 0;
}

static int set_slot(struct kvm *kvm, uint32_t id, uint64_t gpa, void *uaddr,
		    uint64_t size, uint32_t flags)
{
	struct stage2_memory_region r = {
		.slot = id,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)uaddr,
	};

	return stage2_set_memory_region(kvm, &r);
}

static int run_stage2(struct scenario_ctx *ctx)
{
	struct phys_config cfg = {PHYS_DEFAULT_BASE, 1ULL << 30};
	struct stage2_config vmcfg = {.ipa_bits = 40};
	phys_addr_t bar0_pa = PHYS_ADDR_INVALID, bar2_pa = PHYS_ADDR_INVALID;
	struct phys_mem *pm = NULL;
	struct mm *mm = NULL;
	struct kvm *kvm = NULL;
	struct stage2_stats st;
	void *ram, *bar0, *bar2;
	json_t *rows = json_array(), *edges = json_object();
	struct mm_vma_info vi;
	uint64_t attr;
	int ret, bad = 0;

	printf("stage2: a guest with %llu MiB of RAM and two BARs of an "
	       "assigned PCI device\n"
	       "(BAR0 registers, BAR2 prefetchable with VM_VFIO_ALLOW_WC); "
	       "the guest touches\n"
	       "every page and stage 2 is built on the faults (leaves decoded "
	       "from the table)\n",
	       RAM_SIZE / MiB);

	ret = phys_create(&cfg, &pm);
	if (ret)
		goto fail;
	ret = mm_create(pm, &mm);
	if (ret)
		goto fail;
	ret = mm_mmap(mm, RAM_SIZE, MM_MAP_POPULATE, &ram);
	if (ret)
		goto fail;
	/* device memory: frames standing for the BARs, mmapped by "vfio-pci" */
	ret = phys_alloc_pages(pm, 4, PHYS_ALLOC_ZERO, PHYS_OWNER_KERNEL,
			       &bar0_pa);
	if (ret)
		goto fail;
	ret = phys_alloc_pages(pm, 8, PHYS_ALLOC_ZERO, PHYS_OWNER_KERNEL,
			       &bar2_pa);
	if (ret)
		goto fail;
	ret = mm_mmap_pfn(mm, bar0_pa, BAR0_SIZE, 0, &bar0);
	if (ret)
		goto fail;
	ret = mm_mmap_pfn(mm, bar2_pa, BAR2_SIZE, MM_VM_ALLOW_WC, &bar2);
	if (ret)
		goto fail;

	ret = stage2_create_vm(mm, &vmcfg, &kvm);
	if (ret)
		goto fail;
	ret = set_slot(kvm, 0, GPA_RAM, ram, RAM_SIZE, 0);
	if (!ret)
		ret = set_slot(kvm, 1, GPA_BAR0, bar0, BAR0_SIZE, 0);
	if (!ret)
		ret = set_slot(kvm, 2, GPA_BAR2, bar2, BAR2_SIZE, 0);
	if (ret)
		goto fail;

	/* the guest runs: data reads/writes everywhere, code from RAM */
	ret = fault_range(kvm, GPA_RAM, RAM_SIZE / PG, STAGE2_FAULT_WRITE);
	if (!ret)
		ret = stage2_handle_fault(kvm, GPA_RAM, STAGE2_FAULT_EXEC,
					  NULL);
	if (!ret)
		ret = fault_range(kvm, GPA_BAR0, BAR0_SIZE / PG, 0);
	if (!ret)
		ret = fault_range(kvm, GPA_BAR2, BAR2_SIZE / PG,
				  STAGE2_FAULT_WRITE);
	if (ret)
		goto fail;

	printf("  %-22s %11s %5s  %-4s %-6s %-12s %-3s %-3s  %-12s  %s\n",
	       "mapping", "gpa", "pages", "vma", "MemAttr", "stage 2", "S2",
	       "X", "VMM's S1", "guest's stage 1 may use");
	mm_find_vma(mm, (unsigned long)ram, &vi);
	{
		const struct row r = {"RAM (code page)", GPA_RAM, 1,
				      vi.vm_flags};
		const struct row r2 = {"RAM (data)", GPA_RAM + PG,
				       RAM_SIZE / PG - 1, vi.vm_flags};

		bad += show(kvm, &r, rows);
		bad += show(kvm, &r2, rows);
	}
	mm_find_vma(mm, (unsigned long)bar0, &vi);
	{
		const struct row r = {"BAR0 (registers)", GPA_BAR0,
				      BAR0_SIZE / PG, vi.vm_flags};

		bad += show(kvm, &r, rows);
	}
	mm_find_vma(mm, (unsigned long)bar2, &vi);
	{
		const struct row r = {"BAR2 (prefetchable)", GPA_BAR2,
				      BAR2_SIZE / PG, vi.vm_flags};

		bad += show(kvm, &r, rows);
	}

	/* the VMM asks for more restriction on BAR2: Device, whatever the
	 * driver allows; it has no way to ask for less */
	ret = set_slot(kvm, 2, GPA_BAR2, bar2, BAR2_SIZE,
		       STAGE2_MEM_MMIO_STRICT);
	if (!ret)
		ret = fault_range(kvm, GPA_BAR2, BAR2_SIZE / PG, 0);
	if (ret)
		goto fail;
	{
		const struct row r = {"BAR2, slot MMIO_STRICT", GPA_BAR2,
				      BAR2_SIZE / PG, vi.vm_flags};

		bad += show(kvm, &r, rows);
	}

	printf("  policy edges:\n");
	ret = stage2_set_prot_attr(KVM_PGTABLE_PROT_RW |
					   KVM_PGTABLE_PROT_DEVICE |
					   KVM_PGTABLE_PROT_NORMAL_NC,
				   &attr);
	printf("    stage2_set_prot_attr(DEVICE|NORMAL_NC): %s "
	       "(warned %u time)\n",
	       ret == -EINVAL ? "-EINVAL" : "accepted?!",
	       stage2_prot_warnings());
	bad += ret != -EINVAL;
	json_object_set_new(edges, "device_and_normal_nc",
			    json_string(ret == -EINVAL ? "EINVAL"
						       : "accepted"));
	ret = stage2_handle_fault(kvm, GPA_BAR0, STAGE2_FAULT_EXEC, NULL);
	printf("    exec fault on BAR0: %s\n",
	       ret == -ENOEXEC ? "-ENOEXEC" : "mapped?!");
	bad += ret != -ENOEXEC;
	json_object_set_new(edges, "exec_on_mmio",
			    json_string(ret == -ENOEXEC ? "ENOEXEC"
							: "mapped"));
	ret = stage2_handle_fault(kvm, 0x0, 0, NULL);
	printf("    fault outside every slot: %s\n",
	       ret == -EFAULT ? "-EFAULT" : "mapped?!");
	bad += ret != -EFAULT;

	/* the VMM unmaps BAR2: the notifier takes the leaves away first */
	stage2_get_stats(kvm, &st);
	{
		uint64_t before = st.mapped_pages, left = 0;

		ret = mm_munmap(mm, bar2, BAR2_SIZE);
		if (ret)
			goto fail;
		for (uint64_t i = 0; i < BAR2_SIZE / PG; i++)
			left += !stage2_lookup(kvm, GPA_BAR2 + i * PG, NULL,
					       NULL);
		stage2_get_stats(kvm, &st);
		printf("    VMM munmaps BAR2: %llu leaves before, %llu after, "
		       "%llu of BAR2 left\n",
		       (unsigned long long)before,
		       (unsigned long long)st.mapped_pages,
		       (unsigned long long)left);
		bad += left != 0;
		json_object_set_new(edges, "bar2_leaves_after_munmap",
				    json_integer((json_int_t)left));
	}

	bad += stage2_check_invariants(kvm, stderr);
	printf("  counters: faults %llu, leaves %llu (WB %llu, Device %llu, "
	       "NC %llu), relaxed %llu, zapped %llu\n",
	       (unsigned long long)st.faults, (unsigned long long)st.maps,
	       (unsigned long long)st.maps_ram,
	       (unsigned long long)st.maps_device,
	       (unsigned long long)st.maps_nc, (unsigned long long)st.relaxed,
	       (unsigned long long)st.zapped);
	stage2_destroy_vm(kvm);
	kvm = NULL;
	bad += mm_check_invariants(mm, stderr);
	mm_destroy(mm);
	mm = NULL;
	phys_free_pages(pm, bar0_pa, 4);
	phys_free_pages(pm, bar2_pa, 8);
	bad += mem_check_invariants(pm, PHYS_OWNER_NONE, stderr);
	printf("  %s\n", bad ? "INVARIANTS BROKEN"
			     : "invariants hold: stage 2 == what the mm maps; "
			       "nothing pinned or leaked");
	phys_destroy(pm);
	scenario_json_add(ctx, "stage2",
			  json_pack("{s:o, s:o, s:{s:I, s:I, s:I, s:I, s:I, "
				    "s:I}, s:b}",
				    "mappings", rows, "edges", edges,
				    "counters", "faults", (json_int_t)st.faults,
				    "maps", (json_int_t)st.maps, "maps_ram",
				    (json_int_t)st.maps_ram, "maps_device",
				    (json_int_t)st.maps_device, "maps_nc",
				    (json_int_t)st.maps_nc, "zapped",
				    (json_int_t)st.zapped, "ok", !bad));
	return bad ? 1 : 0;

fail:
	fprintf(stderr, "stage2: failed: %s\n", strerror(-ret));
	json_decref(rows);
	json_decref(edges);
	stage2_destroy_vm(kvm);
	mm_destroy(mm);
	if (pm && bar0_pa != PHYS_ADDR_INVALID)
		phys_free_pages(pm, bar0_pa, 4);
	if (pm && bar2_pa != PHYS_ADDR_INVALID)
		phys_free_pages(pm, bar2_pa, 8);
	phys_destroy(pm);
	return 1;
}

DEFINE_SCENARIO(stage2, run_stage2,
		"KVM stage 2 for assigned BARs: Device vs Normal-NC "
		"(VM_VFIO_ALLOW_WC)");
