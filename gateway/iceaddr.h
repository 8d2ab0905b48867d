/* The local addresses a WHIP session's ICE may gather on: the host's own,
 * less the camera side. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The addresses (as text, IPv4 or IPv6) of this host's interfaces that are
 * up, but not those of loopback, link-local IPv6 or an interface libnice
 * leaves out itself (docker*, veth*, virbr*, vnet*), nor those of
 * @camera_interfaces or of a port of a bridge listed there; each once, in
 * getifaddrs() order; possibly empty. NULL with @error if they cannot be
 * listed. transfer full (element-type utf8) */
GPtrArray *cg_ice_local_addresses (const char *const *camera_interfaces, GError **error);

G_END_DECLS
