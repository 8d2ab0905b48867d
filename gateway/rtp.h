/* RTP as camgate forwards it (RFC 3550): the camera's packets are grouped into
 * frames (one video access unit, or one audio packet) without being
 * depayloaded, keyframes are found by looking at the NAL unit headers in the
 * payload (RFC 6184 for H.264, RFC 7798 for H.265), and each uplink rewrites
 * SSRC, sequence numbers, timestamps and payload type in its own copy. RTCP
 * sender and receiver reports are written here too. Pure functions over
 * buffers, unit-tested in tests/unit/test-rtp.c. */
#pragma once

#include <glib.h>

#include "frame.h"

G_BEGIN_DECLS

#define CG_RTP_HEADER_SIZE 12
#define CG_RTP_MAX_FRAME_BYTES (4 * 1024 * 1024)

typedef struct {
  guint8 pt;
  gboolean marker;
  guint16 seq;
  guint32 ts;
  guint32 ssrc;
  const guint8 *payload;        /* after CSRCs and extension, before padding */
  gsize payload_size;
} CgRtpPacket;

/* FALSE if @data is not an RTP version 2 packet whose lengths add up. */
gboolean cg_rtp_parse (const guint8 *data, gsize size, CgRtpPacket *packet);

typedef enum {
  CG_VIDEO_NONE,        /* audio */
  CG_VIDEO_H264,
  CG_VIDEO_H265,
} CgVideoCodec;

/* A NAL unit found in a payload: its type, and its bytes when the packet
 * holds it whole (single NAL unit or aggregation packet; NULL for the start
 * of a fragmented one). */
typedef void (*CgNalFunc) (guint type, const guint8 *nal, gsize size, gpointer user_data);

/* Calls @func for every NAL unit that starts in @payload. */
void cg_rtp_scan_nals (CgVideoCodec codec, const guint8 *payload, gsize size,
                       CgNalFunc func, gpointer user_data);
/* IDR (H.264 type 5) or IRAP (H.265 types 16 to 21): decodable from here. */
gboolean cg_nal_is_keyframe (CgVideoCodec codec, guint type);
/* SPS: H.264 type 7, H.265 type 33. */
gboolean cg_nal_is_sps (CgVideoCodec codec, guint type);

/* ---- frames ----------------------------------------------------------- */

/* Called with each finished frame. transfer none */
typedef void (*CgFrameFunc) (CgFrame *frame, gpointer user_data);

/* Groups one stream's packets into frames: a video frame ends with the
 * marker bit, or when a packet with another timestamp arrives (the marker
 * was lost); an audio packet is a frame. A frame that grows past
 * CG_RTP_MAX_FRAME_BYTES is dropped and counted, and so is every video frame
 * after it up to the next keyframe: they would refer to the one dropped. */
typedef struct {
  CgStreamKind kind;
  CgVideoCodec codec;
  guint epoch;
  CgFrameFunc func;
  gpointer user_data;
  CgNalFunc nal_func;           /* optional: sees every NAL unit start */
  gpointer nal_data;

  GByteArray *buf;              /* the frame being gathered, as interleaved packets */
  guint n_packets;              /* in buf */
  guint32 ts;
  gboolean keyframe;
  gboolean oversized;
  gboolean await_keyframe;      /* a video frame was dropped: none until a keyframe */
  guint64 frames_oversized;
  guint64 frames_skipped;       /* dropped while awaiting the keyframe */
} CgRtpAssembler;

void cg_rtp_assembler_init (CgRtpAssembler *assembler, CgStreamKind kind, CgVideoCodec codec,
                            guint epoch, CgFrameFunc func, gpointer user_data);
void cg_rtp_assembler_clear (CgRtpAssembler *assembler);
/* @data is one RTP packet; @arrival_us the monotonic time it came. */
void cg_rtp_assembler_push (CgRtpAssembler *assembler, const guint8 *data, gsize size,
                            gint64 arrival_us);

/* ---- rewriting -------------------------------------------------------- */

/* One outgoing stream of an uplink session. Offsets map the camera's
 * sequence numbers and timestamps onto the session's, so a camera reconnect
 * (a new SSRC, new random bases) continues the session's numbering. */
typedef struct {
  guint8 channel;               /* interleaved RTP channel */
  guint8 pt;
  guint32 ssrc;
  guint clock_rate;
  gboolean started;
  guint16 seq_delta;
  guint32 ts_delta;
  guint16 last_seq;             /* last sent */
  guint32 last_ts;
  gint64 last_arrival_us;
  gint64 last_ntp_us;           /* the camera's wall clock for last_ts; 0: unknown */
  guint32 packets;              /* sent, for RTCP */
  guint32 octets;               /* payload octets sent */
} CgRtpRewriter;

void cg_rtp_rewriter_init (CgRtpRewriter *rewriter, guint8 channel, guint8 pt, guint32 ssrc,
                           guint clock_rate);
/* Continues the numbering from @frame, whose first packet's sequence number
 * becomes the one after the last sent, and whose timestamp follows the last
 * by the wall time between their arrivals. */
void cg_rtp_rewriter_rebase (CgRtpRewriter *rewriter, const CgFrame *frame);
/* Continues the sequence numbers from @frame without a gap: frames that
 * camgate dropped itself (a slow uplink) are not losses to the receiver. */
void cg_rtp_rewriter_close_gap (CgRtpRewriter *rewriter, const CgFrame *frame);
/* Appends @frame's packets, rewritten, to @out. */
void cg_rtp_rewriter_write (CgRtpRewriter *rewriter, const CgFrame *frame, GByteArray *out);

/* ---- RTCP ------------------------------------------------------------- */

/* Appends, interleaved on @channel, a sender report for @rewriter's stream
 * at wall time @ntp_us (microseconds since 1970) with the RTP time that
 * corresponds, followed by an SDES CNAME. */
void cg_rtcp_write_sr (GByteArray *out, guint8 channel, const CgRtpRewriter *rewriter,
                       gint64 ntp_us, guint32 rtp_ts, const char *cname);
typedef struct {
  guint32 ssrc;
  gint64 ntp_us;                /* the sender's wall clock, microseconds since 1970 */
  guint32 rtp_ts;               /* the RTP time that corresponds */
} CgRtcpSenderInfo;

/* The sender report in a compound RTCP packet from a camera. FALSE if there
 * is none, or the packet is malformed. */
gboolean cg_rtcp_find_sr (const guint8 *data, gsize size, CgRtcpSenderInfo *info);
/* A receiver report from @ssrc about @media_ssrc (extended highest sequence
 * number @ext_seq, nothing lost counted), followed by an SDES CNAME. Bare:
 * the caller frames it (interleaved or UDP). */
void cg_rtcp_write_rr (GByteArray *out, guint32 ssrc, guint32 media_ssrc, guint32 ext_seq,
                       const char *cname);
/* Keyframe requests to @media_ssrc, to append to a receiver report (RFC 4585
 * wants them in a compound packet): a Picture Loss Indication (RFC 4585), or
 * a Full Intra Request (RFC 5104) whose sequence number @seq changes with
 * each new request. */
void cg_rtcp_write_pli (GByteArray *out, guint32 ssrc, guint32 media_ssrc);
void cg_rtcp_write_fir (GByteArray *out, guint32 ssrc, guint32 media_ssrc, guint8 seq);

G_END_DECLS
