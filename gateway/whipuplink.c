/* WHIP uplink of one camera (see whipuplink.h).
 *
 * A session: a CgWhipSession makes the offer, the CgWhipClient POSTs it,
 * the answer goes back to the session; once ICE and DTLS are up the hub's
 * frames flow, rewritten (rtp.h: SSRC, numbering, payload type) into the
 * session's appsrcs. Any failure ends the session (DELETE when it had been
 * created at the ingest) and a fresh one follows after a backoff delay.
 * STUN/TURN servers named by the ingest's Link headers come with its
 * answer, after this session's candidates were gathered: they are used
 * from the next session on, merged with ice_servers.
 *
 * Trickle ICE (RFC 9725 4.3): the offer goes out at once, and the
 * candidates gathered after it follow by PATCH to the session's Location,
 * one PATCH in flight at a time, in order, what gathered meanwhile in the
 * next. An endpoint that answers a PATCH with 405 or 501 does not trickle:
 * the session is ended and, at once, a new one offers every candidate in
 * its POST, as every session of this uplink does from then on.
 *
 * TURN over TLS (turns:): libnice would send it as plain TCP, so each such
 * server is resolved (asynchronously) before the session starts and given
 * to webrtcbin as TURN over TCP to its address, through the uplink's
 * loopback proxy (turnproxy.h, webrtcbin's http-proxy), which makes that
 * connection real TLS to the server's name. libnice sends all TURN/TCP of
 * a session through that proxy, which speaks TLS only: plain TURN/TCP
 * servers are left out of such a session (the configuration refuses the
 * mix; an ingest's Link header may bring it).
 *
 * With ice_transport_policy = all, libnice 0.1.21 can lose the only pair
 * that works, its relay candidate's: the ingest's checks reach the host
 * candidates before the answer, libnice checks the pairs it made for them
 * without the ingest's credentials, fails them and drops them, and never
 * pairs that remote candidate again; or it loses the pair in use soon
 * after the session came up. So a session whose ICE fails, or that finds
 * no path before the connect timeout, while TURN servers are given is
 * followed at once by relay-only sessions, for the rest of the uplink's
 * life (a reload that changes the uplink starts over with "all").
 *
 * ICE gathers on this host's addresses outside camera_interface only
 * (iceaddr.h), listed again for each session: the offer names nothing of
 * the sealed segment, and no ICE socket opens there. */
#define G_LOG_DOMAIN "camgate-uplink"

#include "whipuplink.h"

#include <gst/gst.h>

#include "iceaddr.h"
#include "iceserver.h"
#include "sendstate.h"
#include "turnproxy.h"
#include "uplinkrun.h"
#include "whip.h"
#include "whipfrag.h"
#include "whipsession.h"

#define DEFAULT_HTTP_TIMEOUT_S 15
#define DEFAULT_CONNECT_TIMEOUT_S 40

struct _CgWhipUplink {
  char *camera_id;
  CgHub *hub;
  char *url;                    /* expanded */
  gboolean relay_only;          /* ice_transport_policy = relay, or fallen back to it */
  gboolean aac_to_opus;
  GPtrArray *config_servers;    /* element-type CgIceServer: ice_servers */
  GPtrArray *link_servers;      /* element-type CgIceServer: from the last answer */
  CgWhipClient *client;
  gboolean no_trickle;          /* the endpoint refused trickled candidates as such */
  char *ca_file;                /* for the TURN servers too; NULL: the system store */
  CgTurnProxy *proxy;           /* once a turns: server is used; kept for the uplink's life */
  guint proxy_refused;          /* the proxy's refusals when the session started */
  char **camera_interfaces;     /* no ICE candidate there */
  gboolean gather_anywhere;     /* said why the last session's ICE was not restricted */

  /* before a session with turns: servers starts, their names are resolved */
  GPtrArray *servers;           /* element-type CgIceServer (transfer none): the session's */
  GPtrArray *relays;            /* element-type CgIceServer: the turns: ones as TURN/TCP */
  guint resolve_at;
  GCancellable *resolving;

  CgFormat *format;
  gboolean sending[CG_STREAM_N];  /* the streams this session sends */
  CgWhipAudio audio;
  CgWhipSession *session;
  char *location;               /* the session at the ingest, once created */
  char *offer;                  /* trickle: this session's offer, for the sdpfrags */
  char *etag;                   /* trickle: the session's ETag, or NULL */
  GPtrArray *to_trickle;        /* element-type utf8: candidates not PATCHed yet */
  gboolean trickle_end;         /* the end of candidates is to be PATCHed */
  gboolean patching;            /* a PATCH is under way */
  guint patches;                /* PATCHes the ingest took, this session */
  gboolean up;
  guint sink_handle;
  guint connect_timeout_id;
  CgUplinkRun run;

  /* sending: the queue is counted in video packets taken by the pipeline */
  CgSendState send;
  CgRtpRewriter rewriters[CG_STREAM_N];
  GByteArray *scratch;
};

static void session_start (CgWhipUplink *uplink);
static void session_create (CgWhipUplink *uplink);

/* ---- sending ------------------------------------------------------------------- */

static void
on_hub_frame (CgFrame *frame, gpointer data)
{
  CgWhipUplink *uplink = data;
  CgRtpRewriter *rw = &uplink->rewriters[frame->kind];
  gboolean was_dropping = uplink->send.dropping;

  if (!uplink->up || !uplink->sending[frame->kind] ||
      !cg_send_state_accept (&uplink->send, uplink->format, frame))
    return;
  if (cg_send_state_should_drop (&uplink->send, cg_whip_session_taken (uplink->session), frame)) {
    if (frame->kind == CG_STREAM_VIDEO)
      uplink->run.frames_dropped++;
    /* The drop lasts up to the camera's next keyframe, which may be a long
     * GOP away (a cached GOP of several seconds, replayed at once, starts
     * one): the camera is asked for one now, once a drop. */
    if (!was_dropping)
      cg_hub_request_keyframe (uplink->hub, FALSE);
    return;
  }
  cg_send_state_prepare (&uplink->send, rw, frame);
  g_byte_array_set_size (uplink->scratch, 0);
  cg_rtp_rewriter_write (rw, frame, uplink->scratch);
  cg_whip_session_push (uplink->session, frame->kind, uplink->scratch->data,
                        uplink->scratch->len);
  if (frame->kind == CG_STREAM_VIDEO) {
    cg_send_state_queued (&uplink->send, cg_whip_session_pushed (uplink->session),
                          frame->arrival_us);
    uplink->run.frames_out++;
  }
}

/* ---- the session ------------------------------------------------------------------ */

static void
session_stop (CgWhipUplink *uplink)
{
  if (uplink->sink_handle)
    cg_hub_remove_sink (uplink->hub, uplink->sink_handle);
  uplink->sink_handle = 0;
  uplink->up = FALSE;
  g_clear_handle_id (&uplink->connect_timeout_id, g_source_remove);
  if (uplink->resolving)
    g_cancellable_cancel (uplink->resolving);
  g_clear_object (&uplink->resolving);
  g_clear_pointer (&uplink->servers, g_ptr_array_unref);
  g_clear_pointer (&uplink->relays, g_ptr_array_unref);
  cg_whip_client_cancel (uplink->client);
  if (uplink->location)
    cg_whip_client_delete (uplink->client, uplink->location);
  g_clear_pointer (&uplink->location, g_free);
  g_clear_pointer (&uplink->offer, g_free);
  g_clear_pointer (&uplink->etag, g_free);
  g_ptr_array_set_size (uplink->to_trickle, 0);
  uplink->trickle_end = FALSE;
  uplink->patching = FALSE;
  uplink->patches = 0;
  g_clear_pointer (&uplink->session, cg_whip_session_free);
  cg_send_state_clear (&uplink->send);
}

/* Why the TURN-over-TLS proxy refused a tunnel (a certificate, a server
 * that does not answer) during this session; NULL if it did not.
 * transfer full */
static char *
proxy_refusal (CgWhipUplink *uplink)
{
  CgTurnProxyStats proxy = { 0 };
  char *reason = NULL;

  if (uplink->proxy)
    cg_turn_proxy_get_stats (uplink->proxy, &proxy);
  if (proxy.refused > uplink->proxy_refused && proxy.last_error)
    reason = g_strdup (proxy.last_error);
  cg_turn_proxy_stats_clear (&proxy);
  return reason;
}

/* A failure while the proxy refused a tunnel says so: that is the likely
 * cause. */
static void
session_fail (CgWhipUplink *uplink, const char *message)
{
  g_autofree char *refusal = proxy_refusal (uplink);
  g_autofree char *text = NULL;

  if (refusal)
    text = g_strdup_printf ("%s; TURN over TLS: %s", message, refusal);
  session_stop (uplink);
  cg_uplink_run_failed (&uplink->run, text ? text : message);
}

/* The session found no path, or lost it (ICE failed): with the policy
 * "all" and a TURN server in the session that the proxy did not refuse,
 * relay only from now on, at once (see the top); otherwise an ordinary
 * failure. */
static void
session_no_path (CgWhipUplink *uplink, const char *message)
{
  g_autofree char *refusal = proxy_refusal (uplink);
  g_autofree char *text = NULL;
  gboolean turn = FALSE;

  for (guint i = 0; uplink->servers && i < uplink->servers->len && !turn; i++)
    turn = ((CgIceServer *) g_ptr_array_index (uplink->servers, i))->scheme != CG_ICE_STUN;
  if (uplink->relay_only || !turn || refusal) {
    session_fail (uplink, message);
    return;
  }
  uplink->relay_only = TRUE;
  text = g_strdup_printf ("%s; no direct or relayed-UDP path: retrying through TURN only "
                          "(ice_transport_policy = relay from now on)", message);
  session_stop (uplink);
  cg_uplink_run_retry_now (&uplink->run, text);
}

static gboolean
on_connect_timeout (gpointer data)
{
  CgWhipUplink *uplink = data;
  g_autofree char *message = NULL;

  uplink->connect_timeout_id = 0;
  message = g_strdup_printf ("no WebRTC connection to the ingest within %d s (ICE %s): are "
                             "UDP, or the TURN servers, reachable from here?",
                             DEFAULT_CONNECT_TIMEOUT_S,
                             cg_whip_session_ice_state (uplink->session));
  session_no_path (uplink, message);
  return G_SOURCE_REMOVE;
}

/* ---- trickle ICE ------------------------------------------------------------------ */

static void trickle_next (CgWhipUplink *uplink);

static void
on_patched (CgWhipTrickle result, const char *etag, const GError *error, gpointer data)
{
  CgWhipUplink *uplink = data;

  uplink->patching = FALSE;
  if (result == CG_WHIP_TRICKLE_TAKEN) {
    uplink->patches++;
    if (etag) {
      g_free (uplink->etag);
      uplink->etag = g_strdup (etag);
    }
    trickle_next (uplink);
  } else if (result == CG_WHIP_TRICKLE_UNSUPPORTED) {
    g_message ("[%s] %s", uplink->camera_id, error->message);
    uplink->no_trickle = TRUE;
    g_ptr_array_set_size (uplink->to_trickle, 0);
    uplink->trickle_end = FALSE;
    if (!uplink->up) {
      /* not a failure of the session: no backoff */
      session_stop (uplink);
      session_start (uplink);
    }                           /* up: it works on what was offered */
  } else {
    session_fail (uplink, error->message);
  }
}

/* PATCHes what was gathered since the last PATCH, once the session exists
 * at the ingest and the last PATCH was answered. */
static void
trickle_next (CgWhipUplink *uplink)
{
  g_autofree char *frag = NULL;

  if (!uplink->location || uplink->patching || uplink->no_trickle ||
      (!uplink->to_trickle->len && !uplink->trickle_end))
    return;
  frag = cg_whip_sdpfrag (uplink->offer, uplink->to_trickle, uplink->trickle_end);
  if (!frag) {
    session_fail (uplink, "webrtcbin's offer has no ICE credentials or mid: no candidate can "
                  "be trickled (camgate run -v logs the offer)");
    return;
  }
  g_debug ("[%s] WHIP PATCH:\n%s", uplink->camera_id, frag);
  g_ptr_array_set_size (uplink->to_trickle, 0);
  uplink->trickle_end = FALSE;
  uplink->patching = TRUE;
  cg_whip_client_patch (uplink->client, uplink->location, uplink->etag, frag, on_patched, uplink);
}

static void
on_candidates (GPtrArray *candidates, gboolean complete, gpointer data)
{
  CgWhipUplink *uplink = data;

  for (guint i = 0; i < candidates->len; i++)
    g_ptr_array_add (uplink->to_trickle, g_strdup (g_ptr_array_index (candidates, i)));
  uplink->trickle_end |= complete;
  trickle_next (uplink);
}

/* Keeps the ingest's ICE servers for the next session. */
static void
take_link_servers (CgWhipUplink *uplink, CgWhipAnswer *answer)
{
  if (answer->skipped)
    g_warning ("[%s] the ingest's answer names ICE servers camgate cannot use: %s",
               uplink->camera_id, answer->skipped);
  if (answer->ice_servers->len)
    g_info ("[%s] the ingest names %u ICE server(s): used from the next session on",
            uplink->camera_id, answer->ice_servers->len);
  g_ptr_array_unref (uplink->link_servers);
  uplink->link_servers = g_ptr_array_ref (answer->ice_servers);
}

static void
on_answer (CgWhipAnswer *answer, const GError *error, gpointer data)
{
  CgWhipUplink *uplink = data;

  if (!answer) {
    session_fail (uplink, error->message);
    return;
  }
  uplink->location = g_strdup (answer->location);
  uplink->etag = g_strdup (answer->etag);
  g_info ("[%s] the ingest created the session %s", uplink->camera_id, answer->location);
  take_link_servers (uplink, answer);
  cg_whip_session_set_answer (uplink->session, answer->sdp);
  cg_whip_answer_free (answer);
  trickle_next (uplink);
}

static void
on_offer (const char *sdp, gpointer data)
{
  CgWhipUplink *uplink = data;

  if (!uplink->no_trickle)
    uplink->offer = g_strdup (sdp);
  cg_whip_client_post (uplink->client, sdp, on_answer, uplink);
}

static void
on_connected (gpointer data)
{
  CgWhipUplink *uplink = data;

  g_clear_handle_id (&uplink->connect_timeout_id, g_source_remove);
  uplink->up = TRUE;
  cg_uplink_run_up (&uplink->run);
  if (uplink->no_trickle)
    g_message ("[%s] uplink up: WHIP session %s (every candidate in the offer: the endpoint "
               "does not trickle)", uplink->camera_id, uplink->location);
  else
    g_message ("[%s] uplink up: WHIP session %s (trickle ICE: %u PATCH(es) taken so far)",
               uplink->camera_id, uplink->location, uplink->patches);
  for (int i = 0; i < CG_STREAM_N; i++) {
    const CgStreamDesc *desc = uplink->format->streams[i];
    /* a transcoded stream keeps its arrival payload type into the transcoder */
    cg_rtp_rewriter_init (&uplink->rewriters[i], 0, desc ? cg_whip_payload_type (desc) : 0,
                          cg_whip_session_ssrc (uplink->session, i), desc ? desc->clock_rate : 0);
  }
  cg_send_state_reset (&uplink->send);
  /* The hub replays its GOP cache first: the session starts on a keyframe. */
  uplink->sink_handle = cg_hub_add_sink (uplink->hub, on_hub_frame, uplink);
}

static void
on_session_failed (const char *message, gpointer data)
{
  CgWhipUplink *uplink = data;

  if (cg_whip_session_ice_failed (uplink->session))
    session_no_path (uplink, message);
  else
    session_fail (uplink, message);
}

/* The ingest lost the picture: the camera is asked (the source rate-limits). */
static void
on_keyframe (gboolean full, gpointer data)
{
  CgWhipUplink *uplink = data;

  g_debug ("[%s] the ingest asks for a keyframe (%s)", uplink->camera_id, full ? "FIR" : "PLI");
  cg_hub_request_keyframe (uplink->hub, full);
}

/* Against an endpoint that does not trickle, a session goes without
 * .candidates (session_create). */
static const CgWhipSessionFuncs session_funcs = {
  .offer = on_offer,
  .candidates = on_candidates,
  .connected = on_connected,
  .failed = on_session_failed,
  .keyframe = on_keyframe,
};

static gboolean
is_turn_tcp (const CgIceServer *server)
{
  return server->scheme == CG_ICE_TURN && g_strcmp0 (server->transport, "tcp") == 0;
}

/* Whether @servers hold a turns: server, and a plain TURN/TCP one. */
static void
tcp_kinds (GPtrArray *servers, gboolean *tls, gboolean *plain)
{
  for (guint i = 0; i < servers->len; i++) {
    const CgIceServer *s = g_ptr_array_index (servers, i);
    *tls |= s->scheme == CG_ICE_TURNS;
    *plain |= is_turn_tcp (s);
  }
}

/* ice_servers, then the ingest's own that are not among them. libnice sends
 * all TURN/TCP of a session through one proxy, which speaks TLS only, so a
 * session has turns: servers or plain TURN/TCP ones, not both: the kind
 * ice_servers has wins (the configuration refuses the mix), else turns:.
 * transfer container */
static GPtrArray *
merged_servers (CgWhipUplink *uplink)
{
  GPtrArray *all = g_ptr_array_new ();
  gboolean tls = FALSE, plain = FALSE, configured;

  tcp_kinds (uplink->config_servers, &tls, &plain);
  configured = tls || plain;
  if (!configured)
    tcp_kinds (uplink->link_servers, &tls, &plain);
  for (guint i = 0; i < uplink->config_servers->len; i++)
    g_ptr_array_add (all, g_ptr_array_index (uplink->config_servers, i));
  for (guint i = 0; i < uplink->link_servers->len; i++) {
    CgIceServer *s = g_ptr_array_index (uplink->link_servers, i);
    gboolean known = FALSE;
    for (guint j = 0; j < all->len && !known; j++)
      known = cg_ice_server_equal (s, g_ptr_array_index (all, j));
    if (known)
      continue;
    if ((tls && is_turn_tcp (s)) || (!tls && s->scheme == CG_ICE_TURNS)) {
      g_autofree char *shown = cg_ice_server_describe (s);
      g_warning ("[%s] the ingest's %s left out: a session's TURN over TCP is either all TLS "
                 "or all plain, and %s has the other kind", uplink->camera_id, shown,
                 configured ? "ice_servers" : "the ingest's list");
      continue;
    }
    g_ptr_array_add (all, s);
  }
  return all;
}

/* ---- TURN over TLS ----------------------------------------------------------------- */

static gboolean resolve_next (CgWhipUplink *uplink);

static void
on_resolved (GObject *object, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;
  GList *addresses = g_resolver_lookup_by_name_with_flags_finish (G_RESOLVER (object), result,
                                                                  &error);
  CgWhipUplink *uplink = data;  /* gone if cancelled */
  CgIceServer *server, *relay;
  g_autofree char *address = NULL, *message = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  server = g_ptr_array_index (uplink->servers, uplink->resolve_at);
  if (!addresses) {
    message = g_strdup_printf ("cannot resolve the TURN server %s to an IPv4 address: %s "
                               "(check ice_servers and this host's DNS; TURN over TLS goes "
                               "over IPv4)", server->host, error->message);
    session_fail (uplink, message);
    return;
  }
  address = g_inet_address_to_string (addresses->data);
  g_resolver_free_addresses (addresses);
  cg_turn_proxy_allow (uplink->proxy, address, server->port, server->host);
  relay = g_new0 (CgIceServer, 1);
  relay->scheme = CG_ICE_TURN;
  relay->host = g_steal_pointer (&address);
  relay->port = server->port;
  relay->transport = g_strdup ("tcp");
  relay->username = g_strdup (server->username);
  relay->credential = g_strdup (server->credential);
  g_ptr_array_add (uplink->relays, relay);
  uplink->servers->pdata[uplink->resolve_at++] = relay;
  if (resolve_next (uplink))
    session_create (uplink);
}

/* Resolves the next turns: server of uplink->servers. TRUE when none is
 * left to resolve. */
static gboolean
resolve_next (CgWhipUplink *uplink)
{
  while (uplink->resolve_at < uplink->servers->len) {
    CgIceServer *server = g_ptr_array_index (uplink->servers, uplink->resolve_at);

    if (server->scheme == CG_ICE_TURNS) {
      g_autoptr (GResolver) resolver = g_resolver_get_default ();
      /* IPv4: libnice writes an IPv6 CONNECT target without brackets, and
       * the proxy listens on 127.0.0.1 */
      g_resolver_lookup_by_name_with_flags_async (resolver, server->host,
                                                  G_RESOLVER_NAME_LOOKUP_FLAGS_IPV4_ONLY,
                                                  uplink->resolving, on_resolved, uplink);
      return FALSE;
    }
    uplink->resolve_at++;
  }
  return TRUE;
}

/* FALSE after failing the session when the proxy cannot start. */
static gboolean
prepare_tls_servers (CgWhipUplink *uplink)
{
  g_autoptr (GError) error = NULL;
  CgTurnProxyStats proxy = { 0 };
  gboolean any = FALSE;

  for (guint i = 0; i < uplink->servers->len && !any; i++)
    any = ((CgIceServer *) g_ptr_array_index (uplink->servers, i))->scheme == CG_ICE_TURNS;
  if (!any)
    return TRUE;
  if (!uplink->proxy && !(uplink->proxy = cg_turn_proxy_new (uplink->ca_file, &error))) {
    session_fail (uplink, error->message);
    return FALSE;
  }
  cg_turn_proxy_get_stats (uplink->proxy, &proxy);
  uplink->proxy_refused = proxy.refused;
  cg_turn_proxy_stats_clear (&proxy);
  uplink->relays = g_ptr_array_new_with_free_func ((GDestroyNotify) cg_ice_server_free);
  uplink->resolving = g_cancellable_new ();
  return TRUE;
}

/* ---- starting a session ------------------------------------------------------------ */

static void
session_start (CgWhipUplink *uplink)
{
  g_autoptr (GError) error = NULL;
  CgWhipAudio audio;

  cg_uplink_run_connecting (&uplink->run);
  if (!cg_whip_plan (uplink->format, uplink->aac_to_opus, &audio, &error)) {
    /* nothing to retry until the camera's format changes */
    cg_uplink_run_stuck (&uplink->run, error->message);
    return;
  }
  uplink->sending[CG_STREAM_VIDEO] = TRUE;
  uplink->sending[CG_STREAM_AUDIO] = audio == CG_WHIP_AUDIO_FORWARD ||
                                     audio == CG_WHIP_AUDIO_TO_OPUS;
  if (audio == CG_WHIP_AUDIO_DROP)
    g_info ("[%s] the camera's AAC audio is not sent ([uplink] aac = drop)", uplink->camera_id);
  uplink->audio = audio;
  uplink->servers = merged_servers (uplink);
  uplink->resolve_at = 0;
  if (prepare_tls_servers (uplink) && resolve_next (uplink))
    session_create (uplink);
}

/* The addresses the session's ICE gathers on; NULL when none is left
 * outside camera_interface, or they cannot be listed: then libnice gathers
 * on every address rather than offer none, and the log says why (once,
 * until a session has addresses again). transfer full */
static GPtrArray *
local_addresses (CgWhipUplink *uplink)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) addresses = NULL;
  g_autofree char *interfaces = NULL;

  if (!uplink->camera_interfaces[0])
    return NULL;
  addresses = cg_ice_local_addresses ((const char *const *) uplink->camera_interfaces, &error);
  if (addresses && addresses->len) {
    uplink->gather_anywhere = FALSE;
    return g_steal_pointer (&addresses);
  }
  if (uplink->gather_anywhere)
    return NULL;
  uplink->gather_anywhere = TRUE;
  interfaces = g_strjoinv (", ", uplink->camera_interfaces);
  g_warning ("[%s] ICE gathers on every address of this host, camera_interface's (%s) "
             "included: %s", uplink->camera_id, interfaces,
             error ? error->message : "it has none outside camera_interface and loopback");
  return NULL;
}

static void
session_create (CgWhipUplink *uplink)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) addresses = local_addresses (uplink);
  CgWhipSessionFuncs funcs = session_funcs;   /* the session keeps a copy */

  if (uplink->no_trickle)
    funcs.candidates = NULL;
  g_info ("[%s] uplink: offering a WHIP session (%u ICE server(s), %s)", uplink->camera_id,
          uplink->servers->len,
          uplink->no_trickle ? "every candidate in the offer" : "trickle ICE");
  uplink->session = cg_whip_session_new (uplink->camera_id, uplink->format, uplink->audio,
                                         uplink->servers, uplink->relay_only,
                                         uplink->relays ? cg_turn_proxy_get_uri (uplink->proxy)
                                                        : NULL, addresses,
                                         &funcs, uplink, &error);
  if (!uplink->session) {
    session_fail (uplink, error->message);
    return;
  }
  uplink->connect_timeout_id = g_timeout_add_seconds (DEFAULT_CONNECT_TIMEOUT_S,
                                                      on_connect_timeout, uplink);
}

/* ---- the uplink -------------------------------------------------------------------- */

CgWhipUplink *
cg_whip_uplink_new (const char *camera_id, const CgUplinkConfig *config, CgHub *hub,
                    GError **error)
{
  g_autofree char *url = cg_url_expand (config->url, camera_id, error);
  g_autoptr (GTlsDatabase) database = NULL;
  g_autoptr (GPtrArray) servers =
      g_ptr_array_new_with_free_func ((GDestroyNotify) cg_ice_server_free);
  CgWhipUplink *uplink;

  if (!url || !gst_init_check (NULL, NULL, error))
    return NULL;
  if (config->ca_file && !(database = g_tls_file_database_new (config->ca_file, error)))
    return NULL;
  for (guint i = 0; config->ice_servers[i]; i++) {
    CgIceServer *server = cg_ice_server_parse (config->ice_servers[i], NULL, NULL, error);
    if (!server) {
      g_prefix_error (error, "ice_servers: entry %u ", i + 1);
      return NULL;
    }
    g_ptr_array_add (servers, server);
  }

  uplink = g_new0 (CgWhipUplink, 1);
  uplink->camera_id = g_strdup (camera_id);
  uplink->hub = hub;
  uplink->url = g_steal_pointer (&url);
  uplink->relay_only = config->ice_relay_only;
  uplink->aac_to_opus = config->aac_to_opus;
  uplink->config_servers = g_steal_pointer (&servers);
  uplink->link_servers = g_ptr_array_new ();
  uplink->to_trickle = g_ptr_array_new_with_free_func (g_free);
  uplink->ca_file = g_strdup (config->ca_file);
  uplink->camera_interfaces = g_strdupv (config->camera_interfaces);
  uplink->client = cg_whip_client_new (uplink->url, config->token, database, config->ca_file,
                                       DEFAULT_HTTP_TIMEOUT_S);
  uplink->scratch = g_byte_array_new ();
  cg_send_state_init (&uplink->send, uplink->camera_id);
  cg_uplink_run_init (&uplink->run, uplink->camera_id, (CgUplinkRetryFunc) session_start,
                      uplink);
  return uplink;
}

void
cg_whip_uplink_start (CgWhipUplink *uplink, CgFormat *format)
{
  session_stop (uplink);
  g_clear_pointer (&uplink->format, cg_format_unref);
  uplink->format = cg_format_ref (format);
  session_start (uplink);
}

CgFormat *
cg_whip_uplink_get_format (CgWhipUplink *uplink)
{
  return uplink->format;
}

void
cg_whip_uplink_free (CgWhipUplink *uplink)
{
  if (!uplink)
    return;
  session_stop (uplink);
  cg_uplink_run_clear (&uplink->run);
  g_clear_pointer (&uplink->format, cg_format_unref);
  cg_whip_client_free (uplink->client);
  cg_turn_proxy_free (uplink->proxy);
  g_free (uplink->ca_file);
  g_strfreev (uplink->camera_interfaces);
  g_ptr_array_unref (uplink->config_servers);
  g_ptr_array_unref (uplink->link_servers);
  g_ptr_array_unref (uplink->to_trickle);
  g_byte_array_unref (uplink->scratch);
  g_free (uplink->url);
  g_free (uplink->camera_id);
  g_free (uplink);
}

void
cg_whip_uplink_get_stats (CgWhipUplink *uplink, CgUplinkStats *stats)
{
  CgUplinkPath *path = &stats->path;

  cg_uplink_run_get_stats (&uplink->run, stats);
  if (!uplink->up)
    return;
  cg_whip_session_get_path (uplink->session, path);
  /* webrtcbin sees TCP; with the proxy in the session all TURN/TCP is TLS */
  if (uplink->relays && g_strcmp0 (path->local, "relay") == 0 &&
      g_strcmp0 (path->transport, "tcp") == 0) {
    g_free (path->transport);
    path->transport = g_strdup ("tls");
  }
}
