/* conf.h - the msmtprc configuration language: accounts and their settings.
 *
 * The language is msmtp 1.8's, whole: `defaults`, `account NAME [: PARENT,...]`,
 * `account default : NAME`, comments, quoting, `~` expansion, `eval`, and every
 * msmtp directive with its meaning; outbox's additions (dkim_*, queue*) use new
 * names. Command-line options that override the configuration are applied
 * through the same setter (account_set), so they get the same validation.
 *
 * This header is the whole configuration for its users; each part has its
 * own contract:
 *   account.h     struct account: new, clone, free, finalize, describe
 *   directives.h  account_set: one directive and its value
 *   conf_parse.h  struct conf: msmtprc text -> accounts
 *   conf_files.h  which files are read, and the permission rule */
#ifndef OUTBOX_CONF_H
#define OUTBOX_CONF_H

#include "account.h"
#include "conf_files.h"
#include "conf_parse.h"
#include "directives.h"

#endif
