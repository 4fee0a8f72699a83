// SPDX-License-Identifier: MIT
/*
 * Test helpers that need the VFIO and system layers: the VFIO test machine
 * (two SMMUs, the mm and its limits, the container), MAP/UNMAP wrappers,
 * counters and pin refs, the uAPI container setup, and the fd front's
 * ioctl as 0 or -errno with an IOAS allocation over it (tests/helpers.h).
 */
#include "helpers.h"

#include <errno.h>

#include <uiommu/uapi.h>
#include "devices/devices.h"
#include "hw/hw.h"
#include "iommu/iommu.h"
#include "iommufd/iommufd_uapi.h"
#include "vfio/vfio.h"
#include "vfio/vfio_device.h"

void test_vfio_smmus_create(struct test_vfio_machine *m, bool threaded,
			    bool b_coherent)
{
	struct platform_config pcfg = {.mem_size = 1ULL << 30,
				       .smmu.threaded = threaded};
	struct arm_smmu_options o2 = {
		.coherent = b_coherent,
		.ias = 48,
		.pgsize_bitmap = 4096 | (2UL << 20),
		.range_inv = true,
	};

	assert_int_equal(platform_create(&pcfg, &m->p), 0);
	assert_int_equal(smmu_create(m->p->pm, NULL, &m->hw2), 0);
	assert_int_equal(arm_smmu_device_probe(m->hw2, &o2, &m->smmu2), 0);
}

void test_mm_limits(struct mm *mm)
{
	mm_set_cap_ipc_lock(mm, false);
	mm_set_memlock_limit(mm, 256ULL << 20);
}

void test_vfio_mm_open(struct test_vfio_machine *m, unsigned long type)
{
	assert_int_equal(mm_create(m->p->pm, &m->mm), 0);
	test_mm_limits(m->mm);
	assert_int_equal(vfio_iommu_type1_open(m->mm, type, &m->c), 0);
}

void test_vfio_mm_close(struct test_vfio_machine *m)
{
	assert_int_equal(mm_check_invariants(m->mm, stderr), 0);
	mm_destroy(m->mm);
}

void test_vfio_smmus_destroy(struct test_vfio_machine *m)
{
	arm_smmu_device_remove(m->smmu2);
	smmu_destroy(m->hw2);
	assert_int_equal(
		mem_check_invariants(m->p->pm, PHYS_OWNER_KERNEL, stderr), 0);
	platform_destroy(m->p);
}

long test_map_dma(struct vfio_iommu *c, struct mm *mm, uint64_t iova,
		  const void *va, uint64_t size, uint32_t flags)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = flags,
		.vaddr = (uintptr_t)va,
		.iova = iova,
		.size = size,
	};

	if (!mm)
		return vfio_iommu_type1_ioctl(c, VFIO_IOMMU_MAP_DMA,
					      (unsigned long)&map);
	return vfio_iommu_type1_ioctl_mm(c, mm, VFIO_IOMMU_MAP_DMA,
					 (unsigned long)&map);
}

long test_unmap_dma(struct vfio_iommu *c, struct mm *mm, uint64_t iova,
		    uint64_t size, uint32_t flags, uint64_t *done)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u),
		.flags = flags,
		.iova = iova,
		.size = size,
	};
	long ret;

	if (!mm)
		ret = vfio_iommu_type1_ioctl(c, VFIO_IOMMU_UNMAP_DMA,
					     (unsigned long)&u);
	else
		ret = vfio_iommu_type1_ioctl_mm(c, mm, VFIO_IOMMU_UNMAP_DMA,
						(unsigned long)&u);
	if (done)
		*done = u.size;
	return ret;
}

struct vfio_iommu_type1_stats test_vfio_stats(struct vfio_iommu *c)
{
	struct vfio_iommu_type1_stats st;

	vfio_iommu_type1_get_stats(c, &st);
	return st;
}

uint64_t test_vfio_pin_refs(const struct test_vfio_machine *m)
{
	struct phys_report r;

	phys_report(m->p->pm, mm_owner(m->mm), &r);
	return r.pin_refs;
}

void test_uapi_set_container(int group, int *container,
			     unsigned long iommu_type)
{
	assert_int_equal(
		uiommu_ioctl(group, VFIO_GROUP_SET_CONTAINER, container), 0);
	if (iommu_type)
		assert_int_equal(uiommu_ioctl(*container, VFIO_SET_IOMMU,
					      iommu_type),
				 0);
}

int test_fops_ioctl(int fd, unsigned long cmd, void *arg)
{
	errno = 0;
	if (vfio_fops_ioctl(fd, cmd, arg) == 0)
		return 0;
	return -errno;
}

int test_iommu_destroy(int fd, uint32_t id)
{
	struct iommu_destroy d = {.size = sizeof(d), .id = id};

	return test_fops_ioctl(fd, IOMMU_DESTROY, &d);
}

uint32_t test_ioas_alloc(int fd)
{
	struct iommu_ioas_alloc a = {.size = sizeof(a)};

	assert_int_equal(test_fops_ioctl(fd, IOMMU_IOAS_ALLOC, &a), 0);
	return a.out_ioas_id;
}
