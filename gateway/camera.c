/* A camera: source → hub → uplink (see camera.h). */
#define G_LOG_DOMAIN "camgate-camera"

#include "camera.h"

#include <string.h>

#ifdef CG_WITH_WEBRTC
#include "whipuplink.h"
#endif

struct _CgCamera {
  CgCameraConfig config;        /* a copy: it outlives config reloads */
  CgHub *hub;
  CgSource *source;
  CgUplink *uplink;             /* kind = rtsps; NULL when it could not be set up */
#ifdef CG_WITH_WEBRTC
  CgWhipUplink *whip;           /* kind = whip; NULL when it could not be set up */
#endif
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

/* The uplink of either kind, if there is one. */
static gboolean
has_uplink (CgCamera *camera)
{
#ifdef CG_WITH_WEBRTC
  if (camera->whip)
    return TRUE;
#endif
  return camera->uplink != NULL;
}

static CgFormat *
uplink_get_format (CgCamera *camera)
{
#ifdef CG_WITH_WEBRTC
  if (camera->whip)
    return cg_whip_uplink_get_format (camera->whip);
#endif
  return cg_uplink_get_format (camera->uplink);
}

static void
uplink_start (CgCamera *camera, CgFormat *format)
{
#ifdef CG_WITH_WEBRTC
  if (camera->whip) {
    cg_whip_uplink_start (camera->whip, format);
    return;
  }
#endif
  cg_uplink_start (camera->uplink, format);
}

static void
uplink_free (CgCamera *camera)
{
#ifdef CG_WITH_WEBRTC
  g_clear_pointer (&camera->whip, cg_whip_uplink_free);
#endif
  g_clear_pointer (&camera->uplink, cg_uplink_free);
}

/* The camera's codecs are known, or changed: start or replace the session. */
static void
on_format (CgFormat *format, gpointer data)
{
  CgCamera *camera = data;
  CgFormat *current;
  g_autofree char *now = cg_format_signature (format), *before = NULL;

  if (!has_uplink (camera))
    return;
  current = uplink_get_format (camera);
  if (current) {
    before = cg_format_signature (current);
    if (g_str_equal (before, now))
      return;  /* same codecs: the running session carries on */
    g_message ("[%s] the camera now sends %s instead of %s: new uplink session",
               camera->config.id, now, before);
  }
  uplink_start (camera, format);
}

static void
create_uplink (CgCamera *camera, const CgUplinkConfig *uplink_config)
{
  g_autoptr (GError) error = NULL;

#ifdef CG_WITH_WEBRTC
  if (uplink_config->kind == CG_UPLINK_WHIP)
    camera->whip = cg_whip_uplink_new (camera->config.id, uplink_config, camera->hub, &error);
  else
#endif
    camera->uplink = cg_uplink_new (camera->config.id, uplink_config, camera->hub, &error);
  if (!has_uplink (camera)) {
    camera->uplink_error = g_strdup (error->message);
    g_warning ("[%s] no uplink: %s", camera->config.id, error->message);
  }
}

/* An uplink's receiver lost the picture: ask the camera. */
static void
on_keyframe_request (gboolean full, gpointer data)
{
  CgCamera *camera = data;

  cg_source_request_keyframe (camera->source, full);
}

CgCamera *
cg_camera_new (const CgCameraConfig *config, const CgUplinkConfig *uplink_config,
               gsize gop_cache_bytes)
{
  CgCamera *camera = g_new0 (CgCamera, 1);

  copy_camera_config (&camera->config, config);
  camera->hub = cg_hub_new (config->id, gop_cache_bytes, on_format, camera);
  camera->source = cg_source_new (&camera->config, camera->hub, NULL);
  cg_hub_set_keyframe_func (camera->hub, on_keyframe_request, camera);
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

  uplink_free (camera);
  g_clear_pointer (&camera->uplink_error, g_free);
  create_uplink (camera, uplink_config);
  format = cg_hub_get_format (camera->hub);
  if (has_uplink (camera) && format)
    uplink_start (camera, format);
}

void
cg_camera_free (CgCamera *camera)
{
  if (!camera)
    return;
  /* Source first: once it is gone nothing pushes into the hub. */
  cg_source_free (camera->source);
  uplink_free (camera);
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
#ifdef CG_WITH_WEBRTC
  if (camera->whip) {
    cg_whip_uplink_get_stats (camera->whip, uplink);
    return;
  }
#endif
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
