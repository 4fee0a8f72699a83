// SPDX-License-Identifier: MIT
/*
 * Call stacks of the program at its MAP and UNMAP calls.
 *
 * Capture is cheap and happens at the call: backtrace() (the unwinder of
 * libgcc, driven by the .eh_frame tables, so frame pointers are not
 * needed) stores return addresses only.  Symbolization is expensive and
 * happens only when a report prints a stack: elfutils' libdw reads the
 * process's modules from /proc/PID/maps and gives each address its
 * function, source file and line (from DWARF when the module has it,
 * else the symbol table).
 *
 * The frames a report shows start in the program: the leading frames of
 * the library itself (the capture, the history, type1 or iommufd, the fd
 * front, the preload library's ioctl) are skipped, and so are the frames
 * above them (a backtrace() that a sanitizer runtime interposes).  A
 * frame is the library's when it lies in the module that holds this
 * file's code; when that module is the program itself (the static
 * library linked into a test or a tool), when its function has one of
 * the library's prefixes.
 *
 * Locking: none; a Dwfl is made per print and freed after it.
 */
#include <execinfo.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include <elfutils/libdwfl.h>

#include "sanitizer/sanitizer.h"

__thread const struct san_stack *san_call_stack;

void san_stack_capture(struct san_stack *st)
{
	int n = backtrace(st->pc, SAN_STACK_DEPTH);

	st->depth = n > 0 ? (unsigned int)n : 0;
}

static const Dwfl_Callbacks proc_callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
};

static Dwfl *proc_dwfl(void)
{
	Dwfl *dwfl = dwfl_begin(&proc_callbacks);

	if (!dwfl)
		return NULL;
	if (dwfl_linux_proc_report(dwfl, getpid()) ||
	    dwfl_report_end(dwfl, NULL, NULL)) {
		dwfl_end(dwfl);
		return NULL;
	}
	return dwfl;
}

/* The names of the library's functions, where it is linked into the
 * program (static library). */
static const char *const lib_prefixes[] = {
	"san_",	   "vfio_", "type1_",	 "iommufd_", "iopt_",
	"uiommu_", "mm_",   "iommu_",	 "copy_",    "ioctl",
	"our_",	   "fops_", "backtrace", "__libc_",  "device_",
};

static bool lib_name(const char *name)
{
	for (size_t i = 0; i < sizeof(lib_prefixes) / sizeof(lib_prefixes[0]);
	     i++)
		if (!strncmp(name, lib_prefixes[i], strlen(lib_prefixes[i])))
			return true;
	return false;
}

static bool module_is_main(Dwfl_Module *m)
{
	const char *name =
		dwfl_module_info(m, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (!name || n <= 0)
		return false;
	exe[n] = '\0';
	return !strcmp(name, exe);
}

/* The index of the first frame of the program: past the frames before
 * the library's own (an interposed backtrace(), as ASan's runtime has),
 * then past the library's. */
static unsigned int first_frame(Dwfl *dwfl, const struct san_stack *st)
{
	Dwfl_Module *self = dwfl_addrmodule(
		dwfl, (Dwarf_Addr)(uintptr_t)&san_stack_capture);
	bool self_main = self && module_is_main(self), seen = false;
	unsigned int i;

	for (i = 0; i < st->depth; i++) {
		Dwarf_Addr pc = (Dwarf_Addr)(uintptr_t)st->pc[i] - 1;
		Dwfl_Module *m = dwfl_addrmodule(dwfl, pc);
		const char *name = m ? dwfl_module_addrname(m, pc) : NULL;
		bool ours = m && m == self &&
			    (!self_main || (name && lib_name(name)));

		if (ours)
			seen = true;
		else if (seen)
			break;
	}
	return i < st->depth ? i : 0;
}

/* A symbol as its source names it: without the compiler's clone suffix
 * (".isra.0", ".constprop.0", ".part.0", ".cold") or the symbol version
 * ("@@GLIBC_2.34"), which no C identifier contains. */
static int name_len(const char *name)
{
	return (int)strcspn(name, ".@");
}

void san_stack_print(FILE *f, const struct san_stack *st)
{
	Dwfl *dwfl = proc_dwfl();
	unsigned int i, n = 0;

	if (!dwfl) {
		for (i = 0; i < st->depth; i++)
			fprintf(f, "    #%u %p\n", i, st->pc[i]);
		return;
	}
	for (i = first_frame(dwfl, st); i < st->depth; i++) {
		/* a return address: the call is the byte before it */
		Dwarf_Addr pc = (Dwarf_Addr)(uintptr_t)st->pc[i] - 1;
		Dwfl_Module *m = dwfl_addrmodule(dwfl, pc);
		const char *name = m ? dwfl_module_addrname(m, pc) : NULL;
		const char *mod = m ? dwfl_module_info(m, NULL, NULL, NULL,
						       NULL, NULL, NULL, NULL)
				    : NULL;
		Dwfl_Line *line = m ? dwfl_module_getsrc(m, pc) : NULL;
		const char *file = NULL;
		int lineno = 0;

		if (line)
			file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL,
					     NULL);
		if (!name)
			name = "??";
		fprintf(f, "    #%u %p in %.*s", n++, st->pc[i], name_len(name),
			name);
		if (file)
			fprintf(f, " %s:%d", file, lineno);
		if (mod)
			fprintf(f, " (%s)", mod);
		fputc('\n', f);
		/* the program's stack ends at main's caller */
		if (!strcmp(name, "main"))
			break;
	}
	dwfl_end(dwfl);
}

void san_stack_top(const struct san_stack *st, char *buf, size_t len)
{
	Dwfl *dwfl = proc_dwfl();
	const char *name = NULL;

	if (dwfl && st->depth) {
		unsigned int i = first_frame(dwfl, st);
		Dwarf_Addr pc = (Dwarf_Addr)(uintptr_t)st->pc[i] - 1;
		Dwfl_Module *m = dwfl_addrmodule(dwfl, pc);

		name = m ? dwfl_module_addrname(m, pc) : NULL;
	}
	if (!name)
		name = "?";
	snprintf(buf, len, "%.*s", name_len(name), name);
	if (dwfl)
		dwfl_end(dwfl);
}
