// SPDX-License-Identifier: MIT
/*
 * vfio-pci: one PCI function (src/pci) behind a VFIO device fd, with the
 * region layout, ioctls, errno values and order of checks of Linux 6.1's
 * drivers/vfio/pci/ (vfio_pci_core.c, vfio_pci_rdwr.c, vfio_pci_intrs.c;
 * facts only).
 *
 * Data model.  struct vfio_pci embeds the vfio_device and points at the
 * function, which the device model owns.  Regions 0-5 are the BARs, 6 the
 * option ROM, 7 configuration space, 8 VGA (absent: -EINVAL), each at
 * index << 40 of the fd.  Configuration space is the function's own, whose
 * layer already virtualizes what vfio-pci virtualizes (BAR sizing, the
 * read-only and reserved bits).  Interrupts: irq_type is the index in use
 * (INTx, MSI or MSI-X; VFIO_PCI_IRQS when none), ctx[num_ctx] its
 * vectors, each with the eventfd (a dup of the user's, so the user may
 * close theirs) that its handler in the PCI layer signals; ERR and REQ
 * have one trigger each.  INTx is level-triggered and automasked: its
 * state word holds the function's INTx output level and vfio's mask, both
 * changed with compare-and-swap by the INTx handler (which the PCI layer
 * calls with its lock held) and by the mask/unmask ioctls.
 *
 * A BAR's mmap is one mapping (mm_mmap_device): pages wholly inside the
 * function's plain-memory ranges (and in machine memory) map their frames,
 * every other page is trapped, so a driver's plain loads and stores reach
 * pci_bar_read/pci_bar_write with their width, the MSI-X table included
 * (6.1 lets the MSI-X BAR be mapped: VFIO_REGION_INFO_CAP_MSIX_MAPPABLE).
 *
 * Invariants: a vector's handler is registered in the PCI layer exactly
 * while its eventfd is set; an MSI-X vector's table entry is unmasked by
 * vfio when its trigger is set and masked when it is cleared (6.1's
 * request_irq/free_irq); every eventfd is closed when its trigger goes, at
 * the latest when the device's last file is released.
 *
 * Locking.  igate (VFIO_LOCK_PCI_IGATE, a driver lock at
 * LOCK_RANK_VFIO_DRIVER) serializes SET_IRQS, reset, open and close and
 * guards irq_type, num_ctx, ctx and the ERR/REQ triggers.  Handlers run
 * under the function's lock (LOCK_RANK_PCI, after igate) and read only
 * their own ctx's fd, which is stable while they are registered; the INTx
 * handler reads intx_fd, and a change of it is followed by re-registering
 * the handler, which waits for a handler in flight (it takes the same
 * lock), before the old eventfd is closed.  Trapped accesses run in the
 * faulting thread's signal handler and take only the function's lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "mem/mmio_trap.h"
#include "vfio/vfio_pci.h"

#include "lib/internal.h"
#include "lib/uaccess.h"
#include "vfio/type1_internal.h"

#define VFIO_PCI_NONE VFIO_PCI_IRQS /* irq_type when no index is on */

/* the unmask eventfd's lock: after igate, before the function's */
#define VFIO_LOCK_PCI_UNMASK (VFIO_LOCK_PCI_IGATE + 1)
/* the BAR mappings' zap state: after igate (reset zaps), before the
 * function's lock and the memory layer's */
#define VFIO_LOCK_PCI_MEMORY (VFIO_LOCK_PCI_IGATE + 2)

/* intx_state bits */
#define INTX_LEVEL  (1u << 0) /* the function's INTx output is asserted */
#define INTX_MASKED (1u << 1) /* vfio's mask (automask or ACTION_MASK) */

struct vfio_pci_vec {
	struct vfio_pci *vp;
	unsigned int vector;
	int fd; /* -1: no trigger */
};

/* A BAR's trapped pages: the ops' priv (one per BAR, for every mapping). */
struct vfio_pci_bar_trap {
	struct vfio_pci *vp;
	unsigned int bar;
};

struct vfio_pci {
	struct vfio_device vdev;
	struct pci_function *fn;
	struct phys_mem *pm;

	/* fixed at creation */
	unsigned int cfg_size; /* 4096 (PCIe) or 256 */
	unsigned int msi_cap, msix_cap, exp_cap, pm_cap; /* 0: absent */
	unsigned int msi_max, msix_max;			 /* vectors */
	bool msi_pvm, msi_64, intx, reset_works;
	unsigned int msix_bar;	      /* PCI_NUM_BARS: none */
	uint64_t msix_off, msix_size; /* the table in msix_bar */
	uint64_t rom_image; /* the ROM's images' bytes (0: no valid ROM) */
	struct vfio_pci_bar_trap trap[PCI_NUM_BARS];
	/* every BAR mapping: zapped while Memory Space is off */
	struct mmio_zap zap;
	struct mutex memory_lock; /* config writes and resets vs the zap */
	/* memory_lock: the MSI capability's bytes 6.1 virtualizes (Message
	 * Control's low byte, address, data), at their offsets in it */
	uint8_t vmsi[16];
	_Atomic unsigned int msi_qmax; /* log2 of the vectors SET_IRQS set */

	struct mutex igate;
	int irq_type;		  /* igate */
	unsigned int num_ctx;	  /* igate */
	struct vfio_pci_vec *ctx; /* igate: MSI/MSI-X vectors */
	_Atomic int intx_fd;	  /* igate to change; the INTx handler reads */
	_Atomic unsigned int intx_state;
	int err_fd, req_fd;		/* igate */
	struct vfio_pci_virqfd *unmask; /* igate: INTx's unmask eventfd */
	struct mutex unmask_lock;	/* the unmask thread vs intx_fd */

	_Atomic uint64_t signals, intx_masked, resets, virqfd_unmasks;
	_Atomic uint64_t trap_reads, trap_writes; /* trapped BAR accesses */
};

static struct vfio_pci *to_vp(struct vfio_device *vdev)
{
	return vdev->priv;
}

/* ---- configuration space helpers ------------------------------------------------------ */

static uint32_t cfg_rd(struct vfio_pci *vp, unsigned int off, unsigned int sz)
{
	uint32_t v = 0;

	if (pci_config_read(vp->fn, off, sz, &v))
		return 0;
	return v;
}

static void cfg_wr(struct vfio_pci *vp, unsigned int off, unsigned int sz,
		   uint32_t v)
{
	WARN_ON(pci_config_write(vp->fn, off, sz, v));
}

static void cfg_update(struct vfio_pci *vp, unsigned int off, unsigned int sz,
		       uint32_t clear, uint32_t set)
{
	cfg_wr(vp, off, sz, (cfg_rd(vp, off, sz) & ~clear) | set);
}

/* vfio_pci_memory_lock_and_enable: Memory Space on for the layer's own
 * accesses to the MSI-X table; the Command register as it was. */
static uint16_t memory_enable(struct vfio_pci *vp)
{
	uint16_t cmd = (uint16_t)cfg_rd(vp, PCI_A_COMMAND, 2);

	if (!(cmd & PCI_MASK(HDR, CMD_MEM)))
		cfg_wr(vp, PCI_A_COMMAND, 2, cmd | PCI_MASK(HDR, CMD_MEM));
	return cmd;
}

static void memory_restore(struct vfio_pci *vp, uint16_t cmd)
{
	if (!(cmd & PCI_MASK(HDR, CMD_MEM)))
		cfg_update(vp, PCI_A_COMMAND, 2, PCI_MASK(HDR, CMD_MEM), 0);
}

/* ---- zapping the BAR mappings -------------------------------------------------------- */

/*
 * vfio_pci_zap_and_down_write_memory_lock and vfio_pci_mmap_fault: while
 * the Command register's Memory Space bit is off (a config write cleared
 * it, or a reset is under way) every mapping of every BAR is zapped, so an
 * access raises SIGBUS; when the bit is on again they are restored, the
 * directly mapped frames and the trapped pages alike.  The bit of the
 * function's own Command register is the one the user sees (the layer's
 * own short switch-ons for the MSI-X table, memory_enable(), leave the
 * mappings as they are, as 6.1's physical-only switch does).
 */
/* __vfio_pci_memory_enabled: Memory Space on, and the function short of
 * D3hot. */
static bool memory_on(struct vfio_pci *vp)
{
	if (!(cfg_rd(vp, PCI_A_COMMAND, 2) & PCI_MASK(HDR, CMD_MEM)))
		return false;
	return !vp->pm_cap ||
	       ((cfg_rd(vp, vp->pm_cap + PCI_PM_POWER_STATE_OFF, 1) >>
		 PCI_PM_POWER_STATE_SHIFT) &
		((1u << PCI_PM_POWER_STATE_WIDTH) - 1)) != 3;
}

static void memory_sync(struct vfio_pci *vp)
{
	bool off = !memory_on(vp);

	lockdep_assert_held(&vp->memory_lock);
	if (off != atomic_load(&vp->zap.zapped))
		mmio_zap_set(&vp->zap, off);
}

/* ---- eventfds ------------------------------------------------------------------------ */

/* eventfd_ctx_fdget: a reference of our own on the user's eventfd. */
static int eventfd_get(int fd)
{
	char path[64], link[64];
	ssize_t n;
	int nfd;

	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -EBADF;
	link[n] = '\0';
	if (strcmp(link, "anon_inode:[eventfd]"))
		return -EINVAL;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return nfd < 0 ? -errno : nfd;
}

static void eventfd_put(int fd)
{
	if (fd >= 0)
		close(fd);
}

static void signal_fd(struct vfio_pci *vp, int fd)
{
	if (fd < 0)
		return;
	eventfd_write(fd, 1);
	atomic_fetch_add_explicit(&vp->signals, 1, memory_order_relaxed);
}

/* ---- INTx ---------------------------------------------------------------------------- */

/* Set the mask; signal if the line is asserted and was unmasked.
 * Returns whether it signalled. */
static bool intx_try_fire(struct vfio_pci *vp)
{
	unsigned int old = atomic_load(&vp->intx_state), new;

	do {
		if (!(old & INTX_LEVEL) || (old & INTX_MASKED))
			return false;
		new = old | INTX_MASKED;
	} while (!atomic_compare_exchange_weak(&vp->intx_state, &old, new));
	atomic_fetch_add_explicit(&vp->intx_masked, 1, memory_order_relaxed);
	signal_fd(vp, atomic_load(&vp->intx_fd));
	return true;
}

/* The PCI layer's INTx output changed (its lock held). */
static void intx_handler(void *ctx, bool level)
{
	struct vfio_pci *vp = ctx;

	if (!level) {
		atomic_fetch_and(&vp->intx_state, ~INTX_LEVEL);
		return;
	}
	atomic_fetch_or(&vp->intx_state, INTX_LEVEL);
	/* vfio_intx_handler: only while INTx is the index in use */
	if (atomic_load(&vp->intx_fd) >= 0)
		intx_try_fire(vp);
}

/* vfio_pci_intx_mask */
static void intx_mask(struct vfio_pci *vp)
{
	atomic_fetch_or(&vp->intx_state, INTX_MASKED);
}

/* vfio_pci_intx_unmask: clear the mask; a line still asserted fires again
 * (and masks again) at once. */
static void intx_unmask(struct vfio_pci *vp)
{
	atomic_fetch_and(&vp->intx_state, ~INTX_MASKED);
	if (atomic_load(&vp->intx_fd) >= 0)
		intx_try_fire(vp);
}

/* Wait for an INTx handler in flight: re-registering takes the function's
 * lock, under which handlers run. */
static void intx_sync(struct vfio_pci *vp)
{
	pci_set_intx_handler(vp->fn, intx_handler, vp);
}

/* ---- INTx unmask by eventfd (virqfd) ------------------------------------------------- */

/*
 * The unmask eventfd: a thread of the device's own waits on an epoll set
 * holding our dup of the user's eventfd (edge-triggered: every write to it
 * is one event, whatever its count, as the kernel's wait-queue callback
 * sees each signal; the count is the user's and is never read here) and a
 * stop eventfd.  Each event unmasks INTx as ACTION_UNMASK does, so a line
 * still asserted is signalled (and automasked) again at once.  An eventfd
 * already signalled when it is set unmasks once at once (epoll reports an
 * fd that is ready when added), as vfio_virqfd_enable does.
 *
 * Lifetime: made by SET_IRQS INTx UNMASK DATA_EVENTFD (fd >= 0) while
 * INTx is the index in use, ended by the same with fd -1, and by
 * intx_disable (SET_IRQS count 0, the index changing, the last close and
 * destroy); a reset keeps it, as 6.1's reset keeps the interrupt setup.
 * Ending it writes the stop eventfd and joins the thread, so no unmask
 * from it runs afterwards.
 *
 * Locking: vp->unmask is igate's.  The thread takes only unmask_lock
 * (after igate, before the function's lock) around each unmask: the
 * trigger eventfd it signals is stable under it, since intx_set_signal
 * swaps and closes the trigger holding unmask_lock.  The thread never
 * takes igate, so joining it under igate cannot deadlock.
 */
struct vfio_pci_virqfd {
	struct vfio_pci *vp;
	int efd;  /* our dup of the user's eventfd */
	int stop; /* eventfd: end the thread */
	int epfd;
	pthread_t thread;
};

static void *virqfd_thread(void *arg)
{
	struct vfio_pci_virqfd *q = arg;
	struct epoll_event ev[2];
	int n, i;

	for (;;) {
		n = epoll_wait(q->epfd, ev, 2, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return NULL;
		for (i = 0; i < n; i++)
			if (ev[i].data.fd == q->stop)
				return NULL;
		mutex_lock(&q->vp->unmask_lock);
		intx_unmask(q->vp);
		atomic_fetch_add_explicit(&q->vp->virqfd_unmasks, 1,
					  memory_order_relaxed);
		mutex_unlock(&q->vp->unmask_lock);
	}
}

static void virqfd_free(struct vfio_pci_virqfd *q)
{
	if (q->epfd >= 0)
		close(q->epfd);
	if (q->stop >= 0)
		close(q->stop);
	eventfd_put(q->efd);
	ui_free(q);
}

/* vfio_virqfd_disable: the thread ended and joined. */
static void virqfd_disable(struct vfio_pci *vp)
{
	struct vfio_pci_virqfd *q = vp->unmask;

	lockdep_assert_held(&vp->igate);
	if (!q)
		return;
	vp->unmask = NULL;
	WARN_ON(eventfd_write(q->stop, 1));
	pthread_join(q->thread, NULL);
	virqfd_free(q);
}

static int epoll_add(int epfd, int fd, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.fd = fd};

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* vfio_virqfd_enable: the user's fd checked (-EBADF, -EINVAL: not an
 * eventfd), then -EBUSY if one is set already. */
static int virqfd_enable(struct vfio_pci *vp, int32_t fd)
{
	struct vfio_pci_virqfd *q;
	int ret;

	lockdep_assert_held(&vp->igate);
	q = ui_zalloc(sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->vp = vp;
	q->stop = q->epfd = -1;
	q->efd = eventfd_get(fd);
	if (q->efd < 0) {
		ret = q->efd;
		goto err;
	}
	if (vp->unmask) {
		ret = -EBUSY;
		goto err;
	}
	q->stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	q->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (q->stop < 0 || q->epfd < 0) {
		ret = -errno;
		goto err;
	}
	ret = epoll_add(q->epfd, q->stop, EPOLLIN);
	if (!ret)
		ret = epoll_add(q->epfd, q->efd, EPOLLIN | EPOLLET);
	if (ret)
		goto err;
	ret = -pthread_create(&q->thread, NULL, virqfd_thread, q);
	if (ret)
		goto err;
	vp->unmask = q;
	return 0;

err:
	virqfd_free(q);
	return ret;
}

static int intx_set_signal(struct vfio_pci *vp, int32_t fd)
{
	int old, nfd;

	lockdep_assert_held(&vp->igate);
	mutex_lock(&vp->unmask_lock);
	old = atomic_exchange(&vp->intx_fd, -1);
	if (old >= 0) {
		intx_sync(vp);
		eventfd_put(old);
	}
	mutex_unlock(&vp->unmask_lock);
	if (fd < 0)
		return 0;
	nfd = eventfd_get(fd);
	if (nfd < 0)
		return nfd;
	atomic_store(&vp->intx_fd, nfd);
	/* a line already asserted interrupts as soon as the handler is in */
	intx_try_fire(vp);
	return 0;
}

static int intx_enable(struct vfio_pci *vp)
{
	lockdep_assert_held(&vp->igate);
	if (vp->irq_type != VFIO_PCI_NONE)
		return -EINVAL;
	atomic_fetch_and(&vp->intx_state, ~INTX_MASKED);
	vp->num_ctx = 1;
	vp->irq_type = VFIO_PCI_INTX_IRQ_INDEX;
	return 0;
}

static void intx_disable(struct vfio_pci *vp)
{
	lockdep_assert_held(&vp->igate);
	virqfd_disable(vp);
	intx_set_signal(vp, -1);
	atomic_fetch_and(&vp->intx_state, ~INTX_MASKED);
	vp->num_ctx = 0;
	vp->irq_type = VFIO_PCI_NONE;
}

/* ---- MSI and MSI-X ------------------------------------------------------------------- */

static void msg_handler(void *ctx, unsigned int vector, uint64_t addr,
			uint32_t data)
{
	struct vfio_pci_vec *v = ctx;

	signal_fd(v->vp, v->fd);
}

/* An MSI-X table entry's mask bit, or an MSI vector's with per-vector
 * masking (the interrupt's startup and shutdown in the kernel). */
static void vector_mask(struct vfio_pci *vp, bool msix, unsigned int vector,
			bool mask)
{
	uint64_t ctrl;
	uint64_t off;
	uint16_t cmd;

	if (!msix) {
		if (vp->msi_pvm)
			cfg_update(vp, vp->msi_cap + PCI_A_MSI_MASK, 4,
				   mask ? 0 : 1u << vector,
				   mask ? 1u << vector : 0);
		return;
	}
	off = vp->msix_off + (uint64_t)vector * PCI_MSIX_ENTRY_SIZE +
	      PCI_MSIXE_MASKED_OFF;
	cmd = memory_enable(vp);
	if (!pci_bar_read(vp->fn, vp->msix_bar, off, 4, &ctrl)) {
		ctrl = mask ? ctrl | PCI_MASK(MSIXE, MASKED)
			    : ctrl & ~(uint64_t)PCI_MASK(MSIXE, MASKED);
		WARN_ON(pci_bar_write(vp->fn, vp->msix_bar, off, 4, ctrl));
	}
	memory_restore(vp, cmd);
}

/* vfio_msi_set_vector_signal */
static int msi_set_vector_signal(struct vfio_pci *vp, unsigned int vector,
				 int32_t fd, bool msix)
{
	enum pci_irq_kind kind = msix ? PCI_IRQ_MSIX : PCI_IRQ_MSI;
	struct vfio_pci_vec *v;
	int nfd;

	lockdep_assert_held(&vp->igate);
	if (vector >= vp->num_ctx)
		return -EINVAL;
	v = &vp->ctx[vector];
	if (v->fd >= 0) {
		/* free_irq: masked, and no handler in flight afterwards */
		vector_mask(vp, msix, vector, true);
		pci_set_msg_handler(vp->fn, kind, vector, NULL, NULL);
		eventfd_put(v->fd);
		v->fd = -1;
	}
	if (fd < 0)
		return 0;
	nfd = eventfd_get(fd);
	if (nfd < 0)
		return nfd;
	v->fd = nfd;
	/* request_irq: the handler in, then the vector unmasked */
	pci_set_msg_handler(vp->fn, kind, vector, msg_handler, v);
	vector_mask(vp, msix, vector, false);
	return 0;
}

/* vfio_msi_set_block: all or nothing */
static int msi_set_block(struct vfio_pci *vp, unsigned int start,
			 unsigned int count, const int32_t *fds, bool msix)
{
	unsigned int i;
	int ret = 0;

	if (start >= vp->num_ctx || start + count > vp->num_ctx)
		return -EINVAL;
	for (i = 0; i < count && !ret; i++)
		ret = msi_set_vector_signal(vp, start + i, fds ? fds[i] : -1,
					    msix);
	if (ret)
		while (i-- > 0)
			msi_set_vector_signal(vp, start + i, -1, msix);
	return ret;
}

/* fls(n) - 1 for n > 0: the MSI Multiple Message Enable of n vectors */
static unsigned int log2_up(unsigned int n)
{
	unsigned int l = 0;

	while ((1u << l) < n)
		l++;
	return l;
}

/*
 * vfio_msi_enable: the vectors' contexts, then the capability on as
 * pci_alloc_irq_vectors leaves it: MSI with Multiple Message Enable for
 * nvec rounded up to a power of two and every vector masked (with
 * per-vector masking); MSI-X enabled, Function Mask clear and every table
 * entry masked.  A vector is unmasked when its trigger is set.
 */
static int msi_enable(struct vfio_pci *vp, unsigned int nvec, bool msix)
{
	unsigned int i, n;
	uint16_t cmd;

	lockdep_assert_held(&vp->igate);
	if (vp->irq_type != VFIO_PCI_NONE)
		return -EINVAL;
	if (!nvec) /* pci_alloc_irq_vectors(1, 0) */
		return -ERANGE;
	vp->ctx = ui_calloc(nvec, sizeof(*vp->ctx));
	if (!vp->ctx)
		return -ENOMEM;
	for (i = 0; i < nvec; i++)
		vp->ctx[i] = (struct vfio_pci_vec){vp, i, -1};
	cmd = memory_enable(vp);
	if (msix) {
		cfg_update(vp, vp->msix_cap + PCI_A_MSIX_CONTROL, 2, 0,
			   PCI_MASK(MSIX, ENABLE) | PCI_MASK(MSIX, FUNC_MASK));
		for (i = 0; i < vp->msix_max; i++)
			vector_mask(vp, true, i, true);
		cfg_update(vp, vp->msix_cap + PCI_A_MSIX_CONTROL, 2,
			   PCI_MASK(MSIX, FUNC_MASK), 0);
	} else {
		n = log2_up(nvec);
		atomic_store(&vp->msi_qmax, n);
		if (vp->msi_pvm)
			cfg_wr(vp, vp->msi_cap + PCI_A_MSI_MASK, 4,
			       (uint32_t)(~0ULL >> (64 - vp->msi_max)));
		cfg_update(vp, vp->msi_cap + PCI_A_MSI_CONTROL, 2,
			   PCI_MASK(MSI, MME),
			   (n << PCI_MSI_MME_SHIFT) | PCI_MASK(MSI, ENABLE));
	}
	memory_restore(vp, cmd);
	vp->num_ctx = nvec;
	vp->irq_type = msix ? VFIO_PCI_MSIX_IRQ_INDEX : VFIO_PCI_MSI_IRQ_INDEX;
	return 0;
}

/* vfio_msi_disable: every trigger cleared, the capability off */
static void msi_disable(struct vfio_pci *vp, bool msix)
{
	uint16_t cmd;

	lockdep_assert_held(&vp->igate);
	msi_set_block(vp, 0, vp->num_ctx, NULL, msix);
	cmd = memory_enable(vp);
	if (msix)
		cfg_update(vp, vp->msix_cap + PCI_A_MSIX_CONTROL, 2,
			   PCI_MASK(MSIX, ENABLE) | PCI_MASK(MSIX, FUNC_MASK),
			   0);
	else
		cfg_update(vp, vp->msi_cap + PCI_A_MSI_CONTROL, 2,
			   PCI_MASK(MSI, ENABLE) | PCI_MASK(MSI, MME), 0);
	memory_restore(vp, cmd);
	ui_free(vp->ctx);
	vp->ctx = NULL;
	vp->num_ctx = 0;
	vp->irq_type = VFIO_PCI_NONE;
}

/* ---- SET_IRQS ------------------------------------------------------------------------ */

static int set_intx_mask(struct vfio_pci *vp, unsigned int start,
			 unsigned int count, uint32_t flags, const void *data)
{
	if (vp->irq_type != VFIO_PCI_INTX_IRQ_INDEX || start != 0 || count != 1)
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_NONE)
		intx_mask(vp);
	else if (flags & VFIO_IRQ_SET_DATA_BOOL) {
		if (*(const uint8_t *)data)
			intx_mask(vp);
	} else if (flags & VFIO_IRQ_SET_DATA_EVENTFD)
		return -ENOTTY; /* 6.1 has no mask-by-eventfd */
	return 0;
}

static int set_intx_unmask(struct vfio_pci *vp, unsigned int start,
			   unsigned int count, uint32_t flags, const void *data)
{
	if (vp->irq_type != VFIO_PCI_INTX_IRQ_INDEX)
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		/* a write to the eventfd unmasks; a negative fd ends it */
		if (start != 0 || count != 1)
			return -EINVAL;
		if (*(const int32_t *)data >= 0)
			return virqfd_enable(vp, *(const int32_t *)data);
		virqfd_disable(vp);
		return 0;
	}
	if ((flags & VFIO_IRQ_SET_DATA_BOOL) && !count)
		return -EINVAL; /* no byte to read */
	if (flags & VFIO_IRQ_SET_DATA_NONE)
		intx_unmask(vp);
	else if (flags & VFIO_IRQ_SET_DATA_BOOL) {
		if (*(const uint8_t *)data)
			intx_unmask(vp);
	}
	return 0;
}

static int set_intx_trigger(struct vfio_pci *vp, unsigned int start,
			    unsigned int count, uint32_t flags,
			    const void *data)
{
	bool is_intx = vp->irq_type == VFIO_PCI_INTX_IRQ_INDEX;
	int ret;

	if (is_intx && !count && (flags & VFIO_IRQ_SET_DATA_NONE)) {
		intx_disable(vp);
		return 0;
	}
	if (!(is_intx || vp->irq_type == VFIO_PCI_NONE) || start != 0 ||
	    count != 1)
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		int32_t fd = *(const int32_t *)data;

		if (is_intx)
			return intx_set_signal(vp, fd);
		ret = intx_enable(vp);
		if (ret)
			return ret;
		ret = intx_set_signal(vp, fd);
		if (ret)
			intx_disable(vp);
		return ret;
	}
	if (!is_intx)
		return -EINVAL;
	/* loopback: signal from software */
	if ((flags & VFIO_IRQ_SET_DATA_NONE) ||
	    ((flags & VFIO_IRQ_SET_DATA_BOOL) && *(const uint8_t *)data))
		signal_fd(vp, atomic_load(&vp->intx_fd));
	return 0;
}

static int set_msi_trigger(struct vfio_pci *vp, unsigned int index,
			   unsigned int start, unsigned int count,
			   uint32_t flags, const void *data)
{
	bool msix = index == VFIO_PCI_MSIX_IRQ_INDEX;
	bool is_this = vp->irq_type == (int)index;
	const uint8_t *bools = data;
	unsigned int i;
	int ret;

	if (is_this && !count && (flags & VFIO_IRQ_SET_DATA_NONE)) {
		msi_disable(vp, msix);
		return 0;
	}
	if (!(is_this || vp->irq_type == VFIO_PCI_NONE))
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		if (is_this)
			return msi_set_block(vp, start, count, data, msix);
		ret = msi_enable(vp, start + count, msix);
		if (ret)
			return ret;
		ret = msi_set_block(vp, start, count, data, msix);
		if (ret)
			msi_disable(vp, msix);
		return ret;
	}
	if (!is_this || start + count > vp->num_ctx)
		return -EINVAL;
	for (i = start; i < start + count; i++) {
		if (vp->ctx[i].fd < 0)
			continue;
		if ((flags & VFIO_IRQ_SET_DATA_NONE) ||
		    ((flags & VFIO_IRQ_SET_DATA_BOOL) && bools[i - start]))
			signal_fd(vp, vp->ctx[i].fd);
	}
	return 0;
}

/* vfio_pci_set_ctx_trigger_single: ERR and REQ */
static int set_trigger_single(struct vfio_pci *vp, int *slot,
			      unsigned int count, uint32_t flags,
			      const void *data)
{
	int32_t fd;
	int nfd;

	if (flags & VFIO_IRQ_SET_DATA_NONE) {
		if (*slot >= 0) {
			if (count) {
				signal_fd(vp, *slot);
			} else {
				eventfd_put(*slot);
				*slot = -1;
			}
			return 0;
		}
	} else if (flags & VFIO_IRQ_SET_DATA_BOOL) {
		if (!count)
			return -EINVAL;
		if (*(const uint8_t *)data && *slot >= 0)
			signal_fd(vp, *slot);
		return 0;
	} else if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		if (!count)
			return -EINVAL;
		fd = *(const int32_t *)data;
		if (fd == -1) {
			eventfd_put(*slot);
			*slot = -1;
		} else if (fd >= 0) {
			nfd = eventfd_get(fd);
			if (nfd < 0)
				return nfd;
			eventfd_put(*slot);
			*slot = nfd;
		}
		return 0;
	}
	return -EINVAL;
}

/* vfio_pci_set_irqs_ioctl: the action's handler, -ENOTTY where none */
static int set_irqs(struct vfio_pci *vp, uint32_t flags, unsigned int index,
		    unsigned int start, unsigned int count, const void *data)
{
	uint32_t action = flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;

	lockdep_assert_held(&vp->igate);
	switch (index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		if (action == VFIO_IRQ_SET_ACTION_MASK)
			return set_intx_mask(vp, start, count, flags, data);
		if (action == VFIO_IRQ_SET_ACTION_UNMASK)
			return set_intx_unmask(vp, start, count, flags, data);
		if (action == VFIO_IRQ_SET_ACTION_TRIGGER)
			return set_intx_trigger(vp, start, count, flags, data);
		break;
	case VFIO_PCI_MSI_IRQ_INDEX:
	case VFIO_PCI_MSIX_IRQ_INDEX:
		/* 6.1 exports no MSI/MSI-X masking through SET_IRQS */
		if (action == VFIO_IRQ_SET_ACTION_TRIGGER)
			return set_msi_trigger(vp, index, start, count, flags,
					       data);
		break;
	case VFIO_PCI_ERR_IRQ_INDEX:
		if (action == VFIO_IRQ_SET_ACTION_TRIGGER && vp->exp_cap)
			return set_trigger_single(vp, &vp->err_fd, count, flags,
						  data);
		break;
	case VFIO_PCI_REQ_IRQ_INDEX:
		if (action == VFIO_IRQ_SET_ACTION_TRIGGER)
			return set_trigger_single(vp, &vp->req_fd, count, flags,
						  data);
		break;
	}
	return -ENOTTY;
}

/* vfio_pci_get_irq_count */
static unsigned int irq_count(struct vfio_pci *vp, unsigned int index)
{
	switch (index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		return vp->intx ? 1 : 0;
	case VFIO_PCI_MSI_IRQ_INDEX:
		return vp->msi_max;
	case VFIO_PCI_MSIX_IRQ_INDEX:
		return vp->msix_max;
	case VFIO_PCI_ERR_IRQ_INDEX:
		return vp->exp_cap ? 1 : 0;
	case VFIO_PCI_REQ_IRQ_INDEX:
		return 1;
	}
	return 0;
}

static long ioctl_set_irqs(struct vfio_pci *vp, unsigned long arg)
{
	size_t minsz = offsetofend(struct vfio_irq_set, count), data_size;
	struct vfio_irq_set hdr;
	uint8_t *data = NULL;
	long ret;

	if (copy_from_user(&hdr, (void *)arg, minsz))
		return -EFAULT;
	ret = vfio_set_irqs_validate_and_prepare(
		&hdr, (int)irq_count(vp, hdr.index), VFIO_PCI_IRQS, &data_size);
	if (ret)
		return ret;
	if (data_size) { /* memdup_user */
		data = ui_malloc(data_size);
		if (!data)
			return -ENOMEM;
		if (copy_from_user(data, (void *)(arg + minsz), data_size)) {
			ui_free(data);
			return -EFAULT;
		}
	}
	mutex_lock(&vp->igate);
	ret = set_irqs(vp, hdr.flags, hdr.index, hdr.start, hdr.count, data);
	mutex_unlock(&vp->igate);
	ui_free(data);
	return ret;
}

/* Every interrupt off and every eventfd dropped (close, destroy). */
static void irqs_off(struct vfio_pci *vp)
{
	lockdep_assert_held(&vp->igate);
	if (vp->irq_type == VFIO_PCI_INTX_IRQ_INDEX)
		intx_disable(vp);
	else if (vp->irq_type == VFIO_PCI_MSI_IRQ_INDEX)
		msi_disable(vp, false);
	else if (vp->irq_type == VFIO_PCI_MSIX_IRQ_INDEX)
		msi_disable(vp, true);
	eventfd_put(vp->err_fd);
	eventfd_put(vp->req_fd);
	vp->err_fd = vp->req_fd = -1;
}

/* ---- info ioctls --------------------------------------------------------------------- */

static long ioctl_get_info(struct vfio_pci *vp, unsigned long arg)
{
	size_t minsz = offsetofend(struct vfio_device_info, num_irqs);
	struct vfio_device_info info;
	int ret = copy_argsz_from_user(&info, arg, minsz);

	if (ret)
		return ret;
	info.flags = VFIO_DEVICE_FLAGS_PCI;
	if (vp->reset_works)
		info.flags |= VFIO_DEVICE_FLAGS_RESET;
	info.num_regions = VFIO_PCI_REGIONS;
	info.num_irqs = VFIO_PCI_IRQS;
	return copy_to_user((void *)arg, &info, minsz) ? -EFAULT : 0;
}

/* The capability chain of one region (vfio_info_add_capability): each
 * capability 8-byte aligned, next the offset of the following one from
 * the start of the user's struct (0: the last). */
struct cap_buf {
	uint8_t buf[64];
	size_t size;
	struct vfio_info_cap_header *last;
};

static void cap_add(struct cap_buf *c, const void *cap, size_t len)
{
	struct vfio_info_cap_header *h;

	if (WARN_ON(c->size + ALIGN_UP(len, 8) > sizeof(c->buf)))
		return;
	h = (struct vfio_info_cap_header *)(c->buf + c->size);
	memcpy(h, cap, len);
	h->next = 0;
	if (c->last)
		c->last->next =
			(uint32_t)(sizeof(struct vfio_region_info) + c->size);
	c->last = h;
	c->size += ALIGN_UP(len, 8);
}

static long ioctl_get_region_info(struct vfio_pci *vp, unsigned long arg)
{
	size_t minsz = offsetofend(struct vfio_region_info, offset);
	struct vfio_info_cap_header msix = {
		.id = VFIO_REGION_INFO_CAP_MSIX_MAPPABLE,
		.version = 1,
	};
	struct vfio_region_info info;
	struct cap_buf caps = {.size = 0};
	const struct pci_bar_desc *b;
	int ret = copy_argsz_from_user(&info, arg, minsz);

	if (ret)
		return ret;
	info.offset = VFIO_REGION_OFFSET(info.index);
	info.cap_offset = 0;
	switch (info.index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		info.size = vp->cfg_size;
		info.flags = VFIO_REGION_INFO_FLAG_READ |
			     VFIO_REGION_INFO_FLAG_WRITE;
		break;
	case VFIO_PCI_BAR0_REGION_INDEX ... VFIO_PCI_BAR5_REGION_INDEX:
		b = pci_bar(vp->fn, info.index);
		info.size = b->size;
		if (!info.size) {
			info.flags = 0;
			break;
		}
		/* every memory BAR is mappable: 6.1's bar_mmap_supported,
		 * here with its register pages trapped */
		info.flags = VFIO_REGION_INFO_FLAG_READ |
			     VFIO_REGION_INFO_FLAG_WRITE |
			     VFIO_REGION_INFO_FLAG_MMAP;
		if (info.index == vp->msix_bar)
			cap_add(&caps, &msix, sizeof(msix));
		break;
	case VFIO_PCI_ROM_REGION_INDEX:
		/* the BAR's size, not the image's; nothing without a valid
		 * image (pci_map_rom) */
		info.flags = 0;
		info.size = vp->rom_image ? pci_rom_size(vp->fn) : 0;
		if (info.size)
			info.flags = VFIO_REGION_INFO_FLAG_READ;
		break;
	case VFIO_PCI_VGA_REGION_INDEX: /* has_vga: never */
	default:
		return -EINVAL;
	}
	if (caps.size) {
		info.flags |= VFIO_REGION_INFO_FLAG_CAPS;
		if (info.argsz < sizeof(info) + caps.size) {
			info.argsz = (uint32_t)(sizeof(info) + caps.size);
		} else {
			if (copy_to_user((void *)(arg + sizeof(info)), caps.buf,
					 caps.size))
				return -EFAULT;
			info.cap_offset = sizeof(info);
		}
	}
	return copy_to_user((void *)arg, &info, minsz) ? -EFAULT : 0;
}

static long ioctl_get_irq_info(struct vfio_pci *vp, unsigned long arg)
{
	size_t minsz = offsetofend(struct vfio_irq_info, count);
	struct vfio_irq_info info;
	int ret = copy_argsz_from_user(&info, arg, minsz);

	if (ret)
		return ret;
	if (info.index >= VFIO_PCI_IRQS)
		return -EINVAL;
	if (info.index == VFIO_PCI_ERR_IRQ_INDEX && !vp->exp_cap)
		return -EINVAL;
	info.flags = VFIO_IRQ_INFO_EVENTFD;
	info.count = irq_count(vp, info.index);
	if (info.index == VFIO_PCI_INTX_IRQ_INDEX)
		info.flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
	else
		info.flags |= VFIO_IRQ_INFO_NORESIZE;
	return copy_to_user((void *)arg, &info, minsz) ? -EFAULT : 0;
}

/* ---- reset --------------------------------------------------------------------------- */

/* The configuration registers pci_try_reset_function saves around the
 * reset and restores after it (pci_save_state/pci_restore_state): the
 * header's writable dwords, the PCIe control registers and the MSI and
 * MSI-X state the kernel programmed. */
struct saved_cfg {
	uint32_t hdr[16];
	uint16_t devctl, lnkctl, devctl2, lnkctl2;
	uint32_t msi[6];
	uint16_t msix_ctrl;
};

static void save_cfg(struct vfio_pci *vp, struct saved_cfg *s)
{
	unsigned int i;

	for (i = 0; i < 16; i++)
		s->hdr[i] = cfg_rd(vp, 4 * i, 4);
	if (vp->exp_cap) {
		s->devctl =
			(uint16_t)cfg_rd(vp, vp->exp_cap + PCI_A_EXP_DEVCTL, 2);
		s->lnkctl =
			(uint16_t)cfg_rd(vp, vp->exp_cap + PCI_A_EXP_LNKCTL, 2);
		s->devctl2 = (uint16_t)cfg_rd(
			vp, vp->exp_cap + PCI_A_EXP_DEVCTL2, 2);
		s->lnkctl2 = (uint16_t)cfg_rd(
			vp, vp->exp_cap + PCI_A_EXP_LNKCTL2, 2);
	}
	if (vp->msi_cap)
		for (i = 0; i < 6; i++)
			s->msi[i] = cfg_rd(vp, vp->msi_cap + 4 * i, 4);
	if (vp->msix_cap)
		s->msix_ctrl = (uint16_t)cfg_rd(
			vp, vp->msix_cap + PCI_A_MSIX_CONTROL, 2);
}

static void restore_cfg(struct vfio_pci *vp, const struct saved_cfg *s)
{
	unsigned int i;

	if (vp->exp_cap) {
		cfg_wr(vp, vp->exp_cap + PCI_A_EXP_DEVCTL, 2, s->devctl);
		cfg_wr(vp, vp->exp_cap + PCI_A_EXP_LNKCTL, 2, s->lnkctl);
		cfg_wr(vp, vp->exp_cap + PCI_A_EXP_DEVCTL2, 2, s->devctl2);
		cfg_wr(vp, vp->exp_cap + PCI_A_EXP_LNKCTL2, 2, s->lnkctl2);
	}
	/* pci_restore_config_space: dwords 10-15, the BARs, then 0-3
	 * (Command alone: writing Status back would clear its W1C bits) */
	for (i = 10; i < 16; i++)
		cfg_wr(vp, 4 * i, 4, s->hdr[i]);
	for (i = 4; i < 10; i++)
		cfg_wr(vp, 4 * i, 4, s->hdr[i]);
	cfg_wr(vp, PCI_A_CACHE_LINE_SIZE, 1, s->hdr[3] & 0xff);
	cfg_wr(vp, PCI_A_COMMAND, 2, s->hdr[1] & 0xffff);
	/* pci_restore_msi_state: the address and data words, the mask, then
	 * the control word; MSI-X: enabled again, the vectors with triggers
	 * unmasked (the reset masked every table entry) */
	if (vp->msi_cap) {
		for (i = 1; i < 6; i++)
			cfg_wr(vp, vp->msi_cap + 4 * i, 4, s->msi[i]);
		cfg_wr(vp, vp->msi_cap + PCI_A_MSI_CONTROL, 2, s->msi[0] >> 16);
	}
	if (vp->msix_cap) {
		cfg_wr(vp, vp->msix_cap + PCI_A_MSIX_CONTROL, 2, s->msix_ctrl);
		if (vp->irq_type == VFIO_PCI_MSIX_IRQ_INDEX)
			for (i = 0; i < vp->num_ctx; i++)
				if (vp->ctx[i].fd >= 0)
					vector_mask(vp, true, i, false);
	}
}

/* pci_try_reset_function: the function-level reset with the state saved
 * and restored around it (the model's own state is what resets). */
static void reset_function(struct vfio_pci *vp)
{
	struct saved_cfg s;

	lockdep_assert_held(&vp->igate);
	/* the mappings zapped for the reset, back if decoding is on after */
	mutex_lock(&vp->memory_lock);
	mmio_zap_set(&vp->zap, true);
	save_cfg(vp, &s);
	/* pci_dev_save_and_disable: only Interrupt Disable in Command */
	cfg_wr(vp, PCI_A_COMMAND, 2, PCI_MASK(HDR, CMD_INTX_DISABLE));
	pci_function_reset(vp->fn);
	atomic_fetch_add(&vp->resets, 1);
	restore_cfg(vp, &s);
	memory_sync(vp);
	mutex_unlock(&vp->memory_lock);
}

static long ioctl_reset(struct vfio_pci *vp)
{
	if (!vp->reset_works)
		return -EINVAL;
	mutex_lock(&vp->igate);
	reset_function(vp);
	mutex_unlock(&vp->igate);
	return 0;
}

/*
 * GET_PCI_HOT_RESET_INFO and PCI_HOT_RESET: the header checks, then
 * whether the slot or the bus can be reset.  The functions sit on the root
 * bus, which has no bridge above it to reset (pci_probe_reset_bus answers
 * -ENOTTY for a bus without a self): -ENODEV, as 6.1 answers for a device
 * on a root bus.
 */
static long ioctl_hot_reset_info(unsigned long arg)
{
	size_t minsz = offsetofend(struct vfio_pci_hot_reset_info, count);
	struct vfio_pci_hot_reset_info hdr;
	int ret = copy_argsz_from_user(&hdr, arg, minsz);

	return ret ? ret : -ENODEV;
}

static long ioctl_hot_reset(unsigned long arg)
{
	size_t minsz = offsetofend(struct vfio_pci_hot_reset, count);
	struct vfio_pci_hot_reset hdr;
	int ret = copy_argsz_flags_from_user(&hdr, arg, minsz, 0);

	return ret ? ret : -ENODEV;
}

static long vfio_pci_ioctl(struct vfio_device *vdev, unsigned int cmd,
			   unsigned long arg)
{
	struct vfio_pci *vp = to_vp(vdev);

	switch (cmd) {
	case VFIO_DEVICE_GET_INFO:
		return ioctl_get_info(vp, arg);
	case VFIO_DEVICE_GET_REGION_INFO:
		return ioctl_get_region_info(vp, arg);
	case VFIO_DEVICE_GET_IRQ_INFO:
		return ioctl_get_irq_info(vp, arg);
	case VFIO_DEVICE_SET_IRQS:
		return ioctl_set_irqs(vp, arg);
	case VFIO_DEVICE_RESET:
		return ioctl_reset(vp);
	case VFIO_DEVICE_GET_PCI_HOT_RESET_INFO:
		return ioctl_hot_reset_info(arg);
	case VFIO_DEVICE_PCI_HOT_RESET:
		return ioctl_hot_reset(arg);
	default:
		return -ENOTTY;
	}
}

/* ---- read/write ---------------------------------------------------------------------- */

/* vfio_config_do_rw's chunks: aligned 4, 2 or 1 bytes. */
static size_t chunk(uint64_t pos, size_t count)
{
	if (count >= 4 && !(pos % 4))
		return 4;
	if (count >= 2 && !(pos % 2))
		return 2;
	return 1;
}

/* vfio_pci_config_rw: an access past configuration space is -EFAULT,
 * not clipped. */
/*
 * MSI as 6.1 virtualizes it (init_pci_cap_msi_perm, vfio_msi_config_write):
 * the low byte of Message Control, the address and the data are the
 * user's own copy, read back as written; the mask and pending bits are
 * the device's.  A write of the control byte then goes to the device with
 * Enable cleared unless MSI is the index SET_IRQS has on, and Multiple
 * Message Enable no larger than SET_IRQS asked for; the copy keeps the
 * same.  What SET_IRQS programs does not show in the copy.
 */
static bool msi_virt_byte(const struct vfio_pci *vp, unsigned int o)
{
	if (!vp->msi_cap || o < vp->msi_cap)
		return false;
	o -= vp->msi_cap;
	return o == PCI_A_MSI_CONTROL ||
	       (o >= PCI_A_MSI_ADDRESS_LO && o < (vp->msi_64 ? 14u : 10u));
}

static void msi_flags_fixup(struct vfio_pci *vp)
{
	unsigned int qmax = atomic_load(&vp->msi_qmax);
	uint16_t flags, mme = (uint16_t)PCI_MASK(MSI, MME);

	lockdep_assert_held(&vp->igate);
	lockdep_assert_held(&vp->memory_lock);
	flags = (uint16_t)(vp->vmsi[PCI_A_MSI_CONTROL] |
			   cfg_rd(vp, vp->msi_cap + PCI_A_MSI_CONTROL + 1, 1)
				   << 8);
	if (vp->irq_type != VFIO_PCI_MSI_IRQ_INDEX)
		flags &= (uint16_t)~PCI_MASK(MSI, ENABLE);
	if ((flags & mme) > (qmax << PCI_MSI_MME_SHIFT))
		flags = (uint16_t)((flags & ~mme) |
				   (qmax << PCI_MSI_MME_SHIFT));
	vp->vmsi[PCI_A_MSI_CONTROL] = (uint8_t)flags;
	cfg_wr(vp, vp->msi_cap + PCI_A_MSI_CONTROL, 2, flags);
}

/* vfio_config_init: the copy from the device, at open */
static void msi_virt_init(struct vfio_pci *vp)
{
	unsigned int i;

	lockdep_assert_held(&vp->memory_lock);
	for (i = 0; vp->msi_cap && i < sizeof(vp->vmsi); i++)
		vp->vmsi[i] = (uint8_t)cfg_rd(vp, vp->msi_cap + i, 1);
}

/*
 * 6.1's write permissions where they differ from the function's own: the
 * MSI-X Message Control word is not the user's to write (6.1 gives the
 * capability no write bits: only SET_IRQS changes it), and DevCtl's
 * Initiate FLR is vfio's, which resets with the state saved and restored
 * (vfio_exp_config_write); *flr says it was written.  v is the chunk of n
 * bytes at pos.
 */
static uint32_t cfg_write_filter(struct vfio_pci *vp, unsigned int pos,
				 unsigned int n, uint32_t v, bool *flr,
				 bool *msi_flags)
{
	unsigned int flr_byte = vp->exp_cap + PCI_EXP_DEVCTL_BCR_FLR_OFF +
				PCI_EXP_DEVCTL_BCR_FLR_SHIFT / 8;
	unsigned int flr_bit = PCI_EXP_DEVCTL_BCR_FLR_SHIFT % 8, i, o;
	uint32_t cur = 0, m;
	bool have = false;

	for (i = 0; i < n; i++) {
		o = pos + i;
		m = 0xffu << (8 * i);
		if ((vp->msix_cap &&
		     (o == vp->msix_cap + PCI_A_MSIX_CONTROL ||
		      o == vp->msix_cap + PCI_A_MSIX_CONTROL + 1)) ||
		    msi_virt_byte(vp, o)) {
			if (msi_virt_byte(vp, o)) {
				vp->vmsi[o - vp->msi_cap] =
					(uint8_t)(v >> (8 * i));
				*msi_flags |= o ==
					      vp->msi_cap + PCI_A_MSI_CONTROL;
			}
			if (!have)
				cur = cfg_rd(vp, pos, n);
			have = true;
			v = (v & ~m) | (cur & m);
		}
		if (vp->exp_cap && o == flr_byte &&
		    (v >> (8 * i + flr_bit) & 1)) {
			*flr = true;
			v &= ~(1u << (8 * i + flr_bit));
		}
	}
	return v;
}

static ssize_t config_rw_locked(struct vfio_pci *vp, uint8_t *buf, size_t count,
				uint64_t pos, bool write, bool *flr)
{
	size_t done = 0, n, i;
	bool msi_flags;
	uint32_t v;
	int ret;

	lockdep_assert_held(&vp->memory_lock);
	while (done < count) {
		if (pos >= vp->cfg_size || pos + (count - done) > vp->cfg_size)
			return -EFAULT;
		n = chunk(pos, count - done);
		if (write) {
			v = 0;
			msi_flags = false;
			if (copy_from_user(&v, buf + done, n))
				return -EFAULT;
			v = cfg_write_filter(vp, (unsigned int)pos,
					     (unsigned int)n, v, flr,
					     &msi_flags);
			ret = pci_config_write(vp->fn, (unsigned int)pos,
					       (unsigned int)n, v);
			if (!ret && msi_flags)
				msi_flags_fixup(vp);
		} else {
			ret = pci_config_read(vp->fn, (unsigned int)pos,
					      (unsigned int)n, &v);
			for (i = 0; !ret && i < n; i++)
				if (msi_virt_byte(vp, (unsigned int)(pos + i)))
					v = (v & ~(0xffu << (8 * i))) |
					    (uint32_t)vp->vmsi[pos + i -
							       vp->msi_cap]
						    << (8 * i);
			if (!ret && copy_to_user(buf + done, &v, n))
				return -EFAULT;
		}
		if (ret)
			return ret;
		done += n;
		pos += n;
	}
	return (ssize_t)done;
}

/*
 * vfio_pci_bar_rw and do_io_rw: clipped at the BAR's end, in aligned
 * pieces of 4, 2 and 1 bytes; the MSI-X table's bytes read as 0xff and
 * writes to them are dropped (the table is reached through mmap).  An
 * access the function refuses (Memory Space off: -EIO) is the answer.
 */
static ssize_t bar_rw(struct vfio_pci *vp, unsigned int bar, uint8_t *buf,
		      size_t count, uint64_t pos, bool write)
{
	uint64_t size = pci_bar(vp->fn, bar)->size, x_start = 0, x_end = 0;
	size_t done = 0, fillable, n, i;
	uint64_t v;
	int ret;

	if (!size)
		return -EINVAL;
	if (pos >= size)
		return -EINVAL;
	count = (size_t)min((uint64_t)count, size - pos);
	/* vfio_pci_core_do_io_rw's memory test, the MSI-X table included */
	if (!memory_on(vp))
		return -EIO;
	if (bar == vp->msix_bar) {
		x_start = vp->msix_off;
		x_end = vp->msix_off + vp->msix_size;
	}
	while (done < count) {
		size_t left = count - done;

		if (pos < x_start)
			fillable = (size_t)min((uint64_t)left, x_start - pos);
		else if (pos >= x_end)
			fillable = left;
		else
			fillable = 0;
		if (!fillable) {
			n = (size_t)min((uint64_t)left, x_end - pos);
			if (!write)
				for (i = 0; i < n; i++)
					if (copy_to_user(buf + done + i, "\xff",
							 1))
						return -EFAULT;
		} else {
			n = chunk(pos, fillable);
			v = 0;
			if (write) {
				if (copy_from_user(&v, buf + done, n))
					return -EFAULT;
				ret = pci_bar_write(vp->fn, bar, pos,
						    (unsigned int)n, v);
			} else {
				ret = pci_bar_read(vp->fn, bar, pos,
						   (unsigned int)n, &v);
				if (!ret && copy_to_user(buf + done, &v, n))
					return -EFAULT;
			}
			if (ret)
				return ret;
		}
		done += n;
		pos += n;
	}
	return (ssize_t)done;
}

/* A write that clears or sets Memory Space, or moves the function to or
 * from D3hot, zaps or restores the BAR mappings (vfio_basic_config_write,
 * vfio_pm_config_write); one that initiates FLR resets as
 * VFIO_DEVICE_RESET does, where DevCap offers FLR. */
static ssize_t config_rw(struct vfio_pci *vp, uint8_t *buf, size_t count,
			 uint64_t pos, bool write)
{
	bool flr = false;
	ssize_t ret;

	if (!write) {
		mutex_lock(&vp->memory_lock);
		ret = config_rw_locked(vp, buf, count, pos, false, &flr);
		mutex_unlock(&vp->memory_lock);
		return ret;
	}
	/* igate: the MSI fixup reads the index in use; a reset needs it */
	mutex_lock(&vp->igate);
	mutex_lock(&vp->memory_lock);
	ret = config_rw_locked(vp, buf, count, pos, true, &flr);
	memory_sync(vp);
	mutex_unlock(&vp->memory_lock);
	if (flr && (cfg_rd(vp, vp->exp_cap + PCI_A_EXP_DEVCAP, 4) &
		    PCI_MASK(EXP, DEVCAP_FLR)))
		reset_function(vp);
	mutex_unlock(&vp->igate);
	return ret;
}

/* The ROM region: the BAR's size; the images' bytes, then 0xff. */
static ssize_t rom_rw(struct vfio_pci *vp, uint8_t *buf, size_t count,
		      uint64_t pos)
{
	uint64_t size = vp->rom_image ? pci_rom_size(vp->fn) : 0;
	uint8_t tmp[256];
	size_t done = 0, n;

	if (!size || pos >= size)
		return -EINVAL;
	count = (size_t)min((uint64_t)count, size - pos);
	while (done < count) {
		n = min(count - done, sizeof(tmp));
		memset(tmp, 0xff, n);
		if (pos < vp->rom_image)
			pci_rom_read(vp->fn, pos, tmp,
				     (size_t)min((uint64_t)n,
						 vp->rom_image - pos));
		if (copy_to_user(buf + done, tmp, n))
			return -EFAULT;
		done += n;
		pos += n;
	}
	return (ssize_t)done;
}

/* vfio_pci_rw */
static ssize_t vfio_pci_rw(struct vfio_device *vdev, void *buf, size_t count,
			   off_t off, bool write)
{
	struct vfio_pci *vp = to_vp(vdev);
	uint64_t index = (uint64_t)off >> VFIO_REGION_SHIFT;
	uint64_t pos = (uint64_t)off & (VFIO_REGION_OFFSET(1) - 1);

	if (index >= VFIO_PCI_REGIONS)
		return -EINVAL;
	switch (index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		return config_rw(vp, buf, count, pos, write);
	case VFIO_PCI_ROM_REGION_INDEX:
		if (write)
			return -EINVAL;
		return rom_rw(vp, buf, count, pos);
	case VFIO_PCI_VGA_REGION_INDEX:
		return -EINVAL; /* no VGA */
	default:
		return bar_rw(vp, (unsigned int)index, buf, count, pos, write);
	}
}

static ssize_t vfio_pci_read(struct vfio_device *vdev, void *buf, size_t count,
			     off_t off)
{
	return vfio_pci_rw(vdev, buf, count, off, false);
}

static ssize_t vfio_pci_write(struct vfio_device *vdev, const void *buf,
			      size_t count, off_t off)
{
	return vfio_pci_rw(vdev, (void *)buf, count, off, true);
}

/* ---- mmap ---------------------------------------------------------------------------- */

/* A trapped load: the function's answer, or all ones when it refuses (a
 * read of a BAR whose decoding is off reads ~0 on the bus). */
static void trap_read(void *priv, uint64_t off, unsigned int width,
		      uint64_t *val)
{
	struct vfio_pci_bar_trap *t = priv;

	atomic_fetch_add_explicit(&t->vp->trap_reads, 1, memory_order_relaxed);
	if (pci_bar_read(t->vp->fn, t->bar, off, width, val))
		*val = ~0ULL;
}

static void trap_write(void *priv, uint64_t off, unsigned int width,
		       uint64_t val)
{
	struct vfio_pci_bar_trap *t = priv;

	atomic_fetch_add_explicit(&t->vp->trap_writes, 1, memory_order_relaxed);
	pci_bar_write(t->vp->fn, t->bar, off, width, val);
}

static const struct mmio_trap_ops trap_ops = {
	.read = trap_read,
	.write = trap_write,
};

/*
 * vfio_pci_core_mmap's order: the index (-EINVAL past the regions, and
 * for ROM, config and VGA), a BAR that exists, the range inside the BAR
 * rounded up to pages; then the mapping, one page at a time direct or
 * trapped.
 */
static int vfio_pci_mmap_mm(struct vfio_device *vdev, struct mm *mm, off_t off,
			    size_t len, bool write,
			    const struct mm_place *place, void **addr)
{
	struct vfio_pci *vp = to_vp(vdev);
	uint64_t index = (uint64_t)off >> VFIO_REGION_SHIFT;
	uint64_t start = (uint64_t)off & (VFIO_REGION_OFFSET(1) - 1);
	const struct pci_bar_desc *b;
	uint64_t phys_len, npages, i, o;
	phys_addr_t *pages;
	unsigned int k;
	int ret;

	if (index >= VFIO_PCI_REGIONS)
		return -EINVAL;
	if (index >= VFIO_PCI_ROM_REGION_INDEX)
		return -EINVAL;
	b = pci_bar(vp->fn, (unsigned int)index);
	if (!b->size)
		return -EINVAL;
	phys_len = ALIGN_UP(b->size, PHYS_PAGE_SIZE);
	if (start + len > phys_len || start + len < start)
		return -EINVAL;
	npages = len >> PHYS_PAGE_SHIFT;
	pages = ui_calloc(npages, sizeof(*pages));
	if (!pages)
		return -ENOMEM;
	for (i = 0; i < npages; i++) {
		o = start + (i << PHYS_PAGE_SHIFT);
		pages[i] = PHYS_ADDR_INVALID;
		if (!pci_bar_is_mmap(vp->fn, (unsigned int)index, o,
				     PHYS_PAGE_SIZE))
			continue;
		for (k = 0; k < b->nr_mmap; k++)
			if (o >= b->mmap[k].offset &&
			    o < b->mmap[k].offset + b->mmap[k].size)
				pages[i] = phys_virt_to_phys(
					vp->pm,
					(const uint8_t *)b->mmap[k].mem +
						(o - b->mmap[k].offset));
		if (pages[i] != PHYS_ADDR_INVALID &&
		    !IS_ALIGNED(pages[i], PHYS_PAGE_SIZE))
			pages[i] = PHYS_ADDR_INVALID;
	}
	ret = mm_mmap_device_zap(mm, len, pages, 0, &trap_ops, &vp->trap[index],
				 start, &vp->zap, place, addr);
	ui_free(pages);
	return ret;
}

/* ---- open and close ------------------------------------------------------------------ */

/* vfio_pci_core_enable: a reset where one works, then pci_enable_device
 * (memory decoding on). */
static int vfio_pci_open_device(struct vfio_device *vdev)
{
	struct vfio_pci *vp = to_vp(vdev);

	mutex_lock(&vp->igate);
	if (vp->reset_works)
		reset_function(vp);
	mutex_lock(&vp->memory_lock);
	cfg_update(vp, PCI_A_COMMAND, 2, 0, PCI_MASK(HDR, CMD_MEM));
	memory_sync(vp);
	msi_virt_init(vp);
	mutex_unlock(&vp->memory_lock);
	mutex_unlock(&vp->igate);
	return 0;
}

/* vfio_pci_core_disable: bus mastering off, every interrupt off and its
 * eventfd dropped, then a reset where one works. */
static void vfio_pci_close_device(struct vfio_device *vdev)
{
	struct vfio_pci *vp = to_vp(vdev);

	mutex_lock(&vp->igate);
	cfg_update(vp, PCI_A_COMMAND, 2, PCI_MASK(HDR, CMD_MASTER), 0);
	irqs_off(vp);
	atomic_store(&vp->intx_state,
		     atomic_load(&vp->intx_state) & INTX_LEVEL);
	if (vp->reset_works)
		reset_function(vp);
	mutex_unlock(&vp->igate);
}

static const struct vfio_device_ops vfio_pci_ops = {
	.name = "vfio-pci",
	.ioctl = vfio_pci_ioctl,
	.read = vfio_pci_read,
	.write = vfio_pci_write,
	.mmap_mm = vfio_pci_mmap_mm,
	.open_device = vfio_pci_open_device,
	.close_device = vfio_pci_close_device,
};

/* ---- creation ------------------------------------------------------------------------ */

/*
 * pci_get_rom_size: the bytes of the ROM's images, each beginning 55 AA
 * with its PCI data structure ("PCIR") at the offset in bytes 0x18-0x19,
 * whose length field (0x10, in 512-byte units) and indicator (0x15, bit 7:
 * the last image) chain them; 0 when the first image is not valid.
 */
static uint64_t rom_image_size(struct pci_function *fn, uint64_t size)
{
	uint64_t image = 0;
	uint8_t h[0x1a], p[0x18];
	unsigned int pds, length;
	bool last;

	do {
		if (image + sizeof(h) > size ||
		    pci_rom_read(fn, image, h, sizeof(h)) != sizeof(h) ||
		    h[0] != 0x55 || h[1] != 0xaa)
			break;
		pds = h[0x18] | (unsigned int)h[0x19] << 8;
		if (image + pds + sizeof(p) > size ||
		    pci_rom_read(fn, image + pds, p, sizeof(p)) != sizeof(p) ||
		    memcmp(p, "PCIR", 4))
			break;
		last = p[0x15] & 0x80;
		length = p[0x10] | (unsigned int)p[0x11] << 8;
		image += (uint64_t)length * 512;
		if (image >= size)
			break;
	} while (length && !last);
	return min(image, size);
}

int vfio_pci_create(struct pci_function *fn, struct device *dev,
		    struct phys_mem *pm, const char *name,
		    struct vfio_device **out)
{
	uint8_t cfg[PCI_CFG_SIZE];
	struct vfio_pci *vp;
	unsigned int i;

	if (!name || strlen(name) >= sizeof(vp->vdev.name))
		return -EINVAL;
	vp = ui_zalloc(sizeof(*vp));
	if (!vp)
		return -ENOMEM;
	vp->fn = fn;
	vp->pm = pm;
	pci_config_snapshot(fn, cfg, sizeof(cfg));
	vp->msi_cap = pci_find_capability(cfg, PCI_CAP_ID_MSI);
	vp->msix_cap = pci_find_capability(cfg, PCI_CAP_ID_MSIX);
	vp->exp_cap = pci_find_capability(cfg, PCI_CAP_ID_EXP);
	vp->pm_cap = pci_find_capability(cfg, PCI_CAP_ID_PM);
	vp->cfg_size = vp->exp_cap ? PCI_CFG_EXP_SIZE : PCI_CFG_SIZE;
	vp->intx = PCI_EX(cfg, 0, HDR, INT_PIN) != 0;
	vp->msix_bar = PCI_NUM_BARS;
	if (vp->msi_cap) {
		vp->msi_max = 1u << PCI_EX(cfg, vp->msi_cap, MSI, MMC);
		vp->msi_pvm = PCI_EX(cfg, vp->msi_cap, MSI, PVM);
		vp->msi_64 = PCI_EX(cfg, vp->msi_cap, MSI, ADDR64);
	}
	if (vp->msix_cap) {
		vp->msix_max = PCI_EX(cfg, vp->msix_cap, MSIX, TABLE_SIZE) + 1;
		vp->msix_bar = PCI_EX(cfg, vp->msix_cap, MSIX, TABLE_BIR);
		vp->msix_off =
			pci_le_get(cfg + vp->msix_cap + PCI_A_MSIX_TABLE, 4) &
			PCI_MASK(MSIX, TABLE_OFFSET);
		vp->msix_size = (uint64_t)vp->msix_max * PCI_MSIX_ENTRY_SIZE;
	}
	/* pci_probe_reset_function: FLR is the one method a function on
	 * the root bus has (PM reset needs No_Soft_Reset clear) */
	if (vp->exp_cap)
		vp->reset_works = PCI_EX(cfg, vp->exp_cap, EXP, DEVCAP_FLR);
	if (pci_rom_size(fn))
		vp->rom_image = rom_image_size(fn, pci_rom_size(fn));
	for (i = 0; i < PCI_NUM_BARS; i++)
		vp->trap[i] = (struct vfio_pci_bar_trap){vp, i};
	mutex_init(&vp->igate, VFIO_LOCK_PCI_IGATE);
	mutex_init(&vp->unmask_lock, VFIO_LOCK_PCI_UNMASK);
	mutex_init(&vp->memory_lock, VFIO_LOCK_PCI_MEMORY);
	mmio_zap_init(&vp->zap, !PCI_EX(cfg, 0, HDR, CMD_MEM));
	vp->irq_type = VFIO_PCI_NONE;
	atomic_init(&vp->intx_fd, -1);
	vp->err_fd = vp->req_fd = -1;
	if (vp->intx)
		pci_set_intx_handler(fn, intx_handler, vp);
	vp->vdev.ops = &vfio_pci_ops;
	vp->vdev.dev = dev;
	vp->vdev.priv = vp;
	snprintf(vp->vdev.name, sizeof(vp->vdev.name), "%s", name);
	*out = &vp->vdev;
	return 0;
}

void vfio_pci_destroy(struct vfio_device *vdev)
{
	struct vfio_pci *vp = to_vp(vdev);

	mutex_lock(&vp->igate);
	irqs_off(vp);
	mutex_unlock(&vp->igate);
	if (vp->intx)
		pci_set_intx_handler(vp->fn, NULL, NULL);
	mutex_destroy(&vp->memory_lock);
	mutex_destroy(&vp->unmask_lock);
	mutex_destroy(&vp->igate);
	ui_free(vp);
}

struct pci_function *vfio_pci_function(struct vfio_device *vdev)
{
	return to_vp(vdev)->fn;
}

void vfio_pci_get_stats(struct vfio_device *vdev, struct vfio_pci_stats *st)
{
	struct vfio_pci *vp = to_vp(vdev);

	st->signals = atomic_load(&vp->signals);
	st->intx_masked = atomic_load(&vp->intx_masked);
	st->resets = atomic_load(&vp->resets);
	st->virqfd_unmasks = atomic_load(&vp->virqfd_unmasks);
	st->trap_reads = atomic_load(&vp->trap_reads);
	st->trap_writes = atomic_load(&vp->trap_writes);
	st->zapped = atomic_load(&vp->zap.zapped);
	st->zap_faults = atomic_load(&vp->zap.sigbus);
}
