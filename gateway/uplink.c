/* RTSPS uplink of one camera (see uplink.h).
 *
 * A session is a pipeline
 *   appsrc video ─┐
 *   appsrc audio ─┴─ rtspclientsink location=rtsps://… protocols=tcp rtx-time=0
 * whose payloaders' packets are coalesced into one memory block each (see
 * coalesce.h), so that each costs fewer TLS records.
 * that runs without a clock: frames are sent as soon as they arrive, and their
 * timestamps only carry the camera's timing into RTP. Frames reach it from the
 * hub in the source's streaming thread; they are rebased onto the session's
 * timeline so that camera reconnects and cache replays stay monotonic. */
#define G_LOG_DOMAIN "camgate-uplink"

#include "uplink.h"

#include <gio/gio.h>
#include <gst/app/gstappsrc.h>

#include "backoff.h"
#include "coalesce.h"
#include "error.h"
#include "pipeline.h"

#define DEFAULT_TCP_TIMEOUT_US (10 * G_USEC_PER_SEC)
#define DEFAULT_CONNECT_TIMEOUT_S 20
/* Spacing between the last frame before a camera reconnect and the first after. */
#define EPOCH_GAP (40 * GST_MSECOND)

/* What the streaming threads report about one session. */
typedef struct {
  gint ref_count;
  GMutex lock;
  char *tls_error;              /* why the ingest's certificate was refused */
  GstElement *pipeline;         /* transfer none: for the "recording" message */
  guint64 frames_out;           /* video frames taken by the RTSP client */
} SessionShared;

/* Posted on the session's bus once the ingest takes media: RECORD succeeded. */
#define MSG_RECORDING "camgate-recording"

struct _CgUplink {
  char *camera_id;
  CgHub *hub;
  char *ca_file;                /* NULL: system store */
  char *username;               /* NULL: no RTSP auth toward the ingest */
  char *password;
  char *url;                    /* expanded */
  char *safe_url;               /* for logs */
  char *peer;                   /* "the ingest at HOST:PORT", for messages */
  GTlsDatabase *tls_database;   /* NULL: system store */

  CgFormat *format;
  GstElement *pipeline;
  SessionShared *shared;
  guint bus_watch;
  guint sink_handle;
  guint retry_id;
  guint connect_timeout_id;
  CgBackoff backoff;
  CgUplinkState state;
  guint sessions;
  char *last_error;

  /* below: used by the hub's streaming thread, under lock */
  GMutex lock;
  GstAppSrc *appsrc[CG_STREAM_N];
  GstCaps *caps[CG_STREAM_N];
  gboolean need_keyframe;
  gboolean dropping;
  guint in_epoch;
  GstClockTime in_base, out_base, last_out;
  guint64 frames_out;           /* sessions that ended; the current one counts in shared */
  guint64 frames_dropped;
};

static void session_start (CgUplink *uplink);

const char *
cg_uplink_state_to_string (CgUplinkState state)
{
  switch (state) {
  case CG_UPLINK_CONNECTING: return "connecting";
  case CG_UPLINK_UP: return "up";
  case CG_UPLINK_DOWN: return "down";
  }
  return "unknown";
}

static SessionShared *
session_shared_ref (SessionShared *shared)
{
  g_atomic_int_inc (&shared->ref_count);
  return shared;
}

static void
session_shared_unref (gpointer data)
{
  SessionShared *shared = data;

  if (!g_atomic_int_dec_and_test (&shared->ref_count))
    return;
  g_mutex_clear (&shared->lock);
  g_free (shared->tls_error);
  g_free (shared);
}

static void
session_shared_closure_unref (gpointer data, GClosure *closure)
{
  session_shared_unref (data);
}

/* ---- streaming thread ---------------------------------------------------- */

static GstClockTime
rebase (CgUplink *uplink, GstClockTime t)
{
  return GST_CLOCK_TIME_IS_VALID (t) && t >= uplink->in_base
      ? t - uplink->in_base + uplink->out_base : GST_CLOCK_TIME_NONE;
}

/* Drop policy: past the queue bound, drop until the next keyframe. Locked. */
static gboolean
should_drop (CgUplink *uplink, const CgFrame *frame)
{
  GstAppSrc *video = uplink->appsrc[CG_STREAM_VIDEO];
  GstClockTime level;

  if (!video)
    return FALSE;
  level = gst_app_src_get_current_level_time (video);
  if (uplink->dropping) {
    if (frame->kind == CG_STREAM_VIDEO && frame->keyframe && level < CG_UPLINK_QUEUE_MAX / 2) {
      uplink->dropping = FALSE;
      g_info ("[%s] uplink caught up: sending again from a keyframe", uplink->camera_id);
      return FALSE;
    }
    return TRUE;
  }
  if (level > CG_UPLINK_QUEUE_MAX) {
    uplink->dropping = TRUE;
    g_warning ("[%s] uplink too slow (%.1f s queued): dropping up to the next keyframe",
               uplink->camera_id, level / (double) GST_SECOND);
    return TRUE;
  }
  return FALSE;
}

/* Locked. FALSE: the frame cannot start or continue the session's stream. */
static gboolean
accept_timing (CgUplink *uplink, const CgFrame *frame)
{
  gboolean has_video = uplink->appsrc[CG_STREAM_VIDEO] != NULL;
  gboolean starts = frame->kind == CG_STREAM_VIDEO ? frame->keyframe : !has_video;
  GstClockTime pts = GST_BUFFER_PTS (frame->buffer);

  if (frame->epoch != uplink->in_epoch || uplink->need_keyframe) {
    if (!starts || !GST_CLOCK_TIME_IS_VALID (pts))
      return FALSE;
    /* A new camera session (or the first frame): continue the timeline. */
    if (frame->epoch != uplink->in_epoch || !GST_CLOCK_TIME_IS_VALID (uplink->last_out)) {
      uplink->in_epoch = frame->epoch;
      uplink->in_base = MIN (pts, GST_BUFFER_DTS_OR_PTS (frame->buffer));
      uplink->out_base = GST_CLOCK_TIME_IS_VALID (uplink->last_out)
          ? uplink->last_out + EPOCH_GAP : 0;
    }
    uplink->need_keyframe = FALSE;
  }
  return GST_CLOCK_TIME_IS_VALID (pts) && pts >= uplink->in_base;
}

static void
on_hub_frame (CgFrame *frame, gpointer data)
{
  CgUplink *uplink = data;
  GstAppSrc *appsrc;
  GstBuffer *out;

  g_mutex_lock (&uplink->lock);
  appsrc = uplink->appsrc[frame->kind];
  if (!appsrc || !accept_timing (uplink, frame))
    goto out;
  if (should_drop (uplink, frame)) {
    if (frame->kind == CG_STREAM_VIDEO)
      uplink->frames_dropped++;
    goto out;
  }
  if (!uplink->caps[frame->kind] || !gst_caps_is_equal (uplink->caps[frame->kind], frame->caps)) {
    gst_caps_replace (&uplink->caps[frame->kind], frame->caps);
    gst_app_src_set_caps (appsrc, frame->caps);
  }
  out = gst_buffer_copy (frame->buffer);   /* metadata only: the memory is shared */
  GST_BUFFER_PTS (out) = rebase (uplink, GST_BUFFER_PTS (frame->buffer));
  GST_BUFFER_DTS (out) = rebase (uplink, GST_BUFFER_DTS (frame->buffer));
  if (GST_BUFFER_PTS (out) > uplink->last_out || !GST_CLOCK_TIME_IS_VALID (uplink->last_out))
    uplink->last_out = GST_BUFFER_PTS (out);
  gst_app_src_push_buffer (appsrc, out);
out:
  g_mutex_unlock (&uplink->lock);
}

/* rtspclientsink holds the first buffer of each stream until the ingest has
 * answered RECORD: a second video buffer entering it means media flows. */
static GstPadProbeReturn
on_video_into_client (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  SessionShared *shared = data;
  guint64 n;

  g_mutex_lock (&shared->lock);
  n = ++shared->frames_out;
  g_mutex_unlock (&shared->lock);
  if (n == 2)
    gst_element_post_message (shared->pipeline, gst_message_new_application (
        GST_OBJECT (shared->pipeline), gst_structure_new_empty (MSG_RECORDING)));
  return GST_PAD_PROBE_OK;
}

/* Called when TLS validation of the ingest failed: say why, refuse. */
static gboolean
on_accept_certificate (GstElement *sink, GTlsConnection *conn, GTlsCertificate *cert,
                       GTlsCertificateFlags errors, gpointer data)
{
  SessionShared *shared = data;
  GString *why = g_string_new (NULL);

  if (errors & G_TLS_CERTIFICATE_UNKNOWN_CA)
    g_string_append (why, ", not signed by a trusted CA");
  if (errors & G_TLS_CERTIFICATE_BAD_IDENTITY)
    g_string_append (why, ", issued for another host name");
  if (errors & (G_TLS_CERTIFICATE_NOT_ACTIVATED | G_TLS_CERTIFICATE_EXPIRED))
    g_string_append (why, ", outside its validity period");
  if (errors & G_TLS_CERTIFICATE_REVOKED)
    g_string_append (why, ", revoked");
  if (errors & ~(G_TLS_CERTIFICATE_UNKNOWN_CA | G_TLS_CERTIFICATE_BAD_IDENTITY |
                 G_TLS_CERTIFICATE_NOT_ACTIVATED | G_TLS_CERTIFICATE_EXPIRED |
                 G_TLS_CERTIFICATE_REVOKED))
    g_string_append (why, ", otherwise invalid");

  g_mutex_lock (&shared->lock);
  g_free (shared->tls_error);
  shared->tls_error = g_strdup (why->len ? why->str + 2 : "invalid");
  g_mutex_unlock (&shared->lock);
  g_string_free (why, TRUE);
  return FALSE;
}

/* rtspclientsink made a payloader for one of our streams. */
static void
on_new_payloader (GstElement *sink, GstElement *payloader, gpointer data)
{
  cg_coalesce_attach (payloader);
}

/* ---- main thread --------------------------------------------------------- */

static void
set_error (CgUplink *uplink, const char *message)
{
  g_free (uplink->last_error);
  uplink->last_error = g_strdup (message);
}

static void
session_stop (CgUplink *uplink)
{
  if (uplink->sink_handle)
    cg_hub_remove_sink (uplink->hub, uplink->sink_handle);
  uplink->sink_handle = 0;
  g_clear_handle_id (&uplink->bus_watch, g_source_remove);
  g_clear_handle_id (&uplink->connect_timeout_id, g_source_remove);

  g_mutex_lock (&uplink->lock);
  for (int i = 0; i < CG_STREAM_N; i++) {
    g_clear_object (&uplink->appsrc[i]);
    gst_clear_caps (&uplink->caps[i]);
  }
  g_mutex_unlock (&uplink->lock);

  if (uplink->shared) {
    g_mutex_lock (&uplink->shared->lock);
    uplink->frames_out += uplink->shared->frames_out;
    uplink->shared->frames_out = 0;
    g_mutex_unlock (&uplink->shared->lock);
  }
  if (uplink->pipeline)
    cg_pipeline_dispose (g_steal_pointer (&uplink->pipeline));
  g_clear_pointer (&uplink->shared, session_shared_unref);
}

static gboolean
on_retry (gpointer data)
{
  CgUplink *uplink = data;

  uplink->retry_id = 0;
  session_start (uplink);
  return G_SOURCE_REMOVE;
}

static void
session_fail (CgUplink *uplink, const char *message)
{
  gint64 delay = cg_backoff_next (&uplink->backoff);

  session_stop (uplink);
  set_error (uplink, message);
  uplink->state = CG_UPLINK_DOWN;
  g_warning ("[%s] uplink: %s: retrying in %.1f s", uplink->camera_id, message,
             delay / (double) G_USEC_PER_SEC);
  g_clear_handle_id (&uplink->retry_id, g_source_remove);
  uplink->retry_id = g_timeout_add (delay / 1000, on_retry, uplink);
}

static gboolean
on_connect_timeout (gpointer data)
{
  CgUplink *uplink = data;

  uplink->connect_timeout_id = 0;
  session_fail (uplink, "the ingest did not accept the stream within 20 s");
  return G_SOURCE_REMOVE;
}

static char *
error_text (CgUplink *uplink, GstMessage *message)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *debug = NULL, *tls = NULL;

  g_mutex_lock (&uplink->shared->lock);
  tls = g_strdup (uplink->shared->tls_error);
  g_mutex_unlock (&uplink->shared->lock);
  if (tls)
    return g_strdup_printf ("%s presented a TLS certificate that does not verify (%s; trusted: "
                            "%s): refused, nothing was sent", uplink->peer, tls,
                            uplink->ca_file ? uplink->ca_file : "the system store");
  gst_message_parse_error (message, &error, &debug);
  g_debug ("[%s] uplink error: %s", uplink->camera_id, debug ? debug : "");
  return cg_gst_error_text (error, debug, uplink->peer);
}

static gboolean
on_bus_message (GstBus *bus, GstMessage *message, gpointer data)
{
  CgUplink *uplink = data;
  g_autofree char *text = NULL;

  switch (GST_MESSAGE_TYPE (message)) {
  case GST_MESSAGE_ERROR:
    text = error_text (uplink, message);
    uplink->bus_watch = 0;
    session_fail (uplink, text);
    return G_SOURCE_REMOVE;
  case GST_MESSAGE_EOS:
    uplink->bus_watch = 0;
    session_fail (uplink, "the session ended");
    return G_SOURCE_REMOVE;
  case GST_MESSAGE_APPLICATION:
    if (!gst_message_has_name (message, MSG_RECORDING) || uplink->state == CG_UPLINK_UP)
      break;
    uplink->state = CG_UPLINK_UP;
    uplink->sessions++;
    g_clear_handle_id (&uplink->connect_timeout_id, g_source_remove);
    g_clear_pointer (&uplink->last_error, g_free);
    cg_backoff_reset (&uplink->backoff);
    g_message ("[%s] uplink up: recording to %s", uplink->camera_id, uplink->safe_url);
    break;
  default:
    break;
  }
  return G_SOURCE_CONTINUE;
}

static GstAppSrc *
add_appsrc (GstElement *pipeline, GstElement *sink, GstCaps *caps, const char *name,
            SessionShared *counted)
{
  GstElement *appsrc = cg_element_make ("appsrc", name);
  g_autoptr (GstPad) srcpad = NULL, sinkpad = NULL;

  g_object_set (appsrc, "format", GST_FORMAT_TIME, "is-live", TRUE, "do-timestamp", FALSE,
                "max-bytes", (guint64) 0, "block", FALSE, "caps", caps, NULL);
  gst_bin_add (GST_BIN (pipeline), appsrc);
  srcpad = gst_element_get_static_pad (appsrc, "src");
  sinkpad = gst_element_request_pad_simple (sink, "sink_%u");
  if (gst_pad_link (srcpad, sinkpad) != GST_PAD_LINK_OK)
    g_warning ("cannot link the %s stream to the RTSP client", name);
  if (counted)
    gst_pad_add_probe (sinkpad, GST_PAD_PROBE_TYPE_BUFFER, on_video_into_client,
                       session_shared_ref (counted), session_shared_unref);
  /* transfer full: the uplink keeps a reference for the streaming thread */
  return GST_APP_SRC (gst_object_ref (appsrc));
}

static GstElement *
make_pipeline (CgUplink *uplink)
{
  GstElement *pipeline, *sink;

  sink = cg_element_make ("rtspclientsink", "sink");
  if (!sink)
    return NULL;
  pipeline = gst_pipeline_new (uplink->camera_id);
  uplink->shared->pipeline = pipeline;
  gst_pipeline_use_clock (GST_PIPELINE (pipeline), NULL);
  g_object_set (sink, "location", uplink->url, "protocols", 0x4 /* tcp */,
                "latency", 0, "tcp-timeout", (guint64) DEFAULT_TCP_TIMEOUT_US,
                "user-agent", "camgate/" PACKAGE_VERSION, NULL);
  /* No retransmission: over TCP nothing is lost to resend, and the default
   * (500 ms) keeps a history of every packet sent and a thread per stream. */
  g_object_set (sink, "rtx-time", 0, NULL);
  if (uplink->tls_database)
    g_object_set (sink, "tls-database", uplink->tls_database, NULL);
  if (uplink->username)
    g_object_set (sink, "user-id", uplink->username, "user-pw", uplink->password, NULL);
  g_signal_connect_data (sink, "accept-certificate", G_CALLBACK (on_accept_certificate),
                         session_shared_ref (uplink->shared),
                         session_shared_closure_unref, 0);
  g_signal_connect (sink, "new-payloader", G_CALLBACK (on_new_payloader), NULL);
  gst_bin_add (GST_BIN (pipeline), sink);

  g_mutex_lock (&uplink->lock);
  for (int i = 0; i < CG_STREAM_N; i++) {
    /* frames_out counts video; audio for a camera that has none */
    gboolean counted = i == CG_STREAM_VIDEO || !uplink->format->caps[CG_STREAM_VIDEO];
    if (uplink->format->caps[i])
      uplink->appsrc[i] = add_appsrc (pipeline, sink, uplink->format->caps[i],
                                      i == CG_STREAM_VIDEO ? "video" : "audio",
                                      counted ? uplink->shared : NULL);
  }
  uplink->need_keyframe = TRUE;
  uplink->dropping = FALSE;
  uplink->in_epoch = 0;
  uplink->last_out = GST_CLOCK_TIME_NONE;
  g_mutex_unlock (&uplink->lock);
  return pipeline;
}

static void
session_start (CgUplink *uplink)
{
  g_autoptr (GstBus) bus = NULL;

  uplink->shared = g_new0 (SessionShared, 1);
  uplink->shared->ref_count = 1;
  g_mutex_init (&uplink->shared->lock);
  uplink->state = CG_UPLINK_CONNECTING;
  uplink->pipeline = make_pipeline (uplink);
  if (!uplink->pipeline) {
    session_fail (uplink, "the GStreamer RTSP server plugin (rtspclientsink) is missing");
    return;
  }
  g_info ("[%s] uplink connecting to %s", uplink->camera_id, uplink->safe_url);
  bus = gst_element_get_bus (uplink->pipeline);
  uplink->bus_watch = gst_bus_add_watch (bus, on_bus_message, uplink);
  uplink->connect_timeout_id = g_timeout_add_seconds (DEFAULT_CONNECT_TIMEOUT_S,
                                                      on_connect_timeout, uplink);
  if (gst_element_set_state (uplink->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    session_fail (uplink, "the RTSP client could not start");
    return;
  }
  /* The hub replays its GOP cache first: the session starts on a keyframe. */
  uplink->sink_handle = cg_hub_add_sink (uplink->hub, on_hub_frame, uplink);
}

/* rtspclientsink takes the first payloader that fits, by rank: for AAC, two
 * tie and MP4A-LATM (rtpmp4apay) wins. RFC 3640 mpeg4-generic is what cameras
 * send and what ingests handle most widely: rank its payloader first. */
static void
prefer_mpeg4_generic (void)
{
  static gsize done;
  GstPluginFeature *feature;

  if (!g_once_init_enter (&done))
    return;
  feature = gst_registry_lookup_feature (gst_registry_get (), "rtpmp4gpay");
  if (feature) {
    gst_plugin_feature_set_rank (feature, GST_RANK_SECONDARY + 1);
    gst_object_unref (feature);
  }
  g_once_init_leave (&done, 1);
}

CgUplink *
cg_uplink_new (const char *camera_id, const CgUplinkConfig *config, CgHub *hub,
               GError **error)
{
  g_autofree char *url = cg_url_expand (config->url, camera_id, error);
  g_autoptr (GTlsDatabase) database = NULL;
  CgUplink *uplink;

  if (!url)
    return NULL;
  if (config->ca_file && !(database = g_tls_file_database_new (config->ca_file, error)))
    return NULL;

  prefer_mpeg4_generic ();
  uplink = g_new0 (CgUplink, 1);
  uplink->camera_id = g_strdup (camera_id);
  uplink->ca_file = g_strdup (config->ca_file);
  uplink->username = g_strdup (config->username);
  uplink->password = g_strdup (config->password);
  uplink->hub = hub;
  uplink->url = g_steal_pointer (&url);
  uplink->safe_url = cg_url_redact (uplink->url);
  uplink->peer = cg_peer_name ("the ingest", uplink->url);
  uplink->tls_database = g_steal_pointer (&database);
  uplink->state = CG_UPLINK_CONNECTING;
  g_mutex_init (&uplink->lock);
  cg_backoff_init (&uplink->backoff, NULL, NULL);
  return uplink;
}

void
cg_uplink_start (CgUplink *uplink, CgFormat *format)
{
  session_stop (uplink);
  g_clear_handle_id (&uplink->retry_id, g_source_remove);
  g_clear_pointer (&uplink->format, cg_format_unref);
  uplink->format = cg_format_ref (format);
  session_start (uplink);
}

CgFormat *
cg_uplink_get_format (CgUplink *uplink)
{
  return uplink->format;
}

void
cg_uplink_free (CgUplink *uplink)
{
  if (!uplink)
    return;
  session_stop (uplink);
  g_clear_handle_id (&uplink->retry_id, g_source_remove);
  g_clear_pointer (&uplink->format, cg_format_unref);
  g_clear_object (&uplink->tls_database);
  g_mutex_clear (&uplink->lock);
  g_free (uplink->last_error);
  g_free (uplink->safe_url);
  g_free (uplink->peer);
  g_free (uplink->url);
  g_free (uplink->camera_id);
  g_free (uplink->ca_file);
  g_free (uplink->username);
  g_free (uplink->password);
  g_free (uplink);
}

void
cg_uplink_stats_clear (CgUplinkStats *stats)
{
  g_clear_pointer (&stats->last_error, g_free);
}

void
cg_uplink_get_stats (CgUplink *uplink, CgUplinkStats *stats)
{
  stats->state = uplink->state;
  stats->sessions = uplink->sessions;
  stats->last_error = g_strdup (uplink->last_error);
  g_mutex_lock (&uplink->lock);
  stats->frames_out = uplink->frames_out;
  stats->frames_dropped = uplink->frames_dropped;
  g_mutex_unlock (&uplink->lock);
  if (uplink->shared) {
    g_mutex_lock (&uplink->shared->lock);
    stats->frames_out += uplink->shared->frames_out;
    g_mutex_unlock (&uplink->shared->lock);
  }
}
