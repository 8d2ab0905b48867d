/* cg_nft_apply against the kernel (root): a batch the kernel refuses
 * changes nothing, and the error names the object refused (DESIGN.md:
 * "Applied as one atomic netlink transaction; a failed batch changes
 * nothing"). The test moves itself into a network namespace of its own
 * (unshare), so the host's ruleset is never touched, and compares
 * `nft -j list ruleset` before and after, byte for byte. Skips (77) without
 * root, with CG_SKIP_ROOT_TESTS=1, under distcheck, or without nft. */
#define _GNU_SOURCE /* unshare */
#include "config.h"
#include "error.h"
#include "nft.h"
#include "ruleset.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#define EXIT_SKIP 77

static const char good_conf[] =
  "[gateway]\ncamera_interface = eth1\nisolation = enforce\n"
  "[uplink]\nurl = rtsps://ingest.example.net/live/{camera}\n"
  "[camera front]\nurl = rtsp://10.20.0.11/stream1\n";

/* Different from good_conf in every part the ruleset shows: were any of it
 * committed, the listing would change. */
static const char other_conf[] =
  "[gateway]\ncamera_interface = eth2, eth3\nisolation = monitor\n"
  "[uplink]\nurl = rtsps://ingest.example.net/live/{camera}\n"
  "[camera yard]\nurl = rtsp://10.30.0.12/stream1\n"
  "[camera gate]\nurl = rtsp://[fd00:30::13]/stream1\n";

static GBytes *
build (const char *conf)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgConfig) config = cg_config_load_from_data (conf, strlen (conf), "camgate.conf",
                                                          &error);
  g_autoptr (CgRulesSpec) spec = NULL;
  GBytes *batch;

  g_assert_no_error (error);
  spec = cg_rules_spec_from_config (config);
  batch = cg_ruleset_build (spec, 1000, &error);
  g_assert_no_error (error);
  return batch;
}

/* @batch with one more rule before its end, in chain into_cameras, that
 * looks iifname up in a set that does not exist. transfer full */
static GBytes *
with_missing_set (GBytes *batch)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (batch, &len);
  const struct nlmsghdr *nlh = (const struct nlmsghdr *) data, *end = NULL;
  GByteArray *out = g_byte_array_new ();
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nftnl_rule *r = nftnl_rule_alloc ();
  struct nftnl_expr *meta = nftnl_expr_alloc ("meta");
  struct nftnl_expr *lookup = nftnl_expr_alloc ("lookup");
  struct nlmsghdr *rule;
  int left = len;

  memset (buf, 0, sizeof buf);  /* libnftnl leaves padding as it finds it */
  for (; mnl_nlmsg_ok (nlh, left); nlh = mnl_nlmsg_next (nlh, &left))
    end = nlh;
  g_assert_nonnull (end);
  g_assert_cmpuint (end->nlmsg_type, ==, NFNL_MSG_BATCH_END);
  g_byte_array_append (out, data, (const guint8 *) end - data);

  nftnl_rule_set_str (r, NFTNL_RULE_TABLE, CG_RULES_TABLE);
  nftnl_rule_set_str (r, NFTNL_RULE_CHAIN, "into_cameras");
  nftnl_rule_set_u32 (r, NFTNL_RULE_FAMILY, NFPROTO_INET);
  nftnl_expr_set_u32 (meta, NFTNL_EXPR_META_KEY, NFT_META_IIFNAME);
  nftnl_expr_set_u32 (meta, NFTNL_EXPR_META_DREG, NFT_REG_1);
  nftnl_rule_add_expr (r, meta);
  nftnl_expr_set_str (lookup, NFTNL_EXPR_LOOKUP_SET, "no_such_set");
  nftnl_expr_set_u32 (lookup, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
  nftnl_rule_add_expr (r, lookup);
  rule = nftnl_nlmsg_build_hdr (buf, NFT_MSG_NEWRULE, NFPROTO_INET,
                                NLM_F_CREATE | NLM_F_APPEND, end->nlmsg_seq);
  nftnl_rule_nlmsg_build_payload (rule, r);
  nftnl_rule_free (r);
  g_byte_array_append (out, (const guint8 *) rule, rule->nlmsg_len);

  nlh = nftnl_batch_end (buf, end->nlmsg_seq + 1);
  g_byte_array_append (out, (const guint8 *) nlh, nlh->nlmsg_len);
  return g_byte_array_free_to_bytes (out);
}

/* `nft -j list ruleset`, as it is now. transfer full */
static char *
listing (void)
{
  const char *argv[] = { "nft", "-j", "list", "ruleset", NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  char *out = NULL;
  int status;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, &error))
    g_error ("nft -j list ruleset: %s: %s", error->message, err);
  return out;
}

static void
test_refused_changes_nothing (void)
{
  g_autoptr (GBytes) good = build (good_conf);
  g_autoptr (GBytes) other = build (other_conf);
  g_autoptr (GBytes) broken = with_missing_set (other);
  g_autoptr (GError) error = NULL;
  g_autofree char *before = NULL, *after = NULL, *changed = NULL;

  g_assert_true (cg_nft_apply (good, &error));
  g_assert_no_error (error);
  before = listing ();
  g_assert_nonnull (strstr (before, "\"camgate\""));
  g_assert_nonnull (strstr (before, "cam_front"));

  g_assert_false (cg_nft_apply (broken, &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_IO);
  g_test_message ("refused: %s", error->message);
  g_assert_nonnull (strstr (error->message, "a rule in chain into_cameras"));
  g_assert_nonnull (strstr (error->message, g_strerror (ENOENT)));
  g_assert_nonnull (strstr (error->message, "nothing was changed"));
  after = listing ();
  g_assert_cmpstr (after, ==, before);

  /* The same batch without the bad rule goes through and shows: the
   * listing above would have seen the change. */
  g_clear_error (&error);
  g_assert_true (cg_nft_apply (other, &error));
  g_assert_no_error (error);
  changed = listing ();
  g_assert_cmpstr (changed, !=, before);
  g_assert_nonnull (strstr (changed, "cam_gate"));
}

/* A flush in a refused batch is not committed either: the table stays. */
static void
test_refused_flush_keeps_the_table (void)
{
  g_autoptr (GBytes) good = build (good_conf);
  g_autoptr (GBytes) flush = cg_ruleset_build_flush (2000, FALSE);
  g_autoptr (GBytes) broken = with_missing_set (flush);
  g_autoptr (GError) error = NULL;
  g_autofree char *before = NULL, *after = NULL;

  g_assert_true (cg_nft_apply (good, &error));
  g_assert_no_error (error);
  before = listing ();
  g_assert_nonnull (strstr (before, "cam_front"));
  /* The table is deleted earlier in the same batch: the rule has nowhere to go. */
  g_assert_false (cg_nft_apply (broken, &error));
  g_test_message ("refused: %s", error->message);
  g_assert_nonnull (strstr (error->message, "a rule in chain into_cameras"));
  g_assert_nonnull (strstr (error->message, "nothing was changed"));
  after = listing ();
  g_assert_cmpstr (after, ==, before);
}

int
main (int argc, char **argv)
{
  g_autofree char *nft = NULL;

  g_test_init (&argc, &argv, NULL);
  if (g_strcmp0 (g_getenv ("CG_SKIP_ROOT_TESTS"), "1") == 0 || g_getenv ("DISTCHECK")) {
    g_printerr ("SKIP: root tests are off (CG_SKIP_ROOT_TESTS=1 or distcheck)\n");
    return EXIT_SKIP;
  }
  if (getuid () != 0) {
    g_printerr ("SKIP: needs root (a network namespace and nftables)\n");
    return EXIT_SKIP;
  }
  nft = g_find_program_in_path ("nft");
  if (!nft) {
    g_printerr ("SKIP: nft not found (apt-get install nftables)\n");
    return EXIT_SKIP;
  }
  /* Everything below happens in a network namespace of this process's own. */
  if (unshare (CLONE_NEWNET) < 0) {
    g_printerr ("SKIP: cannot make a network namespace: %s\n", g_strerror (errno));
    return EXIT_SKIP;
  }
  g_test_add_func ("/nft/refused-changes-nothing", test_refused_changes_nothing);
  g_test_add_func ("/nft/refused-flush-keeps-the-table", test_refused_flush_keeps_the_table);
  return g_test_run ();
}
