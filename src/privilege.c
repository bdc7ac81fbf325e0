/* privilege.c - the spool group; see privilege.h. */
#define _GNU_SOURCE /* setresgid(2) */
#include "privilege.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The group outbox was started with as effective group, when that was not
 * the caller's own; -1: none. Process-wide by nature (it mirrors the
 * kernel's saved set-group-ID), written once by privilege_init. */
static gid_t spool_gid = (gid_t)-1;

int privilege_init(struct err *e)
{
	gid_t real = getgid(), effective = getegid();
	if (real == effective)
		return EX_OK;
	/* Root can do all the group allows; keep nothing. Everyone else:
	 * effective back to their own, the spool group parked as saved. */
	bool root = getuid() == 0;
	if (setresgid(real, real, root ? real : effective) != 0)
		return err_set(e, EX_OSERR, "cannot drop the group privilege: "
		               "%s", strerror(errno));
	if (getegid() != real)
		return err_set(e, EX_OSERR, "cannot drop the group privilege");
	if (!root)
		spool_gid = effective;
	return EX_OK;
}

bool privilege_available(void)
{
	return spool_gid != (gid_t)-1;
}

int privilege_raise(struct err *e)
{
	if (!privilege_available())
		return EX_OK;
	if (setegid(spool_gid) != 0)
		return err_set(e, EX_OSERR, "cannot take the spool group: %s",
		               strerror(errno));
	return EX_OK;
}

void privilege_lower(void)
{
	if (!privilege_available())
		return;
	if (setegid(getgid()) != 0 || getegid() != getgid()) {
		fputs("outbox: cannot give up the spool group; stopping\n",
		      stderr);
		abort();
	}
}
