/* The hub: GOP cache, fan-out to sinks, format discovery. */
#include "hub.h"

#define CACHE (8 * 1024 * 1024)

#define MS 1000                 /* arrival times are in microseconds */
#define SECOND G_USEC_PER_SEC

static CgStreamDesc h264 = { CG_STREAM_VIDEO, CG_VIDEO_H264, "H264", 96, 90000, 0,
                             "packetization-mode=1", NULL };
static CgStreamDesc aac = { CG_STREAM_AUDIO, CG_VIDEO_NONE, "MPEG4-GENERIC", 97, 48000, 2,
                            "mode=AAC-hbr", NULL };

/* Which streams the source set up. */
static void
begin (CgHub *hub, guint epoch, gboolean video, gboolean audio)
{
  CgStreamDesc *streams[CG_STREAM_N] = { video ? &h264 : NULL, audio ? &aac : NULL };
  cg_hub_begin_epoch (hub, epoch, streams);
}

static void
push (CgHub *hub, CgStreamKind kind, guint epoch, gboolean key, gint64 arrival_us, gsize size)
{
  g_autoptr (CgFrame) f = cg_frame_new (kind, epoch, g_malloc0 (size), size,
                                        key || kind != CG_STREAM_VIDEO, 0, arrival_us);
  cg_hub_push (hub, f);
}

static void
collect (CgFrame *frame, gpointer data)
{
  g_ptr_array_add (data, cg_frame_ref (frame));
}

static void
test_new_sink_starts_on_keyframe (void)
{
  CgHub *hub = cg_hub_new ("cam", CACHE, NULL, NULL);
  g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func ((GDestroyNotify) cg_frame_unref);
  CgHubCacheStats stats;

  begin (hub, 1, TRUE, TRUE);
  push (hub, CG_STREAM_VIDEO, 1, FALSE, 0, 100);          /* before any keyframe: not cached */
  push (hub, CG_STREAM_VIDEO, 1, TRUE, 40 * MS, 1000);
  push (hub, CG_STREAM_AUDIO, 1, TRUE, 41 * MS, 10);
  push (hub, CG_STREAM_VIDEO, 1, FALSE, 80 * MS, 100);
  cg_hub_get_cache_stats (hub, &stats);
  g_assert_cmpuint (stats.frames, ==, 3);
  g_assert_cmpuint (stats.bytes, ==, 1110);

  guint handle = cg_hub_add_sink (hub, collect, got);
  g_assert_cmpuint (got->len, ==, 3);
  g_assert_true (((CgFrame *) got->pdata[0])->keyframe);
  g_assert_cmpint (((CgFrame *) got->pdata[0])->arrival_us, ==, 40 * MS);

  push (hub, CG_STREAM_VIDEO, 1, FALSE, 120 * MS, 100);   /* live */
  g_assert_cmpuint (got->len, ==, 4);
  /* a new keyframe starts a new cache */
  push (hub, CG_STREAM_VIDEO, 1, TRUE, 160 * MS, 500);
  cg_hub_get_cache_stats (hub, &stats);
  g_assert_cmpuint (stats.frames, ==, 1);
  g_assert_cmpuint (stats.bytes, ==, 500);

  cg_hub_remove_sink (hub, handle);
  push (hub, CG_STREAM_VIDEO, 1, FALSE, 200 * MS, 100);
  g_assert_cmpuint (got->len, ==, 5);
  cg_hub_free (hub);
}

static void
test_cache_bound (void)
{
  CgHub *hub = cg_hub_new ("cam", 1000, NULL, NULL);
  g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func ((GDestroyNotify) cg_frame_unref);
  CgHubCacheStats stats;

  begin (hub, 1, TRUE, FALSE);
  push (hub, CG_STREAM_VIDEO, 1, TRUE, 0, 600);
  push (hub, CG_STREAM_VIDEO, 1, FALSE, 40 * MS, 300);
  g_test_expect_message ("camgate-hub", G_LOG_LEVEL_WARNING,
                         "[cam] a GOP outgrew the * cache*");
  push (hub, CG_STREAM_VIDEO, 1, FALSE, 80 * MS, 300);   /* over 1000 bytes */
  g_test_assert_expected_messages ();
  cg_hub_get_cache_stats (hub, &stats);
  g_assert_cmpuint (stats.frames, ==, 0);
  g_assert_cmpuint (stats.bytes, ==, 0);
  /* a sink attached now gets nothing undecodable */
  push (hub, CG_STREAM_VIDEO, 1, FALSE, 120 * MS, 10);
  cg_hub_remove_sink (hub, cg_hub_add_sink (hub, collect, got));
  g_assert_cmpuint (got->len, ==, 0);
  cg_hub_free (hub);
}

/* Each GOP that outgrows the bound counts once, and the bound is reported. */
static void
test_cache_overflows_counted (void)
{
  CgHub *hub = cg_hub_new ("cam", 1000, NULL, NULL);
  CgHubCacheStats stats;

  begin (hub, 1, TRUE, FALSE);
  /* logged once, counted every time */
  g_test_expect_message ("camgate-hub", G_LOG_LEVEL_WARNING, "*gop_cache_kbytes*");
  for (guint gop = 0; gop < 3; gop++) {
    gint64 t = gop * SECOND;
    push (hub, CG_STREAM_VIDEO, 1, TRUE, t, 600);
    push (hub, CG_STREAM_VIDEO, 1, FALSE, t + 40 * MS, 500);    /* over */
    push (hub, CG_STREAM_VIDEO, 1, FALSE, t + 80 * MS, 500);    /* not counted again */
  }
  g_test_assert_expected_messages ();
  cg_hub_get_cache_stats (hub, &stats);
  g_assert_cmpuint (stats.overflows, ==, 3);
  g_assert_cmpuint (stats.limit_bytes, ==, 1000);
  /* a GOP that fits is kept, and counts nothing */
  push (hub, CG_STREAM_VIDEO, 1, TRUE, 4 * SECOND, 600);
  push (hub, CG_STREAM_VIDEO, 1, FALSE, 4 * SECOND + 40 * MS, 400);
  cg_hub_get_cache_stats (hub, &stats);
  g_assert_cmpuint (stats.overflows, ==, 3);
  g_assert_cmpuint (stats.frames, ==, 2);
  g_assert_cmpuint (stats.bytes, ==, 1000);
  cg_hub_free (hub);
}

/* gop_cache_kbytes = 0: no cache; a new sink gets live frames only. */
static void
test_cache_off (void)
{
  CgHub *hub = cg_hub_new ("cam", 0, NULL, NULL);
  g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func ((GDestroyNotify) cg_frame_unref);
  CgHubCacheStats stats;

  begin (hub, 1, TRUE, FALSE);
  push (hub, CG_STREAM_VIDEO, 1, TRUE, 0, 100);
  push (hub, CG_STREAM_VIDEO, 1, FALSE, 40 * MS, 100);
  cg_hub_get_cache_stats (hub, &stats);
  g_assert_cmpuint (stats.frames, ==, 0);
  g_assert_cmpuint (stats.bytes, ==, 0);
  g_assert_cmpuint (stats.limit_bytes, ==, 0);
  g_assert_cmpuint (stats.overflows, ==, 0);
  guint handle = cg_hub_add_sink (hub, collect, got);
  g_assert_cmpuint (got->len, ==, 0);
  push (hub, CG_STREAM_VIDEO, 1, TRUE, 80 * MS, 100);
  g_assert_cmpuint (got->len, ==, 1);
  cg_hub_remove_sink (hub, handle);
  cg_hub_free (hub);
}

/* A reload's new bound: a cache already over it is emptied; one under it stays. */
static void
test_cache_set_limit (void)
{
  CgHub *hub = cg_hub_new ("cam", CACHE, NULL, NULL);
  CgHubCacheStats stats;

  begin (hub, 1, TRUE, FALSE);
  push (hub, CG_STREAM_VIDEO, 1, TRUE, 0, 3000);
  push (hub, CG_STREAM_VIDEO, 1, FALSE, 40 * MS, 1000);
  cg_hub_set_cache_limit (hub, 8000);
  cg_hub_get_cache_stats (hub, &stats);
  g_assert_cmpuint (stats.frames, ==, 2);
  g_assert_cmpuint (stats.limit_bytes, ==, 8000);
  cg_hub_set_cache_limit (hub, 2000);
  cg_hub_get_cache_stats (hub, &stats);
  g_assert_cmpuint (stats.frames, ==, 0);
  g_assert_cmpuint (stats.bytes, ==, 0);
  g_assert_cmpuint (stats.limit_bytes, ==, 2000);
  /* deltas after the emptied cache are not cached: nothing decodable */
  push (hub, CG_STREAM_VIDEO, 1, FALSE, 80 * MS, 100);
  cg_hub_get_cache_stats (hub, &stats);
  g_assert_cmpuint (stats.frames, ==, 0);
  push (hub, CG_STREAM_VIDEO, 1, TRUE, SECOND, 1500);
  cg_hub_get_cache_stats (hub, &stats);
  g_assert_cmpuint (stats.frames, ==, 1);
  g_assert_cmpuint (stats.bytes, ==, 1500);
  cg_hub_free (hub);
}

static void
test_epoch_clears_cache_and_drops_stragglers (void)
{
  CgHub *hub = cg_hub_new ("cam", CACHE, NULL, NULL);
  g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func ((GDestroyNotify) cg_frame_unref);
  CgHubCacheStats stats;

  begin (hub, 1, TRUE, FALSE);
  push (hub, CG_STREAM_VIDEO, 1, TRUE, 0, 100);
  cg_hub_add_sink (hub, collect, got);
  begin (hub, 2, TRUE, FALSE);
  cg_hub_get_cache_stats (hub, &stats);
  g_assert_cmpuint (stats.frames, ==, 0);
  push (hub, CG_STREAM_VIDEO, 1, FALSE, 40 * MS, 100);   /* old session */
  g_assert_cmpuint (got->len, ==, 1);
  push (hub, CG_STREAM_VIDEO, 2, TRUE, 0, 100);
  g_assert_cmpuint (got->len, ==, 2);
  cg_hub_free (hub);
}

static void
on_format (CgFormat *format, gpointer data)
{
  g_ptr_array_add (data, cg_format_signature (format));
}

static void
drain (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
test_format_waits_for_every_stream (void)
{
  g_autoptr (GPtrArray) sigs = g_ptr_array_new_with_free_func (g_free);
  CgHub *hub = cg_hub_new ("cam", CACHE, on_format, sigs);

  begin (hub, 1, TRUE, TRUE);
  push (hub, CG_STREAM_VIDEO, 1, TRUE, 0, 100);
  drain ();
  g_assert_cmpuint (sigs->len, ==, 0);        /* audio announced, not seen yet */
  g_assert_null (cg_hub_get_format (hub));
  push (hub, CG_STREAM_AUDIO, 1, TRUE, 10 * MS, 10);
  drain ();
  g_assert_cmpuint (sigs->len, ==, 1);
  g_assert_cmpstr (sigs->pdata[0], ==, "h264+aac/48000/2");
  push (hub, CG_STREAM_VIDEO, 1, FALSE, 40 * MS, 100);   /* no change: no news */
  drain ();
  g_assert_cmpuint (sigs->len, ==, 1);
  cg_hub_free (hub);
}

static void
test_format_gives_up_on_silent_stream (void)
{
  g_autoptr (GPtrArray) sigs = g_ptr_array_new_with_free_func (g_free);
  CgHub *hub = cg_hub_new ("cam", CACHE, on_format, sigs);

  begin (hub, 1, TRUE, TRUE);
  push (hub, CG_STREAM_VIDEO, 1, TRUE, SECOND, 100);
  push (hub, CG_STREAM_VIDEO, 1, FALSE, 3 * SECOND, 100);
  drain ();
  g_assert_cmpuint (sigs->len, ==, 0);
  push (hub, CG_STREAM_VIDEO, 1, FALSE, 4 * SECOND + 1, 100);
  drain ();
  g_assert_cmpuint (sigs->len, ==, 1);
  g_assert_cmpstr (sigs->pdata[0], ==, "h264");
  cg_hub_free (hub);
}

static void
test_free_cancels_pending_notification (void)
{
  g_autoptr (GPtrArray) sigs = g_ptr_array_new_with_free_func (g_free);
  CgHub *hub = cg_hub_new ("cam", CACHE, on_format, sigs);

  begin (hub, 1, TRUE, FALSE);
  push (hub, CG_STREAM_VIDEO, 1, TRUE, 0, 100);
  cg_hub_free (hub);
  drain ();
  g_assert_cmpuint (sigs->len, ==, 0);
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hub/new-sink-starts-on-keyframe", test_new_sink_starts_on_keyframe);
  g_test_add_func ("/hub/cache-bound", test_cache_bound);
  g_test_add_func ("/hub/cache-overflows", test_cache_overflows_counted);
  g_test_add_func ("/hub/cache-off", test_cache_off);
  g_test_add_func ("/hub/cache-set-limit", test_cache_set_limit);
  g_test_add_func ("/hub/epoch", test_epoch_clears_cache_and_drops_stragglers);
  g_test_add_func ("/hub/format-complete", test_format_waits_for_every_stream);
  g_test_add_func ("/hub/format-silent-stream", test_format_gives_up_on_silent_stream);
  g_test_add_func ("/hub/free-cancels-notification", test_free_cancels_pending_notification);
  ret = g_test_run ();
  return ret;
}
