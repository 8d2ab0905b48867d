/* NFLOG: the ruleset's violation chain logs (rate-limited) to one nfnetlink_log
 * group; this listener tells the daemon that a camera just tried something,
 * and which MAC address it came from. Exact counts are not taken from here but
 * from the kernel's violation sets (rules/sets.h): NFLOG only wakes the reader.
 *
 * Parsing is pure (cg_nflog_parse, cg_packet_parse), so unit tests and the
 * fuzzer feed it bytes without root. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  int family;                 /* AF_INET or AF_INET6 */
  guint8 src[16];             /* 4 or 16 bytes used, network order */
  guint8 dst[16];
  guint8 proto;               /* IPPROTO_*, the transport after any IPv6 extension headers */
  guint16 dport;              /* TCP/UDP/SCTP/UDP-Lite destination port, host order; else 0 */
  gboolean has_mac;
  guint8 mac[6];              /* the sender's MAC, when the packet came in over Ethernet */
  guint32 indev;              /* ifindex it came in on, 0 if unknown */
} CgNflogPacket;

/* Parses an IPv4 or IPv6 packet from its network header (@ethertype is
 * ETH_P_IP or ETH_P_IPV6, or 0 to go by the version nibble). Fills the
 * address, protocol and port fields of @out. */
gboolean cg_packet_parse (guint16 ethertype, const guint8 *data, gsize len,
                          CgNflogPacket *out, GError **error);

/* Parses one netlink message from nfnetlink_log (NFULNL_MSG_PACKET), @len
 * bytes from its nlmsghdr. */
gboolean cg_nflog_parse (const void *msg, gsize len, CgNflogPacket *out, GError **error);

/* @packet is NULL when packets were lost (the socket overran): something
 * happened, but not what. */
typedef void (*CgNflogFunc) (const CgNflogPacket *packet, gpointer user_data);

typedef struct _CgNflog CgNflog;

/* Binds NFLOG @group in the current network namespace and calls @func from
 * the main loop for each packet logged there. Fails if the group is bound by
 * another process (another camgate, ulogd). transfer full */
CgNflog *cg_nflog_new (guint16 group, CgNflogFunc func, gpointer user_data, GError **error);
void cg_nflog_free (CgNflog *nflog);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgNflog, cg_nflog_free)

G_END_DECLS
