/* The seal, applied and lifted: everything camgate keeps in the kernel for
 * it, the nftables tables (one atomic batch, rules/ruleset.h) and the port
 * isolation flag on the ports of camera bridges (rules/bridge.h). Used by
 * the daemon (gateway/isolation.c) and by `camgate rules`. Needs
 * CAP_NET_ADMIN. */
#pragma once

#include "ruleset.h"

G_BEGIN_DECLS

/* Looks up which of @spec's interfaces are bridges now (filling
 * @spec->bridges), applies the ruleset, then sets the port isolation flag
 * on every port of those bridges under enforce (clears it under monitor,
 * which drops nothing). FALSE with @error naming what failed; a refused
 * batch changed nothing. */
gboolean cg_rules_apply (CgRulesSpec *spec, GError **error);

/* Removes camgate's tables (inet, and bridge if there is one) and clears
 * the port isolation flag on the ports of those of @interfaces that are
 * bridges. */
gboolean cg_rules_flush (char **interfaces, GError **error);

G_END_DECLS
