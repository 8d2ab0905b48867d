/* Reading camgate's dynamic sets back from the kernel (see sets.h). One
 * NFT_MSG_GETSETELEM dump per set; libnftnl parses each answer. */
#define G_LOG_DOMAIN "camgate-rules"

#include "sets.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "error.h"
#include "nft.h"
#include "ruleset.h"

#define V4_KEY_LEN 16                   /* 4 + 4 + proto (4) + port (4) */
#define V6_KEY_LEN 40                   /* 16 + 16 + 4 + 4 */

typedef void (*ElemFunc) (struct nftnl_set_elem *e, GArray *out);

typedef struct {
  ElemFunc func;
  GArray *out;
} Reader;

gboolean
cg_violation_key_parse (const guint8 *key, gsize len, CgViolationRecord *out)
{
  gsize addr;

  if (len == V4_KEY_LEN)
    addr = 4;
  else if (len == V6_KEY_LEN)
    addr = 16;
  else
    return FALSE;
  out->family = addr == 4 ? AF_INET : AF_INET6;
  memset (out->src, 0, sizeof out->src);
  memset (out->dst, 0, sizeof out->dst);
  memcpy (out->src, key, addr);
  memcpy (out->dst, key + addr, addr);
  out->proto = key[2 * addr];
  out->dport = (guint16) ((key[2 * addr + 4] << 8) | key[2 * addr + 5]);
  return TRUE;
}

static guint64
elem_u64 (struct nftnl_set_elem *e, guint16 attr)
{
  return nftnl_set_elem_is_set (e, attr) ? nftnl_set_elem_get_u64 (e, attr) : 0;
}

static void
add_violation (struct nftnl_set_elem *e, GArray *out)
{
  CgViolationRecord r = { 0 };
  guint32 len = 0;
  const guint8 *key = nftnl_set_elem_get (e, NFTNL_SET_ELEM_KEY, &len);
  const struct nftnl_expr *expr;
  /* Elements the kernel added by itself carry the set's timeout, unstated. */
  guint64 timeout = nftnl_set_elem_is_set (e, NFTNL_SET_ELEM_TIMEOUT)
      ? nftnl_set_elem_get_u64 (e, NFTNL_SET_ELEM_TIMEOUT) : CG_RULES_VIOLATION_TIMEOUT_MS;
  guint64 expiration = elem_u64 (e, NFTNL_SET_ELEM_EXPIRATION);

  if (!key || !cg_violation_key_parse (key, len, &r))
    return;
  expr = nftnl_set_elem_get (e, NFTNL_SET_ELEM_EXPR, NULL);
  if (expr && g_str_equal (nftnl_expr_get_str (expr, NFTNL_EXPR_NAME), "counter"))
    r.packets = nftnl_expr_get_u64 (expr, NFTNL_EXPR_CTR_PACKETS);
  /* Each packet's update restarts the element's timeout. */
  r.idle_ms = timeout > expiration ? timeout - expiration : 0;
  g_array_append_val (out, r);
}

static void
add_hole (struct nftnl_set_elem *e, GArray *out)
{
  CgHoleRecord h = { 0 };
  guint32 len = 0;
  const guint8 *key = nftnl_set_elem_get (e, NFTNL_SET_ELEM_KEY, &len);
  gsize addr = len == 8 ? 4 : len == 32 ? 16 : 0;

  if (!key || !addr)
    return;
  h.family = addr == 4 ? AF_INET : AF_INET6;
  memcpy (h.camera, key, addr);
  memcpy (h.peer, key + addr, addr);
  h.expires_ms = elem_u64 (e, NFTNL_SET_ELEM_EXPIRATION);
  g_array_append_val (out, h);
}

static int
on_element (struct nftnl_set_elem *e, void *data)
{
  Reader *reader = data;

  reader->func (e, reader->out);
  return 0;
}

static int
on_elements (const struct nlmsghdr *nlh, void *data)
{
  struct nftnl_set *s = nftnl_set_alloc ();

  if (nftnl_set_elems_nlmsg_parse (nlh, s) == 0)
    nftnl_set_elem_foreach (s, on_element, data);
  nftnl_set_free (s);
  return MNL_CB_OK;
}

/* Dumps set @name of table camgate in @family into @reader. A table or set
 * that does not exist is empty. */
static gboolean
read_set (struct mnl_socket *nl, guint16 family, const char *name, Reader *reader,
          GError **error)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  guint32 seq = (guint32) g_get_monotonic_time ();
  struct nftnl_set *s = nftnl_set_alloc ();
  struct nlmsghdr *nlh;
  ssize_t n;
  int ret = MNL_CB_OK;

  memset (buf, 0, sizeof buf);        /* the request's padding goes out as it is */
  nlh = nftnl_nlmsg_build_hdr (buf, NFT_MSG_GETSETELEM, family, NLM_F_DUMP, seq);
  nftnl_set_set_str (s, NFTNL_SET_TABLE, CG_RULES_TABLE);
  nftnl_set_set_str (s, NFTNL_SET_NAME, name);
  nftnl_set_elems_nlmsg_build_payload (nlh, s);
  nftnl_set_free (s);
  if (mnl_socket_sendto (nl, nlh, nlh->nlmsg_len) < 0)
    ret = MNL_CB_ERROR;
  while (ret > MNL_CB_STOP && (n = mnl_socket_recvfrom (nl, buf, sizeof buf)) > 0)
    ret = mnl_cb_run (buf, n, seq, mnl_socket_get_portid (nl), on_elements, reader);
  if (ret >= MNL_CB_STOP || errno == ENOENT)
    return TRUE;
  g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot read set %s of table %s %s: %s", name,
               family == NFPROTO_BRIDGE ? "bridge" : "inet", CG_RULES_TABLE, g_strerror (errno));
  return FALSE;
}

static GArray *
read_sets (const guint16 *families, gsize n_families, const char *const *names,
           ElemFunc func, gsize elem_size, GError **error)
{
  g_autoptr (GArray) out = g_array_new (FALSE, FALSE, elem_size);
  Reader reader = { func, out };
  struct mnl_socket *nl = cg_nft_socket_open (error);
  int rcvbuf = 1024 * 1024;

  if (!nl)
    return NULL;
  /* A full violations set dumps megabytes: a larger buffer means fewer reads. */
  setsockopt (mnl_socket_get_fd (nl), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  for (gsize f = 0; f < n_families; f++)
    for (gsize i = 0; names[i]; i++)
      if (!read_set (nl, families[f], names[i], &reader, error)) {
        mnl_socket_close (nl);
        return NULL;
      }
  mnl_socket_close (nl);
  return g_steal_pointer (&out);
}

GArray *
cg_nft_read_violations (GError **error)
{
  static const guint16 families[] = { NFPROTO_INET, NFPROTO_BRIDGE };
  static const char *const names[] = { "violations4", "violations6", NULL };

  return read_sets (families, G_N_ELEMENTS (families), names, add_violation,
                    sizeof (CgViolationRecord), error);
}

GArray *
cg_nft_read_holes (GError **error)
{
  static const guint16 families[] = { NFPROTO_INET };
  static const char *const names[] = { "allow4", "allow6", NULL };

  return read_sets (families, G_N_ELEMENTS (families), names, add_hole,
                    sizeof (CgHoleRecord), error);
}
