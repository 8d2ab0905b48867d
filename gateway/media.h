/* What a camera sends, as its SDP describes it: one stream description per
 * kind (video, audio), taken from the camera's DESCRIBE and given, rewritten,
 * to the ingest in the ANNOUNCE. The camera's codec parameters (fmtp) pass
 * through untouched: camgate forwards the camera's own RTP. */
#pragma once

#include <glib.h>

#include "rtp.h"

G_BEGIN_DECLS

typedef struct {
  CgStreamKind kind;
  CgVideoCodec video;           /* CG_VIDEO_NONE for audio */
  char *encoding;               /* the rtpmap's name, upper case: "H264", "MPEG4-GENERIC", "PCMU" */
  guint8 pt;
  guint clock_rate;
  guint channels;               /* 0: not stated (one) */
  char *fmtp;                   /* the format parameters ("packetization-mode=1;…"), or NULL */
  char *control;                /* the camera's URL for this stream (SETUP), or NULL */
} CgStreamDesc;

CgStreamDesc *cg_stream_desc_copy (const CgStreamDesc *desc);
void cg_stream_desc_free (CgStreamDesc *desc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgStreamDesc, cg_stream_desc_free)
/* "h264", "h265", "aac", "pcmu", "pcma", "opus". transfer none */
const char *cg_stream_desc_codec (const CgStreamDesc *desc);
/* Width and height from the SPS in the fmtp (sprop-parameter-sets, sprop-sps). */
gboolean cg_stream_desc_dimensions (const CgStreamDesc *desc, int *width, int *height);
/* RFC 7798's profile-id, tier-flag and level-id of an H.265 stream, from the
 * first SPS in its fmtp (sprop-sps). */
gboolean cg_stream_desc_h265_profile (const CgStreamDesc *desc, guint *profile_id,
                                      guint *tier_flag, guint *level_id);
/* Width and height from an SPS NAL unit (with its NAL header). */
gboolean cg_sps_dimensions (CgVideoCodec codec, const guint8 *nal, gsize size, int *width,
                            int *height);

/* Picks from a camera's SDP the first video stream (H.264, H.265) and the
 * first audio stream (AAC as MPEG4-GENERIC or MP4A-LATM, G.711, Opus);
 * controls are resolved against @base_url, and @aggregate gets the session's
 * own (for PLAY). @skipped gets a line for each stream left out and why.
 * FALSE with @error if the SDP cannot be read or holds no stream camgate
 * relays. transfer full: @streams, @aggregate */
gboolean cg_sdp_pick_streams (const char *sdp, gsize size, const char *base_url,
                              CgStreamDesc *streams[CG_STREAM_N], char **aggregate,
                              GString *skipped, GError **error);

typedef struct {
  gint ref_count;
  guint epoch;
  CgStreamDesc *streams[CG_STREAM_N];   /* NULL: no such stream */
} CgFormat;

/* transfer full: @streams are copied */
CgFormat *cg_format_new (guint epoch, CgStreamDesc *const streams[CG_STREAM_N]);
CgFormat *cg_format_ref (CgFormat *format);
void cg_format_unref (CgFormat *format);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgFormat, cg_format_unref)
/* "h264+aac/48000/2": what an uplink session's SDP depends on, in words. */
char *cg_format_signature (const CgFormat *format);
/* The SDP of an ANNOUNCE to an ingest: the camera's streams with controls
 * "streamid=0" (video) and "streamid=1" (audio); @pts gets the payload type
 * each stream is given. transfer full */
char *cg_sdp_for_ingest (const CgFormat *format, const char *origin_addr,
                         guint8 pts[CG_STREAM_N]);

G_END_DECLS
