/* Per-camera fan-out and GOP cache (see hub.h).
 *
 * Locking: one mutex guards the cache, the sink list and the format state,
 * so that a sink may live in another thread than the source. Sink callbacks
 * run under the lock, so removal is synchronous and a sink never sees a frame
 * after it is removed; a callback must not call back into the hub. */
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
  CgHubKeyframeFunc keyframe_func;
  gpointer keyframe_data;

  GMutex lock;
  GArray *sinks;              /* element-type Sink */
  guint next_handle;

  GPtrArray *cache;           /* element-type CgFrame: a keyframe, then what followed */
  gsize cache_bytes;
  guint64 cache_overflows;
  gboolean overflow_logged;   /* since the bound was last set */

  /* format discovery for the current epoch */
  guint epoch;
  CgStreamDesc *announced[CG_STREAM_N];
  gboolean seen[CG_STREAM_N];
  gint64 first_arrival_us;     /* 0: no frame yet */
  CgFormat *format;           /* published; NULL until known */
  GSource *notify;            /* pending format notification */
};

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
  return hub;
}

void
cg_hub_set_keyframe_func (CgHub *hub, CgHubKeyframeFunc func, gpointer user_data)
{
  hub->keyframe_func = func;
  hub->keyframe_data = user_data;
}

void
cg_hub_request_keyframe (CgHub *hub, gboolean full)
{
  if (hub->keyframe_func)
    hub->keyframe_func (full, hub->keyframe_data);
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
    cg_stream_desc_free (hub->announced[i]);
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
cg_hub_begin_epoch (CgHub *hub, guint epoch, CgStreamDesc *const streams[CG_STREAM_N])
{
  g_mutex_lock (&hub->lock);
  hub->epoch = epoch;
  for (int i = 0; i < CG_STREAM_N; i++) {
    cg_stream_desc_free (hub->announced[i]);
    hub->announced[i] = streams[i] ? cg_stream_desc_copy (streams[i]) : NULL;
    hub->seen[i] = FALSE;
  }
  hub->first_arrival_us = 0;
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
desc_equal (const CgStreamDesc *a, const CgStreamDesc *b)
{
  if (!a || !b)
    return a == b;
  return g_str_equal (a->encoding, b->encoding) && a->pt == b->pt &&
      a->clock_rate == b->clock_rate && a->channels == b->channels &&
      !g_strcmp0 (a->fmtp, b->fmtp);
}

/* Publishes the format once every announced stream has sent a frame, or when
 * one of them stayed silent for CG_HUB_FORMAT_WAIT_US. Called locked. */
static void
update_format (CgHub *hub, const CgFrame *frame)
{
  gboolean complete = TRUE, changed;
  CgStreamDesc *streams[CG_STREAM_N] = { NULL };

  if (hub->seen[frame->kind] && hub->format && hub->format->epoch == hub->epoch)
    return;  /* published for this epoch; nothing new can be learnt */
  hub->seen[frame->kind] = TRUE;
  if (!hub->first_arrival_us)
    hub->first_arrival_us = frame->arrival_us;
  for (int i = 0; i < CG_STREAM_N; i++) {
    complete &= !hub->announced[i] || hub->seen[i];
    streams[i] = hub->seen[i] ? hub->announced[i] : NULL;
  }
  if (!complete && frame->arrival_us < hub->first_arrival_us + CG_HUB_FORMAT_WAIT_US)
    return;

  changed = !hub->format || hub->format->epoch != hub->epoch;
  for (int i = 0; i < CG_STREAM_N && !changed; i++)
    changed = !desc_equal (hub->format->streams[i], streams[i]);
  if (!changed)
    return;
  g_clear_pointer (&hub->format, cg_format_unref);
  hub->format = cg_format_new (hub->epoch, streams);
  if (!hub->notify) {
    hub->notify = g_idle_source_new ();
    g_source_set_callback (hub->notify, notify_format, hub, NULL);
    g_source_attach (hub->notify, hub->context);
  }
}

static void
cache_add (CgHub *hub, CgFrame *frame)
{
  gsize size = frame->size;

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
