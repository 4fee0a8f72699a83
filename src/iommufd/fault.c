// SPDX-License-Identifier: MIT
/*
 * The fault queue: IOMMU_FAULT_QUEUE_ALLOC, its fault fd, and the I/O page
 * faults of devices attached to a fault-capable HWPT (Linux 6.12's
 * drivers/iommu/iommufd/fault.c and io-pgfault.c are the model for the
 * checks, their order and errnos; the grouping of page requests is
 * io-pgfault's).
 *
 * Objects and lifetimes:
 *  - struct iommufd_fault (IOMMUFD_OBJ_FAULT): made by
 *    IOMMU_FAULT_QUEUE_ALLOC with its file, the fault fd.  The file holds
 *    a user of the object and a reference on the context (as 6.12's), so
 *    IOMMU_DESTROY of it is -EBUSY while the fd is open, and the context
 *    outlives the fd.  Each HWPT made with IOMMU_HWPT_FAULT_ID_VALID holds
 *    one more user (iommufd_fault_get_hwpt), whatever the HWPT's kind.
 *    Destroying it answers every group still in it INVALID.
 *  - struct iommufd_fault_handle: one device's attachment to a queue (the
 *    kernel's attach handle), from iommufd_fault_attach_dev (IOPF enabled
 *    on the device, the IOMMU core's device fault handler registered with
 *    the handle as its data) to iommufd_fault_detach_dev.  It holds the
 *    device's partial page requests (those without LAST_PAGE) until their
 *    group's last one arrives.
 *  - struct iommufd_fault_group: the page requests of one group (same
 *    grpid; the last has LAST_PAGE), made by the handler when the last
 *    arrives and put on the queue's deliver list; read() moves it to the
 *    response table under a cookie (the lowest free from 1, as 6.12's
 *    xa_alloc); write() of a response with that cookie answers the
 *    group's last request through the core (iommu_page_response: the
 *    SMMU's RESUME, retry or abort, or PRI_RESP) and frees it.  A group
 *    never outlives its handle: detaching the device first answers
 *    INVALID every group of it, queued or read (6.12's auto response).
 *
 * The fault fd: read() returns whole groups of struct iommu_hwpt_pgfault
 * (a nonzero file position, or a count not a multiple of the record,
 * -ESPIPE; a first group that does not fit -EINVAL, later ones are left
 * for the next read); write() takes whole struct iommu_hwpt_page_response
 * records (an unknown cookie or a code other than SUCCESS and INVALID
 * -EINVAL, stopping there: what was done before counts).  A read never
 * waits: an empty queue reads 0, blocking file or not (6.12's read has no
 * wait queue; a handler polls first).  Readiness: the
 * fd is a duplicate of the queue's eventfd, whose count is non-zero
 * exactly while groups wait to be read, so poll/select/epoll report
 * EPOLLIN then (and always EPOLLOUT), as 6.12's poll op does.
 *
 * Locking: fault->mutex (IOMMUFD_LOCK_FAULT) serializes read, write and
 * the auto response and guards the response table; fault->lock
 * (IOMMUFD_LOCK_FAULT_QUEUE, in LOCK_RANK_FAULT after the core's
 * fault_param->lock, which is held while the handler runs) guards the
 * deliver list, every handle's partial list and the eventfd's state.  The core's
 * page response (pending_lock, the driver's command queue) is called under
 * fault->mutex only.  Attach and detach run under the device's
 * igroup->lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "iommufd/iommufd_private.h"
#include "lib/file.h"
#include "lib/internal.h"
#include "lib/uaccess.h"

struct iommufd_fault_item {
	struct iommu_fault fault;
	TAILQ_ENTRY(iommufd_fault_item) link;
};

TAILQ_HEAD(iommufd_fault_items, iommufd_fault_item);

struct iommufd_fault_handle {
	struct iommufd_fault *fault;
	struct iommufd_device *idev;
	struct iommufd_fault_items partial; /* fault->lock */
};

struct iommufd_fault_group {
	struct iommufd_fault_handle *handle;
	struct iommufd_fault_items faults; /* in arrival order, last last */
	unsigned int fault_count;
	uint32_t cookie; /* fault->mutex: while in the response table */
	TAILQ_ENTRY(iommufd_fault_group) link; /* fault->lock: deliver */
};

struct iommufd_fault {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct mutex mutex;
	/* mutex: read groups by cookie (index; 0 unused) */
	struct iommufd_fault_group **response;
	uint32_t nr_response;
	struct mutex lock;
	TAILQ_HEAD(, iommufd_fault_group) deliver; /* lock */
	int efd;				   /* the eventfd */
	bool signalled;				   /* lock: efd's count is 1 */
};

/* ---- the queue and its readiness ----------------------------------------------- */

/* The eventfd's count follows the deliver list: 1 while it has groups. */
static void fault_update_ready(struct iommufd_fault *fault)
{
	bool ready = !TAILQ_EMPTY(&fault->deliver);
	uint64_t v = 1;

	lockdep_assert_held(&fault->lock);
	if (ready == fault->signalled || fault->efd < 0)
		return;
	if (ready) {
		if (syscall(SYS_write, fault->efd, &v, sizeof(v)) != sizeof(v))
			return;
	} else {
		/* only we read it, and only while it is signalled: a check
		 * first all the same, so that nothing can make us block */
		struct pollfd p = {.fd = fault->efd, .events = POLLIN};
		struct timespec zero = {0};

		if (syscall(SYS_ppoll, &p, 1, &zero, NULL, 0) == 1 &&
		    syscall(SYS_read, fault->efd, &v, sizeof(v)) != sizeof(v))
			return;
	}
	fault->signalled = ready;
}

static void fault_deliver_add(struct iommufd_fault *fault,
			      struct iommufd_fault_group *group, bool head)
{
	lockdep_assert_held(&fault->lock);
	if (head)
		TAILQ_INSERT_HEAD(&fault->deliver, group, link);
	else
		TAILQ_INSERT_TAIL(&fault->deliver, group, link);
	fault_update_ready(fault);
}

/* The first group to deliver, off the list, or NULL. */
static struct iommufd_fault_group *
fault_deliver_fetch(struct iommufd_fault *fault)
{
	struct iommufd_fault_group *group;

	mutex_lock(&fault->lock);
	group = TAILQ_FIRST(&fault->deliver);
	if (group) {
		TAILQ_REMOVE(&fault->deliver, group, link);
		fault_update_ready(fault);
	}
	mutex_unlock(&fault->lock);
	return group;
}

static void fault_deliver_restore(struct iommufd_fault *fault,
				  struct iommufd_fault_group *group)
{
	mutex_lock(&fault->lock);
	fault_deliver_add(fault, group, true);
	mutex_unlock(&fault->lock);
}

static void fault_items_free(struct iommufd_fault_items *items)
{
	struct iommufd_fault_item *item;

	while ((item = TAILQ_FIRST(items))) {
		TAILQ_REMOVE(items, item, link);
		ui_free(item);
	}
}

static void fault_group_free(struct iommufd_fault_group *group)
{
	fault_items_free(&group->faults);
	ui_free(group);
}

/* Answer the group's last request (6.12's iopf_group_response). */
static void fault_group_respond(struct iommufd_fault_group *group,
				uint32_t code)
{
	struct iommufd_fault_item *last =
		TAILQ_LAST(&group->faults, iommufd_fault_items);
	const struct iommu_fault_page_request *prm = &last->fault.prm;
	struct iommu_page_response msg = {
		.grpid = prm->grpid,
		.code = code,
	};

	if (prm->flags & IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID) {
		msg.flags = IOMMU_PAGE_RESP_PASID_VALID;
		msg.pasid = prm->pasid;
	}
	iommu_page_response(group->handle->idev->dev, &msg);
}

/* The response table: cookies from 1, the lowest free one. */
static int fault_response_alloc(struct iommufd_fault *fault,
				struct iommufd_fault_group *group)
{
	uint32_t c;

	lockdep_assert_held(&fault->mutex);
	for (c = 1; c < fault->nr_response; c++)
		if (!fault->response[c])
			break;
	if (c >= fault->nr_response) {
		uint32_t n = fault->nr_response ? fault->nr_response * 2 : 16;
		struct iommufd_fault_group **r;

		if (n <= fault->nr_response)
			return -ENOSPC; /* xa_limit_32b */
		r = ui_calloc(n, sizeof(*r));
		if (!r)
			return -ENOMEM;
		if (fault->nr_response)
			memcpy(r, fault->response,
			       fault->nr_response * sizeof(*r));
		ui_free(fault->response);
		fault->response = r;
		c = fault->nr_response ? fault->nr_response : 1;
		fault->nr_response = n;
	}
	fault->response[c] = group;
	group->cookie = c;
	return 0;
}

static struct iommufd_fault_group *
fault_response_erase(struct iommufd_fault *fault, uint32_t cookie)
{
	struct iommufd_fault_group *group;

	lockdep_assert_held(&fault->mutex);
	if (!cookie || cookie >= fault->nr_response)
		return NULL;
	group = fault->response[cookie];
	fault->response[cookie] = NULL;
	return group;
}

/*
 * Answer INVALID every group of handle (all of them with NULL), queued or
 * read: nobody will answer them now (6.12's iommufd_auto_response_faults).
 */
static void fault_auto_response(struct iommufd_fault *fault,
				struct iommufd_fault_handle *handle)
{
	struct iommufd_fault_group *group, *next;
	TAILQ_HEAD(, iommufd_fault_group) list = TAILQ_HEAD_INITIALIZER(list);

	mutex_lock(&fault->mutex);
	mutex_lock(&fault->lock);
	for (group = TAILQ_FIRST(&fault->deliver); group; group = next) {
		next = TAILQ_NEXT(group, link);
		if (handle && group->handle != handle)
			continue;
		TAILQ_REMOVE(&fault->deliver, group, link);
		TAILQ_INSERT_TAIL(&list, group, link);
	}
	fault_update_ready(fault);
	mutex_unlock(&fault->lock);
	while ((group = TAILQ_FIRST(&list))) {
		TAILQ_REMOVE(&list, group, link);
		fault_group_respond(group, IOMMU_PAGE_RESP_INVALID);
		fault_group_free(group);
	}
	for (uint32_t c = 1; c < fault->nr_response; c++) {
		group = fault->response[c];
		if (!group || (handle && group->handle != handle))
			continue;
		fault->response[c] = NULL;
		fault_group_respond(group, IOMMU_PAGE_RESP_INVALID);
		fault_group_free(group);
	}
	mutex_unlock(&fault->mutex);
}

/* ---- the fault fd ------------------------------------------------------------------ */

static ssize_t fault_read_groups(struct iommufd_fault *fault, uint8_t *buf,
				 size_t count)
{
	const size_t fault_size = sizeof(struct iommu_hwpt_pgfault);
	struct iommufd_fault_group *group;
	size_t done = 0;
	int rc = 0;

	mutex_lock(&fault->mutex);
	while ((group = fault_deliver_fetch(fault))) {
		size_t group_done = done;
		struct iommufd_fault_item *item;

		if (done >= count ||
		    group->fault_count * fault_size > count - done) {
			fault_deliver_restore(fault, group);
			if (!done)
				rc = -EINVAL; /* the first group does not fit */
			break;
		}
		rc = fault_response_alloc(fault, group);
		if (rc) {
			fault_deliver_restore(fault, group);
			break;
		}
		TAILQ_FOREACH(item, &group->faults, link) {
			const struct iommu_fault_page_request *prm =
				&item->fault.prm;
			struct iommu_hwpt_pgfault data = {
				.flags = prm->flags,
				.dev_id = group->handle->idev->obj.id,
				.pasid = prm->pasid,
				.grpid = prm->grpid,
				.perm = prm->perm,
				.addr = prm->addr,
				.length = 0,
				.cookie = group->cookie,
			};

			if (copy_to_user(buf + group_done, &data, fault_size)) {
				fault_response_erase(fault, group->cookie);
				fault_deliver_restore(fault, group);
				rc = -EFAULT;
				break;
			}
			group_done += fault_size;
		}
		if (rc)
			break;
		done = group_done;
	}
	mutex_unlock(&fault->mutex);
	return done ? (ssize_t)done : rc;
}

static ssize_t fault_fops_read(void *priv, void *buf, size_t count, off_t *pos,
			       int f_flags)
{
	const size_t fault_size = sizeof(struct iommu_hwpt_pgfault);

	(void)f_flags; /* O_NONBLOCK or not: a read never waits */
	if (*pos || count % fault_size)
		return -ESPIPE;
	return fault_read_groups(priv, buf, count);
}

static ssize_t fault_fops_write(void *priv, const void *buf, size_t count,
				off_t *pos, int f_flags)
{
	const size_t response_size = sizeof(struct iommu_hwpt_page_response);
	struct iommufd_fault *fault = priv;
	struct iommu_hwpt_page_response response;
	struct iommufd_fault_group *group;
	size_t done = 0;
	int rc = 0;

	if (*pos || count % response_size)
		return -ESPIPE;
	mutex_lock(&fault->mutex);
	while (count > done) {
		if (copy_from_user(&response, (const uint8_t *)buf + done,
				   response_size)) {
			rc = -EFAULT;
			break;
		}
		if (response.code != IOMMUFD_PAGE_RESP_SUCCESS &&
		    response.code != IOMMUFD_PAGE_RESP_INVALID) {
			rc = -EINVAL;
			break;
		}
		group = fault_response_erase(fault, response.cookie);
		if (!group) {
			rc = -EINVAL;
			break;
		}
		/* the uAPI codes are the core's */
		fault_group_respond(group, response.code);
		fault_group_free(group);
		done += response_size;
	}
	mutex_unlock(&fault->mutex);
	return done ? (ssize_t)done : rc;
}

static long fault_fops_ioctl(void *priv, unsigned int cmd, unsigned long arg)
{
	return -ENOTTY;
}

/* The fd's last close: its user of the object and its context reference
 * go (the faults stay queued until the object or the device goes). */
static void fault_fops_release(void *priv)
{
	struct iommufd_fault *fault = priv;
	struct iommufd_ctx *ictx = fault->ictx;

	iommufd_put_object(ictx, &fault->obj);
	iommufd_ctx_put(ictx);
}

static const struct ui_file_ops iommufd_fault_fops = {
	.name = "iommufd-pgfault",
	.ioctl = fault_fops_ioctl,
	.read = fault_fops_read,
	.write = fault_fops_write,
	.release = fault_fops_release,
};

/* ---- the object -------------------------------------------------------------------- */

int iommufd_fault_alloc(struct iommufd_ucmd *ucmd)
{
	struct iommu_fault_alloc *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_fault *fault;
	int fd, ret;

	if (cmd->flags)
		return -EOPNOTSUPP;
	fault = ui_zalloc(sizeof(*fault));
	if (!fault)
		return -ENOMEM;
	ret = iommufd_object_alloc(ictx, &fault->obj, IOMMUFD_OBJ_FAULT);
	if (ret) {
		ui_free(fault);
		return ret;
	}
	fault->ictx = ictx;
	mutex_init(&fault->mutex, IOMMUFD_LOCK_FAULT);
	mutex_init(&fault->lock, IOMMUFD_LOCK_FAULT_QUEUE);
	TAILQ_INIT(&fault->deliver);
	fault->efd = (int)syscall(SYS_eventfd2, 0, EFD_CLOEXEC);
	if (fault->efd < 0) {
		ret = -errno;
		goto out_abort;
	}
	/* the file's fd: the same eventfd (get_unused_fd_flags(O_CLOEXEC)) */
	fd = (int)syscall(SYS_fcntl, fault->efd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		goto out_abort;
	}
	cmd->out_fault_id = fault->obj.id;
	cmd->out_fault_fd = (uint32_t)fd;
	ret = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret)
		goto out_close;
	/* the file's user and context reference (6.12's, before fd_install) */
	iommufd_object_get_user(ictx, &fault->obj);
	iommufd_ctx_get(ictx);
	ret = iommufd_file_install_fd(&iommufd_fault_fops, fault, O_RDWR, fd);
	if (ret < 0) {
		iommufd_put_object(ictx, &fault->obj);
		iommufd_ctx_put(ictx); /* the ioctl's file holds another */
		goto out_close;
	}
	iommufd_object_finalize(ictx, &fault->obj);
	return 0;
out_close:
	syscall(SYS_close, fd);
out_abort:
	iommufd_object_abort_and_destroy(ictx, &fault->obj);
	return ret;
}

void iommufd_fault_destroy(struct iommufd_object *obj)
{
	struct iommufd_fault *fault =
		container_of(obj, struct iommufd_fault, obj);

	/* no file, HWPT or device refers to it: answer what is left */
	fault_auto_response(fault, NULL);
	ui_free(fault->response);
	if (fault->efd >= 0)
		syscall(SYS_close, fault->efd);
	mutex_destroy(&fault->lock);
	mutex_destroy(&fault->mutex);
}

int iommufd_fault_get_hwpt(struct iommufd_ctx *ictx, uint32_t fault_id,
			   struct iommufd_fault **out)
{
	struct iommufd_object *obj =
		iommufd_get_object(ictx, fault_id, IOMMUFD_OBJ_FAULT);

	if (!obj)
		return -ENOENT;
	/* the look-up's user stays: the HWPT's */
	*out = container_of(obj, struct iommufd_fault, obj);
	return 0;
}

void iommufd_fault_put_hwpt(struct iommufd_ctx *ictx,
			    struct iommufd_fault *fault)
{
	iommufd_put_object(ictx, &fault->obj);
}

/* ---- I/O page faults of attached devices ------------------------------------------- */

/*
 * The core's device fault handler (6.12's iommu_report_device_fault with
 * iommufd's iopf_handler): page requests only; a partial one waits on the
 * handle, the last one of a group makes the group, queued for read().
 * -ENOMEM: not taken (the core forgets it, the driver answers it).
 */
static int fault_iopf_handler(struct iommu_fault *f, void *data)
{
	struct iommufd_fault_handle *handle = data;
	struct iommufd_fault *fault = handle->fault;
	struct iommufd_fault_item *item, *next;
	struct iommufd_fault_group *group;

	if (f->type != IOMMU_FAULT_PAGE_REQ)
		return -EOPNOTSUPP; /* unrecoverable: not the queue's */
	item = ui_zalloc(sizeof(*item));
	group = (f->prm.flags & IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE)
			? ui_zalloc(sizeof(*group))
			: NULL;
	mutex_lock(&fault->lock);
	if (!item ||
	    (!group && (f->prm.flags & IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE))) {
		/* the group is lost: its partial requests with it */
		for (struct iommufd_fault_item *p =
			     TAILQ_FIRST(&handle->partial);
		     p; p = next) {
			next = TAILQ_NEXT(p, link);
			if (p->fault.prm.grpid != f->prm.grpid)
				continue;
			TAILQ_REMOVE(&handle->partial, p, link);
			ui_free(p);
		}
		mutex_unlock(&fault->lock);
		ui_free(item);
		ui_free(group);
		return -ENOMEM;
	}
	item->fault = *f;
	if (!group) {
		TAILQ_INSERT_TAIL(&handle->partial, item, link);
		mutex_unlock(&fault->lock);
		return 0;
	}
	group->handle = handle;
	TAILQ_INIT(&group->faults);
	for (struct iommufd_fault_item *p = TAILQ_FIRST(&handle->partial); p;
	     p = next) {
		next = TAILQ_NEXT(p, link);
		if (p->fault.prm.grpid != f->prm.grpid)
			continue;
		TAILQ_REMOVE(&handle->partial, p, link);
		TAILQ_INSERT_TAIL(&group->faults, p, link);
		group->fault_count++;
	}
	TAILQ_INSERT_TAIL(&group->faults, item, link);
	group->fault_count++;
	fault_deliver_add(fault, group, false);
	mutex_unlock(&fault->lock);
	return 0;
}

/* IOMMU_DEV_FEAT_IOPF, counted per device (6.12's iommufd_fault_iopf_*). */
static int fault_iopf_enable(struct iommufd_device *idev)
{
	int ret;

	if (idev->iopf_enabled++)
		return 0;
	ret = iommu_dev_enable_feature(idev->dev, IOMMU_DEV_FEAT_IOPF);
	if (ret)
		idev->iopf_enabled--;
	return ret;
}

static void fault_iopf_disable(struct iommufd_device *idev)
{
	if (WARN_ON(!idev->iopf_enabled))
		return;
	if (!--idev->iopf_enabled)
		iommu_dev_disable_feature(idev->dev, IOMMU_DEV_FEAT_IOPF);
}

int iommufd_fault_attach_dev(struct iommufd_fault *fault,
			     struct iommufd_device *idev)
{
	struct iommufd_fault_handle *handle;
	int ret;

	lockdep_assert_held(&idev->igroup->lock);
	if (WARN_ON(idev->fault_handle))
		return -EBUSY;
	handle = ui_zalloc(sizeof(*handle));
	if (!handle)
		return -ENOMEM;
	handle->fault = fault;
	handle->idev = idev;
	TAILQ_INIT(&handle->partial);
	ret = fault_iopf_enable(idev);
	if (ret)
		goto err_free;
	ret = iommu_register_device_fault_handler(idev->dev, fault_iopf_handler,
						  FAULT_REPORT_FLAT, handle);
	if (ret)
		goto err_disable;
	idev->fault_handle = handle;
	return 0;
err_disable:
	fault_iopf_disable(idev);
err_free:
	ui_free(handle);
	return ret;
}

/* Answers given and unregistration retried before the core's own abort. */
#define FAULT_DETACH_TRIES 16

void iommufd_fault_detach_dev(struct iommufd_fault *fault,
			      struct iommufd_device *idev)
{
	struct iommufd_fault_handle *handle = idev->fault_handle;
	int ret = -EBUSY;

	lockdep_assert_held(&idev->igroup->lock);
	if (WARN_ON(!handle || handle->fault != fault))
		return;
	/* the core keeps the handler while its requests are unanswered:
	 * answer ours, then try again (a fault may arrive in between) */
	for (int tries = 0; tries < FAULT_DETACH_TRIES && ret == -EBUSY;
	     tries++) {
		fault_auto_response(fault, handle);
		ret = iommu_unregister_device_fault_handler(idev->dev);
	}
	if (ret == -EBUSY) {
		iommu_abort_page_requests(idev->dev);
		ret = iommu_unregister_device_fault_handler(idev->dev);
	}
	if (WARN_ON(ret == -EBUSY)) {
		/* a fault still coming in: keep the handle, the handler may
		 * use it (leaked, as type1 keeps its lookup) */
		idev->fault_handle = NULL;
		return;
	}
	/* no handler now: nothing of the handle can be added any more */
	fault_auto_response(fault, handle);
	mutex_lock(&fault->lock);
	fault_items_free(&handle->partial);
	mutex_unlock(&fault->lock);
	fault_iopf_disable(idev);
	idev->fault_handle = NULL;
	ui_free(handle);
}
