/* Unit tests for delivery.c: the judgement of a transaction's replies
 * (table-driven), the exit status, and the text for a person. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "delivery.h"
#include "err.h"

#define A RCPT_ACCEPTED
#define L RCPT_LATER
#define N RCPT_NOT_TAKEN

static void test_judge(void **state)
{
	(void)state;
	static const struct {
		int mail;
		int codes[6];
		size_t n;
		bool send;
		enum rcpt_verdict verdict[6];
	} cases[] = {
		/* everyone accepted */
		{250, {250, 251}, 2, true, {A, A}},
		/* the server's limit after two: those go later */
		{250, {250, 250, 452, 452}, 4, true, {A, A, L, L}},
		/* RFC 821's 552 for the limit, the same */
		{250, {250, 552, 552}, 3, true, {A, L, L}},
		/* a limit reply first is a refusal: nothing was taken */
		{250, {452, 452}, 2, false, {N, N}},
		/* a real refusal abandons everything */
		{250, {250, 550, 250}, 3, false, {A, N, A}},
		{250, {250, 450}, 2, false, {A, N}},
		/* a real refusal among limit replies still abandons */
		{250, {250, 452, 550}, 3, false, {A, L, N}},
		/* MAIL refused: nobody is taken */
		{550, {250, 250}, 2, false, {N, N}},
		/* no reply (a 421 before it) */
		{250, {250, 421, 0}, 3, false, {A, N, N}},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum rcpt_verdict got[6];
		bool send = delivery_judge(cases[i].mail, cases[i].codes,
		                           cases[i].n, got);
		if (send != cases[i].send)
			fail_msg("case %zu: send %d", i, send);
		for (size_t k = 0; k < cases[i].n; k++)
			if (got[k] != cases[i].verdict[k])
				fail_msg("case %zu, recipient %zu: %d", i, k,
				         got[k]);
	}
}

static struct addr_list three(void)
{
	struct addr_list l = {0};
	addr_list_add(&l, NULL, "a@example.com");
	addr_list_add(&l, NULL, "b@example.com");
	addr_list_add(&l, NULL, "c@example.com");
	return l;
}

static void test_exit_code_and_text(void **state)
{
	(void)state;
	struct addr_list rcpt = three();
	struct delivery d;
	delivery_init(&d, 3);
	assert_int_equal(delivery_exit_code(&d), EX_TEMPFAIL);
	delivery_set(&d, 0, RCPT_DELIVERED, 250, "250 ok", 6);
	delivery_set(&d, 1, RCPT_DEFERRED, 452, "452 4.2.2 full\x1b[2J", 18);
	assert_int_equal(delivery_count(&d, RCPT_DELIVERED), 1);
	assert_int_equal(delivery_exit_code(&d), EX_TEMPFAIL);
	struct buf text = BUF_INIT;
	delivery_describe(&d, &rcpt, &text);
	assert_string_equal(buf_str(&text),
	                    "delivered to 1 of 3 recipients (<a@example.com>); "
	                    "not delivered to 2 recipients\n"
	                    "  <b@example.com>: 452 4.2.2 full\\x1b[2J\n"
	                    "  and 1 recipient not sent the message: the "
	                    "transaction was abandoned");
	delivery_set(&d, 2, RCPT_REFUSED, 550, "550 no", 6);
	assert_int_equal(delivery_exit_code(&d), EX_UNAVAILABLE);
	delivery_set(&d, 1, RCPT_DELIVERED, 250, "250 ok", 6);
	delivery_set(&d, 2, RCPT_DELIVERED, 250, "250 ok", 6);
	assert_int_equal(delivery_exit_code(&d), EX_OK);
	buf_free(&text);
	delivery_free(&d);
	addr_list_free(&rcpt);
}

static void test_long_lists_are_bounded(void **state)
{
	(void)state;
	struct addr_list rcpt = {0};
	struct delivery d;
	delivery_init(&d, 100);
	char long_reply[1000];
	memset(long_reply, 'x', sizeof long_reply);
	memcpy(long_reply, "550 ", 4);
	for (size_t i = 0; i < 100; i++) {
		addr_list_add(&rcpt, NULL, "someone@example.com");
		delivery_set(&d, i, RCPT_REFUSED, 550, long_reply,
		             sizeof long_reply);
	}
	struct buf text = BUF_INIT;
	delivery_describe(&d, &rcpt, &text);
	size_t lines = 0;
	for (size_t i = 0; i < text.len; i++)
		lines += text.data[i] == '\n';
	assert_int_equal(lines, DELIVERY_MAX_LISTED + 1);
	assert_non_null(strstr(buf_str(&text), "and 80 more refused"));
	assert_non_null(strstr(buf_str(&text), "[... 700 more bytes]"));
	assert_true(text.len < 20000);
	buf_free(&text);
	delivery_free(&d);
	addr_list_free(&rcpt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_judge),
		cmocka_unit_test(test_exit_code_and_text),
		cmocka_unit_test(test_long_lists_are_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
