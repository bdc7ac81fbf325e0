/* conf_parse.h - the msmtprc syntax: text -> the accounts of a struct conf.
 *
 * The whole of msmtp 1.8's language: `defaults`, `account NAME [: PARENT,
 * ...]`, `account default : NAME`, comments, quoting, `eval`, and settings
 * before the first account line (an account "default"). Which files are
 * read is conf_files.h's business; this module never opens a file. */
#ifndef OUTBOX_CONF_PARSE_H
#define OUTBOX_CONF_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "account.h"
#include "err.h"

struct runenv;

/* All accounts of the loaded configuration files, in definition order. */
struct conf {
	struct account **accounts;
	size_t count;
	char **files; /* the files that were loaded, for --pretend/--version */
	size_t file_count;
	bool eval_disabled; /* refuse `eval` lines (fuzzing, untrusted text) */
	/* The run's environment (runenv.h), set by the caller before loading
	 * and borrowed: which files conf_load_default() reads, ~ expansion,
	 * and every account made from this conf gets it (account.h). May be
	 * NULL for parsing alone: ~ is then an error. */
	struct runenv *env;
	/* The system file (conf_files.h) that exists but this user may not
	 * read (EACCES: mode 600 root, it holds the smarthost's password), so
	 * it was skipped; NULL when there is none. Heap, freed by
	 * conf_free(). Nothing was printed about it: the caller decides (the
	 * relay's secrets stay with the relay, DESIGN.md invariant 7, and the
	 * message can go to the system maildrop instead). */
	char *unreadable_system_file;
};

/* Parse msmtprc text from one file into conf (accounts defined earlier, e.g.
 * from the system file, may be redefined). `filename` is used in messages
 * ("FILE:LINE: ..."). Pure: no file I/O except that `eval` runs its command.
 * Sets *has_secret when a password directive was seen. Returns EX_CONFIG
 * with a message naming file and line on any error; conf is then unchanged. */
int conf_parse(struct conf *conf, const char *text, size_t len,
               const char *filename, bool *has_secret, struct err *e);

/* The account called name, or NULL. */
struct account *conf_find_account(const struct conf *conf, const char *name);

/* Add a to conf, which owns it from now on; an account of the same name
 * (from an earlier file: the user file overrides the system file) is
 * freed and replaced. */
void conf_add_account(struct conf *conf, struct account *a);

/* Free every account and file name; conf is empty afterwards. */
void conf_free(struct conf *conf);

#endif
