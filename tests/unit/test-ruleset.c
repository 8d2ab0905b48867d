/* The isolation ruleset without root: builds the batch for 1, 2 and 256
 * cameras, parses it back message by message with libnftnl, and checks what
 * the kernel would install against the ruleset in rules/ruleset.h. Also the
 * flush batch, the errors, and the spec a configuration gives. The numbers
 * (key types, lengths, registers) are those nft 1.0.6 sends for the same
 * ruleset in nft syntax. */
#include "ruleset.h"
#include "error.h"

#include <arpa/inet.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#define SEQ 4000
#define NFLOG_GROUP 77
#define HOLE_MS (10 * 60 * 1000)

/* ---- a batch, parsed back ---------------------------------------------------- */

typedef struct Parsed Parsed;
struct Parsed {
  guint8 family;        /* NFPROTO_INET, NFPROTO_BRIDGE */
  Parsed *bridge;       /* in the inet one: table bridge camgate's messages, or NULL */
  GString *tables;      /* "new del new": the table messages, in order */
  GHashTable *sets;     /* set key (see set_key) -> struct nftnl_set * */
  GHashTable *elems;    /* set key -> GPtrArray of struct nftnl_set *, one per NEWSETELEM */
  GHashTable *objs;     /* name -> struct nftnl_obj * */
  GHashTable *chains;   /* name -> struct nftnl_chain * */
  GHashTable *rules;    /* chain name -> GPtrArray of struct nftnl_rule * */
};

static void
parsed_free (Parsed *p)
{
  if (p->bridge)
    parsed_free (p->bridge);
  g_string_free (p->tables, TRUE);
  g_hash_table_unref (p->sets);
  g_hash_table_unref (p->elems);
  g_hash_table_unref (p->objs);
  g_hash_table_unref (p->chains);
  g_hash_table_unref (p->rules);
  g_free (p);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Parsed, parsed_free)

/* Anonymous sets all arrive as "__set%d": they are told apart by id. */
static char *
set_key (const char *name, guint32 id)
{
  return g_str_has_prefix (name, "__set") ? g_strdup_printf ("%s#%u", name, id) : g_strdup (name);
}

static guint
count_elems (Parsed *p, const char *set)
{
  GPtrArray *messages = g_hash_table_lookup (p->elems, set);
  guint n = 0;

  for (guint i = 0; messages && i < messages->len; i++) {
    struct nftnl_set_elems_iter *it = nftnl_set_elems_iter_create (messages->pdata[i]);

    while (nftnl_set_elems_iter_next (it))
      n++;
    nftnl_set_elems_iter_destroy (it);
  }
  return n;
}

/* The element of @set whose key is @key, or NULL. */
static struct nftnl_set_elem *
find_elem (Parsed *p, const char *set, const void *key, guint32 len)
{
  GPtrArray *messages = g_hash_table_lookup (p->elems, set);
  struct nftnl_set_elem *found = NULL;

  for (guint i = 0; messages && i < messages->len && !found; i++) {
    struct nftnl_set_elems_iter *it = nftnl_set_elems_iter_create (messages->pdata[i]);
    struct nftnl_set_elem *e;

    while (!found && (e = nftnl_set_elems_iter_next (it))) {
      guint32 klen;
      const void *k = nftnl_set_elem_get (e, NFTNL_SET_ELEM_KEY, &klen);

      if (klen == len && memcmp (k, key, len) == 0)
        found = e;
    }
    nftnl_set_elems_iter_destroy (it);
  }
  return found;
}

static void
check_rule_references (Parsed *p, struct nftnl_rule *r)
{
  struct nftnl_expr_iter *it = nftnl_expr_iter_create (r);
  struct nftnl_expr *e;

  /* Everything a rule names is created earlier in the batch. */
  while ((e = nftnl_expr_iter_next (it))) {
    const char *name = nftnl_expr_get_str (e, NFTNL_EXPR_NAME);

    if (g_str_equal (name, "lookup")) {
      g_autofree char *key = set_key (nftnl_expr_get_str (e, NFTNL_EXPR_LOOKUP_SET),
                                      nftnl_expr_get_u32 (e, NFTNL_EXPR_LOOKUP_SET_ID));
      g_assert_true (g_hash_table_contains (p->sets, key));
    } else if (g_str_equal (name, "dynset")) {
      g_assert_true (g_hash_table_contains (p->sets,
                                            nftnl_expr_get_str (e, NFTNL_EXPR_DYNSET_SET_NAME)));
    } else if (g_str_equal (name, "immediate") && nftnl_expr_is_set (e, NFTNL_EXPR_IMM_CHAIN)) {
      g_assert_true (g_hash_table_contains (p->chains,
                                            nftnl_expr_get_str (e, NFTNL_EXPR_IMM_CHAIN)));
    }
  }
  nftnl_expr_iter_destroy (it);
}

static void
parse_set_elems (Parsed *p, const struct nlmsghdr *nlh)
{
  struct nftnl_set *s = nftnl_set_alloc ();
  g_autofree char *key = NULL;
  GPtrArray *messages;
  struct nftnl_set_elems_iter *it;
  struct nftnl_set_elem *e;

  g_assert_cmpint (nftnl_set_elems_nlmsg_parse (nlh, s), ==, 0);
  key = set_key (nftnl_set_get_str (s, NFTNL_SET_NAME), nftnl_set_get_u32 (s, NFTNL_SET_ID));
  g_assert_true (g_hash_table_contains (p->sets, key));
  /* A counter map's elements name counters created before them. */
  it = nftnl_set_elems_iter_create (s);
  while ((e = nftnl_set_elems_iter_next (it)))
    if (nftnl_set_elem_is_set (e, NFTNL_SET_ELEM_OBJREF))
      g_assert_true (g_hash_table_contains (p->objs,
                                            nftnl_set_elem_get_str (e, NFTNL_SET_ELEM_OBJREF)));
  nftnl_set_elems_iter_destroy (it);
  if (!(messages = g_hash_table_lookup (p->elems, key))) {
    messages = g_ptr_array_new_with_free_func ((GDestroyNotify) nftnl_set_free);
    g_hash_table_insert (p->elems, g_strdup (key), messages);
  }
  g_ptr_array_add (messages, s);
}

static void
parse_rule (Parsed *p, const struct nlmsghdr *nlh)
{
  struct nftnl_rule *r = nftnl_rule_alloc ();
  const char *chain;
  GPtrArray *rules;

  g_assert_cmpint (nftnl_rule_nlmsg_parse (nlh, r), ==, 0);
  g_assert_true (nlh->nlmsg_flags & NLM_F_APPEND);
  chain = nftnl_rule_get_str (r, NFTNL_RULE_CHAIN);
  g_assert_true (g_hash_table_contains (p->chains, chain));
  check_rule_references (p, r);
  if (!(rules = g_hash_table_lookup (p->rules, chain))) {
    rules = g_ptr_array_new_with_free_func ((GDestroyNotify) nftnl_rule_free);
    g_hash_table_insert (p->rules, g_strdup (chain), rules);
  }
  g_ptr_array_add (rules, r);
}

static void
parse_table (Parsed *p, const struct nlmsghdr *nlh, gboolean create)
{
  struct nftnl_table *t = nftnl_table_alloc ();

  g_assert_cmpint (nftnl_table_nlmsg_parse (nlh, t), ==, 0);
  g_assert_cmpstr (nftnl_table_get_str (t, NFTNL_TABLE_NAME), ==, "camgate");
  g_assert_cmpuint (nftnl_table_get_u32 (t, NFTNL_TABLE_FAMILY), ==, p->family);
  /* A plain create: no error if the table is there already. */
  g_assert_false (nlh->nlmsg_flags & NLM_F_EXCL);
  g_assert_cmpuint (!!(nlh->nlmsg_flags & NLM_F_CREATE), ==, create);
  g_string_append_printf (p->tables, "%s%s", p->tables->len ? " " : "", create ? "new" : "del");
  nftnl_table_free (t);
}

static Parsed *parsed_new (guint8 family);

static void
parse_message (Parsed *p, const struct nlmsghdr *nlh)
{
  const struct nfgenmsg *nfg = mnl_nlmsg_get_payload (nlh);

  g_assert_cmpuint (nlh->nlmsg_type >> 8, ==, NFNL_SUBSYS_NFTABLES);
  g_assert_true (nlh->nlmsg_flags & NLM_F_REQUEST);
  /* The bridge table comes after the inet one, whole. */
  if (nfg->nfgen_family == NFPROTO_BRIDGE) {
    if (!p->bridge)
      p->bridge = parsed_new (NFPROTO_BRIDGE);
    p = p->bridge;
  } else {
    g_assert_cmpuint (nfg->nfgen_family, ==, NFPROTO_INET);
    g_assert_null (p->bridge);
  }
  switch (NFNL_MSG_TYPE (nlh->nlmsg_type)) {
  case NFT_MSG_NEWTABLE:
  case NFT_MSG_DELTABLE:
    parse_table (p, nlh, NFNL_MSG_TYPE (nlh->nlmsg_type) == NFT_MSG_NEWTABLE);
    break;
  case NFT_MSG_NEWSET: {
    struct nftnl_set *s = nftnl_set_alloc ();

    g_assert_cmpint (nftnl_set_nlmsg_parse (nlh, s), ==, 0);
    g_assert_true (g_hash_table_insert (p->sets, set_key (nftnl_set_get_str (s, NFTNL_SET_NAME),
                                                          nftnl_set_get_u32 (s, NFTNL_SET_ID)),
                                        s));
    break;
  }
  case NFT_MSG_NEWSETELEM:
    parse_set_elems (p, nlh);
    break;
  case NFT_MSG_NEWOBJ: {
    struct nftnl_obj *o = nftnl_obj_alloc ();

    g_assert_cmpint (nftnl_obj_nlmsg_parse (nlh, o), ==, 0);
    g_assert_true (g_hash_table_insert (p->objs, g_strdup (nftnl_obj_get_str (o, NFTNL_OBJ_NAME)),
                                        o));
    break;
  }
  case NFT_MSG_NEWCHAIN: {
    struct nftnl_chain *c = nftnl_chain_alloc ();

    g_assert_cmpint (nftnl_chain_nlmsg_parse (nlh, c), ==, 0);
    g_assert_true (g_hash_table_insert (p->chains,
                                        g_strdup (nftnl_chain_get_str (c, NFTNL_CHAIN_NAME)), c));
    break;
  }
  case NFT_MSG_NEWRULE:
    parse_rule (p, nlh);
    break;
  default:
    g_assert_not_reached ();
  }
}

/* Every message in order, sequence numbers from SEQ, between BATCH_BEGIN and
 * BATCH_END. transfer full */
static Parsed *
parsed_new (guint8 family)
{
  Parsed *p = g_new0 (Parsed, 1);

  p->family = family;
  p->tables = g_string_new (NULL);
  p->sets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                   (GDestroyNotify) nftnl_set_free);
  p->elems = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                    (GDestroyNotify) g_ptr_array_unref);
  p->objs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                   (GDestroyNotify) nftnl_obj_free);
  p->chains = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                     (GDestroyNotify) nftnl_chain_free);
  p->rules = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                    (GDestroyNotify) g_ptr_array_unref);
  return p;
}

static Parsed *
parse (GBytes *batch)
{
  Parsed *p = parsed_new (NFPROTO_INET);
  gsize len;
  const struct nlmsghdr *nlh = g_bytes_get_data (batch, &len);
  int left = len;
  guint32 seq = SEQ;
  gboolean ended = FALSE;

  for (; mnl_nlmsg_ok (nlh, left); nlh = mnl_nlmsg_next (nlh, &left), seq++) {
    g_assert_false (ended);
    g_assert_cmpuint (nlh->nlmsg_seq, ==, seq);
    if (seq == SEQ) {
      const struct nfgenmsg *nfg = mnl_nlmsg_get_payload (nlh);

      g_assert_cmpuint (nlh->nlmsg_type, ==, NFNL_MSG_BATCH_BEGIN);
      g_assert_cmpuint (ntohs (nfg->res_id), ==, NFNL_SUBSYS_NFTABLES);
    } else if (nlh->nlmsg_type == NFNL_MSG_BATCH_END) {
      ended = TRUE;
    } else {
      parse_message (p, nlh);
    }
  }
  g_assert_cmpint (left, ==, 0);
  g_assert_true (ended);
  return p;
}

static struct nftnl_rule *
rule_at (Parsed *p, const char *chain, guint i)
{
  GPtrArray *rules = g_hash_table_lookup (p->rules, chain);

  g_assert_nonnull (rules);
  g_assert_cmpuint (i, <, rules->len);
  return rules->pdata[i];
}

static guint
rule_count (Parsed *p, const char *chain)
{
  GPtrArray *rules = g_hash_table_lookup (p->rules, chain);

  return rules ? rules->len : 0;
}

/* "meta lookup immediate": the rule's expressions by name. transfer full */
static char *
expr_names (struct nftnl_rule *r)
{
  GString *names = g_string_new (NULL);
  struct nftnl_expr_iter *it = nftnl_expr_iter_create (r);
  struct nftnl_expr *e;

  while ((e = nftnl_expr_iter_next (it)))
    g_string_append_printf (names, "%s%s", names->len ? " " : "",
                            nftnl_expr_get_str (e, NFTNL_EXPR_NAME));
  nftnl_expr_iter_destroy (it);
  return g_string_free (names, FALSE);
}

static struct nftnl_expr *
expr_at (struct nftnl_rule *r, guint i)
{
  struct nftnl_expr_iter *it = nftnl_expr_iter_create (r);
  struct nftnl_expr *e = nftnl_expr_iter_next (it);

  for (; e && i > 0; i--)
    e = nftnl_expr_iter_next (it);
  nftnl_expr_iter_destroy (it);
  g_assert_nonnull (e);
  return e;
}

static void
assert_rule (Parsed *p, const char *chain, guint i, const char *names)
{
  g_autofree char *got = expr_names (rule_at (p, chain, i));

  g_assert_cmpstr (got, ==, names);
}

static void
assert_verdict (struct nftnl_expr *e, int verdict, const char *chain)
{
  g_assert_cmpstr (nftnl_expr_get_str (e, NFTNL_EXPR_NAME), ==, "immediate");
  g_assert_cmpuint (nftnl_expr_get_u32 (e, NFTNL_EXPR_IMM_DREG), ==, NFT_REG_VERDICT);
  g_assert_cmpint ((int) nftnl_expr_get_u32 (e, NFTNL_EXPR_IMM_VERDICT), ==, verdict);
  if (chain)
    g_assert_cmpstr (nftnl_expr_get_str (e, NFTNL_EXPR_IMM_CHAIN), ==, chain);
}

/* ---- specs ------------------------------------------------------------------ */

/* A spec as a configuration gives one, whose arrays free what they hold,
 * with no camera (the configuration's one has a host name), for @mode on
 * @interfaces ("eth1,eth2"). transfer full */
static CgRulesSpec *
spec_new (CgIsolationMode mode, const char *interfaces)
{
  static const char text[] =
    "[gateway]\ncamera_interface = eth1\n"
    "[uplink]\nurl = rtsps://ingest.example.net/live/{camera}\n"
    "[camera yard]\nurl = rtsp://cam.local/stream1\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (CgConfig) config = cg_config_load_from_data (text, strlen (text), "camgate.conf",
                                                          &error);
  CgRulesSpec *spec;

  g_assert_no_error (error);
  spec = cg_rules_spec_from_config (config);
  g_assert_cmpuint (spec->cameras->len, ==, 0);
  spec->mode = mode;
  g_strfreev (spec->interfaces);
  spec->interfaces = g_strsplit (interfaces, ",", -1);
  spec->nflog_group = NFLOG_GROUP;
  return spec;
}

/* The spec owns its cameras and holes (ruleset.h): they go to it whole. */
static void
add_camera (CgRulesSpec *spec, const char *id, const char *address)
{
  CgRulesCamera *cam = g_new0 (CgRulesCamera, 1);

  cam->camera_id = g_strdup (id);
  cam->address = g_inet_address_new_from_string (address);
  g_assert_nonnull (cam->address);
  g_ptr_array_add (spec->cameras, cam);
}

static void
add_hole (CgRulesSpec *spec, const char *id, const char *camera, const char *peer)
{
  CgRulesHole *hole = g_new0 (CgRulesHole, 1);

  hole->camera_id = g_strdup (id);
  hole->camera = g_inet_address_new_from_string (camera);
  hole->peer = g_inet_address_new_from_string (peer);
  hole->timeout_ms = HOLE_MS;
  g_ptr_array_add (spec->holes, hole);
}

/* Camera @i of many: IPv4 for the first 200, IPv6 after. transfer full */
static char *
many_address (guint i)
{
  return i < 200 ? g_strdup_printf ("10.20.%u.%u", i / 100, i % 100 + 1)
                 : g_strdup_printf ("2001:db8::%x", i);
}

/* transfer full */
static Parsed *
build_and_parse (const CgRulesSpec *spec)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) batch = cg_ruleset_build (spec, SEQ, &error);

  g_assert_no_error (error);
  g_assert_nonnull (batch);
  return parse (batch);
}

/* ---- what every ruleset has ------------------------------------------------- */

static void
assert_sets (Parsed *p)
{
  /* key types: nft's datatypes (ipv4_addr 7, ipv6_addr 8, inet_proto 12,
   * inet_service 13, ifname 41), concatenated 6 bits apart */
  static const struct {
    const char *name;
    guint32 flags, key_type, key_len, size;
    guint64 timeout_ms;
  } sets[] = {
    { "camera_ifaces", 0, 41, 16 },
    { "cameras4", 0, 7, 4 },
    { "cameras6", 0, 8, 16 },
    { "camera_counters4", NFT_SET_OBJECT, 7, 4 },
    { "camera_counters6", NFT_SET_OBJECT, 8, 16 },
    { "allow4", NFT_SET_TIMEOUT, 7 << 6 | 7, 8 },
    { "allow6", NFT_SET_TIMEOUT, 8 << 6 | 8, 32 },
    { "violations4", NFT_SET_TIMEOUT | NFT_SET_EVAL, 0x1c730d, 16, 65535, 3600000 },
    { "violations6", NFT_SET_TIMEOUT | NFT_SET_EVAL, 0x20830d, 40, 65535, 3600000 },
    { "newconn4", NFT_SET_TIMEOUT | NFT_SET_EVAL, 7, 4, 65535, 10000 },
    { "newconn6", NFT_SET_TIMEOUT | NFT_SET_EVAL, 8, 16, 65535, 10000 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (sets); i++) {
    struct nftnl_set *s = g_hash_table_lookup (p->sets, sets[i].name);

    g_test_message ("set %s", sets[i].name);
    g_assert_nonnull (s);
    g_assert_cmpuint (nftnl_set_get_u32 (s, NFTNL_SET_FAMILY), ==, NFPROTO_INET);
    g_assert_cmpuint (nftnl_set_get_u32 (s, NFTNL_SET_FLAGS), ==, sets[i].flags);
    g_assert_cmpuint (nftnl_set_get_u32 (s, NFTNL_SET_KEY_TYPE), ==, sets[i].key_type);
    g_assert_cmpuint (nftnl_set_get_u32 (s, NFTNL_SET_KEY_LEN), ==, sets[i].key_len);
    g_assert_cmpuint (nftnl_set_get_u32 (s, NFTNL_SET_DESC_SIZE), ==, sets[i].size);
    g_assert_cmpuint (nftnl_set_get_u64 (s, NFTNL_SET_TIMEOUT), ==, sets[i].timeout_ms);
    g_assert_cmpuint (nftnl_set_get_u32 (s, NFTNL_SET_OBJ_TYPE), ==,
                      sets[i].flags & NFT_SET_OBJECT ? NFT_OBJECT_COUNTER : 0);
  }
  /* ...and the anonymous sets of 9 rules: { nd-* }, 3 × udp dport { }, 4 × { tcp, udp },
   * { broadcast, multicast } */
  g_assert_cmpuint (g_hash_table_size (p->sets), ==, G_N_ELEMENTS (sets) + 9);
  g_assert_cmpuint (count_elems (p, "violations4") + count_elems (p, "newconn6"), ==, 0);
}

static void
assert_chains (Parsed *p)
{
  static const struct { const char *name; int hook; guint rules; } chains[] = {
    { "input", NF_INET_LOCAL_IN, 1 },
    { "forward", NF_INET_FORWARD, 2 },
    { "output", NF_INET_LOCAL_OUT, 1 },
    { "camera_to_gateway", -1, 10 },
    { "camera_forward", -1, 4 },
    { "into_cameras", -1, 3 },
    { "violation", -1, 10 },
  };

  g_assert_cmpuint (g_hash_table_size (p->chains), ==, G_N_ELEMENTS (chains));
  for (guint i = 0; i < G_N_ELEMENTS (chains); i++) {
    struct nftnl_chain *c = g_hash_table_lookup (p->chains, chains[i].name);

    g_assert_nonnull (c);
    g_assert_cmpuint (rule_count (p, chains[i].name), ==, chains[i].rules);
    g_assert_cmpuint (nftnl_chain_is_set (c, NFTNL_CHAIN_HOOKNUM), ==, chains[i].hook >= 0);
    if (chains[i].hook < 0)
      continue;
    g_assert_cmpuint (nftnl_chain_get_u32 (c, NFTNL_CHAIN_HOOKNUM), ==, chains[i].hook);
    g_assert_cmpint (nftnl_chain_get_s32 (c, NFTNL_CHAIN_PRIO), ==, -10);  /* filter - 10 */
    g_assert_cmpuint (nftnl_chain_get_u32 (c, NFTNL_CHAIN_POLICY), ==, NF_ACCEPT);
    g_assert_cmpstr (nftnl_chain_get_str (c, NFTNL_CHAIN_TYPE), ==, "filter");
  }
}

static void
assert_gateway_rules (Parsed *p)
{
  struct nftnl_rule *r = rule_at (p, "input", 0);
  struct nftnl_expr *e;
  guint32 len;
  const guint32 *mask;

  assert_rule (p, "input", 0, "meta lookup immediate");
  g_assert_cmpuint (nftnl_expr_get_u32 (expr_at (r, 0), NFTNL_EXPR_META_KEY), ==,
                    NFT_META_IIFNAME);
  g_assert_cmpstr (nftnl_expr_get_str (expr_at (r, 1), NFTNL_EXPR_LOOKUP_SET), ==,
                   "camera_ifaces");
  assert_verdict (expr_at (r, 2), NFT_JUMP, "camera_to_gateway");
  assert_verdict (expr_at (rule_at (p, "forward", 1), 2), NFT_JUMP, "into_cameras");
  assert_rule (p, "output", 0, "meta lookup ct bitwise cmp immediate");
  assert_verdict (expr_at (rule_at (p, "output", 0), 5), NF_DROP, NULL);

  /* ct state established,related accept */
  r = rule_at (p, "camera_to_gateway", 0);
  assert_rule (p, "camera_to_gateway", 0, "ct bitwise cmp immediate");
  g_assert_cmpuint (nftnl_expr_get_u32 (expr_at (r, 0), NFTNL_EXPR_CT_KEY), ==, NFT_CT_STATE);
  mask = nftnl_expr_get (expr_at (r, 1), NFTNL_EXPR_BITWISE_MASK, &len);
  g_assert_cmpuint (len, ==, 4);
  g_assert_cmpuint (*mask, ==, 2 | 4);
  assert_verdict (expr_at (r, 3), NF_ACCEPT, NULL);

  /* ct state new update @newconn4 { ip saddr limit rate over 50/second burst 50 packets } */
  r = rule_at (p, "camera_to_gateway", 2);
  assert_rule (p, "camera_to_gateway", 2, "ct bitwise cmp meta cmp payload dynset immediate");
  e = expr_at (r, 6);
  g_assert_cmpstr (nftnl_expr_get_str (e, NFTNL_EXPR_DYNSET_SET_NAME), ==, "newconn4");
  g_assert_cmpuint (nftnl_expr_get_u32 (e, NFTNL_EXPR_DYNSET_OP), ==, NFT_DYNSET_OP_UPDATE);
  e = (struct nftnl_expr *) nftnl_expr_get (e, NFTNL_EXPR_DYNSET_EXPR, &len);
  g_assert_cmpstr (nftnl_expr_get_str (e, NFTNL_EXPR_NAME), ==, "limit");
  g_assert_cmpuint (nftnl_expr_get_u64 (e, NFTNL_EXPR_LIMIT_RATE), ==, 50);
  g_assert_cmpuint (nftnl_expr_get_u32 (e, NFTNL_EXPR_LIMIT_BURST), ==, 50);
  g_assert_cmpuint (nftnl_expr_get_u32 (e, NFTNL_EXPR_LIMIT_FLAGS), ==, NFT_LIMIT_F_INV);
  assert_verdict (expr_at (r, 7), NFT_GOTO, "violation");

  /* udp dport { 67, 547 } accept */
  r = rule_at (p, "camera_to_gateway", 5);
  assert_rule (p, "camera_to_gateway", 5, "meta cmp payload lookup immediate");
  {
    g_autofree char *set = set_key (nftnl_expr_get_str (expr_at (r, 3), NFTNL_EXPR_LOOKUP_SET),
                                    nftnl_expr_get_u32 (expr_at (r, 3), NFTNL_EXPR_LOOKUP_SET_ID));
    guint16 dhcp4 = htons (67), dhcp6 = htons (547), dns = htons (53);

    g_assert_cmpuint (count_elems (p, set), ==, 2);
    g_assert_nonnull (find_elem (p, set, &dhcp4, 2));
    g_assert_nonnull (find_elem (p, set, &dhcp6, 2));
    g_assert_null (find_elem (p, set, &dns, 2));
  }
  assert_rule (p, "camera_to_gateway", 7, "meta cmp payload cmp immediate");   /* tcp dport 53 */
  assert_rule (p, "camera_to_gateway", 9, "immediate");
  assert_verdict (expr_at (rule_at (p, "camera_to_gateway", 9), 0), NFT_GOTO, "violation");
}

/* The violation chain; @verdict: what it does in the end. */
static void
assert_violation_rules (Parsed *p, int verdict)
{
  struct nftnl_rule *r = rule_at (p, "violation", 2);
  struct nftnl_expr *e;
  guint32 len;

  /* IPv6 . IPv6 . proto . port: NFT_REG_1, NFT_REG_2, NFT_REG_3, then the 32-bit
   * register after it, 4 bytes for each of proto and port */
  assert_rule (p, "violation", 2, "meta lookup meta cmp payload payload meta payload dynset");
  g_assert_cmpuint (nftnl_expr_get_u32 (expr_at (r, 4), NFTNL_EXPR_PAYLOAD_DREG), ==, NFT_REG_1);
  g_assert_cmpuint (nftnl_expr_get_u32 (expr_at (r, 5), NFTNL_EXPR_PAYLOAD_DREG), ==, NFT_REG_2);
  g_assert_cmpuint (nftnl_expr_get_u32 (expr_at (r, 6), NFTNL_EXPR_META_DREG), ==, NFT_REG_3);
  g_assert_cmpuint (nftnl_expr_get_u32 (expr_at (r, 7), NFTNL_EXPR_PAYLOAD_DREG), ==,
                    NFT_REG32_09);
  e = expr_at (r, 8);
  g_assert_cmpstr (nftnl_expr_get_str (e, NFTNL_EXPR_DYNSET_SET_NAME), ==, "violations6");
  g_assert_cmpuint (nftnl_expr_get_u32 (e, NFTNL_EXPR_DYNSET_SREG_KEY), ==, NFT_REG_1);
  e = (struct nftnl_expr *) nftnl_expr_get (e, NFTNL_EXPR_DYNSET_EXPR, &len);
  g_assert_cmpstr (nftnl_expr_get_str (e, NFTNL_EXPR_NAME), ==, "counter");

  /* IPv4, not TCP or UDP: port 0 in NFT_REG32_03 */
  r = rule_at (p, "violation", 1);
  assert_rule (p, "violation", 1, "meta lookup meta cmp payload payload meta immediate dynset");
  g_assert_cmpuint (nftnl_expr_get_u32 (expr_at (r, 1), NFTNL_EXPR_LOOKUP_FLAGS), ==,
                    NFT_LOOKUP_F_INV);
  g_assert_cmpuint (nftnl_expr_get_u32 (expr_at (r, 5), NFTNL_EXPR_PAYLOAD_DREG), ==,
                    NFT_REG32_01);
  g_assert_cmpuint (nftnl_expr_get_u32 (expr_at (r, 7), NFTNL_EXPR_IMM_DREG), ==, NFT_REG32_03);

  assert_rule (p, "violation", 4, "meta cmp payload lookup payload objref");
  e = expr_at (rule_at (p, "violation", 4), 5);
  /* libnftnl 1.2.4 writes an objref's set name without its NUL, as nft does
   * (the kernel goes by the attribute's length), and reads it back with
   * strdup(): only the name's own bytes are the batch's. */
  g_assert_true (g_str_has_prefix (nftnl_expr_get_str (e, NFTNL_EXPR_OBJREF_SET_NAME),
                                   "camera_counters4"));
  assert_rule (p, "violation", 7, "meta cmp payload lookup objref");
  e = expr_at (rule_at (p, "violation", 7), 4);
  g_assert_cmpstr (nftnl_expr_get_str (e, NFTNL_EXPR_OBJREF_IMM_NAME), ==, "unknown");

  assert_rule (p, "violation", 8, "limit log");
  e = expr_at (rule_at (p, "violation", 8), 1);
  g_assert_cmpuint (nftnl_expr_get_u16 (e, NFTNL_EXPR_LOG_GROUP), ==, NFLOG_GROUP);
  g_assert_cmpstr (nftnl_expr_get_str (e, NFTNL_EXPR_LOG_PREFIX), ==, "camgate");
  assert_rule (p, "violation", 9, "immediate");
  assert_verdict (expr_at (rule_at (p, "violation", 9), 0), verdict, NULL);
  assert_rule (p, "into_cameras", 2, "counter immediate");
  assert_verdict (expr_at (rule_at (p, "into_cameras", 2), 1), verdict, NULL);

  /* meta pkttype { broadcast, multicast } drop: a bridge's floods, before
   * anything is counted */
  r = rule_at (p, "camera_forward", 0);
  assert_rule (p, "camera_forward", 0, "meta lookup immediate");
  g_assert_cmpuint (nftnl_expr_get_u32 (expr_at (r, 0), NFTNL_EXPR_META_KEY), ==,
                    NFT_META_PKTTYPE);
  {
    g_autofree char *set = set_key (nftnl_expr_get_str (expr_at (r, 1), NFTNL_EXPR_LOOKUP_SET),
                                    nftnl_expr_get_u32 (expr_at (r, 1), NFTNL_EXPR_LOOKUP_SET_ID));
    struct nftnl_set *s = g_hash_table_lookup (p->sets, set);
    guint8 broadcast = 1, multicast = 2, host = 0, otherhost = 3;

    g_assert_cmpuint (nftnl_set_get_u32 (s, NFTNL_SET_KEY_TYPE), ==, 31);   /* pkttype */
    g_assert_cmpuint (count_elems (p, set), ==, 2);
    g_assert_nonnull (find_elem (p, set, &broadcast, 1));
    g_assert_nonnull (find_elem (p, set, &multicast, 1));
    g_assert_null (find_elem (p, set, &host, 1));
    g_assert_null (find_elem (p, set, &otherhost, 1));
  }
  g_assert_false (nftnl_expr_is_set (expr_at (r, 1), NFTNL_EXPR_LOOKUP_FLAGS) &&
                  nftnl_expr_get_u32 (expr_at (r, 1), NFTNL_EXPR_LOOKUP_FLAGS));
  assert_verdict (expr_at (r, 2), verdict, NULL);
  assert_verdict (expr_at (rule_at (p, "camera_forward", 3), 0), NFT_GOTO, "violation");
}

static void
assert_ruleset (Parsed *p, int verdict)
{
  g_assert_cmpstr (p->tables->str, ==, "new del new");
  assert_sets (p);
  assert_chains (p);
  assert_gateway_rules (p);
  assert_violation_rules (p, verdict);
}

/* Camera @id's counter exists, and @address maps to it. */
static void
assert_camera (Parsed *p, const char *id, const char *address)
{
  g_autoptr (GInetAddress) a = g_inet_address_new_from_string (address);
  g_autofree char *counter = g_strdup_printf ("cam_%s", id);
  gboolean v4 = g_inet_address_get_family (a) == G_SOCKET_FAMILY_IPV4;
  guint32 len = g_inet_address_get_native_size (a);
  struct nftnl_obj *o = g_hash_table_lookup (p->objs, counter);
  struct nftnl_set_elem *e;

  g_assert_nonnull (o);
  g_assert_cmpuint (nftnl_obj_get_u32 (o, NFTNL_OBJ_TYPE), ==, NFT_OBJECT_COUNTER);
  g_assert_nonnull (find_elem (p, v4 ? "cameras4" : "cameras6", g_inet_address_to_bytes (a), len));
  e = find_elem (p, v4 ? "camera_counters4" : "camera_counters6", g_inet_address_to_bytes (a), len);
  g_assert_nonnull (e);
  g_assert_cmpstr (nftnl_set_elem_get_str (e, NFTNL_SET_ELEM_OBJREF), ==, counter);
}

/* ---- tests ------------------------------------------------------------------ */

static void
test_one_camera (void)
{
  g_autoptr (CgRulesSpec) spec = spec_new (CG_ISOLATION_ENFORCE, "eth1");
  g_autoptr (Parsed) p = NULL;
  const char eth1[16] = "eth1";
  guint8 hole[8] = { 10, 20, 0, 11, 192, 168, 1, 5 };
  struct nftnl_set_elem *e;

  add_camera (spec, "front", "10.20.0.11");
  add_hole (spec, "front", "10.20.0.11", "192.168.1.5");
  p = build_and_parse (spec);
  assert_ruleset (p, NF_DROP);

  g_assert_cmpuint (count_elems (p, "camera_ifaces"), ==, 1);
  g_assert_nonnull (find_elem (p, "camera_ifaces", eth1, sizeof eth1));
  g_assert_cmpuint (count_elems (p, "cameras4"), ==, 1);
  g_assert_cmpuint (count_elems (p, "cameras6"), ==, 0);
  g_assert_cmpuint (count_elems (p, "camera_counters4"), ==, 1);
  assert_camera (p, "front", "10.20.0.11");
  g_assert_cmpuint (g_hash_table_size (p->objs), ==, 2);
  g_assert_true (g_hash_table_contains (p->objs, "unknown"));
  /* the hole: camera . peer, closing by itself */
  g_assert_cmpuint (count_elems (p, "allow4"), ==, 1);
  g_assert_cmpuint (count_elems (p, "allow6"), ==, 0);
  e = find_elem (p, "allow4", hole, sizeof hole);
  g_assert_nonnull (e);
  g_assert_cmpuint (nftnl_set_elem_get_u64 (e, NFTNL_SET_ELEM_TIMEOUT), ==, HOLE_MS);
}

static void
test_two_cameras (void)
{
  g_autoptr (CgRulesSpec) spec = spec_new (CG_ISOLATION_ENFORCE, "eth1,eth2.100");
  g_autoptr (Parsed) p = NULL;
  g_autoptr (GInetAddress) cam = g_inet_address_new_from_string ("2001:db8::5");
  g_autoptr (GInetAddress) peer = g_inet_address_new_from_string ("2001:db8:1::9");
  guint8 hole[32];

  add_camera (spec, "front", "10.20.0.11");
  add_camera (spec, "back-door_2", "2001:db8::5");
  add_hole (spec, "back-door_2", "2001:db8::5", "2001:db8:1::9");
  p = build_and_parse (spec);
  assert_ruleset (p, NF_DROP);

  g_assert_cmpuint (count_elems (p, "camera_ifaces"), ==, 2);
  g_assert_cmpuint (count_elems (p, "cameras4"), ==, 1);
  g_assert_cmpuint (count_elems (p, "cameras6"), ==, 1);
  assert_camera (p, "front", "10.20.0.11");
  assert_camera (p, "back-door_2", "2001:db8::5");
  g_assert_cmpuint (g_hash_table_size (p->objs), ==, 3);
  memcpy (hole, g_inet_address_to_bytes (cam), 16);
  memcpy (hole + 16, g_inet_address_to_bytes (peer), 16);
  g_assert_cmpuint (count_elems (p, "allow4"), ==, 0);
  g_assert_cmpuint (count_elems (p, "allow6"), ==, 1);
  g_assert_nonnull (find_elem (p, "allow6", hole, sizeof hole));
}

/* 256 cameras make more elements and counters, not more rules. */
static void
test_many_cameras (void)
{
  g_autoptr (CgRulesSpec) one = spec_new (CG_ISOLATION_ENFORCE, "eth1");
  g_autoptr (CgRulesSpec) spec = spec_new (CG_ISOLATION_ENFORCE, "eth1");
  g_autoptr (Parsed) p1 = NULL;
  g_autoptr (Parsed) p = NULL;
  GHashTableIter it;
  gpointer chain, rules;

  add_camera (one, "cam0", "10.20.0.1");
  for (guint i = 0; i < 256; i++) {
    g_autofree char *id = g_strdup_printf ("cam%u", i);
    g_autofree char *address = many_address (i);

    add_camera (spec, id, address);
  }
  add_hole (spec, "cam3", "10.20.0.4", "192.168.1.5");
  p1 = build_and_parse (one);
  p = build_and_parse (spec);
  assert_ruleset (p, NF_DROP);

  g_assert_cmpuint (count_elems (p, "cameras4"), ==, 200);
  g_assert_cmpuint (count_elems (p, "cameras6"), ==, 56);
  g_assert_cmpuint (count_elems (p, "camera_counters4"), ==, 200);
  g_assert_cmpuint (count_elems (p, "camera_counters6"), ==, 56);
  g_assert_cmpuint (count_elems (p, "allow4"), ==, 1);
  g_assert_cmpuint (g_hash_table_size (p->objs), ==, 257);
  for (guint i = 0; i < 256; i++) {
    g_autofree char *id = g_strdup_printf ("cam%u", i);
    g_autofree char *address = many_address (i);

    assert_camera (p, id, address);
  }
  g_assert_cmpuint (g_hash_table_size (p->rules), ==, g_hash_table_size (p1->rules));
  g_hash_table_iter_init (&it, p1->rules);
  while (g_hash_table_iter_next (&it, &chain, &rules))
    g_assert_cmpuint (rule_count (p, chain), ==, ((GPtrArray *) rules)->len);
}

/* Monitor drops nothing that camgate would drop for isolation: the same
 * ruleset, accepting in the end. Off, if ever built, does the same. */
static void
test_monitor (void)
{
  for (CgIsolationMode mode = CG_ISOLATION_MONITOR; mode <= CG_ISOLATION_OFF; mode++) {
    g_autoptr (CgRulesSpec) spec = spec_new (mode, "eth1");
    g_autoptr (Parsed) p = NULL;

    add_camera (spec, "front", "10.20.0.11");
    p = build_and_parse (spec);
    assert_ruleset (p, NF_ACCEPT);
    /* invalid packets to cameras are no isolation matter: still dropped */
    assert_verdict (expr_at (rule_at (p, "output", 0), 5), NF_DROP, NULL);
  }
}

static void
assert_empty (Parsed *p)
{
  g_assert_cmpstr (p->tables->str, ==, "new del");
  g_assert_cmpuint (g_hash_table_size (p->sets) + g_hash_table_size (p->objs) +
                    g_hash_table_size (p->chains) + g_hash_table_size (p->rules), ==, 0);
}

static void
test_flush (void)
{
  g_autoptr (GBytes) batch = cg_ruleset_build_flush (SEQ, FALSE);
  g_autoptr (GBytes) with_bridge = cg_ruleset_build_flush (SEQ, TRUE);
  g_autoptr (Parsed) p = parse (batch);
  g_autoptr (Parsed) pb = parse (with_bridge);

  assert_empty (p);
  g_assert_null (p->bridge);
  assert_empty (pb);
  g_assert_nonnull (pb->bridge);
  assert_empty (pb->bridge);
}

static void
test_interface_names (void)
{
  g_autoptr (CgRulesSpec) spec = spec_new (CG_ISOLATION_ENFORCE, "eth1,abcdefghijklmnop");
  g_autoptr (CgRulesSpec) longest = spec_new (CG_ISOLATION_ENFORCE, "abcdefghijklmno");
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) batch = cg_ruleset_build (spec, SEQ, &error);
  g_autoptr (Parsed) p = NULL;
  const char key[16] = "abcdefghijklmno";

  g_assert_null (batch);
  g_assert_error (error, CG_ERROR, CG_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message,
                            "camera_interface \"abcdefghijklmnop\": longer than 15 characters"));
  /* 15 characters fit, with the terminating NUL */
  p = build_and_parse (longest);
  g_assert_nonnull (find_elem (p, "camera_ifaces", key, sizeof key));
}

static void
test_bad_hole (void)
{
  g_autoptr (CgRulesSpec) spec = spec_new (CG_ISOLATION_ENFORCE, "eth1");
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) batch = NULL;

  add_camera (spec, "front", "10.20.0.11");
  add_hole (spec, "front", "10.20.0.11", "2001:db8::9");
  batch = cg_ruleset_build (spec, SEQ, &error);
  g_assert_null (batch);
  g_assert_error (error, CG_ERROR, CG_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "[front]"));
}

/* add_bridge is defined with the bridge tests below. */
static void add_bridge (CgRulesSpec *spec, const char *name, const char *ports);

/* Two cameras on one address: one element, counted as the first camera's,
 * and one warning, though both tables map the address. */
static void
test_shared_address (void)
{
  g_autoptr (CgRulesSpec) spec = spec_new (CG_ISOLATION_ENFORCE, "eth1");
  g_autoptr (Parsed) p = NULL;

  add_camera (spec, "front", "10.20.0.11");
  add_camera (spec, "front-hd", "10.20.0.11");
  add_bridge (spec, "br-cam", "vcam1");
  g_test_expect_message ("camgate-rules", G_LOG_LEVEL_WARNING,
                         "[front-hd] address 10.20.0.11 is camera front's too*");
  p = build_and_parse (spec);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (count_elems (p, "cameras4"), ==, 1);
  assert_camera (p, "front", "10.20.0.11");
  g_assert_true (g_hash_table_contains (p->objs, "cam_front-hd"));
}

static void
test_spec_from_config (void)
{
  static const char text[] =
    "[gateway]\ncamera_interface = eth1\nisolation = enforce\n"
    "[uplink]\nurl = rtsps://ingest.example.net/live/{camera}\n"
    "[camera front]\nurl = rtsp://10.20.0.11/stream1\n"
    "[camera back]\nurl = rtsp://user:pw@[2001:db8::5]:8554/live\n"
    "[camera yard]\nurl = rtsp://cam.local/stream1\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (CgConfig) config = cg_config_load_from_data (text, strlen (text), "camgate.conf",
                                                          &error);
  g_autoptr (CgRulesSpec) spec = NULL;
  g_autoptr (Parsed) p = NULL;
  const CgRulesCamera *cam;
  g_autofree char *a0 = NULL, *a1 = NULL;

  g_assert_no_error (error);
  spec = cg_rules_spec_from_config (config);
  g_assert_cmpint (spec->mode, ==, CG_ISOLATION_ENFORCE);
  g_assert_cmpstrv (spec->interfaces, ((const char *[]) { "eth1", NULL }));
  g_assert_cmpuint (spec->nflog_group, ==, CG_RULES_DEFAULT_NFLOG_GROUP);
  g_assert_cmpuint (spec->holes->len, ==, 0);
  /* yard has a host name: sealed by interface, with no address to count by */
  g_assert_cmpuint (spec->cameras->len, ==, 2);
  cam = g_ptr_array_index (spec->cameras, 0);
  a0 = g_inet_address_to_string (cam->address);
  g_assert_cmpstr (cam->camera_id, ==, "front");
  g_assert_cmpstr (a0, ==, "10.20.0.11");
  cam = g_ptr_array_index (spec->cameras, 1);
  a1 = g_inet_address_to_string (cam->address);
  g_assert_cmpstr (cam->camera_id, ==, "back");
  g_assert_cmpstr (a1, ==, "2001:db8::5");

  p = build_and_parse (spec);
  assert_camera (p, "back", "2001:db8::5");
  g_assert_false (g_hash_table_contains (p->objs, "cam_yard"));
}

/* ---- table bridge camgate ------------------------------------------------------ */

/* The spec owns its bridges: br-cam with @ports ("vcam1,vcam2"). */
static void
add_bridge (CgRulesSpec *spec, const char *name, const char *ports)
{
  CgRulesBridge *br = g_new0 (CgRulesBridge, 1);

  br->name = g_strdup (name);
  br->ports = g_strsplit (ports, ",", -1);
  g_ptr_array_add (spec->bridges, br);
}

/* The bridge table's sets: those of the inet table a violation reader
 * reads, with the same key types and flags, and the camera ports. */
static void
assert_bridge_sets (Parsed *b)
{
  static const struct {
    const char *name;
    guint32 flags, key_type, key_len, size;
    guint64 timeout_ms;
  } sets[] = {
    { "camera_ports", 0, 41, 16 },
    { "cameras4", 0, 7, 4 },
    { "cameras6", 0, 8, 16 },
    { "camera_counters4", NFT_SET_OBJECT, 7, 4 },
    { "camera_counters6", NFT_SET_OBJECT, 8, 16 },
    { "violations4", NFT_SET_TIMEOUT | NFT_SET_EVAL, 0x1c730d, 16, 65535, 3600000 },
    { "violations6", NFT_SET_TIMEOUT | NFT_SET_EVAL, 0x20830d, 40, 65535, 3600000 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (sets); i++) {
    struct nftnl_set *s = g_hash_table_lookup (b->sets, sets[i].name);

    g_test_message ("bridge set %s", sets[i].name);
    g_assert_nonnull (s);
    g_assert_cmpuint (nftnl_set_get_u32 (s, NFTNL_SET_FAMILY), ==, NFPROTO_BRIDGE);
    g_assert_cmpuint (nftnl_set_get_u32 (s, NFTNL_SET_FLAGS), ==, sets[i].flags);
    g_assert_cmpuint (nftnl_set_get_u32 (s, NFTNL_SET_KEY_TYPE), ==, sets[i].key_type);
    g_assert_cmpuint (nftnl_set_get_u32 (s, NFTNL_SET_KEY_LEN), ==, sets[i].key_len);
    g_assert_cmpuint (nftnl_set_get_u32 (s, NFTNL_SET_DESC_SIZE), ==, sets[i].size);
    g_assert_cmpuint (nftnl_set_get_u64 (s, NFTNL_SET_TIMEOUT), ==, sets[i].timeout_ms);
  }
  /* ...and the anonymous sets: { ip, ip6 }, 4 × { tcp, udp } */
  g_assert_cmpuint (g_hash_table_size (b->sets), ==, G_N_ELEMENTS (sets) + 5);
  g_assert_false (g_hash_table_contains (b->sets, "allow4"));
}

static void
assert_bridge_chains (Parsed *b)
{
  static const struct { const char *name; int hook; guint rules; } chains[] = {
    { "prerouting", 0, 1 },     /* NF_BR_PRE_ROUTING */
    { "forward", 2, 2 },        /* NF_BR_FORWARD */
    { "camera_port", -1, 3 },
    { "violation", -1, 10 },
  };

  g_assert_cmpuint (g_hash_table_size (b->chains), ==, G_N_ELEMENTS (chains));
  for (guint i = 0; i < G_N_ELEMENTS (chains); i++) {
    struct nftnl_chain *c = g_hash_table_lookup (b->chains, chains[i].name);

    g_test_message ("bridge chain %s", chains[i].name);
    g_assert_nonnull (c);
    g_assert_cmpuint (rule_count (b, chains[i].name), ==, chains[i].rules);
    g_assert_cmpuint (nftnl_chain_is_set (c, NFTNL_CHAIN_HOOKNUM), ==, chains[i].hook >= 0);
    if (chains[i].hook < 0)
      continue;
    g_assert_cmpuint (nftnl_chain_get_u32 (c, NFTNL_CHAIN_HOOKNUM), ==, chains[i].hook);
    g_assert_cmpint (nftnl_chain_get_s32 (c, NFTNL_CHAIN_PRIO), ==, -210);  /* filter - 10 */
    g_assert_cmpuint (nftnl_chain_get_u32 (c, NFTNL_CHAIN_POLICY), ==, NF_ACCEPT);
  }
}

/* The bridge table of a spec with bridge br-cam (ports vcam1, vcam2) and
 * cameras front (10.20.0.11) and back (2001:db8::5); @verdict: enforce's
 * NF_DROP or monitor's NF_ACCEPT. */
static void
assert_bridge_table (Parsed *b, int verdict)
{
  const char vcam1[16] = "vcam1", vcam2[16] = "vcam2";
  struct nftnl_rule *r;
  guint8 otherhost = 3;
  guint16 ipv4 = htons (0x0800), ipv6 = htons (0x86dd), arp = htons (0x0806);

  g_assert_cmpstr (b->tables->str, ==, "new del new");
  assert_bridge_sets (b);
  assert_bridge_chains (b);
  g_assert_cmpuint (count_elems (b, "camera_ports"), ==, 2);
  g_assert_nonnull (find_elem (b, "camera_ports", vcam1, sizeof vcam1));
  g_assert_nonnull (find_elem (b, "camera_ports", vcam2, sizeof vcam2));
  /* the same counters, for the same cameras */
  g_assert_cmpuint (g_hash_table_size (b->objs), ==, 3);
  assert_camera (b, "front", "10.20.0.11");
  assert_camera (b, "back", "2001:db8::5");
  g_assert_true (g_hash_table_contains (b->objs, "unknown"));

  /* iifname @camera_ports jump camera_port */
  r = rule_at (b, "prerouting", 0);
  assert_rule (b, "prerouting", 0, "meta lookup immediate");
  g_assert_cmpuint (nftnl_expr_get_u32 (expr_at (r, 0), NFTNL_EXPR_META_KEY), ==,
                    NFT_META_IIFNAME);
  g_assert_cmpstr (nftnl_expr_get_str (expr_at (r, 1), NFTNL_EXPR_LOOKUP_SET), ==,
                   "camera_ports");
  assert_verdict (expr_at (r, 2), NFT_JUMP, "camera_port");
  /* iifname @camera_ports drop; oifname @camera_ports drop: floods, uncounted */
  for (guint i = 0; i < 2; i++) {
    r = rule_at (b, "forward", i);
    assert_rule (b, "forward", i, "meta lookup immediate");
    g_assert_cmpuint (nftnl_expr_get_u32 (expr_at (r, 0), NFTNL_EXPR_META_KEY), ==,
                      i == 0 ? NFT_META_IIFNAME : NFT_META_OIFNAME);
    assert_verdict (expr_at (r, 2), verdict, NULL);
  }

  /* meta pkttype != other accept: to the gateway, or flooded */
  r = rule_at (b, "camera_port", 0);
  assert_rule (b, "camera_port", 0, "meta cmp immediate");
  g_assert_cmpuint (nftnl_expr_get_u32 (expr_at (r, 0), NFTNL_EXPR_META_KEY), ==,
                    NFT_META_PKTTYPE);
  g_assert_cmpuint (nftnl_expr_get_u32 (expr_at (r, 1), NFTNL_EXPR_CMP_OP), ==, NFT_CMP_NEQ);
  {
    guint32 len;
    const void *data = nftnl_expr_get (expr_at (r, 1), NFTNL_EXPR_CMP_DATA, &len);

    g_assert_cmpmem (data, len, &otherhost, 1);
  }
  assert_verdict (expr_at (r, 2), NF_ACCEPT, NULL);
  /* meta protocol != { ip, ip6 } drop */
  r = rule_at (b, "camera_port", 1);
  assert_rule (b, "camera_port", 1, "meta lookup immediate");
  g_assert_cmpuint (nftnl_expr_get_u32 (expr_at (r, 0), NFTNL_EXPR_META_KEY), ==,
                    NFT_META_PROTOCOL);
  g_assert_cmpuint (nftnl_expr_get_u32 (expr_at (r, 1), NFTNL_EXPR_LOOKUP_FLAGS), ==,
                    NFT_LOOKUP_F_INV);
  {
    g_autofree char *set = set_key (nftnl_expr_get_str (expr_at (r, 1), NFTNL_EXPR_LOOKUP_SET),
                                    nftnl_expr_get_u32 (expr_at (r, 1), NFTNL_EXPR_LOOKUP_SET_ID));

    g_assert_cmpuint (count_elems (b, set), ==, 2);
    g_assert_nonnull (find_elem (b, set, &ipv4, 2));
    g_assert_nonnull (find_elem (b, set, &ipv6, 2));
    g_assert_null (find_elem (b, set, &arp, 2));
  }
  assert_verdict (expr_at (r, 2), verdict, NULL);
  assert_verdict (expr_at (rule_at (b, "camera_port", 2), 0), NFT_GOTO, "violation");

  /* the violation chain: as in table inet, with meta protocol for meta nfproto */
  r = rule_at (b, "violation", 0);
  assert_rule (b, "violation", 0, "meta lookup meta cmp payload payload meta payload dynset");
  g_assert_cmpuint (nftnl_expr_get_u32 (expr_at (r, 2), NFTNL_EXPR_META_KEY), ==,
                    NFT_META_PROTOCOL);
  {
    guint32 len;
    const void *data = nftnl_expr_get (expr_at (r, 3), NFTNL_EXPR_CMP_DATA, &len);

    g_assert_cmpmem (data, len, &ipv4, 2);
  }
  g_assert_cmpstr (nftnl_expr_get_str (expr_at (r, 8), NFTNL_EXPR_DYNSET_SET_NAME), ==,
                   "violations4");
  g_assert_cmpstr (nftnl_expr_get_str (expr_at (rule_at (b, "violation", 2), 8),
                                       NFTNL_EXPR_DYNSET_SET_NAME), ==, "violations6");
  assert_rule (b, "violation", 4, "meta cmp payload lookup payload objref");
  assert_rule (b, "violation", 7, "meta cmp payload lookup objref");
  assert_rule (b, "violation", 8, "limit log");
  g_assert_cmpuint (nftnl_expr_get_u16 (expr_at (rule_at (b, "violation", 8), 1),
                                        NFTNL_EXPR_LOG_GROUP), ==, NFLOG_GROUP);
  g_assert_cmpstr (nftnl_expr_get_str (expr_at (rule_at (b, "violation", 8), 1),
                                       NFTNL_EXPR_LOG_PREFIX), ==, "camgate");
  assert_verdict (expr_at (rule_at (b, "violation", 9), 0), verdict, NULL);
}

static void
test_bridge (void)
{
  for (CgIsolationMode mode = CG_ISOLATION_ENFORCE; mode <= CG_ISOLATION_MONITOR; mode++) {
    g_autoptr (CgRulesSpec) spec = spec_new (mode, "br-cam,eth2");
    g_autoptr (Parsed) p = NULL;
    int verdict = mode == CG_ISOLATION_ENFORCE ? NF_DROP : NF_ACCEPT;

    add_camera (spec, "front", "10.20.0.11");
    add_camera (spec, "back", "2001:db8::5");
    add_bridge (spec, "br-cam", "vcam1,vcam2");
    p = build_and_parse (spec);
    /* table inet camgate is the same, bridge or not */
    assert_ruleset (p, verdict);
    g_assert_cmpuint (count_elems (p, "camera_ifaces"), ==, 2);
    g_assert_nonnull (p->bridge);
    assert_bridge_table (p->bridge, verdict);
  }
}

/* No bridge: no bridge table, unless one from before is to go. */
static void
test_no_bridge (void)
{
  g_autoptr (CgRulesSpec) spec = spec_new (CG_ISOLATION_ENFORCE, "eth1");
  g_autoptr (Parsed) p = NULL;
  g_autoptr (Parsed) stale = NULL;

  p = build_and_parse (spec);
  g_assert_null (p->bridge);
  spec->bridge_table_stale = TRUE;
  stale = build_and_parse (spec);
  assert_ruleset (stale, NF_DROP);
  g_assert_nonnull (stale->bridge);
  assert_empty (stale->bridge);
}

static void
test_bad_bridge_port (void)
{
  g_autoptr (CgRulesSpec) spec = spec_new (CG_ISOLATION_ENFORCE, "br-cam");
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) batch = NULL;

  add_bridge (spec, "br-cam", "vcam1,abcdefghijklmnop");
  batch = cg_ruleset_build (spec, SEQ, &error);
  g_assert_null (batch);
  g_assert_error (error, CG_ERROR, CG_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "bridge port \"abcdefghijklmnop\": longer than 15"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ruleset/one-camera", test_one_camera);
  g_test_add_func ("/ruleset/two-cameras", test_two_cameras);
  g_test_add_func ("/ruleset/256-cameras", test_many_cameras);
  g_test_add_func ("/ruleset/monitor", test_monitor);
  g_test_add_func ("/ruleset/flush", test_flush);
  g_test_add_func ("/ruleset/interface-names", test_interface_names);
  g_test_add_func ("/ruleset/bad-hole", test_bad_hole);
  g_test_add_func ("/ruleset/shared-address", test_shared_address);
  g_test_add_func ("/ruleset/spec-from-config", test_spec_from_config);
  g_test_add_func ("/ruleset/bridge", test_bridge);
  g_test_add_func ("/ruleset/no-bridge", test_no_bridge);
  g_test_add_func ("/ruleset/bad-bridge-port", test_bad_bridge_port);
  return g_test_run ();
}
