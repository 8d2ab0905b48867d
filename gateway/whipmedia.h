/* What the WHIP uplink sends for a camera: the RTP caps each of the camera's
 * streams is fed to webrtcbin with (the camera's own packets and codec
 * parameters, payload types renumbered so that bundled streams never
 * collide), what happens to the audio (forwarded, AAC transcoded to Opus, or
 * dropped), and the candidates added to an offer. Pure: unit-tested in
 * tests/unit/test-whip.c, and built without WebRTC too. */
#pragma once

#include <gst/gst.h>

#include "media.h"

G_BEGIN_DECLS

/* Payload types of the session: video, and Opus (the camera's own or
 * transcoded from AAC); G.711 keeps its static 0 (PCMU) or 8 (PCMA). */
#define CG_WHIP_VIDEO_PT 96
#define CG_WHIP_OPUS_PT 111
/* The payload type AAC arrives with on the way to the transcoder. */
#define CG_WHIP_AAC_PT 97

typedef enum {
  CG_WHIP_AUDIO_NONE,           /* the camera sends no audio */
  CG_WHIP_AUDIO_FORWARD,        /* G.711 or Opus: the camera's packets */
  CG_WHIP_AUDIO_TO_OPUS,        /* AAC, decoded and encoded to Opus */
  CG_WHIP_AUDIO_DROP,           /* AAC with [uplink] aac = drop */
} CgWhipAudio;

/* How @format goes over WHIP: @audio gets the audio plan. FALSE with @error
 * when it cannot (no H.264 video: this build forwards H.264 only). */
gboolean cg_whip_plan (const CgFormat *format, gboolean aac_to_opus, CgWhipAudio *audio,
                       GError **error);
/* The payload type @desc's packets get in the session (AAC: CG_WHIP_AAC_PT,
 * before the transcoder). */
guint8 cg_whip_payload_type (const CgStreamDesc *desc);
/* application/x-rtp caps for @desc's packets with payload type @pt: media,
 * encoding-name, clock-rate, encoding-params (audio channels) and every fmtp
 * parameter (lower-case name, string value), as webrtcbin and the
 * depayloaders read them. transfer full */
GstCaps *cg_whip_stream_caps (const CgStreamDesc *desc, guint8 pt);
/* @sdp with "a=candidate:..." lines for @candidates (element-type utf8,
 * "candidate:..." as webrtcbin gives them, all of the first, bundled m=
 * section) that it does not hold yet, and "a=end-of-candidates" when
 * @complete. transfer full */
char *cg_whip_sdp_add_candidates (const char *sdp, GPtrArray *candidates, gboolean complete);

G_END_DECLS
