/* fuzz_netrc.c - libFuzzer target for the netrc lookup
 * (secret_netrc_lookup), differential against a reference.
 *
 * The input is a netrc file. It is looked up for a few fixed host/user
 * pairs and for the first machine and login names it holds (so lookups
 * hit). For input without quotes, NUL bytes or macdef, a reference written
 * here from the rules in secret.h must give the same answer: tokens are
 * separated by white space, '#' at the start of a token comments out the
 * rest of the line, `machine NAME` and `default` start entries, `login` /
 * `user` and `password` / `passwd` take the next token, `account` skips
 * one; the first machine entry whose host (case-insensitively) and login
 * match wins, else the first such default entry.
 *
 * Invariants checked (abort() on violation):
 *  - the reference's answer, where it applies: found or not, and the same
 *    password (a whole token of the text, without white space);
 *  - any password found is no longer than the text;
 *  - the host is compared case-insensitively: upper-casing it changes
 *    nothing;
 *  - *password is left alone when nothing is found. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "secret.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TOKENS 4096

struct token {
	const char *text;
	size_t len;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

/* The reference tokenizer: unquoted tokens and '#' comments only. */
static size_t tokenize(const char *text, size_t len, struct token *tokens)
{
	size_t count = 0, i = 0;
	while (i < len && count < MAX_TOKENS) {
		while (i < len && is_space(text[i]))
			i++;
		if (i == len)
			break;
		if (text[i] == '#') {
			while (i < len && text[i] != '\n')
				i++;
			continue;
		}
		size_t start = i;
		while (i < len && !is_space(text[i]))
			i++;
		tokens[count].text = text + start;
		tokens[count].len = i - start;
		count++;
	}
	return count;
}

static bool token_is(const struct token *t, const char *word)
{
	return t->len == strlen(word) && memcmp(t->text, word, t->len) == 0;
}

static bool token_equals(const struct token *t, const char *s, bool nocase)
{
	if (t->len != strlen(s))
		return false;
	return nocase ? ascii_ncasecmp(t->text, s, t->len) == 0
	              : memcmp(t->text, s, t->len) == 0;
}

struct entry {
	bool active, is_default;
	const struct token *machine, *login, *password;
};

static bool entry_matches(const struct entry *en, const char *host,
                          const char *user)
{
	if (!en->active || !en->login || !en->password ||
	    !token_equals(en->login, user, false))
		return false;
	return en->is_default ||
	       (en->machine ? token_equals(en->machine, host, true) : !*host);
}

/* The reference lookup: the password token found, or NULL. */
static const struct token *reference(const struct token *tokens,
                                     size_t count, const char *host,
                                     const char *user)
{
	const struct token *fallback = NULL;
	struct entry en = {false, false, NULL, NULL, NULL};
	for (size_t i = 0; i <= count;) {
		const struct token *t = i < count ? &tokens[i] : NULL;
		i++;
		if (!t || token_is(t, "machine") || token_is(t, "default")) {
			if (entry_matches(&en, host, user)) {
				if (!en.is_default)
					return en.password;
				if (!fallback)
					fallback = en.password;
			}
			if (!t)
				break;
			en = (struct entry){true, token_is(t, "default"), NULL,
			                    NULL, NULL};
			if (!en.is_default && i < count)
				en.machine = &tokens[i++];
			continue;
		}
		bool login = token_is(t, "login") || token_is(t, "user");
		bool password = token_is(t, "password") ||
		                token_is(t, "passwd");
		if (!login && !password && !token_is(t, "account"))
			continue; /* unknown: ignored */
		if (i == count)
			continue;
		if (login)
			en.login = &tokens[i];
		else if (password)
			en.password = &tokens[i];
		i++;
	}
	return fallback;
}

static void check_lookup(const char *text, size_t len, const char *host,
                         const char *user, const struct token *tokens,
                         size_t count, bool simple)
{
	char *sentinel = (char *)"untouched";
	char *password = sentinel, *upper_pw = sentinel;
	bool found = secret_netrc_lookup(text, len, host, user, &password);
	if (!found && password != sentinel)
		abort();
	if (found && (!password || strlen(password) > len))
		abort();
	char *upper = xstrdup(host);
	for (char *p = upper; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 32);
	if (secret_netrc_lookup(text, len, upper, user, &upper_pw) != found ||
	    (found && strcmp(password, upper_pw) != 0))
		abort();
	if (simple) {
		const struct token *want = reference(tokens, count, host, user);
		if ((want != NULL) != found ||
		    (found && (strlen(password) != want->len ||
		               memcmp(password, want->text, want->len) != 0)))
			abort();
	}
	free(upper);
	if (found) {
		free_secret(password);
		free_secret(upper_pw);
	}
}

/* The token after the first occurrence of keyword, as a string. */
static char *name_after(const struct token *tokens, size_t count,
                        const char *keyword)
{
	for (size_t i = 0; i + 1 < count; i++)
		if (token_is(&tokens[i], keyword))
			return xstrndup(tokens[i + 1].text, tokens[i + 1].len);
	return xstrdup("nobody");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct token *tokens = xmalloc(MAX_TOKENS * sizeof *tokens);
	size_t count = tokenize(text, size, tokens);
	bool simple = count < MAX_TOKENS && !memchr(text, '"', size) &&
	              !memchr(text, '\0', size);
	for (size_t i = 0; simple && i < count; i++)
		simple = !token_is(&tokens[i], "macdef");
	char *host = name_after(tokens, count, "machine");
	char *user = name_after(tokens, count, "login");
	static const char *const pairs[][2] = {
		{"smtp.gmail.com", "alice@gmail.com"},
		{"", ""},
	};
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
		check_lookup(text, size, pairs[i][0], pairs[i][1], tokens,
		             count, simple);
	check_lookup(text, size, host, user, tokens, count, simple);
	check_lookup(text, size, "nomatch.invalid", user, tokens, count,
	             simple);
	free(host);
	free(user);
	free(tokens);
	return 0;
}
