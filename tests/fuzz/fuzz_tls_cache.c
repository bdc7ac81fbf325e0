/* fuzz_tls_cache.c - libFuzzer target for the TLS session cache's file
 * parser (tls_cache.h), which reads files from the cache directory.
 * Invariants checked on every input:
 *  - the parser is total: true or false, never a read outside the input;
 *  - a refused input leaves the entry zeroed;
 *  - an accepted entry points inside the input, has lengths within the
 *    limits, and formats back to exactly the bytes it was parsed from (the
 *    format has one spelling per entry, so no two files mean the same);
 *  - usability is exactly "same key and stored <= now < expires <= now +
 *    7 days". */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tls_cache.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly the input, so ASan sees any read past its end. */
	char *text = xmalloc(size ? size : 1);
	memcpy(text, data, size);
	struct tls_cache_entry en;
	if (!tls_cache_parse(text, size, &en)) {
		if (en.key || en.data || en.key_len || en.data_len ||
		    en.expires || en.stored)
			abort();
		free(text);
		return 0;
	}
	if (en.key_len < 1 || en.key_len > TLS_CACHE_MAX_KEY ||
	    en.data_len < 1 || en.data_len > TLS_CACHE_MAX_DATA ||
	    en.key < text || (const char *)en.data != en.key + en.key_len ||
	    (const char *)en.data + en.data_len != text + size)
		abort();
	struct buf out = BUF_INIT;
	tls_cache_format(en.key, en.key_len, en.data, en.data_len, en.expires,
	                 en.stored, &out);
	if (out.len != size || memcmp(out.data, text, size) != 0)
		abort();
	struct tls_cache_entry back;
	if (!tls_cache_parse(out.data, out.len, &back) ||
	    back.expires != en.expires || back.stored != en.stored ||
	    back.key_len != en.key_len ||
	    back.data_len != en.data_len ||
	    memcmp(back.key, en.key, en.key_len) != 0 ||
	    memcmp(back.data, en.data, en.data_len) != 0)
		abort();
	time_t now = (time_t)(en.expires - 1);
	bool stored_by_then = en.stored <= en.expires - 1;
	if (tls_cache_entry_usable(&en, en.key, en.key_len, now) !=
	            stored_by_then ||
	    tls_cache_entry_usable(&en, en.key, en.key_len,
	                           (time_t)en.expires) ||
	    (en.stored > 0 &&
	     tls_cache_entry_usable(&en, en.key, en.key_len,
	                            (time_t)(en.stored - 1))) ||
	    (en.key_len > 0 &&
	     tls_cache_entry_usable(&en, en.key, en.key_len - 1, now)))
		abort();
	buf_wipe(&out);
	free(text);
	return 0;
}
