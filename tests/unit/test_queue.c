/* Unit tests for queue.c: the entry and state file formats (pure,
 * table-driven, malformed input never crashes), IDs, the retry schedule,
 * and the storage primitives (store, lock, kill, revive, remove) in a
 * temporary directory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "msg.h"
#include "queue.h"
#include "util.h"

#define ID "20261124T184033Z-9f3ac1d2e4b5a6c7"

/* A well-formed header, to which each bad case makes one change. */
static const char good_header[] =
	"outbox-queue 1\n"
	"id: " ID "\n"
	"created: 1795545633.000000042\n"
	"account: work\n"
	"setting: host=smtp.example.org\n"
	"setting: user=\n"
	"from: me@example.org\n"
	"rcpt: a@example.net\n"
	"rcpt: b@example.net\n"
	"size: 1234\n"
	"attempts: 1\n"
	"next-attempt: 1795545693\n"
	"last-error: refused\\x0d\\x0ain two lines \\x5c ok\n";

static void test_parse_good_header(void **state)
{
	(void)state;
	struct queue_entry en;
	struct err e = ERR_INIT;
	assert_int_equal(queue_parse_header(good_header, strlen(good_header),
	                                    &en, &e),
	                 EX_OK);
	assert_string_equal(en.id, ID);
	assert_int_equal(en.created, 1795545633);
	assert_int_equal(en.created_nsec, 42);
	assert_string_equal(en.account, "work");
	assert_int_equal(en.setting_count, 2);
	assert_string_equal(en.settings[0].directive, "host");
	assert_string_equal(en.settings[0].value, "smtp.example.org");
	assert_string_equal(en.settings[1].directive, "user");
	assert_string_equal(en.settings[1].value, "");
	assert_string_equal(en.from, "me@example.org");
	assert_int_equal(en.rcpt.count, 2);
	assert_string_equal(en.rcpt.items[1].mailbox, "b@example.net");
	assert_int_equal(en.size, 1234);
	/* queued defaults to the creation time */
	assert_int_equal(en.state.queued, 1795545633);
	assert_int_equal(en.state.attempts, 1);
	assert_int_equal(en.state.next_attempt, 1795545693);
	assert_string_equal(en.state.last_error,
	                    "refused\r\nin two lines \\ ok");
	assert_int_equal(en.state.dead_since, 0);
	queue_entry_free(&en);
	err_clear(&e);
}

/* Replace the first occurrence of `from` in good_header by `to`. */
static char *variant(const char *from, const char *to)
{
	const char *at = strstr(good_header, from);
	assert_non_null(at);
	struct buf b = BUF_INIT;
	buf_add(&b, good_header, (size_t)(at - good_header));
	buf_add_str(&b, to);
	buf_add_str(&b, at + strlen(from));
	return buf_steal(&b);
}

static void test_parse_bad_headers(void **state)
{
	static const struct {
		const char *from, *to, *error;
	} cases[] = {
		{"outbox-queue 1\n", "outbox-queue 2\n", "line 1: expected"},
		{"outbox-queue 1\n", "", "line 1: expected"},
		{"id: " ID "\n", "", "\"id\" is missing"},
		{"id: " ID, "id: 2026-11-24", "not a queue ID"},
		{"id: " ID, "id: ../../etc/passwd", "not a queue ID"},
		{"from: me@example.org\n", "", "\"from\" is missing"},
		{"from: me@example.org\n",
		 "from: me@example.org\nfrom: x@y\n", "given twice"},
		{"size: 1234\n", "", "\"size\" is missing"},
		{"size: 1234", "size: 12a4", "decimal digits"},
		{"size: 1234", "size: -1", "decimal digits"},
		{"size: 1234", "size: ", "expected a number"},
		{"size: 1234", "size: 99999999999999999999999", "out of range"},
		{"attempts: 1", "attempts: 1000001", "out of range"},
		{"next-attempt: 1795545693", "next-attempt: 253402300800",
		 "out of range"},
		{"created: 1795545633.000000042", "created: 1795545633",
		 "SECONDS.NANOSECONDS"},
		{"created: 1795545633.000000042", "created: 1795545633.42",
		 "SECONDS.NANOSECONDS"},
		{"created: 1795545633.000000042", "created: .000000042",
		 "expected a number"},
		{"rcpt: a@example.net\nrcpt: b@example.net\n", "",
		 "\"rcpt\" is missing"},
		{"rcpt: a@example.net", "rcpt: ", "empty recipient"},
		{"account: work", "account: ", "empty account"},
		{"setting: host=smtp.example.org", "setting: host",
		 "DIRECTIVE=VALUE"},
		{"setting: host=smtp.example.org", "setting: =x",
		 "DIRECTIVE=VALUE"},
		{"setting: host=smtp.example.org", "setting: Host=x", "a-z"},
		{"size: 1234\n", "size: 1234\nbogus: 1\n", "unknown field"},
		{"size: 1234\n", "size: 1234\ndead-since: 5\n", "unknown field"},
		{"size: 1234\n", "size: 1234\nno colon here\n",
		 "expected \"name: value\""},
		{"size: 1234\n", "size: 1234\nbody-sha256: 00\n",
		 "64 hex digits"},
		{"size: 1234\n",
		 "size: 1234\nbody-sha256: "
		 "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\n",
		 "lower-case hex"},
		{"last-error: refused", "last-error: a\\qb", "backslash"},
		{"last-error: refused", "last-error: \\x4", "backslash"},
		{"last-error: refused", "last-error: \\xzz", "backslash"},
		{"last-error: refused", "last-error: \\x00", "NUL"},
		{"last-error: refused", "last-error: tab\there",
		 "control character"},
		{"last-error: refused", "last-error: cr\rhere",
		 "control character"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *text = variant(cases[i].from, cases[i].to);
		struct queue_entry en;
		struct err e = ERR_INIT;
		int rc = queue_parse_header(text, strlen(text), &en, &e);
		if (rc != EX_DATAERR || !strstr(err_msg(&e), cases[i].error))
			fail_msg("case %zu: rc %d, message '%s', wanted '%s'",
			         i, rc, err_msg(&e), cases[i].error);
		queue_entry_free(&en);
		err_clear(&e);
		free(text);
	}
}

static void test_parse_truncated(void **state)
{
	(void)state;
	/* Every prefix of a good header is refused or, when it ends on a
	 * complete line holding every required field, accepted: never a
	 * crash (run under ASan), never a partial success. */
	size_t len = strlen(good_header);
	for (size_t n = 0; n < len; n++) {
		struct queue_entry en;
		struct err e = ERR_INIT;
		int rc = queue_parse_header(good_header, n, &en, &e);
		if (rc == EX_OK) {
			assert_true(good_header[n - 1] == '\n');
			assert_non_null(en.id);
			assert_true(en.rcpt.count > 0);
		} else {
			assert_int_equal(rc, EX_DATAERR);
			assert_true(strlen(err_msg(&e)) > 0);
		}
		queue_entry_free(&en);
		err_clear(&e);
	}
	/* Every single byte replaced by something hostile. */
	static const char hostile[] = {'\0', '\n', '\\', ':', '\x7f', '\xff'};
	for (size_t n = 0; n < len; n++) {
		for (size_t h = 0; h < sizeof hostile; h++) {
			char *copy = xstrdup(good_header);
			copy[n] = hostile[h];
			struct queue_entry en;
			struct err e = ERR_INIT;
			int rc = queue_parse_header(copy, len, &en, &e);
			assert_true(rc == EX_OK || rc == EX_DATAERR);
			if (rc == EX_OK)
				assert_true(queue_id_valid(en.id));
			queue_entry_free(&en);
			err_clear(&e);
			free(copy);
		}
	}
}

static void test_format_round_trip(void **state)
{
	(void)state;
	struct queue_entry en;
	memset(&en, 0, sizeof en);
	en.id = xstrdup(ID);
	en.created = 1795545633;
	en.created_nsec = 999999999;
	en.setting_count = 2;
	en.settings = xcalloc(2, sizeof *en.settings);
	en.settings[0].directive = xstrdup("passwordeval");
	en.settings[0].value = xstrdup("pass show 'mail\\x'\n=odd");
	en.settings[1].directive = xstrdup("host");
	en.settings[1].value = xstrdup("h=1");
	en.from = xstrdup("");
	addr_list_add(&en.rcpt, NULL, "\"odd local\"@example.org");
	addr_list_add(&en.rcpt, NULL, "j\xc3\xb6rg@b\xc3\xbc\x63her.example");
	en.size = UINT64_MAX;
	en.state.queued = 1795545700;
	en.state.attempts = 7;
	en.state.next_attempt = 1795549300;
	en.state.last_error = xstrdup("\x01\x1f\x7f\\ end");
	struct buf text = BUF_INIT;
	queue_format_header(&en, &text, NULL);
	/* The header ends with the empty line; the parser takes the part
	 * before it. */
	assert_true(text.len > 2);
	assert_memory_equal(text.data + text.len - 2, "\n\n", 2);
	assert_null(memchr(text.data, '\r', text.len));
	struct queue_entry back;
	struct err e = ERR_INIT;
	assert_int_equal(queue_parse_header(text.data, text.len - 1, &back, &e),
	                 EX_OK);
	assert_string_equal(back.id, en.id);
	assert_int_equal(back.created_nsec, 999999999);
	assert_null(back.account);
	assert_int_equal(back.setting_count, 2);
	assert_string_equal(back.settings[0].value, en.settings[0].value);
	assert_string_equal(back.settings[1].value, "h=1");
	assert_string_equal(back.from, "");
	assert_string_equal(back.rcpt.items[0].mailbox,
	                    "\"odd local\"@example.org");
	assert_string_equal(back.rcpt.items[1].mailbox,
	                    en.rcpt.items[1].mailbox);
	assert_true(back.size == UINT64_MAX);
	assert_int_equal(back.state.queued, 1795545700);
	assert_int_equal(back.state.attempts, 7);
	assert_string_equal(back.state.last_error, en.state.last_error);
	queue_entry_free(&back);

	/* The state file alone. */
	buf_reset(&text);
	en.state.dead_since = 1795549999;
	en.state.dead_reason = xstrdup("550 5.1.1 no such user\nreally");
	/* direct delivery: who has it, who refused it for good */
	addr_list_add(&en.state.delivered, NULL, "a@good.test");
	addr_list_add(&en.state.refused, NULL, "b@bad.test");
	addr_list_add(&en.state.refused, NULL, "\"odd local\"@bad.test");
	queue_format_state(&en.state, &text);
	assert_non_null(strstr(text.data, "\nrefused: b@bad.test\n"));
	struct queue_state st = {0};
	st.last_error = xstrdup("replaced");
	assert_int_equal(queue_parse_state(text.data, text.len, &st, &e),
	                 EX_OK);
	assert_true(queue_state_delivered_to(&st, "a@good.test"));
	assert_false(queue_state_refused(&st, "a@good.test"));
	assert_true(queue_state_refused(&st, "b@bad.test"));
	assert_true(queue_state_refused(&st, "\"odd local\"@bad.test"));
	assert_false(queue_state_delivered_to(&st, "b@bad.test"));
	assert_int_equal(st.attempts, 7);
	assert_int_equal(st.dead_since, 1795549999);
	assert_string_equal(st.dead_reason, en.state.dead_reason);
	assert_string_equal(st.last_error, en.state.last_error);
	queue_state_free(&st);
	buf_free(&text);
	queue_entry_free(&en);
	err_clear(&e);
}

static void test_parse_state(void **state)
{
	static const struct {
		const char *text, *error; /* error NULL: accepted */
	} cases[] = {
		{"outbox-queue-state 1\nqueued: 5\nattempts: 2\n"
		 "next-attempt: 9\n", NULL},
		{"outbox-queue-state 1\nqueued: 5\nattempts: 2\n"
		 "next-attempt: 9\ndead-since: 10\ndead-reason: 550 no\n", NULL},
		{"", "empty"},
		{"outbox-queue-state 1\n", "\"queued\" is missing"},
		{"outbox-queue-state 1\nqueued: 5\nattempts: 2\n",
		 "\"next-attempt\" is missing"},
		{"outbox-queue 1\nqueued: 5\nattempts: 2\nnext-attempt: 9\n",
		 "line 1"},
		{"outbox-queue-state 1\nqueued: 5\nattempts: 2\n"
		 "next-attempt: 9\ndead-since: 10\n", "go together"},
		{"outbox-queue-state 1\nqueued: 5\nattempts: 2\n"
		 "next-attempt: 9\ndead-since: 0\ndead-reason: x\n",
		 "must not be 0"},
		{"outbox-queue-state 1\nqueued: 5\nattempts: 2\n"
		 "next-attempt: 9\nrcpt: a@b\n", "unknown field"},
		{"outbox-queue-state 1\nqueued: 5\nattempts: 2\nnext-attempt: 9",
		 "not terminated"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct queue_state st = {0};
		st.attempts = 99;
		struct err e = ERR_INIT;
		int rc = queue_parse_state(cases[i].text, strlen(cases[i].text),
		                           &st, &e);
		if (!cases[i].error) {
			if (rc != EX_OK)
				fail_msg("case %zu: %s", i, err_msg(&e));
			assert_int_equal(st.attempts, 2);
		} else {
			if (rc != EX_DATAERR ||
			    !strstr(err_msg(&e), cases[i].error))
				fail_msg("case %zu: rc %d '%s', wanted '%s'", i,
				         rc, err_msg(&e), cases[i].error);
			/* a refused file leaves the state alone */
			assert_int_equal(st.attempts, 99);
		}
		queue_state_free(&st);
		err_clear(&e);
	}
}

static void test_ids(void **state)
{
	static const struct {
		const char *id;
		bool valid;
	} cases[] = {
		{ID, true},
		{"20261124T184033Z-0000000000000000", true},
		{"20261124T184033Z-9F3AC1D2E4B5A6C7", false},
		{"20261124T184033Z-9f3ac1d2e4b5a6c", false},
		{"20261124T184033Z-9f3ac1d2e4b5a6c77", false},
		{"20261124t184033Z-9f3ac1d2e4b5a6c7", false},
		{"2026112XT184033Z-9f3ac1d2e4b5a6c7", false},
		{"20261124T184033Z_9f3ac1d2e4b5a6c7", false},
		{"../../../../../../../../etc/passwd", false},
		{"", false},
		{"all", false},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (queue_id_valid(cases[i].id) != cases[i].valid)
			fail_msg("case %zu: %s", i, cases[i].id);
	assert_false(queue_id_valid(NULL));
}

static void test_retry_delay(void **state)
{
	static const struct {
		unsigned attempts;
		long delay;
	} cases[] = {
		{0, 60},   {1, 60},    {2, 120},   {3, 240},       {4, 480},
		{5, 960},  {6, 1920},  {7, 3600},  {8, 3600},      {1000, 3600},
		{QUEUE_MAX_ATTEMPTS, 3600}, {(unsigned)-1, 3600},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_int_equal(queue_retry_delay(cases[i].attempts),
		                 cases[i].delay);
}

/* ---- storage in a temporary directory ----------------------------------- */

static int write_text(void *ctx, msg_write_fn write, void *write_ctx,
                      struct err *e)
{
	const char *text = ctx;
	return write(write_ctx, text, strlen(text), e);
}

static char *temp_dir(void)
{
	const char *base = getenv("TMPDIR");
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s/outbox-queue-test-XXXXXX", base ? base : "/tmp");
	char *path = buf_steal(&b);
	assert_non_null(mkdtemp(path));
	return path;
}

static void remove_tree(const char *path)
{
	struct buf cmd = BUF_INIT;
	buf_printf(&cmd, "rm -rf '%s'", path);
	assert_int_equal(system(buf_str(&cmd)), 0);
	buf_free(&cmd);
}

static void fill_entry(struct queue_entry *en, const char *text)
{
	memset(en, 0, sizeof *en);
	en->created = 1795545633;
	en->account = xstrdup("work");
	en->from = xstrdup("me@example.org");
	addr_list_add(&en->rcpt, NULL, "you@example.net");
	en->size = strlen(text);
	en->state.queued = en->created;
	en->state.next_attempt = en->created;
}

static void test_store_lock_kill_revive(void **state)
{
	(void)state;
	char *root = temp_dir();
	struct buf path = BUF_INIT;
	buf_printf(&path, "%s/a/b/queue", root);
	struct queue_dir *d = NULL;
	struct err e = ERR_INIT;
	/* Without create, a missing directory is an empty queue. */
	assert_int_equal(queue_dir_open(buf_str(&path), false, &d, &e), EX_OK);
	assert_null(d);
	assert_int_equal(queue_dir_open(buf_str(&path), true, &d, &e), EX_OK);
	assert_non_null(d);
	struct stat st;
	assert_int_equal(stat(buf_str(&path), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	static const char text[] = "Subject: t\r\n\r\nbody\r\n";
	struct queue_entry en;
	fill_entry(&en, text);
	assert_int_equal(queue_store(d, &en, write_text, (void *)text, &e),
	                 EX_OK);
	assert_true(queue_id_valid(en.id));
	char *id = xstrdup(en.id);
	queue_entry_free(&en);

	struct queue_entry *list = NULL;
	size_t count = 0;
	struct queue_problems problems = {0};
	assert_int_equal(queue_scan(d, true, &list, &count, &problems, &e),
	                 EX_OK);
	assert_int_equal(count, 1);
	assert_string_equal(list[0].id, id);
	assert_false(list[0].dead);
	queue_entries_free(list, count);

	/* Locked once; a second lock (another open file) is refused. */
	struct queue_handle h, h2;
	enum queue_acquire_result res;
	assert_int_equal(queue_acquire(d, id, false, &h, &res, &e), EX_OK);
	assert_int_equal(res, QUEUE_ACQUIRED);
	assert_int_equal(queue_acquire(d, id, false, &h2, &res, &e), EX_OK);
	assert_int_equal(res, QUEUE_BUSY);
	struct message *m = NULL;
	assert_int_equal(queue_handle_message(&h, &m, &e), EX_OK);
	assert_int_equal(msg_size(m), strlen(text));
	msg_free(m);
	struct buf header = BUF_INIT;
	assert_int_equal(queue_handle_message_header(&h, &header, &e), EX_OK);
	assert_string_equal(buf_str(&header), "Subject: t\r\n");
	buf_free(&header);

	/* A deferral is recorded in ID.state and read back. */
	h.entry.state.attempts = 3;
	h.entry.state.last_error = xstrdup("451 later");
	assert_int_equal(queue_handle_save_state(&h, &e), EX_OK);
	assert_int_equal(queue_handle_kill(&h, "550 no such user", &e), EX_OK);
	queue_handle_release(&h);

	assert_int_equal(queue_acquire(d, id, false, &h, &res, &e), EX_OK);
	assert_int_equal(res, QUEUE_GONE);
	assert_int_equal(queue_scan(d, true, &list, &count, &problems, &e),
	                 EX_OK);
	assert_int_equal(count, 1);
	assert_true(list[0].dead);
	assert_int_equal(list[0].state.attempts, 3);
	assert_string_equal(list[0].state.dead_reason, "550 no such user");
	queue_entries_free(list, count);

	/* Revive: due now, attempts reset. */
	assert_int_equal(queue_acquire(d, id, true, &h, &res, &e), EX_OK);
	assert_int_equal(res, QUEUE_ACQUIRED);
	assert_int_equal(queue_handle_revive(&h, &e), EX_OK);
	queue_handle_release(&h);
	assert_int_equal(queue_scan(d, true, &list, &count, &problems, &e),
	                 EX_OK);
	assert_int_equal(count, 1);
	assert_false(list[0].dead);
	assert_int_equal(list[0].state.attempts, 0);
	assert_null(list[0].state.dead_reason);
	queue_entries_free(list, count);

	/* A torn state file falls back to the initial state. */
	struct buf state_path = BUF_INIT;
	buf_printf(&state_path, "%s/%s.state", buf_str(&path), id);
	FILE *f = fopen(buf_str(&state_path), "w");
	assert_non_null(f);
	fputs("outbox-queue-state 1\nqueu", f);
	fclose(f);
	assert_int_equal(queue_scan(d, false, &list, &count, &problems, &e),
	                 EX_OK);
	assert_int_equal(count, 1);
	assert_true(list[0].state_ignored);
	assert_int_equal(list[0].state.attempts, 0);
	queue_entries_free(list, count);

	/* Remove. */
	assert_int_equal(queue_acquire(d, id, false, &h, &res, &e), EX_OK);
	assert_int_equal(queue_handle_remove(&h, &e), EX_OK);
	queue_handle_release(&h);
	assert_int_equal(queue_scan(d, true, &list, &count, &problems, &e),
	                 EX_OK);
	assert_int_equal(count, 0);
	free(list);
	assert_int_equal(problems.count, 0);

	buf_free(&state_path);
	queue_problems_free(&problems);
	free(id);
	queue_dir_close(d);
	buf_free(&path);
	remove_tree(root);
	free(root);
	err_clear(&e);
}

static void test_scan_reports_damage(void **state)
{
	(void)state;
	char *root = temp_dir();
	struct queue_dir *d = NULL;
	struct err e = ERR_INIT;
	assert_int_equal(queue_dir_open(root, true, &d, &e), EX_OK);
	struct buf name = BUF_INIT;
	buf_printf(&name, "%s/" ID ".msg", root);
	FILE *f = fopen(buf_str(&name), "w");
	assert_non_null(f);
	fputs("outbox-queue 1\nid: " ID "\nsize: x\n\nbody", f);
	fclose(f);
	struct queue_entry *list = NULL;
	size_t count = 9;
	struct queue_problems problems = {0};
	assert_int_equal(queue_scan(d, true, &list, &count, &problems, &e),
	                 EX_OK);
	assert_int_equal(count, 0);
	assert_int_equal(problems.count, 1);
	assert_string_equal(problems.items[0].id, ID);
	assert_non_null(strstr(problems.items[0].reason, ID ".msg"));
	assert_non_null(strstr(problems.items[0].reason, "line 3"));
	/* never deleted */
	assert_int_equal(access(buf_str(&name), F_OK), 0);
	free(list);

	/* An unsafe directory is refused. */
	chmod(root, 0777);
	queue_dir_close(d);
	assert_int_equal(queue_dir_open(root, false, &d, &e), EX_CONFIG);
	assert_non_null(strstr(err_msg(&e), "written by group or others"));
	assert_null(d);
	queue_problems_free(&problems);
	buf_free(&name);
	remove_tree(root);
	free(root);
	err_clear(&e);
}

/* Write bytes to root/name (replacing it). */
static void put_file(const char *root, const char *name, const void *data,
                     size_t len)
{
	struct buf path = BUF_INIT;
	buf_printf(&path, "%s/%s", root, name);
	FILE *f = fopen(buf_str(&path), "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	buf_free(&path);
}

static bool exists(const char *root, const char *name)
{
	struct buf path = BUF_INIT;
	buf_printf(&path, "%s/%s", root, name);
	bool there = access(buf_str(&path), F_OK) == 0;
	buf_free(&path);
	return there;
}

/* Files that are not entries at all, or stop before the header ends, are
 * problems with a reason (the read used to free an uninitialised entry
 * for them: a crash of --list-queue and --flush). */
static void test_scan_survives_garbage(void **state)
{
	(void)state;
	static const struct {
		const char *data;
		size_t len;
		const char *reason;
	} cases[] = {
#define BYTES(s) s, sizeof s - 1
		{BYTES(""), "no end"},
		{BYTES("\x8f\x01garbage\n\n"), "not a queue file"},
		{BYTES("outbox-queue 1\nid: " ID "\nsize: 3\n"), "no end"},
		{BYTES("o\n\n"), "line 1: expected"},
		{BYTES("outbox-queue 1\n\n"), "is missing"},
		{BYTES("outbox-queue 1\nid: " ID "\n\0\n\n"), "line 3"},
#undef BYTES
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *root = temp_dir();
		struct queue_dir *d = NULL;
		struct err e = ERR_INIT;
		assert_int_equal(queue_dir_open(root, true, &d, &e), EX_OK);
		put_file(root, ID ".msg", cases[i].data, cases[i].len);
		put_file(root, ID ".state", "\xff\xfe", 2);
		struct queue_entry *list = NULL;
		size_t count = 0;
		struct queue_problems problems = {0};
		assert_int_equal(queue_scan(d, true, &list, &count, &problems,
		                            &e),
		                 EX_OK);
		assert_int_equal(count, 0);
		assert_int_equal(problems.count, 1);
		if (!strstr(problems.items[0].reason, cases[i].reason))
			fail_msg("case %zu: '%s', wanted '%s'", i,
			         problems.items[0].reason, cases[i].reason);
		/* Acquiring it reports the same, and leaves nothing held. */
		struct queue_handle h;
		enum queue_acquire_result res;
		assert_int_equal(queue_acquire(d, ID, false, &h, &res, &e),
		                 EX_DATAERR);
		assert_int_not_equal(res, QUEUE_ACQUIRED);
		err_clear(&e);
		/* Set aside with its state; the reason is kept beside it. */
		bool moved = false;
		assert_int_equal(queue_set_aside(d, &problems.items[0], &moved,
		                                 &e),
		                 EX_OK);
		assert_true(moved);
		assert_false(exists(root, ID ".msg"));
		assert_false(exists(root, ID ".state"));
		assert_true(exists(root, "damaged/" ID ".msg"));
		assert_true(exists(root, "damaged/" ID ".state"));
		struct queue_problems damaged = {0};
		assert_int_equal(queue_scan_damaged(d, &damaged, &e), EX_OK);
		assert_int_equal(damaged.count, 1);
		assert_string_equal(damaged.items[0].id, ID);
		assert_non_null(strstr(damaged.items[0].reason,
		                       cases[i].reason));
		queue_problems_free(&damaged);
		queue_problems_free(&problems);
		free(list);
		queue_dir_close(d);
		remove_tree(root);
		free(root);
		err_clear(&e);
	}
}

/* Store one entry in a fresh queue; its ID.msg path goes to *msg_path. */
static char *store_one(const char *root, struct queue_dir *d, const char *text,
                       struct buf *msg_path)
{
	struct queue_entry en;
	struct err e = ERR_INIT;
	fill_entry(&en, text);
	assert_int_equal(queue_store(d, &en, write_text, (void *)text, &e),
	                 EX_OK);
	assert_int_equal(strlen(en.body_sha256), 64);
	char *id = xstrdup(en.id);
	buf_reset(msg_path);
	buf_printf(msg_path, "%s/%s.msg", root, id);
	queue_entry_free(&en);
	return id;
}

/* A body changed after it was stored, by a flipped byte, a cut or bytes
 * added, is refused before it can be sent, and can be set aside. */
static void test_damaged_body_is_never_read(void **state)
{
	(void)state;
	static const char text[] = "Subject: t\r\n\r\nline one\r\nline two\r\n";
	enum { FLIP, CUT, GROW, NCASES };
	for (int c = 0; c < NCASES; c++) {
		char *root = temp_dir();
		struct queue_dir *d = NULL;
		struct err e = ERR_INIT;
		assert_int_equal(queue_dir_open(root, true, &d, &e), EX_OK);
		struct buf path = BUF_INIT;
		char *id = store_one(root, d, text, &path);
		struct stat st;
		assert_int_equal(stat(buf_str(&path), &st), 0);
		int fd = open(buf_str(&path), O_RDWR);
		assert_true(fd >= 0);
		if (c == FLIP)
			assert_int_equal(pwrite(fd, "X", 1, st.st_size - 5), 1);
		else if (c == CUT)
			assert_int_equal(ftruncate(fd, st.st_size - 3), 0);
		else
			assert_int_equal(pwrite(fd, "more", 4, st.st_size), 4);
		close(fd);
		struct queue_handle h;
		enum queue_acquire_result res;
		assert_int_equal(queue_acquire(d, id, false, &h, &res, &e),
		                 EX_OK);
		assert_int_equal(res, QUEUE_ACQUIRED);
		struct message *m = NULL;
		assert_int_equal(queue_handle_message(&h, &m, &e), EX_DATAERR);
		assert_null(m);
		assert_non_null(strstr(err_msg(&e), "damaged"));
		assert_non_null(strstr(err_msg(&e), c == FLIP ? "SHA-256"
		                                               : "bytes"));
		assert_int_equal(queue_handle_set_aside(&h, err_msg(&e), &e),
		                 EX_OK);
		queue_handle_release(&h);
		struct queue_problems damaged = {0};
		assert_int_equal(queue_scan_damaged(d, &damaged, &e), EX_OK);
		assert_int_equal(damaged.count, 1);
		assert_non_null(strstr(damaged.items[0].reason, "damaged"));
		queue_problems_free(&damaged);
		assert_int_equal(queue_acquire(d, id, false, &h, &res, &e),
		                 EX_OK);
		assert_int_equal(res, QUEUE_GONE);
		free(id);
		buf_free(&path);
		queue_dir_close(d);
		remove_tree(root);
		free(root);
		err_clear(&e);
	}
}

/* An intact entry reads back byte for byte; one without a digest (written
 * by outbox 0.1.0) is still guarded by its size. */
static void test_intact_body_reads_back(void **state)
{
	(void)state;
	static const char text[] = "Subject: t\r\n\r\nbody\r\n";
	char *root = temp_dir();
	struct queue_dir *d = NULL;
	struct err e = ERR_INIT;
	assert_int_equal(queue_dir_open(root, true, &d, &e), EX_OK);
	struct buf path = BUF_INIT;
	char *id = store_one(root, d, text, &path);
	struct queue_handle h;
	enum queue_acquire_result res;
	assert_int_equal(queue_acquire(d, id, false, &h, &res, &e), EX_OK);
	struct message *m = NULL;
	assert_int_equal(queue_handle_message(&h, &m, &e), EX_OK);
	assert_int_equal(msg_size(m), strlen(text));
	msg_free(m);
	queue_handle_release(&h);
	/* Drop the digest line, as an entry of the previous version. */
	FILE *f = fopen(buf_str(&path), "r");
	assert_non_null(f);
	struct buf old = BUF_INIT;
	char line[4096];
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "body-sha256: ", 13) != 0)
			buf_add_str(&old, line);
	fclose(f);
	put_file(root, "tmp", old.data, old.len);
	struct buf tmp = BUF_INIT;
	buf_printf(&tmp, "%s/tmp", root);
	assert_int_equal(rename(buf_str(&tmp), buf_str(&path)), 0);
	assert_int_equal(queue_acquire(d, id, false, &h, &res, &e), EX_OK);
	assert_string_equal(h.entry.body_sha256, "");
	assert_int_equal(queue_handle_message(&h, &m, &e), EX_OK);
	msg_free(m);
	queue_handle_release(&h);
	buf_free(&tmp);
	buf_free(&old);
	buf_free(&path);
	free(id);
	queue_dir_close(d);
	remove_tree(root);
	free(root);
	err_clear(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good_header),
		cmocka_unit_test(test_parse_bad_headers),
		cmocka_unit_test(test_parse_truncated),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_parse_state),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_retry_delay),
		cmocka_unit_test(test_store_lock_kill_revive),
		cmocka_unit_test(test_scan_reports_damage),
		cmocka_unit_test(test_scan_survives_garbage),
		cmocka_unit_test(test_damaged_body_is_never_read),
		cmocka_unit_test(test_intact_body_reads_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
