/* What an uplink session keeps to send a camera's frames, whatever carries
 * them (RTSPS, WHIP): a session, and a camera reconnect, start on a keyframe;
 * the numbering of each outgoing stream carries on across camera sessions;
 * and a slow uplink never stalls the camera: past CG_SEND_QUEUE_MAX of
 * media waiting, frames are dropped up to the next keyframe that finds the
 * queue half empty. The queue is counted in "units" the caller chooses
 * (bytes written, packets taken), handed in as a running total. */
#pragma once

#include "media.h"

G_BEGIN_DECLS

/* The queue bound: how long media may wait to be sent before frames are dropped. */
#define CG_SEND_QUEUE_MAX (2 * G_USEC_PER_SEC)

typedef struct {
  const char *camera_id;        /* for the log; transfer none */
  gboolean need_keyframe;
  gboolean dropping;
  gboolean rebase[CG_STREAM_N];
  gboolean close_gap[CG_STREAM_N];   /* frames were dropped since this stream's last */
  guint in_epoch;
  GQueue queued;                /* of queued frames, oldest first */
} CgSendState;

void cg_send_state_init (CgSendState *state, const char *camera_id);
/* A new session: waits for a keyframe; the queue is emptied. */
void cg_send_state_reset (CgSendState *state);
void cg_send_state_clear (CgSendState *state);

/* Whether @frame may be sent in a session of @format: FALSE until a
 * session (or a new camera session) starts on a keyframe (audio-only: any
 * frame). */
gboolean cg_send_state_accept (CgSendState *state, const CgFormat *format, const CgFrame *frame);
/* Drop policy: TRUE if @frame is to be dropped, with @done units of the
 * queue taken so far. A dropped frame leaves no gap in its stream's
 * sequence numbers. */
gboolean cg_send_state_should_drop (CgSendState *state, guint64 done, const CgFrame *frame);
/* Readies @rewriter for @frame (a new camera session continues the
 * numbering; dropped frames leave no gap). */
void cg_send_state_prepare (CgSendState *state, CgRtpRewriter *rewriter, const CgFrame *frame);
/* A frame was queued: it is taken once @end units are done. */
void cg_send_state_queued (CgSendState *state, guint64 end, gint64 arrival_us);

G_END_DECLS
