#include "config.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct var {
	char *name;
	char *value;
	char *expanded;		/* cache, dropped on any set */
};

static struct var *vars;
static size_t nvars, capvars;
static bool frozen;

#define MAX_EXPAND_DEPTH 16
#define MAX_VALUE_LEN 4096

void config_init(void)
{
	config_reset();
}

void config_reset(void)
{
	for (size_t i = 0; i < nvars; i++) {
		free(vars[i].name);
		free(vars[i].value);
		free(vars[i].expanded);
	}
	free(vars);
	vars = NULL;
	nvars = capvars = 0;
	frozen = false;
}

static void drop_caches(void)
{
	for (size_t i = 0; i < nvars; i++) {
		free(vars[i].expanded);
		vars[i].expanded = NULL;
	}
}

static struct var *find(const char *name)
{
	for (size_t i = 0; i < nvars; i++)
		if (strcmp(vars[i].name, name) == 0)
			return &vars[i];
	return NULL;
}

static bool valid_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 200 || name[0] == '.' || name[n - 1] == '.')
		return false;
	for (const char *p = name; *p; p++) {
		if (p[0] == '.' && p[1] == '.')
			return false;
		if (!isgraph((unsigned char)*p) || *p == '=' || *p == '%')
			return false;
	}
	return true;
}

/* Does "prefix" name a node of "name" ("a.b" is a node of "a.b.c")? */
static bool is_prefix_node(const char *prefix, const char *name)
{
	size_t n = strlen(prefix);
	return strncmp(prefix, name, n) == 0 && name[n] == '.';
}

bool config_is_node(const char *name)
{
	for (size_t i = 0; i < nvars; i++)
		if (is_prefix_node(name, vars[i].name))
			return true;
	return false;
}

int config_set(const char *name, const char *value)
{
	struct var *v;

	if (frozen)
		return fail("configuration is frozen; cannot set '%s'", name);
	if (!valid_name(name))
		return fail("invalid configuration variable name '%s'", name);
	if (strlen(value) > MAX_VALUE_LEN)
		return fail("value of '%s' is too long", name);
	for (size_t i = 0; i < nvars; i++) {
		if (is_prefix_node(name, vars[i].name))
			return fail("cannot set '%s': it is a node holding '%s'",
			    name, vars[i].name);
		if (is_prefix_node(vars[i].name, name))
			return fail("cannot set '%s': '%s' is a variable, not a node",
			    name, vars[i].name);
	}
	drop_caches();
	v = find(name);
	if (v != NULL) {
		char *nv = strdup(value);
		if (nv == NULL)
			return fail("out of memory");
		free(v->value);
		v->value = nv;
		return 0;
	}
	if (nvars == capvars) {
		size_t nc = capvars ? capvars * 2 : 64;
		struct var *nvp = realloc(vars, nc * sizeof(*nvp));
		if (nvp == NULL)
			return fail("out of memory");
		vars = nvp;
		capvars = nc;
	}
	vars[nvars].name = strdup(name);
	vars[nvars].value = strdup(value);
	vars[nvars].expanded = NULL;
	if (vars[nvars].name == NULL || vars[nvars].value == NULL)
		return fail("out of memory");
	nvars++;
	return 0;
}

int config_setf(const char *value, const char *fmt, ...)
{
	char name[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(name))
		return fail("configuration variable name too long");
	return config_set(name, value);
}

void config_unset(const char *name)
{
	struct var *v = find(name);
	if (v == NULL || frozen)
		return;
	drop_caches();
	free(v->name);
	free(v->value);
	*v = vars[--nvars];
}

const char *config_get_raw(const char *name)
{
	struct var *v = find(name);
	return v ? v->value : NULL;
}

/* Expand %(name) references.  Returns malloc'd string or NULL (error set). */
static char *expand(const char *name, const char *val, int depth)
{
	size_t cap = strlen(val) + 1, len = 0;
	char *out;

	if (depth > MAX_EXPAND_DEPTH)
		return fail("configuration variable '%s': references nest too "
		    "deep (a loop?)", name), NULL;
	out = malloc(cap);
	if (out == NULL)
		return NULL;
	for (const char *p = val; *p;) {
		const char *add = p;
		size_t addlen = 1;
		char *sub = NULL;

		if (p[0] == '%' && p[1] == '(') {
			const char *end = strchr(p + 2, ')');
			char ref[256];
			const char *rv;

			if (end == NULL || (size_t)(end - p - 2) >= sizeof(ref) ||
			    end == p + 2) {
				free(out);
				return fail("configuration variable '%s': bad "
				    "reference in '%s'", name, val), NULL;
			}
			memcpy(ref, p + 2, (size_t)(end - p - 2));
			ref[end - p - 2] = '\0';
			rv = config_get_raw(ref);
			if (rv == NULL) {
				free(out);
				return fail("configuration variable '%s' refers "
				    "to undefined '%s'", name, ref), NULL;
			}
			sub = expand(ref, rv, depth + 1);
			if (sub == NULL) {
				free(out);
				return NULL;
			}
			add = sub;
			addlen = strlen(sub);
			p = end + 1;
		} else {
			p++;
		}
		if (len + addlen + 1 > cap) {
			char *n;
			cap = (len + addlen + 1) * 2;
			if (cap > MAX_VALUE_LEN * 4 ||
			    (n = realloc(out, cap)) == NULL) {
				free(out);
				free(sub);
				return fail("configuration variable '%s' expands "
				    "to a too long value", name), NULL;
			}
			out = n;
		}
		memcpy(out + len, add, addlen);
		len += addlen;
		free(sub);
	}
	out[len] = '\0';
	return out;
}

const char *config_get(const char *name)
{
	struct var *v = find(name);

	if (v == NULL)
		return NULL;
	if (v->expanded == NULL) {
		if (strstr(v->value, "%(") == NULL)
			return v->value;
		v->expanded = expand(name, v->value, 0);
	}
	return v->expanded;
}

const char *config_getf(const char *fmt, ...)
{
	char name[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(name))
		return NULL;
	return config_get(name);
}

int config_get_bool(const char *name, bool def, bool *out)
{
	const char *v = config_get(name);

	if (v == NULL) {
		*out = def;
		return 0;
	}
	if (parse_bool(v, out) != 0)
		return fail("invalid boolean '%s' for '%s' (use true/false, "
		    "on/off, yes/no or 1/0)", v, name);
	return 0;
}

int config_get_uint(const char *name, unsigned def, unsigned lo, unsigned hi,
    unsigned *out)
{
	const char *v = config_get(name);

	if (v == NULL) {
		*out = def;
		return 0;
	}
	if (parse_uint_range(v, lo, hi, out) != 0)
		return fail("invalid value '%s' for '%s' (expected a number "
		    "from %u to %u)", v, name, lo, hi);
	return 0;
}

int config_parse_assignment(const char *s)
{
	const char *eq = strchr(s, '=');
	char name[256];

	if (eq == NULL || eq == s)
		return fail("invalid setting '%s' (expected NAME=VALUE)", s);
	if ((size_t)(eq - s) >= sizeof(name))
		return fail("configuration variable name too long in '%s'", s);
	memcpy(name, s, (size_t)(eq - s));
	name[eq - s] = '\0';
	return config_set(name, eq + 1);
}

int config_parse_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[MAX_VALUE_LEN + 256];
	unsigned lineno = 0;

	if (f == NULL)
		return fail_errno("cannot open configuration file '%s'", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strlen(line);
		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		else if (!feof(f)) {
			fclose(f);
			return fail("%s:%u: line too long", path, lineno);
		}
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		const char *eq = strchr(line, '=');
		if (eq == NULL || eq == line || eq[-1] == ' ' ||
		    eq[-1] == '\t' || eq[1] == ' ' || eq[1] == '\t' ||
		    line[0] == ' ' || line[0] == '\t') {
			fclose(f);
			return fail("%s:%u: expected NAME=VALUE without spaces "
			    "around '=', got '%s'", path, lineno, line);
		}
		if (config_parse_assignment(line) != 0) {
			fclose(f);
			return fail_prefix("%s:%u", path, lineno);
		}
	}
	if (ferror(f)) {
		fclose(f);
		return fail_errno("error reading '%s'", path);
	}
	fclose(f);
	return 0;
}

int config_freeze(void)
{
	for (size_t i = 0; i < nvars; i++)
		if (config_get(vars[i].name) == NULL)
			return -1;
	frozen = true;
	return 0;
}

bool config_frozen(void)
{
	return frozen;
}

static int cmp_var(const void *a, const void *b)
{
	const struct var *x = a, *y = b;
	return strcmp(x->name, y->name);
}

void config_dump(FILE *f)
{
	qsort(vars, nvars, sizeof(*vars), cmp_var);
	for (size_t i = 0; i < nvars; i++)
		fprintf(f, "%s=%s\n", vars[i].name, vars[i].value);
}

static int cmp_child(const void *a, const void *b)
{
	const char *x = a, *y = b;
	char *ex, *ey;
	unsigned long nx = strtoul(x, &ex, 10), ny = strtoul(y, &ey, 10);

	if (*ex == '\0' && *ey == '\0' && ex != x && ey != y)
		return nx < ny ? -1 : nx > ny;
	return strcmp(x, y);
}

int config_children(const char *node, char names[][32], int max)
{
	size_t nl = strlen(node);
	int n = 0;

	for (size_t i = 0; i < nvars; i++) {
		const char *name = vars[i].name, *rest, *dot;
		size_t len;
		bool seen = false;

		if (!is_prefix_node(node, name))
			continue;
		rest = name + nl + 1;
		dot = strchr(rest, '.');
		len = dot ? (size_t)(dot - rest) : strlen(rest);
		if (len >= 32)
			continue;
		for (int j = 0; j < n; j++)
			if (strncmp(names[j], rest, len) == 0 &&
			    names[j][len] == '\0')
				seen = true;
		if (seen || n >= max)
			continue;
		memcpy(names[n], rest, len);
		names[n][len] = '\0';
		n++;
	}
	qsort(names, (size_t)n, 32, cmp_child);
	return n;
}
