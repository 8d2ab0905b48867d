/* Relayed frames (see frame.h). */
#include "frame.h"

CgFrame *
cg_frame_new (CgStreamKind kind, guint epoch, guint8 *data, gsize size, gboolean keyframe,
              guint32 rtp_time, gint64 arrival_us)
{
  CgFrame *frame = g_new (CgFrame, 1);

  frame->ref_count = 1;
  frame->kind = kind;
  frame->epoch = epoch;
  frame->keyframe = keyframe;
  frame->rtp_time = rtp_time;
  frame->arrival_us = arrival_us;
  frame->ntp_us = 0;
  frame->size = size;
  frame->data = data;
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
  g_free (frame->data);
  g_free (frame);
}
