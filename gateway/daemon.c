/* The daemon (see daemon.h). */
#define G_LOG_DOMAIN "camgate"

#include "daemon.h"

#include <signal.h>

#include <glib-unix.h>

#include "camera.h"
#include "config.h"
#include "control.h"
#include "isolation.h"
#include "rtspconn.h"
#include "status.h"
#ifdef CG_WITH_WEBRTC
#include "whip.h"
#endif

#define SHUTDOWN_TIMEOUT_US (5 * G_USEC_PER_SEC)

typedef struct {
  char *config_path;
  CgConfig *config;
  GPtrArray *cameras;           /* element-type CgCamera, in config order */
  gboolean uplink_changed;      /* by the reload being applied */
  CgIsolation *isolation;
  CgControl *control;
  GMainLoop *loop;
  gint64 started_us;
} CgDaemon;

static void
log_warnings (const CgConfig *config)
{
  for (guint i = 0; i < config->warnings->len; i++)
    g_warning ("%s", (const char *) g_ptr_array_index (config->warnings, i));
}

static CgCamera *
find_camera (GPtrArray *cameras, const char *id)
{
  for (guint i = 0; i < cameras->len; i++) {
    CgCamera *camera = g_ptr_array_index (cameras, i);
    if (g_str_equal (cg_camera_get_config (camera)->id, id))
      return camera;
  }
  return NULL;
}

/* Builds the camera list for @config from @old (consumed): cameras whose
 * configuration did not change are kept as they are, the others are stopped
 * before their replacements start. */
static GPtrArray *
reconcile (GPtrArray *old, const CgConfig *config, gboolean uplink_changed)
{
  GPtrArray *cameras = g_ptr_array_new_with_free_func ((GDestroyNotify) cg_camera_free);
  gsize gop_cache_bytes = (gsize) config->gop_cache_kbytes * 1024;

  for (guint i = old->len; i-- > 0;) {
    CgCamera *camera = g_ptr_array_index (old, i);
    const CgCameraConfig *cfg = cg_camera_get_config (camera);
    const CgCameraConfig *now = cg_config_find_camera (config, cfg->id);

    if (!now || !cg_camera_config_equal (cfg, now)) {
      g_message ("[%s] %s: stopping", cfg->id, now ? "configuration changed" : "removed");
      g_ptr_array_remove_index (old, i);
    }
  }
  for (guint i = 0; i < config->cameras->len; i++) {
    const CgCameraConfig *cfg = g_ptr_array_index (config->cameras, i);
    CgCamera *camera = find_camera (old, cfg->id);

    if (camera) {
      cg_camera_set_gop_cache (camera, gop_cache_bytes);
      if (uplink_changed)
        cg_camera_set_uplink (camera, &config->uplink);
    } else {
      g_message ("[%s] starting", cfg->id);
      camera = cg_camera_new (cfg, &config->uplink, gop_cache_bytes);
      cg_camera_start (camera);
    }
    g_ptr_array_add (cameras, camera);
  }
  /* kept cameras now belong to @cameras */
  g_ptr_array_set_free_func (old, NULL);
  g_ptr_array_unref (old);
  return cameras;
}

/* "allow CAMERA ADDR MINUTES": the hole, or {"error": "..."} */
static JsonNode *
on_allow (CgDaemon *daemon, const char *camera, const char *peer, const char *minutes)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonBuilder) b = NULL;
  guint64 n = 0;
  JsonNode *hole;

  if (!g_ascii_string_to_unsigned (minutes, 10, 0, G_MAXUINT, &n, &error))
    g_prefix_error (&error, "--minutes: ");
  else if ((hole = cg_isolation_allow (daemon->isolation, camera, peer, (guint) n, &error)))
    return hole;
  g_warning ("[%s] camgate rules allow refused: %s", camera, error->message);
  b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "error");
  json_builder_add_string_value (b, error->message);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static JsonNode *
on_control (const char *command, gpointer data)
{
  CgDaemon *daemon = data;

  g_auto (GStrv) words = NULL;

  if (g_str_equal (command, "status"))
    return cg_status_build (daemon->config, daemon->cameras, daemon->isolation,
                            daemon->started_us);
  words = g_strsplit (command, " ", 0);
  if (g_strv_length (words) == 4 && g_str_equal (words[0], CG_CONTROL_ALLOW))
    return on_allow (daemon, words[1], words[2], words[3]);
  return NULL;
}

static gboolean
on_reload (gpointer data)
{
  CgDaemon *daemon = data;
  g_autoptr (GError) error = NULL;
  CgConfig *config = cg_config_load (daemon->config_path, &error);
  gboolean uplink_changed;

  if (!config) {
    g_warning ("reload refused, the running configuration stays: %s", error->message);
    return G_SOURCE_CONTINUE;
  }
  if (g_strcmp0 (config->runtime_dir, daemon->config->runtime_dir) != 0)
    g_warning ("runtime_dir changed: takes effect at the next start");
  log_warnings (config);
  uplink_changed = !cg_uplink_config_equal (&config->uplink, &daemon->config->uplink);
  if (uplink_changed)
    g_message ("[uplink] configuration changed: every uplink restarts");
  daemon->uplink_changed = uplink_changed;
  cg_config_free (daemon->config);
  daemon->config = config;
  g_message ("configuration reloaded from %s", daemon->config_path);
  cg_isolation_apply (daemon->isolation, config);
  if (!cg_isolation_may_stream (daemon->isolation) && daemon->cameras->len > 0) {
    g_warning ("every camera stops until the cameras are sealed off again");
    g_ptr_array_set_size (daemon->cameras, 0);
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_stop (gpointer data)
{
  CgDaemon *daemon = data;

  g_message ("stopping");
  g_main_loop_quit (daemon->loop);
  return G_SOURCE_CONTINUE;
}

/* The seal is in force (or not required): cameras may stream. */
static void
on_isolation_ready (gpointer data)
{
  CgDaemon *daemon = data;

  daemon->cameras = reconcile (daemon->cameras, daemon->config, daemon->uplink_changed);
  daemon->uplink_changed = FALSE;
}

static void
on_isolation_lost (gpointer data)
{
  CgDaemon *daemon = data;

  if (daemon->cameras->len > 0)
    g_warning ("every camera stops until the cameras are sealed off again");
  g_ptr_array_set_size (daemon->cameras, 0);
}

static void
daemon_start (CgDaemon *daemon)
{
  g_message ("camgate %s starting: %s, %u camera(s), uplink %s", PACKAGE_VERSION,
             daemon->config->name, daemon->config->cameras->len,
             cg_uplink_kind_to_string (daemon->config->uplink.kind));
  log_warnings (daemon->config);
  daemon->cameras = g_ptr_array_new_with_free_func ((GDestroyNotify) cg_camera_free);
  daemon->isolation = cg_isolation_new (on_isolation_ready, on_isolation_lost, daemon);
  cg_isolation_apply (daemon->isolation, daemon->config);
}

/* Sessions still closing: RTSP connections sending TEARDOWN, WHIP DELETEs. */
static guint
sessions_closing (void)
{
#ifdef CG_WITH_WEBRTC
  return cg_rtsp_conn_lingering () + cg_whip_deletes_pending ();
#else
  return cg_rtsp_conn_lingering ();
#endif
}

static gboolean
on_wait_over (gpointer data)
{
  *(guint *) data = 0;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop until every session has closed, at most @timeout_us.
 * FALSE on timeout. */
static gboolean
wait_sessions_closed (gint64 timeout_us)
{
  guint wait_id = 0;

  if (sessions_closing () > 0)
    wait_id = g_timeout_add (timeout_us / 1000, on_wait_over, &wait_id);
  while (sessions_closing () > 0 && wait_id)
    g_main_context_iteration (NULL, TRUE);
  g_clear_handle_id (&wait_id, g_source_remove);
  return sessions_closing () == 0;
}

int
cg_daemon_run (const char *config_path)
{
  g_autoptr (GError) error = NULL;
  CgDaemon daemon = { 0 };
  guint signals[3];

  daemon.config_path = g_strdup (config_path);
  daemon.config = cg_config_load (config_path, &error);
  if (!daemon.config) {
    g_printerr ("%s\n", error->message);
    g_free (daemon.config_path);
    return 1;
  }
  daemon.control = cg_control_new (daemon.config->runtime_dir, on_control, &daemon, &error);
  if (!daemon.control) {
    g_printerr ("camgate: %s\n", error->message);
    cg_config_free (daemon.config);
    g_free (daemon.config_path);
    return 4;
  }
  daemon.started_us = g_get_monotonic_time ();
  daemon.loop = g_main_loop_new (NULL, FALSE);
  /* A peer that closes its end must give an error on the write, not kill
   * camgate (OpenSSL writes to its sockets with write(2)). */
  signal (SIGPIPE, SIG_IGN);
  signals[0] = g_unix_signal_add (SIGHUP, on_reload, &daemon);
  signals[1] = g_unix_signal_add (SIGTERM, on_stop, &daemon);
  signals[2] = g_unix_signal_add (SIGINT, on_stop, &daemon);
  daemon_start (&daemon);

  g_main_loop_run (daemon.loop);

  /* Sources and uplinks send TEARDOWN; their connections close meanwhile. */
  g_ptr_array_unref (daemon.cameras);
  cg_isolation_free (daemon.isolation);
  if (!wait_sessions_closed (SHUTDOWN_TIMEOUT_US))
    g_warning ("some uplink or camera sessions did not close within 5 s (TEARDOWN or DELETE "
               "unanswered)");
  for (guint i = 0; i < G_N_ELEMENTS (signals); i++)
    g_source_remove (signals[i]);
  cg_control_free (daemon.control);
  g_main_loop_unref (daemon.loop);
  cg_config_free (daemon.config);
  g_free (daemon.config_path);
  g_message ("stopped");
  return 0;
}
