/* Bridges and bridge port isolation over rtnetlink (see bridge.h). One
 * RTM_GETLINK dump tells which camera interfaces are bridges (IFLA_LINKINFO,
 * IFLA_INFO_KIND) and which links are their ports (IFLA_MASTER); the flag is
 * set per port with RTM_SETLINK on AF_BRIDGE and a nested IFLA_PROTINFO, as
 * `bridge link set dev PORT isolated on` does (Linux 4.18 and later). */
#define G_LOG_DOMAIN "camgate-rules"

#include "bridge.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include "error.h"
#include "ruleset.h"

typedef struct {
  guint32 index;
  guint32 master;               /* 0: none */
  gboolean is_bridge;
  char name[IF_NAMESIZE];
} Link;

/* transfer full: a netlink socket bound to rtnetlink */
static struct mnl_socket *
open_socket (GError **error)
{
  struct mnl_socket *nl = mnl_socket_open (NETLINK_ROUTE);

  if (!nl || mnl_socket_bind (nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot talk to rtnetlink: %s",
                 g_strerror (errno));
    if (nl)
      mnl_socket_close (nl);
    return NULL;
  }
  return nl;
}

static int
on_link_info (const struct nlattr *attr, void *data)
{
  Link *link = data;

  if (mnl_attr_get_type (attr) == IFLA_INFO_KIND &&
      mnl_attr_validate (attr, MNL_TYPE_STRING) == 0 &&
      g_str_equal (mnl_attr_get_str (attr), "bridge"))
    link->is_bridge = TRUE;
  return MNL_CB_OK;
}

static int
on_link_attr (const struct nlattr *attr, void *data)
{
  Link *link = data;

  switch (mnl_attr_get_type (attr)) {
  case IFLA_IFNAME:
    if (mnl_attr_validate (attr, MNL_TYPE_STRING) == 0)
      g_strlcpy (link->name, mnl_attr_get_str (attr), sizeof link->name);
    break;
  case IFLA_MASTER:
    if (mnl_attr_validate (attr, MNL_TYPE_U32) == 0)
      link->master = mnl_attr_get_u32 (attr);
    break;
  case IFLA_LINKINFO:
    mnl_attr_parse_nested (attr, on_link_info, link);
    break;
  default:
    break;
  }
  return MNL_CB_OK;
}

static int
on_link (const struct nlmsghdr *nlh, void *data)
{
  GArray *links = data;
  const struct ifinfomsg *ifi = mnl_nlmsg_get_payload (nlh);
  Link link = { 0 };

  link.index = ifi->ifi_index;
  mnl_attr_parse (nlh, sizeof *ifi, on_link_attr, &link);
  g_array_append_val (links, link);
  return MNL_CB_OK;
}

/* Every link in this network namespace. transfer full: element-type Link */
static GArray *
dump_links (struct mnl_socket *nl, GError **error)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  guint32 seq = (guint32) time (NULL);
  struct nlmsghdr *nlh = mnl_nlmsg_put_header (buf);
  struct ifinfomsg *ifi;
  g_autoptr (GArray) links = g_array_new (FALSE, TRUE, sizeof (Link));
  int ret;

  nlh->nlmsg_type = RTM_GETLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = seq;
  ifi = mnl_nlmsg_put_extra_header (nlh, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  if (mnl_socket_sendto (nl, nlh, nlh->nlmsg_len) < 0)
    goto fail;
  while ((ret = mnl_socket_recvfrom (nl, buf, sizeof buf)) > 0) {
    ret = mnl_cb_run (buf, ret, seq, mnl_socket_get_portid (nl), on_link, links);
    if (ret <= 0)
      break;
  }
  if (ret == 0)
    return g_steal_pointer (&links);
fail:
  g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot list the network interfaces "
               "(rtnetlink): %s", g_strerror (errno));
  return NULL;
}

/* RTM_SETLINK on AF_BRIDGE: IFLA_PROTINFO { IFLA_BRPORT_ISOLATED @on }, with an ACK. */
static gboolean
set_port_isolated (struct mnl_socket *nl, const char *bridge, const Link *port, gboolean on,
                   GError **error)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  guint32 seq = (guint32) time (NULL) + port->index;
  struct nlmsghdr *nlh;
  struct ifinfomsg *ifi;
  struct nlattr *nest;
  int ret;

  memset (buf, 0, 256);         /* libmnl leaves the u8's padding as it finds it */
  nlh = mnl_nlmsg_put_header (buf);

  nlh->nlmsg_type = RTM_SETLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  nlh->nlmsg_seq = seq;
  ifi = mnl_nlmsg_put_extra_header (nlh, sizeof *ifi);
  ifi->ifi_family = AF_BRIDGE;
  ifi->ifi_index = port->index;
  nest = mnl_attr_nest_start (nlh, IFLA_PROTINFO);    /* NLA_F_NESTED: the port's attributes */
  mnl_attr_put_u8 (nlh, IFLA_BRPORT_ISOLATED, on ? 1 : 0);
  mnl_attr_nest_end (nlh, nest);
  if (mnl_socket_sendto (nl, nlh, nlh->nlmsg_len) < 0 ||
      (ret = mnl_socket_recvfrom (nl, buf, sizeof buf)) < 0 ||
      mnl_cb_run (buf, ret, seq, mnl_socket_get_portid (nl), NULL, NULL) < 0) {
    int err = errno;
    g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot %s port isolation on %s (a port of "
                 "bridge %s): %s%s", on ? "set" : "clear", port->name, bridge, g_strerror (err),
                 err == EPERM ? " (needs root)" : "");
    return FALSE;
  }
  return TRUE;
}

/* ---- public ---------------------------------------------------------------- */

GPtrArray *
cg_bridge_find (char **interfaces, GError **error)
{
  struct mnl_socket *nl = open_socket (error);
  g_autoptr (GArray) links = NULL;
  GPtrArray *bridges;

  if (!nl)
    return NULL;
  links = dump_links (nl, error);
  mnl_socket_close (nl);
  if (!links)
    return NULL;
  bridges = g_ptr_array_new_with_free_func ((GDestroyNotify) cg_rules_bridge_free);
  for (guint i = 0; i < links->len; i++) {
    const Link *br = &g_array_index (links, Link, i);
    g_autoptr (GStrvBuilder) ports = NULL;
    CgRulesBridge *bridge;

    if (!br->is_bridge || !g_strv_contains ((const char *const *) interfaces, br->name))
      continue;
    ports = g_strv_builder_new ();
    for (guint j = 0; j < links->len; j++)
      if (g_array_index (links, Link, j).master == br->index)
        g_strv_builder_add (ports, g_array_index (links, Link, j).name);
    bridge = g_new0 (CgRulesBridge, 1);
    bridge->name = g_strdup (br->name);
    bridge->ports = g_strv_builder_end (ports);
    g_ptr_array_add (bridges, bridge);
  }
  return bridges;
}

gboolean
cg_bridge_set_isolated (GPtrArray *bridges, gboolean isolated, GError **error)
{
  struct mnl_socket *nl;
  g_autoptr (GArray) links = NULL;
  gboolean ok = TRUE;

  if (!bridges->len)
    return TRUE;
  if (!(nl = open_socket (error)))
    return FALSE;
  /* By index, as the kernel wants it: the ports as they are now. */
  if (!(links = dump_links (nl, error))) {
    mnl_socket_close (nl);
    return FALSE;
  }
  for (guint i = 0; ok && i < bridges->len; i++) {
    const CgRulesBridge *bridge = g_ptr_array_index (bridges, i);

    for (guint j = 0; ok && j < links->len; j++) {
      const Link *port = &g_array_index (links, Link, j);

      if (port->master && g_strv_contains ((const char *const *) bridge->ports, port->name))
        ok = set_port_isolated (nl, bridge->name, port, isolated, error);
    }
  }
  mnl_socket_close (nl);
  return ok;
}
