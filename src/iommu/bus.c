// SPDX-License-Identifier: MIT
/*
 * The bus: the pairing of the SMMU model's endpoint (struct endpoint) with the
 * IOMMU core's device (struct device) on one stream id
 * (src/iommu/bus.h).
 *
 * Objects and lifetimes: a struct bus_device is embedded in its device
 * model; bus_device_add() fills it (the core's device probed first, then
 * the endpoint) and bus_device_remove() empties it in reverse.  Both halves
 * live exactly as long as the pairing; the SMMU and its driver outlive it.
 *
 * Sanitizer: the pairing names the endpoint for the sanitizer's reports
 * (its device name, its stream id); the history of a refused DMA is the
 * one the owner of the device's domain (or of its stage-2 parent) set in
 * domain->san_space, read when the report is made.
 *
 * Locking: none of its own.  The probe and the endpoint take the core's
 * and the model's locks inside; a model serializes add and remove of one
 * device.
 */
#include <errno.h>
#include <stdio.h>

#include "iommu/bus.h"

#include "lib/internal.h"

/* The endpoint's capabilities a device's firmware flags imply. */
static unsigned int bus_dev_caps(unsigned int fw_flags)
{
	return (fw_flags & DEVICE_FW_CAN_STALL ? ENDPOINT_CAP_STALL : 0) |
	       (fw_flags & DEVICE_FW_PRI ? ENDPOINT_CAP_PRI : 0);
}

/* The history of the IOVA space the device's DMA goes through now. */
static struct san_space *bus_san_space(const struct san_device *sd)
{
	const struct bus_device *bd = container_of(sd, struct bus_device, san);
	struct iommu_domain *d = READ_ONCE(bd->dev.domain);

	if (!d)
		return NULL;
	if (!d->san_space && d->parent)
		return d->parent->san_space;
	return d->san_space;
}

int bus_device_add(struct bus_device *bd, struct smmu *smmu,
		   struct iommu_device *iommu, const char *name, uint32_t sid,
		   unsigned int fw_flags, unsigned int group_tag)
{
	int ret;

	*bd = (struct bus_device){.smmu = smmu};
	snprintf(bd->dev.name, sizeof(bd->dev.name), "%s", name);
	bd->dev.sid = sid;
	bd->dev.fw_flags = fw_flags;
	ret = iommu_probe_device(&bd->dev, iommu, group_tag);
	if (ret)
		return ret;
	ret = endpoint_create(smmu, sid, 0, bus_dev_caps(fw_flags), &bd->hw);
	if (ret) {
		iommu_release_device(&bd->dev);
		return ret;
	}
	snprintf(bd->san.name, sizeof(bd->san.name), "%s", name);
	bd->san.sid = sid;
	bd->san.space = bus_san_space;
	endpoint_set_san(bd->hw, &bd->san);
	return 0;
}

void bus_device_remove(struct bus_device *bd)
{
	endpoint_destroy(bd->hw);
	bd->hw = NULL;
	iommu_release_device(&bd->dev);
}

void bus_device_counters(const struct bus_device *bd, struct smmu_counters *c)
{
	/* the stream exists while the pairing does: this cannot fail */
	WARN_ON(smmu_stream_counters_read(bd->smmu, bd->dev.sid, c));
}

bool bus_device_iotlb_stale(struct bus_device *bd, dma_addr_t iova)
{
	struct smmu_xlate x;

	return bd->dev.domain &&
	       !smmu_translate(bd->hw, iova, false, &x, NULL) &&
	       !iommu_iova_to_phys(bd->dev.domain, iova);
}
