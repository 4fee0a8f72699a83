// SPDX-License-Identifier: MIT
/*
 * An SVA-style accelerator like the one of seed 001's experiment (UADK's
 * hisi_sec_test): it processes messages, each reading msg_len bytes from a
 * source buffer and writing them to a destination buffer, both by DMA in
 * I/O virtual addresses.  It can stall (DEVICE_FW_CAN_STALL), so an access
 * to an unmapped page becomes a page request that software answers after
 * mapping the page: the device then retries and goes on.
 *
 * Data model: one struct sva_dev per accelerator, a hardware DMA engine
 * (struct dev, DEV_CAP_STALL) on its stream, a bounce buffer.  Counters of
 * faults and retries come from the SMMU's per-stream counters.
 *
 * Locking: none; one thread drives a device at a time.
 */
#include <errno.h>
#include <stdio.h>

#include <uiommu/sva.h>

#include "lib/internal.h"

#define SVA_CHUNK (64u << 10)

struct sva_dev {
	struct device dev;
	struct dev *hw;
	struct smmu *smmu;
	uint8_t bounce[SVA_CHUNK];
};

int sva_create(struct platform *p, const char *name, uint32_t sid,
	       unsigned int group_tag, struct sva_dev **out)
{
	struct sva_dev *s;
	int ret;

	s = ui_zalloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	snprintf(s->dev.name, sizeof(s->dev.name), "%s", name);
	s->dev.sid = sid;
	s->dev.fw_flags = DEVICE_FW_CAN_STALL;
	s->smmu = p->hw;
	ret = iommu_probe_device(&s->dev, p->iommu, group_tag);
	if (ret)
		goto err_free;
	ret = dev_create(p->hw, sid, 0, DEV_CAP_STALL, &s->hw);
	if (ret)
		goto err_release;
	*out = s;
	return 0;

err_release:
	iommu_release_device(&s->dev);
err_free:
	ui_free(s);
	return ret;
}

void sva_destroy(struct sva_dev *s)
{
	if (!s)
		return;
	dev_destroy(s->hw);
	iommu_release_device(&s->dev);
	ui_free(s);
}

struct device *sva_device(struct sva_dev *s)
{
	return &s->dev;
}

struct dev *sva_hw(struct sva_dev *s)
{
	return s->hw;
}

int sva_run(struct sva_dev *s, dma_addr_t src, dma_addr_t dst, uint64_t msg_len,
	    unsigned int times, struct sva_result *res)
{
	struct smmu_counters c0, c1;
	int ret = 0;

	if (!msg_len || !times)
		return -EINVAL;
	smmu_stream_counters_read(s->smmu, s->dev.sid, &c0);
	res->messages = 0;
	res->bytes = 0;
	for (unsigned int m = 0; m < times && !ret; m++) {
		for (uint64_t done = 0; done < msg_len;) {
			size_t n = (size_t)min((uint64_t)SVA_CHUNK,
					       msg_len - done);

			ret = dev_dma_read(s->hw, src + done, s->bounce, n);
			if (!ret)
				ret = dev_dma_write(s->hw, dst + done,
						    s->bounce, n);
			if (ret)
				break;
			done += n;
		}
		if (!ret) {
			res->messages++;
			res->bytes += msg_len;
		}
	}
	smmu_stream_counters_read(s->smmu, s->dev.sid, &c1);
	res->faults = c1.stalls - c0.stalls;
	res->retries = c1.retries - c0.retries;
	return ret;
}
