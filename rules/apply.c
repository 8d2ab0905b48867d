/* Applying and lifting the seal (see apply.h). The tables go first: the
 * bridge table alone keeps the cameras on a bridge apart, and a port flag
 * that cannot be set leaves the seal in force but reports it not applied,
 * so that the daemon keeps retrying. */
#define G_LOG_DOMAIN "camgate-rules"

#include "apply.h"

#include <linux/netfilter.h>

#include "bridge.h"
#include "nft.h"

gboolean
cg_rules_apply (CgRulesSpec *spec, GError **error)
{
  g_autoptr (GPtrArray) bridges = cg_bridge_find (spec->interfaces, error);
  g_autoptr (GBytes) batch = NULL;
  gboolean isolated = spec->mode == CG_ISOLATION_ENFORCE;

  if (!bridges)
    return FALSE;
  g_clear_pointer (&spec->bridges, g_ptr_array_unref);
  spec->bridges = g_steal_pointer (&bridges);
  spec->bridge_table_stale = FALSE;
  if (!spec->bridges->len &&
      !cg_nft_table_exists (NFPROTO_BRIDGE, &spec->bridge_table_stale, error))
    return FALSE;
  if (!(batch = cg_ruleset_build (spec, (guint32) g_get_real_time (), error)) ||
      !cg_nft_apply (batch, error))
    return FALSE;
  for (guint i = 0; i < spec->bridges->len; i++) {
    const CgRulesBridge *br = g_ptr_array_index (spec->bridges, i);
    g_autofree char *ports = g_strjoinv (", ", br->ports);

    g_message ("bridge %s: table bridge " CG_RULES_TABLE " on its ports (%s), port "
               "isolation %s", br->name, *ports ? ports : "none yet",
               isolated ? "on" : "off (monitor)");
  }
  return cg_bridge_set_isolated (spec->bridges, isolated, error);
}

gboolean
cg_rules_flush (char **interfaces, GError **error)
{
  g_autoptr (GPtrArray) bridges = cg_bridge_find (interfaces, error);
  g_autoptr (GBytes) batch = NULL;
  gboolean bridge_table;

  if (!bridges || !cg_nft_table_exists (NFPROTO_BRIDGE, &bridge_table, error))
    return FALSE;
  batch = cg_ruleset_build_flush ((guint32) g_get_real_time (), bridge_table);
  return cg_nft_apply (batch, error) && cg_bridge_set_isolated (bridges, FALSE, error);
}
