/* Coalescing RTP packets into one memory block each: same bytes, same
 * metadata, fewer blocks, also through a real payloader. */
#include "coalesce.h"

#include <string.h>

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>

static GstBuffer *
buffer_of (const char *const *parts)
{
  GstBuffer *buffer = gst_buffer_new ();

  for (guint i = 0; parts[i]; i++) {
    char *data = g_strdup (parts[i]);
    gsize len = strlen (data);
    gst_buffer_append_memory (buffer, gst_memory_new_wrapped (0, data, len, 0, len,
                                                              data, g_free));
  }
  return buffer;
}

static void
assert_bytes (GstBuffer *buffer, const char *expected)
{
  g_autoptr (GBytes) have = NULL;
  GstMapInfo map;

  g_assert_true (gst_buffer_map (buffer, &map, GST_MAP_READ));
  have = g_bytes_new (map.data, map.size);
  gst_buffer_unmap (buffer, &map);
  g_assert_cmpmem (g_bytes_get_data (have, NULL), g_bytes_get_size (have),
                   expected, strlen (expected));
}

static void
test_buffer (void)
{
  const char *const three[] = { "$hdr", "FU", "payload", NULL };
  const char *const one[] = { "single", NULL };
  GstBuffer *in = buffer_of (three), *out, *single = buffer_of (one);

  GST_BUFFER_PTS (in) = 40 * GST_MSECOND;
  GST_BUFFER_DTS (in) = 20 * GST_MSECOND;
  GST_BUFFER_OFFSET (in) = 7;
  GST_BUFFER_FLAG_SET (in, GST_BUFFER_FLAG_DELTA_UNIT | GST_BUFFER_FLAG_MARKER);
  out = cg_coalesce_buffer (in);
  g_assert_true (out != in);
  g_assert_cmpuint (gst_buffer_n_memory (out), ==, 1);
  assert_bytes (out, "$hdrFUpayload");
  g_assert_cmpuint (GST_BUFFER_PTS (out), ==, 40 * GST_MSECOND);
  g_assert_cmpuint (GST_BUFFER_DTS (out), ==, 20 * GST_MSECOND);
  g_assert_cmpuint (GST_BUFFER_OFFSET (out), ==, 7);
  g_assert_true (GST_BUFFER_FLAG_IS_SET (out, GST_BUFFER_FLAG_DELTA_UNIT));
  g_assert_true (GST_BUFFER_FLAG_IS_SET (out, GST_BUFFER_FLAG_MARKER));
  gst_buffer_unref (out);

  /* one block already: the very buffer, no copy */
  g_assert_true (cg_coalesce_buffer (single) == single);
  gst_buffer_unref (single);
}

static void
test_list (void)
{
  const char *const two[] = { "ab", "cd", NULL };
  const char *const one[] = { "ef", NULL };
  GstBufferList *list = gst_buffer_list_new ();
  GstBufferList *shared, *out;

  gst_buffer_list_add (list, buffer_of (two));
  gst_buffer_list_add (list, buffer_of (one));
  shared = gst_buffer_list_ref (list);      /* someone else holds it too */
  out = cg_coalesce_list (list);
  g_assert_true (out != shared);            /* copied, not changed under the other holder */
  g_assert_cmpuint (gst_buffer_list_length (out), ==, 2);
  g_assert_cmpuint (gst_buffer_n_memory (gst_buffer_list_get (out, 0)), ==, 1);
  assert_bytes (gst_buffer_list_get (out, 0), "abcd");
  assert_bytes (gst_buffer_list_get (out, 1), "ef");
  g_assert_cmpuint (gst_buffer_n_memory (gst_buffer_list_get (shared, 0)), ==, 2);
  gst_buffer_list_unref (out);
  gst_buffer_list_unref (shared);
}

/* One 4000-byte H.264 access unit through rtph264pay (mtu 1000: FU-A
 * fragments). Returns the packets' bytes, one after the other; *max_blocks
 * the most memory blocks one packet had. */
static GByteArray *
payload_au (gboolean coalesce, guint *max_blocks)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) pipeline = gst_parse_launch (
      "appsrc name=src format=time caps=video/x-h264,stream-format=byte-stream,alignment=au "
      "! rtph264pay name=pay mtu=1000 seqnum-offset=0 timestamp-offset=0 ssrc=1 "
      "! appsink name=sink sync=false", &error);
  g_autoptr (GstElement) src = NULL, pay = NULL, sink = NULL;
  GByteArray *bytes = g_byte_array_new ();
  GstBuffer *au = gst_buffer_new_allocate (NULL, 4000, NULL);
  GstSample *sample;
  GstMapInfo map;

  g_assert_no_error (error);
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  pay = gst_bin_get_by_name (GST_BIN (pipeline), "pay");
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  if (coalesce)
    cg_coalesce_attach (pay);
  gst_buffer_map (au, &map, GST_MAP_WRITE);
  for (gsize i = 0; i < map.size; i++)
    map.data[i] = (guint8) (i * 7 + 1);
  memcpy (map.data, "\0\0\0\1\x65", 5);    /* start code, IDR slice */
  gst_buffer_unmap (au, &map);
  GST_BUFFER_PTS (au) = 0;
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
                   GST_STATE_CHANGE_FAILURE);
  g_assert_cmpint (gst_app_src_push_buffer (GST_APP_SRC (src), au), ==, GST_FLOW_OK);
  gst_app_src_end_of_stream (GST_APP_SRC (src));

  *max_blocks = 0;
  while ((sample = gst_app_sink_pull_sample (GST_APP_SINK (sink)))) {
    GstBuffer *packet = gst_sample_get_buffer (sample);
    *max_blocks = MAX (*max_blocks, gst_buffer_n_memory (packet));
    gst_buffer_map (packet, &map, GST_MAP_READ);
    g_byte_array_append (bytes, map.data, map.size);
    gst_buffer_unmap (packet, &map);
    gst_sample_unref (sample);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return bytes;
}

static void
test_payloader (void)
{
  guint plain_blocks, coalesced_blocks;
  g_autoptr (GByteArray) plain = payload_au (FALSE, &plain_blocks);
  g_autoptr (GByteArray) coalesced = payload_au (TRUE, &coalesced_blocks);

  /* the payloader does build packets of several blocks: what this is for */
  g_assert_cmpuint (plain_blocks, >, 1);
  g_assert_cmpuint (coalesced_blocks, ==, 1);
  g_assert_cmpuint (plain->len, >, 4000);   /* every byte, plus RTP and FU-A headers */
  g_assert_cmpmem (plain->data, plain->len, coalesced->data, coalesced->len);
}

int
main (int argc, char **argv)
{
  int ret;

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/coalesce/buffer", test_buffer);
  g_test_add_func ("/coalesce/list", test_list);
  g_test_add_func ("/coalesce/payloader", test_payloader);
  ret = g_test_run ();
  gst_deinit ();
  return ret;
}
