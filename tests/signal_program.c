// SPDX-License-Identifier: MIT
/*
 * A program with SIGSEGV handlers of its own under `uiommu exec` (issue
 * 14: chain to the program's own signal handlers for faults that are not
 * ours, and keep the program's handlers from displacing ours).  It knows
 * nothing of uiommu: it finds the machine's PCI function through /sys,
 * opens it through VFIO and maps its BAR0, whose register pages are
 * trapped.  Then, with a handler installed by sigaction before the
 * mapping existed, by signal() after, and by sigaction again after that:
 *   - a plain load from the mapped registers is served (it reads what
 *     pread of the same register reads) without the program's handler
 *     running;
 *   - a fault of the program's own (a load from a PROT_NONE page) reaches
 *     the program's current handler, which returns with siglongjmp;
 *   - sigaction and signal() hand back the program's previous handler,
 *     never the trap handler.
 * Without a PCI function in the topology the trapped part is skipped and
 * the handler checks run alone.  Output is TAP.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static int n_test, n_failed;
static sigjmp_buf env;
static volatile sig_atomic_t hits[4]; /* per handler */
static volatile void *fault_addr;

static void check(bool ok, const char *what)
{
	n_test++;
	if (!ok)
		n_failed++;
	printf("%s %d - %s\n", ok ? "ok" : "not ok", n_test, what);
}

static void h_info(int sig, siginfo_t *si, void *uc)
{
	hits[1]++;
	fault_addr = si->si_addr;
	siglongjmp(env, 1);
}

static void h_plain(int sig)
{
	hits[2]++;
	siglongjmp(env, 1);
}

static void h_info2(int sig, siginfo_t *si, void *uc)
{
	hits[3]++;
	fault_addr = si->si_addr;
	siglongjmp(env, 1);
}

/* A load from a PROT_NONE page of the program's own: true when a handler
 * of the program's took it. */
static bool own_fault(volatile uint8_t *page)
{
	if (sigsetjmp(env, 1))
		return true;
	(void)*page;
	return false;
}

struct bar {
	int dev;
	volatile uint8_t *regs; /* BAR0's first page, mapped */
	off_t off;		/* region 0's offset in the device fd */
};

/* The first PCI function the view lists, opened as DPDK opens one. */
static bool open_bar(struct bar *b)
{
	char path[512], link[256], bdf[256] = "";
	struct vfio_group_status gs = {.argsz = sizeof(gs)};
	struct vfio_region_info r0 = {.argsz = sizeof(r0), .index = 0};
	struct vfio_region_info cfg = {.argsz = sizeof(cfg), .index = 7};
	struct dirent *d;
	int container, group;
	uint16_t cmd = 0;
	ssize_t n;
	DIR *dir;
	void *p;

	dir = opendir("/sys/bus/pci/devices");
	while (dir && (d = readdir(dir)))
		if (d->d_name[0] != '.')
			snprintf(bdf, sizeof(bdf), "%s", d->d_name);
	if (dir)
		closedir(dir);
	if (!bdf[0])
		return false;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group",
		 bdf);
	n = readlink(path, link, sizeof(link) - 1);
	check(n > 0, "readlink iommu_group");
	if (n <= 0)
		return false;
	link[n] = '\0';
	container = open("/dev/vfio/vfio", O_RDWR);
	snprintf(path, sizeof(path), "/dev/vfio/%s", strrchr(link, '/') + 1);
	group = open(path, O_RDWR);
	check(container >= 0 && group >= 0 &&
		      !ioctl(group, VFIO_GROUP_GET_STATUS, &gs) &&
		      !ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) &&
		      !ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU),
	      "container and group");
	b->dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	check(b->dev >= 0 && !ioctl(b->dev, VFIO_DEVICE_GET_REGION_INFO, &r0) &&
		      !ioctl(b->dev, VFIO_DEVICE_GET_REGION_INFO, &cfg),
	      "device fd and its regions");
	if (b->dev < 0)
		return false;
	/* memory decoding on, as a driver does before touching a BAR */
	if (pread(b->dev, &cmd, 2, cfg.offset + 4) == 2) {
		cmd |= 0x2;
		check(pwrite(b->dev, &cmd, 2, cfg.offset + 4) == 2, "Memory "
								    "Space on");
	}
	b->off = r0.offset;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, b->dev,
		 r0.offset);
	check(p != MAP_FAILED, "mmap BAR0's first page");
	if (p == MAP_FAILED)
		return false;
	b->regs = p;
	return true;
}

/* A trapped load of register off (width 1, 2 or 4) equals pread's value,
 * and no handler of the program's ran for it. */
static void trapped_read(struct bar *b, unsigned int off, unsigned int w,
			 const char *what)
{
	uint32_t via_pread = 0, via_load = 0;
	sig_atomic_t before = hits[1] + hits[2] + hits[3];

	if (pread(b->dev, &via_pread, w, b->off + off) != (ssize_t)w)
		via_pread = ~0u;
	if (sigsetjmp(env, 1)) {
		check(false, what);
		return;
	}
	if (w == 1)
		via_load = *(volatile uint8_t *)(b->regs + off);
	else if (w == 2)
		via_load = *(volatile uint16_t *)(b->regs + off);
	else
		via_load = *(volatile uint32_t *)(b->regs + off);
	check(via_load == via_pread && before == hits[1] + hits[2] + hits[3],
	      what);
}

/*
 * A program whose SIGSEGV action is the default dies of its own fault, as
 * without uiommu, though the trap handler is installed (the trap handler
 * resets the action by the system call, not through the interposed
 * sigaction, which would only record it and loop on the fault).  In a
 * child, with an alarm in case it loops.
 */
static bool default_kills(volatile uint8_t *page)
{
	int status = 0;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return false;
	if (!pid) {
		signal(SIGSEGV, SIG_DFL);
		alarm(10);
		(void)*page;
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return false;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}

int main(void)
{
	struct sigaction sa = {.sa_sigaction = h_info, .sa_flags = SA_SIGINFO},
			 old = {0}, cur = {0};
	volatile uint8_t *page;
	struct bar b = {0};
	sighandler_t prev;
	bool have;

	page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return 1;
	sigemptyset(&sa.sa_mask);
	/* before any trapped mapping: the program's handler, plainly */
	check(!sigaction(SIGSEGV, &sa, NULL), "sigaction before the mapping");

	have = open_bar(&b);
	/* the default topology has one: its I/OAT */
	check(have, "a PCI function's BAR0 mapped (trapped)");
	if (have) {
		trapped_read(&b, 0x08, 1, "trapped 1-byte load served (1)");
		trapped_read(&b, 0x00, 4, "trapped 4-byte load served (1)");
	}
	check(own_fault(page) && hits[1] == 1 && fault_addr == page,
	      "own fault reaches the sigaction handler");

	/* signal() after the mapping: chained, hands back h_info */
	prev = signal(SIGSEGV, h_plain);
	check((void *)prev == (void *)h_info, "signal() returns the handler "
					      "the program had");
	if (have)
		trapped_read(&b, 0x08, 1, "trapped load served after signal()");
	check(own_fault(page) && hits[2] == 1 && hits[1] == 1, "own fault "
							       "reaches the "
							       "signal() "
							       "handler");

	/* sigaction again: old is the program's, not the trap's */
	sa.sa_sigaction = h_info2;
	check(!sigaction(SIGSEGV, &sa, &old) && old.sa_handler == h_plain &&
		      !(old.sa_flags & SA_SIGINFO),
	      "sigaction's old is the program's signal() handler");
	check(!sigaction(SIGSEGV, NULL, &cur) && cur.sa_sigaction == h_info2 &&
		      (cur.sa_flags & SA_SIGINFO),
	      "sigaction reads back the program's handler");
	if (have) {
		trapped_read(&b, 0x02, 2, "trapped 2-byte load served (3)");
		trapped_read(&b, 0x08, 1, "trapped load served (3)");
	}
	check(own_fault(page) && hits[3] == 1 && fault_addr == page, "own "
								     "fault "
								     "reaches "
								     "the last "
								     "handler");

	/* SIGBUS and other signals pass through too */
	check(signal(SIGUSR1, SIG_IGN) == SIG_DFL &&
		      signal(SIGUSR1, SIG_DFL) == SIG_IGN,
	      "signal() of another signal");
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	check(sigset(SIGUSR1, SIG_HOLD) == SIG_DFL &&
		      sigset(SIGUSR1, SIG_DFL) == SIG_HOLD,
	      "sigset SIG_HOLD and back");
#pragma GCC diagnostic pop
	if (have)
		trapped_read(&b, 0x08, 1, "trapped load served at the end");
	check(default_kills(page), "with the default action, a fault that is "
				   "not a trapped access kills by SIGSEGV");
	printf("1..%d\n", n_test);
	return n_failed ? 1 : 0;
}
