/* SPDX-License-Identifier: MIT */
/*
 * The IOMMU driver for the emulated SMMU: what drivers/iommu/arm/arm-smmu-v3
 * is to the real one.  It implements struct iommu_ops on top of the
 * hardware layer (smmu_*) and the page tables (lpae_*).
 */
#ifndef UIOMMU_ARM_SMMU_V3_H
#define UIOMMU_ARM_SMMU_V3_H

#include "hw/hw.h"
#include "iommu/iommu.h"

#ifdef __cplusplus
extern "C" {
#endif

struct arm_smmu_device;

struct arm_smmu_options {
	bool coherent;		/* table walks and DMA snoop CPU caches */
	unsigned int ias;	/* stage-1 input size (48) */
	uint64_t pgsize_bitmap; /* 0: 4K | 2M | 1G */
	bool range_inv;		/* use range TLBIs (num/scale) (true) */
};

/* Probe the driver on an SMMU: installs its interrupt handlers and returns
 * the registered IOMMU.  opts may be NULL for the defaults. */
int arm_smmu_device_probe(struct smmu *hw, const struct arm_smmu_options *opts,
			  struct arm_smmu_device **out);
void arm_smmu_device_remove(struct arm_smmu_device *smmu);
struct iommu_device *arm_smmu_iommu(struct arm_smmu_device *smmu);
struct smmu *arm_smmu_hw(struct arm_smmu_device *smmu);

struct arm_smmu_stats {
	uint64_t tlbi_cmds; /* TLBI commands issued */
	uint64_t syncs;	    /* CMD_SYNCs issued */
	uint64_t cfgi_cmds;
	uint64_t events;	/* event records handled */
	uint64_t unrecoverable; /* reported as IOMMU_FAULT_DMA_UNRECOV */
	uint64_t page_requests; /* reported as IOMMU_FAULT_PAGE_REQ */
	uint64_t unhandled;	/* faults nobody took (stalls aborted) */
	uint64_t responses;	/* RESUME / PRI_RESP sent */
	/* command-queue errors (docs/iommu.md) */
	uint64_t cerrors;	  /* CMDQ_ERR handled by the gerror handler */
	uint64_t skipped_cmds;	  /* illegal commands replaced by CMD_SYNC */
	uint64_t fetch_retries;	  /* aborted command fetches retried */
	uint64_t sync_retries;	  /* CMD_SYNCs that failed and were retried */
	uint64_t sync_failures;	  /* ... and failed again */
	uint64_t broken_domains;  /* domains marked broken */
	uint64_t disabled;	  /* SMMU disabled (GBPA abort), 0 or 1 */
	unsigned int last_cerror; /* enum smmu_cmdq_cerror of the last one */
	uint64_t last_cmd[2];	  /* the command it stopped at */
};

void arm_smmu_get_stats(struct arm_smmu_device *smmu,
			struct arm_smmu_stats *st);

/* The ASID (stage 1) or VMID (stage 2; a nested domain: its parent's) of a
 * domain, for tests; -EINVAL for identity and blocked domains. */
int arm_smmu_domain_tag(struct iommu_domain *domain);

/* Whether dev is behind this driver. */
bool arm_smmu_dev_is_master(struct device *dev);

/* Opcodes of guest commands the model has no command of (SMMUv3's
 * encodings; arm_smmu_nested_invalidate passes them as wider ones). */
#define ARM_SMMU_CMD_CFGI_CD_ALL 0x06
#define ARM_SMMU_CMD_TLBI_NH_VAA 0x13

/* The guest's invalidation commands (raw words) for a nested domain:
 * *done of the n queued, then synced (docs/iommu.md). */
int arm_smmu_nested_invalidate(struct iommu_domain *domain,
			       const uint64_t (*cmds)[2], unsigned int n,
			       unsigned int *done);

#ifdef __cplusplus
}
#endif
#endif /* UIOMMU_ARM_SMMU_V3_H */
