// SPDX-License-Identifier: MIT
/*
 * The kernel's per-thread fault-injection file under `uiommu exec` (issue
 * 15: "Fault injection through the same per-thread file the kernel uses
 * (/proc/thread-self/fail-nth and /proc/self/task/TID/fail-nth) drives
 * uiommu's fail-the-Nth-allocation switch").  A program that knows nothing
 * of uiommu: it sweeps a VFIO type1 setup the way the kernel's
 * Documentation/fault-injection/fault-injection.rst sweeps socketpair(),
 * and checks the file's answers as fs/proc/base.c gives them.  make check
 * runs it through `uiommu exec`.  Output is TAP.
 *
 * Behaviours: writing N makes the N-th injectable call of that thread fail
 * (the VFIO call returns an error) and the file then reads "0\n"; unfired,
 * it reads the count left; the sweep ends with a run that succeeds; calls
 * of other threads do not count; /proc/self/task/TID/fail-nth arms thread
 * TID; a fork's child starts disarmed; the write's parsing (kstrtouint:
 * base 0, '+', one newline, EINVAL, ERANGE); lseek is ESPIPE; a read-only
 * fd cannot write (EBADF); a TID of no thread is ENOENT.  The debugfs
 * attributes as iommufd_fail_nth prepares them: opendir of
 * /sys/kernel/debug/, openat relative to it, readdir of the fail*
 * directories; uiommu's values (ignore-gfp-wait N, verbose 0) read back,
 * writing them succeeds, writing another is EINVAL; unserved attributes
 * are ENOENT.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap_program.h"

#define BUF (64 * 1024)

static void *buf;

/* A type1 setup and teardown: 0 when every call succeeded, else -1. */
static int vfio_setup(void)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)buf,
		.iova = 0x100000,
		.size = BUF,
	};
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = 0x100000,
		.size = BUF,
	};
	int container, group = -1, ret = -1;

	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		return -1;
	group = open("/dev/vfio/0", O_RDWR);
	if (group < 0)
		goto out;
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		goto out;
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		goto out;
	if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map))
		goto out;
	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) || unmap.size != BUF)
		goto out;
	ret = 0;
out:
	if (group >= 0)
		close(group);
	close(container);
	return ret;
}

static int open_nth(const char *path, int flags)
{
	return open(path, flags);
}

static int put(int fd, const char *s)
{
	return (int)pwrite(fd, s, strlen(s), 0);
}

/* the file's answer as a number; -1 on a short or odd read */
static long get(int fd)
{
	char b[32] = {0};
	ssize_t n = pread(fd, b, sizeof(b) - 1, 0);
	char *end;
	long v;

	if (n < 2 || b[n - 1] != '\n')
		return -1;
	v = strtol(b, &end, 10);
	return *end == '\n' ? v : -1;
}

static pid_t tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* ---- another thread ------------------------------------------------------- */

static pthread_barrier_t bar;
static volatile pid_t other_tid;
static int other_result, other_read;

static void *other_setup(void *arg)
{
	(void)arg;
	other_result = vfio_setup();
	return NULL;
}

/* waits to be armed from the main thread, then runs the setup */
static void *armed_by_main(void *arg)
{
	int fd;

	(void)arg;
	other_tid = tid();
	pthread_barrier_wait(&bar); /* the main thread arms us */
	pthread_barrier_wait(&bar);
	other_result = vfio_setup();
	fd = open_nth("/proc/thread-self/fail-nth", O_RDONLY);
	other_read = fd < 0 ? -2 : (int)get(fd);
	if (fd >= 0)
		close(fd);
	return NULL;
}

int main(void)
{
	char path[64];
	int fd, i, fired, failed_runs = 0, ok;
	pthread_t t;
	pid_t pid;
	int st;

	buf = mmap(NULL, BUF, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("1..28\n");
	check(vfio_setup() == 0, "the type1 setup succeeds unarmed");

	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth", tid());
	fd = open_nth(path, O_RDWR);
	check(fd >= 0, "open /proc/self/task/TID/fail-nth O_RDWR");
	check(get(fd) == 0, "unarmed, it reads \"0\\n\"");

	/* the documentation's sweep: 1, 2, ... until the setup succeeds */
	ok = 1;
	fired = 0;
	for (i = 1; i < 2000; i++) {
		char n[16];
		int r;

		snprintf(n, sizeof(n), "%d", i);
		if (put(fd, n) != (int)strlen(n)) {
			ok = 0;
			break;
		}
		r = vfio_setup();
		if (get(fd) != 0) {
			/* not injected: the setup ran through, disarm */
			put(fd, "0");
			ok &= r == 0;
			break;
		}
		fired++;
		/* a failure the calls do not report (in a close) is allowed,
		 * as the kernel's sweeps allow it */
		failed_runs += r != 0;
	}
	check(ok && failed_runs > 0 && i < 2000 && vfio_setup() == 0,
	      "sweep: injected runs fail, then one runs through, nothing left");
	printf("# %d injection points in the type1 setup, %d failed it\n",
	       fired, failed_runs);

	put(fd, "1");
	check(vfio_setup() != 0 && get(fd) == 0, "N = 1: the first call fails, "
						 "the file reads 0");
	put(fd, "100000");
	check(vfio_setup() == 0 && get(fd) > 0 && get(fd) < 100000,
	      "N past the calls made: not injected, it reads the count left");
	put(fd, "0");
	check(get(fd) == 0, "writing 0 disarms");

	/* another thread's calls do not count against ours */
	put(fd, "1");
	pthread_create(&t, NULL, other_setup, NULL);
	pthread_join(t, NULL);
	check(other_result == 0 && get(fd) == 1, "another thread's calls do "
						 "not count against this "
						 "thread's");
	check(vfio_setup() != 0 && get(fd) == 0, "... and this thread's first "
						 "call then fails");

	/* /proc/self/task/TID/fail-nth arms thread TID */
	pthread_barrier_init(&bar, NULL, 2);
	pthread_create(&t, NULL, armed_by_main, NULL);
	pthread_barrier_wait(&bar);
	{
		int ofd;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/fail-nth",
			 getpid(), other_tid);
		ofd = open_nth(path, O_WRONLY);
		check(ofd >= 0 && put(ofd, "1") == 1, "/proc/PID/task/TID/"
						      "fail-nth of another "
						      "thread: armed");
		if (ofd >= 0)
			close(ofd);
	}
	pthread_barrier_wait(&bar);
	pthread_join(t, NULL);
	check(other_result != 0 && other_read == 0 && get(fd) == 0,
	      "that thread's first call fails; /proc/thread-self reads 0");

	/* a fork's child starts disarmed */
	put(fd, "5");
	pid = fork();
	if (!pid) {
		int cfd = open_nth("/proc/thread-self/fail-nth", O_RDONLY);

		_exit(cfd >= 0 && get(cfd) == 0 ? 0 : 1);
	}
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && !WEXITSTATUS(st) && get(fd) == 5, "a fork's "
								 "child starts "
								 "disarmed, "
								 "the parent "
								 "keeps its "
								 "count");
	put(fd, "0");

	/* the write's text, as kstrtouint_from_user reads it */
	check(put(fd, "0x10") == 4 && get(fd) == 16 && put(fd, "010") == 3 &&
		      get(fd) == 8 && put(fd, "+7\n") == 3 && get(fd) == 7,
	      "base 0 (0x.. hex, 0.. octal), a '+', one newline");
	errno = 0;
	check(put(fd, "abc") < 0 && errno == EINVAL && get(fd) == 7,
	      "text that is no number: EINVAL, the count unchanged");
	errno = 0;
	check(put(fd, "4294967296") < 0 && errno == ERANGE &&
		      put(fd, "-1") < 0 && errno == EINVAL &&
		      put(fd, "1\n\n") < 0 && errno == EINVAL,
	      "past UINT_MAX: ERANGE; a sign or two newlines: EINVAL");
	put(fd, "0");
	errno = 0;
	check(lseek(fd, 0, SEEK_SET) < 0 && errno == ESPIPE, "lseek: ESPIPE");
	{
		int rfd = open_nth("/proc/thread-self/fail-nth", O_RDONLY);
		char b[8] = {0};

		errno = 0;
		check(rfd >= 0 && write(rfd, "1", 1) < 0 && errno == EBADF &&
			      read(rfd, b, 1) == 1 && b[0] == '0' &&
			      read(rfd, b, 8) == 1 && b[0] == '\n' &&
			      read(rfd, b, 8) == 0,
		      "read-only: write EBADF; read() moves along \"0\\n\"");
		if (rfd >= 0)
			close(rfd);
	}
	errno = 0;
	check(open_nth("/proc/self/task/999999999/fail-nth", O_RDWR) < 0 &&
		      errno == ENOENT,
	      "a TID of no thread of this process: ENOENT");
	{
		/* dup2 over a fail-nth fd: the number's new file is a plain one */
		int nfd = open_nth("/proc/thread-self/fail-nth", O_RDWR);
		int pipefd[2];
		char b[4] = {0};

		check(nfd >= 0 && !pipe(pipefd) &&
			      dup2(pipefd[0], nfd) == nfd &&
			      write(pipefd[1], "x", 1) == 1 &&
			      read(nfd, b, 1) == 1 && b[0] == 'x',
		      "dup2 over a fail-nth fd: reads reach the new file");
		close(nfd);
		close(pipefd[0]);
		close(pipefd[1]);
	}
	close(fd);

	/* the debugfs attributes, the way iommufd_fail_nth sets them up */
	{
		DIR *dbg = opendir("/sys/kernel/debug/"), *fs;
		struct dirent *de;
		int seen = 0, afd;
		char b[8] = {0};

		check(dbg != NULL, "opendir /sys/kernel/debug/");
		while (dbg && (de = readdir(dbg)))
			seen += !strcmp(de->d_name, "failslab") ||
				!strcmp(de->d_name, "fail_page_alloc");
		check(seen == 2, "readdir: failslab and fail_page_alloc");
		afd = dbg ? openat(dirfd(dbg), "failslab/ignore-gfp-wait",
				   O_WRONLY)
			  : -1;
		check(afd >= 0 && write(afd, "N", 1) == 1, "openat(dirfd, "
							   "failslab/"
							   "ignore-gfp-wait): "
							   "writing N");
		errno = 0;
		check(afd >= 0 && write(afd, "Y", 1) < 0 && errno == EINVAL,
		      "writing Y: EINVAL (uiommu injects into every "
		      "allocation)");
		if (afd >= 0)
			close(afd);
		afd = open("/sys/kernel/debug/fail_page_alloc/verbose", O_RDWR);
		check(afd >= 0 && pread(afd, b, sizeof(b), 0) == 2 &&
			      !strcmp(b, "0\n") &&
			      pwrite(afd, "0\n", 2, 0) == 2 &&
			      pwrite(afd, "1", 1, 0) < 0 && errno == EINVAL,
		      "fail_page_alloc/verbose reads 0, takes 0, refuses 1");
		if (afd >= 0)
			close(afd);
		afd = open("/sys/kernel/debug/failslab/ignore-gfp-wait",
			   O_RDONLY);
		memset(b, 0, sizeof(b));
		check(afd >= 0 && read(afd, b, sizeof(b)) == 2 &&
			      !strcmp(b, "N\n"),
		      "failslab/ignore-gfp-wait reads N");
		if (afd >= 0)
			close(afd);
		errno = 0;
		check(dbg &&
			      openat(dirfd(dbg), "failslab/probability",
				     O_WRONLY) < 0 &&
			      errno == ENOENT,
		      "an attribute uiommu does not have: ENOENT");
		fs = opendir("/sys/kernel/debug/failslab");
		seen = 0;
		while (fs && (de = readdir(fs)))
			seen += !strcmp(de->d_name, "ignore-gfp-wait") ||
				!strcmp(de->d_name, "verbose");
		check(seen == 2, "readdir failslab: ignore-gfp-wait and "
				 "verbose");
		if (fs) {
			afd = openat(dirfd(fs), "verbose", O_WRONLY);
			check(afd >= 0 && write(afd, "0", 1) == 1, "openat("
								   "failslab's "
								   "fd, "
								   "verbose): "
								   "writing 0");
			if (afd >= 0)
				close(afd);
			closedir(fs);
		}
		if (dbg)
			closedir(dbg);
	}
	return n_failed ? 1 : 0;
}
