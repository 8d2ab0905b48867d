/* The isolation ruleset as one nftables netlink batch (the ruleset itself, in
 * nft syntax, is in ruleset.h). Pure: it builds bytes with libnftnl and sends
 * nothing, so the unit tests parse the batch back without root and rules/nft.c
 * hands it to the kernel as one atomic transaction.
 *
 * The batch is what nft 1.0.6 emits for the same ruleset, so that `nft list
 * ruleset` prints it back as written: the same registers (a concatenation's
 * fields in consecutive 32-bit registers, each rounded up to 4 bytes), the
 * same payload dependencies (meta nfproto before ip saddr), anonymous sets
 * for { a, b } and the key byte order nft keeps in a set's user data. This
 * file says what the ruleset is; ruleset-expr.c how nftables encodes it. */
#define G_LOG_DOMAIN "camgate-rules"

#include "ruleset.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/icmp6.h>
#include <string.h>

#include <libnftnl/chain.h>
#include <libnftnl/object.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter_ipv4.h>

#include "error.h"
#include "ruleset-expr.h"

#define DEFAULT_PRIORITY (NF_IP_PRI_FILTER - 10)
#define DEFAULT_BRIDGE_PRIORITY (-200 - 10)   /* NF_BR_PRI_FILTER_BRIDGED - 10 */
#define DEFAULT_DYNAMIC_SET_SIZE 65535
#define DEFAULT_NEWCONN_TIMEOUT_MS (10 * 1000)
#define DEFAULT_NEWCONN_RATE 50         /* new connections per second and camera, and burst */
#define DEFAULT_LOG_RATE 50             /* log lines per second */
#define DEFAULT_LOG_BURST 100
#define DEFAULT_LOG_PREFIX "camgate"
#define DEFAULT_UNKNOWN_COUNTER "unknown"

#define IFNAME_LEN 16                   /* IFNAMSIZ: the key of type ifname */

/* Where one address family keeps its addresses, and the sets named after it. */
typedef struct {
  guint8 nfproto;
  guint16 ethertype;            /* in table bridge */
  GSocketFamily socket_family;
  guint32 addr_len;
  guint32 saddr_offset;         /* in the network header */
  guint32 daddr_offset;
  guint32 addr_type;            /* CG_DT_IPADDR, CG_DT_IP6ADDR */
  const char *cameras;
  const char *counters;
  const char *allow;
  const char *violations;
  const char *newconn;
} Family;

static const Family families[] = {
  { NFPROTO_IPV4, ETH_P_IP, G_SOCKET_FAMILY_IPV4, 4, 12, 16, CG_DT_IPADDR,
    "cameras4", "camera_counters4", "allow4", "violations4", "newconn4" },
  { NFPROTO_IPV6, ETH_P_IPV6, G_SOCKET_FAMILY_IPV6, 16, 8, 24, CG_DT_IP6ADDR,
    "cameras6", "camera_counters6", "allow6", "violations6", "newconn6" },
};

/* ---- the table, objects and chains ------------------------------------------ */

static void
put_table (CgRulesBatch *b, guint16 type, guint16 flags)
{
  struct nftnl_table *t = nftnl_table_alloc ();

  nftnl_table_set_u32 (t, NFTNL_TABLE_FAMILY, b->family);
  nftnl_table_set_str (t, NFTNL_TABLE_NAME, CG_RULES_TABLE);
  if (type == NFT_MSG_NEWTABLE)
    nftnl_table_set_u32 (t, NFTNL_TABLE_FLAGS, 0);
  nftnl_table_nlmsg_build_payload (cg_rules_batch_msg (b, type, flags), t);
  cg_rules_batch_next (b);
  nftnl_table_free (t);
}

static void
put_counter (CgRulesBatch *b, const char *name)
{
  struct nftnl_obj *o = nftnl_obj_alloc ();

  nftnl_obj_set_u32 (o, NFTNL_OBJ_FAMILY, b->family);
  nftnl_obj_set_str (o, NFTNL_OBJ_TABLE, CG_RULES_TABLE);
  nftnl_obj_set_str (o, NFTNL_OBJ_NAME, name);
  nftnl_obj_set_u32 (o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
  nftnl_obj_set_u64 (o, NFTNL_OBJ_CTR_PKTS, 0);
  nftnl_obj_set_u64 (o, NFTNL_OBJ_CTR_BYTES, 0);
  nftnl_obj_nlmsg_build_payload (cg_rules_batch_msg (b, NFT_MSG_NEWOBJ, NLM_F_CREATE), o);
  cg_rules_batch_next (b);
  nftnl_obj_free (o);
}

static void
put_counters (CgRulesBatch *b, const CgRulesSpec *spec)
{
  for (guint i = 0; spec->cameras && i < spec->cameras->len; i++) {
    const CgRulesCamera *cam = g_ptr_array_index (spec->cameras, i);
    g_autofree char *name = g_strdup_printf ("cam_%s", cam->camera_id);

    put_counter (b, name);
  }
  put_counter (b, DEFAULT_UNKNOWN_COUNTER);
}

/* A regular chain when @hook is negative, else a base chain on that hook. */
static void
put_chain (CgRulesBatch *b, const char *name, int hook)
{
  struct nftnl_chain *c = nftnl_chain_alloc ();

  nftnl_chain_set_u32 (c, NFTNL_CHAIN_FAMILY, b->family);
  nftnl_chain_set_str (c, NFTNL_CHAIN_TABLE, CG_RULES_TABLE);
  nftnl_chain_set_str (c, NFTNL_CHAIN_NAME, name);
  if (hook >= 0) {
    nftnl_chain_set_str (c, NFTNL_CHAIN_TYPE, "filter");
    nftnl_chain_set_u32 (c, NFTNL_CHAIN_HOOKNUM, hook);
    nftnl_chain_set_s32 (c, NFTNL_CHAIN_PRIO, b->family == NFPROTO_BRIDGE
                         ? DEFAULT_BRIDGE_PRIORITY : DEFAULT_PRIORITY);
    nftnl_chain_set_u32 (c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
  }
  nftnl_chain_nlmsg_build_payload (cg_rules_batch_msg (b, NFT_MSG_NEWCHAIN, NLM_F_CREATE), c);
  cg_rules_batch_next (b);
  nftnl_chain_free (c);
}

static void
put_chains (CgRulesBatch *b)
{
  put_chain (b, "input", NF_INET_LOCAL_IN);
  put_chain (b, "forward", NF_INET_FORWARD);
  put_chain (b, "output", NF_INET_LOCAL_OUT);
  put_chain (b, "camera_to_gateway", -1);
  put_chain (b, "camera_forward", -1);
  put_chain (b, "into_cameras", -1);
  put_chain (b, "violation", -1);
}

/* ---- elements -------------------------------------------------------------- */

/* transfer full: an empty array of CgRulesElem */
static GArray *
elems_new (void)
{
  return g_array_new (FALSE, TRUE, sizeof (CgRulesElem));
}

/* A new zeroed element at the end of @elems. */
static CgRulesElem *
elems_add (GArray *elems)
{
  g_array_set_size (elems, elems->len + 1);
  return &g_array_index (elems, CgRulesElem, elems->len - 1);
}

/* Appends @address to @e's key, a field of a concatenation. */
static void
elem_append_address (CgRulesElem *e, GInetAddress *address)
{
  gsize len = g_inet_address_get_native_size (address);

  memcpy (e->key + e->key_len, g_inet_address_to_bytes (address), len);
  e->key_len += CG_RULE_REG_ROUND (len);
}

static void
elems_add_ifnames (GArray *elems, char **names)
{
  for (char **name = names; name && *name; name++) {
    CgRulesElem *e = elems_add (elems);

    memcpy (e->key, *name, strlen (*name));   /* validated: shorter than IFNAME_LEN */
    e->key_len = IFNAME_LEN;
  }
}

/* The addresses of @spec's cameras in family @f, each once, with their
 * counters' names if @counters (the first camera to claim an address counts
 * its violations, and if @warn the others are told). transfer full */
static GArray *
camera_elems (const CgRulesSpec *spec, const Family *f, gboolean counters, gboolean warn)
{
  GArray *elems = elems_new ();
  g_autoptr (GHashTable) owners = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; spec->cameras && i < spec->cameras->len; i++) {
    const CgRulesCamera *cam = g_ptr_array_index (spec->cameras, i);
    char *address;
    const char *owner;
    CgRulesElem *e;

    if (!cam->address || g_inet_address_get_family (cam->address) != f->socket_family)
      continue;
    address = g_inet_address_to_string (cam->address);
    if ((owner = g_hash_table_lookup (owners, address))) {
      if (counters && warn)
        g_warning ("[%s] address %s is camera %s's too: its blocked packets count as %s's",
                   cam->camera_id, address, owner, owner);
      g_free (address);
      continue;
    }
    g_hash_table_insert (owners, address, cam->camera_id);
    e = elems_add (elems);
    elem_append_address (e, cam->address);
    if (counters)
      g_snprintf (e->objref, sizeof e->objref, "cam_%s", cam->camera_id);
  }
  return elems;
}

/* camera . peer, until each hole's timeout. transfer full */
static GArray *
hole_elems (const CgRulesSpec *spec, const Family *f)
{
  GArray *elems = elems_new ();

  for (guint i = 0; spec->holes && i < spec->holes->len; i++) {
    const CgRulesHole *hole = g_ptr_array_index (spec->holes, i);
    CgRulesElem *e;

    /* A hole with no time left is closed; 0 would mean "never expires". */
    if (g_inet_address_get_family (hole->camera) != f->socket_family || hole->timeout_ms == 0)
      continue;
    e = elems_add (elems);
    elem_append_address (e, hole->camera);
    elem_append_address (e, hole->peer);
    e->timeout_ms = hole->timeout_ms;
  }
  return elems;
}

static void
put_set_array (CgRulesBatch *b, const CgRulesSetDesc *d, GArray *elems)
{
  cg_rules_batch_put_set (b, d, (const CgRulesElem *) elems->data, elems->len);
}

/* cameras4/6 and camera_counters4/6, which attribute violations to cameras. */
static void
put_camera_sets (CgRulesBatch *b, const CgRulesSpec *spec)
{
  for (guint i = 0; i < G_N_ELEMENTS (families); i++) {
    const Family *f = &families[i];
    g_autoptr (GArray) elems = camera_elems (spec, f, FALSE, FALSE);
    CgRulesSetDesc d = { f->cameras, 0, f->addr_type, f->addr_len, CG_BYTEORDER_BIG };

    put_set_array (b, &d, elems);
  }
  for (guint i = 0; i < G_N_ELEMENTS (families); i++) {
    const Family *f = &families[i];
    g_autoptr (GArray) elems = camera_elems (spec, f, TRUE, b->family == NFPROTO_INET);   /* warn once */
    CgRulesSetDesc d = { f->counters, NFT_SET_OBJECT, f->addr_type, f->addr_len,
                         CG_BYTEORDER_BIG, NFT_OBJECT_COUNTER };

    put_set_array (b, &d, elems);
  }
}

/* allow4/6: the temporary holes. */
static void
put_hole_sets (CgRulesBatch *b, const CgRulesSpec *spec)
{
  for (guint i = 0; i < G_N_ELEMENTS (families); i++) {
    const Family *f = &families[i];
    g_autoptr (GArray) elems = hole_elems (spec, f);
    CgRulesSetDesc d = { f->allow, NFT_SET_TIMEOUT, CG_DT_CONCAT (f->addr_type, f->addr_type),
                         2 * f->addr_len, CG_BYTEORDER_NONE };

    put_set_array (b, &d, elems);
  }
}

/* violations4/6, which the violation chain fills. */
static void
put_violation_sets (CgRulesBatch *b)
{
  for (guint i = 0; i < G_N_ELEMENTS (families); i++) {
    const Family *f = &families[i];
    CgRulesSetDesc d = { f->violations, NFT_SET_EVAL | NFT_SET_TIMEOUT,
                         CG_DT_CONCAT (CG_DT_CONCAT (CG_DT_CONCAT (f->addr_type, f->addr_type),
                                                     CG_DT_INET_PROTOCOL), CG_DT_INET_SERVICE),
                         2 * f->addr_len + CG_RULE_REG_ROUND (1) + CG_RULE_REG_ROUND (2),
                         CG_BYTEORDER_NONE, 0, DEFAULT_DYNAMIC_SET_SIZE,
                         CG_RULES_VIOLATION_TIMEOUT_MS };

    cg_rules_batch_put_set (b, &d, NULL, 0);
  }
}

/* newconn4/6, which the cap on new connections fills. */
static void
put_newconn_sets (CgRulesBatch *b)
{
  for (guint i = 0; i < G_N_ELEMENTS (families); i++) {
    const Family *f = &families[i];
    CgRulesSetDesc d = { f->newconn, NFT_SET_EVAL | NFT_SET_TIMEOUT, f->addr_type, f->addr_len,
                         CG_BYTEORDER_BIG, 0, DEFAULT_DYNAMIC_SET_SIZE,
                         DEFAULT_NEWCONN_TIMEOUT_MS };

    cg_rules_batch_put_set (b, &d, NULL, 0);
  }
}

static void
put_sets (CgRulesBatch *b, const CgRulesSpec *spec)
{
  g_autoptr (GArray) ifaces = elems_new ();
  CgRulesSetDesc d = { "camera_ifaces", 0, CG_DT_IFNAME, IFNAME_LEN, CG_BYTEORDER_HOST };

  elems_add_ifnames (ifaces, spec->interfaces);
  put_set_array (b, &d, ifaces);
  put_camera_sets (b, spec);
  put_hole_sets (b, spec);
  put_violation_sets (b);
  put_newconn_sets (b);
}

/* ---- rules ----------------------------------------------------------------- */

static void
put_verdict_rule (CgRulesBatch *b, const char *chain, int verdict, const char *target)
{
  struct nftnl_rule *r = cg_rule_new (chain);

  cg_rule_add_verdict (r, verdict, target);
  cg_rules_batch_put_rule (b, r);
}

/* "iifname @SET" (@meta_key: NFT_META_IIFNAME) or "oifname @SET". transfer full */
static struct nftnl_rule *
rule_on_ifnames (const char *chain, guint32 meta_key, const char *set)
{
  struct nftnl_rule *r = cg_rule_new (chain);

  cg_rule_add_meta (r, meta_key, NFT_REG_1);
  cg_rule_add_lookup (r, NFT_REG_1, set, 0, FALSE);
  return r;
}

/* "iifname @camera_ifaces" or "oifname @camera_ifaces". transfer full */
static struct nftnl_rule *
rule_on_camera_ifaces (const char *chain, guint32 meta_key)
{
  return rule_on_ifnames (chain, meta_key, "camera_ifaces");
}

/* What nft writes before a field of the network header: "meta nfproto
 * ipv4" in table inet, "meta protocol ip" (the frame's ethertype) in table
 * bridge, where nfproto is always bridge. */
static void
match_family (const CgRulesBatch *b, struct nftnl_rule *r, const Family *f)
{
  guint16 ethertype = htons (f->ethertype);

  if (b->family != NFPROTO_BRIDGE) {
    cg_rule_match_nfproto (r, f->nfproto);
    return;
  }
  cg_rule_add_meta (r, NFT_META_PROTOCOL, NFT_REG_1);
  cg_rule_add_cmp (r, NFT_CMP_EQ, NFT_REG_1, &ethertype, sizeof ethertype);
}

/* Loads the source (or destination) address into the concatenation at byte
 * @offset; returns the offset of the next field. */
static guint32
load_address (struct nftnl_rule *r, const Family *f, gboolean source, guint32 offset)
{
  cg_rule_add_payload (r, NFT_PAYLOAD_NETWORK_HEADER,
                       source ? f->saddr_offset : f->daddr_offset, f->addr_len,
                       cg_rule_reg_at (offset));
  return offset + CG_RULE_REG_ROUND (f->addr_len);
}

static void
put_base_rules (CgRulesBatch *b)
{
  struct nftnl_rule *r;

  r = rule_on_camera_ifaces ("input", NFT_META_IIFNAME);
  cg_rule_add_verdict (r, NFT_JUMP, "camera_to_gateway");
  cg_rules_batch_put_rule (b, r);
  r = rule_on_camera_ifaces ("forward", NFT_META_IIFNAME);
  cg_rule_add_verdict (r, NFT_JUMP, "camera_forward");
  cg_rules_batch_put_rule (b, r);
  r = rule_on_camera_ifaces ("forward", NFT_META_OIFNAME);
  cg_rule_add_verdict (r, NFT_JUMP, "into_cameras");
  cg_rules_batch_put_rule (b, r);
  r = rule_on_camera_ifaces ("output", NFT_META_OIFNAME);
  cg_rule_match_ct_state (r, NF_CT_STATE_INVALID_BIT);
  cg_rule_add_verdict (r, NF_DROP, NULL);
  cg_rules_batch_put_rule (b, r);
}

/* ct state new update @newconnN { ip saddr limit rate over 50/second burst 50
 * packets } goto violation */
static void
put_newconn_cap (CgRulesBatch *b, const Family *f)
{
  struct nftnl_rule *r = cg_rule_new ("camera_to_gateway");

  cg_rule_match_ct_state (r, NF_CT_STATE_BIT (IP_CT_NEW));
  cg_rule_match_nfproto (r, f->nfproto);
  load_address (r, f, TRUE, 0);
  cg_rule_add_dynset_update (r, NFT_REG_1, f->newconn,
                             cg_rule_expr_limit_new (DEFAULT_NEWCONN_RATE,
                                                     DEFAULT_NEWCONN_RATE, TRUE));
  cg_rule_add_verdict (r, NFT_GOTO, "violation");
  cg_rules_batch_put_rule (b, r);
}

/* icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } accept */
static void
put_neighbour_discovery (CgRulesBatch *b)
{
  static const guint8 types[] = { ND_NEIGHBOR_SOLICIT, ND_NEIGHBOR_ADVERT, ND_ROUTER_SOLICIT };
  guint32 id = cg_rules_batch_put_anonymous_set (b, CG_DT_ICMP6_TYPE, 1, CG_BYTEORDER_BIG,
                                                 types, G_N_ELEMENTS (types));
  struct nftnl_rule *r = cg_rule_new ("camera_to_gateway");

  cg_rule_match_nfproto (r, NFPROTO_IPV6);
  cg_rule_match_l4proto (r, IPPROTO_ICMPV6);
  cg_rule_add_payload (r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG_1);
  cg_rule_add_lookup (r, NFT_REG_1, CG_RULES_ANON_SET, id, FALSE);
  cg_rule_add_verdict (r, NF_ACCEPT, NULL);
  cg_rules_batch_put_rule (b, r);
}

/* udp dport { PORTS } accept; "tcp dport PORT accept" for a single port */
static void
put_service (CgRulesBatch *b, guint8 l4proto, const guint16 *ports, guint n)
{
  guint16 keys[8];
  guint32 id = 0;
  struct nftnl_rule *r;

  g_assert (n > 0 && n <= G_N_ELEMENTS (keys));
  for (guint i = 0; i < n; i++)
    keys[i] = htons (ports[i]);
  if (n > 1)
    id = cg_rules_batch_put_anonymous_set (b, CG_DT_INET_SERVICE, sizeof keys[0],
                                           CG_BYTEORDER_BIG, keys, n);
  r = cg_rule_new ("camera_to_gateway");
  cg_rule_match_l4proto (r, l4proto);
  cg_rule_add_payload (r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, sizeof keys[0], NFT_REG_1);
  if (n > 1)
    cg_rule_add_lookup (r, NFT_REG_1, CG_RULES_ANON_SET, id, FALSE);
  else
    cg_rule_add_cmp (r, NFT_CMP_EQ, NFT_REG_1, keys, sizeof keys[0]);
  cg_rule_add_verdict (r, NF_ACCEPT, NULL);
  cg_rules_batch_put_rule (b, r);
}

static void
put_camera_to_gateway (CgRulesBatch *b)
{
  static const guint16 dhcp[] = { 67, 547 }, dns_ntp[] = { 53, 123 }, dns[] = { 53 };
  static const guint16 discovery[] = { 1900, 3702 };    /* SSDP, WS-Discovery */
  struct nftnl_rule *r = cg_rule_new ("camera_to_gateway");

  cg_rule_match_ct_state (r, NF_CT_STATE_BIT (IP_CT_ESTABLISHED) |
                             NF_CT_STATE_BIT (IP_CT_RELATED));
  cg_rule_add_verdict (r, NF_ACCEPT, NULL);
  cg_rules_batch_put_rule (b, r);
  r = cg_rule_new ("camera_to_gateway");
  cg_rule_match_ct_state (r, NF_CT_STATE_INVALID_BIT);
  cg_rule_add_verdict (r, NFT_GOTO, "violation");
  cg_rules_batch_put_rule (b, r);
  for (guint i = 0; i < G_N_ELEMENTS (families); i++)
    put_newconn_cap (b, &families[i]);
  put_neighbour_discovery (b);
  put_service (b, IPPROTO_UDP, dhcp, G_N_ELEMENTS (dhcp));
  put_service (b, IPPROTO_UDP, dns_ntp, G_N_ELEMENTS (dns_ntp));
  put_service (b, IPPROTO_TCP, dns, G_N_ELEMENTS (dns));
  put_service (b, IPPROTO_UDP, discovery, G_N_ELEMENTS (discovery));
  put_verdict_rule (b, "camera_to_gateway", NFT_GOTO, "violation");
}

/* "ip saddr . ip daddr @allow4 accept" when the camera is the source, else
 * "ip daddr . ip saddr @allow4 accept": the key is always camera . peer. */
static void
put_hole (CgRulesBatch *b, const char *chain, const Family *f, gboolean camera_is_source)
{
  struct nftnl_rule *r = cg_rule_new (chain);
  guint32 offset;

  cg_rule_match_nfproto (r, f->nfproto);
  offset = load_address (r, f, camera_is_source, 0);
  load_address (r, f, !camera_is_source, offset);
  cg_rule_add_lookup (r, NFT_REG_1, f->allow, 0, FALSE);
  cg_rule_add_verdict (r, NF_ACCEPT, NULL);
  cg_rules_batch_put_rule (b, r);
}

/* meta pkttype { broadcast, multicast } drop: with bridge-nf-call-iptables
 * on, a bridge's flooded copies of a camera's SSDP, MLD and router
 * solicitations to the other camera ports cross the forward hook. They are
 * dropped as noise, never counted as violations (the gateway's own copy
 * goes to the input hook). Nothing routed is ever a link-layer broadcast. */
static void
put_flood_drop (CgRulesBatch *b, int verdict)
{
  static const guint8 types[] = { PACKET_BROADCAST, PACKET_MULTICAST };
  guint32 id = cg_rules_batch_put_anonymous_set (b, CG_DT_PKTTYPE, 1, CG_BYTEORDER_HOST,
                                                 types, G_N_ELEMENTS (types));
  struct nftnl_rule *r = cg_rule_new ("camera_forward");

  cg_rule_add_meta (r, NFT_META_PKTTYPE, NFT_REG_1);
  cg_rule_add_lookup (r, NFT_REG_1, CG_RULES_ANON_SET, id, FALSE);
  cg_rule_add_verdict (r, verdict, NULL);
  cg_rules_batch_put_rule (b, r);
}

/* camera_forward and into_cameras; @verdict: NF_DROP, or NF_ACCEPT to monitor */
static void
put_forwarding (CgRulesBatch *b, int verdict)
{
  struct nftnl_rule *r;

  put_flood_drop (b, verdict);
  for (guint i = 0; i < G_N_ELEMENTS (families); i++)
    put_hole (b, "camera_forward", &families[i], TRUE);
  put_verdict_rule (b, "camera_forward", NFT_GOTO, "violation");
  for (guint i = 0; i < G_N_ELEMENTS (families); i++)
    put_hole (b, "into_cameras", &families[i], FALSE);
  r = cg_rule_new ("into_cameras");
  cg_rule_add_counter (r);
  cg_rule_add_verdict (r, verdict, NULL);
  cg_rules_batch_put_rule (b, r);
}

/* meta l4proto { tcp, udp } update @violationsN { ip saddr . ip daddr .
 * meta l4proto . th dport counter }, or for other protocols (!@ports) with
 * port 0. The key: both addresses, then protocol and port, 4 bytes each. */
static void
put_violation_record (CgRulesBatch *b, const Family *f, gboolean ports)
{
  static const guint8 tcp_udp[] = { IPPROTO_TCP, IPPROTO_UDP };
  static const guint16 no_port = 0;
  guint32 id = cg_rules_batch_put_anonymous_set (b, CG_DT_INET_PROTOCOL, 1, CG_BYTEORDER_HOST,
                                                 tcp_udp, G_N_ELEMENTS (tcp_udp));
  struct nftnl_rule *r = cg_rule_new ("violation");
  guint32 offset;

  cg_rule_add_meta (r, NFT_META_L4PROTO, NFT_REG_1);
  cg_rule_add_lookup (r, NFT_REG_1, CG_RULES_ANON_SET, id, !ports);
  match_family (b, r, f);
  offset = load_address (r, f, TRUE, 0);
  offset = load_address (r, f, FALSE, offset);
  cg_rule_add_meta (r, NFT_META_L4PROTO, cg_rule_reg_at (offset));
  offset += CG_RULE_REG_ROUND (1);
  if (ports)
    cg_rule_add_payload (r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, sizeof no_port,
                         cg_rule_reg_at (offset));
  else
    cg_rule_add_immediate (r, cg_rule_reg_at (offset), &no_port, sizeof no_port);
  cg_rule_add_dynset_update (r, NFT_REG_1, f->violations, cg_rule_expr_counter_new ());
  cg_rules_batch_put_rule (b, r);
}

/* "ip saddr @cameras4 counter name ip saddr map @camera_counters4" if
 * @known, else "ip saddr != @cameras4 counter name "unknown"". */
static void
put_violation_counter (CgRulesBatch *b, const Family *f, gboolean known)
{
  struct nftnl_rule *r = cg_rule_new ("violation");

  match_family (b, r, f);
  load_address (r, f, TRUE, 0);
  cg_rule_add_lookup (r, NFT_REG_1, f->cameras, 0, !known);
  if (known) {
    load_address (r, f, TRUE, 0);
    cg_rule_add_counter_mapped (r, NFT_REG_1, f->counters);
  } else {
    cg_rule_add_counter_named (r, DEFAULT_UNKNOWN_COUNTER);
  }
  cg_rules_batch_put_rule (b, r);
}

static void
put_violation (CgRulesBatch *b, guint16 nflog_group, int verdict)
{
  struct nftnl_rule *r;

  for (guint i = 0; i < G_N_ELEMENTS (families); i++) {
    put_violation_record (b, &families[i], TRUE);
    put_violation_record (b, &families[i], FALSE);
  }
  for (guint i = 0; i < G_N_ELEMENTS (families); i++)
    put_violation_counter (b, &families[i], TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (families); i++)
    put_violation_counter (b, &families[i], FALSE);
  r = cg_rule_new ("violation");
  nftnl_rule_add_expr (r, cg_rule_expr_limit_new (DEFAULT_LOG_RATE, DEFAULT_LOG_BURST, FALSE));
  cg_rule_add_log (r, nflog_group, DEFAULT_LOG_PREFIX);
  cg_rules_batch_put_rule (b, r);
  put_verdict_rule (b, "violation", verdict, NULL);
}

/* ---- table bridge camgate -------------------------------------------------- */

/* The ports of every camera bridge. transfer full */
static GArray *
port_elems (const CgRulesSpec *spec)
{
  GArray *elems = elems_new ();

  for (guint i = 0; i < spec->bridges->len; i++)
    elems_add_ifnames (elems, ((const CgRulesBridge *) g_ptr_array_index (spec->bridges, i))->ports);
  return elems;
}

/* prerouting and forward: frames from (and to) camera ports. */
static void
put_bridge_base_rules (CgRulesBatch *b, int verdict)
{
  struct nftnl_rule *r;

  r = rule_on_ifnames ("prerouting", NFT_META_IIFNAME, "camera_ports");
  cg_rule_add_verdict (r, NFT_JUMP, "camera_port");
  cg_rules_batch_put_rule (b, r);
  r = rule_on_ifnames ("forward", NFT_META_IIFNAME, "camera_ports");
  cg_rule_add_verdict (r, verdict, NULL);
  cg_rules_batch_put_rule (b, r);
  r = rule_on_ifnames ("forward", NFT_META_OIFNAME, "camera_ports");
  cg_rule_add_verdict (r, verdict, NULL);
  cg_rules_batch_put_rule (b, r);
}

/* meta pkttype != other accept; meta protocol != { ip, ip6 } drop; goto violation */
static void
put_camera_port (CgRulesBatch *b, int verdict)
{
  static const guint8 otherhost = PACKET_OTHERHOST;
  const guint16 ip[] = { htons (ETH_P_IP), htons (ETH_P_IPV6) };
  guint32 id;
  struct nftnl_rule *r = cg_rule_new ("camera_port");

  cg_rule_add_meta (r, NFT_META_PKTTYPE, NFT_REG_1);
  cg_rule_add_cmp (r, NFT_CMP_NEQ, NFT_REG_1, &otherhost, sizeof otherhost);
  cg_rule_add_verdict (r, NF_ACCEPT, NULL);
  cg_rules_batch_put_rule (b, r);

  id = cg_rules_batch_put_anonymous_set (b, CG_DT_ETHERTYPE, sizeof ip[0], CG_BYTEORDER_BIG,
                                         ip, G_N_ELEMENTS (ip));
  r = cg_rule_new ("camera_port");
  cg_rule_add_meta (r, NFT_META_PROTOCOL, NFT_REG_1);
  cg_rule_add_lookup (r, NFT_REG_1, CG_RULES_ANON_SET, id, TRUE);
  cg_rule_add_verdict (r, verdict, NULL);
  cg_rules_batch_put_rule (b, r);
  put_verdict_rule (b, "camera_port", NFT_GOTO, "violation");
}

/* Table bridge camgate, after table inet camgate in the same batch; the
 * batch writes the inet family again after it. */
static void
put_bridge_table (CgRulesBatch *b, const CgRulesSpec *spec, int verdict)
{
  g_autoptr (GArray) ports = port_elems (spec);
  CgRulesSetDesc d = { "camera_ports", 0, CG_DT_IFNAME, IFNAME_LEN, CG_BYTEORDER_HOST };

  b->family = NFPROTO_BRIDGE;
  put_table (b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
  put_table (b, NFT_MSG_DELTABLE, 0);
  put_table (b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
  put_counters (b, spec);
  put_set_array (b, &d, ports);
  put_camera_sets (b, spec);
  put_violation_sets (b);
  put_chain (b, "prerouting", NF_INET_PRE_ROUTING);   /* NF_BR_PRE_ROUTING, the same number */
  put_chain (b, "forward", NF_INET_FORWARD);          /* NF_BR_FORWARD */
  put_chain (b, "camera_port", -1);
  put_chain (b, "violation", -1);
  put_bridge_base_rules (b, verdict);
  put_camera_port (b, verdict);
  put_violation (b, spec->nflog_group, verdict);
  b->family = NFPROTO_INET;
}

/* Table bridge camgate goes (new, then delete: whether or not it exists). */
static void
put_bridge_table_removal (CgRulesBatch *b)
{
  b->family = NFPROTO_BRIDGE;
  put_table (b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
  put_table (b, NFT_MSG_DELTABLE, 0);
  b->family = NFPROTO_INET;
}

/* ---- public ---------------------------------------------------------------- */

GBytes *
cg_ruleset_build (const CgRulesSpec *spec, guint32 seq, GError **error)
{
  /* isolation = off is no ruleset; should one be asked for, it drops nothing. */
  int verdict = spec->mode == CG_ISOLATION_ENFORCE ? NF_DROP : NF_ACCEPT;
  GBytes *batch;
  CgRulesBatch b;

  if (!cg_rules_spec_validate (spec, error))
    return NULL;
  cg_rules_batch_init (&b, seq);
  /* Create (nothing if it exists), delete, create: replaced whole, atomically. */
  put_table (&b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
  put_table (&b, NFT_MSG_DELTABLE, 0);
  put_table (&b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
  put_counters (&b, spec);      /* before the maps that name them */
  put_sets (&b, spec);
  put_chains (&b);              /* all of them before the rules that jump to them */
  put_base_rules (&b);
  put_camera_to_gateway (&b);
  put_forwarding (&b, verdict);
  put_violation (&b, spec->nflog_group, verdict);
  if (spec->bridges && spec->bridges->len)
    put_bridge_table (&b, spec, verdict);
  else if (spec->bridge_table_stale)
    put_bridge_table_removal (&b);
  batch = cg_rules_batch_finish (&b);
  g_debug ("ruleset (isolation = %s): %u camera address(es), %u hole(s), %u bridge(s), %"
           G_GSIZE_FORMAT " bytes", cg_isolation_mode_to_string (spec->mode),
           spec->cameras ? spec->cameras->len : 0, spec->holes ? spec->holes->len : 0,
           spec->bridges ? spec->bridges->len : 0, g_bytes_get_size (batch));
  return batch;
}

GBytes *
cg_ruleset_build_flush (guint32 seq, gboolean bridge)
{
  CgRulesBatch b;

  cg_rules_batch_init (&b, seq);
  put_table (&b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
  put_table (&b, NFT_MSG_DELTABLE, 0);
  if (bridge)
    put_bridge_table_removal (&b);
  return cg_rules_batch_finish (&b);
}

GBytes *
cg_ruleset_build_hole (const CgRulesHole *hole, guint32 seq)
{
  const Family *f = &families[g_inet_address_get_family (hole->camera) ==
                              G_SOCKET_FAMILY_IPV4 ? 0 : 1];
  CgRulesElem key = { 0 }, with_timeout;
  CgRulesBatch b;

  elem_append_address (&key, hole->camera);
  elem_append_address (&key, hole->peer);
  with_timeout = key;
  with_timeout.timeout_ms = hole->timeout_ms;
  /* Add (nothing if it is open), delete, add: open with the full time. */
  cg_rules_batch_init (&b, seq);
  cg_rules_batch_put_elements (&b, NFT_MSG_NEWSETELEM, f->allow, &with_timeout, 1);
  cg_rules_batch_put_elements (&b, NFT_MSG_DELSETELEM, f->allow, &key, 1);
  cg_rules_batch_put_elements (&b, NFT_MSG_NEWSETELEM, f->allow, &with_timeout, 1);
  return cg_rules_batch_finish (&b);
}
