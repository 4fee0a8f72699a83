// SPDX-License-Identifier: MIT
/*
 * The sanitizer's reports: one per finding, then a summary at exit.
 *
 * A report is built whole in memory (so that threads' reports never
 * interleave, and the in-process callback gets exactly the text), then
 * handed to the callback when one is set, else appended to the log:
 * stderr, or log_path.<pid>.  Its first line is stable, for people and
 * scripts alike:
 *
 *   uiommu: ERROR: <kind> on <device> <read|write> <N> bytes at IOVA 0x...
 *
 * then the device and its stream id with the SMMU's word for the fault,
 * the access and what started it (the device model's san_origin), the
 * IOVA's mapping history (the UNMAP that ended the latest mapping and that
 * MAP, with sequence numbers and the program's stacks), and the host
 * address the IOVA pointed to with the mapping of the process it lies in.
 *
 * Counts: one atomic per kind.  halt_on_error: the first report ends the
 * process (summary, then _exit(exitcode)).
 *
 * Locking: report_lock serializes the log's writes (a leaf: the history
 * was looked up before it is taken); cb and cb_arg are set before the
 * devices run (san_set_report_fn).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/internal.h"
#include "lib/lock.h"
#include "sanitizer/sanitizer.h"

__thread struct san_origin san_origin;

static const char *const kind_names[SAN_NR_KINDS] = {
	[SAN_KIND_UNMAPPED] = "dma-unmapped",
	[SAN_KIND_PERMISSION] = "dma-permission",
};

static _Atomic unsigned long kind_count[SAN_NR_KINDS];
static struct mutex report_lock =
	MUTEX_INITIALIZER("san_report_lock", LOCK_RANK_SANITIZER);
static FILE *log_file; /* report_lock */
static san_report_fn cb;
static void *cb_arg;

const char *san_kind_name(enum san_kind k)
{
	return k < SAN_NR_KINDS ? kind_names[k] : "?";
}

void san_set_report_fn(san_report_fn fn, void *arg)
{
	cb_arg = arg;
	cb = fn;
}

unsigned long san_error_count(void)
{
	unsigned long n = 0;

	for (int k = 0; k < SAN_NR_KINDS; k++)
		n += atomic_load(&kind_count[k]);
	return n;
}

unsigned long san_kind_count(enum san_kind k)
{
	return k < SAN_NR_KINDS ? atomic_load(&kind_count[k]) : 0;
}

void san_reset(void)
{
	for (int k = 0; k < SAN_NR_KINDS; k++)
		atomic_store(&kind_count[k], 0);
	cb = NULL;
	cb_arg = NULL;
}

/* The log, opened at its first use. */
static FILE *san_log(void)
{
	const char *path = san_get_options()->log_path;
	char name[sizeof(san_get_options()->log_path) + 16];

	lockdep_assert_held(&report_lock);
	if (log_file)
		return log_file;
	if (!*path || !strcmp(path, "stderr"))
		return log_file = stderr;
	snprintf(name, sizeof(name), "%s.%d", path, (int)getpid());
	log_file = fopen(name, "a");
	if (!log_file)
		log_file = stderr;
	return log_file;
}

static void log_write(const char *text)
{
	FILE *f;

	mutex_lock(&report_lock);
	f = san_log();
	fputs(text, f);
	fflush(f);
	mutex_unlock(&report_lock);
}

static const char *prot_name(unsigned int prot)
{
	switch (prot & (SAN_PROT_READ | SAN_PROT_WRITE)) {
	case SAN_PROT_READ:
		return "device may read";
	case SAN_PROT_WRITE:
		return "device may write";
	case SAN_PROT_READ | SAN_PROT_WRITE:
		return "device may read and write";
	default:
		return "no access";
	}
}

/* The line of /proc/self/maps that holds addr. */
static void print_host_mapping(FILE *f, uint64_t addr)
{
	FILE *m = fopen("/proc/self/maps", "r");
	char line[512];

	if (!m)
		return;
	while (fgets(line, sizeof(line), m)) {
		unsigned long long lo, hi;
		char perms[8] = "", path[400] = "";

		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %399[^\n]", &lo,
			   &hi, perms, path) < 3)
			continue;
		if (addr < lo || addr >= hi)
			continue;
		fprintf(f,
			"  host address 0x%" PRIx64 " lies in the process's "
			"mapping 0x%llx-0x%llx %s "
			"%s "
			"(offset 0x%llx into it)\n",
			addr, lo, hi, perms, *path ? path : "[anonymous]",
			(unsigned long long)(addr - lo));
		/* the program's own memory, adopted at its first pin */
		if (strstr(path, "uiommu-phys"))
			fprintf(f, "  (the program's memory, or uiommu_mmap's, "
				   "backed by the emulated machine's physical "
				   "frames: docs/mem.md)\n");
		break;
	}
	fclose(m);
}

static void print_event(FILE *f, const char *verb, const struct san_event *e,
			const struct san_lookup *l)
{
	fprintf(f,
		"  %s by %s #%" PRIu64 " of IOVA [0x%" PRIx64 ", 0x%" PRIx64
		") in the %s",
		verb, e->op == SAN_EV_MAP ? "MAP" : "UNMAP", e->seq, e->iova,
		e->iova + e->length, l->what);
	if (e->op == SAN_EV_MAP)
		fprintf(f, " -> host 0x%" PRIx64 " (%s)", e->vaddr,
			prot_name(e->prot));
	fprintf(f, ", at:\n");
	san_stack_print(f, &e->stack);
}

static void print_history(FILE *f, const struct san_dma *d,
			  const struct san_lookup *l)
{
	if (!l->what) {
		fprintf(f, "  no mapping history: the device is attached to "
			   "no IOVA space the sanitizer watches\n");
		return;
	}
	if (l->have_unmap) {
		print_event(f, "IOVA unmapped", &l->unmap, l);
		fprintf(f, "  %" PRIu64 " operation(s) on the %s since\n",
			l->seq - l->unmap.seq, l->what);
	}
	if (l->have_map) {
		print_event(f, l->have_unmap ? "earlier mapped" : "IOVA mapped",
			    &l->map, l);
		if (l->map.vaddr)
			print_host_mapping(f, l->map.vaddr +
						      (d->iova - l->map.iova));
	} else {
		fprintf(f,
			"  no MAP of IOVA 0x%" PRIx64 " in the %s's last %u "
			"operations (%" PRIu64 " so far)\n",
			d->iova, l->what, san_get_options()->history_size,
			l->seq);
	}
}

void san_report_dma(const struct san_dma *d)
{
	const char *kind = san_kind_name(d->kind);
	const char *rw = d->write ? "write" : "read";
	struct san_origin o = san_origin;
	struct san_lookup l;
	char *text = NULL;
	size_t size = 0;
	FILE *f;

	if (!san_enabled() || d->kind >= SAN_NR_KINDS)
		return;
	atomic_fetch_add(&kind_count[d->kind], 1);
	san_space_lookup(d->dev && d->dev->space ? d->dev->space(d->dev) : NULL,
			 d->iova, &l);
	f = open_memstream(&text, &size);
	if (!f)
		return;
	fprintf(f,
		"uiommu: ERROR: %s on %s %s %zu bytes at IOVA 0x%" PRIx64 "\n",
		kind, d->dev ? d->dev->name : "?", rw, d->len, d->iova);
	fprintf(f, "  device %s, stream id %u: the SMMU answered %s",
		d->dev ? d->dev->name : "?", d->dev ? d->dev->sid : 0,
		d->cause ? d->cause : "a fault");
	if (d->detail)
		fprintf(f, " (%s)", d->detail);
	fprintf(f, "\n  the access: a DMA %s of %zu bytes at IOVA 0x%" PRIx64,
		rw, d->len, d->iova);
	if (o.fmt) {
		fprintf(f, ", started by ");
		fprintf(f, o.fmt, o.a, o.b, o.c);
	}
	fprintf(f, "\n");
	print_history(f, d, &l);
	fclose(f);
	if (!text)
		return;
	if (cb) {
		struct san_report_info r = {
			.kind = kind,
			.device = d->dev ? d->dev->name : "?",
			.sid = d->dev ? d->dev->sid : 0,
			.write = d->write,
			.iova = d->iova,
			.len = d->len,
			.text = text,
		};

		cb(&r, cb_arg);
	} else {
		log_write(text);
	}
	free(text);
	if (san_get_options()->halt_on_error) {
		int status = san_summary();

		fflush(NULL);
		_exit(status);
	}
}

int san_summary(void)
{
	unsigned long n = san_error_count();
	char line[256];
	int len;

	if (!n)
		return 0;
	len = snprintf(line, sizeof(line), "SUMMARY: uiommu: %lu error%s (", n,
		       n == 1 ? "" : "s");
	for (int k = 0, first = 1; k < SAN_NR_KINDS; k++) {
		unsigned long c = atomic_load(&kind_count[k]);

		if (!c)
			continue;
		len += snprintf(line + len, sizeof(line) - len, "%s%lu %s",
				first ? "" : ", ", c, kind_names[k]);
		first = 0;
	}
	snprintf(line + len, sizeof(line) - len, ")\n");
	log_write(line);
	return san_get_options()->exitcode;
}
