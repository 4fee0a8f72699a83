// SPDX-License-Identifier: MIT
/*
 * An ordinary program using iommufd's fault queue as the kernel's
 * selftests do (tools/testing/selftests/iommu: test_cmd_trigger_iopf),
 * knowing nothing of uiommu; make check runs it under `uiommu exec`.  It
 * opens /dev/iommu, makes an IOAS with a mock device (IOMMU_TEST_CMD),
 * a fault queue (IOMMU_FAULT_QUEUE_ALLOC) and a fault-capable HWPT, moves
 * the device onto it, and then, with the C library's own poll, select and
 * fcntl on the fault fd: nothing readable, a read of the empty queue 0 (and
 * with O_NONBLOCK: the same, 6.12's read never waits); a
 * TRIGGER_IOPF makes it readable, read returns the fault, the response is
 * written, and it is not readable any more.  It knows the 6.12 uAPI from
 * the project's ABI definitions.  Output is TAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <unistd.h>

#include "iommufd/iommufd_test_uapi.h"
#include "iommufd/iommufd_uapi.h"

#include "tap_program.h"

static int readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static int selectable(int fd)
{
	struct timeval tv = {0};
	fd_set rd;

	FD_ZERO(&rd);
	FD_SET(fd, &rd);
	return select(fd + 1, &rd, NULL, NULL, &tv) == 1;
}

int main(void)
{
	struct iommu_ioas_alloc ia = {.size = sizeof(ia)};
	struct iommu_fault_alloc fa = {.size = sizeof(fa)};
	struct iommu_test_cmd md = {.size = sizeof(md),
				    .op = IOMMU_TEST_OP_MOCK_DOMAIN};
	struct iommu_hwpt_alloc ha = {.size = sizeof(ha),
				      .flags = IOMMU_HWPT_FAULT_ID_VALID};
	struct iommu_test_cmd rep = {.size = sizeof(rep),
				     .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE};
	struct iommu_test_cmd trig = {
		.size = sizeof(trig),
		.op = IOMMU_TEST_OP_TRIGGER_IOPF,
		.trigger_iopf = {.pasid = 1,
				 .grpid = 2,
				 .addr = 0xdeadbeaf,
				 .perm = IOMMU_PGFAULT_PERM_READ}};
	struct iommu_hwpt_pgfault rec;
	struct iommu_hwpt_page_response resp = {
		.code = IOMMUFD_PAGE_RESP_SUCCESS};
	int fd, ffd;

	printf("TAP version 13\n1..11\n");
	fd = open("/dev/iommu", O_RDWR);
	check(fd >= 0, "open /dev/iommu");
	check(!ioctl(fd, IOMMU_IOAS_ALLOC, &ia), "IOMMU_IOAS_ALLOC");
	md.id = ia.out_ioas_id;
	check(!ioctl(fd, IOMMU_TEST_CMD, &md), "MOCK_DOMAIN");
	check(!ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &fa), "IOMMU_FAULT_QUEUE_"
							"ALLOC");
	ffd = (int)fa.out_fault_fd;
	ha.dev_id = md.mock_domain.out_idev_id;
	ha.pt_id = ia.out_ioas_id;
	ha.fault_id = fa.out_fault_id;
	rep.id = md.mock_domain.out_stdev_id;
	check(!ioctl(fd, IOMMU_HWPT_ALLOC, &ha) &&
		      (rep.mock_domain_replace.pt_id = ha.out_hwpt_id,
		       !ioctl(fd, IOMMU_TEST_CMD, &rep)),
	      "fault-capable HWPT_ALLOC, the device moved onto it");
	check(!readable(ffd) && !selectable(ffd), "no fault: not readable");
	check(read(ffd, &rec, sizeof(rec)) == 0 &&
		      !fcntl(ffd, F_SETFL, fcntl(ffd, F_GETFL) | O_NONBLOCK) &&
		      read(ffd, &rec, sizeof(rec)) == 0,
	      "a read of an empty queue returns 0 at once, O_NONBLOCK or not");
	trig.trigger_iopf.dev_id = md.mock_domain.out_idev_id;
	check(!ioctl(fd, IOMMU_TEST_CMD, &trig) && readable(ffd) &&
		      selectable(ffd),
	      "TRIGGER_IOPF: poll and select say readable");
	check(read(ffd, &rec, sizeof(rec)) == sizeof(rec) &&
		      rec.addr == 0xdeadbeaf && rec.grpid == 2 &&
		      rec.pasid == 1 && rec.dev_id == ha.dev_id,
	      "read returns the fault");
	resp.cookie = rec.cookie;
	check(write(ffd, &resp, sizeof(resp)) == sizeof(resp) && !readable(ffd),
	      "the response written; not readable any more");
	check(!close(ffd) && !close(fd), "close");
	return n_failed ? 1 : 0;
}
