/* Linux bridges among the camera interfaces, and the kernel's bridge port
 * isolation on their ports, over rtnetlink (libmnl): a port flagged isolated
 * cannot send to another isolated port of its bridge, only to the bridge
 * itself (the gateway) and to ports that are not isolated. Needs
 * CAP_NET_ADMIN to set the flag, nothing to look. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Which of @interfaces (NULL-terminated) are Linux bridges (IFLA_INFO_KIND
 * "bridge"), each with its ports now. An interface that does not exist is
 * no bridge. transfer full: element-type CgRulesBridge */
GPtrArray *cg_bridge_find (char **interfaces, GError **error);

/* Sets (or clears) IFLA_BRPORT_ISOLATED on every port of @bridges
 * (element-type CgRulesBridge). Stops at the first port the kernel refuses,
 * naming it in @error. */
gboolean cg_bridge_set_isolated (GPtrArray *bridges, gboolean isolated, GError **error);

G_END_DECLS
