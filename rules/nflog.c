/* The NFLOG listener (see nflog.h). One nfnetlink_log socket bound to the
 * ruleset's group, copying only the first bytes of each packet (headers are
 * all it needs), read non-blocking from the GLib main loop. */
#define G_LOG_DOMAIN "camgate-rules"

#include "nflog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include <glib-unix.h>
#include <libmnl/libmnl.h>
#include <linux/if_ether.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <netinet/in.h>

#include "error.h"
#include "nft.h"

#define DEFAULT_COPY_RANGE 128          /* IPv6 + a few extension headers + ports */
#define DEFAULT_RCVBUF (256 * 1024)
#define ANSWER_TIMEOUT_MS 2000
#define MAX_EXTENSION_HEADERS 8

struct _CgNflog {
  struct mnl_socket *nl;
  guint16 group;
  guint watch_id;
  CgNflogFunc func;
  gpointer user_data;
};

/* ---- parsing (pure) -------------------------------------------------------- */

static gboolean
fail (GError **error, const char *what)
{
  g_set_error (error, CG_ERROR, CG_ERROR_PROTOCOL, "malformed packet in NFLOG: %s", what);
  return FALSE;
}

static gboolean
has_ports (guint8 proto)
{
  return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE ||
         proto == IPPROTO_SCTP || proto == IPPROTO_DCCP;
}

/* The destination port of the transport header at @l4, if it has one and it
 * was copied. A fragment after the first has no transport header: port 0. */
static void
read_port (const guint8 *l4, gsize left, gboolean first_fragment, CgNflogPacket *out)
{
  out->dport = 0;
  if (first_fragment && has_ports (out->proto) && left >= 4)
    out->dport = (guint16) ((l4[2] << 8) | l4[3]);
}

static gboolean
parse_ipv4 (const guint8 *p, gsize len, CgNflogPacket *out, GError **error)
{
  gsize ihl;
  guint16 frag;

  if (len < 20)
    return fail (error, "IPv4 header shorter than 20 bytes");
  ihl = (gsize) (p[0] & 0x0f) * 4;
  if (ihl < 20)
    return fail (error, "IPv4 header length below 20 bytes");
  out->family = AF_INET;
  memset (out->src, 0, sizeof out->src);
  memset (out->dst, 0, sizeof out->dst);
  memcpy (out->src, p + 12, 4);
  memcpy (out->dst, p + 16, 4);
  out->proto = p[9];
  frag = (guint16) (((p[6] << 8) | p[7]) & 0x1fff);
  read_port (p + MIN (ihl, len), len - MIN (ihl, len), frag == 0, out);
  return TRUE;
}

static gboolean
is_extension_header (guint8 next)
{
  return next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING || next == IPPROTO_DSTOPTS ||
         next == IPPROTO_FRAGMENT;
}

static gboolean
parse_ipv6 (const guint8 *p, gsize len, CgNflogPacket *out, GError **error)
{
  guint8 next;
  gsize off = 40;
  gboolean first_fragment = TRUE;

  if (len < 40)
    return fail (error, "IPv6 header shorter than 40 bytes");
  out->family = AF_INET6;
  memcpy (out->src, p + 8, 16);
  memcpy (out->dst, p + 24, 16);
  next = p[6];
  /* Walk the extension headers that were copied; stop where the copy ends. */
  for (guint i = 0; i < MAX_EXTENSION_HEADERS && is_extension_header (next); i++) {
    if (off + 8 > len) {
      out->proto = next;
      out->dport = 0;
      return TRUE;
    }
    if (next == IPPROTO_FRAGMENT) {
      first_fragment = (((p[off + 2] << 8) | p[off + 3]) & 0xfff8) == 0;
      next = p[off];
      off += 8;
    } else {
      guint8 following = p[off];
      off += ((gsize) p[off + 1] + 1) * 8;
      next = following;
    }
  }
  out->proto = next;
  read_port (p + MIN (off, len), len - MIN (off, len), first_fragment, out);
  return TRUE;
}

gboolean
cg_packet_parse (guint16 ethertype, const guint8 *data, gsize len, CgNflogPacket *out,
                 GError **error)
{
  guint version;

  if (len < 1)
    return fail (error, "no payload");
  version = data[0] >> 4;
  if (ethertype == ETH_P_IP || (ethertype == 0 && version == 4)) {
    if (version != 4)
      return fail (error, "IPv4 packet with another version number");
    return parse_ipv4 (data, len, out, error);
  }
  if (ethertype == ETH_P_IPV6 || (ethertype == 0 && version == 6)) {
    if (version != 6)
      return fail (error, "IPv6 packet with another version number");
    return parse_ipv6 (data, len, out, error);
  }
  g_set_error (error, CG_ERROR, CG_ERROR_PROTOCOL,
               "packet in NFLOG is neither IPv4 nor IPv6 (ethertype 0x%04x)", ethertype);
  return FALSE;
}

static int
collect_attr (const struct nlattr *attr, void *data)
{
  const struct nlattr **tb = data;
  int type = mnl_attr_get_type (attr);

  if (mnl_attr_type_valid (attr, NFULA_MAX) > 0)
    tb[type] = attr;
  return MNL_CB_OK;
}

gboolean
cg_nflog_parse (const void *msg, gsize len, CgNflogPacket *out, GError **error)
{
  const struct nlmsghdr *nlh = msg;
  const struct nlattr *tb[NFULA_MAX + 1] = { NULL };
  guint16 ethertype = 0;

  if (len > G_MAXINT || !mnl_nlmsg_ok (nlh, (int) len))
    return fail (error, "truncated netlink message");
  if (NFNL_SUBSYS_ID (nlh->nlmsg_type) != NFNL_SUBSYS_ULOG ||
      NFNL_MSG_TYPE (nlh->nlmsg_type) != NFULNL_MSG_PACKET)
    return fail (error, "not an NFLOG packet message");
  if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN (sizeof (struct nfgenmsg)) ||
      mnl_attr_parse (nlh, sizeof (struct nfgenmsg), collect_attr, tb) < 0)
    return fail (error, "malformed attributes");
  memset (out, 0, sizeof *out);
  if (tb[NFULA_PACKET_HDR] &&
      mnl_attr_get_payload_len (tb[NFULA_PACKET_HDR]) >= sizeof (struct nfulnl_msg_packet_hdr)) {
    const struct nfulnl_msg_packet_hdr *ph = mnl_attr_get_payload (tb[NFULA_PACKET_HDR]);
    ethertype = ntohs (ph->hw_protocol);
  }
  if (tb[NFULA_HWADDR] &&
      mnl_attr_get_payload_len (tb[NFULA_HWADDR]) >= sizeof (struct nfulnl_msg_packet_hw)) {
    const struct nfulnl_msg_packet_hw *hw = mnl_attr_get_payload (tb[NFULA_HWADDR]);
    if (ntohs (hw->hw_addrlen) == sizeof out->mac) {
      memcpy (out->mac, hw->hw_addr, sizeof out->mac);
      out->has_mac = TRUE;
    }
  }
  if (tb[NFULA_IFINDEX_INDEV] && mnl_attr_get_payload_len (tb[NFULA_IFINDEX_INDEV]) >= 4)
    out->indev = ntohl (mnl_attr_get_u32 (tb[NFULA_IFINDEX_INDEV]));
  if (!tb[NFULA_PAYLOAD])
    return fail (error, "no payload (is the group's copy mode \"packet\"?)");
  return cg_packet_parse (ethertype, mnl_attr_get_payload (tb[NFULA_PAYLOAD]),
                          mnl_attr_get_payload_len (tb[NFULA_PAYLOAD]), out, error);
}

/* ---- the socket ------------------------------------------------------------ */

static int
skip_packet (const struct nlmsghdr *nlh, void *data)
{
  (void) nlh;
  (void) data;
  return MNL_CB_OK;
}

/* Sends one config message and waits for its ACK: 0 or an errno. */
static int
configure (struct mnl_socket *nl, struct nlmsghdr *nlh)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct pollfd pfd = { mnl_socket_get_fd (nl), POLLIN, 0 };
  guint32 seq = nlh->nlmsg_seq;
  ssize_t n;
  int ret = MNL_CB_OK;

  if (mnl_socket_sendto (nl, nlh, nlh->nlmsg_len) < 0)
    return errno;
  /* Packets logged meanwhile (sequence number 0) are skipped until the ACK. */
  while (ret > MNL_CB_STOP) {
    if (poll (&pfd, 1, ANSWER_TIMEOUT_MS) <= 0)
      return ETIMEDOUT;
    if ((n = mnl_socket_recvfrom (nl, buf, sizeof buf)) < 0)
      return errno;
    if ((ret = mnl_cb_run (buf, n, seq, mnl_socket_get_portid (nl), skip_packet, NULL)) < 0)
      return errno;
  }
  return 0;
}

static gboolean
bind_group (struct mnl_socket *nl, guint16 group, GError **error)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh;
  struct nfulnl_msg_config_cmd cmd = { NFULNL_CFG_CMD_BIND };
  struct nfulnl_msg_config_mode mode;
  guint32 seq = (guint32) g_get_monotonic_time ();
  int err;

  nlh = cg_nfnl_put_header (buf, NFNL_SUBSYS_ULOG, NFULNL_MSG_CONFIG, NLM_F_ACK, AF_UNSPEC,
                            htons (group), seq);
  mnl_attr_put (nlh, NFULA_CFG_CMD, sizeof cmd, &cmd);
  if ((err = configure (nl, nlh)) != 0) {
    g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot bind NFLOG group %u: %s%s", group,
                 g_strerror (err), err == EBUSY
                 ? " (another process, ulogd or another camgate, listens on it)" : "");
    return FALSE;
  }
  memset (&mode, 0, sizeof mode);     /* its padding goes out too */
  mode.copy_range = htonl (DEFAULT_COPY_RANGE);
  mode.copy_mode = NFULNL_COPY_PACKET;
  nlh = cg_nfnl_put_header (buf, NFNL_SUBSYS_ULOG, NFULNL_MSG_CONFIG, NLM_F_ACK, AF_UNSPEC,
                            htons (group), seq + 1);
  mnl_attr_put (nlh, NFULA_CFG_MODE, sizeof mode, &mode);
  if ((err = configure (nl, nlh)) != 0) {
    g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot set the copy mode of NFLOG group %u: %s",
                 group, g_strerror (err));
    return FALSE;
  }
  return TRUE;
}

static gboolean
on_readable (int fd, GIOCondition condition, gpointer data)
{
  CgNflog *nflog = data;
  char buf[MNL_SOCKET_BUFFER_SIZE];
  ssize_t n;

  (void) fd;
  (void) condition;
  while ((n = recv (mnl_socket_get_fd (nflog->nl), buf, sizeof buf, MSG_DONTWAIT)) != 0) {
    if (n < 0) {
      if (errno == ENOBUFS) {
        nflog->func (NULL, nflog->user_data);
        continue;
      }
      if (errno != EAGAIN && errno != EINTR)
        g_warning ("NFLOG group %u: %s", nflog->group, g_strerror (errno));
      break;
    }
    const struct nlmsghdr *nlh = (const struct nlmsghdr *) buf;
    int left = (int) n;
    for (; mnl_nlmsg_ok (nlh, left); nlh = mnl_nlmsg_next (nlh, &left)) {
      CgNflogPacket packet;
      g_autoptr (GError) error = NULL;

      if (nlh->nlmsg_type == NLMSG_ERROR || nlh->nlmsg_type == NLMSG_DONE)
        continue;
      if (cg_nflog_parse (nlh, nlh->nlmsg_len, &packet, &error))
        nflog->func (&packet, nflog->user_data);
      else
        g_debug ("NFLOG group %u: %s", nflog->group, error->message);
    }
  }
  return G_SOURCE_CONTINUE;
}

CgNflog *
cg_nflog_new (guint16 group, CgNflogFunc func, gpointer user_data, GError **error)
{
  g_autoptr (CgNflog) nflog = g_new0 (CgNflog, 1);
  int rcvbuf = DEFAULT_RCVBUF, fd;

  nflog->group = group;
  nflog->func = func;
  nflog->user_data = user_data;
  if (!(nflog->nl = cg_nft_socket_open (error)))
    return NULL;
  fd = mnl_socket_get_fd (nflog->nl);
  if (setsockopt (fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (!bind_group (nflog->nl, group, error))
    return NULL;
  nflog->watch_id = g_unix_fd_add (fd, G_IO_IN, on_readable, nflog);
  return g_steal_pointer (&nflog);
}

void
cg_nflog_free (CgNflog *nflog)
{
  if (!nflog)
    return;
  g_clear_handle_id (&nflog->watch_id, g_source_remove);
  /* Closing the socket unbinds the group. */
  if (nflog->nl)
    mnl_socket_close (nflog->nl);
  g_free (nflog);
}
