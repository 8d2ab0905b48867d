/* Cutting the cameras' connections (see conntrack.h).
 *
 * One ctnetlink dump of every entry (IPv4 and IPv6), judged on its
 * addresses; then, for each entry to cut, IPCTNL_MSG_CT_DELETE with the
 * entry's original tuple and zone exactly as the dump gave them, and its id,
 * so that an entry created in between under the same tuple is left alone.
 * The addresses come from getifaddrs(): the camera segment is what the
 * gateway's own addresses on the camera interfaces say it is. */
#define G_LOG_DOMAIN "camgate-rules"

#include "conntrack.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "error.h"
#include "nft.h"

/* The kernel fills a dump answer up to 32 KiB: room for it, not truncated. */
#define DUMP_BUFFER_BYTES (32 * 1024)

typedef struct {
  int family;                   /* AF_INET or AF_INET6 */
  guint8 addr[16];
  guint bits;                   /* prefix length */
} Prefix;

/* An entry to delete: what IPCTNL_MSG_CT_DELETE needs to find it. */
typedef struct {
  guint8 family;
  GBytes *tuple;                /* the CTA_TUPLE_ORIG attribute, header included */
  gboolean has_zone;
  guint16 zone_be;
  gboolean has_id;
  guint32 id_be;
} Doomed;

typedef struct {
  GArray *camera_side;          /* element-type Prefix */
  GArray *local;                /* element-type Prefix, full length */
  GArray *doomed;               /* element-type Doomed */
} Cut;

static void
doomed_clear (gpointer data)
{
  g_bytes_unref (((Doomed *) data)->tuple);
}

static guint
address_length (int family)
{
  return family == AF_INET ? 4 : 16;
}

static gboolean
prefix_contains (const Prefix *p, int family, const guint8 *addr)
{
  guint full = p->bits / 8, rest = p->bits % 8;

  if (p->family != family || memcmp (p->addr, addr, full) != 0)
    return FALSE;
  return rest == 0 || ((p->addr[full] ^ addr[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static gboolean
any_contains (GArray *prefixes, int family, const guint8 *addr)
{
  for (guint i = 0; i < prefixes->len; i++)
    if (prefix_contains (&g_array_index (prefixes, Prefix, i), family, addr))
      return TRUE;
  return FALSE;
}

/* @sa's address into @p with @bits; FALSE for another family. */
static gboolean
prefix_from_sockaddr (Prefix *p, const struct sockaddr *sa, guint bits)
{
  if (!sa || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
    return FALSE;
  p->family = sa->sa_family;
  if (p->family == AF_INET)
    memcpy (p->addr, &((const struct sockaddr_in *) sa)->sin_addr, 4);
  else
    memcpy (p->addr, &((const struct sockaddr_in6 *) sa)->sin6_addr, 16);
  p->bits = MIN (bits, address_length (p->family) * 8);
  return TRUE;
}

static guint
netmask_bits (const struct sockaddr *mask)
{
  Prefix m;
  guint bits = 0;

  if (!prefix_from_sockaddr (&m, mask, 128))
    return 128;
  for (guint i = 0; i < address_length (m.family); i++)
    for (guint8 b = m.addr[i]; b & 0x80; b <<= 1)
      bits++;
  return bits;
}

/* The gateway's addresses, and the subnets of those on camera interfaces. */
static gboolean
collect_prefixes (const CgRulesSpec *spec, Cut *cut, GError **error)
{
  struct ifaddrs *list, *ifa;
  Prefix p;

  if (getifaddrs (&list) < 0) {
    g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot list the gateway's addresses: %s",
                 g_strerror (errno));
    return FALSE;
  }
  for (ifa = list; ifa; ifa = ifa->ifa_next) {
    if (!prefix_from_sockaddr (&p, ifa->ifa_addr, 128))
      continue;
    g_array_append_val (cut->local, p);
    if (!g_strv_contains ((const char *const *) spec->interfaces, ifa->ifa_name))
      continue;
    /* fe80::/64 is on every link: it says nothing about this one. */
    if (p.family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL ((struct in6_addr *) p.addr))
      continue;
    p.bits = MIN (p.bits, netmask_bits (ifa->ifa_netmask));
    g_array_append_val (cut->camera_side, p);
  }
  freeifaddrs (list);
  for (guint i = 0; i < spec->cameras->len; i++) {
    const CgRulesCamera *cam = g_ptr_array_index (spec->cameras, i);

    p.family = g_inet_address_get_family (cam->address) == G_SOCKET_FAMILY_IPV4 ? AF_INET : AF_INET6;
    p.bits = address_length (p.family) * 8;
    memcpy (p.addr, g_inet_address_to_bytes (cam->address), address_length (p.family));
    g_array_append_val (cut->camera_side, p);
  }
  return TRUE;
}

/* A tuple's source and destination (CTA_TUPLE_IP) into @src, @dst. */
static gboolean
tuple_addresses (const struct nlattr *tuple, int *family, const guint8 **src, const guint8 **dst)
{
  const struct nlattr *ip, *a;

  mnl_attr_for_each_nested (ip, tuple) {
    if (mnl_attr_get_type (ip) != CTA_TUPLE_IP)
      continue;
    *src = *dst = NULL;
    mnl_attr_for_each_nested (a, ip) {
      guint16 type = mnl_attr_get_type (a);
      gboolean v4 = type == CTA_IP_V4_SRC || type == CTA_IP_V4_DST;

      if (!v4 && type != CTA_IP_V6_SRC && type != CTA_IP_V6_DST)
        continue;
      if (mnl_attr_get_payload_len (a) != (v4 ? 4u : 16u))
        return FALSE;
      *family = v4 ? AF_INET : AF_INET6;
      if (type == CTA_IP_V4_SRC || type == CTA_IP_V6_SRC)
        *src = mnl_attr_get_payload (a);
      else
        *dst = mnl_attr_get_payload (a);
    }
    return *src && *dst;
  }
  return FALSE;
}

static gboolean
is_camera_side (Cut *cut, int family, const guint8 *addr)
{
  return any_contains (cut->camera_side, family, addr) && !any_contains (cut->local, family, addr);
}

static int
on_entry (const struct nlmsghdr *nlh, void *data)
{
  Cut *cut = data;
  const struct nfgenmsg *nfg = mnl_nlmsg_get_payload (nlh);
  const struct nlattr *attr, *orig = NULL, *reply = NULL;
  Doomed d = { nfg->nfgen_family, NULL, FALSE, 0, FALSE, 0 };
  const guint8 *os, *od, *rs = NULL, *rd = NULL;
  int family = 0, rfamily = 0;

  mnl_attr_for_each (attr, nlh, sizeof *nfg) {
    switch (mnl_attr_get_type (attr)) {
    case CTA_TUPLE_ORIG:
      orig = attr;
      break;
    case CTA_TUPLE_REPLY:
      reply = attr;
      break;
    case CTA_ZONE:
      d.has_zone = mnl_attr_validate (attr, MNL_TYPE_U16) >= 0;
      d.zone_be = d.has_zone ? mnl_attr_get_u16 (attr) : 0;
      break;
    case CTA_ID:
      d.has_id = mnl_attr_validate (attr, MNL_TYPE_U32) >= 0;
      d.id_be = d.has_id ? mnl_attr_get_u32 (attr) : 0;
      break;
    }
  }
  if (!orig || !tuple_addresses (orig, &family, &os, &od))
    return MNL_CB_OK;
  if (reply && !tuple_addresses (reply, &rfamily, &rs, &rd))
    rs = rd = NULL;
  /* The gateway's own flows stay: camgate's pulls from the cameras. */
  if (any_contains (cut->local, family, os))
    return MNL_CB_OK;
  if (!is_camera_side (cut, family, os) && !is_camera_side (cut, family, od) &&
      !(rs && is_camera_side (cut, rfamily, rs)) && !(rd && is_camera_side (cut, rfamily, rd)))
    return MNL_CB_OK;
  d.tuple = g_bytes_new (orig, orig->nla_len);
  g_array_append_val (cut->doomed, d);
  return MNL_CB_OK;
}

/* Sends @nlh and runs @cb on the answers until the kernel is done. 0 or an errno. */
static int
request (struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb, gpointer data)
{
  char buf[DUMP_BUFFER_BYTES];
  guint32 seq = nlh->nlmsg_seq, portid = mnl_socket_get_portid (nl);
  int ret;

  if (mnl_socket_sendto (nl, nlh, nlh->nlmsg_len) < 0)
    return errno;
  do {
    ret = mnl_socket_recvfrom (nl, buf, sizeof buf);
    if (ret < 0 && errno == EINTR)
      continue;
    if (ret <= 0)
      return ret < 0 ? errno : EPIPE;
    ret = mnl_cb_run (buf, ret, seq, portid, cb, data);
  } while (ret > 0);
  return ret < 0 ? errno : 0;
}

/* 0, ENOENT if the entry went by itself meanwhile, or another errno. */
static int
delete_entry (struct mnl_socket *nl, const Doomed *d, guint32 seq)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = cg_nfnl_put_header (buf, NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_DELETE,
                                                  NLM_F_ACK, d->family, 0, seq);
  gsize len;
  const void *tuple = g_bytes_get_data (d->tuple, &len);

  if (len > sizeof buf - nlh->nlmsg_len - 64)
    return EMSGSIZE;
  memset (mnl_nlmsg_get_payload_tail (nlh), 0, MNL_ALIGN (len));
  memcpy (mnl_nlmsg_get_payload_tail (nlh), tuple, len);
  nlh->nlmsg_len += MNL_ALIGN (len);
  if (d->has_zone)
    mnl_attr_put_u16 (nlh, CTA_ZONE, d->zone_be);
  if (d->has_id)
    mnl_attr_put_u32 (nlh, CTA_ID, d->id_be);
  return request (nl, nlh, NULL, NULL);
}

gboolean
cg_conntrack_cut (const CgRulesSpec *spec, guint *n_cut, GError **error)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  Cut cut = { g_array_new (FALSE, FALSE, sizeof (Prefix)),
              g_array_new (FALSE, FALSE, sizeof (Prefix)),
              g_array_new (FALSE, FALSE, sizeof (Doomed)) };
  guint32 seq = (guint32) time (NULL);
  struct mnl_socket *nl = NULL;
  gboolean ok = FALSE;
  int err;

  *n_cut = 0;
  g_array_set_clear_func (cut.doomed, doomed_clear);
  if (!collect_prefixes (spec, &cut, error))
    goto out;
  if (!(nl = cg_nft_socket_open (error)))
    goto out;
  err = request (nl, cg_nfnl_put_header (buf, NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET,
                                     NLM_F_DUMP, AF_UNSPEC, 0, seq),
                 on_entry, &cut);
  if (err) {
    g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot list the conntrack table: %s",
                 g_strerror (err));
    goto out;
  }
  for (guint i = 0; i < cut.doomed->len; i++) {
    err = delete_entry (nl, &g_array_index (cut.doomed, Doomed, i), ++seq);
    if (err == ENOENT)
      continue;
    if (err) {
      g_set_error (error, CG_ERROR, CG_ERROR_IO,
                   "cannot delete a camera's conntrack entry (%u of %u): %s", i + 1,
                   cut.doomed->len, g_strerror (err));
      goto out;
    }
    (*n_cut)++;
  }
  ok = TRUE;
out:
  if (nl)
    mnl_socket_close (nl);
  g_array_unref (cut.camera_side);
  g_array_unref (cut.local);
  g_array_unref (cut.doomed);
  return ok;
}
