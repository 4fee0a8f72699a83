/* SPDX-License-Identifier: MIT */
/*
 * The DMA sanitizer (issue 16): AddressSanitizer-style reports of isolation
 * bugs, fed by the detection points the layers already have.
 *
 * It sits just above src/lib/ and calls nothing but it, so that every
 * layer may report into it: the hardware layer reports a DMA the SMMU
 * refused (san_report_dma), the owners of an IOVA space (VFIO type1's
 * container, iommufd's io_pagetable) record each MAP and UNMAP in that
 * space's history (san_space_record), and device models name what started
 * a DMA (san_origin_set).  The layers that know more hand it what it cannot
 * look up itself: the bus gives each endpoint a struct san_device (its
 * name, its stream id, and a callback that finds the history its DMA goes
 * through now).
 *
 * Files, one concern each: options.c (UIOMMU_OPTIONS, on or off),
 * stack.c (capture at the call, symbolize with libdw at the report),
 * history.c (the per-space rings), report.c (the report writer, the counts
 * per kind, the summary, the in-process callback).
 *
 * Off (the default: nothing asked for it) it costs one predictable branch
 * on MAP/UNMAP and nothing on the DMA path, whose only hooks are on the
 * fault paths.  docs/sanitizer.md.
 */
#ifndef UIOMMU_SANITIZER_H
#define UIOMMU_SANITIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- options (options.c) ------------------------------------------------ */

struct san_options {
	bool halt_on_error; /* exit after the first report (0) */
	int exitcode;	    /* the exit status of a run with errors (1) */
	unsigned int history_size; /* events kept per IOVA space (256) */
	char log_path[256];	   /* "" or "stderr": stderr; else PATH.<pid> */
};

#define SAN_HISTORY_DEFAULT 256
#define SAN_HISTORY_MAX	    (1u << 20)

/*
 * Parse s, ASan's "name=value:name=value" form (also ',' or blanks between
 * pairs), into o, which starts at the defaults.  Unknown names and bad
 * values are not errors: each is named on a warning line written to warn
 * (when not NULL), as ASan does; the count of them is returned.
 */
int san_options_parse(const char *s, struct san_options *o, FILE *warn);
void san_options_default(struct san_options *o);

/*
 * The process's switch: on once san_enable() ran (from the environment:
 * $UIOMMU_OPTIONS set, or $UIOMMU_SANITIZE=1 as `uiommu exec --sanitize`
 * sets it; or from the in-process API).  Read without a lock; it only ever
 * goes from off to on.
 */
extern bool san_on;
static inline bool san_enabled(void)
{
	return __atomic_load_n(&san_on, __ATOMIC_RELAXED);
}
/* Turn it on with these options (NULL: the defaults). */
void san_enable(const struct san_options *o);
/* Turn it on when the environment asks; true when it is on. */
bool san_enable_from_env(void);
const struct san_options *san_get_options(void);
/* Benchmarks only: flip the switch either way, to time the same objects
 * with it on and off in one run (the options stay). */
void san_set_enabled(bool on);

/* ---- stacks (stack.c) --------------------------------------------------- */

#define SAN_STACK_DEPTH 24

struct san_stack {
	unsigned int depth;
	void *pc[SAN_STACK_DEPTH];
};

/* The caller's stack, return addresses only (cheap: no symbols). */
void san_stack_capture(struct san_stack *st);
/*
 * The program's stack at the call in progress on this thread, captured
 * where the call entered the library (the fd front), or NULL: what
 * san_space_record() stores instead of unwinding again through the
 * library's own frames (half of them, and so half the cost).
 */
extern __thread const struct san_stack *san_call_stack;
/*
 * Print st to f, one "    #N 0xPC in FUNCTION FILE:LINE (MODULE)" line per
 * frame, symbolized with libdw; the leading frames of the library itself
 * are skipped so that frame #0 is the program's call.
 */
void san_stack_print(FILE *f, const struct san_stack *st);
/* The function of the first frame print would show, into buf ("?" if
 * unknown): for tests and the in-process report. */
void san_stack_top(const struct san_stack *st, char *buf, size_t len);

/* ---- mapping history (history.c) ---------------------------------------- */

enum san_event_op {
	SAN_EV_MAP = 1,
	SAN_EV_UNMAP = 2,
};

struct san_event {
	enum san_event_op op;
	uint64_t seq;  /* the space's operation number, from 1 */
	uint64_t iova; /* the range */
	uint64_t length;
	uint64_t vaddr;	   /* the host address of iova (MAP; 0 if unknown) */
	unsigned int prot; /* SAN_PROT_* (MAP) */
	struct san_stack stack;
};

#define SAN_PROT_READ  (1u << 0) /* the device may read */
#define SAN_PROT_WRITE (1u << 1) /* the device may write */

struct san_space;

/* A history of the options' history_size events; NULL when the sanitizer
 * is off or memory ran out (then nothing is recorded). */
struct san_space *san_space_create(const char *what);
void san_space_destroy(struct san_space *s);
/* Record one operation, with the caller's stack: a no-op on NULL. */
void san_space_record(struct san_space *s, enum san_event_op op, uint64_t iova,
		      uint64_t length, uint64_t vaddr, unsigned int prot);
/* The latest MAP covering iova and, when an UNMAP covering it came after
 * that MAP, that UNMAP (have_* say which the ring still holds). */
struct san_lookup {
	bool have_map, have_unmap;
	struct san_event map, unmap;
	uint64_t seq; /* the space's last operation number */
	const char *what;
};
void san_space_lookup(struct san_space *s, uint64_t iova,
		      struct san_lookup *out);

/* ---- reports (report.c) ------------------------------------------------- */

enum san_kind {
	SAN_KIND_UNMAPPED,   /* DMA through no mapping: a translation fault */
	SAN_KIND_PERMISSION, /* a write through a read-only mapping (or a read
			      * through a write-only one) */
	SAN_NR_KINDS,
};

const char *san_kind_name(enum san_kind k);

/* What a bus knows of a device; embedded in the bus's device. */
struct san_device {
	char name[32];
	uint32_t sid;
	/* the history the device's DMA goes through now, or NULL */
	struct san_space *(*space)(const struct san_device *sd);
};

/* A device model names what started the DMAs its thread makes next:
 * fmt is a printf format of the three values, NULL when done. */
struct san_origin {
	const char *fmt;
	uint64_t a, b, c;
};
extern __thread struct san_origin san_origin;
static inline void san_origin_set(const char *fmt, uint64_t a, uint64_t b,
				  uint64_t c)
{
	san_origin = (struct san_origin){fmt, a, b, c};
}

struct san_dma {
	enum san_kind kind;
	const struct san_device *dev;
	bool write;
	uint64_t iova;
	size_t len;
	const char *cause;  /* the SMMU's word for it ("F_TRANSLATION") */
	const char *detail; /* a sentence more, or NULL */
};

/* Report one refused DMA (the sanitizer off: nothing). */
void san_report_dma(const struct san_dma *d);

/* The in-process callback: each report's text and its facts. */
struct san_report_info {
	const char *kind;
	const char *device;
	uint32_t sid;
	bool write;
	uint64_t iova;
	uint64_t len;
	const char *text; /* the whole report, as written to the log */
};
typedef void (*san_report_fn)(const struct san_report_info *r, void *arg);
void san_set_report_fn(san_report_fn fn, void *arg);

/* Errors so far, in all and of one kind. */
unsigned long san_error_count(void);
unsigned long san_kind_count(enum san_kind k);
/* "SUMMARY: uiommu: N errors (kind, kind)" to the log, when N > 0; then
 * the exit status the run should have: 0, or the options' exitcode. */
int san_summary(void);
/* Tests: forget the counts (and the callback). */
void san_reset(void);

#ifdef __cplusplus
}
#endif
#endif /* UIOMMU_SANITIZER_H */
