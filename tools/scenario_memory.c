// SPDX-License-Identifier: MIT
/*
 * Scenario "memory": the memory model end to end.  A process (an mm) maps
 * two regions, one of 4 KiB frames and one of 2 MiB compound frames; a
 * "driver" pins a range of each with long-term accounting; the process then
 * discards memory under the pins.  The table follows the frames: the pinner
 * keeps the old frame with its data, the user's address reads zero from a
 * fresh frame, unpinned memory goes back to the host, and after unpin and
 * teardown nothing is left pinned, charged or allocated.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mem/mem.h"

#include "scenarios.h"

#define MiB	 (1ULL << 20)
#define REGION	 (64 * MiB)
#define PIN	 (8 * MiB)
#define MAX_RUNS 4096

struct snapshot {
	const char *step;
	uint64_t frames_used;
	uint64_t pinned;
	uint64_t orphaned;
	uint64_t locked_kib;
	const char *note;
};

static void snap(struct phys_mem *pm, struct mm *mm, const char *step,
		 const char *note, struct snapshot *s, json_t *rows)
{
	struct phys_stats st;
	struct phys_report rep;

	phys_get_stats(pm, &st);
	phys_report(pm, 0, &rep);
	s->step = step;
	s->frames_used = st.frames_total - st.frames_free;
	s->pinned = rep.pinned;
	s->orphaned = rep.orphaned;
	s->locked_kib = mm ? mm_locked_vm(mm) * 4 : 0;
	s->note = note;
	printf("  %-28s %10llu %10llu %10llu %12llu  %s\n", s->step,
	       (unsigned long long)s->frames_used,
	       (unsigned long long)s->pinned, (unsigned long long)s->orphaned,
	       (unsigned long long)s->locked_kib, s->note);
	json_array_append_new(
		rows, json_pack("{s:s, s:I, s:I, s:I, s:I}", "step", step,
				"frames_used", (json_int_t)s->frames_used,
				"frames_pinned", (json_int_t)s->pinned,
				"frames_orphaned", (json_int_t)s->orphaned,
				"locked_kib", (json_int_t)s->locked_kib));
}

/* Pin PIN bytes of region r for the long term, as a VFIO driver does.
 * 0, or a negative errno (-EFAULT for a short pin). */
static int pin_region(struct mm *mm, void *r, struct mm_pin_run *runs,
		      unsigned int *nr)
{
	long n = mm_pin_pages(mm, (unsigned long)r, PIN >> 12,
			      MM_GUP_WRITE | MM_GUP_LONGTERM, runs, MAX_RUNS,
			      nr);

	if (n != (long)(PIN >> 12))
		return n < 0 ? (int)n : -EFAULT;
	return 0;
}

static int run_memory(struct scenario_ctx *ctx)
{
	static struct mm_pin_run runs4k[MAX_RUNS], runs2m[MAX_RUNS];
	struct phys_config cfg = {PHYS_DEFAULT_BASE, 1ULL << 30};
	unsigned int nr4k = 0, nr2m = 0;
	struct phys_mem *pm = NULL;
	struct mm *mm = NULL;
	uint8_t *r4k, *r2m;
	struct snapshot s;
	json_t *rows = json_array();
	uint8_t *old;
	long n;
	int bad = 0, ret;

	printf("memory: a process maps 2 x %llu MiB, a driver pins %llu MiB of "
	       "each, the\n"
	       "process discards memory under the pins (frames are 4 KiB)\n",
	       REGION / MiB, PIN / MiB);
	printf("  %-28s %10s %10s %10s %12s  %s\n", "step", "frames", "pinned",
	       "orphaned", "locked KiB", "");

	ret = phys_create(&cfg, &pm);
	if (ret)
		goto fail;
	ret = mm_create(pm, &mm);
	if (ret)
		goto fail;
	mm_set_memlock_limit(mm, 2 * PIN);
	snap(pm, mm, "empty", "", &s, rows);

	ret = mm_mmap(mm, REGION, MM_MAP_POPULATE, (void **)&r4k);
	if (!ret)
		ret = mm_mmap(mm, REGION, MM_MAP_POPULATE | MM_MAP_HUGE,
			      (void **)&r2m);
	if (ret)
		goto fail;
	memset(r4k, 0xa5, REGION);
	memset(r2m, 0x5a, REGION);
	snap(pm, mm, "mmap 4K + 2M regions", "user wrote every byte", &s, rows);

	ret = pin_region(mm, r4k, runs4k, &nr4k);
	if (!ret)
		ret = pin_region(mm, r2m, runs2m, &nr2m);
	if (ret)
		goto fail;
	{
		static char note[96];

		snprintf(note, sizeof(note),
			 "runs: %u (4K region), %u (2M region)", nr4k, nr2m);
		snap(pm, mm, "pin 8 MiB of each", note, &s, rows);
	}
	{
		struct mm_pin_run extra[1];
		unsigned int nr;
		static char note[96];

		n = mm_pin_pages(mm, (unsigned long)r4k + PIN, 1,
				 MM_GUP_LONGTERM, extra, 1, &nr);
		snprintf(note, sizeof(note),
			 "one more page: %s (limit %llu MiB)",
			 n == -ENOMEM ? "ENOMEM" : "accepted?!",
			 (unsigned long long)(2 * PIN / MiB));
		if (n != -ENOMEM)
			bad++;
		snap(pm, mm, "pin past RLIMIT_MEMLOCK", note, &s, rows);
	}

	ret = mm_discard(mm, r4k, REGION);
	if (!ret)
		ret = mm_discard(mm, r2m, REGION);
	if (ret)
		goto fail;
	old = phys_to_virt(pm, runs4k[0].pa);
	{
		static char note[128];
		bool kept = old[0] == 0xa5 && old[PIN - 1] == 0xa5;
		bool zero = r4k[0] == 0 && r2m[0] == 0 && r4k[REGION - 1] == 0;

		snprintf(note, sizeof(note),
			 "pinner's frames keep data: %s; user reads zero: %s",
			 kept ? "yes" : "NO", zero ? "yes" : "NO");
		bad += !kept + !zero;
		snap(pm, mm, "discard both regions", note, &s, rows);
	}

	mm_unpin_pages(mm, runs4k, nr4k, MM_GUP_LONGTERM);
	mm_unpin_pages(mm, runs2m, nr2m, MM_GUP_LONGTERM);
	snap(pm, mm, "unpin", "orphaned frames freed", &s, rows);

	mm_munmap(mm, r4k, REGION);
	mm_munmap(mm, r2m, REGION);
	snap(pm, mm, "munmap", "", &s, rows);
	bad += mm_check_invariants(mm, stderr);
	mm_destroy(mm);
	mm = NULL;
	bad += mem_check_invariants(pm, PHYS_OWNER_NONE, stderr);
	snap(pm, NULL, "mm_destroy",
	     bad ? "INVARIANTS BROKEN"
		 : "invariants hold: nothing pinned, charged or allocated",
	     &s, rows);
	phys_destroy(pm);
	scenario_json_add(ctx, "memory",
			  json_pack("{s:o, s:b}", "steps", rows, "ok", !bad));
	return bad ? 1 : 0;

fail:
	fprintf(stderr, "memory: failed: %s\n", strerror(-ret));
	json_decref(rows);
	mm_destroy(mm);
	phys_destroy(pm);
	return 1;
}

DEFINE_SCENARIO(memory, run_memory,
		"the memory model: pin, discard under pins, accounting");
