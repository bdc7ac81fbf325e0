/* cache_dir.c - see cache_dir.h. */
#include "cache_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "queue.h"
#include "runenv.h"

char *cache_dir_path(struct runenv *env, const char *system_subdir,
                     const char *user_subdir)
{
	struct buf b = BUF_INIT;
	if (geteuid() == 0) {
		struct stat st;
		if (stat(QUEUE_SYSTEM_DIR, &st) != 0 || !S_ISDIR(st.st_mode))
			return NULL;
		buf_printf(&b, "%s/%s", QUEUE_SYSTEM_DIR, system_subdir);
		return buf_steal(&b);
	}
	const char *cache = env ? runenv_cache_home(env) : NULL;
	if (!cache || *cache != '/')
		return NULL;
	buf_printf(&b, "%s/%s", cache, user_subdir);
	return buf_steal(&b);
}
