/* keytool.c - see keytool.h. */
#include "keytool.h"

#include "dkim.h"

struct key_settings {
	const char *key_file;
	const char *selector;
	const char *domain;
};

/* The command line wins; the account's first signer fills the gaps. */
static void find_key_settings(const struct options *opts,
                              const struct conf *conf,
                              struct key_settings *ks)
{
	const struct cli_setting *s;
	const struct account *a = conf_find_account(
	        conf, opts->account ? opts->account : "default");
	const struct dkim_signer *signer =
	        a && a->dkim_count ? &a->dkim[0] : NULL;
	s = cli_find_setting(opts, "dkim_key");
	ks->key_file = s ? s->value : signer ? signer->key_file : NULL;
	s = cli_find_setting(opts, "dkim_selector");
	ks->selector = s ? s->value : signer ? signer->selector : NULL;
	s = cli_find_setting(opts, "dkim_domain");
	ks->domain = s ? s->value : signer ? signer->domain : NULL;
}

int keytool_run(const struct options *opts, const struct conf *conf,
                struct buf *out, struct err *e)
{
	struct key_settings ks;
	find_key_settings(opts, conf, &ks);
	if (!ks.key_file)
		return err_set(e, EX_USAGE,
		               "no key file: give --dkim-key=FILE (or set "
		               "dkim_key in the account)");
	bool keygen = opts->mode == MODE_DKIM_KEYGEN;
	if (keygen) {
		int rc = dkim_keygen(opts->dkim_key_type,
		                     (unsigned)opts->dkim_key_bits, ks.key_file, e);
		if (rc != EX_OK)
			return rc;
		buf_printf(out, "wrote a new %s private key to %s\n",
		           opts->dkim_key_type, ks.key_file);
	}
	if (!ks.selector || !ks.domain) {
		if (keygen) {
			buf_add_str(out, "give --dkim-selector and --dkim-domain "
			                 "with --dkim-record to print the DNS "
			                 "record to publish\n");
			return EX_OK;
		}
		return err_set(e, EX_USAGE,
		               "the DNS record needs a selector and a domain: "
		               "give --dkim-selector=NAME and "
		               "--dkim-domain=DOMAIN");
	}
	int rc = dkim_dns_record(ks.key_file, ks.selector, ks.domain, out, e);
	if (rc == EX_OK && (out->len == 0 || out->data[out->len - 1] != '\n'))
		buf_add_char(out, '\n');
	return rc;
}
