// SPDX-License-Identifier: MIT
/*
 * The one encoder and decoder of the SMMU's structures: a structure's
 * field map (smmu_regs.h) says, per field, which member of the C struct it
 * holds and how; these two walk the map.  Members are read and written by
 * size (1, 2, 4 or 8 bytes: bool, uint8_t, uint16_t, enums and unsigned
 * int, uint32_t, uint64_t); a value wider than its field is truncated to
 * it.
 */
#include <string.h>

#include "lib/internal.h"
#include "smmu_regs.h"

static uint64_t member_get(const void *obj, const struct field_map *m)
{
	const char *p = (const char *)obj + m->off;
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	switch (m->size) {
	case 1:
		memcpy(&v8, p, 1);
		return v8;
	case 2:
		memcpy(&v16, p, 2);
		return v16;
	case 4:
		memcpy(&v32, p, 4);
		return v32;
	default:
		memcpy(&v64, p, 8);
		return v64;
	}
}

static void member_set(void *obj, const struct field_map *m, uint64_t v)
{
	char *p = (char *)obj + m->off;
	uint8_t v8 = v;
	uint16_t v16 = v;
	uint32_t v32 = v;

	switch (m->size) {
	case 1:
		memcpy(p, &v8, 1);
		break;
	case 2:
		memcpy(p, &v16, 2);
		break;
	case 4:
		memcpy(p, &v32, 4);
		break;
	default:
		memcpy(p, &v, 8);
		break;
	}
}

static uint64_t vmask(const struct field_map *m)
{
	return ~0ULL >> (64 - m->width);
}

void fields_encode(const struct field_map *map, size_t n, const void *obj,
		   uint64_t *w, size_t words)
{
	size_t i;

	memset(w, 0, words * sizeof(*w));
	for (i = 0; i < n; i++) {
		const struct field_map *m = &map[i];
		uint64_t v = m->no_member ? m->arg : member_get(obj, m);

		switch (m->kind) {
		case FM_KIND_VAL:
			if (!m->no_member)
				v ^= m->arg;
			v = (v & vmask(m)) << m->shift;
			break;
		case FM_KIND_ADDR:
			v &= vmask(m) << m->shift;
			break;
		case FM_KIND_FLAG:
			v = (uint64_t) !!(v & m->arg) << m->shift;
			break;
		case FM_KIND_NFLAG:
			v = (uint64_t) !(v & m->arg) << m->shift;
			break;
		}
		w[m->word] |= v;
	}
}

void fields_decode(const struct field_map *map, size_t n, const uint64_t *w,
		   void *obj, size_t size)
{
	size_t i;

	memset(obj, 0, size);
	for (i = 0; i < n; i++) {
		const struct field_map *m = &map[i];
		uint64_t v = (w[m->word] >> m->shift) & vmask(m);

		if (m->enc_only)
			continue;
		switch (m->kind) {
		case FM_KIND_VAL:
			member_set(obj, m, v ^ m->arg);
			break;
		case FM_KIND_ADDR:
			member_set(obj, m, v << m->shift);
			break;
		case FM_KIND_FLAG:
		case FM_KIND_NFLAG:
			if (!v == (m->kind == FM_KIND_NFLAG))
				member_set(obj, m, member_get(obj, m) | m->arg);
			break;
		}
	}
}
