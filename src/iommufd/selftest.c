// SPDX-License-Identifier: MIT
/*
 * IOMMU_TEST_CMD: the test interface of /dev/iommu that Linux 6.12's
 * tools/testing/selftests/iommu drive (the kernel's CONFIG_IOMMUFD_TEST,
 * drivers/iommu/iommufd/selftest.c is the model for each op's checks and
 * errnos).  Always built in here; docs/iommufd.md, "The test interface".
 *
 * Ops so far:
 *  - ADD_RESERVED(id = ioas, start, length): [start, start + length - 1]
 *    reserved in the IOAS for good (no owner); over an area or an allowed
 *    range -EADDRINUSE (iopt's check); deviation: a range that wraps
 *    (length 0 included) -EINVAL where the kernel stores it unchecked.
 *  - MD_CHECK_REFS(uptr, length, refs): every 4 KiB page of the user
 *    range has exactly refs pins (-EIO otherwise).  A page's pins are its
 *    frame's references beyond its mappings (mem/'s refcount - mapcount);
 *    the check takes a short-term pin of its own (as the kernel's
 *    get_user_pages_fast), which it does not count, so a page nobody
 *    pinned yet is faulted in (adopted) and reads 0.  Pages of a compound
 *    (2 MiB) extent are not checked, as the kernel skips compound pages.
 *  - SET_TEMP_MEMORY_LIMIT(limit): the bytes of "temporary memory" the
 *    pinning path may use per batch (the kernel's iommufd_test_memory_limit,
 *    default 65536): io_pagetable pins at most limit / (sizeof(long) +
 *    sizeof(u32)) runs per mm_pin_pages call, the kernel's batch element,
 *    so a small limit pins in many small batches.  Deviation: the kernel's
 *    value is module-wide; ours is the context's (ictx->temp_memory_limit),
 *    so it goes with the /dev/iommu it was set on and cannot leak into
 *    another context.
 *  - MOCK_DOMAIN(id = pt_id) / MOCK_DOMAIN_FLAGS(+ dev_flags): a mock
 *    device (flags NO_DIRTY | HUGE_IOVA | PASID, else -EINVAL) behind the
 *    mock IOMMU (the driver below, on the IOMMU core), bound to
 *    the context (out_idev_id: a real iommufd device object) and attached
 *    to pt_id (an IOAS: the auto domain's HWPT, or a HWPT: that one) ->
 *    out_hwpt_id; out_stdev_id is the selftest object (IOMMU_DESTROY of it
 *    detaches, unbinds and frees the device).
 *  - MOCK_DOMAIN_REPLACE(id = stdev, pt_id): iommufd_device_replace;
 *    pt_id written back.  Not a selftest object: -ENOENT.
 *  - MD_CHECK_MAP(id = hwpt, iova, length, uptr): every 2048-byte io page
 *    of the range maps the user's byte at uptr (the physical address of
 *    its page plus the offset); 2048-aligned, no wrap, else -EINVAL; the
 *    HWPT not a mock paging domain, a hole or a mismatch: -EINVAL.
 *  - CREATE_ACCESS, ACCESS_PAGES, DESTROY_ACCESS_PAGES, ACCESS_RW,
 *    ACCESS_REPLACE_IOAS: access objects behind fds (below; the checks
 *    and errnos in docs/iommufd.md, "The test interface").
 *  - DIRTY(id = hwpt, iova, length, page_size, uptr): marks mapped io
 *    pages dirty (the mock's DMA writes; iommufd_test_dirty below).
 *  - any other op: -EOPNOTSUPP (as the kernel's default case).
 *
 * The mock IOMMU (the kernel's mock_ops): io pages of 2048 bytes
 * (MOCK_IO_PAGE_SIZE, | 1 MiB with HUGE_IOVA), aperture [1 << 24,
 * (1 << 31) - 1], cache coherent, no reserved regions.  A paging domain is
 * a table of one entry per io page of the aperture: the physical address
 * / 2048 + 1 (0: not mapped), set by map_pages, cleared by unmap_pages,
 * read by iova_to_phys and MD_CHECK_MAP.  Every mock device on the same
 * memory shares one IOMMU instance (refcounted in mock_iommus, which
 * mock_iommus.lock guards, held alone), as the kernel's single
 * mock_iommu_device: a HWPT made for one device attaches to any other.
 * What the device flags change is per device (HUGE_IOVA: the page sizes
 * of the domains allocated for the device, iommufd_selftest_domain_init;
 * NO_DIRTY: its capability, and attaching it to a domain allocated with
 * DIRTY_TRACKING is -EINVAL, the kernel's mock_domain_nop_attach).
 *
 * Objects and lifetimes: struct selftest_obj (IOMMUFD_OBJ_SELFTEST) owns
 * its mock device and the device's binding; the binding holds no
 * reference on the context (iommufd_selftest_is_mock_dev, as the
 * kernel's), so closing the /dev/iommu destroys the selftest object,
 * which unbinds.  A mock domain lives from its HWPT's allocation to its
 * free.
 *
 * Locking: none held by the ops; a domain's table is written under the
 * iopt->lock of the one IOAS it is in; the limit is an atomic the pin path
 * reads once per IOAS_MAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>

#include "iommufd/iommufd_private.h"
#include "iommufd/iommufd_test_uapi.h"
#include "lib/file.h"
#include "lib/internal.h"
#include "lib/uaccess.h"

#define PG IOMMUFD_PAGE_SIZE

/* The pins of the page at uaddr, less the one this check takes. */
static int test_page_pins(struct mm *mm, unsigned long uaddr, bool *compound,
			  uint32_t *pins)
{
	struct phys_frame_info info;
	struct mm_pin_run run;
	unsigned int nr = 0;
	long n;
	int ret;

	n = mm_pin_pages(mm, uaddr, 1, 0, &run, 1, &nr);
	if (n < 0)
		return (int)n;
	if (n != 1 || nr != 1)
		return -EFAULT;
	ret = phys_frame_info(mm_phys(mm), run.pa, &info);
	if (!ret) {
		*compound = info.order != 0;
		/* the frame's references: its mappings, our pin, the others */
		*pins = info.refcount - info.mapcount - 1;
	}
	mm_unpin_pages(mm, &run, 1, 0);
	return ret;
}

static int iommufd_test_md_check_refs(struct iommufd_ucmd *ucmd, uint64_t uptr,
				      uint64_t length, uint32_t refs)
{
	struct mm *mm = iommufd_ctx_mm(ucmd->ictx);
	uint64_t end;

	if (length % PG || uptr % PG || check_add_overflow(uptr, length, &end))
		return -EINVAL;
	for (; length; length -= PG, uptr += PG) {
		bool compound = false;
		uint32_t pins = 0;
		int ret;

		ret = test_page_pins(mm, (unsigned long)uptr, &compound, &pins);
		if (ret)
			return ret;
		if (!compound && pins != refs)
			return -EIO;
	}
	return 0;
}

/* ---- the mock IOMMU ------------------------------------------------------------ */

enum {
	MOCK_IO_PAGE_SIZE = PG / 2,
	MOCK_HUGE_PAGE_SIZE = 512 * MOCK_IO_PAGE_SIZE,
	MOCK_DEV_FLAGS = IOMMU_TEST_MOCK_DEV_NO_DIRTY |
			 IOMMU_TEST_MOCK_DEV_HUGE_IOVA |
			 IOMMU_TEST_MOCK_DEV_PASID,
};

#define MOCK_NR_IO_PAGES                                                   \
	((IOMMU_TEST_MOCK_APERTURE_LAST - IOMMU_TEST_MOCK_APERTURE_START + \
	  1) /                                                             \
	 MOCK_IO_PAGE_SIZE)

/* One IOMMU instance per memory, shared by all its mock devices (so a
 * HWPT of one attaches to the others, whatever their flags). */
struct mock_iommu {
	struct iommu_device iommu; /* priv: this */
	unsigned int refs;	   /* mock_iommus.lock: its devices */
	LIST_ENTRY(mock_iommu) next;
};

static struct {
	struct mutex lock;
	LIST_HEAD(, mock_iommu) list;
} mock_iommus = {
	.lock = MUTEX_INITIALIZER("mock_iommus.lock", IOMMUFD_LOCK_SELFTEST),
};

struct mock_dev {
	struct mock_iommu *mi;
	uint32_t flags; /* IOMMU_TEST_MOCK_DEV_*, immutable */
	struct device dev;
};

enum {
	MOCK_STATE_DIRTY = 1 << 0, /* written since last read and cleared */
	MOCK_STATE_HUGE = 1 << 1,  /* mapped as part of a 1 MiB page */
};

struct mock_domain {
	struct iommu_domain domain;
	uint32_t *pfns; /* per io page of the aperture: pa / 2048 + 1 */
	uint8_t *state; /* per io page: MOCK_STATE_* (iopt->lock) */
	bool tracking;	/* dirty tracking on (iopt->lock) */
	bool dirty;	/* allocated with DIRTY_TRACKING, before any attach */
};

static const struct iommu_ops mock_ops;

static struct mock_domain *to_mock_domain(struct iommu_domain *d)
{
	return container_of(d, struct mock_domain, domain);
}

static bool mock_capable(struct device *dev, enum iommu_cap cap)
{
	return cap == IOMMU_CAP_CACHE_COHERENCY ||
	       cap == IOMMU_CAP_ENFORCE_CACHE_COHERENCY;
}

static int mock_domain_alloc(struct iommu_device *iommu, unsigned int type,
			     struct iommu_domain *parent,
			     struct iommu_domain **out)
{
	struct mock_domain *md;

	if (type != IOMMU_DOMAIN_UNMANAGED && type != IOMMU_DOMAIN_NEST_PARENT)
		return -EOPNOTSUPP;
	md = ui_zalloc(sizeof(*md));
	if (!md)
		return -ENOMEM;
	md->pfns = ui_calloc(MOCK_NR_IO_PAGES, sizeof(*md->pfns));
	if (!md->pfns)
		goto err_free;
	md->state = ui_calloc(MOCK_NR_IO_PAGES, sizeof(*md->state));
	if (!md->state)
		goto err_free;
	md->domain.pgsize_bitmap = MOCK_IO_PAGE_SIZE;
	md->domain.geometry.aperture_start = IOMMU_TEST_MOCK_APERTURE_START;
	md->domain.geometry.aperture_end = IOMMU_TEST_MOCK_APERTURE_LAST;
	md->domain.geometry.force_aperture = true;
	*out = &md->domain;
	return 0;
err_free:
	ui_free(md->pfns);
	ui_free(md);
	return -ENOMEM;
}

static void mock_domain_free(struct iommu_domain *domain)
{
	struct mock_domain *md = to_mock_domain(domain);

	ui_free(md->state);
	ui_free(md->pfns);
	ui_free(md);
}

static struct mock_dev *to_mock_dev(struct device *dev)
{
	return container_of(dev, struct mock_dev, dev);
}

/* A domain that tracks dirty pages does not take a device that cannot. */
static int mock_attach_dev(struct iommu_domain *domain, struct device *dev)
{
	if (to_mock_domain(domain)->dirty &&
	    (to_mock_dev(dev)->flags & IOMMU_TEST_MOCK_DEV_NO_DIRTY))
		return -EINVAL;
	return 0;
}

static void mock_detach_dev(struct iommu_domain *domain, struct device *dev)
{
}

/* The table's index of iova, or -1 outside the aperture. */
static long mock_index(unsigned long iova)
{
	if (iova < IOMMU_TEST_MOCK_APERTURE_START ||
	    iova > IOMMU_TEST_MOCK_APERTURE_LAST)
		return -1;
	return (long)((iova - IOMMU_TEST_MOCK_APERTURE_START) /
		      MOCK_IO_PAGE_SIZE);
}

static int mock_map_pages(struct iommu_domain *domain, unsigned long iova,
			  phys_addr_t paddr, size_t pgsize, size_t pgcount,
			  int prot, size_t *mapped)
{
	struct mock_domain *md = to_mock_domain(domain);
	size_t len = pgsize * pgcount, off;

	for (off = 0; off < len; off += MOCK_IO_PAGE_SIZE) {
		long i = mock_index(iova + off);

		if (i < 0 || md->pfns[i]) {
			/* outside, or mapped twice: the core's bug */
			*mapped = off;
			return -EINVAL;
		}
		md->pfns[i] = (uint32_t)((paddr + off) / MOCK_IO_PAGE_SIZE + 1);
		md->state[i] = pgsize == MOCK_HUGE_PAGE_SIZE ? MOCK_STATE_HUGE
							     : 0;
	}
	*mapped = len;
	return 0;
}

static size_t mock_unmap_pages(struct iommu_domain *domain, unsigned long iova,
			       size_t pgsize, size_t pgcount,
			       struct iommu_iotlb_gather *gather)
{
	struct mock_domain *md = to_mock_domain(domain);
	size_t len = pgsize * pgcount, off;

	for (off = 0; off < len; off += MOCK_IO_PAGE_SIZE) {
		long i = mock_index(iova + off);

		if (i < 0 || !md->pfns[i])
			break; /* a hole: what was there is unmapped */
		md->pfns[i] = 0;
		md->state[i] = 0;
	}
	return off;
}

static phys_addr_t mock_iova_to_phys(struct iommu_domain *domain,
				     dma_addr_t iova)
{
	struct mock_domain *md = to_mock_domain(domain);
	long i = mock_index(iova);

	if (i < 0 || !md->pfns[i])
		return 0;
	return (phys_addr_t)(md->pfns[i] - 1) * MOCK_IO_PAGE_SIZE +
	       iova % MOCK_IO_PAGE_SIZE;
}

static bool mock_enforce_cache_coherency(struct iommu_domain *domain)
{
	return true;
}

/*
 * The mock's dirty tracking (the kernel's mock dirty_ops): a flag per
 * domain, a dirty bit per io page that IOMMU_TEST_OP_DIRTY sets (the
 * mock's "DMA writes").  A page mapped as part of a 1 MiB page reports
 * (and clears) the whole huge page, as a real IOMMU's block entry.
 */
static int mock_set_dirty_tracking(struct iommu_domain *domain, bool enable)
{
	to_mock_domain(domain)->tracking = enable;
	return 0;
}

/* Whether an io page of [head, head + size) is dirty; cleared unless
 * NO_CLEAR. */
static bool mock_test_and_clear_dirty(struct mock_domain *md,
				      unsigned long head, size_t size,
				      unsigned long flags)
{
	bool dirty = false;

	for (size_t off = 0; off < size; off += MOCK_IO_PAGE_SIZE) {
		long i = mock_index(head + off);

		if (i < 0 || !(md->state[i] & MOCK_STATE_DIRTY))
			continue;
		dirty = true;
		if (!(flags & IOMMU_DIRTY_NO_CLEAR))
			md->state[i] &= (uint8_t)~MOCK_STATE_DIRTY;
	}
	return dirty;
}

static int mock_read_and_clear_dirty(struct iommu_domain *domain,
				     unsigned long iova, size_t size,
				     unsigned long flags,
				     struct iova_bitmap *bitmap)
{
	struct mock_domain *md = to_mock_domain(domain);
	unsigned long end = iova + size;

	if (!md->tracking && bitmap)
		return -EINVAL;
	while (iova < end) {
		unsigned long pgsize = MOCK_IO_PAGE_SIZE, head;
		long i = mock_index(iova);

		if (i < 0 || !md->pfns[i]) {
			iova += pgsize;
			continue;
		}
		if (md->state[i] & MOCK_STATE_HUGE)
			pgsize = MOCK_HUGE_PAGE_SIZE;
		head = iova & ~(pgsize - 1);
		if (mock_test_and_clear_dirty(md, head, pgsize, flags) &&
		    bitmap)
			iova_bitmap_set(bitmap, head, pgsize);
		iova = head + pgsize;
	}
	return 0;
}

static const struct iommufd_dirty_ops mock_dirty_ops = {
	.set_dirty_tracking = mock_set_dirty_tracking,
	.read_and_clear_dirty = mock_read_and_clear_dirty,
};

static const struct iommu_ops mock_ops = {
	.capable = mock_capable,
	.domain_alloc = mock_domain_alloc,
	.domain_free = mock_domain_free,
	.attach_dev = mock_attach_dev,
	.detach_dev = mock_detach_dev,
	.map_pages = mock_map_pages,
	.unmap_pages = mock_unmap_pages,
	.iova_to_phys = mock_iova_to_phys,
	.enforce_cache_coherency = mock_enforce_cache_coherency,
	.pgsize_bitmap = MOCK_IO_PAGE_SIZE,
};

bool iommufd_selftest_is_mock_dev(struct device *dev)
{
	return dev && dev->iommu && dev->iommu->ops == &mock_ops;
}

const struct iommufd_dirty_ops *iommufd_selftest_dirty_ops(struct device *dev)
{
	if (!iommufd_selftest_is_mock_dev(dev))
		return NULL;
	return (to_mock_dev(dev)->flags & IOMMU_TEST_MOCK_DEV_NO_DIRTY)
		       ? NULL
		       : &mock_dirty_ops;
}

/*
 * A paging domain just allocated for the mock device dev, before it is
 * in any IOAS (the kernel's mock_domain_alloc_paging and
 * mock_domain_alloc_user read the device's flags): 1 MiB io pages too
 * for a HUGE_IOVA device; dirty: allocated with DIRTY_TRACKING.
 */
void iommufd_selftest_domain_init(struct device *dev,
				  struct iommu_domain *domain, bool dirty)
{
	struct mock_domain *md = to_mock_domain(domain);

	if (!iommufd_selftest_is_mock_dev(dev))
		return;
	if (to_mock_dev(dev)->flags & IOMMU_TEST_MOCK_DEV_HUGE_IOVA)
		md->domain.pgsize_bitmap |= MOCK_HUGE_PAGE_SIZE;
	md->dirty = dirty;
}

/*
 * GET_HW_INFO of a mock device (the kernel's mock_domain_hw_info): type
 * IOMMU_HW_INFO_TYPE_SELFTEST, struct iommu_test_hw_info {0, 0xdeadbeef}
 * copied up to the user's length and the rest of the user's buffer
 * zeroed, data_len the struct's size; a requested type other than
 * DEFAULT or SELFTEST -EOPNOTSUPP; max_pasid_log2 20 for a PASID device.
 * Capability DIRTY_TRACKING unless the device is NO_DIRTY.
 */
int iommufd_selftest_hw_info(struct iommufd_ucmd *ucmd, struct device *dev,
			     bool input_type)
{
	static const uint8_t zero[256];
	struct iommu_hw_info *cmd = ucmd->cmd;
	struct mock_dev *mdev = container_of(dev, struct mock_dev, dev);
	struct iommu_test_hw_info info = {
		.test_reg = IOMMU_HW_INFO_SELFTEST_REGVAL};
	uint8_t *uptr = (uint8_t *)(uintptr_t)cmd->data_uptr;
	uint32_t copy = min(cmd->data_len, (uint32_t)sizeof(info)), left;

	/* in_data_type shares out_data_type's field */
	if (input_type && cmd->out_data_type != IOMMU_HW_INFO_TYPE_NONE &&
	    cmd->out_data_type != IOMMU_HW_INFO_TYPE_SELFTEST)
		return -EOPNOTSUPP;
	if (copy_to_user(uptr, &info, copy))
		return -EFAULT;
	for (uptr += copy, left = cmd->data_len - copy; left;) {
		uint32_t n = min(left, (uint32_t)sizeof(zero));

		if (copy_to_user(uptr, zero, n))
			return -EFAULT;
		uptr += n;
		left -= n;
	}
	cmd->data_len = sizeof(info);
	cmd->out_data_type = IOMMU_HW_INFO_TYPE_SELFTEST;
	cmd->out_capabilities = (mdev->flags & IOMMU_TEST_MOCK_DEV_NO_DIRTY)
					? 0
					: IOMMU_HW_CAP_DIRTY_TRACKING;
	cmd->out_max_pasid_log2 = (mdev->flags & IOMMU_TEST_MOCK_DEV_PASID)
					  ? IOMMU_TEST_MOCK_PASID_WIDTH
					  : 0;
	return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
}

static _Atomic unsigned int mock_dev_ids;

static int mock_iommu_get(struct phys_mem *pm, struct mock_iommu **out)
{
	struct mock_iommu *mi;
	int ret = 0;

	mutex_lock(&mock_iommus.lock);
	LIST_FOREACH(mi, &mock_iommus.list, next)
		if (mi->iommu.pm == pm)
			break;
	if (!mi) {
		mi = ui_zalloc(sizeof(*mi));
		if (!mi) {
			ret = -ENOMEM;
			goto out;
		}
		mi->iommu.ops = &mock_ops;
		mi->iommu.pm = pm;
		mi->iommu.priv = mi;
		snprintf(mi->iommu.name, sizeof(mi->iommu.name),
			 "iommufd_mock");
		ret = iommu_device_register(&mi->iommu);
		if (ret) {
			ui_free(mi);
			goto out;
		}
		LIST_INSERT_HEAD(&mock_iommus.list, mi, next);
	}
	mi->refs++;
	*out = mi;
out:
	mutex_unlock(&mock_iommus.lock);
	return ret;
}

static void mock_iommu_put(struct mock_iommu *mi)
{
	mutex_lock(&mock_iommus.lock);
	if (--mi->refs == 0) {
		LIST_REMOVE(mi, next);
		iommu_device_unregister(&mi->iommu);
		ui_free(mi);
	}
	mutex_unlock(&mock_iommus.lock);
}

static int mock_dev_create(struct mm *mm, uint32_t flags, struct mock_dev **out)
{
	struct mock_dev *mdev;
	int ret;

	if (flags & ~(uint32_t)MOCK_DEV_FLAGS)
		return -EINVAL;
	mdev = ui_zalloc(sizeof(*mdev));
	if (!mdev)
		return -ENOMEM;
	snprintf(mdev->dev.name, sizeof(mdev->dev.name), "mock_dev%u",
		 atomic_fetch_add(&mock_dev_ids, 1));
	mdev->flags = flags;
	ret = mock_iommu_get(mm_phys(mm), &mdev->mi);
	if (ret)
		goto err_free;
	ret = iommu_probe_device(&mdev->dev, &mdev->mi->iommu, 0);
	if (ret)
		goto err_put;
	*out = mdev;
	return 0;
err_put:
	mock_iommu_put(mdev->mi);
err_free:
	ui_free(mdev);
	return ret;
}

static void mock_dev_destroy(struct mock_dev *mdev)
{
	iommu_release_device(&mdev->dev);
	mock_iommu_put(mdev->mi);
	ui_free(mdev);
}

static int iommufd_test_add_reserved(struct iommufd_ucmd *ucmd, uint32_t id,
				     uint64_t start, uint64_t length)
{
	struct iommufd_ioas *ioas = iommufd_get_ioas(ucmd->ictx, id);
	int ret;

	if (!ioas)
		return -ENOENT;
	ret = iopt_add_reserved(&ioas->iopt, start, start + length - 1);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return ret;
}

/* ---- the selftest object ---------------------------------------------------------- */

struct selftest_obj {
	struct iommufd_object obj; /* first: freed as the object */
	struct iommufd_ctx *ictx;
	struct mock_dev *mdev;
	struct iommufd_device *idev;
};

void iommufd_selftest_destroy(struct iommufd_object *obj)
{
	struct selftest_obj *sobj = container_of(obj, struct selftest_obj, obj);

	if (sobj->idev)
		iommufd_device_unbind(sobj->idev);
	if (sobj->mdev)
		mock_dev_destroy(sobj->mdev);
}

static int iommufd_test_mock_domain(struct iommufd_ucmd *ucmd,
				    struct iommu_test_cmd *cmd)
{
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct selftest_obj *sobj;
	uint32_t pt_id = cmd->id, idev_id, flags = 0;
	int ret;

	sobj = ui_zalloc(sizeof(*sobj));
	if (!sobj)
		return -ENOMEM;
	ret = iommufd_object_alloc(ictx, &sobj->obj, IOMMUFD_OBJ_SELFTEST);
	if (ret) {
		ui_free(sobj);
		return ret;
	}
	sobj->ictx = ictx;
	if (cmd->op == IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS)
		flags = cmd->mock_domain.dev_flags;
	ret = mock_dev_create(iommufd_ctx_mm(ictx), flags, &sobj->mdev);
	if (ret)
		goto err;
	ret = iommufd_device_bind(ictx, &sobj->mdev->dev, &idev_id,
				  &sobj->idev);
	if (ret)
		goto err;
	ret = iommufd_device_attach(sobj->idev, &pt_id);
	if (ret)
		goto err;
	cmd->mock_domain.out_hwpt_id = pt_id;
	cmd->mock_domain.out_stdev_id = sobj->obj.id;
	cmd->mock_domain.out_idev_id = idev_id;
	ret = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret)
		goto err; /* unbind detaches */
	iommufd_object_finalize(ictx, &sobj->obj);
	return 0;
err:
	iommufd_object_abort_and_destroy(ictx, &sobj->obj);
	return ret;
}

static int iommufd_test_mock_domain_replace(struct iommufd_ucmd *ucmd,
					    struct iommu_test_cmd *cmd)
{
	struct iommufd_object *obj;
	struct selftest_obj *sobj;
	uint32_t pt_id = cmd->mock_domain_replace.pt_id;
	int ret;

	obj = iommufd_get_object(ucmd->ictx, cmd->id, IOMMUFD_OBJ_SELFTEST);
	if (!obj)
		return -ENOENT;
	sobj = container_of(obj, struct selftest_obj, obj);
	ret = iommufd_device_replace(sobj->idev, &pt_id);
	if (ret)
		goto out;
	cmd->mock_domain_replace.pt_id = pt_id;
	ret = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out:
	iommufd_put_object(ucmd->ictx, obj);
	return ret;
}

/* The physical address of the user's page at uaddr (a moment's pin). */
static int test_user_page_pa(struct mm *mm, unsigned long uaddr,
			     phys_addr_t *pa)
{
	struct mm_pin_run run;
	unsigned int nr = 0;
	long n;

	n = mm_pin_pages(mm, uaddr, 1, 0, &run, 1, &nr);
	if (n < 0)
		return (int)n;
	if (n != 1 || nr != 1)
		return -EFAULT;
	*pa = run.pa;
	mm_unpin_pages(mm, &run, 1, 0);
	return 0;
}

/* The mock domain of paging HWPT id, with a reference on *hwpt (put its
 * obj): -ENOENT no such HWPT, -EINVAL a domain that is not the mock's. */
static int get_md_pagetable(struct iommufd_ucmd *ucmd, uint32_t id,
			    struct iommufd_hwpt_paging **hwpt,
			    struct mock_domain **md)
{
	*hwpt = iommufd_get_hwpt_paging(ucmd->ictx, id);
	if (!*hwpt)
		return -ENOENT;
	if ((*hwpt)->domain->ops != &mock_ops) {
		iommufd_put_object(ucmd->ictx, &(*hwpt)->obj);
		return -EINVAL;
	}
	*md = to_mock_domain((*hwpt)->domain);
	return 0;
}

static int iommufd_test_md_check_map(struct iommufd_ucmd *ucmd, uint32_t id,
				     uint64_t iova, uint64_t length,
				     uint64_t uptr)
{
	struct iommufd_hwpt_paging *hwpt;
	struct mock_domain *md;
	uint64_t end;
	int ret = 0;

	if (iova % MOCK_IO_PAGE_SIZE || length % MOCK_IO_PAGE_SIZE ||
	    uptr % MOCK_IO_PAGE_SIZE || check_add_overflow(uptr, length, &end))
		return -EINVAL;
	ret = get_md_pagetable(ucmd, id, &hwpt, &md);
	if (ret)
		return ret;
	for (; length; length -= MOCK_IO_PAGE_SIZE) {
		long i = mock_index(iova);
		phys_addr_t pa = 0;

		ret = test_user_page_pa(iommufd_ctx_mm(ucmd->ictx),
					uptr & ~(PG - 1), &pa);
		if (ret)
			goto out;
		if (i < 0 || !md->pfns[i] ||
		    (phys_addr_t)(md->pfns[i] - 1) * MOCK_IO_PAGE_SIZE !=
			    pa + uptr % PG) {
			ret = -EINVAL;
			goto out;
		}
		iova += MOCK_IO_PAGE_SIZE;
		uptr += MOCK_IO_PAGE_SIZE;
	}
out:
	iommufd_put_object(ucmd->ictx, &hwpt->obj);
	return ret;
}

/* ---- access objects ---------------------------------------------------------- */

/* An access fd (CREATE_ACCESS): the iommufd_access it drives and the
 * items (ranges pinned by ACCESS_PAGES) it holds.  refs: the file's and
 * one per op in flight; lock guards access and items. */
struct selftest_access {
	struct mutex lock;
	struct iommufd_access *access; /* lock; NULL once the fd closed */
	LIST_HEAD(, selftest_access_item) items;
	unsigned int next_id;
	_Atomic unsigned int refs;
};

struct selftest_access_item {
	LIST_ENTRY(selftest_access_item) next;
	unsigned long iova, length;
	unsigned int id;
};

static void staccess_get(void *priv)
{
	struct selftest_access *staccess = priv;

	atomic_fetch_add(&staccess->refs, 1);
}

static void staccess_put(struct selftest_access *staccess)
{
	if (atomic_fetch_sub(&staccess->refs, 1) != 1)
		return;
	mutex_destroy(&staccess->lock);
	ui_free(staccess);
}

/* The access's unmap callback: drop every item the range touches. */
static void staccess_unmap(void *data, unsigned long iova, unsigned long length)
{
	struct selftest_access *staccess = data;
	struct selftest_access_item *item, *tmp;
	unsigned long last = iova + length - 1;

	mutex_lock(&staccess->lock);
	LIST_FOREACH_SAFE(item, &staccess->items, next, tmp) {
		if (iova > item->iova + item->length - 1 || last < item->iova)
			continue;
		LIST_REMOVE(item, next);
		iommufd_access_unpin_pages(staccess->access, item->iova,
					   item->length);
		ui_free(item);
	}
	mutex_unlock(&staccess->lock);
}

static const struct iommufd_access_ops selftest_access_ops_pin = {
	.needs_pin_pages = true,
	.unmap = staccess_unmap,
};

static const struct iommufd_access_ops selftest_access_ops = {
	.unmap = staccess_unmap,
};

static long staccess_ioctl(void *priv, unsigned int cmd, unsigned long arg)
{
	return -ENOTTY;
}

/* The fd's last close: its items unpinned, its access destroyed. */
static void staccess_release(void *priv)
{
	struct selftest_access *staccess = priv;
	struct iommufd_access *access;

	staccess_unmap(staccess, 0, ULONG_MAX);
	mutex_lock(&staccess->lock);
	access = staccess->access;
	staccess->access = NULL;
	mutex_unlock(&staccess->lock);
	if (access)
		iommufd_access_destroy(access);
	staccess_put(staccess);
}

static const struct ui_file_ops staccess_fops = {
	.name = "iommufd-selftest-access",
	.ioctl = staccess_ioctl,
	.release = staccess_release,
};

static int staccess_get_fd(uint32_t fd, struct selftest_access **out)
{
	void *priv;
	int ret;

	if (fd > INT_MAX)
		return -EBADFD;
	ret = iommufd_file_get((int)fd, &staccess_fops, staccess_get, &priv);
	if (ret)
		return ret;
	*out = priv;
	return 0;
}

static int iommufd_test_create_access(struct iommufd_ucmd *ucmd,
				      uint32_t ioas_id, uint32_t flags)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;
	struct selftest_access *staccess;
	struct iommufd_access *access;
	uint32_t id;
	int fd, ret;

	if (flags & ~IOMMU_TEST_ACCESS_CREATE_NEEDS_PIN_PAGES)
		return -EOPNOTSUPP;
	staccess = ui_zalloc(sizeof(*staccess));
	if (!staccess)
		return -ENOMEM;
	mutex_init(&staccess->lock, IOMMUFD_LOCK_ACCESS);
	LIST_INIT(&staccess->items);
	staccess->refs = 1;
	ret = iommufd_access_create(ucmd->ictx,
				    (flags &
				     IOMMU_TEST_ACCESS_CREATE_NEEDS_PIN_PAGES)
					    ? &selftest_access_ops_pin
					    : &selftest_access_ops,
				    staccess, &id, &access);
	if (ret)
		goto err_free;
	ret = iommufd_access_attach(access, ioas_id);
	if (ret)
		goto err_destroy;
	/* the answer's memory writable before the fd exists (the kernel
	 * responds before fd_install) */
	ret = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret)
		goto err_destroy;
	staccess->access = access;
	fd = iommufd_file_install(&staccess_fops, staccess, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		staccess->access = NULL;
		goto err_destroy;
	}
	cmd->create_access.out_access_fd = (uint32_t)fd;
	/* the file is the user's now: closing it undoes all of this */
	return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
err_destroy:
	iommufd_access_destroy(access);
err_free:
	staccess_put(staccess);
	return ret;
}

/*
 * The pages of the user's range equal pa[] (-EBADE otherwise): one
 * short-term pin of the whole range (a run per page at most), so the
 * check costs two injection points however long it is (the fail-nth
 * sweeps allow 399 per case).
 */
static int test_check_pages(struct mm *mm, unsigned long uptr,
			    const phys_addr_t *pa, unsigned long npages)
{
	struct mm_pin_run *runs;
	unsigned int nr = 0;
	unsigned long k = 0;
	long n;
	int ret = 0;

	if (!npages)
		return 0;
	if (npages > UINT_MAX)
		return -EINVAL;
	runs = ui_calloc(npages, sizeof(*runs));
	if (!runs)
		return -ENOMEM;
	n = mm_pin_pages(mm, uptr, npages, 0, runs, (unsigned int)npages, &nr);
	if (n < 0) {
		ret = (int)n;
		goto out;
	}
	if ((unsigned long)n != npages) {
		ret = -EFAULT;
		goto unpin;
	}
	for (unsigned int i = 0; i < nr && !ret; i++)
		for (uint64_t j = 0; j < runs[i].npages; j++, k++)
			if (runs[i].pa + j * PG != pa[k]) {
				ret = -EBADE;
				break;
			}
unpin:
	mm_unpin_pages(mm, runs, nr, 0);
out:
	ui_free(runs);
	return ret;
}

static int iommufd_test_access_pages(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	struct selftest_access_item *item;
	struct selftest_access *staccess;
	unsigned long iova = cmd->access_pages.iova;
	unsigned long length = cmd->access_pages.length;
	unsigned long uptr = cmd->access_pages.uptr, npages;
	uint32_t flags = cmd->access_pages.flags;
	phys_addr_t *pa = NULL;
	int ret;

	if (length > IOMMU_TEST_ACCESS_MAX)
		return -ENOMEM;
	if (flags & ~(IOMMU_TEST_ACCESS_WRITE | IOMMU_TEST_ACCESS_SYZ))
		return -EOPNOTSUPP;
	if (flags & IOMMU_TEST_ACCESS_SYZ)
		return -EOPNOTSUPP; /* syzkaller's IOVA conversion: not here */
	ret = staccess_get_fd(cmd->id, &staccess);
	if (ret)
		return ret;
	mutex_lock(&staccess->lock);
	if (!staccess->access) {
		ret = -EBADFD;
		goto out_unlock;
	}
	if (staccess->access->ops != &selftest_access_ops_pin) {
		ret = -EOPNOTSUPP;
		goto out_unlock;
	}
	npages = (ALIGN_UP(iova + length, PG) - ALIGN_DOWN(iova, PG)) / PG;
	pa = ui_calloc(npages ? npages : 1, sizeof(*pa));
	if (!pa) {
		ret = -ENOMEM;
		goto out_unlock;
	}
	ret = iommufd_access_pin_pages(staccess->access, iova, length, pa,
				       (flags & IOMMU_TEST_ACCESS_WRITE)
					       ? IOMMUFD_ACCESS_RW_WRITE
					       : 0);
	if (ret)
		goto out_unlock;
	if (uptr) {
		ret = test_check_pages(iommufd_ctx_mm(ucmd->ictx),
				       ALIGN_DOWN(uptr - (iova % PG), PG), pa,
				       npages);
		if (ret)
			goto out_unaccess;
	}
	item = ui_zalloc(sizeof(*item));
	if (!item) {
		ret = -ENOMEM;
		goto out_unaccess;
	}
	item->iova = iova;
	item->length = length;
	item->id = staccess->next_id++;
	LIST_INSERT_HEAD(&staccess->items, item, next);
	cmd->access_pages.out_access_pages_id = item->id;
	ret = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret) {
		LIST_REMOVE(item, next);
		ui_free(item);
		goto out_unaccess;
	}
	goto out_unlock;
out_unaccess:
	iommufd_access_unpin_pages(staccess->access, iova, length);
out_unlock:
	mutex_unlock(&staccess->lock);
	ui_free(pa);
	staccess_put(staccess);
	return ret;
}

static int iommufd_test_access_item_destroy(struct iommufd_ucmd *ucmd,
					    uint32_t fd, uint32_t item_id)
{
	struct selftest_access_item *item;
	struct selftest_access *staccess;
	int ret;

	ret = staccess_get_fd(fd, &staccess);
	if (ret)
		return ret;
	ret = -ENOENT;
	mutex_lock(&staccess->lock);
	LIST_FOREACH(item, &staccess->items, next) {
		if (item->id != item_id)
			continue;
		LIST_REMOVE(item, next);
		iommufd_access_unpin_pages(staccess->access, item->iova,
					   item->length);
		ui_free(item);
		ret = 0;
		break;
	}
	mutex_unlock(&staccess->lock);
	staccess_put(staccess);
	return ret;
}

static int iommufd_test_access_replace_ioas(struct iommufd_ucmd *ucmd,
					    uint32_t fd, uint32_t ioas_id)
{
	struct selftest_access *staccess;
	int ret;

	ret = staccess_get_fd(fd, &staccess);
	if (ret)
		return ret;
	/* the access's unmap callback takes staccess->lock: not held here */
	ret = staccess->access
		      ? iommufd_access_replace(staccess->access, ioas_id)
		      : -EBADFD;
	staccess_put(staccess);
	return ret;
}

static int iommufd_test_access_rw(struct iommufd_ucmd *ucmd,
				  struct iommu_test_cmd *cmd)
{
	unsigned long length = cmd->access_rw.length;
	void *ubuf = (void *)(uintptr_t)cmd->access_rw.uptr;
	uint32_t flags = cmd->access_rw.flags;
	struct selftest_access *staccess;
	void *tmp;
	int ret;

	if (length > IOMMU_TEST_ACCESS_MAX)
		return -ENOMEM;
	if (flags & ~(IOMMU_TEST_ACCESS_RW_WRITE |
		      IOMMU_TEST_ACCESS_RW_SLOW_PATH | IOMMU_TEST_ACCESS_SYZ))
		return -EOPNOTSUPP;
	if (flags & IOMMU_TEST_ACCESS_SYZ)
		return -EOPNOTSUPP; /* syzkaller's IOVA conversion: not here */
	ret = staccess_get_fd(cmd->id, &staccess);
	if (ret)
		return ret;
	tmp = ui_zalloc(length ? length : 1);
	if (!tmp) {
		ret = -ENOMEM;
		goto out_put;
	}
	if ((flags & IOMMU_TEST_ACCESS_RW_WRITE) &&
	    copy_from_user(tmp, ubuf, length)) {
		ret = -EFAULT;
		goto out_free;
	}
	mutex_lock(&staccess->lock);
	if (staccess->access)
		ret = iommufd_access_rw(staccess->access, cmd->access_rw.iova,
					tmp, length,
					(flags & IOMMU_TEST_ACCESS_RW_WRITE)
						? IOMMUFD_ACCESS_RW_WRITE
						: 0);
	else
		ret = -EBADFD;
	mutex_unlock(&staccess->lock);
	if (!ret && !(flags & IOMMU_TEST_ACCESS_RW_WRITE) &&
	    copy_to_user(ubuf, tmp, length))
		ret = -EFAULT;
out_free:
	ui_free(tmp);
out_put:
	staccess_put(staccess);
	return ret;
}

/*
 * IOMMU_TEST_OP_DIRTY: the mock's DMA writes.  For each set bit n of the
 * user's bitmap (length / page_size bits), the io page at iova + n *
 * page_size is marked dirty if mapped; out_nr_dirty counts those marked.
 * The kernel's checks and order: page_size, length, alignment, uptr
 * (-EINVAL), over 16M * 8 bits (-EOVERFLOW), the HWPT (-ENOENT; not a
 * mock domain -EINVAL), tracking off (-EINVAL), the bitmap (-EFAULT).
 */
static int iommufd_test_dirty(struct iommufd_ucmd *ucmd,
			      struct iommu_test_cmd *cmd)
{
	uint64_t iova = cmd->dirty.iova, length = cmd->dirty.length;
	uint64_t page_size = cmd->dirty.page_size, max, count = 0;
	struct iommufd_hwpt_paging *hwpt;
	struct mock_domain *md;
	uint8_t *tmp = NULL;
	int ret;

	if (!page_size || !length || iova % page_size || length % page_size ||
	    !cmd->dirty.uptr)
		return -EINVAL;
	max = length / page_size;
	if (max > (16ull << 20) * 8)
		return -EOVERFLOW;
	ret = get_md_pagetable(ucmd, cmd->id, &hwpt, &md);
	if (ret)
		return ret;
	mutex_lock(&hwpt->ioas->iopt.lock);
	if (!md->tracking) {
		ret = -EINVAL;
		goto out_unlock;
	}
	tmp = ui_zalloc((size_t)DIV_ROUND_UP(max, 8));
	if (!tmp) {
		ret = -ENOMEM;
		goto out_unlock;
	}
	if (copy_from_user(tmp, (void *)(uintptr_t)cmd->dirty.uptr,
			   (size_t)DIV_ROUND_UP(max, 8))) {
		ret = -EFAULT;
		goto out_unlock;
	}
	for (uint64_t n = 0; n < max; n++) {
		long i;

		if (!(tmp[n / 8] & (1u << (n % 8))))
			continue;
		i = mock_index((unsigned long)(iova + n * page_size));
		if (i < 0 || !md->pfns[i])
			continue;
		md->state[i] |= MOCK_STATE_DIRTY;
		count++;
	}
	ret = 0;
out_unlock:
	mutex_unlock(&hwpt->ioas->iopt.lock);
	ui_free(tmp);
	if (!ret) {
		cmd->dirty.out_nr_dirty = count;
		ret = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	iommufd_put_object(ucmd->ictx, &hwpt->obj);
	return ret;
}

static int iommufd_test_set_memory_limit(struct iommufd_ucmd *ucmd,
					 uint32_t limit)
{
	/* one batch element at least: a pfn and a count */
	if (limit < sizeof(unsigned long) + sizeof(uint32_t))
		return -EINVAL;
	atomic_store_explicit(&ucmd->ictx->temp_memory_limit, limit,
			      memory_order_relaxed);
	return 0;
}

unsigned int iommufd_test_pin_batch(struct iommufd_ctx *ictx)
{
	uint32_t limit = atomic_load_explicit(&ictx->temp_memory_limit,
					      memory_order_relaxed);

	return limit / (sizeof(unsigned long) + sizeof(uint32_t));
}

int iommufd_test(struct iommufd_ucmd *ucmd)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;

	switch (cmd->op) {
	case IOMMU_TEST_OP_MD_CHECK_REFS:
		return iommufd_test_md_check_refs(ucmd, cmd->check_refs.uptr,
						  cmd->check_refs.length,
						  cmd->check_refs.refs);
	case IOMMU_TEST_OP_ADD_RESERVED:
		return iommufd_test_add_reserved(ucmd, cmd->id,
						 cmd->add_reserved.start,
						 cmd->add_reserved.length);
	case IOMMU_TEST_OP_MOCK_DOMAIN:
	case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
		return iommufd_test_mock_domain(ucmd, cmd);
	case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
		return iommufd_test_mock_domain_replace(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_MAP:
		return iommufd_test_md_check_map(ucmd, cmd->id,
						 cmd->check_map.iova,
						 cmd->check_map.length,
						 cmd->check_map.uptr);
	case IOMMU_TEST_OP_CREATE_ACCESS:
		return iommufd_test_create_access(ucmd, cmd->id,
						  cmd->create_access.flags);
	case IOMMU_TEST_OP_ACCESS_PAGES:
		return iommufd_test_access_pages(ucmd, cmd);
	case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
		return iommufd_test_access_item_destroy(
			ucmd, cmd->id,
			cmd->destroy_access_pages.access_pages_id);
	case IOMMU_TEST_OP_ACCESS_RW:
		return iommufd_test_access_rw(ucmd, cmd);
	case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
		return iommufd_test_access_replace_ioas(
			ucmd, cmd->id, cmd->access_replace_ioas.ioas_id);
	case IOMMU_TEST_OP_DIRTY:
		return iommufd_test_dirty(ucmd, cmd);
	case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
		return iommufd_test_set_memory_limit(ucmd,
						     cmd->memory_limit.limit);
	default:
		return -EOPNOTSUPP;
	}
}
