/* SPDX-License-Identifier: MIT */
/*
 * iommufd's objects and the io_pagetable beneath an IOAS (private to
 * src/iommufd/).  Linux 6.12's drivers/iommu/iommufd/iommufd_private.h and
 * io_pagetable.h are the model for the concepts and their names.
 *
 * Objects: every object of a context (struct iommufd_ctx, one per open
 * /dev/iommu) has an id, allocated from 1 (the lowest free id, as the
 * kernel's xa_alloc gives), and a users count: 1 for the id table, one per
 * ioctl using it, one per object depending on it (a HWPT on its IOAS, an
 * attached device on its HWPT; a bound device has one for its driver).
 * IOMMU_DESTROY removes an object only when the table is its last user
 * (-EBUSY otherwise).  An object is first allocated unfinalized (its id
 * reserved, look-ups fail with -ENOENT) and finalized once its ioctl
 * succeeded, or aborted.
 *
 * io_pagetable: the areas of an IOAS (an rb-tree by IOVA, never
 * overlapping), each a window [iova, last] onto an iopt_pages: a
 * page-aligned range of user memory shared by refcount between the areas
 * IOAS_COPY made of it, pinned (mem/'s mm_pin_pages, accounted as the
 * context's RLIMIT_MODE says) while one of those areas is in an IOAS with
 * a domain; the last such area to go (or its IOAS's last domain) unpins
 * it and returns its accounting.  The domains of an IOAS (those of
 * its paging HWPTs) all map every area; reserved ranges (the apertures'
 * complement and the reserved regions of attached devices) and the
 * allowed ranges (IOAS_ALLOW_IOVAS) bound where areas may go.
 *
 * Locking, outermost first (all ranked after vfio's VFIO_LOCK_CORE, as
 * vfio's device cdev calls in holding it):
 *   iommufd_owners.lock  the process-wide DMA-ownership claims of groups
 *   igroup->lock         a group's attachment (the kernel's igroup->lock)
 *   ioas->mutex          the IOAS's list of HWPTs (auto-domain choice)
 *   iopt->lock           areas, domains, reserved and allowed ranges,
 *                        alignment (the kernel's domains_rwsem and
 *                        iova_rwsem in one mutex)
 *   pages->mutex         a pages object's pin (shared by IOASes)
 *   ictx->lock           the id table and every object's users count
 * Pinning (mmap_lock) and the IOMMU core rank after all of them.
 */
#ifndef UIOMMU_IOMMUFD_IOMMUFD_PRIVATE_H
#define UIOMMU_IOMMUFD_IOMMUFD_PRIVATE_H

#include <bsd/sys/queue.h>
#include <bsd/sys/tree.h>
#include <stdbool.h>
#include <stdint.h>

#include "iommu/iommu.h"
#include "iommufd/iommufd.h"
#include "iommufd/iommufd_uapi.h"
#include "lib/lock.h"
#include "mem/mem.h"
#include "sanitizer/sanitizer.h"

enum {
	IOMMUFD_LOCK_OWNERS = LOCK_RANK_VFIO_DRIVER + 16,
	IOMMUFD_LOCK_GROUP,
	IOMMUFD_LOCK_IOAS,
	IOMMUFD_LOCK_ACCESS_LIST, /* iopt->access_lock */
	IOMMUFD_LOCK_ACCESS,	  /* an access user's own (selftest.c) */
	IOMMUFD_LOCK_IOPT,
	IOMMUFD_LOCK_PAGES,
	IOMMUFD_LOCK_CTX,
	IOMMUFD_LOCK_SELFTEST, /* selftest.c's mock IOMMU list, held alone */
};

#define IOMMUFD_PAGE_SIZE PHYS_PAGE_SIZE
/* 6.12 caps an allocated IOVA's alignment at the THP size */
#define IOMMUFD_HPAGE_SIZE (2UL << 20)

enum iommufd_object_type {
	IOMMUFD_OBJ_NONE,
	IOMMUFD_OBJ_ANY = IOMMUFD_OBJ_NONE,
	IOMMUFD_OBJ_DEVICE,
	IOMMUFD_OBJ_HWPT_PAGING,
	IOMMUFD_OBJ_IOAS,
	IOMMUFD_OBJ_ACCESS,   /* access.c: an in-kernel user of an IOAS */
	IOMMUFD_OBJ_SELFTEST, /* selftest.c's mock devices */
	IOMMUFD_OBJ_MAX,
};

struct iommufd_object {
	enum iommufd_object_type type;
	uint32_t id;
	unsigned int users; /* ictx->lock */
	bool finalized;	    /* ictx->lock: visible to look-ups */
};

/* How pinned pages are charged (6.12's IOPT_PAGES_ACCOUNT_*). */
enum iopt_account_mode {
	IOPT_PAGES_ACCOUNT_NONE, /* CAP_IPC_LOCK */
	IOPT_PAGES_ACCOUNT_USER, /* the user's locked memory (default) */
	IOPT_PAGES_ACCOUNT_MM,	 /* the process's locked_vm, as type1 */
};

struct iommufd_ctx {
	struct mutex lock;
	struct iommufd_object **objects; /* lock: indexed by id */
	uint32_t nr_objects;		 /* lock: slots in objects */
	unsigned int live_objects;	 /* lock */
	_Atomic unsigned int refs;	 /* the file's, one per bound device */
	struct mm *mm;			 /* immutable: the opener's */
	enum iopt_account_mode account_mode; /* lock; only with no objects */
	bool cap_sys_resource;		     /* immutable: at open */
	struct iommufd_ioas *vfio_ioas;	     /* lock: IOMMU_VFIO_IOAS's */
	/* IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT's bytes (selftest.c) */
	_Atomic uint32_t temp_memory_limit;
};

/* A page-aligned range of user memory, pinned while a domain needs it. */
struct iopt_pages {
	_Atomic unsigned int refs; /* one per area */
	struct iommufd_ctx *ictx;  /* its areas' (one context's IOASes) */
	struct mm *mm;
	unsigned long uptr; /* page-aligned */
	unsigned long npages;
	bool writable;
	enum iopt_account_mode account_mode;
	struct mutex mutex;	 /* the pin: pin_users, runs */
	unsigned int pin_users;	 /* areas whose IOAS has a domain */
	struct mm_pin_run *runs; /* all npages, in order, while pinned */
	unsigned int nr_runs;
};

struct iopt_area {
	RB_ENTRY(iopt_area) node; /* iopt->lock */
	unsigned long iova, last; /* [iova, last], inclusive */
	struct iopt_pages *pages;
	unsigned long start_byte; /* offset of iova's byte in pages */
	int iommu_prot;
	bool pinned; /* iopt->lock: a pin user of pages (the IOAS has a domain) */
	unsigned int num_accesses; /* iopt->lock: access pins on it */
	bool prevent_access;	   /* iopt->lock: being unmapped */
};

RB_HEAD(iopt_area_tree, iopt_area);

/* A range no area may cover; owner: the domain or device it is for. */
struct iopt_reserved {
	unsigned long start, last;
	const void *owner;
};

struct io_pagetable {
	struct mutex lock;
	struct iopt_area_tree areas;
	struct iommu_domain **domains;
	unsigned int nr_domains;
	struct iopt_reserved *reserved;
	unsigned int nr_reserved;
	struct iommu_iova_range *allowed; /* sorted, disjoint */
	unsigned int nr_allowed;
	unsigned long iova_alignment; /* 1, or the domains' smallest page */
	bool disable_large_pages;
	/* the accesses attached (their unmap callbacks); taken without
	 * lock, before it */
	struct mutex access_lock;
	LIST_HEAD(, iommufd_access) accesses;
	/* the sanitizer's MAP/UNMAP history (NULL when it is off), set in
	 * every domain added; recorded under lock */
	struct san_space *san;
};

struct iommufd_hwpt_paging;
struct iova_bitmap;

/*
 * A driver's dirty tracking of a paging domain (the kernel's
 * iommu_dirty_ops): set_dirty_tracking starts or stops it;
 * read_and_clear_dirty records the dirty granules of [iova, iova + size)
 * in bitmap (iova_bitmap_set) and clears them unless flags has
 * IOMMU_DIRTY_NO_CLEAR; a NULL bitmap only clears.  Called under the
 * IOAS's iopt->lock.
 */
#define IOMMU_DIRTY_NO_CLEAR (1ul << 0)
struct iommufd_dirty_ops {
	int (*set_dirty_tracking)(struct iommu_domain *domain, bool enable);
	int (*read_and_clear_dirty)(struct iommu_domain *domain,
				    unsigned long iova, size_t size,
				    unsigned long flags,
				    struct iova_bitmap *bitmap);
};

/* iova_bitmap.c: the user's bitmap of page_size granules over [iova,
 * iova + length), walked in chunks: fn gets each chunk's IOVA range and
 * marks dirty granules with iova_bitmap_set (OR'd into the user's bits). */
typedef int (*iova_bitmap_fn_t)(struct iova_bitmap *bitmap, unsigned long iova,
				size_t length, void *opaque);
int iova_bitmap_for_each(uint64_t iova, uint64_t length, uint64_t page_size,
			 uint64_t data, iova_bitmap_fn_t fn, void *opaque);
void iova_bitmap_set(struct iova_bitmap *bitmap, unsigned long iova,
		     size_t length);

struct iommufd_ioas {
	struct iommufd_object obj;
	struct io_pagetable iopt;
	struct mutex mutex; /* hwpt_list */
	LIST_HEAD(, iommufd_hwpt_paging) hwpt_list;
};

struct iommufd_hwpt_paging {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct iommu_domain *domain;
	struct iommufd_ioas *ioas; /* holds a user of it */
	bool auto_domain;	   /* made by an attach; goes with its last */
	bool nest_parent;	   /* IOMMU_HWPT_ALLOC_NEST_PARENT: stage 2 */
	/* IOMMU_HWPT_ALLOC_DIRTY_TRACKING: the driver's dirty ops (the
	 * kernel's domain->dirty_ops), fixed at allocation; else NULL */
	const struct iommufd_dirty_ops *dirty_ops;
	unsigned int attached; /* igroup->lock of its groups */
	bool on_list;	       /* ioas->mutex */
	LIST_ENTRY(iommufd_hwpt_paging) hwpt_item; /* ioas->mutex */
};

/* A group bound for DMA by one context (the kernel's iommufd_group and
 * the group's DMA owner in one). */
struct iommufd_group {
	struct iommu_group *group;
	struct iommufd_ctx *ictx;
	unsigned int bound; /* iommufd_owners.lock: devices bound */
	struct mutex lock;
	struct iommufd_hwpt_paging *hwpt; /* lock: attached to */
	unsigned int attached;		  /* lock: its devices attached */
	LIST_ENTRY(iommufd_group) next;	  /* iommufd_owners.lock */
};

struct iommufd_device {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct device *dev;
	struct iommufd_group *igroup;
	struct iommufd_hwpt_paging *hwpt; /* igroup->lock: attached to */
};

/*
 * An in-kernel user of an IOAS (the kernel's iommufd_access, for emulated
 * devices; here IOMMU_TEST_CMD's access objects): it pins pages by IOVA
 * or copies through them, and must drop its pins of a range when unmap
 * calls ops->unmap for it (the unmap waits for that).
 */
struct iommufd_access_ops {
	bool needs_pin_pages;
	/* drop every pin of [iova, iova + length - 1]; may take the
	 * user's locks, then iopt->lock (iommufd_access_unpin_pages) */
	void (*unmap)(void *data, unsigned long iova, unsigned long length);
};

struct iommufd_access {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx; /* holds a reference */
	const struct iommufd_access_ops *ops;
	void *data;
	struct iommufd_ioas *ioas;	 /* attached to; holds a user of it */
	LIST_ENTRY(iommufd_access) next; /* ioas->iopt.access_lock */
};

#define IOMMUFD_ACCESS_RW_WRITE (1u << 0)

/* access.c */
int iommufd_access_create(struct iommufd_ctx *ictx,
			  const struct iommufd_access_ops *ops, void *data,
			  uint32_t *id, struct iommufd_access **out);
int iommufd_access_attach(struct iommufd_access *access, uint32_t ioas_id);
/* Move to another IOAS: ops->unmap of everything first (-ENOENT not
 * attached or no such IOAS). */
int iommufd_access_replace(struct iommufd_access *access, uint32_t ioas_id);
/* Detach and destroy (the driver's reference: no pins may be left). */
void iommufd_access_destroy(struct iommufd_access *access);
void iommufd_access_destroy_object(struct iommufd_object *obj);
/* The physical page of every PAGE_SIZE page [iova, iova + length) touches,
 * in out_pa; held until iommufd_access_unpin_pages of the same range. */
int iommufd_access_pin_pages(struct iommufd_access *access, unsigned long iova,
			     unsigned long length, phys_addr_t *out_pa,
			     unsigned int flags);
void iommufd_access_unpin_pages(struct iommufd_access *access,
				unsigned long iova, unsigned long length);
int iommufd_access_rw(struct iommufd_access *access, unsigned long iova,
		      void *data, size_t length, unsigned int flags);

/* main.c: the context, objects */
/* Tests: model the capability RLIMIT_MODE's SET checks. */
void iommufd_ctx_set_cap_sys_resource(struct iommufd_ctx *ictx, bool cap);
int iommufd_object_alloc(struct iommufd_ctx *ictx, struct iommufd_object *obj,
			 enum iommufd_object_type type);
void iommufd_object_finalize(struct iommufd_ctx *ictx,
			     struct iommufd_object *obj);
/* Remove an unfinalized object and destroy it. */
void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx,
				      struct iommufd_object *obj);
struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, uint32_t id,
					  enum iommufd_object_type type);
void iommufd_put_object(struct iommufd_ctx *ictx, struct iommufd_object *obj);
void iommufd_object_get_user(struct iommufd_ctx *ictx,
			     struct iommufd_object *obj);
/* Remove obj when the caller's reference is its last besides the
 * table's: -EBUSY otherwise.  The caller's reference goes either way. */
int iommufd_object_remove_user(struct iommufd_ctx *ictx,
			       struct iommufd_object *obj);
/* Destroy an object no longer in the table, and free it. */
void iommufd_object_destroy(struct iommufd_object *obj);

/* ioas.c */
struct iommufd_ioas *iommufd_ioas_alloc(struct iommufd_ctx *ictx);
void iommufd_ioas_destroy(struct iommufd_object *obj);
struct iommufd_ioas *iommufd_get_ioas(struct iommufd_ctx *ictx, uint32_t id);
/* The paging HWPT id names, with a short-term reference (put its obj), or
 * NULL when there is none. */
struct iommufd_hwpt_paging *iommufd_get_hwpt_paging(struct iommufd_ctx *ictx,
						    uint32_t id);

/* One command: the kernel's struct iommufd_ucmd. */
struct iommufd_ucmd {
	struct iommufd_ctx *ictx;
	void *ubuffer;
	uint32_t user_size;
	void *cmd;
};
int iommufd_ucmd_respond(struct iommufd_ucmd *ucmd, size_t length);
int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd);
int iommufd_ioas_allow_iovas(struct iommufd_ucmd *ucmd);
int iommufd_ioas_map(struct iommufd_ucmd *ucmd);
int iommufd_ioas_copy(struct iommufd_ucmd *ucmd);
int iommufd_ioas_unmap(struct iommufd_ucmd *ucmd);
int iommufd_option_rlimit_mode(struct iommu_option *cmd,
			       struct iommufd_ctx *ictx);
int iommufd_ioas_option(struct iommufd_ucmd *ucmd);

/* io_pagetable.c */
#define IOPT_ALLOC_IOVA (1u << 0)
void iopt_init_table(struct io_pagetable *iopt);
void iopt_destroy_table(struct io_pagetable *iopt);
int iopt_map_user_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
			unsigned long *iova, unsigned long uptr,
			unsigned long length, int iommu_prot,
			unsigned int flags);
int iopt_copy_pages(struct io_pagetable *src, struct io_pagetable *dst,
		    unsigned long src_iova, unsigned long length,
		    unsigned long *dst_iova, int iommu_prot,
		    unsigned int flags);
int iopt_unmap_iova(struct io_pagetable *iopt, unsigned long iova,
		    unsigned long length, unsigned long *unmapped);
int iopt_unmap_all(struct io_pagetable *iopt, unsigned long *unmapped);
/* Split the areas holding iovas[] so that each iova ends one (type1's
 * unmap of part of a mapping); an iova in no area cuts nothing. */
int iopt_cut_iova(struct io_pagetable *iopt, unsigned long *iovas, size_t nr);
int iopt_set_allow_iova(struct io_pagetable *iopt,
			struct iommu_iova_range *ranges, unsigned int nr);
/* The usable IOVA ranges (holes of the reserved ranges): up to max in
 * out, the total count in *nr; the alignment in *align. */
int iopt_iova_ranges(struct io_pagetable *iopt, struct iommu_iova_range *out,
		     unsigned int max, unsigned int *nr, unsigned long *align);
int iopt_table_add_domain(struct io_pagetable *iopt,
			  struct iommu_domain *domain);
void iopt_table_remove_domain(struct io_pagetable *iopt,
			      struct iommu_domain *domain);
int iopt_table_enforce_dev_resv_regions(struct io_pagetable *iopt,
					struct device *dev);
void iopt_remove_reserved_iova(struct io_pagetable *iopt, const void *owner);
/* Reserve [start, last] for good (IOMMU_TEST_OP_ADD_RESERVED); takes the
 * lock.  -EINVAL last < start, -EADDRINUSE over an area or allowed range. */
int iopt_add_reserved(struct io_pagetable *iopt, unsigned long start,
		      unsigned long last);
/* io_pagetable.c, for access.c: over the areas that cover [iova, last]
 * contiguously (-ENOENT a gap, -EINVAL an area being unmapped or, for
 * pins, not page-congruent with its pages, -EPERM without the
 * permission), all or nothing. */
int iopt_access_pin(struct io_pagetable *iopt, unsigned long iova,
		    unsigned long last, phys_addr_t *out_pa, bool write);
void iopt_access_unpin(struct io_pagetable *iopt, unsigned long iova,
		       unsigned long last);
int iopt_access_rw(struct io_pagetable *iopt, unsigned long iova,
		   unsigned long last, void *data, bool write);
int iopt_disable_large_pages(struct io_pagetable *iopt);
int iopt_set_dirty_tracking(struct io_pagetable *iopt,
			    struct iommu_domain *domain,
			    const struct iommufd_dirty_ops *ops, bool enable);
int iopt_read_and_clear_dirty_data(struct io_pagetable *iopt,
				   struct iommu_domain *domain,
				   const struct iommufd_dirty_ops *ops,
				   unsigned long flags,
				   struct iommu_hwpt_get_dirty_bitmap *bitmap);
void iopt_enable_large_pages(struct io_pagetable *iopt);

/* device.c, hw_pagetable.c */
void iommufd_device_destroy(struct iommufd_object *obj);
struct iommufd_device *iommufd_get_device(struct iommufd_ucmd *ucmd,
					  uint32_t id);
/*
 * A paging HWPT for idev's IOMMU over ioas (flags: NEST_PARENT for a
 * stage-2 domain; DIRTY_TRACKING the mock's dirty ops, -EOPNOTSUPP for a
 * device without the capability), its
 * domain added to the IOAS and filled with its areas; on ioas's HWPT
 * list, unfinalized.  ioas->mutex held.
 */
int iommufd_hwpt_paging_alloc(struct iommufd_ctx *ictx,
			      struct iommufd_ioas *ioas,
			      struct iommufd_device *idev, uint32_t flags,
			      bool auto_domain,
			      struct iommufd_hwpt_paging **out);
int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd);
/* vfio_compat.c */
int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd);
/* The VFIO container ioctls on an iommufd file; -ENOTTY: not one. */
int iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned int cmd,
		       unsigned long arg);
int iommufd_get_hw_info(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_invalidate(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_set_dirty_tracking(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ucmd *ucmd);
void iommufd_hwpt_paging_destroy(struct iommufd_object *obj);
/* selftest.c: IOMMU_TEST_CMD */
int iommufd_test(struct iommufd_ucmd *ucmd);
void iommufd_selftest_destroy(struct iommufd_object *obj);
/* GET_HW_INFO of a mock device (input_type: the caller names a type). */
int iommufd_selftest_hw_info(struct iommufd_ucmd *ucmd, struct device *dev,
			     bool input_type);
/* A mock device's binding holds no reference on its context. */
bool iommufd_selftest_is_mock_dev(struct device *dev);
/* The mock's dirty ops for a device that can track (not NO_DIRTY), or
 * NULL (the kernel's IOMMU_CAP_DIRTY_TRACKING). */
const struct iommufd_dirty_ops *iommufd_selftest_dirty_ops(struct device *dev);
/* A paging domain allocated for dev (a mock device, else nothing): its
 * page sizes by the device's flags; dirty: allocated with DIRTY_TRACKING. */
void iommufd_selftest_domain_init(struct device *dev,
				  struct iommu_domain *domain, bool dirty);
/* The most runs one mm_pin_pages call of an IOAS_MAP may take. */
unsigned int iommufd_test_pin_batch(struct iommufd_ctx *ictx);

#endif /* UIOMMU_IOMMUFD_IOMMUFD_PRIVATE_H */
