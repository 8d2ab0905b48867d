/* One WebRTC session of the WHIP uplink (see whipsession.h).
 *
 * The offer is made once the pipeline plays. With trickle ICE it goes out
 * as soon as webrtcbin has set it as its local description, holding the
 * candidates found by then; later ones are handed on in batches (those
 * that arrive within DEFAULT_TRICKLE_BATCH_MS of each other), then the end
 * of gathering. Without, ICE gathering runs to its end (or
 * DEFAULT_GATHER_TIMEOUT_S) before the offer goes out.
 *
 * The session counts as lost when webrtcbin reports the
 * connection failed, when ICE stays disconnected or failed for
 * DEFAULT_DISCONNECT_GRACE_S, or when the ingest sends no RTCP for
 * DEFAULT_RTCP_SILENCE_S: libnice 0.1.21 as webrtcbin 1.22 drives it does no
 * consent freshness checks, so an ingest that vanished is noticed by its
 * silence. A session is reference-counted: webrtcbin's threads hold it
 * while an event is on its way to the main loop, and an event that arrives
 * after cg_whip_session_free() is dropped. */
#define G_LOG_DOMAIN "camgate-whip"

#include "whipsession.h"

#include <gst/app/gstappsrc.h>
#include <gst/webrtc/webrtc.h>
#include <string.h>

#include "error.h"
#include "iceserver.h"

#define DEFAULT_GATHER_TIMEOUT_S 10
#define DEFAULT_TRICKLE_BATCH_MS 20
#define DEFAULT_DISCONNECT_GRACE_S 5
#define DEFAULT_RTCP_SILENCE_S 15
#define HEALTH_INTERVAL_MS 1000

typedef enum {
  EV_OFFER,                     /* create-offer answered */
  EV_OFFER_SET,                 /* set-local-description answered */
  EV_CANDIDATE,
  EV_GATHERING,
  EV_ICE,
  EV_CONNECTION,
  EV_ANSWER_SET,                /* set-remote-description answered */
  EV_STATS,                     /* get-stats answered */
  EV_KEYFRAME,                  /* the ingest asked for one; state: FIR */
} EventKind;

struct _CgWhipSession {
  gatomicrefcount ref;
  gboolean dead;                /* freed by its owner: events are dropped */
  char *camera_id;
  CgWhipSessionFuncs funcs;
  gpointer user_data;
  GstElement *pipeline;
  GstElement *webrtc;
  GstAppSrc *src[CG_STREAM_N];  /* NULL: not sent */
  guint32 ssrc[CG_STREAM_N];    /* announced in the offer (a=ssrc), sent with */
  CgVideoCodec video;           /* as the camera sends it, offered as it is */
  guint bus_watch;
  GPtrArray *candidates;        /* element-type utf8: "candidate:...": for, then in, the offer */
  GPtrArray *trickle;           /* element-type utf8: gathered after the offer, not handed on */
  gboolean gathered;            /* ICE gathering ended */
  gboolean offered;
  gboolean trickle_ended;       /* the end of gathering was handed on */
  guint trickle_id;
  gboolean connected;
  GstWebRTCICEConnectionState ice;
  gint64 ice_bad_since;         /* disconnected or failed since; 0: healthy */
  gint rtcp_received;           /* atomic */
  gint rtcp_seen;
  gint64 rtcp_seen_at;
  guint gather_timeout_id;
  guint health_id;
  guint fail_id;
  char *fail_message;
  gboolean stats_pending;       /* a get-stats is on its way */
  CgUplinkPath path;            /* the selected candidate pair, from get-stats */
  guint64 pushed;               /* video packets */
  gsize taken;                  /* atomic: video packets out of the appsrc */
};

typedef struct {
  CgWhipSession *session;
  EventKind kind;
  GstPromise *promise;
  guint state;
  char *candidate;
} Event;

static CgWhipSession *
session_ref (CgWhipSession *session)
{
  g_atomic_ref_count_inc (&session->ref);
  return session;
}

static void
session_unref (gpointer data)
{
  CgWhipSession *session = data;

  if (!g_atomic_ref_count_dec (&session->ref))
    return;
  g_ptr_array_unref (session->candidates);
  g_ptr_array_unref (session->trickle);
  cg_uplink_path_clear (&session->path);
  g_free (session->fail_message);
  g_free (session->camera_id);
  g_free (session);
}

static void
session_closure_unref (gpointer data, GClosure *closure)
{
  session_unref (data);
}

/* ---- failure ------------------------------------------------------------------ */

static gboolean
on_fail (gpointer data)
{
  CgWhipSession *session = data;
  g_autofree char *message = g_steal_pointer (&session->fail_message);

  session->fail_id = 0;
  session->funcs.failed (message, session->user_data);
  return G_SOURCE_REMOVE;
}

/* The owner hears of it next, on the main loop; the first failure counts. */
static void
session_fail (CgWhipSession *session, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
session_fail (CgWhipSession *session, const char *format, ...)
{
  va_list args;

  if (session->fail_id || session->dead)
    return;
  va_start (args, format);
  session->fail_message = g_strdup_vprintf (format, args);
  va_end (args);
  session->fail_id = g_idle_add (on_fail, session);
}

/* ---- events from webrtcbin's threads ---------------------------------------- */

static void
event_free (gpointer data)
{
  Event *ev = data;

  if (ev->promise)
    gst_promise_unref (ev->promise);
  g_free (ev->candidate);
  session_unref (ev->session);
  g_free (ev);
}

static gboolean on_event (gpointer data);

static void
post_event (CgWhipSession *session, EventKind kind, GstPromise *promise, guint state,
            const char *candidate)
{
  Event *ev = g_new0 (Event, 1);

  ev->session = session_ref (session);
  ev->kind = kind;
  ev->promise = promise ? gst_promise_ref (promise) : NULL;
  ev->state = state;
  ev->candidate = g_strdup (candidate);
  g_idle_add_full (G_PRIORITY_DEFAULT, on_event, ev, event_free);
}

static void
on_offer_created (GstPromise *promise, gpointer data)
{
  post_event (data, EV_OFFER, promise, 0, NULL);
}

static void
on_offer_set (GstPromise *promise, gpointer data)
{
  post_event (data, EV_OFFER_SET, promise, 0, NULL);
}

static void
on_answer_set (GstPromise *promise, gpointer data)
{
  post_event (data, EV_ANSWER_SET, promise, 0, NULL);
}

static void
on_stats (GstPromise *promise, gpointer data)
{
  post_event (data, EV_STATS, promise, 0, NULL);
}

static void
on_ice_candidate (GstElement *webrtc, guint mline, const char *candidate, gpointer data)
{
  post_event (data, EV_CANDIDATE, NULL, mline, candidate);
}

static void
on_notify (GObject *webrtc, GParamSpec *pspec, gpointer data)
{
  EventKind kind = g_str_equal (pspec->name, "ice-gathering-state") ? EV_GATHERING
                 : g_str_equal (pspec->name, "ice-connection-state") ? EV_ICE : EV_CONNECTION;
  guint state;

  g_object_get (webrtc, pspec->name, &state, NULL);
  post_event (data, kind, NULL, state, NULL);
}

static void
on_rtcp (GObject *rtp_session, GstBuffer *buffer, gpointer data)
{
  CgWhipSession *session = data;

  g_atomic_int_inc (&session->rtcp_received);
}

static GstPadProbeReturn
on_video_taken (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  CgWhipSession *session = data;

  g_atomic_pointer_add (&session->taken, 1);
  return GST_PAD_PROBE_OK;
}

/* The ingest's PLI or FIR, which webrtcbin's RTP session turns into an
 * upstream GstForceKeyUnit event (all-headers for FIR): the camera is asked. */
static GstPadProbeReturn
on_video_upstream (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  const GstStructure *s = gst_event_get_structure (GST_PAD_PROBE_INFO_EVENT (info));
  gboolean full = FALSE;

  if (!s || !gst_structure_has_name (s, "GstForceKeyUnit"))
    return GST_PAD_PROBE_OK;
  gst_structure_get_boolean (s, "all-headers", &full);
  post_event (data, EV_KEYFRAME, NULL, full, NULL);
  return GST_PAD_PROBE_DROP;    /* appsrc has nothing to do with it */
}

/* ---- the offer ------------------------------------------------------------------ */

/* Trickle: @candidates becomes the candidates @sdp holds, webrtcbin's own
 * included (it writes those it gathered into its local description), so
 * that none of them is sent again. */
static void
take_offered (GPtrArray *candidates, const char *sdp)
{
  g_auto (GStrv) lines = g_strsplit (sdp, "\r\n", -1);

  g_ptr_array_set_size (candidates, 0);
  for (guint i = 0; lines[i]; i++) {
    if (g_str_has_prefix (lines[i], "a=candidate:"))
      g_ptr_array_add (candidates, g_strdup (lines[i] + 2));
  }
}

static void
send_offer (CgWhipSession *session, gboolean complete)
{
  GstWebRTCSessionDescription *desc = NULL;
  g_autofree char *text = NULL, *sdp = NULL;

  g_clear_handle_id (&session->gather_timeout_id, g_source_remove);
  if (session->offered)
    return;
  session->offered = TRUE;
  g_object_get (session->webrtc, "local-description", &desc, NULL);
  if (!desc) {
    session_fail (session, "webrtcbin has no local description to offer");
    return;
  }
  text = gst_sdp_message_as_text (desc->sdp);
  gst_webrtc_session_description_free (desc);
  sdp = cg_whip_sdp_add_candidates (text, session->candidates, complete);
  if (session->funcs.candidates)
    take_offered (session->candidates, sdp);
  g_debug ("[%s] WHIP offer:\n%s", session->camera_id, sdp);
  session->funcs.offer (sdp, session->user_data);
}

static gboolean
on_gather_timeout (gpointer data)
{
  CgWhipSession *session = data;

  session->gather_timeout_id = 0;
  if (!session->candidates->len) {
    session_fail (session, "no ICE candidate within %d s: has this host a network address, "
                  "and do the STUN/TURN servers answer?", DEFAULT_GATHER_TIMEOUT_S);
    return G_SOURCE_REMOVE;
  }
  g_info ("[%s] ICE gathering not complete after %d s: offering the %u candidate(s) found",
          session->camera_id, DEFAULT_GATHER_TIMEOUT_S, session->candidates->len);
  send_offer (session, FALSE);
  return G_SOURCE_REMOVE;
}

/* FALSE after failing the session with what went wrong; *@reply gets the
 * promise's reply, which may be NULL (set-remote-description replies none). */
static gboolean
promise_replied (CgWhipSession *session, GstPromise *promise, const char *what,
                 const GstStructure **reply)
{
  GError *error = NULL;

  if (gst_promise_wait (promise) != GST_PROMISE_RESULT_REPLIED) {
    session_fail (session, "webrtcbin could not %s", what);
    return FALSE;
  }
  *reply = gst_promise_get_reply (promise);
  if (*reply && gst_structure_has_field (*reply, "error")) {
    gst_structure_get (*reply, "error", G_TYPE_ERROR, &error, NULL);
    session_fail (session, "webrtcbin could not %s: %s", what,
                  error ? error->message : "no reason given");
    g_clear_error (&error);
    return FALSE;
  }
  return TRUE;
}

static void
offer_created (CgWhipSession *session, GstPromise *promise)
{
  const GstStructure *reply = NULL;
  GstWebRTCSessionDescription *offer = NULL;
  GstPromise *set;

  if (!promise_replied (session, promise, "create an offer", &reply))
    return;
  if (reply)
    gst_structure_get (reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, NULL);
  if (!offer) {
    session_fail (session, "webrtcbin made no offer");
    return;
  }
  set = gst_promise_new_with_change_func (on_offer_set, session_ref (session), session_unref);
  g_signal_emit_by_name (session->webrtc, "set-local-description", offer, set);
  gst_promise_unref (set);
  gst_webrtc_session_description_free (offer);
  if (!session->funcs.candidates)
    session->gather_timeout_id = g_timeout_add_seconds (DEFAULT_GATHER_TIMEOUT_S,
                                                        on_gather_timeout, session);
}

/* Trickle: the offer goes out now, with the candidates found so far. */
static void
offer_set (CgWhipSession *session, GstPromise *promise)
{
  const GstStructure *reply = NULL;

  if (promise_replied (session, promise, "set its offer", &reply) && session->funcs.candidates)
    send_offer (session, session->gathered);
}

static gboolean
on_trickle (gpointer data)
{
  CgWhipSession *session = data;
  g_autoptr (GPtrArray) batch = g_steal_pointer (&session->trickle);
  gboolean complete = session->gathered;

  session->trickle_id = 0;
  session->trickle = g_ptr_array_new_with_free_func (g_free);
  session->trickle_ended = complete;
  session->funcs.candidates (batch, complete, session->user_data);
  return G_SOURCE_REMOVE;
}

/* Trickle: hands on what was gathered after the offer, in a moment. */
static void
trickle_soon (CgWhipSession *session)
{
  if (session->offered && !session->trickle_ended && !session->trickle_id &&
      (session->trickle->len || session->gathered))
    session->trickle_id = g_timeout_add (DEFAULT_TRICKLE_BATCH_MS, on_trickle, session);
}

static void
candidate_gathered (CgWhipSession *session, const char *candidate)
{
  if (!session->offered) {
    g_ptr_array_add (session->candidates, g_strdup (candidate));
  } else if (session->funcs.candidates && !session->trickle_ended &&
             !g_ptr_array_find_with_equal_func (session->candidates, candidate, g_str_equal,
                                                NULL)) {
    g_ptr_array_add (session->trickle, g_strdup (candidate));
    trickle_soon (session);
  }
}

static void
gathering_changed (CgWhipSession *session, GstWebRTCICEGatheringState state)
{
  if (state != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
    return;
  session->gathered = TRUE;
  if (session->funcs.candidates)
    trickle_soon (session);
  else if (session->gather_timeout_id)
    send_offer (session, TRUE);
}

/* ---- the selected candidate pair --------------------------------------------------- */

typedef struct {
  const GstStructure *reply;    /* get-stats' answer */
  CgUplinkPath *path;
} PairSearch;

/* The stats @id in @reply; NULL if absent. */
static const GstStructure *
stats_entry (const GstStructure *reply, const char *id)
{
  const GValue *v = id ? gst_structure_get_value (reply, id) : NULL;

  return v && GST_VALUE_HOLDS_STRUCTURE (v) ? gst_value_get_structure (v) : NULL;
}

/* "ADDRESS:PORT" of a candidate's stats. transfer full */
static char *
candidate_address (const GstStructure *candidate)
{
  const char *address = gst_structure_get_string (candidate, "address");
  guint port = 0;

  gst_structure_get_uint (candidate, "port", &port);
  return g_strdup_printf (address && strchr (address, ':') ? "[%s]:%u" : "%s:%u",
                          address ? address : "?", port);
}

/* How a relay candidate reaches its TURN server. webrtcbin 1.22 reports
 * relay-protocol "none" with libnice, whose candidate priority tells it:
 * the type preference (the top 8 bits) of a relay over UDP is 30, over
 * TCP (or TLS) 20. */
static const char *
relay_transport (const GstStructure *candidate)
{
  const char *relay = gst_structure_get_string (candidate, "relay-protocol");
  guint priority = 0;

  if (relay && g_strcmp0 (relay, "none") != 0)
    return relay;
  gst_structure_get_uint (candidate, "priority", &priority);
  return priority >> 24 == 30 ? "udp" : "tcp";
}

static gboolean
take_pair (GQuark field, const GValue *value, gpointer data)
{
  PairSearch *search = data;
  CgUplinkPath *path = search->path;
  const GstStructure *pair, *local, *remote;
  GstWebRTCStatsType type;

  if (!GST_VALUE_HOLDS_STRUCTURE (value))
    return TRUE;
  pair = gst_value_get_structure (value);
  if (!gst_structure_get (pair, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type, NULL) ||
      type != GST_WEBRTC_STATS_CANDIDATE_PAIR)
    return TRUE;
  local = stats_entry (search->reply, gst_structure_get_string (pair, "local-candidate-id"));
  remote = stats_entry (search->reply, gst_structure_get_string (pair, "remote-candidate-id"));
  if (!local || !remote || !gst_structure_get_string (local, "candidate-type"))
    return TRUE;
  cg_uplink_path_clear (path);
  path->local = g_strdup (gst_structure_get_string (local, "candidate-type"));
  path->transport = g_strdup (g_str_equal (path->local, "relay") ? relay_transport (local)
                              : gst_structure_get_string (local, "protocol"));
  path->local_address = candidate_address (local);
  path->remote_address = candidate_address (remote);
  return FALSE;
}

static void
stats_received (CgWhipSession *session, GstPromise *promise)
{
  PairSearch search = { NULL, &session->path };

  session->stats_pending = FALSE;
  if (gst_promise_wait (promise) != GST_PROMISE_RESULT_REPLIED ||
      !(search.reply = gst_promise_get_reply (promise)))
    return;
  gst_structure_foreach (search.reply, take_pair, &search);
}

/* Asks webrtcbin for its stats; the answer comes back as EV_STATS. */
static void
request_stats (CgWhipSession *session)
{
  GstPromise *promise;

  if (session->stats_pending)
    return;
  session->stats_pending = TRUE;
  promise = gst_promise_new_with_change_func (on_stats, session_ref (session), session_unref);
  g_signal_emit_by_name (session->webrtc, "get-stats", NULL, promise);
  gst_promise_unref (promise);
}

/* ---- connection health ----------------------------------------------------------- */

/* Counts RTCP from the ingest, on webrtcbin's RTP session. */
static void
watch_rtcp (CgWhipSession *session)
{
  g_autoptr (GstIterator) it = gst_bin_iterate_recurse (GST_BIN (session->webrtc));
  GValue item = G_VALUE_INIT;
  GObject *rtp_session = NULL;

  while (!rtp_session && gst_iterator_next (it, &item) == GST_ITERATOR_OK) {
    GstElement *e = g_value_get_object (&item);
    GstElementFactory *factory = gst_element_get_factory (e);
    if (factory && g_str_equal (GST_OBJECT_NAME (factory), "rtpbin"))
      g_signal_emit_by_name (e, "get-internal-session", 0, &rtp_session);
    g_value_reset (&item);
  }
  g_value_unset (&item);
  session->rtcp_seen_at = g_get_monotonic_time ();
  if (!rtp_session || !g_signal_lookup ("on-receiving-rtcp", G_OBJECT_TYPE (rtp_session))) {
    g_info ("[%s] webrtcbin's RTP session not found: the ingest's RTCP is not watched",
            session->camera_id);
    session->rtcp_seen_at = 0;
  } else {
    g_signal_connect_data (rtp_session, "on-receiving-rtcp", G_CALLBACK (on_rtcp),
                           session_ref (session), session_closure_unref, 0);
  }
  g_clear_object (&rtp_session);
}

static gboolean
on_health (gpointer data)
{
  CgWhipSession *session = data;
  gint64 now = g_get_monotonic_time ();
  gint rtcp = g_atomic_int_get (&session->rtcp_received);

  request_stats (session);
  if (session->ice_bad_since &&
      now - session->ice_bad_since > DEFAULT_DISCONNECT_GRACE_S * G_USEC_PER_SEC)
    session_fail (session, "the ingest stopped answering ICE (%s for %d s): it is gone, or "
                  "the path to it broke", cg_whip_session_ice_state (session),
                  DEFAULT_DISCONNECT_GRACE_S);
  if (rtcp != session->rtcp_seen) {
    session->rtcp_seen = rtcp;
    session->rtcp_seen_at = now;
  } else if (session->rtcp_seen_at &&
             now - session->rtcp_seen_at > DEFAULT_RTCP_SILENCE_S * G_USEC_PER_SEC) {
    session_fail (session, "nothing heard from the ingest for %d s (no RTCP): it is gone, or "
                  "the path to it broke", DEFAULT_RTCP_SILENCE_S);
  }
  return G_SOURCE_CONTINUE;
}

static void
connection_changed (CgWhipSession *session, GstWebRTCPeerConnectionState state)
{
  if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED) {
    session_fail (session, "the WebRTC connection to the ingest failed (ICE %s): are UDP, or "
                  "the TURN servers, reachable from here?", cg_whip_session_ice_state (session));
  } else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED && !session->connected) {
    session->connected = TRUE;
    /* webrtcbin added its RTP session after the pipeline started: it needs
     * the pipeline's latency to time its sender reports */
    gst_bin_recalculate_latency (GST_BIN (session->pipeline));
    watch_rtcp (session);
    session->health_id = g_timeout_add (HEALTH_INTERVAL_MS, on_health, session);
    request_stats (session);
    session->funcs.connected (session->user_data);
  }
}

static void
ice_changed (CgWhipSession *session, GstWebRTCICEConnectionState state)
{
  session->ice = state;
  if (state == GST_WEBRTC_ICE_CONNECTION_STATE_DISCONNECTED ||
      state == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED) {
    if (!session->ice_bad_since)
      session->ice_bad_since = g_get_monotonic_time ();
  } else {
    session->ice_bad_since = 0;
  }
}

static gboolean
on_event (gpointer data)
{
  Event *ev = data;
  CgWhipSession *session = ev->session;

  if (session->dead)
    return G_SOURCE_REMOVE;
  switch (ev->kind) {
  case EV_OFFER:
    offer_created (session, ev->promise);
    break;
  case EV_OFFER_SET:
    offer_set (session, ev->promise);
    break;
  case EV_CANDIDATE:
    /* max-bundle: every candidate belongs to the first m= section */
    if (ev->state == 0)
      candidate_gathered (session, ev->candidate);
    break;
  case EV_GATHERING:
    gathering_changed (session, ev->state);
    break;
  case EV_ICE:
    ice_changed (session, ev->state);
    break;
  case EV_CONNECTION:
    connection_changed (session, ev->state);
    break;
  case EV_STATS:
    stats_received (session, ev->promise);
    break;
  case EV_KEYFRAME:
    session->funcs.keyframe (ev->state, session->user_data);
    break;
  case EV_ANSWER_SET: {
    const GstStructure *reply;
    promise_replied (session, ev->promise, "take the ingest's answer", &reply);
    break;
  }
  }
  return G_SOURCE_REMOVE;
}

static gboolean
on_bus (GstBus *bus, GstMessage *message, gpointer data)
{
  CgWhipSession *session = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *debug = NULL;

  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR) {
    gst_message_parse_error (message, &error, &debug);
    g_debug ("[%s] %s: %s", session->camera_id, GST_MESSAGE_SRC_NAME (message), debug);
    session_fail (session, "the WebRTC pipeline failed in %s: %s",
                  GST_MESSAGE_SRC_NAME (message), error->message);
  } else if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_WARNING) {
    gst_message_parse_warning (message, &error, &debug);
    g_info ("[%s] %s: %s", session->camera_id, GST_MESSAGE_SRC_NAME (message), error->message);
  }
  return G_SOURCE_CONTINUE;
}

/* ---- the pipeline ----------------------------------------------------------------- */

static GstElement *
make_element (const char *factory, const char *package, GError **error)
{
  GstElement *e = gst_element_factory_make (factory, NULL);

  if (!e)
    g_set_error (error, CG_ERROR, CG_ERROR_IO, "GStreamer has no %s element: install %s",
                 factory, package);
  return e;
}

static GstAppSrc *
make_appsrc (GstCaps *caps)
{
  GstElement *src = gst_element_factory_make ("appsrc", NULL);

  g_object_set (src, "caps", caps, "is-live", TRUE, "format", GST_FORMAT_TIME,
                "do-timestamp", TRUE, NULL);
  return GST_APP_SRC (src);
}

/* @last's src pad into a new send-only webrtcbin sink pad for @caps. */
static gboolean
link_to_webrtc (CgWhipSession *session, GstElement *last, GstCaps *caps, GError **error)
{
  GstPadTemplate *templ = gst_element_get_pad_template (session->webrtc, "sink_%u");
  g_autoptr (GstPad) sink = gst_element_request_pad (session->webrtc, templ, NULL, caps);
  g_autoptr (GstPad) src = gst_element_get_static_pad (last, "src");
  GstWebRTCRTPTransceiver *transceiver = NULL;

  if (!sink || gst_pad_link (src, sink) != GST_PAD_LINK_OK) {
    g_autofree char *shown = gst_caps_to_string (caps);
    g_set_error (error, CG_ERROR, CG_ERROR_IO, "webrtcbin does not take %s", shown);
    return FALSE;
  }
  /* The offer is made from @caps, not from what the pads might produce
   * (a payloader's template allows any payload type). */
  g_object_get (sink, "transceiver", &transceiver, NULL);
  g_object_set (transceiver, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY,
                "codec-preferences", caps, NULL);
  /* Video offers NACK with RTX (RFC 4588): the ingest's lost packets are
   * sent again from webrtcbin's recent ones. */
  if (gst_structure_has_field_typed (gst_caps_get_structure (caps, 0), "rtcp-fb-nack",
                                     G_TYPE_BOOLEAN))
    g_object_set (transceiver, "do-nack", TRUE, NULL);
  gst_object_unref (transceiver);
  return TRUE;
}

/* AAC in, Opus out: the only decoding camgate does (audio, never video). */
static GstElement *
add_opus_transcoder (CgWhipSession *session, const CgStreamDesc *desc, GError **error)
{
  const char *depay = g_str_equal (desc->encoding, "MP4A-LATM") ? "rtpmp4adepay" : "rtpmp4gdepay";
  g_autoptr (GstElementFactory) libav = gst_element_factory_find ("avdec_aac");
  const char *decoder = libav ? "avdec_aac" : "faad";
  const struct { const char *factory, *package; } chain[] = {
    { depay, "gstreamer1.0-plugins-good" },
    { "aacparse", "gstreamer1.0-plugins-good" },
    { decoder, "gstreamer1.0-libav" },
    { "audioconvert", "gstreamer1.0-plugins-base" },
    { "audioresample", "gstreamer1.0-plugins-base" },
    { "opusenc", "gstreamer1.0-plugins-base" },
    { "rtpopuspay", "gstreamer1.0-plugins-good" },
  };
  GstElement *prev = GST_ELEMENT (session->src[CG_STREAM_AUDIO]), *e = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (chain); i++) {
    if (!(e = make_element (chain[i].factory, chain[i].package, error))) {
      g_prefix_error (error, "AAC audio to Opus ([uplink] aac = opus): ");
      return NULL;
    }
    gst_bin_add (GST_BIN (session->pipeline), e);
    if (!gst_element_link (prev, e)) {
      g_set_error (error, CG_ERROR, CG_ERROR_IO, "AAC audio to Opus: %s does not link to %s",
                   GST_ELEMENT_NAME (prev), GST_ELEMENT_NAME (e));
      return NULL;
    }
    prev = e;
  }
  g_object_set (e, "pt", CG_WHIP_OPUS_PT, "ssrc", session->ssrc[CG_STREAM_AUDIO], NULL);
  return e;
}

static gboolean
add_stream (CgWhipSession *session, const CgStreamDesc *desc, CgWhipAudio audio, GError **error)
{
  g_autoptr (GstCaps) caps = cg_whip_stream_caps (desc, cg_whip_payload_type (desc));
  GstAppSrc *src;
  GstElement *last;

  /* With the SSRC in the caps, webrtcbin announces it (a=ssrc with cname
   * and msid, RFC 8829 5.2.1): an ingest that sorts bundled packets by SSRC
   * alone, as werift does, finds each stream's m= section; and webrtcbin's
   * rtpfunnel hands the ingest's keyframe requests to the stream with the
   * SSRC they name. */
  session->ssrc[desc->kind] = g_random_int ();
  if (desc->kind == CG_STREAM_VIDEO)
    session->video = desc->video;
  gst_caps_set_simple (caps, "ssrc", G_TYPE_UINT, session->ssrc[desc->kind], NULL);
  src = make_appsrc (caps);
  last = GST_ELEMENT (src);
  session->src[desc->kind] = src;
  gst_bin_add (GST_BIN (session->pipeline), last);
  if (desc->kind == CG_STREAM_AUDIO && audio == CG_WHIP_AUDIO_TO_OPUS) {
    g_autoptr (GstCaps) opus = gst_caps_new_simple ("application/x-rtp", "media", G_TYPE_STRING,
                                                    "audio", "encoding-name", G_TYPE_STRING,
                                                    "OPUS", "clock-rate", G_TYPE_INT, 48000,
                                                    "payload", G_TYPE_INT, CG_WHIP_OPUS_PT,
                                                    "encoding-params", G_TYPE_STRING, "2",
                                                    "ssrc", G_TYPE_UINT,
                                                    session->ssrc[CG_STREAM_AUDIO], NULL);
    if (!(last = add_opus_transcoder (session, desc, error)))
      return FALSE;
    return link_to_webrtc (session, last, opus, error);
  }
  return link_to_webrtc (session, last, caps, error);
}

/* libnice asks the LAN's routers for port mappings (UPnP IGD, with SSDP
 * multicast) unless told not to: a gateway that seals cameras off does not
 * open ports on the site's router. */
static void
disable_upnp (CgWhipSession *session, GObject *agent)
{
  if (agent && g_object_class_find_property (G_OBJECT_GET_CLASS (agent), "upnp"))
    g_object_set (agent, "upnp", FALSE, NULL);
  else
    g_warning ("[%s] libnice's UPnP cannot be switched off: it may look for the LAN's "
               "router", session->camera_id);
}

/* libnice gathers on @addresses alone (nice_agent_add_local_address(),
 * through webrtcbin's ICE object), before gathering starts. */
static void
restrict_gathering (CgWhipSession *session, GObject *ice, GPtrArray *addresses)
{
  gboolean ok = FALSE;

  if (!ice || !g_signal_lookup ("add-local-ip-address", G_OBJECT_TYPE (ice))) {
    g_warning ("[%s] webrtcbin's ICE cannot be kept off the camera segment: its host "
               "candidates may name camera_interface's addresses", session->camera_id);
    return;
  }
  for (guint i = 0; i < addresses->len; i++) {
    const char *address = g_ptr_array_index (addresses, i);

    g_signal_emit_by_name (ice, "add-local-ip-address", address, &ok);
    if (!ok)
      g_warning ("[%s] libnice refused the local address %s: ICE does not gather on it",
                 session->camera_id, address);
  }
}

static void
configure_ice (CgWhipSession *session, GPtrArray *ice_servers, gboolean relay_only,
               const char *http_proxy, GPtrArray *local_addresses)
{
  g_autoptr (GObject) ice = NULL;
  g_autoptr (GObject) agent = NULL;
  gboolean stun_set = FALSE;

  g_object_get (session->webrtc, "ice-agent", &ice, NULL);
  if (ice && g_object_class_find_property (G_OBJECT_GET_CLASS (ice), "agent"))
    g_object_get (ice, "agent", &agent, NULL);
  disable_upnp (session, agent);
  if (local_addresses)
    restrict_gathering (session, ice, local_addresses);
  /* libnice sends every TURN/TCP connection of the agent through it */
  if (http_proxy)
    g_object_set (session->webrtc, "http-proxy", http_proxy, NULL);

  g_object_set (session->webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE,
                "ice-transport-policy", relay_only ? GST_WEBRTC_ICE_TRANSPORT_POLICY_RELAY
                                                   : GST_WEBRTC_ICE_TRANSPORT_POLICY_ALL, NULL);
  for (guint i = 0; i < ice_servers->len; i++) {
    const CgIceServer *server = g_ptr_array_index (ice_servers, i);
    g_autofree char *url = cg_ice_server_to_gst (server);
    g_autofree char *shown = cg_ice_server_describe (server);
    gboolean ok = TRUE;

    if (server->scheme == CG_ICE_STUN && stun_set) {
      g_info ("[%s] %s: one STUN server is used, this one is not", session->camera_id, shown);
      continue;
    }
    if (server->scheme == CG_ICE_STUN) {
      g_object_set (session->webrtc, "stun-server", url, NULL);
      stun_set = TRUE;
    } else {
      g_signal_emit_by_name (session->webrtc, "add-turn-server", url, &ok);
    }
    if (!ok)
      g_warning ("[%s] webrtcbin refused the TURN server %s", session->camera_id, shown);
  }
}

CgWhipSession *
cg_whip_session_new (const char *camera_id, const CgFormat *format, CgWhipAudio audio,
                     GPtrArray *ice_servers, gboolean relay_only, const char *http_proxy,
                     GPtrArray *local_addresses, const CgWhipSessionFuncs *funcs,
                     gpointer user_data, GError **error)
{
  CgWhipSession *session = g_new0 (CgWhipSession, 1);
  g_autoptr (GstBus) bus = NULL;
  g_autoptr (GstPad) video_src = NULL;
  GstPromise *promise;

  g_atomic_ref_count_init (&session->ref);
  session->camera_id = g_strdup (camera_id);
  session->funcs = *funcs;
  session->user_data = user_data;
  session->candidates = g_ptr_array_new_with_free_func (g_free);
  session->trickle = g_ptr_array_new_with_free_func (g_free);
  session->pipeline = gst_pipeline_new (NULL);
  if (!(session->webrtc = make_element ("webrtcbin", "gstreamer1.0-plugins-bad and "
                                        "gstreamer1.0-nice", error))) {
    cg_whip_session_free (session);
    return NULL;
  }
  gst_bin_add (GST_BIN (session->pipeline), session->webrtc);
  configure_ice (session, ice_servers, relay_only, http_proxy, local_addresses);
  for (int i = 0; i < CG_STREAM_N; i++) {
    const CgStreamDesc *desc = format->streams[i];
    if (!desc || (i == CG_STREAM_AUDIO && (audio == CG_WHIP_AUDIO_DROP ||
                                            audio == CG_WHIP_AUDIO_NONE)))
      continue;
    if (!add_stream (session, desc, audio, error)) {
      cg_whip_session_free (session);
      return NULL;
    }
  }
  video_src = gst_element_get_static_pad (GST_ELEMENT (session->src[CG_STREAM_VIDEO]), "src");
  gst_pad_add_probe (video_src, GST_PAD_PROBE_TYPE_BUFFER, on_video_taken, session_ref (session),
                     session_unref);
  gst_pad_add_probe (video_src, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, on_video_upstream,
                     session_ref (session), session_unref);
  g_signal_connect_data (session->webrtc, "on-ice-candidate", G_CALLBACK (on_ice_candidate),
                         session_ref (session), session_closure_unref, 0);
  g_signal_connect_data (session->webrtc, "notify::ice-gathering-state", G_CALLBACK (on_notify),
                         session_ref (session), session_closure_unref, 0);
  g_signal_connect_data (session->webrtc, "notify::ice-connection-state", G_CALLBACK (on_notify),
                         session_ref (session), session_closure_unref, 0);
  g_signal_connect_data (session->webrtc, "notify::connection-state", G_CALLBACK (on_notify),
                         session_ref (session), session_closure_unref, 0);
  bus = gst_pipeline_get_bus (GST_PIPELINE (session->pipeline));
  session->bus_watch = gst_bus_add_watch (bus, on_bus, session);
  if (gst_element_set_state (session->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    g_set_error (error, CG_ERROR, CG_ERROR_IO, "the WebRTC pipeline does not start "
                 "(camgate run -v shows why)");
    cg_whip_session_free (session);
    return NULL;
  }
  promise = gst_promise_new_with_change_func (on_offer_created, session_ref (session),
                                              session_unref);
  g_signal_emit_by_name (session->webrtc, "create-offer", NULL, promise);
  gst_promise_unref (promise);
  return session;
}

void
cg_whip_session_set_answer (CgWhipSession *session, const char *sdp)
{
  GstSDPMessage *message = NULL;
  GstWebRTCSessionDescription *answer;
  GstPromise *promise;

  if (gst_sdp_message_new_from_text (sdp, &message) != GST_SDP_OK ||
      gst_sdp_message_medias_len (message) == 0) {
    session_fail (session, "the ingest's SDP answer cannot be read");
    if (message)
      gst_sdp_message_free (message);
    return;
  }
  if (gst_sdp_media_get_port (gst_sdp_message_get_media (message, 0)) == 0) {
    session_fail (session, "the ingest refused the video (port 0 in its answer): %s",
                  session->video == CG_VIDEO_H265
                  ? "it does not take H.265, which the camera sends (video is never "
                    "re-encoded); set the camera to H.264, or use kind = rtsps"
                  : "it does not take the camera's H.264 profile? (camgate run -v logs the "
                    "offer)");
    gst_sdp_message_free (message);
    return;
  }
  answer = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_ANSWER, message);
  promise = gst_promise_new_with_change_func (on_answer_set, session_ref (session),
                                              session_unref);
  g_signal_emit_by_name (session->webrtc, "set-remote-description", answer, promise);
  gst_promise_unref (promise);
  gst_webrtc_session_description_free (answer);
}

void
cg_whip_session_push (CgWhipSession *session, CgStreamKind kind, const guint8 *data, gsize size)
{
  GstAppSrc *src = session->src[kind];

  if (!src)
    return;
  while (size >= 4) {
    gsize len = (data[2] << 8) | data[3];
    if (len > size - 4)
      break;
    gst_app_src_push_buffer (src, gst_buffer_new_memdup (data + 4, len));
    if (kind == CG_STREAM_VIDEO)
      session->pushed++;
    data += 4 + len;
    size -= 4 + len;
  }
}

guint32
cg_whip_session_ssrc (CgWhipSession *session, CgStreamKind kind)
{
  return session->ssrc[kind];
}

guint64
cg_whip_session_pushed (CgWhipSession *session)
{
  return session->pushed;
}

guint64
cg_whip_session_taken (CgWhipSession *session)
{
  return (guint64) g_atomic_pointer_get (&session->taken);
}

void
cg_whip_session_get_path (CgWhipSession *session, CgUplinkPath *path)
{
  cg_uplink_path_copy (&session->path, path);
}

const char *
cg_whip_session_ice_state (CgWhipSession *session)
{
  static const char *const names[] = { "new", "checking", "connected", "completed", "failed",
                                       "disconnected", "closed" };

  return session->ice < G_N_ELEMENTS (names) ? names[session->ice] : "unknown";
}

gboolean
cg_whip_session_ice_failed (CgWhipSession *session)
{
  return session->ice == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED;
}

void
cg_whip_session_free (CgWhipSession *session)
{
  if (!session)
    return;
  session->dead = TRUE;
  g_clear_handle_id (&session->gather_timeout_id, g_source_remove);
  g_clear_handle_id (&session->trickle_id, g_source_remove);
  g_clear_handle_id (&session->health_id, g_source_remove);
  g_clear_handle_id (&session->fail_id, g_source_remove);
  g_clear_handle_id (&session->bus_watch, g_source_remove);
  /* Stops webrtcbin's threads; their handlers and probes drop their references. */
  gst_element_set_state (session->pipeline, GST_STATE_NULL);
  gst_object_unref (session->pipeline);
  session_unref (session);
}
