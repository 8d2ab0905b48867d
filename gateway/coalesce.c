/* One memory block per RTP packet on the uplink (see coalesce.h). */
#define G_LOG_DOMAIN "camgate-uplink"

#include "coalesce.h"

GstBuffer *
cg_coalesce_buffer (GstBuffer *buffer)
{
  GstBuffer *out;

  if (gst_buffer_n_memory (buffer) <= 1)
    return buffer;
  out = gst_buffer_new ();
  gst_buffer_copy_into (out, buffer, GST_BUFFER_COPY_METADATA, 0, -1);
  /* merges (copies) the blocks into one */
  gst_buffer_append_memory (out, gst_buffer_get_all_memory (buffer));
  gst_buffer_unref (buffer);
  return out;
}

static gboolean
coalesce_in_list (GstBuffer **buffer, guint index, gpointer data)
{
  *buffer = cg_coalesce_buffer (*buffer);
  return TRUE;
}

GstBufferList *
cg_coalesce_list (GstBufferList *list)
{
  list = gst_buffer_list_make_writable (list);
  gst_buffer_list_foreach (list, coalesce_in_list, NULL);
  return list;
}

static GstPadProbeReturn
on_payloaded (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    info->data = cg_coalesce_buffer (GST_PAD_PROBE_INFO_BUFFER (info));
  else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
    info->data = cg_coalesce_list (GST_PAD_PROBE_INFO_BUFFER_LIST (info));
  return GST_PAD_PROBE_OK;
}

void
cg_coalesce_attach (GstElement *payloader)
{
  g_autoptr (GstPad) pad = gst_element_get_static_pad (payloader, "src");

  if (pad)
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                       on_payloaded, NULL, NULL);
}
