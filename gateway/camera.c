/* A camera: source → hub → uplink (see camera.h). */
#define G_LOG_DOMAIN "camgate-camera"

#include "camera.h"

#include <string.h>

struct _CgCamera {
  CgCameraConfig config;        /* a copy: it outlives config reloads */
  CgHub *hub;
  CgSource *source;
  CgUplink *uplink;             /* NULL when it could not be set up */
  char *uplink_error;           /* why there is no uplink */
};

static void
copy_camera_config (CgCameraConfig *dst, const CgCameraConfig *src)
{
  dst->id = g_strdup (src->id);
  dst->url = g_strdup (src->url);
  dst->username = g_strdup (src->username);
  dst->password = g_strdup (src->password);
  dst->transport = src->transport;
  dst->line = src->line;
}

/* The camera's codecs are known, or changed: start or replace the session. */
static void
on_format (CgFormat *format, gpointer data)
{
  CgCamera *camera = data;
  CgFormat *current;
  g_autofree char *now = cg_format_signature (format), *before = NULL;

  if (!camera->uplink)
    return;
  current = cg_uplink_get_format (camera->uplink);
  if (current) {
    before = cg_format_signature (current);
    if (g_str_equal (before, now))
      return;  /* same codecs: the running session carries on */
    g_message ("[%s] the camera now sends %s instead of %s: new uplink session",
               camera->config.id, now, before);
  }
  cg_uplink_start (camera->uplink, format);
}

static void
create_uplink (CgCamera *camera, const CgUplinkConfig *uplink_config)
{
  g_autoptr (GError) error = NULL;

  camera->uplink = cg_uplink_new (camera->config.id, uplink_config, camera->hub, &error);
  if (!camera->uplink) {
    camera->uplink_error = g_strdup (error->message);
    g_warning ("[%s] no uplink: %s", camera->config.id, error->message);
  }
}

CgCamera *
cg_camera_new (const CgCameraConfig *config, const CgUplinkConfig *uplink_config,
               gsize gop_cache_bytes)
{
  CgCamera *camera = g_new0 (CgCamera, 1);

  copy_camera_config (&camera->config, config);
  camera->hub = cg_hub_new (config->id, gop_cache_bytes, on_format, camera);
  camera->source = cg_source_new (&camera->config, camera->hub, NULL);
  create_uplink (camera, uplink_config);
  return camera;
}

void
cg_camera_start (CgCamera *camera)
{
  cg_source_start (camera->source);
}

void
cg_camera_set_uplink (CgCamera *camera, const CgUplinkConfig *uplink_config)
{
  g_autoptr (CgFormat) format = NULL;

  g_clear_pointer (&camera->uplink, cg_uplink_free);
  g_clear_pointer (&camera->uplink_error, g_free);
  create_uplink (camera, uplink_config);
  format = cg_hub_get_format (camera->hub);
  if (camera->uplink && format)
    cg_uplink_start (camera->uplink, format);
}

void
cg_camera_free (CgCamera *camera)
{
  if (!camera)
    return;
  /* Source first: once it is gone nothing pushes into the hub. */
  cg_source_free (camera->source);
  cg_uplink_free (camera->uplink);
  cg_hub_free (camera->hub);
  g_free (camera->uplink_error);
  g_free (camera->config.id);
  g_free (camera->config.url);
  g_free (camera->config.username);
  g_free (camera->config.password);
  g_free (camera);
}

const CgCameraConfig *
cg_camera_get_config (CgCamera *camera)
{
  return &camera->config;
}

void
cg_camera_get_stats (CgCamera *camera, CgSourceStats *source, CgUplinkStats *uplink)
{
  cg_source_get_stats (camera->source, source);
  memset (uplink, 0, sizeof *uplink);
  if (camera->uplink) {
    cg_uplink_get_stats (camera->uplink, uplink);
  } else {
    uplink->state = CG_UPLINK_DOWN;
    uplink->last_error = g_strdup (camera->uplink_error);
  }
}

void
cg_camera_set_gop_cache (CgCamera *camera, gsize gop_cache_bytes)
{
  cg_hub_set_cache_limit (camera->hub, gop_cache_bytes);
}

void
cg_camera_get_cache_stats (CgCamera *camera, CgHubCacheStats *stats)
{
  cg_hub_get_cache_stats (camera->hub, stats);
}
