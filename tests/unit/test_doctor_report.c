/* test_doctor_report.c - the checklist of outbox --check: counting, the
 * text form, and the JSON form (valid JSON, escaped, read back with
 * json-c). The checks themselves run against a DNS server of their own
 * in tests/check.bats. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "doctor_report.h"
#include "util.h"

static void fill(struct doctor_report *r)
{
	r->account = xstrdup("work");
	r->summary = xstrdup("from a@example.org, via smtp.example.org port 587");
	doctor_add(r, DOCTOR_OK, "spf", NULL, "%s has one SPF record",
	           "example.org");
	doctor_add(r, DOCTOR_FAIL, "dmarc",
	           "_dmarc.example.org. TXT \"v=DMARC1; p=none\"",
	           "no DMARC record at %s", "example.org");
	doctor_add(r, DOCTOR_WARN, "spf", "v=spf1 ~all",
	           "a server said \"%s\"", "evil\x1b[2J\r\ntext");
	doctor_add(r, DOCTOR_INFO, "dns", NULL, "note %d", 3);
}

static void test_counts_and_text(void **state)
{
	(void)state;
	struct doctor_report r = {0};
	fill(&r);
	assert_int_equal(doctor_count(&r, DOCTOR_OK), 1);
	assert_int_equal(doctor_count(&r, DOCTOR_FAIL), 1);
	assert_int_equal(doctor_count(&r, DOCTOR_WARN), 1);
	assert_int_equal(doctor_count(&r, DOCTOR_INFO), 1);
	struct buf out = BUF_INIT;
	doctor_format_text(&r, &out);
	const char *t = buf_str(&out);
	assert_non_null(strstr(t, "account 'work': from a@example.org"));
	assert_non_null(strstr(t, "  ok    spf        example.org has one "
	                          "SPF record\n"));
	assert_non_null(strstr(t, "  FAIL  dmarc      no DMARC record at "
	                          "example.org\n"));
	assert_non_null(strstr(t, "fix: _dmarc.example.org. TXT "
	                          "\"v=DMARC1; p=none\"\n"));
	assert_non_null(strstr(t, "4 checks: 1 failed, 1 warning\n"));
	/* nothing from outside reaches the terminal raw */
	assert_null(strchr(t, '\x1b'));
	assert_null(strchr(t, '\r'));
	buf_free(&out);
	doctor_report_free(&r);
}

static void test_json(void **state)
{
	(void)state;
	struct doctor_report r = {0};
	fill(&r);
	struct buf out = BUF_INIT;
	doctor_format_json(&r, &out);
	assert_true(out.len > 0 && out.data[out.len - 1] == '\n');
	struct json_object *o = json_tokener_parse(buf_str(&out));
	assert_non_null(o);
	struct json_object *v;
	assert_true(json_object_object_get_ex(o, "failed", &v));
	assert_int_equal(json_object_get_int64(v), 1);
	assert_true(json_object_object_get_ex(o, "warnings", &v));
	assert_int_equal(json_object_get_int64(v), 1);
	assert_true(json_object_object_get_ex(o, "account", &v));
	assert_string_equal(json_object_get_string(v), "work");
	struct json_object *checks;
	assert_true(json_object_object_get_ex(o, "checks", &checks));
	assert_int_equal(json_object_array_length(checks), 4);
	static const char *status[] = {"ok", "fail", "warn", "info"};
	for (size_t i = 0; i < 4; i++) {
		struct json_object *c = json_object_array_get_idx(checks, i);
		assert_true(json_object_object_get_ex(c, "status", &v));
		assert_string_equal(json_object_get_string(v), status[i]);
		assert_true(json_object_object_get_ex(c, "fix", &v));
		assert_true((v == NULL) == (i == 0 || i == 3));
	}
	struct json_object *c = json_object_array_get_idx(checks, 1);
	assert_true(json_object_object_get_ex(c, "fix", &v));
	assert_string_equal(json_object_get_string(v),
	                    "_dmarc.example.org. TXT \"v=DMARC1; p=none\"");
	json_object_put(o);
	buf_free(&out);
	doctor_report_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_and_text),
		cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
