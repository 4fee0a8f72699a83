// SPDX-License-Identifier: MIT
/*
 * The sanitizer's options and its switch.
 *
 * Options come from $UIOMMU_OPTIONS in AddressSanitizer's form,
 * "name=value:name=value" (',' and blanks separate pairs too): halt_on_error
 * (0/1), exitcode (an exit status), history_size (events per IOVA space,
 * 1 to SAN_HISTORY_MAX) and log_path ("stderr", or a path to which
 * ".<pid>" is added, as ASan does).  An unknown name or a bad value is no
 * error: it is named on a warning line and ignored, as ASan warns about
 * unrecognized flags.
 *
 * The switch: off until san_enable() (once the environment asked for it,
 * or the in-process API).  It never goes back off; the options are copied
 * once, before the switch turns on, and are read-only afterwards.
 *
 * Locking: san_enable() runs before the system is built (the front builds
 * it under its own lock and calls san_enable_from_env() first); readers see
 * the options after the release store of the switch.
 */
#include <stdlib.h>
#include <string.h>

#include "sanitizer/sanitizer.h"

bool san_on;
static struct san_options opts = {
	.exitcode = 1,
	.history_size = SAN_HISTORY_DEFAULT,
};

void san_options_default(struct san_options *o)
{
	*o = (struct san_options){
		.exitcode = 1,
		.history_size = SAN_HISTORY_DEFAULT,
	};
}

static bool parse_ulong(const char *v, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long x;

	if (!*v || *v == '-')
		return false;
	x = strtoul(v, &end, 0);
	if (*end || x > max)
		return false;
	*out = x;
	return true;
}

/* One "name=value"; false when it is not understood. */
static bool parse_one(const char *name, const char *v, struct san_options *o)
{
	unsigned long x;

	if (!strcmp(name, "halt_on_error")) {
		if (!parse_ulong(v, 1, &x))
			return false;
		o->halt_on_error = x;
	} else if (!strcmp(name, "exitcode")) {
		if (!parse_ulong(v, 255, &x))
			return false;
		o->exitcode = (int)x;
	} else if (!strcmp(name, "history_size")) {
		if (!parse_ulong(v, SAN_HISTORY_MAX, &x) || !x)
			return false;
		o->history_size = (unsigned int)x;
	} else if (!strcmp(name, "log_path")) {
		if (!*v || strlen(v) >= sizeof(o->log_path))
			return false;
		strcpy(o->log_path, v);
	} else {
		return false;
	}
	return true;
}

int san_options_parse(const char *s, struct san_options *o, FILE *warn)
{
	char pair[512];
	int bad = 0;

	while (s && *s) {
		size_t n = strcspn(s, ":, \t\n");
		char *eq;

		if (n && n < sizeof(pair)) {
			memcpy(pair, s, n);
			pair[n] = '\0';
			eq = strchr(pair, '=');
			if (eq)
				*eq = '\0';
			if (!eq || !parse_one(pair, eq + 1, o)) {
				if (eq)
					*eq = '=';
				if (warn)
					fprintf(warn,
						"uiommu: WARNING: unrecognized "
						"option or value in "
						"UIOMMU_OPTIONS: %s\n",
						pair);
				bad++;
			}
		} else if (n) {
			if (warn)
				fprintf(warn,
					"uiommu: WARNING: option too long in "
					"UIOMMU_OPTIONS: %.32s...\n",
					s);
			bad++;
		}
		s += n;
		if (*s)
			s++;
	}
	return bad;
}

void san_enable(const struct san_options *o)
{
	if (san_enabled())
		return;
	if (o)
		opts = *o;
	__atomic_store_n(&san_on, true, __ATOMIC_RELEASE);
}

bool san_enable_from_env(void)
{
	const char *env = getenv("UIOMMU_OPTIONS");
	const char *on = getenv("UIOMMU_SANITIZE");
	struct san_options o;

	if (san_enabled())
		return true;
	if (!env && !(on && !strcmp(on, "1")))
		return false;
	san_options_default(&o);
	san_options_parse(env, &o, stderr);
	san_enable(&o);
	return true;
}

const struct san_options *san_get_options(void)
{
	return &opts;
}

void san_set_enabled(bool on)
{
	__atomic_store_n(&san_on, on, __ATOMIC_RELEASE);
}
