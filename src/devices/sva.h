/* SPDX-License-Identifier: MIT */
/*
 * An SVA-style accelerator (the IOPF-for-VFIO series' hisi_sec_test
 * device): messages of
 * msg_len bytes read from a source and written to a destination buffer by
 * DMA, on a stream that can stall, so unmapped pages fault and are retried
 * after software maps them.  src/devices/sva.c.
 */
#ifndef UIOMMU_SVA_H
#define UIOMMU_SVA_H

#include "devices/devices.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sva_dev;

struct sva_result {
	uint64_t messages, bytes;
	uint64_t faults;  /* stalled transactions (page requests) */
	uint64_t retries; /* accesses retried after a response */
};

/* A stall-capable accelerator with stream sid, probed into the IOMMU group
 * of group_tag (iommu_probe_device). */
int sva_create(struct platform *p, const char *name, uint32_t sid,
	       unsigned int group_tag, struct sva_dev **out);
void sva_destroy(struct sva_dev *s);
struct device *sva_device(struct sva_dev *s);
struct endpoint *sva_hw(struct sva_dev *s);

/* Process times messages; stops at the first failed one (its errno). */
int sva_run(struct sva_dev *s, dma_addr_t src, dma_addr_t dst, uint64_t msg_len,
	    unsigned int times, struct sva_result *res);

#ifdef __cplusplus
}
#endif
#endif /* UIOMMU_SVA_H */
