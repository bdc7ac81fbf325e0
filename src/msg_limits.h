/* msg_limits.h - the limits of a message, each documented in outbox(1).
 *
 * Apart from the other message headers so that the spool, the reader and
 * the line-limit code can share them without depending on each other. */
#ifndef OUTBOX_MSG_LIMITS_H
#define OUTBOX_MSG_LIMITS_H

#define MSG_SPOOL_THRESHOLD (256 * 1024) /* body bytes kept in memory */
#define MSG_MAX_LINE 998                  /* RFC 5322 2.1.1, without CRLF */
#define MSG_MAX_HEADER_BLOCK (1024 * 1024)  /* refuse larger header blocks */

#endif
