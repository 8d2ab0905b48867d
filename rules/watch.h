/* Watching camgate's tables: a netlink subscription to nftables change
 * events, read from the GLib main loop, that calls back when a transaction
 * committed by another process touched table inet or bridge camgate (a
 * `nft flush ruleset`, `systemctl restart nftables`, `fw4 flush`). The
 * daemon restores its ruleset from that callback (gateway/isolation.c).
 * Packets updating camgate's dynamic sets and elements timing out are no
 * transactions and do not call back. Needs CAP_NET_ADMIN in its namespace. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _CgWatch CgWatch;

/* @what says what happened and who did it, ready for the log: "table inet
 * camgate was deleted by nft (pid 1234)", or, when the kernel had to drop
 * events because camgate read too slowly, "events about table camgate were
 * lost (receive buffer overrun)": then it may or may not have changed. */
typedef void (*CgWatchFunc) (const char *what, gpointer user_data);

/* Subscribes in the calling thread's network namespace and attaches to the
 * thread-default main context. NULL with @error if the kernel refuses the
 * subscription. transfer full */
CgWatch *cg_watch_new (CgWatchFunc func, gpointer user_data, GError **error);
void cg_watch_free (CgWatch *watch);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgWatch, cg_watch_free)

G_END_DECLS
