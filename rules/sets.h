/* The elements of camgate's dynamic sets, read back from the kernel: every
 * blocked attempt (violations4/6: source . destination . protocol . port with
 * the kernel's own packet counter per element) and every temporary hole
 * (allow4/6: camera . peer, with the time it has left). Reads block for the
 * length of one netlink dump; the daemon runs them in a worker thread. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  int family;                 /* AF_INET or AF_INET6 */
  guint8 src[16];             /* 4 or 16 bytes used, network order */
  guint8 dst[16];
  guint8 proto;               /* IPPROTO_* */
  guint16 dport;              /* host order; 0 for protocols without ports */
  guint64 packets;            /* counted by the kernel since the element was created */
  guint64 idle_ms;            /* since its last packet */
} CgViolationRecord;

typedef struct {
  int family;
  guint8 camera[16];
  guint8 peer[16];
  guint64 expires_ms;         /* left before the kernel removes it */
} CgHoleRecord;

/* Parses one element key of violations4 (16 bytes) or violations6 (40 bytes)
 * into @out's addresses, protocol and port. */
gboolean cg_violation_key_parse (const guint8 *key, gsize len, CgViolationRecord *out);

/* The elements of violations4/6 in every table named camgate (inet, and
 * bridge where there is one). transfer full: element-type CgViolationRecord */
GArray *cg_nft_read_violations (GError **error);

/* The elements of allow4/6 in table inet camgate. transfer full:
 * element-type CgHoleRecord */
GArray *cg_nft_read_holes (GError **error);

G_END_DECLS
