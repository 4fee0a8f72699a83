// SPDX-License-Identifier: MIT
/*
 * Test helpers that need the hardware and IOMMU layers: translation checks
 * against a domain and the SMMU model's IOTLB (tests/helpers.h).
 */
#include "helpers.h"

#include "hw/hw.h"
#include "iommu/iommu.h"

void test_assert_mapped(struct mm *mm, struct iommu_domain *d, uint64_t iova,
			const void *va, uint64_t size)
{
	for (uint64_t off = 0; off < size; off += PHYS_PAGE_SIZE)
		assert_int_equal(iommu_iova_to_phys(d, iova + off),
				 test_user_pa(mm, (const char *)va + off));
}

void test_assert_unmapped(struct iommu_domain *d, uint64_t iova, uint64_t size)
{
	for (uint64_t off = 0; off < size; off += PHYS_PAGE_SIZE)
		assert_int_equal(iommu_iova_to_phys(d, iova + off), 0);
}

size_t test_iotlb_entries_in(struct smmu *hw, uint64_t iova, uint64_t size)
{
	static struct smmu_iotlb_entry e[4096];
	size_t n = smmu_iotlb_dump(hw, e, 4096), hits = 0;

	for (size_t i = 0; i < n && i < 4096; i++)
		if (e[i].va < iova + size && e[i].va + e[i].size > iova)
			hits++;
	return hits;
}
