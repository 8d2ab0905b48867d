/* The building blocks of the ruleset's netlink batch, written with libnftnl
 * as nft 1.0.6 writes them: the batch itself, sets with their elements, and
 * rule expressions. The ruleset builder (ruleset.c) says what the ruleset is;
 * this says how nftables encodes it. Private to rules/. */
#pragma once

#include <glib.h>
#include <stdio.h>            /* libnftnl/expr.h uses FILE without it */
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>

G_BEGIN_DECLS

/* nft's datatype numbers (nftables src/datatype.h), which nft list reads back. */
enum {
  CG_DT_IPADDR = 7,
  CG_DT_IP6ADDR = 8,
  CG_DT_ETHERTYPE = 10,
  CG_DT_INET_PROTOCOL = 12,
  CG_DT_INET_SERVICE = 13,
  CG_DT_ICMP6_TYPE = 29,
  CG_DT_PKTTYPE = 31,
  CG_DT_IFNAME = 41,
};
#define CG_DT_CONCAT(a, b) (((a) << 6) | (b))

/* nft's byte orders of a set's key, kept in its user data. */
enum {
  CG_BYTEORDER_NONE = 0,        /* what nft stores for a concatenation */
  CG_BYTEORDER_HOST = 1,
  CG_BYTEORDER_BIG = 2,
};

/* Bytes a field of @len takes in a concatenation: registers are 32 bits. */
#define CG_RULE_REG_ROUND(len) (((len) + 3u) & ~3u)
#define CG_RULES_MAX_KEY_LEN 64       /* NFT_REG32_00 .. NFT_REG32_15 */
#define CG_RULES_ANON_SET "__set%d"   /* the kernel names it; a lookup finds it by id */

/* The netlink batch being written: messages go into an mnl batch page, which
 * moves into @out each time it fills, so the batch has no size limit. */
typedef struct {
  char *page_buf;               /* owned: two pages, the second for an overflowing message */
  struct mnl_nlmsg_batch *page; /* owned */
  GByteArray *out;              /* owned */
  guint32 seq;                  /* of the next message */
  guint32 set_id;               /* of the next set */
  guint8 family;                /* of the table being written: NFPROTO_INET (at first), NFPROTO_BRIDGE */
} CgRulesBatch;

typedef struct {
  const char *name;
  guint32 flags;                /* NFT_SET_* */
  guint32 key_type;             /* CG_DT_*, concatenated with CG_DT_CONCAT */
  guint32 key_len;              /* bytes; each concatenated field rounded up to 4 */
  guint32 byteorder;            /* CG_BYTEORDER_* of the key */
  guint32 obj_type;             /* NFT_OBJECT_COUNTER for an object map, else 0 */
  guint32 size;                 /* 0: unbounded */
  guint64 timeout_ms;           /* default element timeout; 0: none */
} CgRulesSetDesc;

typedef struct {
  guint8 key[CG_RULES_MAX_KEY_LEN];
  guint32 key_len;
  char objref[40];              /* a counter's name in an object map ("cam_" ID), else "" */
  guint64 timeout_ms;           /* 0: the set's */
} CgRulesElem;

/* Starts @b with BATCH_BEGIN; messages get sequence numbers from @seq on. */
void cg_rules_batch_init (CgRulesBatch *b, guint32 seq);
/* A new nftables message (@b's family, asking for an ACK) in @b; write its
 * payload, then close it with cg_rules_batch_next(). */
struct nlmsghdr *cg_rules_batch_msg (CgRulesBatch *b, guint16 type, guint16 flags);
void cg_rules_batch_next (CgRulesBatch *b);
/* Ends @b with BATCH_END and releases it. transfer full */
GBytes *cg_rules_batch_finish (CgRulesBatch *b);

/* NEWSET for @d, then NEWSETELEM messages for the @n @elems (a few dozen a
 * message). Returns the set's id in this batch. */
guint32 cg_rules_batch_put_set (CgRulesBatch *b, const CgRulesSetDesc *d,
                                const CgRulesElem *elems, guint n);
/* NEWSETELEM or DELSETELEM (@type) for @n @elems of set @name, which the
 * table already has. */
void cg_rules_batch_put_elements (CgRulesBatch *b, guint16 type, const char *name,
                                  const CgRulesElem *elems, guint n);
/* The constant set of one rule, { a, b, ... }: @n keys of @key_len bytes
 * each. Returns its id, by which the rule's lookup finds it. */
guint32 cg_rules_batch_put_anonymous_set (CgRulesBatch *b, guint32 key_type, guint32 key_len,
                                          guint32 byteorder, const void *keys, guint n);
/* Appends @r to its chain, in the table being written; frees @r. */
void cg_rules_batch_put_rule (CgRulesBatch *b, struct nftnl_rule *r);

/* The register holding byte @offset of a concatenation that starts in
 * NFT_REG32_00: NFT_REG_n where the field starts a 128-bit register, else
 * NFT_REG32_nn (both name the same storage; nft uses the former). */
guint32 cg_rule_reg_at (guint32 offset);

/* transfer full: a rule for @chain of table camgate (its family is the
 * batch's, when it is put in the batch). Each cg_rule_add_*
 * appends an expression to @r, which owns it. */
struct nftnl_rule *cg_rule_new (const char *chain);

void cg_rule_add_meta (struct nftnl_rule *r, guint32 key, guint32 dreg);
void cg_rule_add_payload (struct nftnl_rule *r, guint32 base, guint32 offset, guint32 len,
                          guint32 dreg);
void cg_rule_add_cmp (struct nftnl_rule *r, guint32 op, guint32 sreg, const void *data,
                      guint32 len);
/* @set_id: the set's id in this batch (for an anonymous set), or 0 */
void cg_rule_add_lookup (struct nftnl_rule *r, guint32 sreg, const char *set, guint32 set_id,
                         gboolean inverted);
/* NF_ACCEPT, NF_DROP, NFT_JUMP or NFT_GOTO (with @chain) */
void cg_rule_add_verdict (struct nftnl_rule *r, int verdict, const char *chain);
void cg_rule_add_immediate (struct nftnl_rule *r, guint32 dreg, const void *data, guint32 len);
void cg_rule_add_counter (struct nftnl_rule *r);
void cg_rule_add_log (struct nftnl_rule *r, guint16 group, const char *prefix);
/* counter name "@name" */
void cg_rule_add_counter_named (struct nftnl_rule *r, const char *name);
/* counter name KEY map @set, with the key in @sreg */
void cg_rule_add_counter_mapped (struct nftnl_rule *r, guint32 sreg, const char *set);
/* update @set { KEY EXPR }, with the key in @sreg; @expr: transfer full */
void cg_rule_add_dynset_update (struct nftnl_rule *r, guint32 sreg, const char *set,
                                struct nftnl_expr *expr);

/* transfer full */
struct nftnl_expr *cg_rule_expr_counter_new (void);
/* limit rate [over] @rate/second burst @burst packets. transfer full */
struct nftnl_expr *cg_rule_expr_limit_new (guint64 rate, guint32 burst, gboolean over);

/* What nft writes for "meta nfproto ipv4", "meta l4proto udp" and "ct state
 * established,related" (@states: NF_CT_STATE_* bits). */
void cg_rule_match_nfproto (struct nftnl_rule *r, guint8 nfproto);
void cg_rule_match_l4proto (struct nftnl_rule *r, guint8 l4proto);
void cg_rule_match_ct_state (struct nftnl_rule *r, guint32 states);

G_END_DECLS
