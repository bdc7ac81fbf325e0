/* fuzz_conf.c - libFuzzer target for the msmtprc parser.
 *
 * The input is parsed as a configuration file (eval disabled: the fuzzer
 * must not run shell commands); every account it yields is cloned,
 * finalized and described, the paths main.c takes. The input is also split
 * at its first '=' into a directive and a value for account_set(), the
 * command line's way in. Build:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *     tests/fuzz/fuzz_conf.c src/conf.c src/buf.c src/util.c src/err.c */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise_accounts(const struct conf *conf)
{
	for (size_t i = 0; i < conf->count; i++) {
		struct buf out = BUF_INIT;
		struct err e = ERR_INIT;
		struct account *copy = account_clone(conf->accounts[i], NULL);
		account_describe(conf->accounts[i], &out);
		if (account_finalize(copy, &e) == EX_OK) {
			/* finalize is idempotent and leaves a usable account:
			 * a server to send to (or direct delivery, port 25) */
			if (account_finalize(copy, &e) != EX_OK ||
			    (!copy->host && !copy->socket &&
			     !copy->direct_delivery) ||
			    (copy->direct_delivery && copy->port != 25) ||
			    copy->timeout < 0)
				abort();
		}
		account_describe(copy, &out);
		/* the secret is described as "*", never as itself */
		if (copy->password &&
		    !strstr(buf_str(&out), "\npassword = *\n"))
			abort();
		if (!conf_find_account(conf, conf->accounts[i]->name))
			abort();
		account_free(copy);
		err_clear(&e);
		buf_free(&out);
	}
}

static void exercise_account_set(const uint8_t *data, size_t size)
{
	const uint8_t *eq = memchr(data, '=', size);
	if (!eq)
		return;
	char *directive = xstrndup((const char *)data, (size_t)(eq - data));
	size_t name_len = (size_t)(eq - data);
	char *value = xstrndup((const char *)eq + 1, size - name_len - 1);
	struct account *a = account_new("fuzz");
	struct err e = ERR_INIT;
	int rc = account_set(a, directive, value, &e);
	if (rc != EX_OK && (rc != EX_CONFIG || !e.msg))
		abort();
	struct buf out = BUF_INIT;
	account_describe(a, &out);
	buf_free(&out);
	account_free(a);
	err_clear(&e);
	free(directive);
	free(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf conf = {0};
	struct err e = ERR_INIT;
	bool secret = false;

	conf.eval_disabled = true;
	int rc = conf_parse(&conf, (const char *)data, size, "fuzz.rc", &secret,
	                    &e);
	if (rc == EX_OK)
		exercise_accounts(&conf);
	else if (rc != EX_CONFIG || !e.msg || strncmp(e.msg, "fuzz.rc:", 8))
		abort(); /* every parse error names the file and line */
	/* parsing the same text again over the result replaces, never fails
	 * differently */
	if (rc == EX_OK) {
		size_t count = conf.count;
		if (conf_parse(&conf, (const char *)data, size, "again.rc",
		               &secret, &e) != EX_OK ||
		    conf.count != count)
			abort();
	}
	conf_free(&conf);
	err_clear(&e);
	exercise_account_set(data, size);
	return 0;
}
