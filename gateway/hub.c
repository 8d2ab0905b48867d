/* Per-camera fan-out and GOP cache (see hub.h).
 *
 * Locking: one mutex guards the cache, the sink list and the format state.
 * cg_hub_push() runs in the source's streaming thread; sinks are added and
 * removed from the main thread. Sink callbacks run under the lock, so removal
 * is synchronous and a sink never sees a frame after it is removed. */
#define G_LOG_DOMAIN "camgate-hub"

#include "hub.h"

typedef struct {
  guint handle;
  CgHubPushFunc func;
  gpointer user_data;
} Sink;

struct _CgHub {
  char *camera_id;
  gsize cache_max_bytes;
  CgHubFormatFunc format_func;
  gpointer format_data;
  GMainContext *context;

  GMutex lock;
  GArray *sinks;              /* element-type Sink */
  guint next_handle;

  GPtrArray *cache;           /* element-type CgFrame: a keyframe, then what followed */
  gsize cache_bytes;
  guint64 cache_overflows;
  gboolean overflow_logged;   /* since the bound was last set */

  /* format discovery for the current epoch */
  guint epoch;
  gboolean expected[CG_STREAM_N];
  GstCaps *seen[CG_STREAM_N];
  GstClockTime first_pts;
  CgFormat *format;           /* published; NULL until known */
  GSource *notify;            /* pending format notification */
};

CgFrame *
cg_frame_new (CgStreamKind kind, guint epoch, GstBuffer *buffer, GstCaps *caps)
{
  CgFrame *frame = g_new0 (CgFrame, 1);

  frame->ref_count = 1;
  frame->kind = kind;
  frame->epoch = epoch;
  frame->buffer = gst_buffer_ref (buffer);
  frame->caps = gst_caps_ref (caps);
  frame->keyframe = kind != CG_STREAM_VIDEO ||
      !GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT);
  return frame;
}

CgFrame *
cg_frame_ref (CgFrame *frame)
{
  g_atomic_int_inc (&frame->ref_count);
  return frame;
}

void
cg_frame_unref (CgFrame *frame)
{
  if (!g_atomic_int_dec_and_test (&frame->ref_count))
    return;
  gst_buffer_unref (frame->buffer);
  gst_caps_unref (frame->caps);
  g_free (frame);
}

CgFormat *
cg_format_ref (CgFormat *format)
{
  g_atomic_int_inc (&format->ref_count);
  return format;
}

void
cg_format_unref (CgFormat *format)
{
  if (!g_atomic_int_dec_and_test (&format->ref_count))
    return;
  for (int i = 0; i < CG_STREAM_N; i++)
    gst_clear_caps (&format->caps[i]);
  g_free (format);
}

const char *
cg_caps_codec_name (const GstCaps *caps)
{
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  const char *name = gst_structure_get_name (s);

  if (g_str_equal (name, "video/x-h264"))
    return "h264";
  if (g_str_equal (name, "video/x-h265"))
    return "h265";
  if (g_str_equal (name, "audio/mpeg"))
    return "aac";
  if (g_str_equal (name, "audio/x-mulaw"))
    return "pcmu";
  if (g_str_equal (name, "audio/x-alaw"))
    return "pcma";
  if (g_str_equal (name, "audio/x-opus"))
    return "opus";
  return name;
}

char *
cg_format_signature (const CgFormat *format)
{
  GString *sig = g_string_new (NULL);

  for (int i = 0; i < CG_STREAM_N; i++) {
    if (!format->caps[i])
      continue;
    if (sig->len)
      g_string_append_c (sig, '+');
    g_string_append (sig, cg_caps_codec_name (format->caps[i]));
  }
  return g_string_free (sig, FALSE);
}

CgHub *
cg_hub_new (const char *camera_id, gsize cache_max_bytes,
            CgHubFormatFunc format_func, gpointer user_data)
{
  CgHub *hub = g_new0 (CgHub, 1);

  hub->camera_id = g_strdup (camera_id);
  hub->cache_max_bytes = cache_max_bytes;
  hub->format_func = format_func;
  hub->format_data = user_data;
  hub->context = g_main_context_ref_thread_default ();
  g_mutex_init (&hub->lock);
  hub->sinks = g_array_new (FALSE, FALSE, sizeof (Sink));
  hub->next_handle = 1;
  hub->cache = g_ptr_array_new_with_free_func ((GDestroyNotify) cg_frame_unref);
  hub->first_pts = GST_CLOCK_TIME_NONE;
  return hub;
}

void
cg_hub_free (CgHub *hub)
{
  if (!hub)
    return;
  if (hub->notify) {
    g_source_destroy (hub->notify);
    g_source_unref (hub->notify);
  }
  for (int i = 0; i < CG_STREAM_N; i++)
    gst_clear_caps (&hub->seen[i]);
  g_clear_pointer (&hub->format, cg_format_unref);
  g_ptr_array_unref (hub->cache);
  g_array_unref (hub->sinks);
  g_mutex_clear (&hub->lock);
  g_main_context_unref (hub->context);
  g_free (hub->camera_id);
  g_free (hub);
}

static void
cache_clear (CgHub *hub)
{
  g_ptr_array_set_size (hub->cache, 0);
  hub->cache_bytes = 0;
}

void
cg_hub_begin_epoch (CgHub *hub, guint epoch, gboolean has_video, gboolean has_audio)
{
  g_mutex_lock (&hub->lock);
  hub->epoch = epoch;
  hub->expected[CG_STREAM_VIDEO] = has_video;
  hub->expected[CG_STREAM_AUDIO] = has_audio;
  for (int i = 0; i < CG_STREAM_N; i++)
    gst_clear_caps (&hub->seen[i]);
  hub->first_pts = GST_CLOCK_TIME_NONE;
  /* The old GOP carries the old session's timestamps. */
  cache_clear (hub);
  g_mutex_unlock (&hub->lock);
}

static gboolean
notify_format (gpointer data)
{
  CgHub *hub = data;
  g_autoptr (CgFormat) format = NULL;

  g_mutex_lock (&hub->lock);
  g_clear_pointer (&hub->notify, g_source_unref);
  if (hub->format)
    format = cg_format_ref (hub->format);
  g_mutex_unlock (&hub->lock);

  if (format && hub->format_func)
    hub->format_func (format, hub->format_data);
  return G_SOURCE_REMOVE;
}

static gboolean
format_changed (const CgHub *hub)
{
  if (!hub->format || hub->format->epoch != hub->epoch)
    return TRUE;
  for (int i = 0; i < CG_STREAM_N; i++) {
    GstCaps *old = hub->format->caps[i], *now = hub->seen[i];
    if ((old == NULL) != (now == NULL) || (old && !gst_caps_is_equal (old, now)))
      return TRUE;
  }
  return FALSE;
}

/* Publishes the format once every announced stream has shown its caps, or
 * when one of them stayed silent for CG_HUB_FORMAT_WAIT. Called locked. */
static void
update_format (CgHub *hub, const CgFrame *frame)
{
  gboolean complete = TRUE, any = FALSE;
  GstClockTime pts = GST_BUFFER_PTS (frame->buffer);
  CgFormat *format;

  if (!hub->seen[frame->kind] || !gst_caps_is_equal (hub->seen[frame->kind], frame->caps))
    gst_caps_replace (&hub->seen[frame->kind], frame->caps);
  if (!GST_CLOCK_TIME_IS_VALID (hub->first_pts))
    hub->first_pts = pts;

  for (int i = 0; i < CG_STREAM_N; i++) {
    any |= hub->seen[i] != NULL;
    complete &= !hub->expected[i] || hub->seen[i] != NULL;
  }
  if (!complete && !(any && GST_CLOCK_TIME_IS_VALID (pts) &&
                     pts > hub->first_pts + CG_HUB_FORMAT_WAIT))
    return;
  if (!format_changed (hub))
    return;

  format = g_new0 (CgFormat, 1);
  format->ref_count = 1;
  format->epoch = hub->epoch;
  for (int i = 0; i < CG_STREAM_N; i++)
    format->caps[i] = hub->seen[i] ? gst_caps_ref (hub->seen[i]) : NULL;
  g_clear_pointer (&hub->format, cg_format_unref);
  hub->format = format;

  if (!hub->notify) {
    hub->notify = g_idle_source_new ();
    g_source_set_callback (hub->notify, notify_format, hub, NULL);
    g_source_attach (hub->notify, hub->context);
  }
}

static void
cache_add (CgHub *hub, CgFrame *frame)
{
  gsize size = gst_buffer_get_size (frame->buffer);

  if (frame->kind == CG_STREAM_VIDEO && frame->keyframe)
    cache_clear (hub);
  else if (hub->cache->len == 0)
    return;  /* nothing decodable to append to */

  if (hub->cache_bytes + size > hub->cache_max_bytes) {
    /* A GOP larger than the cache: a new sink waits for the next keyframe. */
    if (hub->cache_max_bytes > 0) {
      hub->cache_overflows++;
      if (!hub->overflow_logged)
        g_warning ("[%s] a GOP outgrew the %" G_GSIZE_FORMAT " kB cache "
                   "([gateway] gop_cache_kbytes): a new uplink session waits for the "
                   "camera's next keyframe", hub->camera_id, hub->cache_max_bytes / 1024);
      hub->overflow_logged = TRUE;
    }
    cache_clear (hub);
    return;
  }
  g_ptr_array_add (hub->cache, cg_frame_ref (frame));
  hub->cache_bytes += size;
}

void
cg_hub_push (CgHub *hub, CgFrame *frame)
{
  g_mutex_lock (&hub->lock);
  if (frame->epoch != hub->epoch) {
    g_mutex_unlock (&hub->lock);
    return;  /* a straggler from a session that has ended */
  }
  update_format (hub, frame);
  cache_add (hub, frame);
  for (guint i = 0; i < hub->sinks->len; i++) {
    Sink *sink = &g_array_index (hub->sinks, Sink, i);
    sink->func (frame, sink->user_data);
  }
  g_mutex_unlock (&hub->lock);
}

guint
cg_hub_add_sink (CgHub *hub, CgHubPushFunc func, gpointer user_data)
{
  Sink sink = { 0, func, user_data };

  g_mutex_lock (&hub->lock);
  sink.handle = hub->next_handle++;
  for (guint i = 0; i < hub->cache->len; i++)
    func (g_ptr_array_index (hub->cache, i), user_data);
  g_array_append_val (hub->sinks, sink);
  g_mutex_unlock (&hub->lock);
  return sink.handle;
}

void
cg_hub_remove_sink (CgHub *hub, guint handle)
{
  g_mutex_lock (&hub->lock);
  for (guint i = 0; i < hub->sinks->len; i++) {
    if (g_array_index (hub->sinks, Sink, i).handle == handle) {
      g_array_remove_index (hub->sinks, i);
      break;
    }
  }
  g_mutex_unlock (&hub->lock);
}

CgFormat *
cg_hub_get_format (CgHub *hub)
{
  CgFormat *format = NULL;

  g_mutex_lock (&hub->lock);
  if (hub->format)
    format = cg_format_ref (hub->format);
  g_mutex_unlock (&hub->lock);
  return format;
}

void
cg_hub_set_cache_limit (CgHub *hub, gsize cache_max_bytes)
{
  g_mutex_lock (&hub->lock);
  hub->cache_max_bytes = cache_max_bytes;
  hub->overflow_logged = FALSE;
  if (hub->cache_bytes > cache_max_bytes)
    cache_clear (hub);
  g_mutex_unlock (&hub->lock);
}

void
cg_hub_get_cache_stats (CgHub *hub, CgHubCacheStats *stats)
{
  g_mutex_lock (&hub->lock);
  stats->frames = hub->cache->len;
  stats->bytes = hub->cache_bytes;
  stats->limit_bytes = hub->cache_max_bytes;
  stats->overflows = hub->cache_overflows;
  g_mutex_unlock (&hub->lock);
}
