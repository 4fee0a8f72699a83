// SPDX-License-Identifier: MIT
/*
 * Nested HWPTs of the ARM SMMUv3 (UIOMMU_HWPT_DATA_ARM_SMMUV3,
 * iommufd_uapi_smmuv3.h): the guest's STE decoded into the core's
 * struct iommu_nested_s1 and allocated with iommu_domain_alloc_nested_s1
 * over the NEST_PARENT HWPT's stage-2 domain, and the guest's SMMUv3
 * commands for HWPT_INVALIDATE (Linux 6.13's arm-smmu-v3-iommufd.c is the
 * model for what a guest may set and send; it takes them over a vIOMMU,
 * uiommu over the NEST_PARENT HWPT).
 *
 * The STE (6.13's arm_smmu_validate_vste): V clear is an abort STE (the
 * rest ignored); else a bit outside Config, S1Fmt, S1ContextPtr, S1CDMax
 * (dword 0) and S1DSS, S1CIR, S1COR, S1CSH, S1STALLD, EATS (dword 1)
 * -EIO (the hardware layer's field table decides: smmu_guest_ste_decode),
 * a Config other than abort, bypass or stage-1 translate -EIO, EATS other
 * than abort or full ATS -EIO.  The model walks linear CD tables only: an
 * S1Fmt other than linear -EOPNOTSUPP (a deviation).  The cache and
 * shareability attributes and S1STALLD are taken and not modelled.
 *
 * Objects: none of its own; the domain is the SMMU driver's, freed by
 * the nested HWPT (hw_pagetable_nested.c).  Locking: none here.
 */
#include <endian.h>
#include <errno.h>

#include "iommu/arm_smmu_v3.h"
#include "iommufd/iommufd_private.h"
#include "iommufd/iommufd_uapi_smmuv3.h"

/* The commands handed to the driver at once. */
#define SMMU_INV_BATCH 32

static int smmu_nested_invalidate(struct iommu_domain *domain,
				  struct iommu_user_data_array *array)
{
	uint64_t cmds[SMMU_INV_BATCH][2];
	uint32_t i = 0, total = 0;
	int ret = 0;

	if (array->type != UIOMMU_HWPT_INVALIDATE_DATA_ARM_SMMUV3) {
		array->entry_num = 0;
		return -EINVAL;
	}
	while (i < array->entry_num && !ret) {
		unsigned int n = 0, done = 0;
		int r;

		for (; n < SMMU_INV_BATCH && i < array->entry_num; n++, i++) {
			struct uiommu_hwpt_arm_smmuv3_invalidate inv;

			ret = iommu_copy_struct_from_user_array(
				&inv, sizeof(inv), sizeof(inv), array,
				UIOMMU_HWPT_INVALIDATE_DATA_ARM_SMMUV3, i);
			if (ret)
				break;
			cmds[n][0] = le64toh(inv.cmd[0]);
			cmds[n][1] = le64toh(inv.cmd[1]);
		}
		if (!n)
			break;
		r = arm_smmu_nested_invalidate(
			domain, (const uint64_t(*)[2])cmds, n, &done);
		total += done;
		if (r)
			ret = r; /* a command refused wins over a copy error */
	}
	array->entry_num = total;
	return ret;
}

static const struct iommufd_nested_ops smmu_nested_ops = {
	.cache_invalidate_user = smmu_nested_invalidate,
};

/* The guest's STE as the core's stage-1 context. */
static int smmu_nested_s1(const uint64_t dw[2], struct iommu_nested_s1 *s1)
{
	struct smmu_guest_ste ste;

	*s1 = (struct iommu_nested_s1){.config = IOMMU_NESTED_S1_ABORT};
	if (!(dw[0] & 1))
		return 0; /* not valid: 6.13 clears it, an abort STE */
	if (smmu_guest_ste_decode(dw, &ste))
		return -EIO;
	if (ste.eats > 1)
		return -EIO;
	switch (ste.config) {
	case SMMU_STE_ABORT:
		return 0;
	case SMMU_STE_BYPASS:
		s1->config = IOMMU_NESTED_S1_BYPASS;
		return 0;
	case SMMU_STE_S1:
		break;
	default:
		return -EIO;
	}
	if (ste.s1_fmt)
		return -EOPNOTSUPP;
	s1->config = IOMMU_NESTED_S1_TRANSLATE;
	s1->cd_table = ste.s1_ctx_ptr;
	s1->cd_max = ste.s1_cd_max;
	return 0;
}

/* Another data type or any flag -EOPNOTSUPP; the data's copy
 * (iommu_copy_struct_from_user); the STE's checks (above); the driver's
 * (a CD table outside the parent's input range or misaligned -EINVAL). */
int iommufd_smmu_nested_alloc(struct device *dev, struct iommu_domain *parent,
			      uint32_t flags,
			      const struct iommu_user_data *user_data,
			      struct iommu_domain **out,
			      const struct iommufd_nested_ops **ops)
{
	struct uiommu_hwpt_arm_smmuv3 arg;
	struct iommu_nested_s1 s1;
	uint64_t dw[2];
	int ret;

	if (user_data->type != UIOMMU_HWPT_DATA_ARM_SMMUV3 || flags)
		return -EOPNOTSUPP;
	ret = iommu_copy_struct_from_user(&arg, sizeof(arg), sizeof(arg),
					  user_data,
					  UIOMMU_HWPT_DATA_ARM_SMMUV3);
	if (ret)
		return ret;
	dw[0] = le64toh(arg.ste[0]);
	dw[1] = le64toh(arg.ste[1]);
	ret = smmu_nested_s1(dw, &s1);
	if (ret)
		return ret;
	ret = iommu_domain_alloc_nested_s1(dev, parent, &s1, out);
	if (ret)
		return ret;
	*ops = &smmu_nested_ops;
	return 0;
}

bool iommufd_smmu_is_dev(struct device *dev)
{
	return arm_smmu_dev_is_master(dev);
}
