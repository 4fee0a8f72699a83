// SPDX-License-Identifier: MIT
/*
 * /dev/iommu: the iommufd context, its object table and the ioctl
 * dispatch (Linux 6.12's drivers/iommu/iommufd/main.c is the model).
 *
 * Objects and lifetimes:
 *  - struct iommufd_ctx: one per open /dev/iommu.  refs counts its file
 *    (the front's struct ui_file_ops file, released when its last fd and
 *    call go) and every bound device (iommufd_ctx_get, as the kernel's
 *    get_file); the last put destroys the objects left, leaves first (a
 *    HWPT before its IOAS), then the context.
 *  - objects[id]: ids from 1, the lowest free one (xa_alloc's ALLOC1); a
 *    slot holds an object from iommufd_object_alloc until it is
 *    destroyed; it is found by id only once finalized.
 *
 * Reference rules (users): 1 for the table, +1 per look-up in flight
 * (iommufd_get_object .. iommufd_put_object), +1 per object that depends
 * on it.  IOMMU_DESTROY removes an object only if the table holds its
 * last user (-EBUSY otherwise: attached, in use by a HWPT, or a device
 * whose driver holds it); an unknown id is -ENOENT.
 *
 * The ioctl dispatch, in 6.12's order: a number outside the table is a
 * VFIO container ioctl (vfio_compat.c) or not ours (-ENOTTY), then get_user of the
 * size (-EFAULT), a table entry whose ioctl number is not the command
 * (-ENOTTY), a size below the struct's minimum (-EINVAL), then
 * copy_struct_from_user (-E2BIG for non-zero bytes past what we know,
 * -EFAULT), then the command.
 *
 * Locking: ictx->lock (IOMMUFD_LOCK_CTX, innermost of iommufd's) guards
 * the table and every users count; destroy ops run without it.
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "iommufd/iommufd_private.h"
#include "iommufd/iommufd_test_uapi.h"
#include "lib/file.h"
#include "lib/internal.h"
#include "lib/uaccess.h"

/* ---- objects ------------------------------------------------------------------- */

int iommufd_object_alloc(struct iommufd_ctx *ictx, struct iommufd_object *obj,
			 enum iommufd_object_type type)
{
	uint32_t id;
	int ret = 0;

	obj->type = type;
	obj->users = 1;
	mutex_lock(&ictx->lock);
	for (id = 1; id < ictx->nr_objects; id++)
		if (!ictx->objects[id])
			break;
	if (id >= ictx->nr_objects) {
		uint32_t n = ictx->nr_objects ? ictx->nr_objects * 2 : 16;
		struct iommufd_object **o = ui_calloc(n, sizeof(*o));

		if (!o) {
			ret = -ENOMEM;
			goto out;
		}
		if (ictx->nr_objects)
			memcpy(o, ictx->objects, ictx->nr_objects * sizeof(*o));
		ui_free(ictx->objects);
		ictx->objects = o;
		id = ictx->nr_objects ? ictx->nr_objects : 1;
		ictx->nr_objects = n;
	}
	obj->id = id;
	obj->finalized = false;
	ictx->objects[id] = obj;
	ictx->live_objects++;
out:
	mutex_unlock(&ictx->lock);
	return ret;
}

void iommufd_object_finalize(struct iommufd_ctx *ictx,
			     struct iommufd_object *obj)
{
	mutex_lock(&ictx->lock);
	WARN_ON(ictx->objects[obj->id] != obj);
	obj->finalized = true;
	mutex_unlock(&ictx->lock);
}

static void iommufd_object_unlink(struct iommufd_ctx *ictx,
				  struct iommufd_object *obj)
{
	lockdep_assert_held(&ictx->lock);
	if (ictx->vfio_ioas && &ictx->vfio_ioas->obj == obj)
		ictx->vfio_ioas = NULL;
	ictx->objects[obj->id] = NULL;
	ictx->live_objects--;
}

void iommufd_object_destroy(struct iommufd_object *obj)
{
	switch (obj->type) {
	case IOMMUFD_OBJ_IOAS:
		iommufd_ioas_destroy(obj);
		break;
	case IOMMUFD_OBJ_HWPT_PAGING:
		iommufd_hwpt_paging_destroy(obj);
		break;
	case IOMMUFD_OBJ_HWPT_NESTED:
		iommufd_hwpt_nested_destroy(obj);
		break;
	case IOMMUFD_OBJ_DEVICE:
		iommufd_device_destroy(obj);
		break;
	case IOMMUFD_OBJ_SELFTEST:
		iommufd_selftest_destroy(obj);
		break;
	case IOMMUFD_OBJ_ACCESS:
		iommufd_access_destroy_object(obj);
		break;
	case IOMMUFD_OBJ_FAULT:
		iommufd_fault_destroy(obj);
		break;
	default:
		WARN_ON(1);
		break;
	}
	ui_free(obj);
}

void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx,
				      struct iommufd_object *obj)
{
	mutex_lock(&ictx->lock);
	WARN_ON(obj->finalized || ictx->objects[obj->id] != obj);
	iommufd_object_unlink(ictx, obj);
	mutex_unlock(&ictx->lock);
	iommufd_object_destroy(obj);
}

struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, uint32_t id,
					  enum iommufd_object_type type)
{
	struct iommufd_object *obj = NULL;

	mutex_lock(&ictx->lock);
	if (id < ictx->nr_objects)
		obj = ictx->objects[id];
	if (obj && (!obj->finalized || !obj->users ||
		    (type != IOMMUFD_OBJ_ANY && obj->type != type)))
		obj = NULL;
	if (obj)
		obj->users++;
	mutex_unlock(&ictx->lock);
	return obj;
}

void iommufd_put_object(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	mutex_lock(&ictx->lock);
	WARN_ON(obj->users < 2);
	obj->users--;
	mutex_unlock(&ictx->lock);
}

void iommufd_object_get_user(struct iommufd_ctx *ictx,
			     struct iommufd_object *obj)
{
	mutex_lock(&ictx->lock);
	obj->users++;
	mutex_unlock(&ictx->lock);
}

int iommufd_object_remove_user(struct iommufd_ctx *ictx,
			       struct iommufd_object *obj)
{
	mutex_lock(&ictx->lock);
	obj->users--;
	if (obj->users != 1 || ictx->objects[obj->id] != obj) {
		mutex_unlock(&ictx->lock);
		return -EBUSY;
	}
	obj->users = 0;
	iommufd_object_unlink(ictx, obj);
	mutex_unlock(&ictx->lock);
	iommufd_object_destroy(obj);
	return 0;
}

/* IOMMU_DESTROY */
static int iommufd_destroy(struct iommufd_ucmd *ucmd)
{
	struct iommu_destroy *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_object *obj = NULL;

	mutex_lock(&ictx->lock);
	if (cmd->id < ictx->nr_objects)
		obj = ictx->objects[cmd->id];
	if (!obj || !obj->finalized) {
		mutex_unlock(&ictx->lock);
		return -ENOENT;
	}
	if (obj->users != 1) {
		mutex_unlock(&ictx->lock);
		return -EBUSY;
	}
	obj->users = 0;
	iommufd_object_unlink(ictx, obj);
	mutex_unlock(&ictx->lock);
	iommufd_object_destroy(obj);
	return 0;
}

/* ---- the context ---------------------------------------------------------------- */

/* capable(CAP_SYS_RESOURCE) of this process, read once at open. */
static bool process_cap_sys_resource(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {0};

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[CAP_SYS_RESOURCE / 32].effective &
	       (1u << (CAP_SYS_RESOURCE % 32));
}

void iommufd_ctx_set_cap_sys_resource(struct iommufd_ctx *ictx, bool cap)
{
	ictx->cap_sys_resource = cap;
}

void iommufd_ctx_get(struct iommufd_ctx *ictx)
{
	atomic_fetch_add(&ictx->refs, 1);
}

/* Destroy the objects left, leaves first (6.12's iommufd_fops_release). */
static void iommufd_ctx_destroy(struct iommufd_ctx *ictx)
{
	while (ictx->live_objects) {
		unsigned int destroyed = 0;

		for (uint32_t id = 1; id < ictx->nr_objects; id++) {
			struct iommufd_object *obj;

			mutex_lock(&ictx->lock);
			obj = ictx->objects[id];
			if (!obj || obj->users != 1) {
				mutex_unlock(&ictx->lock);
				continue;
			}
			obj->users = 0;
			iommufd_object_unlink(ictx, obj);
			mutex_unlock(&ictx->lock);
			iommufd_object_destroy(obj);
			destroyed++;
		}
		if (WARN_ON(!destroyed))
			break; /* a users count is wrong: leak, not crash */
	}
	ui_free(ictx->objects);
	mutex_destroy(&ictx->lock);
	ui_free(ictx);
}

void iommufd_ctx_put(struct iommufd_ctx *ictx)
{
	if (atomic_fetch_sub(&ictx->refs, 1) == 1)
		iommufd_ctx_destroy(ictx);
}

int iommufd_ctx_alloc(struct mm *mm, struct iommufd_ctx **out)
{
	struct iommufd_ctx *ictx = ui_zalloc(sizeof(*ictx));

	if (!ictx)
		return -ENOMEM;
	mutex_init(&ictx->lock, IOMMUFD_LOCK_CTX);
	ictx->refs = 1;
	ictx->mm = mm;
	ictx->account_mode = IOPT_PAGES_ACCOUNT_USER;
	ictx->cap_sys_resource = process_cap_sys_resource();
	ictx->temp_memory_limit = IOMMUFD_TEST_MEMORY_LIMIT_DEFAULT;
	*out = ictx;
	return 0;
}

struct mm *iommufd_ctx_mm(struct iommufd_ctx *ictx)
{
	return ictx->mm;
}

/* ---- the ioctls ----------------------------------------------------------------- */

int iommufd_ucmd_respond(struct iommufd_ucmd *ucmd, size_t length)
{
	if (copy_to_user(ucmd->ubuffer, ucmd->cmd,
			 min((size_t)ucmd->user_size, length)))
		return -EFAULT;
	return 0;
}

/* IOMMU_OPTION */
static int iommufd_option(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	int ret;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	switch (cmd->option_id) {
	case IOMMU_OPTION_RLIMIT_MODE:
		ret = iommufd_option_rlimit_mode(cmd, ucmd->ictx);
		break;
	case IOMMU_OPTION_HUGE_PAGES:
		ret = iommufd_ioas_option(ucmd);
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (ret)
		return ret;
	if (copy_to_user(&((struct iommu_option *)ucmd->ubuffer)->val64,
			 &cmd->val64, sizeof(cmd->val64)))
		return -EFAULT;
	return 0;
}

union ucmd_buffer {
	struct iommu_destroy destroy;
	struct iommu_ioas_alloc alloc;
	struct iommu_ioas_allow_iovas allow_iovas;
	struct iommu_ioas_copy ioas_copy;
	struct iommu_ioas_iova_ranges iova_ranges;
	struct iommu_ioas_map map;
	struct iommu_ioas_unmap unmap;
	struct iommu_option option;
	struct iommu_hwpt_alloc hwpt;
	struct iommu_vfio_ioas vfio_ioas;
	struct iommu_hwpt_invalidate invalidate;
	struct iommu_hw_info info;
	struct iommu_test_cmd test;
	struct iommu_hwpt_set_dirty_tracking set_dirty_tracking;
	struct iommu_hwpt_get_dirty_bitmap get_dirty_bitmap;
	struct iommu_fault_alloc fault;
};

struct iommufd_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	unsigned int ioctl_num;
	int (*execute)(struct iommufd_ucmd *ucmd);
};

#define IOCTL_OP(_ioctl, _fn, _struct, _last)            \
	[_IOC_NR(_ioctl) - IOMMUFD_CMD_BASE] = {         \
		.size = sizeof(_struct),                 \
		.min_size = offsetofend(_struct, _last), \
		.ioctl_num = _ioctl,                     \
		.execute = _fn,                          \
	}

/* The commands implemented so far; the others are -ENOTTY. */
static const struct iommufd_ioctl_op iommufd_ioctl_ops[] = {
	IOCTL_OP(IOMMU_DESTROY, iommufd_destroy, struct iommu_destroy, id),
	IOCTL_OP(IOMMU_IOAS_ALLOC, iommufd_ioas_alloc_ioctl,
		 struct iommu_ioas_alloc, out_ioas_id),
	IOCTL_OP(IOMMU_IOAS_ALLOW_IOVAS, iommufd_ioas_allow_iovas,
		 struct iommu_ioas_allow_iovas, allowed_iovas),
	IOCTL_OP(IOMMU_IOAS_COPY, iommufd_ioas_copy, struct iommu_ioas_copy,
		 src_iova),
	IOCTL_OP(IOMMU_IOAS_IOVA_RANGES, iommufd_ioas_iova_ranges,
		 struct iommu_ioas_iova_ranges, out_iova_alignment),
	IOCTL_OP(IOMMU_IOAS_MAP, iommufd_ioas_map, struct iommu_ioas_map, iova),
	IOCTL_OP(IOMMU_IOAS_UNMAP, iommufd_ioas_unmap, struct iommu_ioas_unmap,
		 length),
	IOCTL_OP(IOMMU_OPTION, iommufd_option, struct iommu_option, val64),
	IOCTL_OP(IOMMU_VFIO_IOAS, iommufd_vfio_ioas, struct iommu_vfio_ioas,
		 __reserved),
	IOCTL_OP(IOMMU_HWPT_ALLOC, iommufd_hwpt_alloc, struct iommu_hwpt_alloc,
		 __reserved),
	IOCTL_OP(IOMMU_GET_HW_INFO, iommufd_get_hw_info, struct iommu_hw_info,
		 __reserved),
	IOCTL_OP(IOMMU_HWPT_INVALIDATE, iommufd_hwpt_invalidate,
		 struct iommu_hwpt_invalidate, __reserved),
	IOCTL_OP(IOMMU_HWPT_SET_DIRTY_TRACKING, iommufd_hwpt_set_dirty_tracking,
		 struct iommu_hwpt_set_dirty_tracking, __reserved),
	IOCTL_OP(IOMMU_HWPT_GET_DIRTY_BITMAP, iommufd_hwpt_get_dirty_bitmap,
		 struct iommu_hwpt_get_dirty_bitmap, data),
	IOCTL_OP(IOMMU_FAULT_QUEUE_ALLOC, iommufd_fault_alloc,
		 struct iommu_fault_alloc, out_fault_fd),
	IOCTL_OP(IOMMU_TEST_CMD, iommufd_test, struct iommu_test_cmd, last),
};

static long iommufd_fops_ioctl(void *priv, unsigned int cmd, unsigned long arg)
{
	struct iommufd_ctx *ictx = priv;
	const struct iommufd_ioctl_op *op;
	struct iommufd_ucmd ucmd = {0};
	union ucmd_buffer buf;
	unsigned int nr = _IOC_NR(cmd);
	int ret;

	if (nr < IOMMUFD_CMD_BASE ||
	    nr - IOMMUFD_CMD_BASE >= ARRAY_SIZE(iommufd_ioctl_ops))
		return iommufd_vfio_ioctl(ictx, cmd,
					  arg); /* VFIO's, or -ENOTTY */
	ucmd.ictx = ictx;
	ucmd.ubuffer = (void *)arg;
	ucmd.cmd = &buf;
	op = &iommufd_ioctl_ops[nr - IOMMUFD_CMD_BASE];
	/*
	 * One copy in the common case: the whole known struct read at once
	 * (the size is its first word).  When that cannot be read (a short
	 * struct at the end of the user's memory) or the struct is longer,
	 * the kernel's steps one by one: get_user of the size, then
	 * copy_struct_from_user; the errno is the same either way.
	 */
	if (op->execute && op->ioctl_num == cmd &&
	    !copy_from_user(&buf, ucmd.ubuffer, op->size)) {
		memcpy(&ucmd.user_size, &buf, sizeof(ucmd.user_size));
		if (ucmd.user_size < op->min_size)
			return -EINVAL;
		if (ucmd.user_size <= op->size) {
			memset((uint8_t *)&buf + ucmd.user_size, 0,
			       op->size - ucmd.user_size);
			return op->execute(&ucmd);
		}
	}
	if (copy_from_user(&ucmd.user_size, ucmd.ubuffer,
			   sizeof(ucmd.user_size)))
		return -EFAULT;
	if (!op->execute || op->ioctl_num != cmd)
		return -ENOTTY;
	if (ucmd.user_size < op->min_size)
		return -EINVAL;
	ret = copy_struct_from_user(ucmd.cmd, op->size, ucmd.ubuffer,
				    ucmd.user_size);
	if (ret)
		return ret;
	return op->execute(&ucmd);
}

static void iommufd_fops_release(void *priv)
{
	iommufd_ctx_put(priv);
}

const struct ui_file_ops iommufd_fops = {
	.name = "iommufd",
	.ioctl = iommufd_fops_ioctl,
	.release = iommufd_fops_release,
};
