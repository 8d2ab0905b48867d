/* The isolation ruleset's input (see ruleset.h): what a configuration says
 * (interfaces, cameras and their addresses), and its validation, which the
 * builder runs before it writes a byte. */
#define G_LOG_DOMAIN "camgate-rules"

#include "ruleset.h"

#include <string.h>

#include "error.h"

#define IFNAME_LEN 16                   /* IFNAMSIZ: the key of type ifname */

/* An interface name that fits a key of type ifname, or @error naming @what. */
static gboolean
validate_ifname (const char *what, const char *name, GError **error)
{
  if (strlen (name) >= IFNAME_LEN || !*name) {
    g_set_error (error, CG_ERROR, CG_ERROR_CONFIG, "%s \"%s\": %s", what, name,
                 *name ? "longer than 15 characters, the kernel's limit for an interface name"
                 : "empty: name the interface the cameras sit on");
    return FALSE;
  }
  return TRUE;
}

static void
camera_free (gpointer data)
{
  CgRulesCamera *cam = data;

  g_free (cam->camera_id);
  g_clear_object (&cam->address);
  g_free (cam);
}

static void
hole_free (gpointer data)
{
  CgRulesHole *hole = data;

  g_free (hole->camera_id);
  g_clear_object (&hole->camera);
  g_clear_object (&hole->peer);
  g_free (hole);
}

void
cg_rules_bridge_free (CgRulesBridge *bridge)
{
  if (!bridge)
    return;
  g_free (bridge->name);
  g_strfreev (bridge->ports);
  g_free (bridge);
}

/* The address in @url's host if it is an IP literal, else NULL. transfer full */
static GInetAddress *
url_address (const char *url)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);

  if (!uri || !g_uri_get_host (uri))
    return NULL;
  return g_inet_address_new_from_string (g_uri_get_host (uri));
}

/* ---- public ---------------------------------------------------------------- */

gboolean
cg_rules_spec_validate (const CgRulesSpec *spec, GError **error)
{
  if (!spec->interfaces || !spec->interfaces[0]) {
    g_set_error (error, CG_ERROR, CG_ERROR_CONFIG, "no camera_interface: the ruleset would "
                 "seal nothing; name the interface(s) the cameras sit on");
    return FALSE;
  }
  for (char **name = spec->interfaces; *name; name++)
    if (!validate_ifname ("camera_interface", *name, error))
      return FALSE;
  for (guint i = 0; spec->bridges && i < spec->bridges->len; i++) {
    const CgRulesBridge *br = g_ptr_array_index (spec->bridges, i);

    for (char **port = br->ports; port && *port; port++)
      if (!validate_ifname ("bridge port", *port, error))
        return FALSE;
  }
  for (guint i = 0; spec->cameras && i < spec->cameras->len; i++) {
    const CgRulesCamera *cam = g_ptr_array_index (spec->cameras, i);

    if (!cam->camera_id || !cg_camera_id_is_valid (cam->camera_id)) {
      g_set_error (error, CG_ERROR, CG_ERROR_CONFIG, "camera id \"%s\" cannot name a counter: "
                   "use 1 to 32 of a-z, 0-9, _ and -", cam->camera_id ? cam->camera_id : "");
      return FALSE;
    }
  }
  for (guint i = 0; spec->holes && i < spec->holes->len; i++) {
    const CgRulesHole *hole = g_ptr_array_index (spec->holes, i);

    if (!hole->camera || !hole->peer ||
        g_inet_address_get_family (hole->camera) != g_inet_address_get_family (hole->peer)) {
      g_set_error (error, CG_ERROR, CG_ERROR_CONFIG, "[%s] a temporary hole needs a camera and "
                   "a peer address of the same family (IPv4 or IPv6)",
                   hole->camera_id ? hole->camera_id : "?");
      return FALSE;
    }
  }
  return TRUE;
}

CgRulesSpec *
cg_rules_spec_from_config (const CgConfig *config)
{
  CgRulesSpec *spec = g_new0 (CgRulesSpec, 1);

  spec->mode = config->isolation;
  spec->interfaces = g_strdupv (config->camera_interfaces);
  spec->cameras = g_ptr_array_new_with_free_func (camera_free);
  spec->holes = g_ptr_array_new_with_free_func (hole_free);
  spec->bridges = g_ptr_array_new_with_free_func ((GDestroyNotify) cg_rules_bridge_free);
  spec->nflog_group = CG_RULES_DEFAULT_NFLOG_GROUP;
  for (guint i = 0; i < config->cameras->len; i++) {
    const CgCameraConfig *cc = g_ptr_array_index (config->cameras, i);
    GInetAddress *address = url_address (cc->url);
    CgRulesCamera *cam;

    if (!address) {
      g_debug ("[%s] its url names no IP address: sealed by interface only", cc->id);
      continue;
    }
    cam = g_new0 (CgRulesCamera, 1);
    cam->camera_id = g_strdup (cc->id);
    cam->address = address;
    g_ptr_array_add (spec->cameras, cam);
  }
  return spec;
}

void
cg_rules_spec_free (CgRulesSpec *spec)
{
  if (!spec)
    return;
  g_strfreev (spec->interfaces);
  g_clear_pointer (&spec->cameras, g_ptr_array_unref);
  g_clear_pointer (&spec->holes, g_ptr_array_unref);
  g_clear_pointer (&spec->bridges, g_ptr_array_unref);
  g_free (spec);
}

CgRulesHole *
cg_rules_hole_new (const CgRulesSpec *spec, const char *camera_id, const char *peer,
                   guint minutes, GError **error)
{
  const CgRulesCamera *cam = NULL;
  g_autoptr (GInetAddress) address = NULL;
  CgRulesHole *hole;

  if (minutes < 1 || minutes > CG_RULES_HOLE_MAX_MINUTES) {
    g_set_error (error, CG_ERROR, CG_ERROR_CONFIG, "--minutes %u: a hole stays open from 1 to "
                 "%d minutes", minutes, CG_RULES_HOLE_MAX_MINUTES);
    return NULL;
  }
  for (guint i = 0; spec->cameras && i < spec->cameras->len && !cam; i++) {
    const CgRulesCamera *c = g_ptr_array_index (spec->cameras, i);
    if (g_str_equal (c->camera_id, camera_id))
      cam = c;
  }
  if (!cam) {
    g_set_error (error, CG_ERROR, CG_ERROR_CONFIG, "camera \"%s\" has no IP address in the "
                 "configuration (no camera has that id, or its url names a host): a hole is "
                 "opened to a camera's address", camera_id);
    return NULL;
  }
  if (!(address = g_inet_address_new_from_string (peer))) {
    g_set_error (error, CG_ERROR, CG_ERROR_CONFIG, "--from \"%s\" is not an IP address", peer);
    return NULL;
  }
  if (g_inet_address_get_family (address) != g_inet_address_get_family (cam->address)) {
    g_autofree char *camera = g_inet_address_to_string (cam->address);
    g_set_error (error, CG_ERROR, CG_ERROR_CONFIG, "--from %s and camera %s's address %s are "
                 "not both IPv4 or both IPv6", peer, camera_id, camera);
    return NULL;
  }
  for (guint i = 0; i < spec->cameras->len; i++) {
    const CgRulesCamera *c = g_ptr_array_index (spec->cameras, i);
    if (g_inet_address_equal (c->address, address)) {
      g_set_error (error, CG_ERROR, CG_ERROR_CONFIG, "--from %s is camera %s's address: "
                   "cameras may never reach each other", peer, c->camera_id);
      return NULL;
    }
  }
  hole = g_new0 (CgRulesHole, 1);
  hole->camera_id = g_strdup (camera_id);
  hole->camera = g_object_ref (cam->address);
  hole->peer = g_steal_pointer (&address);
  hole->timeout_ms = (guint64) minutes * 60 * 1000;
  return hole;
}

void
cg_rules_hole_free (CgRulesHole *hole)
{
  hole_free (hole);
}
