// SPDX-License-Identifier: MIT
/*
 * Mapping histories: per IOVA space (a VFIO type1 container, an iommufd
 * io_pagetable), a bounded ring of its MAP and UNMAP operations.
 *
 * Objects and lifetimes: a struct san_space is made by the space's owner
 * when the sanitizer is on (san_space_create returns NULL when it is off,
 * and every other call takes NULL as "record nothing"), and destroyed
 * with the owner.  Its ring holds the options' history_size latest events;
 * each has the space's sequence number (1, 2, ... in the order the
 * operations completed: one per MAP, one per mapping an UNMAP removed)
 * and the caller's stack, captured at the call and symbolized only when a
 * report prints it (stack.c).
 *
 * Invariants: ev[(head - 1 - i) % size] is the i-th newest event for
 * i < count; seq of the newest is the space's last number.
 *
 * Locking: lock guards the ring (LOCK_RANK_SANITIZER: a leaf, taken under
 * the owner's locks on MAP/UNMAP and under a device model's on a report).
 * The stack is captured before the lock is taken (or was, where the call
 * entered the library: san_call_stack).
 */
#include <string.h>

#include "lib/internal.h"
#include "lib/lock.h"
#include "sanitizer/sanitizer.h"

struct san_space {
	struct mutex lock;
	const char *what;		/* "type1 container", "iommufd IOAS" */
	unsigned int size, head, count; /* lock */
	uint64_t seq;			/* lock */
	struct san_event ev[];		/* lock */
};

struct san_space *san_space_create(const char *what)
{
	unsigned int size = san_get_options()->history_size;
	struct san_space *s;

	if (!san_enabled())
		return NULL;
	s = ui_zalloc(sizeof(*s) + (size_t)size * sizeof(s->ev[0]));
	if (!s)
		return NULL;
	mutex_init_name(&s->lock, "san_space.lock", LOCK_RANK_SANITIZER);
	s->what = what;
	s->size = size;
	return s;
}

void san_space_destroy(struct san_space *s)
{
	if (!s)
		return;
	mutex_destroy(&s->lock);
	ui_free(s);
}

void san_space_record(struct san_space *s, enum san_event_op op, uint64_t iova,
		      uint64_t length, uint64_t vaddr, unsigned int prot)
{
	struct san_stack st;
	struct san_event *e;

	if (!s)
		return;
	if (san_call_stack)
		st = *san_call_stack;
	else
		san_stack_capture(&st);
	mutex_lock(&s->lock);
	e = &s->ev[s->head];
	e->op = op;
	e->seq = ++s->seq;
	e->iova = iova;
	e->length = length;
	e->vaddr = vaddr;
	e->prot = prot;
	e->stack = st;
	s->head = (s->head + 1) % s->size;
	if (s->count < s->size)
		s->count++;
	mutex_unlock(&s->lock);
}

static bool covers(const struct san_event *e, uint64_t iova)
{
	return iova >= e->iova && iova - e->iova < e->length;
}

void san_space_lookup(struct san_space *s, uint64_t iova,
		      struct san_lookup *out)
{
	unsigned int i;

	memset(out, 0, sizeof(*out));
	if (!s)
		return;
	out->what = s->what;
	mutex_lock(&s->lock);
	out->seq = s->seq;
	for (i = 0; i < s->count && !out->have_map; i++) {
		const struct san_event *e =
			&s->ev[(s->head + s->size - 1 - i) % s->size];

		if (!covers(e, iova))
			continue;
		if (e->op == SAN_EV_MAP && !out->have_map) {
			out->map = *e;
			out->have_map = true;
		} else if (e->op == SAN_EV_UNMAP && !out->have_unmap) {
			/* only an unmap after the latest map is the one
			 * that ended it */
			out->unmap = *e;
			out->have_unmap = true;
		}
	}
	mutex_unlock(&s->lock);
}
