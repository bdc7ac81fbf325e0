/* tmpfile.h - a temporary file that never has a name. */
#ifndef OUTBOX_TMPFILE_H
#define OUTBOX_TMPFILE_H

#include "err.h"

/* Open a new, empty file for reading and writing in $TMPDIR (or /tmp)
 * that no directory entry points to, so a crash (even kill -9) at any
 * moment leaves nothing behind; it disappears with its last descriptor.
 * *fd is close-on-exec. what names the contents in the error message:
 * EX_IOERR (naming the directory, suggesting TMPDIR) or EX_OSERR. */
int tmpfile_unnamed(int *fd, const char *what, struct err *e);

#endif
