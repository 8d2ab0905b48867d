/* WHIP uplink of one camera (see whipuplink.h).
 *
 * A session: a CgWhipSession makes the offer, the CgWhipClient POSTs it,
 * the answer goes back to the session; once ICE and DTLS are up the hub's
 * frames flow, rewritten (rtp.h: SSRC, numbering, payload type) into the
 * session's appsrcs. Any failure ends the session (DELETE when it had been
 * created at the ingest) and a fresh one follows after a backoff delay.
 * STUN/TURN servers named by the ingest's Link headers come with its
 * answer, after this session's candidates were gathered: they are used
 * from the next session on, merged with ice_servers. */
#define G_LOG_DOMAIN "camgate-uplink"

#include "whipuplink.h"

#include <gst/gst.h>

#include "iceserver.h"
#include "sendstate.h"
#include "uplinkrun.h"
#include "whip.h"
#include "whipsession.h"

#define DEFAULT_HTTP_TIMEOUT_S 15
#define DEFAULT_CONNECT_TIMEOUT_S 40

struct _CgWhipUplink {
  char *camera_id;
  CgHub *hub;
  char *url;                    /* expanded */
  gboolean relay_only;
  gboolean aac_to_opus;
  GPtrArray *config_servers;    /* element-type CgIceServer: ice_servers */
  GPtrArray *link_servers;      /* element-type CgIceServer: from the last answer */
  CgWhipClient *client;

  CgFormat *format;
  gboolean sending[CG_STREAM_N];  /* the streams this session sends */
  CgWhipSession *session;
  char *location;               /* the session at the ingest, once created */
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
  cg_whip_client_cancel (uplink->client);
  if (uplink->location)
    cg_whip_client_delete (uplink->client, uplink->location);
  g_clear_pointer (&uplink->location, g_free);
  g_clear_pointer (&uplink->session, cg_whip_session_free);
  cg_send_state_clear (&uplink->send);
}

static void
session_fail (CgWhipUplink *uplink, const char *message)
{
  session_stop (uplink);
  cg_uplink_run_failed (&uplink->run, message);
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
  session_fail (uplink, message);
  return G_SOURCE_REMOVE;
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
  g_info ("[%s] the ingest created the session %s", uplink->camera_id, answer->location);
  take_link_servers (uplink, answer);
  cg_whip_session_set_answer (uplink->session, answer->sdp);
  cg_whip_answer_free (answer);
}

static void
on_offer (const char *sdp, gpointer data)
{
  CgWhipUplink *uplink = data;

  cg_whip_client_post (uplink->client, sdp, on_answer, uplink);
}

static void
on_connected (gpointer data)
{
  CgWhipUplink *uplink = data;

  g_clear_handle_id (&uplink->connect_timeout_id, g_source_remove);
  uplink->up = TRUE;
  cg_uplink_run_up (&uplink->run);
  g_message ("[%s] uplink up: WHIP session %s", uplink->camera_id, uplink->location);
  for (int i = 0; i < CG_STREAM_N; i++) {
    const CgStreamDesc *desc = uplink->format->streams[i];
    /* a transcoded stream keeps its arrival payload type into the transcoder */
    cg_rtp_rewriter_init (&uplink->rewriters[i], 0, desc ? cg_whip_payload_type (desc) : 0,
                          cg_whip_session_ssrc (uplink->session, i),
                          desc ? desc->clock_rate : 0);
  }
  cg_send_state_reset (&uplink->send);
  /* The hub replays its GOP cache first: the session starts on a keyframe. */
  uplink->sink_handle = cg_hub_add_sink (uplink->hub, on_hub_frame, uplink);
}

static void
on_session_failed (const char *message, gpointer data)
{
  session_fail (data, message);
}

/* The ingest lost the picture: the camera is asked (the source rate-limits). */
static void
on_keyframe (gboolean full, gpointer data)
{
  CgWhipUplink *uplink = data;

  g_debug ("[%s] the ingest asks for a keyframe (%s)", uplink->camera_id, full ? "FIR" : "PLI");
  cg_hub_request_keyframe (uplink->hub, full);
}

static const CgWhipSessionFuncs session_funcs = {
  .offer = on_offer,
  .connected = on_connected,
  .failed = on_session_failed,
  .keyframe = on_keyframe,
};

/* ice_servers, then the ingest's own that are not among them. transfer container */
static GPtrArray *
merged_servers (CgWhipUplink *uplink)
{
  GPtrArray *all = g_ptr_array_new ();

  for (guint i = 0; i < uplink->config_servers->len; i++)
    g_ptr_array_add (all, g_ptr_array_index (uplink->config_servers, i));
  for (guint i = 0; i < uplink->link_servers->len; i++) {
    CgIceServer *s = g_ptr_array_index (uplink->link_servers, i);
    gboolean known = FALSE;
    for (guint j = 0; j < all->len && !known; j++)
      known = cg_ice_server_equal (s, g_ptr_array_index (all, j));
    if (!known)
      g_ptr_array_add (all, s);
  }
  return all;
}

static void
session_start (CgWhipUplink *uplink)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) servers = NULL;
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
  servers = merged_servers (uplink);
  g_info ("[%s] uplink: offering a WHIP session (%u ICE server(s))", uplink->camera_id,
          servers->len);
  uplink->session = cg_whip_session_new (uplink->camera_id, uplink->format, audio, servers,
                                         uplink->relay_only, &session_funcs, uplink, &error);
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
  g_ptr_array_unref (uplink->config_servers);
  g_ptr_array_unref (uplink->link_servers);
  g_byte_array_unref (uplink->scratch);
  g_free (uplink->url);
  g_free (uplink->camera_id);
  g_free (uplink);
}

void
cg_whip_uplink_get_stats (CgWhipUplink *uplink, CgUplinkStats *stats)
{
  cg_uplink_run_get_stats (&uplink->run, stats);
}
