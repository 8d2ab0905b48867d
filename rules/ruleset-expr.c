/* The building blocks of the ruleset's netlink batch (see ruleset-expr.h):
 * thin libnftnl wrappers, so that the ruleset builder reads like the nft
 * rules it writes. */
#define G_LOG_DOMAIN "camgate-rules"

#include "ruleset-expr.h"

#include <string.h>

#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "ruleset.h"

#define ELEMS_PER_MESSAGE 64    /* keeps every message well under a page */
#define BATCH_PAGE 16384        /* the batch is built a page at a time */
#define LIMIT_UNIT_SECOND 1

/* ---- the batch ------------------------------------------------------------- */

void
cg_rules_batch_init (CgRulesBatch *b, guint32 seq)
{
  b->page_buf = g_malloc0 (2 * BATCH_PAGE);
  b->page = mnl_nlmsg_batch_start (b->page_buf, BATCH_PAGE);
  b->out = g_byte_array_new ();
  b->seq = seq;
  b->set_id = 1;
  b->family = NFPROTO_INET;
  nftnl_batch_begin (mnl_nlmsg_batch_current (b->page), b->seq++);
  mnl_nlmsg_batch_next (b->page);
}

/* A full page moves to the output, and the page is cleared past the message
 * that overflowed it: libmnl 1.0.4 leaves attribute padding as it finds it,
 * and the batch should not carry stale bytes. */
void
cg_rules_batch_next (CgRulesBatch *b)
{
  char *cur;

  if (mnl_nlmsg_batch_next (b->page))
    return;
  g_byte_array_append (b->out, mnl_nlmsg_batch_head (b->page), mnl_nlmsg_batch_size (b->page));
  mnl_nlmsg_batch_reset (b->page);
  cur = mnl_nlmsg_batch_current (b->page);
  memset (cur, 0, b->page_buf + 2 * BATCH_PAGE - cur);
}

struct nlmsghdr *
cg_rules_batch_msg (CgRulesBatch *b, guint16 type, guint16 flags)
{
  return nftnl_nlmsg_build_hdr (mnl_nlmsg_batch_current (b->page), type, b->family,
                                flags | NLM_F_ACK, b->seq++);
}

GBytes *
cg_rules_batch_finish (CgRulesBatch *b)
{
  nftnl_batch_end (mnl_nlmsg_batch_current (b->page), b->seq++);
  cg_rules_batch_next (b);
  g_byte_array_append (b->out, mnl_nlmsg_batch_head (b->page), mnl_nlmsg_batch_size (b->page));
  mnl_nlmsg_batch_stop (b->page);
  g_free (b->page_buf);
  return g_byte_array_free_to_bytes (b->out);
}

/* transfer full: set @name of the table @b writes, @id in this batch */
static struct nftnl_set *
set_new (const CgRulesBatch *b, const char *name, guint32 id)
{
  struct nftnl_set *s = nftnl_set_alloc ();

  nftnl_set_set_u32 (s, NFTNL_SET_FAMILY, b->family);
  nftnl_set_set_str (s, NFTNL_SET_TABLE, CG_RULES_TABLE);
  nftnl_set_set_str (s, NFTNL_SET_NAME, name);
  nftnl_set_set_u32 (s, NFTNL_SET_ID, id);
  return s;
}

/* The list is written here rather than by libnftnl, which numbers the
 * elements 1, 2, ...: the kernel ignores the number, but it writes, and
 * libnftnl parses, NFTA_LIST_ELEM, so the batch parses back as it is sent. */
static void
put_elements (CgRulesBatch *b, guint16 type, const char *set, guint32 set_id,
              const CgRulesElem *elems, guint n)
{
  struct nftnl_set *s = set_new (b, set, set_id);
  struct nlmsghdr *nlh = cg_rules_batch_msg (b, type,
                                             type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0);
  struct nlattr *list;

  nftnl_set_elems_nlmsg_build_payload (nlh, s);     /* no elements: the set's names */
  list = mnl_attr_nest_start (nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
  for (guint i = 0; i < n; i++) {
    struct nftnl_set_elem *e = nftnl_set_elem_alloc ();
    struct nlattr *nest;

    nftnl_set_elem_set (e, NFTNL_SET_ELEM_KEY, elems[i].key, elems[i].key_len);
    if (elems[i].objref[0])
      nftnl_set_elem_set_str (e, NFTNL_SET_ELEM_OBJREF, elems[i].objref);
    if (elems[i].timeout_ms)
      nftnl_set_elem_set_u64 (e, NFTNL_SET_ELEM_TIMEOUT, elems[i].timeout_ms);
    nest = mnl_attr_nest_start (nlh, NFTA_LIST_ELEM);
    nftnl_set_elem_nlmsg_build_payload (nlh, e);
    mnl_attr_nest_end (nlh, nest);
    nftnl_set_elem_free (e);
  }
  mnl_attr_nest_end (nlh, list);
  cg_rules_batch_next (b);
  nftnl_set_free (s);
}

guint32
cg_rules_batch_put_set (CgRulesBatch *b, const CgRulesSetDesc *d, const CgRulesElem *elems,
                        guint n)
{
  guint32 id = b->set_id++;
  struct nftnl_set *s = set_new (b, d->name, id);
  struct nftnl_udata_buf *udata = nftnl_udata_buf_alloc (NFT_USERDATA_MAXLEN);

  nftnl_set_set_u32 (s, NFTNL_SET_FLAGS, d->flags);
  nftnl_set_set_u32 (s, NFTNL_SET_KEY_TYPE, d->key_type);
  nftnl_set_set_u32 (s, NFTNL_SET_KEY_LEN, d->key_len);
  if (d->obj_type)
    nftnl_set_set_u32 (s, NFTNL_SET_OBJ_TYPE, d->obj_type);
  if (d->size)
    nftnl_set_set_u32 (s, NFTNL_SET_DESC_SIZE, d->size);
  if (d->timeout_ms)
    nftnl_set_set_u64 (s, NFTNL_SET_TIMEOUT, d->timeout_ms);
  nftnl_udata_put_u32 (udata, NFTNL_UDATA_SET_KEYBYTEORDER, d->byteorder);
  nftnl_set_set_data (s, NFTNL_SET_USERDATA, nftnl_udata_buf_data (udata),
                      nftnl_udata_buf_len (udata));
  nftnl_udata_buf_free (udata);
  nftnl_set_nlmsg_build_payload (cg_rules_batch_msg (b, NFT_MSG_NEWSET, NLM_F_CREATE), s);
  cg_rules_batch_next (b);
  nftnl_set_free (s);

  for (guint i = 0; i < n; i += ELEMS_PER_MESSAGE)
    put_elements (b, NFT_MSG_NEWSETELEM, d->name, id, elems + i, MIN (ELEMS_PER_MESSAGE, n - i));
  return id;
}

void
cg_rules_batch_put_elements (CgRulesBatch *b, guint16 type, const char *name,
                             const CgRulesElem *elems, guint n)
{
  /* The kernel finds an existing set by name; id 0 names none in this batch. */
  for (guint i = 0; i < n; i += ELEMS_PER_MESSAGE)
    put_elements (b, type, name, 0, elems + i, MIN (ELEMS_PER_MESSAGE, n - i));
}

guint32
cg_rules_batch_put_anonymous_set (CgRulesBatch *b, guint32 key_type, guint32 key_len,
                                  guint32 byteorder, const void *keys, guint n)
{
  g_autofree CgRulesElem *elems = g_new0 (CgRulesElem, n);
  CgRulesSetDesc d = { CG_RULES_ANON_SET, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT, key_type,
                       key_len, byteorder, 0, n };

  for (guint i = 0; i < n; i++) {
    memcpy (elems[i].key, (const guint8 *) keys + i * key_len, key_len);
    elems[i].key_len = key_len;
  }
  return cg_rules_batch_put_set (b, &d, elems, n);
}

void
cg_rules_batch_put_rule (CgRulesBatch *b, struct nftnl_rule *r)
{
  nftnl_rule_set_u32 (r, NFTNL_RULE_FAMILY, b->family);
  nftnl_rule_nlmsg_build_payload (cg_rules_batch_msg (b, NFT_MSG_NEWRULE,
                                                     NLM_F_CREATE | NLM_F_APPEND), r);
  cg_rules_batch_next (b);
  nftnl_rule_free (r);
}

/* ---- expressions ----------------------------------------------------------- */

/* Appends a new @name expression to @r, which owns it. */
static struct nftnl_expr *
add (struct nftnl_rule *r, const char *name)
{
  struct nftnl_expr *e = nftnl_expr_alloc (name);

  g_assert (e);
  nftnl_rule_add_expr (r, e);
  return e;
}

guint32
cg_rule_reg_at (guint32 offset)
{
  g_assert (offset % 4 == 0 && offset < 16 * 4);
  if (offset % 16 == 0)
    return NFT_REG_1 + offset / 16;
  return NFT_REG32_00 + offset / 4;
}

struct nftnl_rule *
cg_rule_new (const char *chain)
{
  struct nftnl_rule *r = nftnl_rule_alloc ();

  nftnl_rule_set_str (r, NFTNL_RULE_TABLE, CG_RULES_TABLE);
  nftnl_rule_set_str (r, NFTNL_RULE_CHAIN, chain);
  return r;
}

void
cg_rule_add_meta (struct nftnl_rule *r, guint32 key, guint32 dreg)
{
  struct nftnl_expr *e = add (r, "meta");

  nftnl_expr_set_u32 (e, NFTNL_EXPR_META_KEY, key);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_META_DREG, dreg);
}

void
cg_rule_add_payload (struct nftnl_rule *r, guint32 base, guint32 offset, guint32 len,
                     guint32 dreg)
{
  struct nftnl_expr *e = add (r, "payload");

  nftnl_expr_set_u32 (e, NFTNL_EXPR_PAYLOAD_BASE, base);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_PAYLOAD_LEN, len);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
}

void
cg_rule_add_cmp (struct nftnl_rule *r, guint32 op, guint32 sreg, const void *data, guint32 len)
{
  struct nftnl_expr *e = add (r, "cmp");

  nftnl_expr_set_u32 (e, NFTNL_EXPR_CMP_SREG, sreg);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_CMP_OP, op);
  nftnl_expr_set (e, NFTNL_EXPR_CMP_DATA, data, len);
}

void
cg_rule_add_lookup (struct nftnl_rule *r, guint32 sreg, const char *set, guint32 set_id,
                    gboolean inverted)
{
  struct nftnl_expr *e = add (r, "lookup");

  nftnl_expr_set_u32 (e, NFTNL_EXPR_LOOKUP_SREG, sreg);
  nftnl_expr_set_str (e, NFTNL_EXPR_LOOKUP_SET, set);
  if (set_id)
    nftnl_expr_set_u32 (e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
  if (inverted)
    nftnl_expr_set_u32 (e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
}

void
cg_rule_add_verdict (struct nftnl_rule *r, int verdict, const char *chain)
{
  struct nftnl_expr *e = add (r, "immediate");

  nftnl_expr_set_u32 (e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_IMM_VERDICT, verdict);
  if (chain)
    nftnl_expr_set_str (e, NFTNL_EXPR_IMM_CHAIN, chain);
}

void
cg_rule_add_immediate (struct nftnl_rule *r, guint32 dreg, const void *data, guint32 len)
{
  struct nftnl_expr *e = add (r, "immediate");

  nftnl_expr_set_u32 (e, NFTNL_EXPR_IMM_DREG, dreg);
  nftnl_expr_set (e, NFTNL_EXPR_IMM_DATA, data, len);
}

struct nftnl_expr *
cg_rule_expr_counter_new (void)
{
  struct nftnl_expr *e = nftnl_expr_alloc ("counter");

  g_assert (e);
  nftnl_expr_set_u64 (e, NFTNL_EXPR_CTR_PACKETS, 0);
  nftnl_expr_set_u64 (e, NFTNL_EXPR_CTR_BYTES, 0);
  return e;
}

void
cg_rule_add_counter (struct nftnl_rule *r)
{
  nftnl_rule_add_expr (r, cg_rule_expr_counter_new ());
}

struct nftnl_expr *
cg_rule_expr_limit_new (guint64 rate, guint32 burst, gboolean over)
{
  struct nftnl_expr *e = nftnl_expr_alloc ("limit");

  g_assert (e);
  nftnl_expr_set_u64 (e, NFTNL_EXPR_LIMIT_RATE, rate);
  nftnl_expr_set_u64 (e, NFTNL_EXPR_LIMIT_UNIT, LIMIT_UNIT_SECOND);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_LIMIT_BURST, burst);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_LIMIT_FLAGS, over ? NFT_LIMIT_F_INV : 0);
  return e;
}

void
cg_rule_add_log (struct nftnl_rule *r, guint16 group, const char *prefix)
{
  struct nftnl_expr *e = add (r, "log");

  nftnl_expr_set_str (e, NFTNL_EXPR_LOG_PREFIX, prefix);
  nftnl_expr_set_u16 (e, NFTNL_EXPR_LOG_GROUP, group);
}

void
cg_rule_add_counter_named (struct nftnl_rule *r, const char *name)
{
  struct nftnl_expr *e = add (r, "objref");

  nftnl_expr_set_u32 (e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
  nftnl_expr_set_str (e, NFTNL_EXPR_OBJREF_IMM_NAME, name);
}

void
cg_rule_add_counter_mapped (struct nftnl_rule *r, guint32 sreg, const char *set)
{
  struct nftnl_expr *e = add (r, "objref");

  nftnl_expr_set_u32 (e, NFTNL_EXPR_OBJREF_SET_SREG, sreg);
  nftnl_expr_set_str (e, NFTNL_EXPR_OBJREF_SET_NAME, set);
}

void
cg_rule_add_dynset_update (struct nftnl_rule *r, guint32 sreg, const char *set,
                           struct nftnl_expr *expr)
{
  struct nftnl_expr *e = add (r, "dynset");

  nftnl_expr_set_u32 (e, NFTNL_EXPR_DYNSET_SREG_KEY, sreg);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
  nftnl_expr_set_str (e, NFTNL_EXPR_DYNSET_SET_NAME, set);
  /* One expression goes out as NFTA_DYNSET_EXPR (Linux 5.11+); the dynset owns it. */
  nftnl_expr_set (e, NFTNL_EXPR_DYNSET_EXPR, expr, 0);
}

void
cg_rule_match_nfproto (struct nftnl_rule *r, guint8 nfproto)
{
  cg_rule_add_meta (r, NFT_META_NFPROTO, NFT_REG_1);
  cg_rule_add_cmp (r, NFT_CMP_EQ, NFT_REG_1, &nfproto, sizeof nfproto);
}

void
cg_rule_match_l4proto (struct nftnl_rule *r, guint8 l4proto)
{
  cg_rule_add_meta (r, NFT_META_L4PROTO, NFT_REG_1);
  cg_rule_add_cmp (r, NFT_CMP_EQ, NFT_REG_1, &l4proto, sizeof l4proto);
}

void
cg_rule_match_ct_state (struct nftnl_rule *r, guint32 states)
{
  static const guint32 zero = 0;
  struct nftnl_expr *ct = add (r, "ct");
  struct nftnl_expr *bitwise;

  nftnl_expr_set_u32 (ct, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
  nftnl_expr_set_u32 (ct, NFTNL_EXPR_CT_DREG, NFT_REG_1);
  bitwise = add (r, "bitwise");
  nftnl_expr_set_u32 (bitwise, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
  nftnl_expr_set_u32 (bitwise, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
  nftnl_expr_set_u32 (bitwise, NFTNL_EXPR_BITWISE_LEN, sizeof states);
  nftnl_expr_set (bitwise, NFTNL_EXPR_BITWISE_MASK, &states, sizeof states);
  nftnl_expr_set (bitwise, NFTNL_EXPR_BITWISE_XOR, &zero, sizeof zero);
  cg_rule_add_cmp (r, NFT_CMP_NEQ, NFT_REG_1, &zero, sizeof zero);
}
