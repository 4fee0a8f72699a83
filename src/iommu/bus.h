/* SPDX-License-Identifier: MIT */
/*
 * The bus: what puts a device behind an IOMMU (src/iommu/bus.c).
 *
 * A device on the bus is two objects on one stream id: the SMMU model's
 * endpoint (struct endpoint, which issues the DMA) and the IOMMU core's device
 * (struct device, which the DMA API, the groups and VFIO know).  Firmware
 * flags (DEVICE_FW_*) describe the device to the core; the endpoint gets
 * the matching capabilities (stalls, page requests).  bus_device_add()
 * creates both and probes the core's device into its group, and
 * bus_device_remove() undoes it; the device models embed a struct
 * bus_device and use its two halves.
 */
#ifndef UIOMMU_BUS_H
#define UIOMMU_BUS_H

#include "hw/hw.h"
#include "iommu/iommu.h"
#include "sanitizer/sanitizer.h"

#ifdef __cplusplus
extern "C" {
#endif

struct bus_device {
	struct device dev;   /* the IOMMU core's device */
	struct endpoint *hw; /* the SMMU model's endpoint, same sid */
	struct smmu *smmu;   /* the SMMU it sits behind */
	/* the endpoint's name in sanitizer reports, its history found
	 * through dev's domain */
	struct san_device san;
};

/*
 * Put device name on stream sid of smmu, whose driver registered iommu:
 * probe the core's device into the group of group_tag (iommu_probe_device:
 * 0 gives a group of its own) and create the endpoint with the capabilities
 * fw_flags imply.  0, or a negative errno with nothing left behind.
 */
int bus_device_add(struct bus_device *bd, struct smmu *smmu,
		   struct iommu_device *iommu, const char *name, uint32_t sid,
		   unsigned int fw_flags, unsigned int group_tag);
/* Destroy the endpoint and release the core's device. */
void bus_device_remove(struct bus_device *bd);

/* The SMMU's counters of the device's stream (translations, IOTLB hits
 * and misses, faults, DMA). */
void bus_device_counters(const struct bus_device *bd, struct smmu_counters *c);

/*
 * Does the endpoint still translate iova although the domain its core
 * device is attached to maps nothing there?  An ATS-like translation
 * (smmu_translate: fills the IOTLB, records no event): true means the IOTLB
 * holds a stale entry for iova.
 */
bool bus_device_iotlb_stale(struct bus_device *bd, dma_addr_t iova);

#ifdef __cplusplus
}
#endif
#endif /* UIOMMU_BUS_H */
