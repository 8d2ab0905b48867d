/* The local addresses a WHIP session's ICE may gather on (see iceaddr.h).
 *
 * Left to itself, libnice 0.1.21 gathers host candidates on every address
 * of every interface that is up, the camera segment's included: the offer
 * would tell the ingest the sealed segment's addressing, and libnice would
 * open sockets there that the ingest can never reach. Given addresses
 * (nice_agent_add_local_address()), it gathers on those alone: this list
 * is what libnice would pick (Debian's build), less the camera side and
 * link-local IPv6. */
#define G_LOG_DOMAIN "camgate-whip"

#include "iceaddr.h"

#include <errno.h>
#include <gio/gio.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include "error.h"

/* libnice's own default (its ignored-network-interface-prefix build option) */
static const char *const ignored_prefixes[] = { "docker", "veth", "virbr", "vnet" };

static gboolean
ignored_by_libnice (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (ignored_prefixes); i++) {
    if (g_str_has_prefix (name, ignored_prefixes[i]))
      return TRUE;
  }
  return FALSE;
}

/* @name is on @camera_interfaces, or a port of a bridge listed there (as
 * sysfs says: a port rarely has an address, but one that has is no less
 * on the camera segment). */
static gboolean
on_camera_side (const char *name, const char *const *camera_interfaces)
{
  g_autofree char *link = NULL, *master = NULL, *bridge = NULL;

  if (g_strv_contains (camera_interfaces, name))
    return TRUE;
  link = g_strdup_printf ("/sys/class/net/%s/master", name);
  if (!(master = g_file_read_link (link, NULL)))
    return FALSE;
  bridge = g_path_get_basename (master);
  return g_strv_contains (camera_interfaces, bridge);
}

/* @sa as text if ICE may gather on it: IPv4 or IPv6, neither loopback nor
 * link-local IPv6 (which libnice could not use without its scope); else
 * NULL. transfer full */
static char *
usable_address (const struct sockaddr *sa)
{
  g_autoptr (GSocketAddress) address = NULL;
  GInetAddress *inet;

  if (!sa || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
    return NULL;
  address = g_socket_address_new_from_native ((gpointer) sa, sa->sa_family == AF_INET
                                              ? sizeof (struct sockaddr_in)
                                              : sizeof (struct sockaddr_in6));
  if (!address)
    return NULL;
  inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address));
  if (g_inet_address_get_is_loopback (inet) ||
      (sa->sa_family == AF_INET6 && g_inet_address_get_is_link_local (inet)))
    return NULL;
  return g_inet_address_to_string (inet);
}

GPtrArray *
cg_ice_local_addresses (const char *const *camera_interfaces, GError **error)
{
  GPtrArray *addresses;
  struct ifaddrs *list, *ifa;

  if (getifaddrs (&list) < 0) {
    g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot list this host's addresses: %s",
                 g_strerror (errno));
    return NULL;
  }
  addresses = g_ptr_array_new_with_free_func (g_free);
  for (ifa = list; ifa; ifa = ifa->ifa_next) {
    g_autofree char *text = NULL;

    if (!(ifa->ifa_flags & IFF_UP) || (ifa->ifa_flags & IFF_LOOPBACK) ||
        ignored_by_libnice (ifa->ifa_name) || !(text = usable_address (ifa->ifa_addr)) ||
        g_ptr_array_find_with_equal_func (addresses, text, g_str_equal, NULL) ||
        on_camera_side (ifa->ifa_name, camera_interfaces))
      continue;
    g_ptr_array_add (addresses, g_steal_pointer (&text));
  }
  freeifaddrs (list);
  return addresses;
}
