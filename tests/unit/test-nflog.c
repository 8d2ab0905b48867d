/* NFLOG parsing: messages built the way nfnetlink_log sends them are read
 * back field by field; malformed ones give an error naming what is wrong;
 * random corruption of valid messages never reads out of bounds (run under
 * ASan/valgrind by tests/run). */
#include "nflog.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/if_ether.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <netinet/in.h>

#define FUZZ_ROUNDS 20000

static const guint8 mac[6] = { 0x02, 0x00, 0x0a, 0x14, 0x00, 0x0b };

/* An IPv4 TCP SYN 10.20.0.11:40000 -> 203.0.113.9:@dport. */
static gsize
ipv4_tcp (guint8 *p, guint16 dport)
{
  memset (p, 0, 40);
  p[0] = 0x45;
  p[3] = 40;
  p[8] = 64;
  p[9] = IPPROTO_TCP;
  memcpy (p + 12, (guint8[]) { 10, 20, 0, 11 }, 4);
  memcpy (p + 16, (guint8[]) { 203, 0, 113, 9 }, 4);
  p[20] = 40000 >> 8;
  p[21] = 40000 & 0xff;
  p[22] = dport >> 8;
  p[23] = dport & 0xff;
  p[33] = 0x02;                       /* SYN */
  return 40;
}

/* An IPv6 packet fd00::b -> 2001:db8::53 with a hop-by-hop header, a
 * fragment header (offset @frag_offset) and UDP to port 53. */
static gsize
ipv6_udp (guint8 *p, guint16 frag_offset)
{
  memset (p, 0, 72);
  p[0] = 0x60;
  p[6] = IPPROTO_HOPOPTS;
  p[7] = 64;
  p[8] = 0xfd;
  p[23] = 0x0b;
  memcpy (p + 24, (guint8[]) { 0x20, 0x01, 0x0d, 0xb8 }, 4);
  p[39] = 0x53;
  p[40] = IPPROTO_FRAGMENT;           /* hop-by-hop: 8 bytes */
  p[41] = 0;
  p[48] = IPPROTO_UDP;                /* fragment header */
  p[50] = frag_offset >> 8;
  p[51] = (frag_offset & 0xf8) | 1;
  p[56] = 0x9c;                       /* UDP: 40000 -> 53 */
  p[57] = 0x40;
  p[59] = 53;
  return 64;
}

/* An NFLOG packet message around @payload. Returns its length. */
static gsize
nflog_message (guint8 *buf, guint16 ethertype, const guint8 *payload, gsize len,
               gboolean with_mac)
{
  struct nlmsghdr *nlh = mnl_nlmsg_put_header (buf);
  struct nfgenmsg *nfg;
  struct nfulnl_msg_packet_hdr ph = { htons (ethertype), NF_INET_FORWARD, 0 };
  struct nfulnl_msg_packet_hw hw = { htons (6), 0, { 0 } };

  nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
  nfg = mnl_nlmsg_put_extra_header (nlh, sizeof *nfg);
  nfg->nfgen_family = AF_INET;
  nfg->res_id = htons (8423);
  mnl_attr_put (nlh, NFULA_PACKET_HDR, sizeof ph, &ph);
  mnl_attr_put_strz (nlh, NFULA_PREFIX, "camgate");
  mnl_attr_put_u32 (nlh, NFULA_IFINDEX_INDEV, htonl (7));
  if (with_mac) {
    memcpy (hw.hw_addr, mac, sizeof mac);
    mnl_attr_put (nlh, NFULA_HWADDR, sizeof hw, &hw);
  }
  mnl_attr_put (nlh, NFULA_PAYLOAD, len, payload);
  return nlh->nlmsg_len;
}

static void
test_ipv4_tcp (void)
{
  guint8 pkt[64], buf[512];
  gsize len = nflog_message (buf, ETH_P_IP, pkt, ipv4_tcp (pkt, 2323), TRUE);
  CgNflogPacket p;
  g_autoptr (GError) error = NULL;

  g_assert_true (cg_nflog_parse (buf, len, &p, &error));
  g_assert_no_error (error);
  g_assert_cmpint (p.family, ==, AF_INET);
  g_assert_cmpmem (p.src, 4, ((guint8[]) { 10, 20, 0, 11 }), 4);
  g_assert_cmpmem (p.dst, 4, ((guint8[]) { 203, 0, 113, 9 }), 4);
  g_assert_cmpuint (p.proto, ==, IPPROTO_TCP);
  g_assert_cmpuint (p.dport, ==, 2323);
  g_assert_true (p.has_mac);
  g_assert_cmpmem (p.mac, 6, mac, 6);
  g_assert_cmpuint (p.indev, ==, 7);
}

static void
test_ipv6_extension_headers (void)
{
  guint8 pkt[80], buf[512];
  gsize len = nflog_message (buf, ETH_P_IPV6, pkt, ipv6_udp (pkt, 0), FALSE);
  CgNflogPacket p;
  g_autoptr (GError) error = NULL;

  g_assert_true (cg_nflog_parse (buf, len, &p, &error));
  g_assert_cmpint (p.family, ==, AF_INET6);
  g_assert_cmpuint (p.src[0], ==, 0xfd);
  g_assert_cmpuint (p.dst[15], ==, 0x53);
  g_assert_cmpuint (p.proto, ==, IPPROTO_UDP);
  g_assert_cmpuint (p.dport, ==, 53);
  g_assert_false (p.has_mac);

  /* A later fragment carries no UDP header: no port. */
  len = nflog_message (buf, ETH_P_IPV6, pkt, ipv6_udp (pkt, 1480), FALSE);
  g_assert_true (cg_nflog_parse (buf, len, &p, &error));
  g_assert_cmpuint (p.proto, ==, IPPROTO_UDP);
  g_assert_cmpuint (p.dport, ==, 0);
}

static void
test_version_nibble (void)
{
  guint8 pkt[64];
  CgNflogPacket p;
  g_autoptr (GError) error = NULL;

  /* Without an ethertype (0), the version nibble decides. */
  g_assert_true (cg_packet_parse (0, pkt, ipv4_tcp (pkt, 23), &p, &error));
  g_assert_cmpuint (p.dport, ==, 23);
  /* A copy cut inside the TCP header still has the addresses. */
  g_assert_true (cg_packet_parse (ETH_P_IP, pkt, 22, &p, &error));
  g_assert_cmpuint (p.proto, ==, IPPROTO_TCP);
  g_assert_cmpuint (p.dport, ==, 0);
}

static void
expect_error (const guint8 *msg, gsize len, const char *fragment)
{
  CgNflogPacket p;
  g_autoptr (GError) error = NULL;

  g_assert_false (cg_nflog_parse (msg, len, &p, &error));
  g_assert_nonnull (error);
  if (!strstr (error->message, fragment))
    g_error ("\"%s\" does not say \"%s\"", error->message, fragment);
}

static void
test_malformed (void)
{
  guint8 pkt[80], buf[512];
  gsize len;

  len = nflog_message (buf, ETH_P_IP, pkt, (ipv4_tcp (pkt, 23), 12), FALSE);
  expect_error (buf, len, "IPv4 header shorter than 20 bytes");
  pkt[0] = 0x42;
  len = nflog_message (buf, ETH_P_IP, pkt, 40, FALSE);
  expect_error (buf, len, "header length below 20");
  len = nflog_message (buf, ETH_P_IPV6, pkt, (ipv6_udp (pkt, 0), 30), FALSE);
  expect_error (buf, len, "IPv6 header shorter than 40 bytes");
  len = nflog_message (buf, ETH_P_ARP, pkt, 28, FALSE);
  expect_error (buf, len, "neither IPv4 nor IPv6 (ethertype 0x0806)");
  len = nflog_message (buf, ETH_P_IP, pkt, ipv4_tcp (pkt, 23), FALSE);
  expect_error (buf, len - 8, "truncated netlink message");
  ((struct nlmsghdr *) buf)->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
  expect_error (buf, len, "not an NFLOG packet message");
}

/* Random corruption of valid messages: every outcome is a parse or an error. */
static void
test_fuzz (void)
{
  guint8 pkt[80], good[512], buf[512];
  gsize lens[2];
  guint8 *copies[2];
  guint8 copy4[512], copy6[512];

  lens[0] = nflog_message (copy4, ETH_P_IP, pkt, ipv4_tcp (pkt, 23), TRUE);
  lens[1] = nflog_message (copy6, ETH_P_IPV6, pkt, ipv6_udp (pkt, 0), TRUE);
  copies[0] = copy4;
  copies[1] = copy6;
  for (guint round = 0; round < FUZZ_ROUNDS; round++) {
    guint which = round % 2, flips = g_test_rand_int_range (1, 8);
    gsize len = lens[which];
    CgNflogPacket p;
    GError *error = NULL;
    g_autofree guint8 *exact = NULL;

    memcpy (good, copies[which], len);
    for (guint i = 0; i < flips; i++)
      good[g_test_rand_int_range (0, (gint32) len)] = (guint8) g_test_rand_int_range (0, 256);
    if (g_test_rand_bit ())
      len = g_test_rand_int_range (0, (gint32) len + 1);
    /* An exact-size heap copy, so reading past the end is caught. */
    memcpy (buf, good, len);
    exact = g_memdup2 (buf, len);
    if (!cg_nflog_parse (exact, len, &p, &error)) {
      g_assert_nonnull (error);
      g_clear_error (&error);
    }
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/nflog/ipv4-tcp", test_ipv4_tcp);
  g_test_add_func ("/nflog/ipv6-extension-headers", test_ipv6_extension_headers);
  g_test_add_func ("/nflog/version-nibble", test_version_nibble);
  g_test_add_func ("/nflog/malformed", test_malformed);
  g_test_add_func ("/nflog/fuzz", test_fuzz);
  return g_test_run ();
}
