// SPDX-License-Identifier: MIT
/*
 * copy_from_user / copy_to_user and the VFIO ioctl entry built on them: see
 * uaccess.h.
 *
 * Two ways to copy.  Once the trap's SIGSEGV handler is installed
 * (mem/mmio_trap.c calls uaccess_fixup_enable()), a copy is a plain memcpy
 * under a fixup, as the kernel's exception table does it: the thread
 * records the user range and a jump buffer, and a fault the handler finds
 * inside that range (a bad pointer, a page without the access, a trapped
 * or zapped BAR page) jumps back and the copy returns -EFAULT; no system
 * call on the good path.  Before that, and in sanitizer builds (whose
 * memcpy interceptors would touch shadow memory of a wild pointer first),
 * the copy is process_vm_readv/writev on ourselves, one system call.
 *
 * The fixup is per thread and nests (a copy in a signal handler that
 * interrupted a copy saves and restores the outer one).  The handler runs
 * with SA_NODEFER and an empty sa_mask, so its signal mask is the faulting
 * context's and the jump needs not restore one (sigsetjmp without a mask:
 * no system call).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "uaccess.h"
#include "internal.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UACCESS_NO_FIXUP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
	__has_feature(memory_sanitizer)
#define UACCESS_NO_FIXUP 1
#endif
#endif

/* The top of the user half of the address space (x86-64, 4 levels): a
 * range past it is -EFAULT before any access, as access_ok() has it. */
#define UACCESS_TASK_SIZE 0x7ffffffff000ull

struct uaccess_fixup {
	sigjmp_buf env;
	uintptr_t lo, hi; /* the user range, [lo, hi) */
};

static atomic_bool fixup_ready;
static atomic_ulong fixups;
static __thread struct uaccess_fixup *volatile cur_fixup
	__attribute__((tls_model("initial-exec")));

void uaccess_fixup_enable(void)
{
#ifndef UACCESS_NO_FIXUP
	atomic_store(&fixup_ready, true);
#endif
}

bool uaccess_fixup_enabled(void)
{
	return atomic_load_explicit(&fixup_ready, memory_order_relaxed);
}

unsigned long uaccess_fixups(void)
{
	return atomic_load_explicit(&fixups, memory_order_relaxed);
}

void uaccess_fault(unsigned long addr)
{
	struct uaccess_fixup *f = cur_fixup;

	if (!f || addr < f->lo || addr >= f->hi)
		return;
	atomic_fetch_add_explicit(&fixups, 1, memory_order_relaxed);
	siglongjmp(f->env, 1);
}

static int copy_fixup(void *to, const void *from, size_t n, uintptr_t user)
{
	struct uaccess_fixup f, *outer = cur_fixup;

	f.lo = user;
	f.hi = user + n;
	if (sigsetjmp(f.env, 0)) {
		cur_fixup = outer;
		return -EFAULT;
	}
	cur_fixup = &f;
	atomic_signal_fence(memory_order_seq_cst); /* the copy stays inside */
	memcpy(to, from, n);
	atomic_signal_fence(memory_order_seq_cst);
	cur_fixup = outer;
	return 0;
}

static int copy_vm(void *to, const void *from, size_t n, bool from_user)
{
	struct iovec local, remote;
	ssize_t done;

	if (from_user) {
		local = (struct iovec){to, n};
		remote = (struct iovec){(void *)from, n};
		done = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	} else {
		local = (struct iovec){(void *)from, n};
		remote = (struct iovec){to, n};
		done = process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
	}
	if (done < 0 && (errno == ENOSYS || errno == EPERM)) {
		/* no cross-memory attach here (seccomp, ptrace policy): trust
		 * the pointer, as there is no way left to check it */
		memcpy(to, from, n);
		return 0;
	}
	return done == (ssize_t)n ? 0 : -EFAULT;
}

static int uaccess(void *to, const void *from, size_t n, bool from_user)
{
	uintptr_t user = from_user ? (uintptr_t)from : (uintptr_t)to;

	if (!n)
		return 0;
	if (n > UACCESS_TASK_SIZE || user > UACCESS_TASK_SIZE - n)
		return -EFAULT;
	if (uaccess_fixup_enabled())
		return copy_fixup(to, from, n, user);
	return copy_vm(to, from, n, from_user);
}

int copy_from_user(void *to, const void *from, size_t n)
{
	return uaccess(to, from, n, true);
}

int copy_to_user(void *to, const void *from, size_t n)
{
	return uaccess(to, from, n, false);
}

/* The argsz (offset 0) and flags (offset 4) of a copied ioctl argument. */
static uint32_t arg_word(const void *dst, size_t off)
{
	uint32_t w;

	memcpy(&w, (const char *)dst + off, sizeof(w));
	return w;
}

int copy_argsz_from_user(void *dst, unsigned long arg, size_t minsz)
{
	if (copy_from_user(dst, (const void *)arg, minsz))
		return -EFAULT;
	if (arg_word(dst, 0) < minsz)
		return -EINVAL;
	return 0;
}

int copy_argsz_flags_from_user(void *dst, unsigned long arg, size_t minsz,
			       uint32_t valid_flags)
{
	int ret = copy_argsz_from_user(dst, arg, minsz);

	if (ret)
		return ret;
	return arg_word(dst, sizeof(uint32_t)) & ~valid_flags ? -EINVAL : 0;
}

int copy_struct_from_user(void *dst, size_t ksize, const void *src,
			  size_t usize)
{
	size_t size = min(ksize, usize), rest;
	const uint8_t *p = (const uint8_t *)src + size;
	uint8_t buf[64];

	if (usize < ksize)
		memset((uint8_t *)dst + size, 0, ksize - size);
	/* check_zeroed_user: what we do not know must be zero */
	for (rest = usize > ksize ? usize - ksize : 0; rest;) {
		size_t n = min(rest, sizeof(buf));

		if (copy_from_user(buf, p, n))
			return -EFAULT;
		for (size_t i = 0; i < n; i++)
			if (buf[i])
				return -E2BIG;
		p += n;
		rest -= n;
	}
	return copy_from_user(dst, src, size) ? -EFAULT : 0;
}
