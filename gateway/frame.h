/* A frame as camgate relays it: the camera's RTP packets of one video access
 * unit (or one audio packet), kept as they came, in RTSP interleaved framing
 * ("$", channel, 16-bit length, packet) so that an uplink sends them with one
 * copy and one write. Reference-counted and immutable once made: the hub's
 * GOP cache and every uplink share it. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  CG_STREAM_VIDEO,
  CG_STREAM_AUDIO,
  CG_STREAM_N,
} CgStreamKind;

typedef struct {
  gint ref_count;
  CgStreamKind kind;
  guint epoch;          /* the camera session the frame came from */
  gboolean keyframe;    /* video: decodable from here on; audio: always */
  guint32 rtp_time;     /* the camera's RTP timestamp */
  gint64 arrival_us;    /* monotonic time the frame was complete (its last packet, or
                         * the next frame's first when the marker was lost) */
  gint64 ntp_us;        /* the camera's wall-clock time for rtp_time, from its
                         * sender reports (microseconds since 1970); 0: unknown */
  gsize size;
  guint8 *data;         /* per packet: "$", channel, length (2 bytes), RTP packet */
} CgFrame;

/* @data: transfer full (g_malloc'd) */
CgFrame *cg_frame_new (CgStreamKind kind, guint epoch, guint8 *data, gsize size,
                       gboolean keyframe, guint32 rtp_time, gint64 arrival_us);
CgFrame *cg_frame_ref (CgFrame *frame);
void cg_frame_unref (CgFrame *frame);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgFrame, cg_frame_unref)

G_END_DECLS
