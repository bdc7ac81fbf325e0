/* test_util.c - the whole-file helpers: fd_read_all's limit (exactly max
 * is fine, one byte more is EFBIG, never silently cut) and that it appends;
 * fd_write_all writes everything. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "util.h"

/* A temporary file holding n bytes of a pattern, open for reading at 0. */
static int file_with(size_t n)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	int fd = dup(fileno(f));
	fclose(f);
	char *data = malloc(n ? n : 1);
	assert_non_null(data);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)('a' + i % 26);
	assert_int_equal(fd_write_all(fd, data, n), 0);
	free(data);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static void test_read_all_limit(void **state)
{
	(void)state;
	/* sizes around the 64 KiB growth step and the limit */
	static const size_t sizes[] = {0, 1, 65535, 65536, 65537, 200000};
	for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
		for (int secret = 0; secret < 2; secret++) {
			size_t n = sizes[k];
			/* limit == size: read whole */
			int fd = file_with(n);
			struct buf b = BUF_INIT;
			buf_add_str(&b, "kept:");
			assert_int_equal(fd_read_all(fd, n, secret, &b), 0);
			assert_int_equal(b.len, 5 + n);
			assert_memory_equal(b.data, "kept:", 5);
			for (size_t i = 0; i < n; i++)
				assert_int_equal(b.data[5 + i],
				                 'a' + (int)(i % 26));
			assert_int_equal(b.data[b.len], '\0');
			close(fd);
			buf_free(&b);
			if (n == 0)
				continue;
			/* limit one short: refused, not cut */
			fd = file_with(n);
			errno = 0;
			assert_int_equal(fd_read_all(fd, n - 1, secret, &b),
			                 -1);
			assert_int_equal(errno, EFBIG);
			assert_true(b.len <= n);
			close(fd);
			buf_free(&b);
		}
	}
}

static void test_read_all_error(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	errno = 0;
	assert_int_equal(fd_read_all(-1, 100, false, &b), -1);
	assert_int_equal(errno, EBADF);
	buf_free(&b);
	assert_int_equal(fd_write_all(-1, "x", 1), -1);
	assert_int_equal(errno, EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_all_limit),
		cmocka_unit_test(test_read_all_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
