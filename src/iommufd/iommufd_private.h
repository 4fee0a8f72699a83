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
	IOMMUFD_LOCK_FAULT,    /* fault.c: fault->mutex (responses) */
	/* fault.c: fault->lock (the queue), taken by the fault handler
	 * under the core's fault_param->lock (LOCK_RANK_FAULT + 1) */
	IOMMUFD_LOCK_FAULT_QUEUE = LOCK_RANK_FAULT + LOCK_LAYER_SPAN / 4,
};

#define IOMMUFD_PAGE_SIZE PHYS_PAGE_SIZE
/* 6.12 caps an allocated IOVA's alignment at the THP size */
#define IOMMUFD_HPAGE_SIZE (2UL << 20)

enum iommufd_object_type {
	IOMMUFD_OBJ_NONE,
	IOMMUFD_OBJ_ANY = IOMMUFD_OBJ_NONE,
	IOMMUFD_OBJ_DEVICE,
	IOMMUFD_OBJ_HWPT_PAGING,
	IOMMUFD_OBJ_HWPT_NESTED, /* hw_pagetable_nested.c */
	IOMMUFD_OBJ_IOAS,
	IOMMUFD_OBJ_ACCESS,   /* access.c: an in-kernel user of an IOAS */
	IOMMUFD_OBJ_SELFTEST, /* selftest.c's mock devices */
	IOMMUFD_OBJ_FAULT,    /* fault.c: a fault queue and its fd */
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

/*
 * What every HWPT has (6.12's struct iommufd_hw_pagetable): the object, its
 * domain, and the devices attached to it (each holds a user of it).
 */
struct iommufd_hw_pagetable {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct iommu_domain *domain;
	unsigned int attached; /* igroup->lock of its groups */
	/* IOMMU_HWPT_FAULT_ID_VALID: the fault queue its devices' I/O page
	 * faults go to (holds a user of it), else NULL; fixed at alloc */
	struct iommufd_fault *fault;
};

struct iommufd_hwpt_paging {
	struct iommufd_hw_pagetable common;
	struct iommufd_ioas *ioas; /* holds a user of it */
	bool auto_domain;	   /* made by an attach; goes with its last */
	bool nest_parent;	   /* IOMMU_HWPT_ALLOC_NEST_PARENT: stage 2 */
	/* IOMMU_HWPT_ALLOC_DIRTY_TRACKING: the dirty ops, fixed at
	 * allocation: the domain's (the IOMMU core's iommu_dirty_ops, as
	 * the SMMU sets them), or the mock's (selftest.c); else NULL */
	const struct iommu_dirty_ops *dirty_ops;
	bool on_list;				   /* ioas->mutex */
	LIST_ENTRY(iommufd_hwpt_paging) hwpt_item; /* ioas->mutex */
};

/*
 * A driver's user data as HWPT_ALLOC hands it in (6.12's iommu_user_data)
 * and HWPT_INVALIDATE's array of requests (iommu_user_data_array), read
 * with the two copies below (Debian 6.12's
 * iommu_copy_struct_from_user{,_array}: another type, fewer than min_size
 * bytes or more than dst_size -EINVAL, then copy_struct_from_user's
 * -EFAULT).
 */
struct iommu_user_data {
	uint32_t type;
	const void *uptr;
	size_t len;
};

struct iommu_user_data_array {
	uint32_t type;
	const void *uptr;
	size_t entry_len;
	uint32_t entry_num; /* in: the entries; back: those handled */
};

int iommu_copy_struct_from_user(void *dst, size_t dst_size, size_t min_size,
				const struct iommu_user_data *src,
				uint32_t type);
int iommu_copy_struct_from_user_array(void *dst, size_t dst_size,
				      size_t min_size,
				      const struct iommu_user_data_array *src,
				      uint32_t type, uint32_t index);

/* What a driver's nested domain offers iommufd beyond the core's ops: its
 * user-managed caches (6.12's domain op cache_invalidate_user). */
struct iommufd_nested_ops {
	/* array's entries in order, stopping at the first that fails;
	 * array->entry_num back as the count handled */
	int (*cache_invalidate_user)(struct iommu_domain *domain,
				     struct iommu_user_data_array *array);
};

/*
 * A nested HWPT (IOMMUFD_OBJ_HWPT_NESTED, hw_pagetable_nested.c): the
 * user's stage 1 over a NEST_PARENT paging HWPT, which it holds a user of
 * (the parent's DESTROY is -EBUSY while it lives; the context's release
 * destroys it first).  Devices attach to it as to a paging HWPT, their
 * reserved regions in the parent's IOAS.  Immutable after allocation.
 */
struct iommufd_hwpt_nested {
	struct iommufd_hw_pagetable common;
	struct iommufd_hwpt_paging *parent;
	const struct iommufd_nested_ops *ops;
};

/* A group bound for DMA by one context (the kernel's iommufd_group and
 * the group's DMA owner in one). */
struct iommufd_group {
	struct iommu_group *group;
	struct iommufd_ctx *ictx;
	unsigned int bound; /* iommufd_owners.lock: devices bound */
	struct mutex lock;
	struct iommufd_hw_pagetable *hwpt; /* lock: attached to */
	unsigned int attached;		   /* lock: its devices attached */
	LIST_ENTRY(iommufd_group) next;	   /* iommufd_owners.lock */
};

struct iommufd_device {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct device *dev;
	struct iommufd_group *igroup;
	struct iommufd_hw_pagetable *hwpt; /* igroup->lock: attached to */
	/* fault.c, igroup->lock: its attachment to a fault-capable HWPT's
	 * queue (the kernel's attach handle), and IOPF enables */
	struct iommufd_fault_handle *fault_handle;
	unsigned int iopf_enabled;
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
			    const struct iommu_dirty_ops *ops, bool enable);
int iopt_read_and_clear_dirty_data(struct io_pagetable *iopt,
				   struct iommu_domain *domain,
				   const struct iommu_dirty_ops *ops,
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
/* hw_pagetable_nested.c: IOMMU_HWPT_ALLOC over a paging HWPT (unfinalized
 * on success), the object's destroy, IOMMU_HWPT_INVALIDATE's driver call. */
int iommufd_hwpt_nested_alloc(struct iommufd_ctx *ictx,
			      struct iommufd_hwpt_paging *parent,
			      struct iommufd_device *idev, uint32_t flags,
			      const struct iommu_user_data *user_data,
			      struct iommufd_hwpt_nested **out);
void iommufd_hwpt_nested_destroy(struct iommufd_object *obj);
int iommufd_hwpt_nested_invalidate(struct iommufd_ctx *ictx, uint32_t id,
				   struct iommu_user_data_array *array);
/* nested_smmu.c: the SMMUv3's nested domains (UIOMMU_HWPT_DATA_ARM_SMMUV3) */
bool iommufd_smmu_is_dev(struct device *dev);
int iommufd_smmu_nested_alloc(struct device *dev, struct iommu_domain *parent,
			      uint32_t flags,
			      const struct iommu_user_data *user_data,
			      struct iommu_domain **out,
			      const struct iommufd_nested_ops **ops);
/* fault.c: IOMMU_FAULT_QUEUE_ALLOC, the fault fd, IOPF of fault-capable
 * HWPTs (any kind: each keeps the fault object it was given) */
struct iommufd_fault;
int iommufd_fault_alloc(struct iommufd_ucmd *ucmd);
void iommufd_fault_destroy(struct iommufd_object *obj);
/* The fault object id names (IOMMU_HWPT_FAULT_ID_VALID), its user kept for
 * the HWPT (-ENOENT none); iommufd_fault_put_hwpt drops it. */
int iommufd_fault_get_hwpt(struct iommufd_ctx *ictx, uint32_t fault_id,
			   struct iommufd_fault **out);
void iommufd_fault_put_hwpt(struct iommufd_ctx *ictx,
			    struct iommufd_fault *fault);
/* idev's faults to fault from now on: IOPF enabled on the device and the
 * core's fault handler registered; before the domain attach.
 * igroup->lock. */
int iommufd_fault_attach_dev(struct iommufd_fault *fault,
			     struct iommufd_device *idev);
/* After the domain detach: every fault of idev still queued or read and
 * unanswered answered INVALID (6.12's auto response), the handler gone,
 * IOPF disabled.  igroup->lock. */
void iommufd_fault_detach_dev(struct iommufd_fault *fault,
			      struct iommufd_device *idev);
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
const struct iommu_dirty_ops *iommufd_selftest_dirty_ops(struct device *dev);
/* A mock nested domain over a mock paging domain from
 * IOMMU_HWPT_DATA_SELFTEST data (the mock's domain_alloc_user, nested). */
int iommufd_selftest_nested_alloc(struct device *dev,
				  struct iommu_domain *parent, uint32_t flags,
				  const struct iommu_user_data *user_data,
				  struct iommu_domain **out,
				  const struct iommufd_nested_ops **ops);
/* A paging domain allocated for dev (a mock device, else nothing): its
 * page sizes by the device's flags; dirty: allocated with DIRTY_TRACKING. */
void iommufd_selftest_domain_init(struct device *dev,
				  struct iommu_domain *domain, bool dirty);
/* The most runs one mm_pin_pages call of an IOAS_MAP may take. */
unsigned int iommufd_test_pin_batch(struct iommufd_ctx *ictx);

#endif /* UIOMMU_IOMMUFD_IOMMUFD_PRIVATE_H */
