/* nftables transactions and listings over netlink (see nft.h).
 *
 * A batch goes out in one sendto(); every message in it asks for an ACK, so
 * the kernel answers each one, and a refused message comes back as an
 * NLMSG_ERROR carrying its sequence number. That number finds the message in
 * the batch, which libnftnl parses back to name the refused object. */
#define G_LOG_DOMAIN "camgate-rules"

#include "nft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "error.h"
#include "ruleset.h"

#define ANSWER_TIMEOUT_MS 5000

struct mnl_socket *
cg_nft_socket_open (GError **error)
{
  struct mnl_socket *nl = mnl_socket_open (NETLINK_NETFILTER);

  if (!nl || mnl_socket_bind (nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    int err = errno;
    g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot talk to netfilter (nftables, "
                 "conntrack, NFLOG) over netlink: %s%s", g_strerror (err),
                 err == EPERM ? " (needs root: CAP_NET_ADMIN)" : "");
    if (nl)
      mnl_socket_close (nl);
    return NULL;
  }
  return nl;
}

struct nlmsghdr *
cg_nfnl_put_header (char *buf, guint8 subsys, guint8 type, guint16 flags, guint8 family,
                    guint16 res_id, guint32 seq)
{
  struct nlmsghdr *nlh;
  struct nfgenmsg *nfg;

  /* Attribute padding is sent as it is in @buf: zero, not stack garbage. */
  memset (buf, 0, MNL_SOCKET_BUFFER_SIZE);
  nlh = mnl_nlmsg_put_header (buf);
  nlh->nlmsg_type = (guint16) ((subsys << 8) | type);
  nlh->nlmsg_flags = NLM_F_REQUEST | flags;
  nlh->nlmsg_seq = seq;
  nfg = mnl_nlmsg_put_extra_header (nlh, sizeof *nfg);
  nfg->nfgen_family = family;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = res_id;
  return nlh;
}

static gboolean
is_batch_marker (const struct nlmsghdr *nlh)
{
  return nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN || nlh->nlmsg_type == NFNL_MSG_BATCH_END;
}

/* "set cameras4", "chain violation", "rule in chain input", ... transfer full */
static char *
describe (const struct nlmsghdr *nlh)
{
  switch (NFNL_MSG_TYPE (nlh->nlmsg_type)) {
  case NFT_MSG_NEWTABLE:
  case NFT_MSG_DELTABLE: {
    struct nftnl_table *t = nftnl_table_alloc ();
    char *d = nftnl_table_nlmsg_parse (nlh, t) < 0 ? g_strdup ("a table")
        : g_strdup_printf ("table %s", nftnl_table_get_str (t, NFTNL_TABLE_NAME));
    nftnl_table_free (t);
    return d;
  }
  case NFT_MSG_NEWCHAIN: {
    struct nftnl_chain *c = nftnl_chain_alloc ();
    char *d = nftnl_chain_nlmsg_parse (nlh, c) < 0 ? g_strdup ("a chain")
        : g_strdup_printf ("chain %s", nftnl_chain_get_str (c, NFTNL_CHAIN_NAME));
    nftnl_chain_free (c);
    return d;
  }
  case NFT_MSG_NEWRULE: {
    struct nftnl_rule *r = nftnl_rule_alloc ();
    char *d = nftnl_rule_nlmsg_parse (nlh, r) < 0 ? g_strdup ("a rule")
        : g_strdup_printf ("a rule in chain %s", nftnl_rule_get_str (r, NFTNL_RULE_CHAIN));
    nftnl_rule_free (r);
    return d;
  }
  case NFT_MSG_NEWSET:
  case NFT_MSG_NEWSETELEM: {
    struct nftnl_set *s = nftnl_set_alloc ();
    gboolean elems = NFNL_MSG_TYPE (nlh->nlmsg_type) == NFT_MSG_NEWSETELEM;
    int ret = elems ? nftnl_set_elems_nlmsg_parse (nlh, s) : nftnl_set_nlmsg_parse (nlh, s);
    char *d = ret < 0 ? g_strdup ("a set")
        : g_strdup_printf ("%sset %s", elems ? "the elements of " : "",
                           nftnl_set_get_str (s, NFTNL_SET_NAME));
    nftnl_set_free (s);
    return d;
  }
  case NFT_MSG_NEWOBJ: {
    struct nftnl_obj *o = nftnl_obj_alloc ();
    char *d = nftnl_obj_nlmsg_parse (nlh, o) < 0 ? g_strdup ("an object")
        : g_strdup_printf ("counter %s", nftnl_obj_get_str (o, NFTNL_OBJ_NAME));
    nftnl_obj_free (o);
    return d;
  }
  default:
    return g_strdup_printf ("message type %u", NFNL_MSG_TYPE (nlh->nlmsg_type));
  }
}

static const struct nlmsghdr *
find_message (const void *buf, gsize len, guint32 seq)
{
  const struct nlmsghdr *nlh = buf;
  int left = len;

  for (; mnl_nlmsg_ok (nlh, left); nlh = mnl_nlmsg_next (nlh, &left))
    if (nlh->nlmsg_seq == seq)
      return nlh;
  return NULL;
}

/* Waits for answers until @expected ACKs came, or an error did and the
 * kernel has nothing more to say. Returns 0, or the first refused message's
 * errno with its sequence number in @failed_seq. */
static int
read_answers (struct mnl_socket *nl, guint expected, guint32 *failed_seq)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct pollfd pfd = { mnl_socket_get_fd (nl), POLLIN, 0 };
  guint answered = 0;
  int first_error = 0;

  while (answered < expected) {
    int ready = poll (&pfd, 1, first_error ? 0 : ANSWER_TIMEOUT_MS);
    ssize_t n;

    if (ready <= 0)
      return first_error ? first_error : (ready == 0 ? ETIMEDOUT : errno);
    n = mnl_socket_recvfrom (nl, buf, sizeof buf);
    if (n < 0)
      return first_error ? first_error : errno;
    const struct nlmsghdr *nlh = (const struct nlmsghdr *) buf;
    int left = n;
    for (; mnl_nlmsg_ok (nlh, left); nlh = mnl_nlmsg_next (nlh, &left)) {
      const struct nlmsgerr *err;

      if (nlh->nlmsg_type != NLMSG_ERROR)
        continue;
      answered++;
      err = mnl_nlmsg_get_payload (nlh);
      if (err->error != 0 && !first_error) {
        first_error = -err->error;
        *failed_seq = nlh->nlmsg_seq;
      }
    }
  }
  return first_error;
}

/* Room for the whole batch and for every answer (about 1 KiB each, as nft
 * reckons): with hundreds of cameras the defaults overflow (ENOBUFS). */
static void
size_buffers (struct mnl_socket *nl, gsize batch_len, guint answers)
{
  int fd = mnl_socket_get_fd (nl);
  int rcv = MAX (answers * 1024u, 256u * 1024u);
  int snd = MAX (batch_len + 64 * 1024, 256u * 1024u);

  if (setsockopt (fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) < 0)
    setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  if (setsockopt (fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof snd) < 0)
    setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);
}

gboolean
cg_nft_apply (GBytes *batch, GError **error)
{
  gsize len;
  const void *data = g_bytes_get_data (batch, &len);
  g_autofree void *copy = g_memdup2 (data, len);
  struct nlmsghdr *nlh = copy;
  struct mnl_socket *nl;
  guint expected = 0;
  guint32 failed_seq = 0;
  int left = len, err;

  /* Every message asks for an answer, so a refusal can be pinned down. */
  for (; mnl_nlmsg_ok (nlh, left); nlh = mnl_nlmsg_next (nlh, &left)) {
    if (is_batch_marker (nlh))
      continue;
    nlh->nlmsg_flags |= NLM_F_ACK;
    expected++;
  }
  if (!(nl = cg_nft_socket_open (error)))
    return FALSE;
  size_buffers (nl, len, expected);
  if (mnl_socket_sendto (nl, copy, len) < 0) {
    g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot send the nftables batch: %s",
                 g_strerror (errno));
    mnl_socket_close (nl);
    return FALSE;
  }
  err = read_answers (nl, expected, &failed_seq);
  mnl_socket_close (nl);
  if (err == 0)
    return TRUE;

  const struct nlmsghdr *bad = failed_seq ? find_message (copy, len, failed_seq) : NULL;
  g_autofree char *what = bad ? describe (bad) : g_strdup ("the batch");
  g_set_error (error, CG_ERROR, CG_ERROR_IO,
               "nftables refused %s: %s; nothing was changed", what, g_strerror (err));
  return FALSE;
}

/* ---- listing --------------------------------------------------------------- */

typedef struct {
  GString *out;
  guint count;
} Listing;

static const char *
family_name (guint8 family)
{
  return family == NFPROTO_BRIDGE ? "bridge" : "inet";
}

/* One dump request for camgate's table of @family; @cb sees each answer. */
static gboolean
dump (struct mnl_socket *nl, guint8 family, guint16 type, mnl_cb_t cb, Listing *listing,
      GError **error)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  guint32 seq = (guint32) time (NULL);
  guint16 flags = type == NFT_MSG_GETTABLE ? NLM_F_ACK : NLM_F_DUMP;
  struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr (buf, type, family, flags, seq);
  int ret;

  mnl_attr_put_strz (nlh, type == NFT_MSG_GETTABLE ? NFTA_TABLE_NAME : NFTA_SET_TABLE,
                     CG_RULES_TABLE);
  if (type == NFT_MSG_GETOBJ)
    mnl_attr_put_u32 (nlh, NFTA_OBJ_TYPE, htonl (NFT_OBJECT_COUNTER));
  if (mnl_socket_sendto (nl, nlh, nlh->nlmsg_len) < 0)
    goto fail;
  while ((ret = mnl_socket_recvfrom (nl, buf, sizeof buf)) > 0) {
    ret = mnl_cb_run (buf, ret, seq, mnl_socket_get_portid (nl), cb, listing);
    if (ret <= 0)
      break;
  }
  if (ret == 0 || (ret < 0 && errno == ENOENT && type != NFT_MSG_GETTABLE))
    return TRUE;
fail:
  g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot list nftables table %s %s: %s",
               family_name (family), CG_RULES_TABLE, g_strerror (errno));
  return FALSE;
}

static const char *
hook_name (guint32 hook)
{
  static const char *const names[] = { "prerouting", "input", "forward", "output", "postrouting" };

  return hook < G_N_ELEMENTS (names) ? names[hook] : "?";
}

static int
on_chain (const struct nlmsghdr *nlh, void *data)
{
  Listing *l = data;
  struct nftnl_chain *c = nftnl_chain_alloc ();

  if (nftnl_chain_nlmsg_parse (nlh, c) == 0 &&
      g_str_equal (nftnl_chain_get_str (c, NFTNL_CHAIN_TABLE), CG_RULES_TABLE)) {
    g_string_append_printf (l->out, "  chain %s", nftnl_chain_get_str (c, NFTNL_CHAIN_NAME));
    if (nftnl_chain_is_set (c, NFTNL_CHAIN_HOOKNUM))
      g_string_append_printf (l->out, " (hook %s, priority %d, policy %s)",
                              hook_name (nftnl_chain_get_u32 (c, NFTNL_CHAIN_HOOKNUM)),
                              (int) nftnl_chain_get_s32 (c, NFTNL_CHAIN_PRIO),
                              nftnl_chain_get_u32 (c, NFTNL_CHAIN_POLICY) == NF_DROP
                              ? "drop" : "accept");
    g_string_append_c (l->out, '\n');
    l->count++;
  }
  nftnl_chain_free (c);
  return MNL_CB_OK;
}

static int
on_rule (const struct nlmsghdr *nlh, void *data)
{
  Listing *l = data;
  struct nftnl_rule *r = nftnl_rule_alloc ();
  char text[4096];

  if (nftnl_rule_nlmsg_parse (nlh, r) == 0) {
    nftnl_rule_snprintf (text, sizeof text, r, NFTNL_OUTPUT_DEFAULT, 0);
    g_string_append_printf (l->out, "  %s\n", text);
    l->count++;
  }
  nftnl_rule_free (r);
  return MNL_CB_OK;
}

static int
on_set (const struct nlmsghdr *nlh, void *data)
{
  Listing *l = data;
  struct nftnl_set *s = nftnl_set_alloc ();

  /* Anonymous sets ("__set0") belong to the rules that use them. */
  if (nftnl_set_nlmsg_parse (nlh, s) == 0 &&
      !g_str_has_prefix (nftnl_set_get_str (s, NFTNL_SET_NAME), "__")) {
    g_string_append_printf (l->out, "  set %s\n", nftnl_set_get_str (s, NFTNL_SET_NAME));
    l->count++;
  }
  nftnl_set_free (s);
  return MNL_CB_OK;
}

static int
on_counter (const struct nlmsghdr *nlh, void *data)
{
  Listing *l = data;
  struct nftnl_obj *o = nftnl_obj_alloc ();

  if (nftnl_obj_nlmsg_parse (nlh, o) == 0) {
    g_string_append_printf (l->out, "  %-40s %12" G_GUINT64_FORMAT " packets %14"
                            G_GUINT64_FORMAT " bytes\n", nftnl_obj_get_str (o, NFTNL_OBJ_NAME),
                            nftnl_obj_get_u64 (o, NFTNL_OBJ_CTR_PKTS),
                            nftnl_obj_get_u64 (o, NFTNL_OBJ_CTR_BYTES));
    l->count++;
  }
  nftnl_obj_free (o);
  return MNL_CB_OK;
}

gboolean
cg_nft_table_exists (guint8 family, gboolean *exists, GError **error)
{
  struct mnl_socket *nl = cg_nft_socket_open (error);
  Listing l = { NULL, 0 };
  g_autoptr (GError) local = NULL;

  if (!nl)
    return FALSE;
  *exists = dump (nl, family, NFT_MSG_GETTABLE, NULL, &l, &local);
  mnl_socket_close (nl);
  /* A kernel without the family has no such table either. */
  if (!*exists && !g_str_has_suffix (local->message, g_strerror (ENOENT)) &&
      !g_str_has_suffix (local->message, g_strerror (EAFNOSUPPORT))) {
    g_propagate_error (error, g_steal_pointer (&local));
    return FALSE;
  }
  return TRUE;
}

/* Appends camgate's table of @family to @out, if it exists. */
static gboolean
show_table (GString *out, guint8 family, GError **error)
{
  static const struct { const char *title; guint16 type; mnl_cb_t cb; } parts[] = {
    { "counters (packets blocked, or seen in monitor mode)", NFT_MSG_GETOBJ, on_counter },
    { "sets", NFT_MSG_GETSET, on_set },
    { "chains", NFT_MSG_GETCHAIN, on_chain },
    { "rules", NFT_MSG_GETRULE, on_rule },
  };
  gboolean exists;
  struct mnl_socket *nl;

  if (!cg_nft_table_exists (family, &exists, error))
    return FALSE;
  if (!exists) {
    g_string_append_printf (out, "table %s " CG_RULES_TABLE ": not installed%s\n",
                            family_name (family), family == NFPROTO_BRIDGE
                            ? " (no camera_interface was a bridge when the rules were applied)"
                            : "");
    return TRUE;
  }
  if (!(nl = cg_nft_socket_open (error)))
    return FALSE;
  g_string_append_printf (out, "table %s " CG_RULES_TABLE " (stays in force when camgate "
                          "stops; camgate rules flush removes it)\n", family_name (family));
  for (gsize i = 0; i < G_N_ELEMENTS (parts); i++) {
    Listing l = { out, 0 };

    g_string_append_printf (out, "\n%s:\n", parts[i].title);
    if (!dump (nl, family, parts[i].type, parts[i].cb, &l, error)) {
      mnl_socket_close (nl);
      return FALSE;
    }
  }
  mnl_socket_close (nl);
  return TRUE;
}

char *
cg_nft_show (GError **error)
{
  g_autoptr (GString) out = g_string_new (NULL);

  if (!show_table (out, NFPROTO_INET, error))
    return NULL;
  g_string_append_c (out, '\n');
  if (!show_table (out, NFPROTO_BRIDGE, error))
    return NULL;
  return g_string_free (g_steal_pointer (&out), FALSE);
}
