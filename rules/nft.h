/* nftables over netlink: applies a ruleset batch (rules/ruleset.h) as one
 * atomic transaction, reading every answer, and lists what camgate has
 * installed. Needs CAP_NET_ADMIN in the network namespace it runs in. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

struct mnl_socket;
struct nlmsghdr;

/* A netlink socket bound to the netfilter subsystem, or NULL with @error
 * saying why (root is needed). transfer full: mnl_socket_close() */
struct mnl_socket *cg_nft_socket_open (GError **error);

/* Starts a netfilter netlink request in @buf (at least MNL_SOCKET_BUFFER_SIZE):
 * the header for @type of subsystem @subsys (NFNL_SUBSYS_*), then nfgenmsg
 * with @family and @res_id (in network order). Returns it for attributes. */
struct nlmsghdr *cg_nfnl_put_header (char *buf, guint8 subsys, guint8 type, guint16 flags,
                                     guint8 family, guint16 res_id, guint32 seq);

/* Sends @batch and reads the kernel's answer to every message. The kernel
 * commits all or nothing: on failure nothing changed, and @error names the
 * object that was refused ("set violations4: Operation not supported"). */
gboolean cg_nft_apply (GBytes *batch, GError **error);

/* @exists: whether table camgate of @family (NFPROTO_INET, NFPROTO_BRIDGE)
 * is in the kernel (never on a kernel without that family). FALSE with
 * @error only if the kernel could not be asked. */
gboolean cg_nft_table_exists (guint8 family, gboolean *exists, GError **error);

/* Camgate's tables, inet then bridge: counters with their packets and bytes
 * (each camera's blocked packets), set names, chains, and rules in libnftnl's
 * notation (`nft list table inet camgate`, `nft list table bridge camgate`
 * show them in nft syntax). transfer full */
char *cg_nft_show (GError **error);

G_END_DECLS
