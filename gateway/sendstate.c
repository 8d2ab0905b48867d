/* The sending side of an uplink session (see sendstate.h). */
#define G_LOG_DOMAIN "camgate-uplink"

#include "sendstate.h"

#include <string.h>

/* A video frame queued, not yet taken: the queue's age is measured on them. */
typedef struct {
  guint64 end;                  /* the units done once it is taken */
  gint64 arrival_us;
} Queued;

void
cg_send_state_init (CgSendState *state, const char *camera_id)
{
  memset (state, 0, sizeof *state);
  state->camera_id = camera_id;
  g_queue_init (&state->queued);
}

void
cg_send_state_reset (CgSendState *state)
{
  g_queue_clear_full (&state->queued, g_free);
  state->need_keyframe = TRUE;
  state->dropping = FALSE;
  state->in_epoch = 0;
  memset (state->close_gap, 0, sizeof state->close_gap);
}

void
cg_send_state_clear (CgSendState *state)
{
  g_queue_clear_full (&state->queued, g_free);
}

gboolean
cg_send_state_accept (CgSendState *state, const CgFormat *format, const CgFrame *frame)
{
  gboolean has_video = format->streams[CG_STREAM_VIDEO] != NULL;
  gboolean starts = frame->kind == CG_STREAM_VIDEO ? frame->keyframe : !has_video;

  if (frame->epoch != state->in_epoch || state->need_keyframe) {
    if (!starts)
      return FALSE;
    if (frame->epoch != state->in_epoch) {
      /* a new camera session (or the first frame): continue the numbering */
      state->in_epoch = frame->epoch;
      for (int i = 0; i < CG_STREAM_N; i++)
        state->rebase[i] = TRUE;
    }
    state->need_keyframe = FALSE;
  }
  return TRUE;
}

/* How long the oldest frame still queued has waited, as of @now_us. */
static gint64
queue_age (CgSendState *state, guint64 done, gint64 now_us)
{
  Queued *oldest;

  while ((oldest = g_queue_peek_head (&state->queued)) && oldest->end <= done)
    g_free (g_queue_pop_head (&state->queued));
  return oldest ? now_us - oldest->arrival_us : 0;
}

gboolean
cg_send_state_should_drop (CgSendState *state, guint64 done, const CgFrame *frame)
{
  gint64 age = queue_age (state, done, frame->arrival_us);
  gboolean drop = TRUE;

  if (state->dropping) {
    if (frame->kind == CG_STREAM_VIDEO && frame->keyframe && age < CG_SEND_QUEUE_MAX / 2) {
      state->dropping = FALSE;
      drop = FALSE;
      g_info ("[%s] uplink caught up: sending again from a keyframe", state->camera_id);
    }
  } else if (age > CG_SEND_QUEUE_MAX) {
    state->dropping = TRUE;
    g_warning ("[%s] uplink too slow (%.1f s queued): dropping up to the next keyframe",
               state->camera_id, age / (double) G_USEC_PER_SEC);
  } else {
    drop = FALSE;
  }
  if (drop)
    state->close_gap[frame->kind] = TRUE;
  return drop;
}

void
cg_send_state_prepare (CgSendState *state, CgRtpRewriter *rewriter, const CgFrame *frame)
{
  if (state->rebase[frame->kind])
    cg_rtp_rewriter_rebase (rewriter, frame);
  else if (state->close_gap[frame->kind])
    cg_rtp_rewriter_close_gap (rewriter, frame);
  state->rebase[frame->kind] = state->close_gap[frame->kind] = FALSE;
}

void
cg_send_state_queued (CgSendState *state, guint64 end, gint64 arrival_us)
{
  Queued *q = g_new (Queued, 1);

  q->end = end;
  q->arrival_us = arrival_us;
  g_queue_push_tail (&state->queued, q);
}
