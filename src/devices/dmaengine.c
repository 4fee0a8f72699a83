// SPDX-License-Identifier: MIT
/*
 * The DMA-engine device: a memcpy engine behind the SMMU, driven through
 * VFIO like the engines the kernel's VFIO self-tests use.  Region 0 holds
 * its registers (include/uiommu/uapi.h, docs/dmaengine.md); a write of 1 to
 * the doorbell copies LEN bytes from SRC to DST, both IOVAs, through the
 * SMMU, a page at a time.  A copy that faults sets STATUS to ERROR with
 * the errno in ERROR and the IOVA in FAULT; nothing is written past the
 * fault, and nothing is ever written to memory the IOMMU did not map.
 * A copy names itself to the DMA sanitizer (san_origin_set: the DOORBELL
 * register with SRC and DST) for the report of a fault it meets.
 *
 * Objects and lifetimes: struct dmaengine embeds its vfio_device and its
 * place on the bus (the core's device and the SMMU endpoint, one stream
 * id); dmaengine_create() builds it with its BAR's frames, the caller
 * registers it with VFIO, and dmaengine_destroy() frees it once
 * unregistered.
 *
 * Locking: regs_lock guards the registers; a copy runs under it (the
 * doorbell write returns when the copy is done, as a synchronous engine).
 * Its place in the lock order: devices_internal.h.
 */
#include <inttypes.h>
#include <errno.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <string.h>

#include "sanitizer/sanitizer.h"
#include "iommu/bus.h"
#include "devices/devices.h"
#include <uiommu/uapi.h>
#include "vfio/vfio_device.h"

#include "devices_internal.h"
#include "lib/internal.h"
#include "lib/uaccess.h"

/* Region 1: a memory BAR of 64 KiB.  Its first page is an ID page the
 * driver traps (read-only through pread); the rest is device memory that
 * may be mmapped (sparse-mmap capability) with write-combining allowed. */
#define DMAENGINE_BAR_ORDER 4
#define DMAENGINE_BAR_SIZE  (PHYS_PAGE_SIZE << DMAENGINE_BAR_ORDER)
#define DMAENGINE_BAR_MAGIC 0x444d4145 /* "DMAE" */

struct dmaengine {
	struct vfio_device vdev;
	struct bus_device bus; /* the core's device and the endpoint */
	struct phys_mem *pm;
	phys_addr_t bar_pa; /* region 1 */
	struct mutex regs_lock;
	uint64_t src, dst, len, fault;
	uint32_t status, error, count;
	uint8_t bounce[4096];
};

/* The doorbell: copy LEN bytes from SRC to DST, then set STATUS. */
static void dmaengine_run(struct dmaengine *e)
{
	uint64_t done = 0;
	int ret = 0;

	lockdep_assert_held(&e->regs_lock);
	if (!e->len || e->len > DMAENGINE_MAX_LEN) {
		ret = -EINVAL;
		goto out;
	}
	san_origin_set("the DOORBELL register (copy %" PRIu64 ": SRC 0x%" PRIx64
		       ", DST 0x%" PRIx64 ")",
		       e->count, e->src, e->dst);
	/* page by page, so a fault is reported at the page it hit */
	while (done < e->len) {
		uint64_t s = e->src + done, d = e->dst + done;
		size_t n = (size_t)min(e->len - done, min(4096 - (s & 4095),
							  4096 - (d & 4095)));

		ret = endpoint_dma_read(e->bus.hw, s, e->bounce, n);
		if (ret) {
			e->fault = s;
			break;
		}
		ret = endpoint_dma_write(e->bus.hw, d, e->bounce, n);
		if (ret) {
			e->fault = d;
			break;
		}
		done += n;
	}
	san_origin_set(NULL, 0, 0, 0);
out:
	if (ret) {
		e->status = DMAENGINE_STATUS_ERROR;
		e->error = (uint32_t)-ret;
	} else {
		e->status = DMAENGINE_STATUS_DONE;
		e->error = 0;
		e->count++;
	}
}

#define DMAENGINE_NUM_REGIONS 2
#define DMAENGINE_NUM_IRQS    0

static const uint64_t dmaengine_region_size[DMAENGINE_NUM_REGIONS] = {
	DMAENGINE_REG_SIZE,
	DMAENGINE_BAR_SIZE,
};

/* Region 1 through pread/pwrite: the ID page reads the magic and ignores
 * writes; the rest is plain device memory.  [off, off + count) is inside
 * the region. */
static ssize_t bar_rw(struct dmaengine *e, void *buf, size_t count,
		      uint64_t off, bool write)
{
	uint8_t *bar = phys_to_virt(e->pm, e->bar_pa);
	uint32_t id[2] = {DMAENGINE_BAR_MAGIC, DMAENGINE_BAR_SIZE};
	size_t skip = 0;

	if (off < PHYS_PAGE_SIZE) {
		skip = (size_t)min((uint64_t)count, PHYS_PAGE_SIZE - off);
		if (!write) {
			memset(bar, 0, PHYS_PAGE_SIZE);
			memcpy(bar, id, sizeof(id));
		}
	}
	if (write) /* the ID page's part is ignored */
		return copy_from_user(bar + off + skip,
				      (void *)((uintptr_t)buf + skip),
				      count - skip)
			       ? -EFAULT
			       : (ssize_t)count;
	return copy_to_user(buf, bar + off, count) ? -EFAULT : (ssize_t)count;
}

/*
 * Region access as vfio-platform's read/write: an index past the regions
 * is -EINVAL, an offset at or past the region's end -EINVAL, and a count
 * that runs past it is clipped (a short count).
 */
static ssize_t dmaengine_rw(struct vfio_device *vdev, void *buf, size_t count,
			    off_t off, bool write)
{
	struct dmaengine *e = vdev->priv;
	uint64_t index = (uint64_t)off >> VFIO_REGION_SHIFT;
	uint64_t pos = (uint64_t)off & (VFIO_REGION_OFFSET(1) - 1);
	uint8_t regs[DMAENGINE_REG_SIZE] = {0};
	uint32_t doorbell = 0;

	if (index >= DMAENGINE_NUM_REGIONS)
		return -EINVAL;
	if (pos >= dmaengine_region_size[index])
		return -EINVAL;
	count = (size_t)min((uint64_t)count,
			    dmaengine_region_size[index] - pos);
	if (index == 1)
		return bar_rw(e, buf, count, pos, write);
	mutex_lock(&e->regs_lock);
	memcpy(regs + DMAENGINE_REG_SRC, &e->src, 8);
	memcpy(regs + DMAENGINE_REG_DST, &e->dst, 8);
	memcpy(regs + DMAENGINE_REG_LEN, &e->len, 8);
	memcpy(regs + DMAENGINE_REG_STATUS, &e->status, 4);
	memcpy(regs + DMAENGINE_REG_ERROR, &e->error, 4);
	memcpy(regs + DMAENGINE_REG_COUNT, &e->count, 4);
	memcpy(regs + DMAENGINE_REG_FAULT, &e->fault, 8);
	if (!write) {
		mutex_unlock(&e->regs_lock);
		return copy_to_user(buf, regs + pos, count) ? -EFAULT
							    : (ssize_t)count;
	}
	if (copy_from_user(regs + pos, buf, count)) {
		mutex_unlock(&e->regs_lock);
		return -EFAULT;
	}
	memcpy(&e->src, regs + DMAENGINE_REG_SRC, 8);
	memcpy(&e->dst, regs + DMAENGINE_REG_DST, 8);
	memcpy(&e->len, regs + DMAENGINE_REG_LEN, 8);
	memcpy(&doorbell, regs + DMAENGINE_REG_DOORBELL, 4);
	/* the read-only registers ignore writes */
	if (pos <= DMAENGINE_REG_DOORBELL &&
	    pos + count > DMAENGINE_REG_DOORBELL && doorbell == 1)
		dmaengine_run(e);
	mutex_unlock(&e->regs_lock);
	return (ssize_t)count;
}

static ssize_t dmaengine_read(struct vfio_device *vdev, void *buf, size_t count,
			      off_t off)
{
	return dmaengine_rw(vdev, buf, count, off, false);
}

static ssize_t dmaengine_write(struct vfio_device *vdev, const void *buf,
			       size_t count, off_t off)
{
	return dmaengine_rw(vdev, (void *)buf, count, off, true);
}

/* The bytes of a VFIO ioctl struct up to and including its member m. */
#define VFIO_MINSZ(type, m) (offsetof(type, m) + sizeof(((type *)0)->m))

/*
 * The first minsz bytes of the caller's struct (-EFAULT), whose argsz (the
 * first member of every VFIO ioctl struct) must cover them (-EINVAL).
 */
static int copy_info_from_user(void *info, unsigned long arg, size_t minsz)
{
	uint32_t argsz;

	if (copy_from_user(info, (void *)arg, minsz))
		return -EFAULT;
	memcpy(&argsz, info, sizeof(argsz));
	return argsz < minsz ? -EINVAL : 0;
}

static long dmaengine_get_info(unsigned long arg)
{
	size_t minsz = VFIO_MINSZ(struct vfio_device_info, num_irqs);
	struct vfio_device_info info;
	int ret = copy_info_from_user(&info, arg, minsz);

	if (ret)
		return ret;
	info.flags = VFIO_DEVICE_FLAGS_PLATFORM | VFIO_DEVICE_FLAGS_RESET;
	info.num_regions = DMAENGINE_NUM_REGIONS;
	info.num_irqs = DMAENGINE_NUM_IRQS;
	return copy_to_user((void *)arg, &info, minsz) ? -EFAULT : 0;
}

static long dmaengine_get_region_info(unsigned long arg)
{
	size_t minsz = VFIO_MINSZ(struct vfio_region_info, offset);
	struct vfio_region_info info;
	struct {
		struct vfio_region_info_cap_sparse_mmap sparse;
		struct vfio_region_sparse_mmap_area area;
	} cap = {
		.sparse.header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP,
		.sparse.header.version = 1,
		.sparse.nr_areas = 1,
		.area = {PHYS_PAGE_SIZE, DMAENGINE_BAR_SIZE - PHYS_PAGE_SIZE},
	};
	int ret = copy_info_from_user(&info, arg, minsz);

	if (ret)
		return ret;
	/* the index is the user's: check it before it is used */
	if (info.index >= DMAENGINE_NUM_REGIONS)
		return -EINVAL;
	info.cap_offset = 0;
	info.offset = VFIO_REGION_OFFSET(info.index);
	info.size = dmaengine_region_size[info.index];
	info.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	if (info.index == 1) {
		info.flags |= VFIO_REGION_INFO_FLAG_MMAP |
			      VFIO_REGION_INFO_FLAG_CAPS;
		/* the capability chain follows the struct, when the caller
		 * made room for it; else say how much */
		if (info.argsz < sizeof(info) + sizeof(cap)) {
			info.argsz = sizeof(info) + sizeof(cap);
		} else {
			if (copy_to_user((void *)(arg + sizeof(info)), &cap,
					 sizeof(cap)))
				return -EFAULT;
			info.cap_offset = sizeof(info);
		}
	}
	return copy_to_user((void *)arg, &info, minsz) ? -EFAULT : 0;
}

static long dmaengine_get_irq_info(unsigned long arg)
{
	struct vfio_irq_info info;
	int ret = copy_info_from_user(&info, arg,
				      VFIO_MINSZ(struct vfio_irq_info, count));

	/* no interrupts: every index is past num_irqs */
	return ret ? ret : -EINVAL;
}

static long dmaengine_set_irqs(unsigned long arg)
{
	struct vfio_irq_set hdr;
	size_t data_size;
	int ret;

	if (copy_from_user(&hdr, (void *)arg,
			   VFIO_MINSZ(struct vfio_irq_set, count)))
		return -EFAULT;
	ret = vfio_set_irqs_validate_and_prepare(
		&hdr, DMAENGINE_NUM_IRQS, DMAENGINE_NUM_IRQS, &data_size);
	if (ret)
		return ret;
	return -EINVAL; /* no index passes the checks above */
}

/*
 * The ioctls in vfio_platform_ioctl's order: each copies its header
 * (-EFAULT), checks argsz (-EINVAL), then validates the index before
 * using it; SET_IRQS goes through the core's checks (no interrupts: every
 * header is -EINVAL); anything else is -ENOTTY.
 */
static long dmaengine_ioctl(struct vfio_device *vdev, unsigned int cmd,
			    unsigned long arg)
{
	struct dmaengine *e = vdev->priv;

	switch (cmd) {
	case VFIO_DEVICE_GET_INFO:
		return dmaengine_get_info(arg);
	case VFIO_DEVICE_GET_REGION_INFO:
		return dmaengine_get_region_info(arg);
	case VFIO_DEVICE_GET_IRQ_INFO:
		return dmaengine_get_irq_info(arg);
	case VFIO_DEVICE_SET_IRQS:
		return dmaengine_set_irqs(arg);
	case VFIO_DEVICE_RESET:
		mutex_lock(&e->regs_lock);
		e->src = e->dst = e->len = e->fault = 0;
		e->status = DMAENGINE_STATUS_IDLE;
		e->error = e->count = 0;
		mutex_unlock(&e->regs_lock);
		return 0;
	default:
		return -ENOTTY;
	}
}

/* Only the sparse area of region 1 may be mapped: memory, safe for
 * write-combining (the driver's word: VM_VFIO_ALLOW_WC). */
static int dmaengine_mmap(struct vfio_device *vdev, off_t off, size_t len,
			  bool write, phys_addr_t *pa, uint64_t *vm_flags)
{
	struct dmaengine *e = vdev->priv;
	uint64_t index = (uint64_t)off >> VFIO_REGION_SHIFT;
	uint64_t o = (uint64_t)off & (VFIO_REGION_OFFSET(1) - 1);

	/* vfio_platform_mmap's order: the index, the region's MMAP flag,
	 * then the range (here: inside the sparse area) */
	if (index >= DMAENGINE_NUM_REGIONS || index != 1)
		return -EINVAL;
	if (o < PHYS_PAGE_SIZE || o + len > DMAENGINE_BAR_SIZE || o + len < o)
		return -EINVAL;
	*pa = e->bar_pa + o;
	*vm_flags = MM_VM_ALLOW_WC;
	return 0;
}

static void dmaengine_close_device(struct vfio_device *vdev)
{
	dmaengine_ioctl(vdev, VFIO_DEVICE_RESET, 0);
}

static const struct vfio_device_ops dmaengine_ops = {
	.name = "dmaengine",
	.ioctl = dmaengine_ioctl,
	.read = dmaengine_read,
	.write = dmaengine_write,
	.mmap = dmaengine_mmap,
	.close_device = dmaengine_close_device,
};

int dmaengine_create(struct platform *p, const char *name, uint32_t sid,
		     unsigned int group_tag, unsigned int fw_flags,
		     struct vfio_device **out)
{
	struct dmaengine *e;
	int ret;

	e = ui_zalloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	mutex_init(&e->regs_lock, DEVICES_LOCK_DMAENGINE_REGS);
	e->pm = p->pm;
	ret = phys_alloc_pages(p->pm, DMAENGINE_BAR_ORDER, PHYS_ALLOC_ZERO,
			       PHYS_OWNER_KERNEL, &e->bar_pa);
	if (ret)
		goto err_mutex;
	ret = bus_device_add(&e->bus, p->hw, p->iommu, name, sid, fw_flags,
			     group_tag);
	if (ret)
		goto err_free;
	e->vdev.ops = &dmaengine_ops;
	e->vdev.dev = &e->bus.dev;
	e->vdev.priv = e;
	snprintf(e->vdev.name, sizeof(e->vdev.name), "%s", name);
	*out = &e->vdev;
	return 0;

err_free:
	phys_free_pages(p->pm, e->bar_pa, DMAENGINE_BAR_ORDER);
err_mutex:
	mutex_destroy(&e->regs_lock);
	ui_free(e);
	return ret;
}

void dmaengine_destroy(struct vfio_device *vdev)
{
	struct dmaengine *e = vdev->priv;

	bus_device_remove(&e->bus);
	phys_free_pages(e->pm, e->bar_pa, DMAENGINE_BAR_ORDER);
	mutex_destroy(&e->regs_lock);
	ui_free(e);
}
