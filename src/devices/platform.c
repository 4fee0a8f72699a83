// SPDX-License-Identifier: MIT
/*
 * A platform: physical memory, one emulated SMMU and the driver probed on
 * it.  Scenarios and benchmarks build their machines with it.
 */
#include <errno.h>

#include <uiommu/devices.h>

#include "lib/internal.h"

int platform_create(const struct platform_config *cfg, struct platform **out)
{
	struct phys_config pcfg = {
		.base = PHYS_DEFAULT_BASE,
		.size = cfg && cfg->mem_size ? cfg->mem_size : 1ULL << 30,
	};
	struct platform *p;
	int ret;

	p = ui_zalloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	ret = phys_create(&pcfg, &p->pm);
	if (ret)
		goto err_free;
	ret = smmu_create(p->pm, cfg ? &cfg->smmu : NULL, &p->hw);
	if (ret)
		goto err_phys;
	ret = arm_smmu_device_probe(p->hw, NULL, &p->smmu);
	if (ret)
		goto err_smmu;
	p->iommu = arm_smmu_iommu(p->smmu);
	*out = p;
	return 0;

err_smmu:
	smmu_destroy(p->hw);
err_phys:
	phys_destroy(p->pm);
err_free:
	ui_free(p);
	return ret;
}

void platform_destroy(struct platform *p)
{
	if (!p)
		return;
	arm_smmu_device_remove(p->smmu);
	smmu_destroy(p->hw);
	phys_destroy(p->pm);
	ui_free(p);
}
