/* Status document (see status.h). Field names are a public contract:
 * add freely, rename nothing. */
#define G_LOG_DOMAIN "camgate-status"

#include "status.h"

#include "error.h"
#include "json.h"

static void
build_camera (JsonBuilder *b, CgCamera *camera, const CgSourceStats *s)
{
  CgHubCacheStats cache;

  cg_camera_get_cache_stats (camera, &cache);
  json_builder_begin_object (b);
  cg_json_add_string_or_null (b, "id", cg_camera_get_config (camera)->id);
  cg_json_add_string_or_null (b, "state", cg_source_state_to_string (s->state));
  cg_json_add_string_or_null (b, "codec", s->codec);
  cg_json_add_string_or_null (b, "audio_codec", s->audio_codec);
  cg_json_add_int (b, "width", s->width);
  cg_json_add_int (b, "height", s->height);
  cg_json_add_int (b, "fps", (gint64) (s->fps + 0.5));
  cg_json_add_int (b, "kbps", s->kbps);
  cg_json_add_int (b, "frames_in", s->frames_in);
  cg_json_add_int (b, "bytes_in", s->bytes_in);
  cg_json_add_int (b, "reconnects", s->reconnects);
  cg_json_add_int (b, "keyframe_requests", s->keyframe_requests);
  cg_json_add_int (b, "gop_cache_frames", cache.frames);
  cg_json_add_int (b, "gop_cache_bytes", cache.bytes);
  cg_json_add_int (b, "gop_cache_limit_bytes", cache.limit_bytes);
  cg_json_add_int (b, "gop_cache_overflows", cache.overflows);
  cg_json_add_string_or_null (b, "last_error", s->last_error);
  json_builder_end_object (b);
}

/* "path": the selected ICE candidate pair, null while there is none. */
static void
build_path (JsonBuilder *b, const CgUplinkPath *path)
{
  json_builder_set_member_name (b, "path");
  if (!path->local) {
    json_builder_add_null_value (b);
    return;
  }
  json_builder_begin_object (b);
  cg_json_add_string_or_null (b, "local", path->local);
  cg_json_add_string_or_null (b, "transport", path->transport);
  cg_json_add_string_or_null (b, "local_address", path->local_address);
  cg_json_add_string_or_null (b, "remote_address", path->remote_address);
  json_builder_end_object (b);
}

static void
build_uplink (JsonBuilder *b, const CgConfig *config, CgCamera *camera, const CgUplinkStats *u)
{
  json_builder_begin_object (b);
  cg_json_add_string_or_null (b, "camera", cg_camera_get_config (camera)->id);
  cg_json_add_string_or_null (b, "kind", cg_uplink_kind_to_string (config->uplink.kind));
  cg_json_add_string_or_null (b, "state", cg_uplink_state_to_string (u->state));
  cg_json_add_int (b, "frames_out", u->frames_out);
  cg_json_add_int (b, "frames_dropped", u->frames_dropped);
  cg_json_add_int (b, "spooled_frames", 0);   /* no spool in this build: nothing is spooled */
  cg_json_add_int (b, "sessions", u->sessions);
  cg_json_add_string_or_null (b, "last_error", u->last_error);
  if (config->uplink.kind == CG_UPLINK_WHIP)
    build_path (b, &u->path);
  json_builder_end_object (b);
}

JsonNode *
cg_status_build (const CgConfig *config, GPtrArray *cameras, CgIsolation *isolation,
                 gint64 started_us)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (GArray) sources = g_array_new (FALSE, TRUE, sizeof (CgSourceStats));
  g_autoptr (GArray) uplinks = g_array_new (FALSE, TRUE, sizeof (CgUplinkStats));

  g_array_set_size (sources, cameras->len);
  g_array_set_size (uplinks, cameras->len);
  for (guint i = 0; i < cameras->len; i++)
    cg_camera_get_stats (g_ptr_array_index (cameras, i), &g_array_index (sources, CgSourceStats, i),
                         &g_array_index (uplinks, CgUplinkStats, i));

  json_builder_begin_object (b);
  cg_json_add_string_or_null (b, "name", config->name);
  cg_json_add_string_or_null (b, "version", PACKAGE_VERSION);
  cg_json_add_int (b, "uptime_s", (g_get_monotonic_time () - started_us) / G_USEC_PER_SEC);
  json_builder_set_member_name (b, "cameras");
  json_builder_begin_array (b);
  for (guint i = 0; i < cameras->len; i++)
    build_camera (b, g_ptr_array_index (cameras, i), &g_array_index (sources, CgSourceStats, i));
  json_builder_end_array (b);
  json_builder_set_member_name (b, "uplinks");
  json_builder_begin_array (b);
  for (guint i = 0; i < cameras->len; i++)
    build_uplink (b, config, g_ptr_array_index (cameras, i),
                  &g_array_index (uplinks, CgUplinkStats, i));
  json_builder_end_array (b);
  json_builder_set_member_name (b, "isolation");
  json_builder_begin_object (b);
  cg_isolation_build_status (isolation, b);
  json_builder_end_object (b);
  json_builder_end_object (b);

  for (guint i = 0; i < cameras->len; i++) {
    cg_source_stats_clear (&g_array_index (sources, CgSourceStats, i));
    cg_uplink_stats_clear (&g_array_index (uplinks, CgUplinkStats, i));
  }
  return json_builder_get_root (b);
}

/* ---- text rendering ------------------------------------------------------ */

static const char *
str_or (JsonObject *o, const char *key, const char *fallback)
{
  JsonNode *n = json_object_get_member (o, key);

  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
      ? json_node_get_string (n) : fallback;
}

static gint64
int_or (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);

  return n && JSON_NODE_HOLDS_VALUE (n) ? json_node_get_int (n) : 0;
}

static void
format_cameras (GString *out, JsonArray *cameras)
{
  g_string_append_printf (out, "%-20s %-10s %-6s %-10s %6s %7s %10s %5s  %s\n", "CAMERA",
                          "STATE", "CODEC", "SIZE", "FPS", "KBIT/S", "FRAMES", "RECON", "LAST ERROR");
  for (guint i = 0; i < json_array_get_length (cameras); i++) {
    JsonObject *c = json_array_get_object_element (cameras, i);
    g_autofree char *size = g_strdup_printf ("%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT,
                                             int_or (c, "width"), int_or (c, "height"));
    g_string_append_printf (out, "%-20s %-10s %-6s %-10s %6" G_GINT64_FORMAT " %7" G_GINT64_FORMAT " %10"
                            G_GINT64_FORMAT " %5" G_GINT64_FORMAT "  %s\n",
                            str_or (c, "id", "?"), str_or (c, "state", "?"), str_or (c, "codec", "-"),
                            size, int_or (c, "fps"),
                            int_or (c, "kbps"), int_or (c, "frames_in"), int_or (c, "reconnects"),
                            str_or (c, "last_error", ""));
  }
}

/* "relay/tls" for a WHIP uplink's path, "-" for none. transfer full */
static char *
uplink_path (JsonObject *u)
{
  JsonNode *n = json_object_get_member (u, "path");
  JsonObject *p;

  if (!n || !JSON_NODE_HOLDS_OBJECT (n))
    return g_strdup ("-");
  p = json_node_get_object (n);
  return g_strdup_printf ("%s/%s", str_or (p, "local", "?"), str_or (p, "transport", "?"));
}

static void
format_uplinks (GString *out, JsonArray *uplinks)
{
  g_string_append_printf (out, "\n%-20s %-6s %-10s %10s %10s %8s %-10s %s\n", "UPLINK",
                          "KIND", "STATE", "FRAMES", "DROPPED", "SESSIONS", "PATH",
                          "LAST ERROR");
  for (guint i = 0; i < json_array_get_length (uplinks); i++) {
    JsonObject *u = json_array_get_object_element (uplinks, i);
    g_autofree char *path = uplink_path (u);

    g_string_append_printf (out, "%-20s %-6s %-10s %10" G_GINT64_FORMAT " %10" G_GINT64_FORMAT
                            " %8" G_GINT64_FORMAT " %-10s %s\n",
                            str_or (u, "camera", "?"), str_or (u, "kind", "?"),
                            str_or (u, "state", "?"), int_or (u, "frames_out"),
                            int_or (u, "frames_dropped"), int_or (u, "sessions"), path,
                            str_or (u, "last_error", ""));
    if (json_object_has_member (u, "path") &&
        JSON_NODE_HOLDS_OBJECT (json_object_get_member (u, "path"))) {
      JsonObject *p = json_object_get_object_member (u, "path");
      g_string_append_printf (out, "%-20s path: %s %s from %s to %s\n", "",
                              str_or (p, "local", "?"), str_or (p, "transport", "?"),
                              str_or (p, "local_address", "?"),
                              str_or (p, "remote_address", "?"));
    }
  }
}

/* "tcp/23", "icmp", "tcp (12 ports)" */
static char *
violation_what (JsonObject *v)
{
  const char *proto = str_or (v, "proto", "?");
  JsonNode *port = json_object_get_member (v, "dport");

  if (port && JSON_NODE_HOLDS_VALUE (port))
    return g_strdup_printf ("%s/%" G_GINT64_FORMAT, proto, json_node_get_int (port));
  if (json_object_has_member (v, "ports"))
    return g_strdup_printf ("%s (%" G_GINT64_FORMAT " ports)", proto, int_or (v, "ports"));
  return g_strdup (proto);
}

static void
format_holes (GString *out, JsonArray *holes)
{
  for (guint i = 0; i < json_array_get_length (holes); i++) {
    JsonObject *h = json_array_get_object_element (holes, i);

    g_string_append_printf (out, "temporary hole: %s may reach camera %s (%s) until %s\n",
                            str_or (h, "from", "?"), str_or (h, "camera", "?"),
                            str_or (h, "camera_address", "?"), str_or (h, "expires", "?"));
  }
}

static void
format_violations (GString *out, JsonArray *violations)
{
  if (json_array_get_length (violations) == 0) {
    g_string_append (out, "no violations in the last hour\n");
    return;
  }
  g_string_append_printf (out, "\n%-20s %-24s %-16s %-24s %10s %-12s %s\n", "SOURCE", "SRC",
                          "WHAT", "TO", "PACKETS", "PATTERN", "LAST SEEN");
  for (guint i = 0; i < json_array_get_length (violations); i++) {
    JsonObject *v = json_array_get_object_element (violations, i);
    g_autofree char *what = violation_what (v);
    gint64 destinations = int_or (v, "destinations");
    g_autofree char *to = destinations > 1
        ? g_strdup_printf ("%" G_GINT64_FORMAT " destinations", destinations)
        : g_strdup (str_or (v, "dst", "?"));

    g_string_append_printf (out, "%-20s %-24s %-16s %-24s %10" G_GINT64_FORMAT " %-12s %s\n",
                            str_or (v, "camera", str_or (v, "mac", "(unknown)")),
                            str_or (v, "src", "(many)"), what, to, int_or (v, "packets"),
                            str_or (v, "pattern", "-"), str_or (v, "last_seen", "?"));
  }
}

char *
cg_status_format_text (JsonNode *root, GError **error)
{
  JsonObject *o, *iso;
  JsonArray *cameras, *uplinks;
  GString *out;

  if (!JSON_NODE_HOLDS_OBJECT (root) ||
      !(o = json_node_get_object (root)) ||
      !json_object_has_member (o, "cameras") || !json_object_has_member (o, "uplinks") ||
      !JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, "cameras")) ||
      !JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, "uplinks"))) {
    g_set_error (error, CG_ERROR, CG_ERROR_PROTOCOL,
                 "the daemon's status has no cameras/uplinks arrays: is it another version?");
    return NULL;
  }
  cameras = json_object_get_array_member (o, "cameras");
  uplinks = json_object_get_array_member (o, "uplinks");
  out = g_string_new (NULL);
  g_string_append_printf (out, "camgate %s on %s, up %" G_GINT64_FORMAT " s\n\n",
                          str_or (o, "version", "?"), str_or (o, "name", "?"), int_or (o, "uptime_s"));
  format_cameras (out, cameras);
  format_uplinks (out, uplinks);
  if (json_object_has_member (o, "isolation") &&
      JSON_NODE_HOLDS_OBJECT (json_object_get_member (o, "isolation"))) {
    iso = json_object_get_object_member (o, "isolation");
    g_string_append_printf (out, "\nisolation: %s, %s\n", str_or (iso, "mode", "?"),
                            json_object_get_boolean_member_with_default (iso, "applied", FALSE)
                            ? "applied" : "NOT applied");
    if (json_object_has_member (iso, "holes") &&
        JSON_NODE_HOLDS_ARRAY (json_object_get_member (iso, "holes")))
      format_holes (out, json_object_get_array_member (iso, "holes"));
    if (json_object_has_member (iso, "violations") &&
        JSON_NODE_HOLDS_ARRAY (json_object_get_member (iso, "violations")))
      format_violations (out, json_object_get_array_member (iso, "violations"));
  }
  return g_string_free (out, FALSE);
}
