/* RTSP source of one camera (see source.h).
 *
 * Each connection attempt is a fresh pipeline, one "epoch":
 *   rtspsrc ─┬─ rtph264depay ! h264parse ! appsink   (video: H.264 or H.265)
 *            └─ rtpmp4gdepay ! aacparse  ! appsink   (audio: AAC or G.711)
 * Parsers only frame access units and re-insert parameter sets before every
 * keyframe; nothing is decoded. Streaming threads reach the source through a
 * small shared block whose pointer is cleared, under its lock, when the source
 * goes away, so a late callback never touches freed memory. */
#define G_LOG_DOMAIN "camgate-source"

#include "source.h"

#include <string.h>

#include <gst/app/gstappsink.h>

#include "backoff.h"
#include "pipeline.h"
#include "watchdog.h"

#define DEFAULT_TCP_TIMEOUT_US (10 * G_USEC_PER_SEC)
#define DEFAULT_UDP_TIMEOUT_US (5 * G_USEC_PER_SEC)
#define DEFAULT_UDP_LATENCY_MS 100
#define RATE_WINDOW 5           /* seconds the fps and kbit/s figures cover */

typedef struct {
  GMutex lock;
  CgSource *source;             /* NULL once the source is freed */
  gint ref_count;
} Shared;

typedef struct {
  Shared *shared;
  CgStreamKind kind;
} Branch;

typedef struct {
  gint64 time_us;
  guint64 frames, bytes;
} RateSample;

struct _CgSource {
  const CgCameraConfig *config;
  CgHub *hub;
  const CgClock *clock;
  char *safe_url;               /* for logs: no credentials */
  char *peer;                   /* "the camera at HOST:PORT", for messages */
  Shared *shared;

  GstElement *pipeline;
  guint bus_watch;
  guint retry_id;
  guint tick_id;
  CgBackoff backoff;
  CgSourceState state;
  guint reconnects;
  char *last_error;
  RateSample rates[RATE_WINDOW + 1];
  guint rate_count;

  /* below: written by streaming threads, under shared->lock */
  guint epoch;
  guint hub_epoch;              /* the epoch announced to the hub */
  gboolean selected[CG_STREAM_N];
  gboolean linked[CG_STREAM_N];
  CgWatchdog watchdog;
  guint64 frames_in, bytes_in;
  GstCaps *caps[CG_STREAM_N];
};

static void source_connect (CgSource *source);

static Shared *
shared_ref (Shared *shared)
{
  g_atomic_int_inc (&shared->ref_count);
  return shared;
}

static void
shared_unref (gpointer data)
{
  Shared *shared = data;

  if (!g_atomic_int_dec_and_test (&shared->ref_count))
    return;
  g_mutex_clear (&shared->lock);
  g_free (shared);
}

static void
shared_closure_unref (gpointer data, GClosure *closure)
{
  shared_unref (data);
}

static void
branch_free (gpointer data)
{
  Branch *branch = data;

  shared_unref (branch->shared);
  g_free (branch);
}

const char *
cg_source_state_to_string (CgSourceState state)
{
  switch (state) {
  case CG_SOURCE_CONNECTING: return "connecting";
  case CG_SOURCE_STREAMING: return "streaming";
  case CG_SOURCE_OFFLINE: return "offline";
  }
  return "unknown";
}

/* ---- streaming threads --------------------------------------------------- */

static CgStreamKind
stream_kind (const GstStructure *s, const char **encoding)
{
  const char *media = gst_structure_get_string (s, "media");

  *encoding = gst_structure_get_string (s, "encoding-name");
  if (!media || !*encoding)
    return CG_STREAM_N;
  if (g_str_equal (media, "video") &&
      (!g_ascii_strcasecmp (*encoding, "H264") || !g_ascii_strcasecmp (*encoding, "H265")))
    return CG_STREAM_VIDEO;
  if (g_str_equal (media, "audio") &&
      (!g_ascii_strcasecmp (*encoding, "MPEG4-GENERIC") ||
       !g_ascii_strcasecmp (*encoding, "MP4A-LATM") ||
       !g_ascii_strcasecmp (*encoding, "PCMU") || !g_ascii_strcasecmp (*encoding, "PCMA")))
    return CG_STREAM_AUDIO;
  return CG_STREAM_N;
}

/* rtspsrc asks, per stream of the camera's SDP, whether to set it up: the first
 * supported video and the first supported audio stream; nothing else. */
static gboolean
on_select_stream (GstElement *rtspsrc, guint num, GstCaps *caps, gpointer data)
{
  Shared *shared = data;
  const char *encoding = NULL;
  CgStreamKind kind = stream_kind (gst_caps_get_structure (caps, 0), &encoding);
  gboolean take = FALSE;

  g_mutex_lock (&shared->lock);
  if (shared->source && kind != CG_STREAM_N && !shared->source->selected[kind]) {
    shared->source->selected[kind] = TRUE;
    take = TRUE;
  }
  if (shared->source && !take)
    g_info ("[%s] stream %u (%s) not relayed: %s", shared->source->config->id, num,
            encoding ? encoding : "unknown",
            kind == CG_STREAM_N ? "unsupported codec" : "one stream of each kind is relayed");
  g_mutex_unlock (&shared->lock);
  return take;
}

/* Called locked. */
static void
source_frame_arrived (CgSource *source, CgStreamKind kind, GstSample *sample,
                      GstBuffer *buffer)
{
  GstCaps *caps = gst_sample_get_caps (sample);

  if (source->hub_epoch != source->epoch) {
    cg_hub_begin_epoch (source->hub, source->epoch, source->selected[CG_STREAM_VIDEO],
                        source->selected[CG_STREAM_AUDIO]);
    source->hub_epoch = source->epoch;
  }
  if (caps && (!source->caps[kind] || !gst_caps_is_equal (caps, source->caps[kind])))
    gst_caps_replace (&source->caps[kind], caps);
  source->bytes_in += gst_buffer_get_size (buffer);
  if (kind == CG_STREAM_VIDEO || !source->selected[CG_STREAM_VIDEO]) {
    source->frames_in++;
    cg_watchdog_frame (&source->watchdog, cg_clock_now (source->clock));
  }
}

static GstFlowReturn
on_new_sample (GstAppSink *appsink, gpointer data)
{
  Branch *branch = data;
  g_autoptr (GstSample) sample = gst_app_sink_pull_sample (appsink);
  g_autoptr (CgFrame) frame = NULL;
  GstBuffer *buffer;
  CgHub *hub = NULL;

  if (!sample || !(buffer = gst_sample_get_buffer (sample)) || !gst_sample_get_caps (sample))
    return GST_FLOW_OK;

  g_mutex_lock (&branch->shared->lock);
  if (branch->shared->source) {
    CgSource *source = branch->shared->source;
    source_frame_arrived (source, branch->kind, sample, buffer);
    frame = cg_frame_new (branch->kind, source->epoch, buffer, gst_sample_get_caps (sample));
    hub = source->hub;
    /* Pushed under the shared lock: cg_source_free() waits for it, so the
     * hub is still alive. */
    cg_hub_push (hub, frame);
  }
  g_mutex_unlock (&branch->shared->lock);
  return hub ? GST_FLOW_OK : GST_FLOW_FLUSHING;
}

static GstElement *
branch_bin (CgStreamKind kind, const char *encoding)
{
  const char *desc;
  GError *error = NULL;
  GstElement *bin;

  if (!g_ascii_strcasecmp (encoding, "H264"))
    desc = "rtph264depay ! h264parse config-interval=-1 ! "
           "video/x-h264,stream-format=byte-stream,alignment=au";
  else if (!g_ascii_strcasecmp (encoding, "H265"))
    desc = "rtph265depay ! h265parse config-interval=-1 ! "
           "video/x-h265,stream-format=byte-stream,alignment=au";
  else if (!g_ascii_strcasecmp (encoding, "MPEG4-GENERIC"))
    desc = "rtpmp4gdepay ! aacparse";
  else if (!g_ascii_strcasecmp (encoding, "MP4A-LATM"))
    desc = "rtpmp4adepay ! aacparse";
  else if (!g_ascii_strcasecmp (encoding, "PCMU"))
    desc = "rtppcmudepay";
  else
    desc = "rtppcmadepay";

  g_autofree char *full = g_strdup_printf ("%s ! appsink name=sink sync=false "
                                           "enable-last-sample=false", desc);
  bin = gst_parse_bin_from_description (full, TRUE, &error);
  if (!bin) {
    g_warning ("cannot build the %s depayloader: %s", encoding, error->message);
    g_error_free (error);
  }
  return bin;
}

static void
on_pad_added (GstElement *rtspsrc, GstPad *pad, gpointer data)
{
  Shared *shared = data;
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (pad);
  const char *encoding = NULL;
  CgStreamKind kind;
  GstElement *bin, *sink;
  GstAppSinkCallbacks callbacks = { .new_sample = on_new_sample };
  Branch *branch;

  if (!caps)
    caps = gst_pad_query_caps (pad, NULL);
  kind = stream_kind (gst_caps_get_structure (caps, 0), &encoding);

  g_mutex_lock (&shared->lock);
  if (!shared->source || kind == CG_STREAM_N || shared->source->linked[kind] ||
      !(bin = branch_bin (kind, encoding))) {
    g_mutex_unlock (&shared->lock);
    return;
  }
  shared->source->linked[kind] = TRUE;
  g_mutex_unlock (&shared->lock);

  branch = g_new0 (Branch, 1);
  branch->shared = shared_ref (shared);
  branch->kind = kind;
  sink = gst_bin_get_by_name (GST_BIN (bin), "sink");
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, branch, branch_free);
  gst_object_unref (sink);

  gst_bin_add (GST_BIN (GST_ELEMENT_PARENT (rtspsrc)), bin);
  gst_element_sync_state_with_parent (bin);
  {
    g_autoptr (GstPad) sinkpad = gst_element_get_static_pad (bin, "sink");
    if (gst_pad_link (pad, sinkpad) != GST_PAD_LINK_OK)
      g_warning ("cannot link the camera's %s stream", encoding);
  }
}

/* ---- main thread --------------------------------------------------------- */

static void
set_error (CgSource *source, const char *message)
{
  g_free (source->last_error);
  source->last_error = g_strdup (message);
}

static gboolean
on_retry (gpointer data)
{
  CgSource *source = data;

  source->retry_id = 0;
  source_connect (source);
  return G_SOURCE_REMOVE;
}

static void
source_stop_pipeline (CgSource *source)
{
  if (source->bus_watch)
    g_source_remove (source->bus_watch);
  source->bus_watch = 0;
  if (source->pipeline)
    cg_pipeline_dispose (g_steal_pointer (&source->pipeline));
}

/* Any failure: drop the pipeline and try again after a backoff delay. */
static void
source_fail (CgSource *source, const char *message)
{
  gint64 delay = cg_backoff_next (&source->backoff);

  source_stop_pipeline (source);
  set_error (source, message);
  source->state = CG_SOURCE_OFFLINE;
  source->reconnects++;
  g_warning ("[%s] %s: reconnecting in %.1f s", source->config->id, message,
             delay / (double) G_USEC_PER_SEC);
  source->retry_id = g_timeout_add (delay / 1000, on_retry, source);
}

static gboolean
on_bus_message (GstBus *bus, GstMessage *message, gpointer data)
{
  CgSource *source = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *debug = NULL, *text = NULL;

  switch (GST_MESSAGE_TYPE (message)) {
  case GST_MESSAGE_ERROR:
    gst_message_parse_error (message, &error, &debug);
    text = cg_gst_error_text (error, debug, source->peer);
    g_debug ("[%s] error from %s: %s", source->config->id,
             GST_OBJECT_NAME (GST_MESSAGE_SRC (message)), debug ? debug : "");
    source_fail (source, text);
    return G_SOURCE_REMOVE;
  case GST_MESSAGE_EOS:
    source_fail (source, "the camera ended the stream");
    return G_SOURCE_REMOVE;
  case GST_MESSAGE_WARNING:
    gst_message_parse_warning (message, &error, &debug);
    g_debug ("[%s] %s (%s)", source->config->id, error->message, debug ? debug : "");
    break;
  default:
    break;
  }
  return G_SOURCE_CONTINUE;
}

static GstElement *
make_pipeline (CgSource *source)
{
  const CgCameraConfig *cfg = source->config;
  GstElement *pipeline = gst_pipeline_new (cfg->id);
  GstElement *rtspsrc = cg_element_make ("rtspsrc", "rtspsrc");
  gboolean udp = cfg->transport == CG_TRANSPORT_UDP;

  if (!rtspsrc) {
    gst_object_unref (pipeline);
    return NULL;
  }
  g_object_set (rtspsrc,
                "location", cfg->url,
                "protocols", udp ? 0x1 /* udp */ : 0x4 /* tcp */,
                "latency", udp ? DEFAULT_UDP_LATENCY_MS : 0,
                "tcp-timeout", (guint64) DEFAULT_TCP_TIMEOUT_US,
                "timeout", (guint64) DEFAULT_UDP_TIMEOUT_US,
                "do-retransmission", FALSE,
                "do-rtsp-keep-alive", TRUE,
                "user-agent", "camgate/" PACKAGE_VERSION,
                NULL);
  if (cfg->username)
    g_object_set (rtspsrc, "user-id", cfg->username, "user-pw", cfg->password, NULL);
  g_signal_connect_data (rtspsrc, "select-stream", G_CALLBACK (on_select_stream),
                         shared_ref (source->shared), shared_closure_unref, 0);
  g_signal_connect_data (rtspsrc, "pad-added", G_CALLBACK (on_pad_added),
                         shared_ref (source->shared), shared_closure_unref, 0);
  gst_bin_add (GST_BIN (pipeline), rtspsrc);
  return pipeline;
}

static void
source_connect (CgSource *source)
{
  g_autoptr (GstBus) bus = NULL;

  g_mutex_lock (&source->shared->lock);
  source->epoch++;
  memset (source->selected, 0, sizeof source->selected);
  memset (source->linked, 0, sizeof source->linked);
  cg_watchdog_start (&source->watchdog, cg_clock_now (source->clock));
  g_mutex_unlock (&source->shared->lock);

  source->state = CG_SOURCE_CONNECTING;
  source->pipeline = make_pipeline (source);
  if (!source->pipeline) {
    source_fail (source, "the GStreamer RTSP plugin (rtspsrc) is missing");
    return;
  }
  g_info ("[%s] connecting to %s", source->config->id, source->safe_url);
  bus = gst_element_get_bus (source->pipeline);
  source->bus_watch = gst_bus_add_watch (bus, on_bus_message, source);
  if (gst_element_set_state (source->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    source_fail (source, "the RTSP client could not start");
}

static void
update_rates (CgSource *source, gint64 now, guint64 frames, guint64 bytes)
{
  if (source->rate_count == G_N_ELEMENTS (source->rates)) {
    memmove (source->rates, source->rates + 1, sizeof source->rates[0] * (RATE_WINDOW));
    source->rate_count--;
  }
  source->rates[source->rate_count++] = (RateSample) { now, frames, bytes };
}

/* Once a second: rates, and the media-health verdict. */
static gboolean
on_tick (gpointer data)
{
  CgSource *source = data;
  gint64 now = cg_clock_now (source->clock);
  CgHealth health;
  guint64 frames, bytes;

  g_mutex_lock (&source->shared->lock);
  health = cg_watchdog_check (&source->watchdog, now);
  frames = source->frames_in;
  bytes = source->bytes_in;
  g_mutex_unlock (&source->shared->lock);
  update_rates (source, now, frames, bytes);

  if (!source->pipeline)
    return G_SOURCE_CONTINUE;
  if (health == CG_HEALTH_OK && source->state != CG_SOURCE_STREAMING) {
    source->state = CG_SOURCE_STREAMING;
    g_clear_pointer (&source->last_error, g_free);
    cg_backoff_reset (&source->backoff);
    g_message ("[%s] streaming", source->config->id);
  } else if (health == CG_HEALTH_STALLED) {
    source_fail (source, "connected, but no media for 5 s");
  } else if (health == CG_HEALTH_CONNECT_TIMEOUT) {
    source_fail (source, "no media within 15 s of connecting");
  }
  return G_SOURCE_CONTINUE;
}

CgSource *
cg_source_new (const CgCameraConfig *config, CgHub *hub, const CgClock *clock)
{
  CgSource *source = g_new0 (CgSource, 1);

  source->config = config;
  source->hub = hub;
  source->clock = clock ? clock : &cg_clock_monotonic;
  source->safe_url = cg_url_redact (config->url);
  source->peer = cg_peer_name ("the camera", config->url);
  source->shared = g_new0 (Shared, 1);
  g_mutex_init (&source->shared->lock);
  source->shared->source = source;
  source->shared->ref_count = 1;
  source->state = CG_SOURCE_CONNECTING;
  cg_backoff_init (&source->backoff, NULL, NULL);
  return source;
}

void
cg_source_start (CgSource *source)
{
  source->tick_id = g_timeout_add_seconds (1, on_tick, source);
  source_connect (source);
}

void
cg_source_free (CgSource *source)
{
  if (!source)
    return;
  g_mutex_lock (&source->shared->lock);
  source->shared->source = NULL;
  g_mutex_unlock (&source->shared->lock);
  shared_unref (source->shared);

  g_clear_handle_id (&source->retry_id, g_source_remove);
  g_clear_handle_id (&source->tick_id, g_source_remove);
  source_stop_pipeline (source);
  for (int i = 0; i < CG_STREAM_N; i++)
    gst_clear_caps (&source->caps[i]);
  g_free (source->last_error);
  g_free (source->safe_url);
  g_free (source->peer);
  g_free (source);
}

void
cg_source_stats_clear (CgSourceStats *stats)
{
  g_clear_pointer (&stats->codec, g_free);
  g_clear_pointer (&stats->audio_codec, g_free);
  g_clear_pointer (&stats->last_error, g_free);
}

static void
caps_dimensions (const GstCaps *caps, CgSourceStats *stats)
{
  const GstStructure *s = gst_caps_get_structure (caps, 0);

  gst_structure_get_int (s, "width", &stats->width);
  gst_structure_get_int (s, "height", &stats->height);
}

void
cg_source_get_stats (CgSource *source, CgSourceStats *stats)
{
  GstCaps *video, *audio;

  memset (stats, 0, sizeof *stats);
  stats->state = source->state;
  stats->reconnects = source->reconnects;
  stats->last_error = g_strdup (source->last_error);

  g_mutex_lock (&source->shared->lock);
  /* Streaming from the first frame on, not from the next tick. */
  if (stats->state == CG_SOURCE_CONNECTING && source->pipeline &&
      source->watchdog.last_frame_us != 0)
    stats->state = CG_SOURCE_STREAMING;
  video = source->caps[CG_STREAM_VIDEO];
  audio = source->caps[CG_STREAM_AUDIO];
  if (video) {
    stats->codec = g_strdup (cg_caps_codec_name (video));
    caps_dimensions (video, stats);
  } else if (audio) {
    stats->codec = g_strdup (cg_caps_codec_name (audio));
  }
  if (audio)
    stats->audio_codec = g_strdup (cg_caps_codec_name (audio));
  stats->frames_in = source->frames_in;
  stats->bytes_in = source->bytes_in;
  g_mutex_unlock (&source->shared->lock);

  if (source->rate_count >= 2 && source->state == CG_SOURCE_STREAMING) {
    const RateSample *first = &source->rates[0];
    const RateSample *last = &source->rates[source->rate_count - 1];
    double seconds = (last->time_us - first->time_us) / (double) G_USEC_PER_SEC;

    if (seconds > 0) {
      stats->fps = (last->frames - first->frames) / seconds;
      stats->kbps = (guint) ((last->bytes - first->bytes) * 8 / seconds / 1000);
    }
  }
}
