// SPDX-License-Identifier: MIT
/*
 * mlockall under `uiommu exec` (issue 14: DPDK's testpmd locks all its
 * memory at start).  The library maps the machine's physical memory once,
 * sparse and gigabytes large; mlockall(MCL_CURRENT) must not populate it
 * (the preload makes the call MCL_ONFAULT), or a program that locks its
 * memory spends a minute faulting in pages nobody uses.  After opening the
 * VFIO container (which builds the machine), mlockall(MCL_CURRENT |
 * MCL_FUTURE) succeeds or fails as the real call would for this process
 * (without CAP_IPC_LOCK its limit refuses the direct map: then skipped),
 * and the resident set grows by less than 64 MiB.  Output is TAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static long resident_pages(void)
{
	long size = 0, rss = -1;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &rss) != 2)
		rss = -1;
	fclose(f);
	return rss;
}

int main(void)
{
	long before, after, grown;
	int fd = open("/dev/vfio/vfio", O_RDWR);

	printf("1..2\n");
	printf("%s 1 - the container opens\n", fd >= 0 ? "ok" : "not ok");
	if (fd < 0)
		return 1;
	before = resident_pages();
	if (mlockall(MCL_CURRENT | MCL_FUTURE)) {
		printf("ok 2 # SKIP mlockall: %s (no CAP_IPC_LOCK)\n",
		       strerror(errno));
		return 0;
	}
	after = resident_pages();
	grown = (after - before) * sysconf(_SC_PAGESIZE) >> 20;
	printf("%s 2 - mlockall populates no library memory (%ld MiB)\n",
	       before >= 0 && after >= 0 && grown < 64 ? "ok" : "not ok",
	       grown);
	munlockall();
	close(fd);
	return before >= 0 && after >= 0 && grown < 64 ? 0 : 1;
}
