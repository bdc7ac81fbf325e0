/* org_domain.c - the Organizational Domain (RFC 7489 3.2) through libpsl;
 * see org_domain.h. */
#include "org_domain.h"

#include <libpsl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lazylib.h"
#include "util.h"

#define GUESS_NOTE "organizational domains are guessed as the last two labels"

static bool label_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c >= 0x80;
}

char *org_domain_normalize(const char *domain)
{
	if (!domain)
		return NULL;
	size_t n = strlen(domain);
	if (n > 1 && domain[n - 1] == '.')
		n--;
	if (n == 0 || n > ORG_DOMAIN_NAME_MAX)
		return NULL;
	size_t label = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && domain[i] != '.') {
			if (!label_char((unsigned char)domain[i]))
				return NULL;
			label++;
			continue;
		}
		if (label == 0 || label > ORG_DOMAIN_LABEL_MAX)
			return NULL;
		label = 0;
	}
	char *out = xstrndup(domain, n);
	for (char *p = out; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return out;
}

/* The last two labels of a normalized name (all of it when it has one). */
static const char *last_two_labels(const char *name)
{
	const char *last = strrchr(name, '.');
	if (!last)
		return name;
	const char *start = last;
	while (start > name && start[-1] != '.')
		start--;
	return start;
}

char *org_domain_guess(const char *domain)
{
	char *name = org_domain_normalize(domain);
	if (!name)
		return NULL;
	const char *org = last_two_labels(name);
	if (org != name)
		memmove(name, org, strlen(org) + 1);
	return name;
}

/* The list libpsl prefers (psl_latest: the newer of its built-in list and
 * the distribution's file), else the built-in one; *owned says whether it
 * must be freed. NULL when libpsl has neither. libpsl is loaded. */
static const psl_ctx_t *open_list(psl_ctx_t **owned)
{
	*owned = psl_latest(NULL);
	return *owned ? *owned : psl_builtin();
}

char *org_domain(const char *domain)
{
	char *name = org_domain_normalize(domain);
	if (!name)
		return NULL;
	struct err e = ERR_INIT;
	psl_ctx_t *owned = NULL;
	const psl_ctx_t *list = NULL;
	if (lazylib_load(LAZYLIB_PSL, &e) == EX_OK)
		list = open_list(&owned);
	err_clear(&e);
	const char *org =
	    list ? psl_registrable_domain(list, name) : last_two_labels(name);
	/* RFC 7489 3.2 step 4 needs a label beyond the suffix; a public
	 * suffix itself has none (libpsl: NULL) and stays as it is. */
	if (org && org != name)
		memmove(name, org, strlen(org) + 1);
	if (owned)
		psl_free(owned);
	return name;
}

int org_domain_list_status(struct err *e)
{
	int rc = lazylib_load(LAZYLIB_PSL, e);
	if (rc != EX_OK) {
		char *why = xstrdup(err_msg(e));
		rc = err_set(e, rc, "%s; " GUESS_NOTE, why);
		free(why);
		return rc;
	}
	psl_ctx_t *owned = NULL;
	const psl_ctx_t *list = open_list(&owned);
	if (owned)
		psl_free(owned);
	if (!list)
		return err_set(e, EX_UNAVAILABLE,
		               "libpsl has no Public Suffix List (apt install "
		               "publicsuffix); " GUESS_NOTE);
	return EX_OK;
}
