/* doctor_report.c - see doctor_report.h. */
#include "doctor_report.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "json_write.h"
#include "sanitize.h"
#include "util.h"

static char *clean(const char *text)
{
	struct buf b = BUF_INIT;
	sanitize_append_line(&b, text, strlen(text));
	return buf_steal(&b);
}

void doctor_add(struct doctor_report *r, enum doctor_level level, const char *area,
                const char *fix, const char *message, ...)
{
	struct buf text = BUF_INIT;
	va_list ap;
	va_start(ap, message);
	buf_vprintf(&text, message, ap);
	va_end(ap);
	r->items = xrealloc(r->items, (r->count + 1) * sizeof *r->items);
	r->items[r->count++] = (struct doctor_item){
		.level = level,
		.area = xstrdup(area),
		.message = clean(buf_str(&text)),
		.fix = fix ? clean(fix) : NULL,
	};
	buf_free(&text);
}

size_t doctor_count(const struct doctor_report *r, enum doctor_level level)
{
	size_t n = 0;
	for (size_t i = 0; i < r->count; i++)
		n += r->items[i].level == level;
	return n;
}

static const char *level_word(enum doctor_level level, bool json)
{
	switch (level) {
	case DOCTOR_OK:
		return "ok";
	case DOCTOR_INFO:
		return "info";
	case DOCTOR_WARN:
		return "warn";
	case DOCTOR_FAIL:
		return json ? "fail" : "FAIL";
	}
	return "?";
}

void doctor_format_text(const struct doctor_report *r, struct buf *out)
{
	buf_printf(out, "outbox --check, account '%s': %s\n\n", r->account,
	           r->summary ? r->summary : "");
	for (size_t i = 0; i < r->count; i++) {
		const struct doctor_item *it = &r->items[i];
		buf_printf(out, "  %-5s %-10s %s\n", level_word(it->level, false),
		           it->area, it->message);
		if (it->fix)
			buf_printf(out, "        %-10s fix: %s\n", "", it->fix);
	}
	size_t failed = doctor_count(r, DOCTOR_FAIL);
	size_t warned = doctor_count(r, DOCTOR_WARN);
	buf_printf(out, "\n%zu check%s: %zu failed, %zu warning%s\n", r->count,
	           r->count == 1 ? "" : "s", failed, warned,
	           warned == 1 ? "" : "s");
}

static void add_member(struct buf *out, const char *name, const char *value,
                       bool first)
{
	if (!first)
		buf_add_char(out, ',');
	json_write_string(out, name);
	buf_add_char(out, ':');
	if (value)
		json_write_string(out, value);
	else
		buf_add_str(out, "null");
}

void doctor_format_json(const struct doctor_report *r, struct buf *out)
{
	buf_add_char(out, '{');
	add_member(out, "account", r->account, true);
	add_member(out, "summary", r->summary ? r->summary : "", false);
	buf_printf(out, ",\"failed\":%zu,\"warnings\":%zu,\"checks\":[",
	           doctor_count(r, DOCTOR_FAIL), doctor_count(r, DOCTOR_WARN));
	for (size_t i = 0; i < r->count; i++) {
		const struct doctor_item *it = &r->items[i];
		buf_add_str(out, i ? ",{" : "{");
		add_member(out, "area", it->area, true);
		add_member(out, "status", level_word(it->level, true), false);
		add_member(out, "message", it->message, false);
		add_member(out, "fix", it->fix, false);
		buf_add_char(out, '}');
	}
	buf_add_str(out, "]}\n");
}

void doctor_report_free(struct doctor_report *r)
{
	for (size_t i = 0; i < r->count; i++) {
		free(r->items[i].area);
		free(r->items[i].message);
		free(r->items[i].fix);
	}
	free(r->items);
	free(r->account);
	free(r->summary);
	memset(r, 0, sizeof *r);
}
