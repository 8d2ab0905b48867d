/* One WebRTC session of the WHIP uplink: a pipeline of appsrcs (the
 * camera's RTP packets; AAC through an Opus transcoder) into a webrtcbin
 * (max-bundle, send-only), an offer (at once, with the candidates that
 * follow trickled; or once it carries every ICE candidate), the ingest's
 * answer, and the connection's health. webrtcbin calls back from
 * its own threads: everything is handed over to the main loop, where the
 * caller's functions run. */
#pragma once

#include "media.h"
#include "uplink.h"
#include "whipmedia.h"

G_BEGIN_DECLS

typedef struct _CgWhipSession CgWhipSession;

/* Each called on the main loop, never from inside a cg_whip_session_*()
 * call; after failed, nothing more is called. */
typedef struct {
  /* With the candidates gathered so far when candidates is set (trickle
   * ICE), else with every candidate gathered. */
  void (*offer) (const char *sdp, gpointer user_data);
  /* NULL: no trickle. Candidates gathered after the offer and not in it
   * (element-type utf8, "candidate:..."; transfer none), a batch at a
   * time; @complete once gathering ended (the last call, whose batch may
   * be empty; none when gathering ended before the offer). */
  void (*candidates) (GPtrArray *candidates, gboolean complete, gpointer user_data);
  void (*connected) (gpointer user_data);               /* ICE and DTLS are up */
  void (*failed) (const char *message, gpointer user_data);
  /* The ingest asked for a keyframe (RTCP FIR when @full, else PLI). */
  void (*keyframe) (gboolean full, gpointer user_data);
} CgWhipSessionFuncs;

/* @ice_servers: element-type CgIceServer (the first STUN server and every
 * TURN server are used; a turns: server comes as TURN over TCP to its
 * address, which @http_proxy turns into TLS). @http_proxy:
 * "http://HOST:PORT" for all of the session's TURN/TCP, or NULL.
 * @local_addresses: element-type utf8, the only addresses ICE gathers host
 * candidates on (and its STUN and TURN sockets bind to); NULL: every address
 * libnice finds. NULL with @error if GStreamer lacks an element the session
 * needs (the message names the Debian package). */
CgWhipSession *cg_whip_session_new (const char *camera_id, const CgFormat *format,
                                    CgWhipAudio audio, GPtrArray *ice_servers,
                                    gboolean relay_only, const char *http_proxy,
                                    GPtrArray *local_addresses,
                                    const CgWhipSessionFuncs *funcs, gpointer user_data,
                                    GError **error);
/* The ingest's SDP answer; a problem with it comes back through failed. */
void cg_whip_session_set_answer (CgWhipSession *session, const char *sdp);
/* Feeds @kind's stream with @data: RTP packets in interleaved framing
 * ("$", channel, 16-bit length, packet), as cg_rtp_rewriter_write() writes
 * them. */
void cg_whip_session_push (CgWhipSession *session, CgStreamKind kind, const guint8 *data,
                           gsize size);
/* The SSRC the offer announced for @kind's stream: the packets pushed must
 * carry it. */
guint32 cg_whip_session_ssrc (CgWhipSession *session, CgStreamKind kind);
/* Video packets pushed, and taken on by the pipeline, since the start. */
guint64 cg_whip_session_pushed (CgWhipSession *session);
guint64 cg_whip_session_taken (CgWhipSession *session);
/* The selected candidate pair, as the last get-stats (once a second while
 * connected) saw it; path->local is NULL before one is known. The transport
 * is webrtcbin's view: TURN over TLS through the proxy shows as tcp. */
void cg_whip_session_get_path (CgWhipSession *session, CgUplinkPath *path);
/* The ICE connection state now ("checking", "connected", ...), for messages.
 * transfer none */
const char *cg_whip_session_ice_state (CgWhipSession *session);
/* Whether ICE ended in "failed": no candidate pair worked. */
gboolean cg_whip_session_ice_failed (CgWhipSession *session);
void cg_whip_session_free (CgWhipSession *session);

G_END_DECLS
