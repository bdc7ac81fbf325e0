/* fuzz_addr.c - libFuzzer target for the address parser and what callers
 * do with its output: the SMTP safety check, IDN conversion and re-parsing
 * (the aliases file has its own target, fuzz_aliases.c).
 *
 * Invariants checked (abort() on violation, so libFuzzer reports them):
 *  - no mailbox the parser produces holds CR, LF or NUL;
 *  - a mailbox that passes addr_check_smtp_safe holds no control byte;
 *  - such a mailbox parses back to exactly itself;
 *  - error messages hold no control byte. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(const struct err *e)
{
	for (const char *s = err_msg(e); *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
}

static void check_mailbox(const char *mailbox)
{
	struct err e = ERR_INIT;
	if (strpbrk(mailbox, "\r\n"))
		abort();
	if (addr_check_smtp_safe(mailbox, false, &e) == EX_OK) {
		for (const char *s = mailbox; *s; s++)
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				abort();
		struct addr_list again = {NULL, 0};
		if (addr_parse_list(mailbox, strlen(mailbox), &again, &e) !=
		            EX_OK ||
		    again.count != 1 ||
		    strcmp(again.items[0].mailbox, mailbox) != 0)
			abort();
		addr_list_free(&again);
	} else {
		check_message(&e);
	}
	err_clear(&e);
	(void)addr_needs_smtputf8(mailbox);
	char *ascii = NULL;
	if (addr_domain_to_ascii(mailbox, &ascii, &e) == EX_OK)
		free(ascii);
	else
		check_message(&e);
	err_clear(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct addr_list list = {NULL, 0};
	struct err e = ERR_INIT;
	if (addr_parse_list(text, size, &list, &e) == EX_OK) {
		for (size_t i = 0; i < list.count; i++)
			check_mailbox(list.items[i].mailbox);
	} else {
		check_message(&e);
	}
	err_clear(&e);

	/* The same bytes as a command-line argument. */
	char *copy = malloc(size + 1);
	memcpy(copy, data, size);
	copy[size] = '\0';
	char *mailbox = NULL;
	if (addr_parse_mailbox(copy, &mailbox, &e) == EX_OK)
		check_mailbox(mailbox);
	else
		check_message(&e);
	free(mailbox);
	err_clear(&e);
	free(copy);

	addr_list_free(&list);
	return 0;
}
