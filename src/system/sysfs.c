// SPDX-License-Identifier: MIT
/*
 * The sysfs view: the emulated machine as a Linux 6.1 host with its devices
 * bound to vfio-pci shows it under /sys, rendered as a private directory
 * tree that the preload library redirects a few path prefixes into
 * (docs/sysfs.md says why this is not umockdev).
 *
 * Data model.  sysfs_render() fills a directory TOP, made empty by its
 * caller, with TOP/sys (what /sys shows of the machine) and TOP/dev/vfio
 * (one empty file per node: the preload reports them as the character
 * devices they are).  The tree holds regular files with the attributes'
 * text, and relative symbolic links spelled as the kernel's, so that a
 * lookup in the tree resolves as the same lookup in /sys would:
 *
 *   sys/devices/pci0000:00/BDF/        one per PCI function (vendor, device,
 *       subsystem_vendor, subsystem_device, class, revision, config,
 *       resource, irq, numa_node, enable, uevent, modalias,
 *       driver_override; links iommu_group, driver, iommu, subsystem)
 *   sys/devices/platform/NAME/         one per platform DMA engine (links
 *       iommu_group, iommu; uevent)
 *   sys/devices/platform/arm-smmu-v3.I.auto/iommu/smmu3.0xADDR/
 *                                      SMMU I's IOMMU device, with links
 *                                      devices/<dev> to the devices behind it
 *   sys/bus/pci/devices/BDF -> ../../../devices/pci0000:00/BDF
 *   sys/bus/pci/drivers/vfio-pci/      BDF links, bind, unbind, new_id,
 *                                      remove_id, uevent, module link
 *   sys/kernel/iommu_groups/N/         devices/<dev> links, type,
 *                                      reserved_regions
 *   sys/module/vfio, vfio_pci, vfio_iommu_type1   parameters as 6.1 has
 *   <device dir>/vfio-dev/vfioI/       a registered device's cdev (6.12's
 *                                      class device: dev, uevent; links
 *                                      device, subsystem), I its index
 *   sys/class/vfio-dev/vfioI -> ../../devices/<device dir>/vfio-dev/vfioI
 *   sys/dev/char/242:I       -> the same (only the cdevs' entries: the
 *                               host's other /sys/dev/char stays)
 *   dev/vfio/vfio, dev/vfio/N, dev/vfio/devices/vfioI, dev/iommu (iommufd)
 *
 * Attribute formats are the kernel's: ids "0x%04x\n", class "0x%06x\n",
 * revision "0x%02x\n", resource one "0x%016llx 0x%016llx 0x%016llx\n"
 * line (start, end, flags) for each of the 13 resources a non-bridge
 * function has (six BARs, the ROM, six SR-IOV BARs), reserved_regions
 * "0x%016llx 0x%016llx TYPE\n", booleans "N\n".  BARs get host-like bus
 * addresses, each naturally aligned, from SYSFS_MMIO_BASE up in device
 * order (the addresses a host firmware would have given them); config
 * shows the function's configuration space with those addresses in its
 * BARs, as the host's sysfs does.  INTx gets irq SYSFS_INTX_IRQ_BASE +
 * (slot + pin - 1) mod 4 (the root bus's swizzle), a function without a
 * pin irq 0.  SMMU I's registers are at SYSFS_SMMU_BASE + I *
 * SYSFS_SMMU_STRIDE, which names its IOMMU device as the Arm SMMUv3
 * driver does ("smmu3.%pa").
 *
 * Dynamic attributes: config and enable are rewritten whenever the
 * program opens them (sysfs_refresh()), config from a fresh snapshot of
 * the function's configuration space, enable from whether VFIO holds the
 * device open (vfio-pci enables a function on open).  Not rendered:
 * msi_irqs (present only while vectors are enabled), resourceN (the
 * sysfs mmap of BARs, for uio), power/, the host's other buses, CPUs
 * and memory (the preload redirects only the view's prefixes, so the
 * program sees the host's own for everything else).
 *
 * Locking: none.  The machine is immutable once built; the caller
 * serializes sysfs_render() and sysfs_remove() of one tree.
 * sysfs_refresh() replaces a file by rename, so concurrent readers see
 * the old or the new contents whole.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "iommu/iommu.h"
#include "vfio/vfio.h"
#include "vfio/vfio_device.h"

#include "lib/internal.h"
#include "system.h"

/* The kernel's resource flags (include/linux/ioport.h). */
#define IORESOURCE_MEM	     0x00000200ULL
#define IORESOURCE_PREFETCH  0x00002000ULL
#define IORESOURCE_READONLY  0x00004000ULL
#define IORESOURCE_SIZEALIGN 0x00040000ULL
#define IORESOURCE_MEM_64    0x00100000ULL
/* the BAR's own low bits, which the kernel keeps in the flags */
#define BAR_MEM_TYPE_64	 0x4ULL
#define BAR_MEM_PREFETCH 0x8ULL
/* a non-bridge function's resources: BARs, ROM, SR-IOV BARs */
#define SYSFS_NR_RESOURCES 13
#define SYSFS_ROM_RESOURCE 6

#define PCI_EXP_CAP_ID 0x10

static int render_file(const char *top, const char *rel, const void *buf,
		       size_t len, mode_t mode);

/* ---- paths --------------------------------------------------------------- */

/* TOP/sys/<fmt...> into buf; -ENAMETOOLONG when it does not fit. */
static int vpath(char *buf, size_t size, const char *top, const char *fmt,
		 va_list ap)
{
	int n = snprintf(buf, size, "%s/", top);
	int m;

	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	m = vsnprintf(buf + n, size - n, fmt, ap);
	if (m < 0 || (size_t)(n + m) >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* mkdir -p of every directory above the last component of path. */
static int make_parents(char *path)
{
	for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST) {
			int err = -errno;

			*p = '/';
			return err;
		}
		*p = '/';
	}
	return 0;
}

struct render {
	const char *top;
	int err; /* the first error; later calls do nothing */
};

static void __attribute__((format(printf, 3, 4)))
put(struct render *r, const char *text, const char *fmt, ...)
{
	char rel[PATH_MAX];
	va_list ap;
	int n;

	if (r->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(rel)) {
		r->err = -ENAMETOOLONG;
		return;
	}
	r->err = render_file(r->top, rel, text, strlen(text), 0444);
}

/* put() of a printf-formatted value */
#define putf(r, value_fmt, value, ...)                        \
	do {                                                  \
		char __v[128];                                \
		snprintf(__v, sizeof(__v), value_fmt, value); \
		put(r, __v, __VA_ARGS__);                     \
	} while (0)

static void __attribute__((format(printf, 3, 4)))
put_link(struct render *r, const char *target, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;

	if (r->err)
		return;
	va_start(ap, fmt);
	r->err = vpath(path, sizeof(path), r->top, fmt, ap);
	va_end(ap);
	if (!r->err)
		r->err = make_parents(path);
	if (!r->err && symlink(target, path))
		r->err = -errno;
}

static void __attribute__((format(printf, 2, 3)))
put_dir(struct render *r, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;

	if (r->err)
		return;
	va_start(ap, fmt);
	r->err = vpath(path, sizeof(path), r->top, fmt, ap);
	va_end(ap);
	if (!r->err)
		r->err = make_parents(path);
	if (!r->err && mkdir(path, 0755) && errno != EEXIST)
		r->err = -errno;
}

/* Write TOP/rel whole (parents made), replacing it by rename. */
static int render_file(const char *top, const char *rel, const void *buf,
		       size_t len, mode_t mode)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32];
	int n, fd, ret = 0;
	ssize_t w;

	n = snprintf(path, sizeof(path), "%s/%s", top, rel);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)gettid());
	ret = make_parents(path);
	if (ret)
		return ret;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	for (size_t done = 0; done < len; done += w) {
		w = write(fd, (const char *)buf + done, len - done);
		if (w < 0) {
			ret = -errno;
			break;
		}
	}
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}

/* ---- the machine's layout ------------------------------------------------- */

/* The SMMU's platform device and IOMMU device names. */
static void smmu_names(unsigned int i, char *plat, size_t plen, char *iommu,
		       size_t ilen)
{
	snprintf(plat, plen, "arm-smmu-v3.%u.auto", i);
	snprintf(iommu, ilen, "smmu3.0x%016llx",
		 (unsigned long long)(SYSFS_SMMU_BASE +
				      (uint64_t)i * SYSFS_SMMU_STRIDE));
}

/* Where a device lives under /sys/devices. */
static void device_dir(const struct machine_device *d, char *buf, size_t len)
{
	if (d->pci)
		snprintf(buf, len, "devices/pci0000:00/%s", d->vdev->name);
	else
		snprintf(buf, len, "devices/platform/%s", d->name);
}

/* The name a device has in directories of links (the kernel's dev_name). */
static const char *device_name(const struct machine_device *d)
{
	return d->pci ? d->vdev->name : d->name;
}

static unsigned int bdf_slot(const char *bdf)
{
	unsigned int dom, bus, slot, fn;

	if (sscanf(bdf, "%x:%x:%x.%x", &dom, &bus, &slot, &fn) != 4)
		return 0;
	return slot;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/*
 * The BARs' (and the ROM's) bus addresses, assigned in device order
 * from SYSFS_MMIO_BASE, each naturally aligned: res[i] start, end, flags.
 */
struct pci_res {
	uint64_t start, end, flags;
};

static void assign_resources(const struct machine *m, unsigned int upto,
			     struct pci_res res[SYSFS_NR_RESOURCES])
{
	uint64_t next = SYSFS_MMIO_BASE;

	for (unsigned int k = 0; k <= upto; k++) {
		struct pci_function *fn = m->devices[k].pci;
		uint64_t rom;

		if (!fn)
			continue;
		if (k == upto)
			memset(res, 0, sizeof(*res) * SYSFS_NR_RESOURCES);
		for (unsigned int b = 0; b < PCI_NUM_BARS; b++) {
			const struct pci_bar_desc *bd = pci_bar(fn, b);
			uint64_t f = IORESOURCE_MEM | IORESOURCE_SIZEALIGN;

			if (!bd || !bd->size)
				continue;
			next = align_up(next, bd->size);
			if (bd->flags & PCI_BAR_F_64)
				f |= IORESOURCE_MEM_64 | BAR_MEM_TYPE_64;
			if (bd->flags & PCI_BAR_F_PREFETCH)
				f |= IORESOURCE_PREFETCH | BAR_MEM_PREFETCH;
			if (k == upto)
				res[b] = (struct pci_res){
					next, next + bd->size - 1, f};
			next += bd->size;
		}
		rom = pci_rom_size(fn);
		if (rom) {
			next = align_up(next, rom);
			if (k == upto)
				res[SYSFS_ROM_RESOURCE] = (struct pci_res){
					next, next + rom - 1,
					IORESOURCE_MEM | IORESOURCE_PREFETCH |
						IORESOURCE_READONLY |
						IORESOURCE_SIZEALIGN};
			next += rom;
		}
	}
}

/* How much configuration space the host's config file shows. */
static size_t config_size(struct pci_function *fn)
{
	uint8_t cfg[PCI_CFG_SIZE];

	pci_config_snapshot(fn, cfg, sizeof(cfg));
	return pci_find_capability(cfg, PCI_EXP_CAP_ID) ? PCI_CFG_EXP_SIZE
							: PCI_CFG_SIZE;
}

/* The configuration space, with the host's bus addresses in its BARs. */
static size_t config_image(const struct machine *m, unsigned int k,
			   uint8_t cfg[PCI_CFG_EXP_SIZE])
{
	struct pci_function *fn = m->devices[k].pci;
	struct pci_res res[SYSFS_NR_RESOURCES];
	size_t len = config_size(fn);

	pci_config_snapshot(fn, cfg, len);
	assign_resources(m, k, res);
	for (unsigned int b = 0; b < PCI_NUM_BARS; b++) {
		unsigned int off = PCI_A_BAR(b);
		uint32_t lo;

		if (!res[b].flags)
			continue;
		memcpy(&lo, cfg + off, 4);
		lo = (lo & 0xf) | (uint32_t)res[b].start;
		memcpy(cfg + off, &lo, 4);
		if (res[b].flags & IORESOURCE_MEM_64) {
			uint32_t hi = (uint32_t)(res[b].start >> 32);

			memcpy(cfg + off + 4, &hi, 4);
		}
	}
	if (res[SYSFS_ROM_RESOURCE].flags) {
		uint32_t rom;

		memcpy(&rom, cfg + PCI_A_ROM_ADDRESS, 4);
		rom = (rom & 1) | (uint32_t)res[SYSFS_ROM_RESOURCE].start;
		memcpy(cfg + PCI_A_ROM_ADDRESS, &rom, 4);
	}
	return len;
}

static unsigned int cfg16(const uint8_t *cfg, unsigned int off)
{
	return cfg[off] | (unsigned int)cfg[off + 1] << 8;
}

static unsigned int cfg_class(const uint8_t *cfg)
{
	return cfg[PCI_A_CLASS_CODE] |
	       (unsigned int)cfg[PCI_A_CLASS_CODE + 1] << 8 |
	       (unsigned int)cfg[PCI_A_CLASS_CODE + 2] << 16;
}

/* ---- rendering ------------------------------------------------------------ */

static int render_config(const char *top, const struct machine *m,
			 unsigned int k)
{
	uint8_t cfg[PCI_CFG_EXP_SIZE];
	size_t len = config_image(m, k, cfg);
	char rel[PATH_MAX];

	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/config",
		 m->devices[k].vdev->name);
	return render_file(top, rel, cfg, len, 0644);
}

static int render_enable(const char *top, const struct machine_device *d)
{
	char rel[PATH_MAX];
	/* vfio-pci enables the function while the device is open; a racy
	 * snapshot, as a sysfs read is */
	unsigned int open =
		__atomic_load_n(&d->vdev->open_count, __ATOMIC_RELAXED);

	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/enable",
		 d->vdev->name);
	return render_file(top, rel, open ? "1\n" : "0\n", 2, 0644);
}

/* The relative path from a device's directory to the SMMU's IOMMU device. */
static void iommu_link(const struct machine_device *d, char *buf, size_t len)
{
	char plat[64], iommu[64];

	smmu_names(d->iommu, plat, sizeof(plat), iommu, sizeof(iommu));
	/* both kinds sit two levels under /sys/devices' children */
	snprintf(buf, len, "../../platform/%s/iommu/%s", plat, iommu);
	if (!d->pci)
		snprintf(buf, len, "../%s/iommu/%s", plat, iommu);
}

static void render_pci(struct render *r, const struct machine *m,
		       unsigned int k)
{
	const struct machine_device *d = &m->devices[k];
	const char *bdf = d->vdev->name;
	struct pci_res res[SYSFS_NR_RESOURCES];
	uint8_t cfg[PCI_CFG_SIZE];
	char text[SYSFS_NR_RESOURCES * 64], link[PATH_MAX];
	unsigned int vendor, device, sv, sd, cls, pin, irq;
	size_t n = 0;

	pci_config_snapshot(d->pci, cfg, sizeof(cfg));
	vendor = cfg16(cfg, PCI_A_VENDOR_ID);
	device = cfg16(cfg, PCI_A_DEVICE_ID);
	sv = cfg16(cfg, PCI_A_SUBSYSTEM_VENDOR_ID);
	sd = cfg16(cfg, PCI_A_SUBSYSTEM_ID);
	cls = cfg_class(cfg);
	pin = cfg[PCI_A_INTERRUPT_PIN];
	irq = pin ? SYSFS_INTX_IRQ_BASE + (bdf_slot(bdf) + pin - 1) % 4 : 0;

#define DEV "sys/devices/pci0000:00/%s/"
	putf(r, "0x%04x\n", vendor, DEV "vendor", bdf);
	putf(r, "0x%04x\n", device, DEV "device", bdf);
	putf(r, "0x%04x\n", sv, DEV "subsystem_vendor", bdf);
	putf(r, "0x%04x\n", sd, DEV "subsystem_device", bdf);
	putf(r, "0x%06x\n", cls, DEV "class", bdf);
	putf(r, "0x%02x\n", cfg[PCI_A_REVISION_ID], DEV "revision", bdf);
	putf(r, "%u\n", irq, DEV "irq", bdf);
	put(r, "-1\n", DEV "numa_node", bdf);
	put(r, "(null)\n", DEV "driver_override", bdf);
	snprintf(text, sizeof(text),
		 "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X\n", vendor,
		 device, sv, sd, cls >> 16, (cls >> 8) & 0xff, cls & 0xff);
	put(r, text, DEV "modalias", bdf);
	snprintf(text, sizeof(text),
		 "DRIVER=vfio-pci\nPCI_CLASS=%X\nPCI_ID=%04X:%04X\n"
		 "PCI_SUBSYS_ID=%04X:%04X\nPCI_SLOT_NAME=%s\n"
		 "MODALIAS=pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X\n",
		 cls, vendor, device, sv, sd, bdf, vendor, device, sv, sd,
		 cls >> 16, (cls >> 8) & 0xff, cls & 0xff);
	put(r, text, DEV "uevent", bdf);
	assign_resources(m, k, res);
	for (unsigned int i = 0; i < SYSFS_NR_RESOURCES; i++)
		n += snprintf(text + n, sizeof(text) - n,
			      "0x%016llx 0x%016llx 0x%016llx\n",
			      (unsigned long long)res[i].start,
			      (unsigned long long)res[i].end,
			      (unsigned long long)res[i].flags);
	put(r, text, DEV "resource", bdf);
	if (!r->err)
		r->err = render_config(r->top, m, k);
	if (!r->err)
		r->err = render_enable(r->top, d);
	snprintf(link, sizeof(link), "../../../kernel/iommu_groups/%d",
		 d->group);
	put_link(r, link, DEV "iommu_group", bdf);
	put_link(r, "../../../bus/pci/drivers/vfio-pci", DEV "driver", bdf);
	put_link(r, "../../../bus/pci", DEV "subsystem", bdf);
#undef DEV
	iommu_link(d, link, sizeof(link));
	put_link(r, link, "sys/devices/pci0000:00/%s/iommu", bdf);
	snprintf(link, sizeof(link), "../../../devices/pci0000:00/%s", bdf);
	put_link(r, link, "sys/bus/pci/devices/%s", bdf);
	snprintf(link, sizeof(link), "../../../../devices/pci0000:00/%s", bdf);
	put_link(r, link, "sys/bus/pci/drivers/vfio-pci/%s", bdf);
}

static void render_platform(struct render *r, const struct machine_device *d)
{
	char link[PATH_MAX];

	snprintf(link, sizeof(link), "../../../kernel/iommu_groups/%d",
		 d->group);
	put_link(r, link, "sys/devices/platform/%s/iommu_group", d->name);
	iommu_link(d, link, sizeof(link));
	put_link(r, link, "sys/devices/platform/%s/iommu", d->name);
	snprintf(link, sizeof(link), "DRIVER=vfio-platform\nOF_NAME=%s\n",
		 d->name);
	put(r, link, "sys/devices/platform/%s/uevent", d->name);
}

static const char *resv_type_name(enum iommu_resv_type t)
{
	switch (t) {
	case IOMMU_RESV_DIRECT:
		return "direct";
	case IOMMU_RESV_RESERVED:
		return "reserved";
	case IOMMU_RESV_MSI:
	case IOMMU_RESV_SW_MSI:
		return "msi";
	}
	return "reserved";
}

static int resv_cmp(const void *a, const void *b)
{
	const struct iommu_resv_region *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (int)x->type - (int)y->type;
}

/* The group's reserved regions, its devices' merged as the kernel merges
 * them (overlapping or adjacent regions of one type become one). */
/* A registered device's cdev: its class device under the device's
 * directory and in /sys/class/vfio-dev, and its /dev node. */
static void render_cdev(struct render *r, const struct machine_device *d)
{
	int index = vfio_device_index(d->vdev);
	char dir[PATH_MAX], text[128], link[PATH_MAX + 64];

	if (index < 0)
		return; /* not a VFIO device */
	device_dir(d, dir, sizeof(dir));
#define CDEV "sys/%s/vfio-dev/vfio%d/"
	snprintf(text, sizeof(text), "%d:%d\n", SYSFS_VFIO_DEVICE_MAJOR, index);
	put(r, text, CDEV "dev", dir, index);
	snprintf(text, sizeof(text),
		 "MAJOR=%d\nMINOR=%d\nDEVNAME=vfio/devices/vfio%d\n",
		 SYSFS_VFIO_DEVICE_MAJOR, index, index);
	put(r, text, CDEV "uevent", dir, index);
	snprintf(link, sizeof(link), "../../../%s", device_name(d));
	put_link(r, link, CDEV "device", dir, index);
	put_link(r, "../../../../../class/vfio-dev", CDEV "subsystem", dir,
		 index);
#undef CDEV
	snprintf(link, sizeof(link), "../../%s/vfio-dev/vfio%d", dir, index);
	put_link(r, link, "sys/class/vfio-dev/vfio%d", index);
	put_link(r, link, "sys/dev/char/%d:%d", SYSFS_VFIO_DEVICE_MAJOR, index);
	put(r, "", "dev/vfio/devices/vfio%d", index);
}

static void render_resv(struct render *r, const struct machine *m, int group)
{
	struct iommu_resv_region
		regs[TOPOLOGY_MAX_DEVICES * IOMMU_MAX_RESV_REGIONS];
	unsigned int nr = 0, out = 0;
	char text[ARRAY_SIZE(regs) * 64];
	size_t n = 0;

	for (unsigned int k = 0; k < m->nr_devices; k++) {
		unsigned int got = 0;

		if (m->devices[k].group != group || !m->devices[k].vdev->dev)
			continue;
		if (!iommu_get_resv_regions(m->devices[k].vdev->dev, regs + nr,
					    IOMMU_MAX_RESV_REGIONS, &got))
			nr += got;
	}
	qsort(regs, nr, sizeof(regs[0]), resv_cmp);
	for (unsigned int i = 0; i < nr; i++) {
		struct iommu_resv_region *last = out ? &regs[out - 1] : NULL;

		if (last && last->type == regs[i].type &&
		    regs[i].start <= last->start + last->length) {
			uint64_t end = regs[i].start + regs[i].length;

			if (end > last->start + last->length)
				last->length = end - last->start;
			continue;
		}
		regs[out++] = regs[i];
	}
	text[0] = '\0';
	for (unsigned int i = 0; i < out; i++)
		n += snprintf(text + n, sizeof(text) - n,
			      "0x%016llx 0x%016llx %s\n",
			      (unsigned long long)regs[i].start,
			      (unsigned long long)(regs[i].start +
						   regs[i].length - 1),
			      resv_type_name(regs[i].type));
	put(r, text, "sys/kernel/iommu_groups/%d/reserved_regions", group);
}

static const char *domain_type_name(const struct machine *m, int group)
{
	for (unsigned int k = 0; k < m->nr_devices; k++) {
		struct iommu_domain *dom;

		if (m->devices[k].group != group || !m->devices[k].vdev->dev)
			continue;
		dom = iommu_get_domain_for_dev(m->devices[k].vdev->dev);
		if (!dom)
			break;
		switch (dom->type) {
		case IOMMU_DOMAIN_BLOCKED:
			return "blocked\n";
		case IOMMU_DOMAIN_IDENTITY:
			return "identity\n";
		case IOMMU_DOMAIN_UNMANAGED:
			return "unmanaged\n";
		case IOMMU_DOMAIN_DMA_FQ:
			return "DMA-FQ\n";
		default:
			return "DMA\n";
		}
	}
	/* a host gives every group a DMA default domain */
	return "DMA\n";
}

static void render_groups(struct render *r, const struct machine *m)
{
	for (unsigned int k = 0; k < m->nr_devices; k++) {
		const struct machine_device *d = &m->devices[k];
		char dir[PATH_MAX], link[PATH_MAX + 16];
		bool first = true;

		for (unsigned int j = 0; j < k; j++)
			if (m->devices[j].group == d->group)
				first = false;
		if (first) {
			put_dir(r, "sys/kernel/iommu_groups/%d/devices",
				d->group);
			put(r, domain_type_name(m, d->group),
			    "sys/kernel/iommu_groups/%d/type", d->group);
			render_resv(r, m, d->group);
		}
		device_dir(d, dir, sizeof(dir));
		snprintf(link, sizeof(link), "../../../../%s", dir);
		put_link(r, link, "sys/kernel/iommu_groups/%d/devices/%s",
			 d->group, device_name(d));
	}
}

static void render_smmus(struct render *r, const struct machine *m)
{
	for (unsigned int i = 0; i < m->nr_iommus; i++) {
		char plat[64], iommu[64];

		smmu_names(i, plat, sizeof(plat), iommu, sizeof(iommu));
		put_dir(r, "sys/devices/platform/%s/iommu/%s/devices", plat,
			iommu);
		put(r, "DRIVER=arm-smmu-v3\n", "sys/devices/platform/%s/uevent",
		    plat);
	}
	for (unsigned int k = 0; k < m->nr_devices; k++) {
		const struct machine_device *d = &m->devices[k];
		char plat[64], iommu[64], dir[PATH_MAX], link[PATH_MAX + 32];

		smmu_names(d->iommu, plat, sizeof(plat), iommu, sizeof(iommu));
		device_dir(d, dir, sizeof(dir));
		/* from /sys/devices/platform/P/iommu/I/devices */
		snprintf(link, sizeof(link), "../../../../../../%s", dir);
		put_link(r, link, "sys/devices/platform/%s/iommu/%s/devices/%s",
			 plat, iommu, device_name(d));
	}
}

static void render_modules(struct render *r)
{
#define VFIO_PCI "sys/bus/pci/drivers/vfio-pci/"
	put_dir(r, VFIO_PCI);
	put(r, "", VFIO_PCI "bind");
	put(r, "", VFIO_PCI "unbind");
	put(r, "", VFIO_PCI "new_id");
	put(r, "", VFIO_PCI "remove_id");
	put(r, "", VFIO_PCI "uevent");
	put_link(r, "../../../../module/vfio_pci", VFIO_PCI "module");
#undef VFIO_PCI
	put(r, "live\n", "sys/module/vfio/initstate");
	put(r, "N\n", "sys/module/vfio/parameters/enable_unsafe_noiommu_mode");
	put(r, "live\n", "sys/module/vfio_pci/initstate");
	put_link(r, "../../../bus/pci/drivers/vfio-pci",
		 "sys/module/vfio_pci/drivers/pci:vfio-pci");
#define PARM "sys/module/vfio_pci/parameters/"
	put(r, "N\n", PARM "nointxmask");
	put(r, "N\n", PARM "disable_vga");
	put(r, "N\n", PARM "disable_idle_d3");
	put(r, "N\n", PARM "enable_sriov");
	put(r, "N\n", PARM "disable_denylist");
#undef PARM
#define PARM "sys/module/vfio_iommu_type1/parameters/"
	put(r, "live\n", "sys/module/vfio_iommu_type1/initstate");
	/* type1 takes every group: the SMMU isolates MSIs */
	put(r, "N\n", PARM "allow_unsafe_interrupts");
	put(r, "N\n", PARM "disable_hugepages");
	putf(r, "%u\n", vfio_iommu_type1_dma_entry_limit(),
	     PARM "dma_entry_limit");
#undef PARM
}

static void render_dev(struct render *r, const struct machine *m)
{
	put(r, "", "dev/vfio/vfio");
	put(r, "", "dev/iommu");
	for (unsigned int k = 0; k < m->nr_devices; k++)
		put(r, "", "dev/vfio/%d", m->devices[k].group);
}

int sysfs_render(const struct machine *m, const char *top)
{
	struct render r = {.top = top};

	put_dir(&r, "sys/bus/pci/devices");
	put_dir(&r, "sys/devices/pci0000:00");
	put_dir(&r, "sys/kernel/iommu_groups");
	for (unsigned int k = 0; k < m->nr_devices; k++) {
		if (m->devices[k].pci)
			render_pci(&r, m, k);
		else
			render_platform(&r, &m->devices[k]);
		render_cdev(&r, &m->devices[k]);
	}
	render_groups(&r, m);
	render_smmus(&r, m);
	render_modules(&r);
	render_dev(&r, m);
	return r.err;
}

static int remove_one(const char *path, const struct stat *st, int flag,
		      struct FTW *ftw)
{
	return remove(path) ? -1 : 0;
}

int sysfs_remove(const char *top)
{
	return nftw(top, remove_one, 16, FTW_DEPTH | FTW_PHYS) ? -errno : 0;
}

/* ---- lookups -------------------------------------------------------------- */

/* Does path (absolute, normalized) equal prefix or lie below it? */
static bool under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	return !strncmp(path, prefix, n) && (path[n] == '\0' || path[n] == '/');
}

/* The prefixes every machine's view has. */
static bool in_fixed_view(const char *path)
{
	static const char *const fixed[] = {
		"/sys/bus/pci",
		"/sys/devices/pci0000:00",
		"/sys/kernel/iommu_groups",
		"/sys/module/vfio",
		"/sys/module/vfio_pci",
		"/sys/module/vfio_iommu_type1",
		"/sys/class/vfio-dev",
		"/dev/vfio",
		"/dev/iommu",
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(fixed); i++)
		if (under(path, fixed[i]))
			return true;
	return false;
}

/* /sys/dev/char/<vfio-dev major>:<minor>, the prefix of the cdevs' links
 * by device number (the host's other entries stay the host's) */
static bool in_dev_char(const char *path)
{
	char prefix[32];
	int n = snprintf(prefix, sizeof(prefix),
			 "/sys/dev/char/%d:", SYSFS_VFIO_DEVICE_MAJOR);

	return !strncmp(path, prefix, (size_t)n);
}

bool sysfs_maybe_in_view(const char *path)
{
	return in_fixed_view(path) || in_dev_char(path) ||
	       !strncmp(path, "/sys/devices/platform/", 22);
}

bool sysfs_in_view(const struct machine *m, const char *path)
{
	char prefix[64 + TOPOLOGY_NAME_LEN];

	if (in_fixed_view(path))
		return true;
	if (in_dev_char(path)) {
		for (unsigned int k = 0; k < m->nr_devices; k++) {
			int index = vfio_device_index(m->devices[k].vdev);

			snprintf(prefix, sizeof(prefix), "/sys/dev/char/%d:%d",
				 SYSFS_VFIO_DEVICE_MAJOR, index);
			if (index >= 0 && under(path, prefix))
				return true;
		}
		return false;
	}
	if (strncmp(path, "/sys/devices/platform/", 22))
		return false;
	for (unsigned int i = 0; i < m->nr_iommus; i++) {
		snprintf(prefix, sizeof(prefix),
			 "/sys/devices/platform/arm-smmu-v3.%u.auto", i);
		if (under(path, prefix))
			return true;
	}
	for (unsigned int k = 0; k < m->nr_devices; k++) {
		if (m->devices[k].pci)
			continue;
		snprintf(prefix, sizeof(prefix), "/sys/devices/platform/%s",
			 m->devices[k].name);
		if (under(path, prefix))
			return true;
	}
	return false;
}

int sysfs_dev_node(const struct machine *m, const char *path, mode_t *mode,
		   dev_t *rdev)
{
	char *end;
	long g;

	if (!strcmp(path, "/dev/vfio/vfio")) {
		*mode = S_IFCHR | 0666;
		*rdev = makedev(SYSFS_VFIO_MISC_MAJOR, SYSFS_VFIO_MISC_MINOR);
		return 0;
	}
	if (!strcmp(path, "/dev/iommu")) {
		*mode = S_IFCHR | 0660;
		*rdev = makedev(SYSFS_VFIO_MISC_MAJOR, SYSFS_IOMMUFD_MINOR);
		return 0;
	}
	if (!strncmp(path, "/dev/vfio/devices/", 18)) {
		int index = vfio_cdev_parse_name(path + 18);

		for (unsigned int k = 0; index >= 0 && k < m->nr_devices; k++) {
			if (vfio_device_index(m->devices[k].vdev) == index) {
				*mode = S_IFCHR | 0600;
				*rdev = makedev(SYSFS_VFIO_DEVICE_MAJOR,
						(unsigned int)index);
				return 0;
			}
		}
		return -ENOENT;
	}
	if (strncmp(path, "/dev/vfio/", 10) || !path[10])
		return -ENOENT;
	g = strtol(path + 10, &end, 10);
	if (*end || g < 0)
		return -ENOENT;
	for (unsigned int k = 0; k < m->nr_devices; k++) {
		if (m->devices[k].group == g) {
			*mode = S_IFCHR | 0600;
			*rdev = makedev(SYSFS_VFIO_GROUP_MAJOR,
					(unsigned int)g);
			return 0;
		}
	}
	return -ENOENT;
}

int sysfs_refresh(const struct machine *m, const char *top, const char *rel)
{
	char want[PATH_MAX];

	for (unsigned int k = 0; k < m->nr_devices; k++) {
		const struct machine_device *d = &m->devices[k];

		if (!d->pci)
			continue;
		snprintf(want, sizeof(want), "sys/devices/pci0000:00/%s/config",
			 d->vdev->name);
		if (!strcmp(rel, want))
			return render_config(top, m, k);
		snprintf(want, sizeof(want), "sys/bus/pci/devices/%s/config",
			 d->vdev->name);
		if (!strcmp(rel, want))
			return render_config(top, m, k);
		snprintf(want, sizeof(want), "sys/devices/pci0000:00/%s/enable",
			 d->vdev->name);
		if (!strcmp(rel, want))
			return render_enable(top, d);
		snprintf(want, sizeof(want), "sys/bus/pci/devices/%s/enable",
			 d->vdev->name);
		if (!strcmp(rel, want))
			return render_enable(top, d);
	}
	return 0;
}
