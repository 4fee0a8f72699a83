// SPDX-License-Identifier: MIT
/*
 * The topology parser: text in, a struct topology out (src/system/system.h).
 * It builds nothing; machine.c builds what it describes.
 *
 * Grammar (include/uiommu/uapi.h): items separated by newlines or ';',
 * words by blanks; '#' starts a comment that runs to the end of the item.
 *
 *   iommu NAME [noncoherent] [threaded]
 *   device NAME iommu=NAME sid=N group=N [type=dma] [stall] [pri] [nosnoop]
 *   device NAME type=ioat bdf=DDDD:BB:DD.F iommu=NAME sid=N group=N
 *          [threaded] [stall] [pri] [nosnoop]
 *   vfio-container type1|iommufd
 *
 * A device names an SMMU described before it.  Names are unique within
 * their kind and shorter than TOPOLOGY_NAME_LEN; sid and group fit 16 bits.
 * A PCI device (type=ioat) has a bdf, hexadecimal domain (4 digits), bus
 * (2), device (2, below 0x20) and function (1, below 8), unique among the
 * devices and kept in lower case; a DMA engine has none; threaded is the
 * I/OAT's alone.
 *
 * Objects: none of its own; the caller's struct topology.  Locking: none.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/internal.h"
#include "system.h"

#define TOPOLOGY_MAX_WORDS 16

static int find_iommu(const struct topology *t, const char *name)
{
	for (unsigned int i = 0; i < t->nr_iommus; i++)
		if (!strcmp(t->iommus[i].name, name))
			return (int)i;
	return -1;
}

int topology_parse_vfio_container(const char *word, bool *iommufd)
{
	if (!strcmp(word, "type1"))
		*iommufd = false;
	else if (!strcmp(word, "iommufd"))
		*iommufd = true;
	else
		return -EINVAL;
	return 0;
}

static int parse_uint(const char *v, unsigned long max, unsigned long *out)
{
	char *end;

	if (!*v)
		return -EINVAL;
	*out = strtoul(v, &end, 0);
	return *end || *out > max ? -EINVAL : 0;
}

static int parse_iommu(struct topology *t, char **w, int n)
{
	struct topology_iommu *io;

	if (n < 2 || t->nr_iommus == TOPOLOGY_MAX_IOMMUS ||
	    find_iommu(t, w[1]) >= 0 || strlen(w[1]) >= sizeof(io->name))
		return -EINVAL;
	io = &t->iommus[t->nr_iommus];
	*io = (struct topology_iommu){
		.drv = {.coherent = true, .range_inv = true},
	};
	for (int i = 2; i < n; i++) {
		if (!strcmp(w[i], "noncoherent"))
			io->drv.coherent = false;
		else if (!strcmp(w[i], "threaded"))
			io->hw.threaded = true;
		else if (!strcmp(w[i], "nohttu"))
			io->hw.no_httu = true;
		else
			return -EINVAL;
	}
	snprintf(io->name, sizeof(io->name), "%s", w[1]);
	t->nr_iommus++;
	return 0;
}

/* Device flags that are single words, and what each sets. */
static const struct {
	const char *word;
	unsigned int fw_flags;
} device_flags[] = {
	{"type=dma", 0},
	{"stall", DEVICE_FW_CAN_STALL},
	{"pri", DEVICE_FW_PRI},
	{"nosnoop", DEVICE_FW_NO_SNOOP},
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "DDDD:BB:DD.F" (hex digits), device below 0x20, function below 8, into
 * out in lower case; -EINVAL otherwise. */
static int parse_bdf(const char *v, char out[TOPOLOGY_BDF_LEN])
{
	static const char shape[] = "xxxx:xx:xx.x";
	unsigned int dev, fn;

	if (strlen(v) != sizeof(shape) - 1)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == 'x' ? hexval(v[i]) < 0 : v[i] != shape[i])
			return -EINVAL;
		out[i] = shape[i] == 'x' ? "0123456789abcdef"[hexval(v[i])]
					 : v[i];
	}
	out[sizeof(shape) - 1] = '\0';
	dev = (unsigned int)(hexval(v[8]) << 4 | hexval(v[9]));
	fn = (unsigned int)hexval(v[11]);
	return dev < 0x20 && fn < 8 ? 0 : -EINVAL;
}

static int parse_device_word(struct topology *t, struct topology_device *d,
			     const char *word, int *iommu, unsigned long *sid,
			     unsigned long *group)
{
	if (!strcmp(word, "type=dma") && d->type == TOPOLOGY_DEV_IOAT)
		return -EINVAL; /* one type */
	if (!strcmp(word, "type=ioat")) {
		d->type = TOPOLOGY_DEV_IOAT;
		return 0;
	}
	if (!strncmp(word, "bdf=", 4))
		return d->bdf[0] ? -EINVAL : parse_bdf(word + 4, d->bdf);
	if (!strcmp(word, "threaded")) {
		d->threaded = true;
		return 0;
	}
	if (!strncmp(word, "iommu=", 6)) {
		*iommu = find_iommu(t, word + 6);
		return 0;
	}
	if (!strncmp(word, "sid=", 4))
		return parse_uint(word + 4, 0xffff, sid);
	if (!strncmp(word, "group=", 6))
		return parse_uint(word + 6, 0xffff, group);
	for (size_t i = 0; i < ARRAY_SIZE(device_flags); i++) {
		if (!strcmp(word, device_flags[i].word)) {
			d->fw_flags |= device_flags[i].fw_flags;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_device(struct topology *t, char **w, int n)
{
	unsigned long sid = ~0UL, group = ~0UL;
	struct topology_device *d;
	int iommu = -1;

	if (n < 2 || t->nr_devices == TOPOLOGY_MAX_DEVICES ||
	    strlen(w[1]) >= sizeof(d->name))
		return -EINVAL;
	for (unsigned int i = 0; i < t->nr_devices; i++)
		if (!strcmp(t->devices[i].name, w[1]))
			return -EINVAL;
	d = &t->devices[t->nr_devices];
	*d = (struct topology_device){0};
	for (int i = 2; i < n; i++)
		if (parse_device_word(t, d, w[i], &iommu, &sid, &group))
			return -EINVAL;
	if (iommu < 0 || sid == ~0UL || group == ~0UL)
		return -EINVAL;
	/* a PCI device has its address, a platform one none */
	if ((d->type == TOPOLOGY_DEV_IOAT) != (d->bdf[0] != '\0'))
		return -EINVAL;
	if (d->threaded && d->type != TOPOLOGY_DEV_IOAT)
		return -EINVAL;
	for (unsigned int i = 0; d->bdf[0] && i < t->nr_devices; i++)
		if (!strcmp(t->devices[i].bdf, d->bdf))
			return -EINVAL;
	snprintf(d->name, sizeof(d->name), "%s", w[1]);
	d->iommu = (unsigned int)iommu;
	d->sid = (uint32_t)sid;
	d->group = (int)group;
	t->nr_devices++;
	return 0;
}

/* One item: split into words, then by its first word. */
static int parse_item(struct topology *t, char *item)
{
	char *w[TOPOLOGY_MAX_WORDS], *save = NULL, *hash = strchr(item, '#');
	int n = 0;

	if (hash)
		*hash = '\0';
	for (char *tok = strtok_r(item, " \t", &save); tok;
	     tok = strtok_r(NULL, " \t", &save)) {
		if (n == TOPOLOGY_MAX_WORDS)
			return -EINVAL;
		w[n++] = tok;
	}
	if (!n)
		return 0;
	if (!strcmp(w[0], "iommu"))
		return parse_iommu(t, w, n);
	if (!strcmp(w[0], "device"))
		return parse_device(t, w, n);
	if (!strcmp(w[0], "vfio-container"))
		return topology_parse_vfio_container(
			n == 2 ? w[1] : "", &t->vfio_container_iommufd);
	return -EINVAL;
}

int topology_parse(const char *text, struct topology *t)
{
	char *copy = strdup(text), *save = NULL, *item;
	int ret = 0;

	memset(t, 0, sizeof(*t));
	if (!copy)
		return -ENOMEM;
	for (item = strtok_r(copy, ";\n", &save); item && !ret;
	     item = strtok_r(NULL, ";\n", &save))
		ret = parse_item(t, item);
	free(copy);
	return ret;
}
