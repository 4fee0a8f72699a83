// SPDX-License-Identifier: MIT
/*
 * signal(3) for the test programs that trap MMIO (test_trap, test_vfio_pci):
 * cmocka installs its SIGSEGV handler with signal() before every test,
 * which would displace the trap handler; this one goes through
 * mmio_trap_sigaction(), so the program's handler is chained behind ours,
 * as the preload library will do for unmodified programs.
 */
#include <signal.h>

#include "mem/mmio_trap.h"

#define ARRAY_SIZE_T(a) (sizeof(a) / sizeof((a)[0]))

/* what signal() handed out, so that handing it back restores it whole
 * (an SA_SIGINFO handler stays one) */
static struct sigaction handed_out[8];
static unsigned int nr_handed_out;

/* exported (the project builds with -fvisibility=hidden), so that
 * libcmocka's calls bind to it */
__attribute__((visibility("default"))) sighandler_t signal(int sig,
							   sighandler_t h)
{
	struct sigaction sa = {.sa_handler = h}, old;
	unsigned int i;

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (i = 0; i < nr_handed_out; i++)
		if (handed_out[i].sa_handler == h && h != SIG_DFL &&
		    h != SIG_IGN)
			sa = handed_out[i];
	if (mmio_trap_sigaction(sig, &sa, &old))
		return SIG_ERR;
	if ((old.sa_flags & SA_SIGINFO) &&
	    nr_handed_out < ARRAY_SIZE_T(handed_out))
		handed_out[nr_handed_out++] = old;
	return old.sa_handler;
}
