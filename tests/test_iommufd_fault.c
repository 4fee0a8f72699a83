// SPDX-License-Identifier: MIT
/*
 * The fault queue (src/iommufd/fault.c), issue 15's "I/O page faults
 * through the fault queue: the IOPF of issue 7 reaches user space through
 * the fault fd, the answer goes back through it": IOMMU_FAULT_QUEUE_ALLOC
 * (its errnos, the object's lifetime: the fd and each HWPT hold it),
 * IOMMU_HWPT_ALLOC with IOMMU_HWPT_FAULT_ID_VALID (its errnos), the fault
 * fd's read (whole groups, short buffers, -ESPIPE, an empty queue reads 0
 * and never waits, O_NONBLOCK or not) and write (cookies, codes, partial success), poll
 * readiness, the auto response (INVALID) when the device leaves the HWPT
 * or the queue goes, IOMMU_TEST_OP_TRIGGER_IOPF on mock devices, the
 * emulated SMMU's stalled transactions resolved (RESUME retry) or
 * terminated (abort) through the fd, fail-Nth sweeps over
 * FAULT_QUEUE_ALLOC, a fault-capable HWPT_ALLOC and its attach, and a
 * threaded handler against a faulting device.
 */
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <unistd.h>

#include <uiommu/base.h>
#include "devices/devices.h"
#include "hw/hw.h"
#include "iommu/iommu.h"
#include "iommufd/iommufd.h"
#include "iommufd/iommufd_private.h"
#include "iommufd/iommufd_test_uapi.h"
#include "iommufd/iommufd_uapi.h"
#include "vfio/vfio.h"
#include "vfio/vfio_device.h"

#define PG	 4096UL
#define RW	 (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define FIXED_RW (RW | IOMMU_IOAS_MAP_FIXED_IOVA)
#define REC	 sizeof(struct iommu_hwpt_pgfault)
#define RESP	 sizeof(struct iommu_hwpt_page_response)
#define IOVA	 0x100000UL

struct fx {
	struct platform *p;
	struct mm *mm;
	struct device dev[2]; /* dev[0] can stall, dev[1] cannot */
	struct endpoint *ep[2];
	int fd;
	struct iommufd_ctx *ictx;
};

static int setup_cfg(void **state, bool threaded)
{
	struct platform_config pcfg = {.mem_size = 1ULL << 30,
				       .smmu.threaded = threaded};
	struct fx *f = calloc(1, sizeof(*f));

	assert_int_equal(platform_create(&pcfg, &f->p), 0);
	for (int i = 0; i < 2; i++) {
		snprintf(f->dev[i].name, sizeof(f->dev[i].name), "flt%d", i);
		f->dev[i].sid = 1 + i;
		f->dev[i].fw_flags = i ? 0 : DEVICE_FW_CAN_STALL;
		assert_int_equal(iommu_probe_device(&f->dev[i], f->p->iommu, 0),
				 0);
		assert_int_equal(endpoint_create(f->p->hw, f->dev[i].sid, 0,
						 i ? 0 : ENDPOINT_CAP_STALL,
						 &f->ep[i]),
				 0);
	}
	assert_int_equal(mm_create(f->p->pm, &f->mm), 0);
	mm_set_cap_ipc_lock(f->mm, true);
	f->fd = vfio_fops_open(f->mm, "/dev/iommu", O_RDWR);
	assert_true(f->fd >= 0);
	assert_int_equal(iommufd_ctx_from_fd(f->fd, &f->ictx), 0);
	iommufd_ctx_put(f->ictx); /* the fd keeps it */
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_cfg(state, false);
}

static int setup_threaded(void **state)
{
	return setup_cfg(state, true);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->fd >= 0)
		assert_int_equal(vfio_fops_close(f->fd), 0);
	assert_int_equal(mm_check_invariants(f->mm, stderr), 0);
	mm_destroy(f->mm);
	for (int i = 0; i < 2; i++) {
		endpoint_destroy(f->ep[i]);
		iommu_release_device(&f->dev[i]);
	}
	assert_int_equal(
		mem_check_invariants(f->p->pm, PHYS_OWNER_KERNEL, stderr), 0);
	platform_destroy(f->p);
	free(f);
	return 0;
}

/* ---- helpers ------------------------------------------------------------------------ */

static int fault_alloc(struct fx *f, uint32_t *id, int *fd)
{
	struct iommu_fault_alloc a = {.size = sizeof(a)};
	int ret = test_fops_ioctl(f->fd, IOMMU_FAULT_QUEUE_ALLOC, &a);

	*id = 0;
	*fd = -1;
	if (!ret) {
		*id = a.out_fault_id;
		*fd = (int)a.out_fault_fd;
	}
	return ret;
}

static int hwpt_alloc(struct fx *f, uint32_t flags, uint32_t dev_id,
		      uint32_t pt_id, uint32_t fault_id, uint32_t *out)
{
	struct iommu_hwpt_alloc a = {.size = sizeof(a),
				     .flags = flags,
				     .dev_id = dev_id,
				     .pt_id = pt_id,
				     .fault_id = fault_id};
	int ret = test_fops_ioctl(f->fd, IOMMU_HWPT_ALLOC, &a);

	*out = ret ? 0 : a.out_hwpt_id;
	return ret;
}

static int map(struct fx *f, uint32_t ioas, uint64_t iova, const void *va,
	       uint64_t len)
{
	struct iommu_ioas_map m = {.size = sizeof(m),
				   .flags = FIXED_RW,
				   .ioas_id = ioas,
				   .user_va = (uintptr_t)va,
				   .length = len,
				   .iova = iova};

	return test_fops_ioctl(f->fd, IOMMU_IOAS_MAP, &m);
}

static void *region(struct fx *f, size_t size)
{
	void *va;

	assert_int_equal(mm_mmap(f->mm, size, MM_MAP_POPULATE, &va), 0);
	return va;
}

static ssize_t fread_(int fd, void *buf, size_t n)
{
	ssize_t r = vfio_fops_read(fd, buf, n);

	return r < 0 ? -errno : r;
}

static ssize_t fwrite_(int fd, const void *buf, size_t n)
{
	ssize_t r = vfio_fops_write(fd, buf, n);

	return r < 0 ? -errno : r;
}

static ssize_t respond(int fd, uint32_t cookie, uint32_t code)
{
	struct iommu_hwpt_page_response r = {.cookie = cookie, .code = code};

	return fwrite_(fd, &r, sizeof(r));
}

static short poll_events(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};

	assert_int_equal(poll(&p, 1, 0), 1);
	return p.revents;
}

/* A handler's read: wait until poll says readable (a read never waits),
 * then read. */
static ssize_t fread_ready(int fd, void *buf, size_t n)
{
	while (!(poll_events(fd) & POLLIN))
		usleep(100);
	return fread_(fd, buf, n);
}

static void set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	assert_true(fl >= 0);
	assert_int_equal(
		fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK), 0);
}

/* A mock device on a fresh IOAS; then attached to a fault-capable HWPT of
 * its own (the kselftest's sequence: MOCK_DOMAIN, HWPT_ALLOC, REPLACE). */
struct mock {
	uint32_t ioas, stdev, idev, auto_hwpt, hwpt, fault;
	int ffd;
};

static void mock_attach_fault(struct fx *f, struct mock *m)
{
	struct iommu_test_cmd c = {.size = sizeof(c),
				   .op = IOMMU_TEST_OP_MOCK_DOMAIN};
	uint32_t pt;

	m->ioas = test_ioas_alloc(f->fd);
	c.id = m->ioas;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_TEST_CMD, &c), 0);
	m->stdev = c.mock_domain.out_stdev_id;
	m->auto_hwpt = c.mock_domain.out_hwpt_id;
	m->idev = c.mock_domain.out_idev_id;
	assert_int_equal(fault_alloc(f, &m->fault, &m->ffd), 0);
	assert_int_equal(hwpt_alloc(f, IOMMU_HWPT_FAULT_ID_VALID, m->idev,
				    m->ioas, m->fault, &m->hwpt),
			 0);
	pt = m->hwpt;
	c = (struct iommu_test_cmd){.size = sizeof(c),
				    .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
				    .id = m->stdev,
				    .mock_domain_replace = {.pt_id = pt}};
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_TEST_CMD, &c), 0);
}

static int mock_replace(struct fx *f, struct mock *m, uint32_t pt)
{
	struct iommu_test_cmd c = {.size = sizeof(c),
				   .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
				   .id = m->stdev,
				   .mock_domain_replace = {.pt_id = pt}};

	return test_fops_ioctl(f->fd, IOMMU_TEST_CMD, &c);
}

static int trigger(struct fx *f, uint32_t dev_id, uint32_t pasid,
		   uint32_t grpid, uint64_t addr)
{
	struct iommu_test_cmd c = {
		.size = sizeof(c),
		.op = IOMMU_TEST_OP_TRIGGER_IOPF,
		.trigger_iopf = {.dev_id = dev_id,
				 .pasid = pasid,
				 .grpid = grpid,
				 .perm = IOMMU_PGFAULT_PERM_READ |
					 IOMMU_PGFAULT_PERM_WRITE,
				 .addr = addr}};

	return test_fops_ioctl(f->fd, IOMMU_TEST_CMD, &c);
}

/* The struct device behind a device object id. */
static struct device *dev_of(struct fx *f, uint32_t idev_id)
{
	struct iommufd_object *obj =
		iommufd_get_object(f->ictx, idev_id, IOMMUFD_OBJ_DEVICE);
	struct device *dev;

	assert_non_null(obj);
	dev = ((struct iommufd_device *)obj)->dev; /* obj is its first */
	iommufd_put_object(f->ictx, obj);
	return dev;
}

static unsigned int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* ---- IOMMU_FAULT_QUEUE_ALLOC -------------------------------------------------------- */

/*
 * FAULT_QUEUE_ALLOC: flags are reserved (-EOPNOTSUPP), a size below the
 * struct -EINVAL, the struct unreadable or its answer unwritable -EFAULT
 * (nothing left behind); it makes an object and an fd.  The fd holds the object
 * (IOMMU_DESTROY -EBUSY while it is open) and the context (closing
 * /dev/iommu first leaves the queue working); after its close the object
 * can be destroyed, once.
 */
static void test_fault_alloc(void **state)
{
	struct fx *f = *state;
	struct iommu_fault_alloc a = {.size = sizeof(a), .flags = 1};
	uint32_t id, id2;
	int fd, fd2;

	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_FAULT_QUEUE_ALLOC, &a),
			 -EOPNOTSUPP);
	a = (struct iommu_fault_alloc){.size = 12};
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_FAULT_QUEUE_ALLOC, &a),
			 -EINVAL);
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_FAULT_QUEUE_ALLOC, NULL),
			 -EFAULT);
	/* the answer cannot be written back: no object, no fd left */
	{
		unsigned int fds = open_fds();
		struct iommu_fault_alloc *ro =
			mmap(NULL, PG, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		assert_true(ro != MAP_FAILED);
		ro->size = sizeof(*ro);
		assert_int_equal(mprotect(ro, PG, PROT_READ), 0);
		assert_int_equal(test_fops_ioctl(f->fd, IOMMU_FAULT_QUEUE_ALLOC,
						 ro),
				 -EFAULT);
		assert_int_equal(f->ictx->live_objects, 0);
		assert_int_equal(open_fds(), fds);
		munmap(ro, PG);
	}
	assert_int_equal(fault_alloc(f, &id, &fd), 0);
	assert_int_equal(id, 1);
	assert_true(fd >= 0);
	/* close-on-exec, as get_unused_fd_flags(O_CLOEXEC) */
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(test_iommu_destroy(f->fd, id), -EBUSY);
	assert_int_equal(fault_alloc(f, &id2, &fd2), 0);
	assert_int_equal(id2, 2);
	assert_int_not_equal(fd, fd2);
	/* not an ioctl target */
	assert_int_equal(test_fops_ioctl(fd, IOMMU_DESTROY, &a), -ENOTTY);
	assert_int_equal(vfio_fops_close(fd), 0);
	assert_int_equal(test_iommu_destroy(f->fd, id), 0);
	assert_int_equal(test_iommu_destroy(f->fd, id), -ENOENT);
	/* the context outlives its /dev/iommu while a fault fd is open */
	assert_int_equal(vfio_fops_close(f->fd), 0);
	f->fd = -1;
	set_nonblock(fd2, true);
	{
		struct iommu_hwpt_pgfault rec;

		assert_int_equal(fread_(fd2, &rec, REC), 0);
	}
	assert_int_equal(vfio_fops_close(fd2), 0);
}

/*
 * HWPT_ALLOC with FAULT_ID_VALID: an unknown fault id, or the id of
 * another kind of object, -ENOENT; with NEST_PARENT -EOPNOTSUPP.  The
 * HWPT holds the queue: IOMMU_DESTROY of it -EBUSY until the HWPT goes.
 * Without the flag fault_id is ignored.
 */
static void test_hwpt_fault_id(void **state)
{
	struct fx *f = *state;
	struct iommufd_device *idev;
	uint32_t ioas, fault, hwpt, hwpt2, dev_id;
	int ffd;

	ioas = test_ioas_alloc(f->fd);
	assert_int_equal(
		iommufd_device_bind(f->ictx, &f->dev[0], &dev_id, &idev), 0);
	assert_int_equal(fault_alloc(f, &fault, &ffd), 0);
	assert_int_equal(hwpt_alloc(f, IOMMU_HWPT_FAULT_ID_VALID, dev_id, ioas,
				    999, &hwpt),
			 -ENOENT);
	assert_int_equal(hwpt_alloc(f, IOMMU_HWPT_FAULT_ID_VALID, dev_id, ioas,
				    ioas, &hwpt),
			 -ENOENT);
	assert_int_equal(hwpt_alloc(f,
				    IOMMU_HWPT_FAULT_ID_VALID |
					    IOMMU_HWPT_ALLOC_NEST_PARENT,
				    dev_id, ioas, fault, &hwpt),
			 -EOPNOTSUPP);
	/* the failed ones left nothing behind */
	assert_int_equal(f->ictx->live_objects, 3);
	assert_int_equal(hwpt_alloc(f, 0, dev_id, ioas, 999, &hwpt2), 0);
	assert_int_equal(hwpt_alloc(f, IOMMU_HWPT_FAULT_ID_VALID, dev_id, ioas,
				    fault, &hwpt),
			 0);
	assert_int_equal(vfio_fops_close(ffd), 0);
	assert_int_equal(test_iommu_destroy(f->fd, fault), -EBUSY);
	assert_int_equal(test_iommu_destroy(f->fd, hwpt), 0);
	assert_int_equal(test_iommu_destroy(f->fd, fault), 0);
	assert_int_equal(test_iommu_destroy(f->fd, hwpt2), 0);
	iommufd_device_unbind(idev);
}

/*
 * Attaching a device that can neither stall nor issue PRI to a
 * fault-capable HWPT fails as enabling IOMMU_DEV_FEAT_IOPF does (-ENODEV)
 * and leaves it detached; the same device attaches to a plain HWPT.  A
 * stall-capable one attaches with IOPF on and its fault handler
 * registered; detaching turns both off.
 */
static void test_attach_iopf_capable(void **state)
{
	struct fx *f = *state;
	struct iommufd_device *idev0, *idev1;
	uint32_t ioas, fault, hwpt, id0, id1, pt, flags;
	int ffd;

	ioas = test_ioas_alloc(f->fd);
	assert_int_equal(iommufd_device_bind(f->ictx, &f->dev[0], &id0, &idev0),
			 0);
	assert_int_equal(iommufd_device_bind(f->ictx, &f->dev[1], &id1, &idev1),
			 0);
	assert_int_equal(fault_alloc(f, &fault, &ffd), 0);
	assert_int_equal(hwpt_alloc(f, IOMMU_HWPT_FAULT_ID_VALID, id1, ioas,
				    fault, &hwpt),
			 0);
	pt = hwpt;
	assert_int_equal(iommufd_device_attach(idev1, &pt), -ENODEV);
	assert_null(iommu_get_domain_for_dev(&f->dev[1]));
	assert_int_equal(iommu_get_device_fault_handler_flags(&f->dev[1],
							      &flags),
			 -EINVAL);
	pt = ioas;
	assert_int_equal(iommufd_device_attach(idev1, &pt), 0);
	pt = hwpt;
	assert_int_equal(iommufd_device_attach(idev0, &pt), 0);
	assert_int_equal(
		iommu_get_device_fault_handler_flags(&f->dev[0], &flags), 0);
	assert_int_equal(idev0->iopf_enabled, 1);
	iommufd_device_detach(idev0);
	assert_int_equal(iommu_get_device_fault_handler_flags(&f->dev[0],
							      &flags),
			 -EINVAL);
	assert_int_equal(idev0->iopf_enabled, 0);
	/* IOPF can be turned on again: it was really off */
	assert_int_equal(
		iommu_dev_enable_feature(&f->dev[0], IOMMU_DEV_FEAT_IOPF), 0);
	assert_int_equal(
		iommu_dev_disable_feature(&f->dev[0], IOMMU_DEV_FEAT_IOPF), 0);
	iommufd_device_unbind(idev0);
	iommufd_device_unbind(idev1);
	assert_int_equal(vfio_fops_close(ffd), 0);
}

/* ---- the fault fd: read, write, poll ------------------------------------------------------ */

/*
 * TRIGGER_IOPF reaches the queue of the HWPT the mock device is attached
 * to: poll says EPOLLIN (and always EPOLLOUT), read returns the record
 * (flags LAST_PAGE | PASID_VALID, the device's id, pasid, grpid, perm,
 * addr, length 0, cookie 1), poll no longer says EPOLLIN; the response
 * goes to the core (no request pending after it); the same cookie again
 * -EINVAL.  Its errnos: an unknown device -ENOENT, not a mock one
 * -EINVAL.  A device on a plain HWPT has no queue: nothing arrives.
 */
static void test_trigger_roundtrip(void **state)
{
	struct fx *f = *state;
	struct iommu_hwpt_pgfault rec[2];
	struct iommufd_device *idev;
	struct mock m;
	struct device *dev;
	uint32_t id;

	mock_attach_fault(f, &m);
	dev = dev_of(f, m.idev);
	assert_int_equal(poll_events(m.ffd), POLLOUT);
	assert_int_equal(trigger(f, m.idev, 1, 2, 0xdeadbeaf), 0);
	assert_int_equal(poll_events(m.ffd), POLLIN | POLLOUT);
	assert_int_equal(iommu_pending_page_requests(dev), 1);
	assert_int_equal(fread_(m.ffd, rec, sizeof(rec)), REC);
	assert_int_equal(rec[0].flags, IOMMU_PGFAULT_FLAGS_LAST_PAGE |
					       IOMMU_PGFAULT_FLAGS_PASID_VALID);
	assert_int_equal(rec[0].dev_id, m.idev);
	assert_int_equal(rec[0].pasid, 1);
	assert_int_equal(rec[0].grpid, 2);
	assert_int_equal(rec[0].perm,
			 IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE);
	assert_int_equal(rec[0].addr, 0xdeadbeaf);
	assert_int_equal(rec[0].length, 0);
	assert_int_equal(rec[0].cookie, 1);
	assert_int_equal(poll_events(m.ffd), POLLOUT);
	assert_int_equal(iommu_pending_page_requests(dev), 1);
	assert_int_equal(respond(m.ffd, 1, IOMMUFD_PAGE_RESP_SUCCESS), RESP);
	assert_int_equal(iommu_pending_page_requests(dev), 0);
	assert_int_equal(respond(m.ffd, 1, IOMMUFD_PAGE_RESP_SUCCESS), -EINVAL);
	/* pasid 0 is IOMMU_NO_PASID: no PASID_VALID */
	assert_int_equal(trigger(f, m.idev, 0, 3, 0x1000), 0);
	assert_int_equal(fread_(m.ffd, rec, REC), REC);
	assert_int_equal(rec[0].flags, IOMMU_PGFAULT_FLAGS_LAST_PAGE);
	assert_int_equal(rec[0].cookie, 1); /* the lowest free again */
	assert_int_equal(respond(m.ffd, 1, IOMMUFD_PAGE_RESP_INVALID), RESP);
	/* errnos */
	assert_int_equal(trigger(f, 999, 0, 0, 0), -ENOENT);
	assert_int_equal(iommufd_device_bind(f->ictx, &f->dev[0], &id, &idev),
			 0);
	assert_int_equal(trigger(f, id, 0, 0, 0), -EINVAL);
	iommufd_device_unbind(idev);
	/* back on the auto domain: no queue, the trigger goes nowhere */
	assert_int_equal(mock_replace(f, &m, m.ioas), 0);
	assert_int_equal(trigger(f, m.idev, 0, 4, 0x2000), 0);
	assert_int_equal(iommu_pending_page_requests(dev), 0);
	assert_int_equal(poll_events(m.ffd), POLLOUT);
	assert_int_equal(vfio_fops_close(m.ffd), 0);
}

/*
 * read: a file position or a count not a multiple of the record -ESPIPE
 * (pread at an offset too); whole groups only: a group of two requests
 * (a partial one, then the last, same grpid) does not fit one record
 * (-EINVAL, still queued), fits two, both with the group's cookie; a
 * buffer for that group alone leaves the next group for the next read.  A zero-length read returns 0.  O_NONBLOCK on an empty
 * queue reads 0, blocking or not (6.12's read never waits).
 */
static void test_read_rules(void **state)
{
	struct fx *f = *state;
	struct iommu_hwpt_pgfault rec[4];
	struct iommu_fault part = {.type = IOMMU_FAULT_PAGE_REQ,
				   .prm = {.grpid = 7, .addr = 0x3000}};
	struct mock m;
	struct device *dev;

	mock_attach_fault(f, &m);
	dev = dev_of(f, m.idev);
	assert_int_equal(fread_(m.ffd, rec, 0), 0);
	assert_int_equal(fread_(m.ffd, rec, REC - 1), -ESPIPE);
	assert_int_equal(fread_(m.ffd, rec, REC + 1), -ESPIPE);
	assert_int_equal(vfio_fops_pread(m.ffd, rec, REC, REC), -1);
	assert_int_equal(errno, ESPIPE);
	assert_int_equal(fread_(m.ffd, rec, REC), 0);
	set_nonblock(m.ffd, true);
	assert_int_equal(fread_(m.ffd, rec, REC), 0);
	/* a group of two */
	assert_int_equal(iommu_report_device_fault(dev, &part), 0);
	assert_int_equal(poll_events(m.ffd), POLLOUT); /* not complete yet */
	assert_int_equal(trigger(f, m.idev, 0, 7, 0x4000), 0);
	assert_int_equal(poll_events(m.ffd), POLLIN | POLLOUT);
	assert_int_equal(fread_(m.ffd, rec, REC), -EINVAL);
	assert_int_equal(poll_events(m.ffd), POLLIN | POLLOUT);
	/* a zero-length read with groups waiting: none fits (6.12) */
	assert_int_equal(fread_(m.ffd, rec, 0), -EINVAL);
	/* and a single one behind it */
	assert_int_equal(trigger(f, m.idev, 0, 8, 0x5000), 0);
	assert_int_equal(fread_(m.ffd, rec, 2 * REC), 2 * REC);
	assert_int_equal(rec[0].addr, 0x3000);
	assert_int_equal(rec[0].flags, 0);
	assert_int_equal(rec[1].addr, 0x4000);
	assert_int_equal(rec[1].flags, IOMMU_PGFAULT_FLAGS_LAST_PAGE);
	assert_int_equal(rec[0].cookie, 1);
	assert_int_equal(rec[1].cookie, 1);
	assert_int_equal(fread_(m.ffd, rec, 3 * REC), REC);
	assert_int_equal(rec[0].addr, 0x5000);
	assert_int_equal(rec[0].cookie, 2);
	assert_int_equal(fread_(m.ffd, rec, REC), 0);
	/* bad user memory: -EFAULT, the group stays queued */
	assert_int_equal(trigger(f, m.idev, 0, 9, 0x6000), 0);
	assert_int_equal(fread_(m.ffd, (void *)16, REC), -EFAULT);
	assert_int_equal(fread_(m.ffd, rec, REC), REC);
	assert_int_equal(rec[0].cookie, 3);
	assert_int_equal(iommu_pending_page_requests(dev), 3);
	{
		struct iommu_hwpt_page_response r[3] = {
			{.cookie = 1}, {.cookie = 2}, {.cookie = 3}};

		assert_int_equal(fwrite_(m.ffd, r, sizeof(r)), sizeof(r));
	}
	assert_int_equal(iommu_pending_page_requests(dev), 0);
	assert_int_equal(vfio_fops_close(m.ffd), 0);
}

/*
 * write: a file position or a count not a multiple of the response
 * -ESPIPE; a code other than SUCCESS and INVALID, or an unknown cookie
 * -EINVAL; several at once stop at the first bad one, returning what was
 * done before it (that one answered, the bad one's group still waiting);
 * a zero-length write 0.
 */
static void test_write_rules(void **state)
{
	struct fx *f = *state;
	struct iommu_hwpt_pgfault rec[2];
	struct iommu_hwpt_page_response r[2];
	struct mock m;
	struct device *dev;

	mock_attach_fault(f, &m);
	dev = dev_of(f, m.idev);
	assert_int_equal(fwrite_(m.ffd, r, 0), 0);
	assert_int_equal(fwrite_(m.ffd, r, RESP - 1), -ESPIPE);
	assert_int_equal(vfio_fops_pwrite(m.ffd, r, RESP, RESP), -1);
	assert_int_equal(errno, ESPIPE);
	assert_int_equal(respond(m.ffd, 0, IOMMUFD_PAGE_RESP_SUCCESS), -EINVAL);
	assert_int_equal(respond(m.ffd, 1, IOMMUFD_PAGE_RESP_SUCCESS), -EINVAL);
	assert_int_equal(trigger(f, m.idev, 0, 1, 0x1000), 0);
	assert_int_equal(trigger(f, m.idev, 0, 2, 0x2000), 0);
	assert_int_equal(fread_(m.ffd, rec, sizeof(rec)), sizeof(rec));
	assert_int_equal(respond(m.ffd, 1, 2), -EINVAL); /* FAILURE: not ours */
	assert_int_equal(fwrite_(m.ffd, (void *)16, RESP), -EFAULT);
	r[0] = (struct iommu_hwpt_page_response){.cookie = 1};
	r[1] = (struct iommu_hwpt_page_response){.cookie = 9};
	assert_int_equal(fwrite_(m.ffd, r, sizeof(r)), RESP);
	assert_int_equal(iommu_pending_page_requests(dev), 1);
	assert_int_equal(respond(m.ffd, 2, IOMMUFD_PAGE_RESP_INVALID), RESP);
	assert_int_equal(iommu_pending_page_requests(dev), 0);
	assert_int_equal(vfio_fops_close(m.ffd), 0);
}

/*
 * select and epoll-style readers see the same readiness as poll: the
 * fault fd is readable exactly while a group waits to be read.
 */
static void test_select(void **state)
{
	struct fx *f = *state;
	struct iommu_hwpt_pgfault rec;
	struct timeval tv = {0};
	struct mock m;
	fd_set rd;

	mock_attach_fault(f, &m);
	FD_ZERO(&rd);
	FD_SET(m.ffd, &rd);
	assert_int_equal(select(m.ffd + 1, &rd, NULL, NULL, &tv), 0);
	assert_int_equal(trigger(f, m.idev, 0, 1, 0x1000), 0);
	assert_int_equal(trigger(f, m.idev, 0, 2, 0x2000), 0);
	FD_SET(m.ffd, &rd);
	assert_int_equal(select(m.ffd + 1, &rd, NULL, NULL, &tv), 1);
	assert_int_equal(fread_(m.ffd, &rec, REC), REC);
	FD_SET(m.ffd, &rd);
	assert_int_equal(select(m.ffd + 1, &rd, NULL, NULL, &tv), 1);
	assert_int_equal(fread_(m.ffd, &rec, REC), REC);
	FD_SET(m.ffd, &rd);
	assert_int_equal(select(m.ffd + 1, &rd, NULL, NULL, &tv), 0);
	assert_int_equal(vfio_fops_close(m.ffd), 0);
}

/* ---- the auto response ---------------------------------------------------------------- */

/*
 * Detach with faults pending (6.12's auto response): the device replaced
 * onto another HWPT has every request of its old queue answered INVALID,
 * queued or read; the queue is empty (no EPOLLIN) and the read one's
 * cookie is gone (-EINVAL).
 */
static void test_detach_pending(void **state)
{
	struct fx *f = *state;
	struct iommu_hwpt_pgfault rec;
	struct mock m;
	struct device *dev;

	mock_attach_fault(f, &m);
	dev = dev_of(f, m.idev);
	assert_int_equal(trigger(f, m.idev, 0, 1, 0x1000), 0);
	assert_int_equal(trigger(f, m.idev, 0, 2, 0x2000), 0);
	assert_int_equal(fread_(m.ffd, &rec, REC), REC);
	assert_int_equal(iommu_pending_page_requests(dev), 2);
	assert_int_equal(mock_replace(f, &m, m.ioas), 0);
	assert_int_equal(iommu_pending_page_requests(dev), 0);
	assert_int_equal(poll_events(m.ffd), POLLOUT);
	assert_int_equal(respond(m.ffd, rec.cookie, IOMMUFD_PAGE_RESP_SUCCESS),
			 -EINVAL);
	/* and back: the queue works again */
	assert_int_equal(mock_replace(f, &m, m.hwpt), 0);
	assert_int_equal(trigger(f, m.idev, 0, 3, 0x3000), 0);
	assert_int_equal(fread_(m.ffd, &rec, REC), REC);
	assert_int_equal(rec.grpid, 3);
	/* the device's destroy (unbind) answers it too */
	assert_int_equal(test_iommu_destroy(f->fd, m.stdev), 0);
	assert_int_equal(vfio_fops_close(m.ffd), 0);
}

/* ---- the SMMU's stalls through the fd --------------------------------------------------- */

struct dma_job {
	struct endpoint *ep;
	uint64_t iova;
	uint32_t val;
	unsigned int pages;
	int ret;
};

static void *dma_thread(void *arg)
{
	struct dma_job *j = arg;

	j->ret = 0;
	for (unsigned int i = 0; i < j->pages && !j->ret; i++)
		j->ret = endpoint_dma_write(j->ep, j->iova + i * PG, &j->val,
					    sizeof(j->val));
	return NULL;
}

/* dev[0] bound and attached to a fault-capable HWPT over a fresh IOAS. */
struct smmu_setup {
	struct iommufd_device *idev;
	uint32_t ioas, fault, hwpt, dev_id;
	int ffd;
};

static void smmu_attach_fault(struct fx *f, struct smmu_setup *s)
{
	uint32_t pt;

	s->ioas = test_ioas_alloc(f->fd);
	assert_int_equal(iommufd_device_bind(f->ictx, &f->dev[0], &s->dev_id,
					     &s->idev),
			 0);
	assert_int_equal(fault_alloc(f, &s->fault, &s->ffd), 0);
	assert_int_equal(hwpt_alloc(f, IOMMU_HWPT_FAULT_ID_VALID, s->dev_id,
				    s->ioas, s->fault, &s->hwpt),
			 0);
	pt = s->hwpt;
	assert_int_equal(iommufd_device_attach(s->idev, &pt), 0);
}

/*
 * The real path: the device's write to an unmapped IOVA stalls in the
 * SMMU; the stall reaches the fault fd (poll says readable, then read);
 * the handler maps the page (IOAS_MAP) and answers SUCCESS: the SMMU
 * resumes with retry and the write lands in the user's page.  Answered
 * INVALID, the stall is terminated: the write fails (-EFAULT).
 */
static void test_smmu_stall(void **state)
{
	struct fx *f = *state;
	struct dma_job j = {
		.ep = f->ep[0], .iova = IOVA, .val = 0xfeed, .pages = 1};
	struct iommu_hwpt_pgfault rec;
	struct smmu_setup s;
	pthread_t t;
	uint32_t *va = region(f, PG);

	smmu_attach_fault(f, &s);
	assert_int_equal(pthread_create(&t, NULL, dma_thread, &j), 0);
	assert_int_equal(fread_ready(s.ffd, &rec, REC), REC);
	assert_int_equal(rec.dev_id, s.dev_id);
	assert_int_equal(rec.addr & ~(PG - 1), IOVA);
	assert_true(rec.perm & IOMMU_PGFAULT_PERM_WRITE);
	assert_true(rec.flags & IOMMU_PGFAULT_FLAGS_LAST_PAGE);
	assert_int_equal(map(f, s.ioas, IOVA, va, PG), 0);
	assert_int_equal(respond(s.ffd, rec.cookie, IOMMUFD_PAGE_RESP_SUCCESS),
			 RESP);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(j.ret, 0);
	assert_int_equal(*va, 0xfeed);
	/* INVALID terminates it */
	j.iova = IOVA + 16 * PG;
	assert_int_equal(pthread_create(&t, NULL, dma_thread, &j), 0);
	assert_int_equal(fread_ready(s.ffd, &rec, REC), REC);
	assert_int_equal(respond(s.ffd, rec.cookie, IOMMUFD_PAGE_RESP_INVALID),
			 RESP);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(j.ret, -EFAULT);
	iommufd_device_unbind(s.idev);
	assert_int_equal(vfio_fops_close(s.ffd), 0);
}

/*
 * Close with faults pending: closing the fault fd leaves the stalled
 * request queued (6.12: the HWPT and device still hold the queue), and
 * the device waits; the device leaving (unbind) answers it INVALID, so
 * the stalled write fails instead of waiting forever.  Closing
 * /dev/iommu then destroys the queue with the context.
 */
static void test_close_pending(void **state)
{
	struct fx *f = *state;
	struct dma_job j = {.ep = f->ep[0], .iova = IOVA, .val = 1, .pages = 1};
	struct smmu_setup s;
	pthread_t t;

	smmu_attach_fault(f, &s);
	assert_int_equal(pthread_create(&t, NULL, dma_thread, &j), 0);
	while (!(poll_events(s.ffd) & POLLIN))
		usleep(100);
	assert_int_equal(vfio_fops_close(s.ffd), 0);
	assert_int_equal(iommu_pending_page_requests(&f->dev[0]), 1);
	assert_int_equal(test_iommu_destroy(f->fd, s.fault),
			 -EBUSY); /* the HWPT's */
	iommufd_device_unbind(s.idev);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(j.ret, -EFAULT);
	assert_int_equal(iommu_pending_page_requests(&f->dev[0]), 0);
	assert_int_equal(vfio_fops_close(f->fd), 0);
	f->fd = -1;
}

/*
 * Closing everything with a request queued: the context's teardown (the
 * selftest object, whose unbind answers it, the HWPT, then the queue)
 * frees all of it (the sanitizer builds see no leak).
 */
static void test_ctx_close_pending(void **state)
{
	struct fx *f = *state;
	struct mock m;

	mock_attach_fault(f, &m);
	assert_int_equal(trigger(f, m.idev, 0, 1, 0x1000), 0);
	assert_int_equal(vfio_fops_close(m.ffd), 0);
	assert_int_equal(vfio_fops_close(f->fd), 0);
	f->fd = -1;
}

/* ---- fail-Nth ------------------------------------------------------------------------ */

struct sweep {
	struct fx *f;
	struct smmu_setup s;
	unsigned int objects, fds;
	uint32_t out;
	int ffd;
};

static int sweep_fault_alloc(void *ctx)
{
	struct sweep *w = ctx;

	return fault_alloc(w->f, &w->out, &w->ffd);
}

static void sweep_fault_alloc_undo(void *ctx)
{
	struct sweep *w = ctx;

	assert_int_equal(vfio_fops_close(w->ffd), 0);
	assert_int_equal(test_iommu_destroy(w->f->fd, w->out), 0);
}

static void sweep_fault_alloc_check(void *ctx)
{
	struct sweep *w = ctx;

	assert_int_equal(w->f->ictx->live_objects, w->objects);
	assert_int_equal(open_fds(), w->fds);
}

/* FAULT_QUEUE_ALLOC: every failure leaves no object and no fd behind. */
static void test_fail_sweep_fault_alloc(void **state)
{
	struct sweep w = {.f = *state};

	w.objects = w.f->ictx->live_objects;
	w.fds = open_fds();
	assert_true(test_fail_sweep(sweep_fault_alloc, sweep_fault_alloc_undo,
				    sweep_fault_alloc_check, &w, 0) > 0);
}

static int sweep_hwpt(void *ctx)
{
	struct sweep *w = ctx;

	return hwpt_alloc(w->f, IOMMU_HWPT_FAULT_ID_VALID, w->s.dev_id,
			  w->s.ioas, w->s.fault, &w->out);
}

static void sweep_hwpt_undo(void *ctx)
{
	struct sweep *w = ctx;

	assert_int_equal(test_iommu_destroy(w->f->fd, w->out), 0);
}

static void sweep_hwpt_check(void *ctx)
{
	struct sweep *w = ctx;

	struct iommufd_object *obj;

	assert_int_equal(w->f->ictx->live_objects, w->objects);
	/* no user of the queue left by it: the table's, the fd's, the
	 * first HWPT's and ours */
	obj = iommufd_get_object(w->f->ictx, w->s.fault, IOMMUFD_OBJ_FAULT);
	assert_non_null(obj);
	assert_int_equal(obj->users, 4);
	iommufd_put_object(w->f->ictx, obj);
}

static int sweep_attach(void *ctx)
{
	struct sweep *w = ctx;
	uint32_t pt = w->s.hwpt;

	return iommufd_device_attach(w->s.idev, &pt);
}

static void sweep_attach_undo(void *ctx)
{
	struct sweep *w = ctx;

	iommufd_device_detach(w->s.idev);
}

static void sweep_attach_check(void *ctx)
{
	struct sweep *w = ctx;
	unsigned int flags;

	assert_null(iommu_get_domain_for_dev(&w->f->dev[0]));
	assert_null(w->s.idev->fault_handle);
	assert_int_equal(w->s.idev->iopf_enabled, 0);
	assert_int_equal(iommu_get_device_fault_handler_flags(&w->f->dev[0],
							      &flags),
			 -EINVAL);
}

/*
 * HWPT_ALLOC with a fault id and the attach of a stall-capable device to
 * it: every failure leaves no HWPT, no attachment, IOPF off and no fault
 * handler behind; the queue then still delivers a stall.
 */
static void test_fail_sweep_hwpt_attach(void **state)
{
	struct sweep w = {.f = *state};
	struct dma_job j = {
		.ep = w.f->ep[0], .iova = IOVA, .val = 3, .pages = 1};
	struct iommu_hwpt_pgfault rec;
	uint32_t pt;
	pthread_t t;
	void *va = region(w.f, PG);

	smmu_attach_fault(w.f, &w.s);
	iommufd_device_detach(w.s.idev);
	w.objects = w.f->ictx->live_objects;
	assert_true(test_fail_sweep(sweep_hwpt, sweep_hwpt_undo,
				    sweep_hwpt_check, &w, 0) > 0);
	assert_true(test_fail_sweep(sweep_attach, sweep_attach_undo,
				    sweep_attach_check, &w, 0) > 0);
	pt = w.s.hwpt;
	assert_int_equal(iommufd_device_attach(w.s.idev, &pt), 0);
	assert_int_equal(pthread_create(&t, NULL, dma_thread, &j), 0);
	assert_int_equal(fread_ready(w.s.ffd, &rec, REC), REC);
	assert_int_equal(map(w.f, w.s.ioas, IOVA, va, PG), 0);
	assert_int_equal(
		respond(w.s.ffd, rec.cookie, IOMMUFD_PAGE_RESP_SUCCESS), RESP);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(j.ret, 0);
	iommufd_device_unbind(w.s.idev);
	assert_int_equal(vfio_fops_close(w.s.ffd), 0);
}

/* ---- threads ------------------------------------------------------------------------ */

#define THREAD_PAGES 64

struct handler {
	struct fx *f;
	struct smmu_setup *s;
	uint32_t *va;
	unsigned int faults;
	bool stop;
	pthread_mutex_t lock;
};

/* A user-space fault handler: poll, read what waits, map, answer. */
static void *handler_thread(void *arg)
{
	struct handler *h = arg;

	for (;;) {
		struct pollfd p = {.fd = h->s->ffd, .events = POLLIN};
		struct iommu_hwpt_pgfault rec[8];
		ssize_t n;
		bool stop;

		pthread_mutex_lock(&h->lock);
		stop = h->stop;
		pthread_mutex_unlock(&h->lock);
		if (stop)
			return NULL;
		if (poll(&p, 1, 10) != 1)
			continue;
		n = fread_(h->s->ffd, rec, sizeof(rec));
		if (n == 0) /* another wake-up took them */
			continue;
		assert_true(n > 0);
		for (ssize_t i = 0; i < n / (ssize_t)REC; i++) {
			uint64_t iova = rec[i].addr & ~(PG - 1);
			int ret = map(h->f, h->s->ioas, iova,
				      (uint8_t *)h->va + (iova - IOVA), PG);

			assert_true(ret == 0 || ret == -EEXIST);
			assert_int_equal(respond(h->s->ffd, rec[i].cookie,
						 IOMMUFD_PAGE_RESP_SUCCESS),
					 RESP);
			h->faults++;
		}
	}
}

/*
 * A handler thread reading the fault fd (non-blocking, woken by poll)
 * against a device thread faulting on every page in turn, with the
 * SMMU's queues on their own thread: every page faults once, every write
 * lands, no fault is left pending (run under TSan: no race between the
 * handler, the SMMU's interrupt thread and the device).
 */
static void test_threaded_handler(void **state)
{
	struct fx *f = *state;
	struct handler h = {.f = f};
	struct dma_job j = {.ep = f->ep[0],
			    .iova = IOVA,
			    .val = 0x77,
			    .pages = THREAD_PAGES};
	struct smmu_setup s;
	pthread_t th, td;

	h.s = &s;
	h.va = region(f, THREAD_PAGES * PG);
	pthread_mutex_init(&h.lock, NULL);
	smmu_attach_fault(f, &s);
	set_nonblock(s.ffd, true);
	assert_int_equal(pthread_create(&th, NULL, handler_thread, &h), 0);
	assert_int_equal(pthread_create(&td, NULL, dma_thread, &j), 0);
	assert_int_equal(pthread_join(td, NULL), 0);
	pthread_mutex_lock(&h.lock);
	h.stop = true;
	pthread_mutex_unlock(&h.lock);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(j.ret, 0);
	assert_int_equal(h.faults, THREAD_PAGES);
	for (unsigned int i = 0; i < THREAD_PAGES; i++)
		assert_int_equal(h.va[i * PG / sizeof(uint32_t)], 0x77);
	assert_int_equal(iommu_pending_page_requests(&f->dev[0]), 0);
	iommufd_device_unbind(s.idev);
	assert_int_equal(vfio_fops_close(s.ffd), 0);
	pthread_mutex_destroy(&h.lock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fault_alloc, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hwpt_fault_id, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_attach_iopf_capable, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_trigger_roundtrip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_read_rules, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_write_rules, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_select, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detach_pending, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_smmu_stall, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_close_pending, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ctx_close_pending, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fail_sweep_fault_alloc,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_sweep_hwpt_attach,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_threaded_handler,
						setup_threaded, teardown),
	};

	return test_run("iommufd_fault", tests, ARRAY_SIZE_T(tests));
}
