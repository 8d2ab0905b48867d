/* One WebRTC session of the WHIP uplink: a pipeline of appsrcs (the
 * camera's RTP packets; AAC through an Opus transcoder) into a webrtcbin
 * (max-bundle, send-only), an offer that carries every ICE candidate, the
 * ingest's answer, and the connection's health. webrtcbin calls back from
 * its own threads: everything is handed over to the main loop, where the
 * caller's functions run. */
#pragma once

#include "media.h"
#include "whipmedia.h"

G_BEGIN_DECLS

typedef struct _CgWhipSession CgWhipSession;

/* Each called on the main loop, never from inside a cg_whip_session_*()
 * call; after failed, nothing more is called. */
typedef struct {
  void (*offer) (const char *sdp, gpointer user_data);   /* with every candidate gathered */
  void (*connected) (gpointer user_data);               /* ICE and DTLS are up */
  void (*failed) (const char *message, gpointer user_data);
  /* The ingest asked for a keyframe (RTCP FIR when @full, else PLI). */
  void (*keyframe) (gboolean full, gpointer user_data);
} CgWhipSessionFuncs;

/* @ice_servers: element-type CgIceServer (the first STUN server and every
 * TURN server are used). NULL with @error if GStreamer lacks an element
 * the session needs (the message names the Debian package). */
CgWhipSession *cg_whip_session_new (const char *camera_id, const CgFormat *format,
                                    CgWhipAudio audio, GPtrArray *ice_servers,
                                    gboolean relay_only, const CgWhipSessionFuncs *funcs,
                                    gpointer user_data, GError **error);
/* The ingest's SDP answer; a problem with it comes back through failed. */
void cg_whip_session_set_answer (CgWhipSession *session, const char *sdp);
/* Feeds @kind's stream with @data: RTP packets in interleaved framing
 * ("$", channel, 16-bit length, packet), as cg_rtp_rewriter_write() writes
 * them. */
void cg_whip_session_push (CgWhipSession *session, CgStreamKind kind, const guint8 *data,
                           gsize size);
/* The SSRC @kind's packets must carry (announced in the offer). */
guint32 cg_whip_session_ssrc (CgWhipSession *session, CgStreamKind kind);
/* Video packets pushed, and taken on by the pipeline, since the start. */
guint64 cg_whip_session_pushed (CgWhipSession *session);
guint64 cg_whip_session_taken (CgWhipSession *session);
/* The ICE connection state now ("checking", "connected", ...), for messages.
 * transfer none */
const char *cg_whip_session_ice_state (CgWhipSession *session);
void cg_whip_session_free (CgWhipSession *session);

G_END_DECLS
