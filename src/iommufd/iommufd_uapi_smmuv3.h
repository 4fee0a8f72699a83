/* SPDX-License-Identifier: MIT */
/*
 * The ARM SMMUv3 nesting data of the iommufd ABI that Linux 6.13 added
 * after 6.12 (our own definitions of its facts: the type values and the
 * layouts), under uiommu's names so a newer system <linux/iommufd.h> does
 * not collide:
 *  - UIOMMU_HWPT_DATA_ARM_SMMUV3 (6.13's IOMMU_HWPT_DATA_ARM_SMMUV3, 2):
 *    HWPT_ALLOC's data for a nested HWPT, the guest's STE dwords 0 and 1,
 *    little-endian;
 *  - UIOMMU_HWPT_INVALIDATE_DATA_ARM_SMMUV3 (6.13's
 *    IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3, 1): HWPT_INVALIDATE's
 *    entries, one SMMUv3 command (two little-endian dwords) each.
 * 6.13 takes these over a vIOMMU object; uiommu takes them over a
 * NEST_PARENT HWPT (docs/iommufd.md, "Where it differs").
 */
#ifndef UIOMMU_IOMMUFD_IOMMUFD_UAPI_SMMUV3_H
#define UIOMMU_IOMMUFD_IOMMUFD_UAPI_SMMUV3_H

#include <stdint.h>

#define UIOMMU_HWPT_DATA_ARM_SMMUV3	       2u
#define UIOMMU_HWPT_INVALIDATE_DATA_ARM_SMMUV3 1u

struct uiommu_hwpt_arm_smmuv3 {
	uint64_t ste[2]; /* little-endian */
};

struct uiommu_hwpt_arm_smmuv3_invalidate {
	uint64_t cmd[2]; /* little-endian */
};

_Static_assert(sizeof(struct uiommu_hwpt_arm_smmuv3) == 16, "iommu_hwpt_arm_"
							    "smmuv3 ABI");
_Static_assert(sizeof(struct uiommu_hwpt_arm_smmuv3_invalidate) == 16,
	       "iommu_viommu_arm_smmuv3_invalidate ABI");

#endif /* UIOMMU_IOMMUFD_IOMMUFD_UAPI_SMMUV3_H */
