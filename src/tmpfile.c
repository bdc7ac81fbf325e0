/* tmpfile.c - see tmpfile.h. */
/* O_TMPFILE is Linux-specific: glibc declares it for _GNU_SOURCE only. */
#define _GNU_SOURCE
#include "tmpfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"

/* O_TMPFILE makes an inode that no directory entry points to, and O_EXCL
 * keeps linkat(2) from ever giving it one. File systems without O_TMPFILE
 * (EOPNOTSUPP; EISDIR or EINVAL from kernels before 3.11, which do not
 * know the flag) get mkstemp with the name unlinked at once: a window of
 * two system calls instead of none. */
int tmpfile_unnamed(int *fd_out, const char *what, struct err *e)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	int fd = -1;
#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && errno != EOPNOTSUPP && errno != EISDIR &&
	    errno != EINVAL)
		return err_set(e, EX_IOERR,
		               "cannot create a temporary file in %s for "
		               "%s: %s (set TMPDIR)", dir, what,
		               strerror(errno));
#endif
	if (fd < 0) {
		struct buf path = BUF_INIT;
		buf_printf(&path, "%s/outbox-body-XXXXXX", dir);
		fd = mkstemp(path.data);
		int saved = errno;
		if (fd >= 0)
			unlink(path.data);
		buf_free(&path);
		if (fd < 0)
			return err_set(e, EX_IOERR,
			               "cannot create a temporary file in %s "
			               "for %s: %s (set TMPDIR)", dir, what,
			               strerror(saved));
		/* No other thread can fork between mkstemp and this. */
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
			saved = errno;
			close(fd);
			return err_set(e, EX_OSERR,
			               "fcntl on a temporary file: %s",
			               strerror(saved));
		}
	}
	*fd_out = fd;
	return EX_OK;
}
