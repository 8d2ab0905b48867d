/* Cutting the cameras' connections when the seal is applied: the conntrack
 * entries of connections a camera opened before the ruleset was in force go,
 * so that "ct state established accept" (camera_to_gateway) holds only for
 * the gateway's own flows. Speaks ctnetlink over libmnl; needs CAP_NET_ADMIN
 * in the network namespace it runs in. */
#pragma once

#include <glib.h>

#include "ruleset.h"

G_BEGIN_DECLS

/* Deletes every conntrack entry that has a camera-side address in its
 * original or reply direction, except the gateway's own flows (those whose
 * original source is one of the gateway's addresses: camgate's RTSP pulls).
 * A camera-side address is one on the subnet of an address of
 * @spec->interfaces (IPv6 link-local excepted), or a camera's address from
 * @spec->cameras, and never one of the gateway's own. @n_cut: how many went.
 * FALSE with @error if conntrack could not be listed or an entry not
 * deleted; entries deleted before that stay deleted. */
gboolean cg_conntrack_cut (const CgRulesSpec *spec, guint *n_cut, GError **error);

G_END_DECLS
