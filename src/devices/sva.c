// SPDX-License-Identifier: MIT
/*
 * An SVA-style accelerator like the one of the VFIO IOPF series' experiment (UADK's
 * hisi_sec_test): it processes messages, each reading msg_len bytes from a
 * source buffer and writing them to a destination buffer, both by DMA in
 * I/O virtual addresses.  It can stall (DEVICE_FW_CAN_STALL), so an access
 * to an unmapped page becomes a page request that software answers after
 * mapping the page: the device then retries and goes on.
 *
 * Data model: one struct sva_dev per accelerator: its place on the bus
 * (the core's device and the SMMU's stall-capable endpoint on its stream,
 * src/iommu/bus.h) and a bounce buffer.  Counters of faults and
 * retries come from the SMMU's counters of its stream.
 *
 * Locking: none; one thread drives a device at a time.
 */
#include <errno.h>
#include <stdio.h>

#include "iommu/bus.h"
#include "devices/sva.h"

#include "lib/internal.h"

#define SVA_CHUNK (64u << 10)

struct sva_dev {
	struct bus_device bus; /* the core's device and the endpoint */
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
	ret = bus_device_add(&s->bus, p->hw, p->iommu, name, sid,
			     DEVICE_FW_CAN_STALL, group_tag);
	if (ret) {
		ui_free(s);
		return ret;
	}
	*out = s;
	return 0;
}

void sva_destroy(struct sva_dev *s)
{
	if (!s)
		return;
	bus_device_remove(&s->bus);
	ui_free(s);
}

struct device *sva_device(struct sva_dev *s)
{
	return &s->bus.dev;
}

struct endpoint *sva_hw(struct sva_dev *s)
{
	return s->bus.hw;
}

int sva_run(struct sva_dev *s, dma_addr_t src, dma_addr_t dst, uint64_t msg_len,
	    unsigned int times, struct sva_result *res)
{
	struct smmu_counters c0, c1;
	int ret = 0;

	if (!msg_len || !times)
		return -EINVAL;
	bus_device_counters(&s->bus, &c0);
	res->messages = 0;
	res->bytes = 0;
	for (unsigned int m = 0; m < times && !ret; m++) {
		for (uint64_t done = 0; done < msg_len;) {
			size_t n = (size_t)min((uint64_t)SVA_CHUNK,
					       msg_len - done);

			ret = endpoint_dma_read(s->bus.hw, src + done,
						s->bounce, n);
			if (!ret)
				ret = endpoint_dma_write(s->bus.hw, dst + done,
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
	bus_device_counters(&s->bus, &c1);
	res->faults = c1.stalls - c0.stalls;
	res->retries = c1.retries - c0.retries;
	return ret;
}
