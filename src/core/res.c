/* Countable resources: their declarations, asks, pool and grants. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/res.h"

static int res_fail(char *why, size_t whylen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
res_fail(char *why, size_t whylen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return rc;
}

int
res_name_check(const char *name)
{
	size_t n = strlen(name), i;

	if (n == 0 || n > RES_NAME_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		if (!islower((unsigned char)name[i]) &&
		    !isdigit((unsigned char)name[i]) &&
		    strchr("_.-", name[i]) == NULL)
			return -1;
	}
	return 0;
}

static int
res_find(const struct res_kinds *k, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < k->n; i++) {
		if (strlen(k->kind[i].name) == len &&
		    strncmp(k->kind[i].name, name, len) == 0)
			return (int)i;
	}
	return -1;
}

/* A number at *p, up to max; p moves past it. */
static int
res_number(const char **p, unsigned long max, unsigned long *v)
{
	char *end;

	if (!isdigit((unsigned char)**p))
		return -1;
	errno = 0;
	*v = strtoul(*p, &end, 10);
	if (errno != 0 || *v > max)
		return -1;
	*p = end;
	return 0;
}

int
res_kind_add(struct res_kinds *k, const char *name, const char *value,
	     char *why, size_t whylen)
{
	struct res_kind *r;
	const char *p = value;
	unsigned long a, b, i;

	if (res_name_check(name) == -1)
		return res_fail(why, whylen, -1,
				"a resource's name is 1 to %d of a-z, 0-9, "
				"'_', '.', '-'",
				RES_NAME_MAX);
	if (res_find(k, name, strlen(name)) != -1)
		return res_fail(why, whylen, -1, "%s is declared twice", name);
	if (k->n == RES_KINDS_MAX)
		return res_fail(why, whylen, -1, "more than %d resources",
				RES_KINDS_MAX);
	r = &k->kind[k->n];
	memset(r, 0, sizeof *r);
	snprintf(r->name, sizeof r->name, "%s", name);
	if (strpbrk(value, "-,") == NULL) {
		if (res_number(&p, RES_COUNT_MAX, &a) == -1 || *p != '\0' ||
		    a == 0)
			goto bad;
		r->total = (uint32_t)a;
		k->n++;
		return 0;
	}
	r->indexed = true;
	for (;;) {
		if (res_number(&p, RES_INDEX_MAX, &a) == -1)
			goto bad;
		b = a;
		if (*p == '-') {
			p++;
			if (res_number(&p, RES_INDEX_MAX, &b) == -1 || b < a)
				goto bad;
		}
		for (i = a; i <= b; i++) {
			if (r->indexes & (UINT64_C(1) << i))
				return res_fail(why, whylen, -1,
						"%s: index %lu is given twice",
						name, i);
			r->indexes |= UINT64_C(1) << i;
			r->total++;
		}
		if (*p != ',')
			break;
		p++;
	}
	if (*p != '\0')
		goto bad;
	k->n++;
	return 0;
bad:
	return res_fail(why, whylen, -1,
			"%s = %s: a count from 1 to %d, or indexes from 0 to "
			"%d as 0-3 or 0,2,5",
			name, value, RES_COUNT_MAX, RES_INDEX_MAX);
}

int
res_kinds_format(const struct res_kinds *k, char *buf, size_t len)
{
	size_t i, n = 0;
	int w;

	if (len == 0)
		return -1;
	buf[0] = '\0';
	for (i = 0; i < k->n; i++) {
		w = snprintf(buf + n, len - n, "%s%s=%u", i > 0 ? "," : "",
			     k->kind[i].name, k->kind[i].total);
		if (w < 0 || (size_t)w >= len - n)
			return -1;
		n += (size_t)w;
	}
	return 0;
}

int
res_kinds_merge(struct res_kinds *k, const char *text)
{
	const char *p = text, *eq;
	char name[RES_NAME_MAX + 1];
	unsigned long n;
	int i;

	if (*p == '\0')
		return 0;
	for (;;) {
		if ((eq = strchr(p, '=')) == NULL || eq == p ||
		    (size_t)(eq - p) > RES_NAME_MAX)
			return -1;
		memcpy(name, p, (size_t)(eq - p));
		name[eq - p] = '\0';
		p = eq + 1;
		if (res_name_check(name) == -1 ||
		    res_number(&p, RES_COUNT_MAX, &n) == -1 || n == 0)
			return -1;
		if ((i = res_find(k, name, strlen(name))) == -1) {
			if (k->n == RES_KINDS_MAX)
				return -1;
			i = (int)k->n++;
			memset(&k->kind[i], 0, sizeof k->kind[i]);
			snprintf(k->kind[i].name, sizeof k->kind[i].name, "%s",
				 name);
		}
		if (n > k->kind[i].total)
			k->kind[i].total = (uint32_t)n;
		if (*p != ',')
			break;
		p++;
	}
	return *p == '\0' ? 0 : -1;
}

int
res_ask_parse(const struct res_kinds *k, const char *text, struct res_grant *g,
	      char *why, size_t whylen)
{
	const char *p = text, *eq;
	unsigned long n;
	int i;

	memset(g, 0, sizeof *g);
	for (;;) {
		if ((eq = strchr(p, '=')) == NULL)
			goto bad;
		if ((i = res_find(k, p, (size_t)(eq - p))) == -1)
			return res_fail(why, whylen, -1,
					"no resource named \"%.*s\" in "
					"[resources]",
					(int)(eq - p > 40 ? 40 : eq - p), p);
		p = eq + 1;
		if (res_number(&p, RES_COUNT_MAX, &n) == -1 || n == 0)
			goto bad;
		if (g->want[i] != 0)
			return res_fail(why, whylen, -1, "%s is asked twice",
					k->kind[i].name);
		if (n > k->kind[i].total)
			return res_fail(why, whylen, -2, "%s=%lu: there are %u",
					k->kind[i].name, n, k->kind[i].total);
		g->want[i] = (uint32_t)n;
		if (*p != ',')
			break;
		p++;
	}
	if (*p != '\0')
		goto bad;
	return 0;
bad:
	return res_fail(why, whylen, -1,
			"resources are asked as NAME=N[,NAME=N...], N from 1");
}

bool
res_asks(const struct res_grant *g)
{
	size_t i;

	for (i = 0; i < RES_KINDS_MAX; i++) {
		if (g->want[i] != 0)
			return true;
	}
	return false;
}

uint32_t
res_left(const struct res_kinds *k, const struct res_pool *p, size_t i)
{
	const struct res_kind *r = &k->kind[i];

	if (r->indexed)
		return (uint32_t)__builtin_popcountll(r->indexes &
						      ~p->used_mask[i]);
	return p->used[i] < r->total ? r->total - p->used[i] : 0;
}

bool
res_free(const struct res_kinds *k, const struct res_pool *p,
	 const struct res_grant *g, size_t i)
{
	return g->want[i] <= res_left(k, p, i);
}

int
res_take(const struct res_kinds *k, struct res_pool *p, struct res_grant *g)
{
	uint64_t free_bits, bit;
	uint32_t n;
	size_t i;

	for (i = 0; i < k->n; i++) {
		if (!res_free(k, p, g, i))
			return -1;
	}
	/* The lowest free indexes; then taken as a grant given is. */
	for (i = 0; i < k->n; i++) {
		g->mask[i] = 0;
		if (g->want[i] == 0 || !k->kind[i].indexed)
			continue;
		free_bits = k->kind[i].indexes & ~p->used_mask[i];
		for (n = 0; n < g->want[i]; n++) {
			bit = free_bits & -free_bits;
			free_bits &= ~bit;
			g->mask[i] |= bit;
		}
	}
	return res_take_given(k, p, g);
}

int
res_take_given(const struct res_kinds *k, struct res_pool *p,
	       const struct res_grant *g)
{
	size_t i;

	for (i = 0; i < k->n; i++) {
		if (g->want[i] == 0)
			continue;
		if (k->kind[i].indexed
			? (g->mask[i] & ~k->kind[i].indexes) != 0 ||
			      (g->mask[i] & p->used_mask[i]) != 0
			: p->used[i] + g->want[i] > k->kind[i].total)
			return -1;
	}
	for (i = 0; i < k->n; i++) {
		p->used[i] += g->want[i];
		p->used_mask[i] |= g->mask[i];
	}
	return 0;
}

void
res_give_back(const struct res_kinds *k, struct res_pool *p,
	      const struct res_grant *g)
{
	size_t i;

	for (i = 0; i < k->n; i++) {
		p->used[i] -= g->want[i] < p->used[i] ? g->want[i] : p->used[i];
		p->used_mask[i] &= ~g->mask[i];
	}
}

int
res_grant_format(const struct res_kinds *k, const struct res_grant *g,
		 char *buf, size_t len)
{
	size_t i, n = 0;
	int w;

	buf[0] = '\0';
	for (i = 0; i < k->n; i++) {
		if (g->want[i] == 0)
			continue;
		w = snprintf(buf + n, len - n, "%s%s:%u:%llx", n > 0 ? ";" : "",
			     k->kind[i].name, g->want[i],
			     (unsigned long long)g->mask[i]);
		if (w < 0 || (size_t)w >= len - n)
			return -1;
		n += (size_t)w;
	}
	return 0;
}

int
res_grant_parse(const struct res_kinds *k, const char *text,
		struct res_grant *g)
{
	const char *p = text, *colon;
	unsigned long long mask;
	unsigned long want;
	char *end;
	int i;

	memset(g, 0, sizeof *g);
	while (*p != '\0') {
		if ((colon = strchr(p, ':')) == NULL ||
		    (i = res_find(k, p, (size_t)(colon - p))) == -1)
			return -1;
		p = colon + 1;
		if (res_number(&p, RES_COUNT_MAX, &want) == -1 || *p != ':')
			return -1;
		p++;
		errno = 0;
		mask = strtoull(p, &end, 16);
		if (errno != 0 || end == p)
			return -1;
		g->want[i] = (uint32_t)want;
		g->mask[i] = mask;
		p = end;
		if (*p == ';')
			p++;
		else if (*p != '\0')
			return -1;
	}
	return 0;
}

/* What kind i of a grant gave: its indexes ("0,2,5") or its count. */
static int
res_value(const struct res_kinds *k, const struct res_grant *g, size_t i,
	  char *buf, size_t len)
{
	size_t n = 0;
	int b, w;

	buf[0] = '\0';
	if (!k->kind[i].indexed) {
		w = snprintf(buf, len, "%u", g->want[i]);
		return w < 0 || (size_t)w >= len ? -1 : 0;
	}
	for (b = 0; b <= RES_INDEX_MAX; b++) {
		if (!(g->mask[i] & (UINT64_C(1) << b)))
			continue;
		w = snprintf(buf + n, len - n, "%s%d", n > 0 ? "," : "", b);
		if (w < 0 || (size_t)w >= len - n)
			return -1;
		n += (size_t)w;
	}
	return 0;
}

int
res_grant_describe(const struct res_kinds *k, const struct res_grant *g,
		   char *buf, size_t len)
{
	char value[256];
	size_t i, n = 0;
	int w;

	buf[0] = '\0';
	for (i = 0; i < k->n; i++) {
		if (g->want[i] == 0)
			continue;
		if (res_value(k, g, i, value, sizeof value) == -1)
			return -1;
		w = snprintf(buf + n, len - n, "%s%s=%s", n > 0 ? " " : "",
			     k->kind[i].name, value);
		if (w < 0 || (size_t)w >= len - n)
			return -1;
		n += (size_t)w;
	}
	return 0;
}

static int
res_env_add(char *buf, size_t len, size_t *used, uint32_t *n, const char *var,
	    const char *value)
{
	int w = snprintf(buf + *used, len - *used, "%s=%s", var, value);

	if (w < 0 || (size_t)w + 1 > len - *used)
		return -1;
	*used += (size_t)w + 1;
	(*n)++;
	return 0;
}

int
res_grant_env(const struct res_kinds *k, const struct res_grant *g, char *buf,
	      size_t len, size_t *used, uint32_t *n)
{
	char var[64], value[256];
	size_t i, c;

	*used = 0;
	*n = 0;
	for (i = 0; i < k->n; i++) {
		if (g->want[i] == 0)
			continue;
		snprintf(var, sizeof var, "FORQ_RES_");
		for (c = 0; k->kind[i].name[c] != '\0'; c++)
			var[9 + c] =
			    isalnum((unsigned char)k->kind[i].name[c])
				? (char)toupper(
				      (unsigned char)k->kind[i].name[c])
				: '_';
		var[9 + c] = '\0';
		if (res_value(k, g, i, value, sizeof value) == -1)
			return -1;
		if (res_env_add(buf, len, used, n, var, value) == -1 ||
		    ((int)i == res_gpu_kind(k) &&
		     res_env_add(buf, len, used, n, "CUDA_VISIBLE_DEVICES",
				 value) == -1))
			return -1;
	}
	return 0;
}

int
res_gpu_kind(const struct res_kinds *k)
{
	size_t i;

	for (i = 0; i < k->n; i++) {
		if (k->kind[i].indexed && strcmp(k->kind[i].name, "gpu") == 0)
			return (int)i;
	}
	return -1;
}
