/* RTSPS uplink of one camera (see uplink.h).
 *
 * A session: ANNOUNCE with the camera's streams (media.h), a SETUP per stream
 * (interleaved, mode=record), RECORD; then every frame from the hub is
 * copied once with rewritten RTP headers (rtp.h) and written in one go on
 * the TLS connection, with a sender report per stream every 5 s. All on the
 * main loop: the hub calls on_hub_frame() from the source's read, so a frame
 * goes from the camera's socket to the ingest's without a thread hop. */
#define G_LOG_DOMAIN "camgate-uplink"

#include "uplink.h"

#include <string.h>

#include "error.h"
#include "rtspclient.h"
#include "sendstate.h"
#include "uplinkrun.h"

#define DEFAULT_CONNECT_TIMEOUT_S 20
#define SR_INTERVAL_US (5 * G_USEC_PER_SEC)

struct _CgUplink {
  char *camera_id;
  CgHub *hub;
  char *ca_file;                /* NULL: system store */
  char *username;               /* NULL: no RTSP auth toward the ingest */
  char *password;
  char *url;                    /* expanded */
  char *safe_url;               /* for logs */
  char *peer;                   /* "the ingest at HOST:PORT", for messages */
  GTlsDatabase *tls_database;   /* NULL: system store */

  CgFormat *format;
  CgRtspClient *client;
  CgStreamKind setting_up;
  guint8 pts[CG_STREAM_N];
  guint8 channels[CG_STREAM_N][2];
  CgRtpRewriter rewriters[CG_STREAM_N];
  gboolean recording;
  guint sink_handle;
  guint connect_timeout_id;
  guint fail_id;                /* a failure seen inside a hub callback, handled next */
  char *fail_message;
  CgUplinkRun run;

  /* sending: the queue is counted in bytes written to the connection */
  CgSendState send;
  GByteArray *scratch;
  gint64 last_sr_us;
};

static void session_start (CgUplink *uplink);
static void session_fail (CgUplink *uplink, const char *message);

const char *
cg_uplink_state_to_string (CgUplinkState state)
{
  switch (state) {
  case CG_UPLINK_CONNECTING: return "connecting";
  case CG_UPLINK_UP: return "up";
  case CG_UPLINK_DOWN: return "down";
  }
  return "unknown";
}

/* ---- sending ---------------------------------------------------------------- */

/* Sender reports for every stream, every SR_INTERVAL_US, the first one
 * SR_INTERVAL_US after every stream has sent media: a GStreamer 1.22 ingest
 * (gst-rtsp-server's rtpbin and rtpulpfecdec) aborts on a report that syncs a
 * stream whose first packets it has not yet passed on. They carry the
 * camera's own wall clock when the camera reports it for every stream (so
 * the ingest keeps its lip sync), else the frames' arrival. */
static void
add_sender_reports (CgUplink *uplink, gint64 now_us)
{
  gint64 real_now = g_get_real_time (), mono_now = g_get_monotonic_time ();
  gboolean camera_clock = TRUE;

  for (int i = 0; i < CG_STREAM_N; i++) {
    if (!uplink->format->streams[i])
      continue;
    if (!uplink->rewriters[i].started) {
      uplink->last_sr_us = now_us;
      return;
    }
    camera_clock &= uplink->rewriters[i].last_ntp_us != 0;
  }
  if (now_us - uplink->last_sr_us < SR_INTERVAL_US)
    return;
  uplink->last_sr_us = now_us;
  for (int i = 0; i < CG_STREAM_N; i++) {
    const CgRtpRewriter *rw = &uplink->rewriters[i];
    if (!uplink->format->streams[i])
      continue;
    cg_rtcp_write_sr (uplink->scratch, uplink->channels[i][1], rw,
                      camera_clock ? rw->last_ntp_us
                                   : real_now - (mono_now - rw->last_arrival_us),
                      rw->last_ts, "camgate");
  }
}

static gboolean
on_deferred_fail (gpointer data)
{
  CgUplink *uplink = data;
  g_autofree char *message = g_steal_pointer (&uplink->fail_message);

  uplink->fail_id = 0;
  session_fail (uplink, message);
  return G_SOURCE_REMOVE;
}

/* Called inside the hub (its lock held): the failure is handled next. */
static void
fail_later (CgUplink *uplink, const char *message)
{
  if (uplink->fail_id)
    return;
  uplink->fail_message = g_strdup (message);
  uplink->fail_id = g_idle_add (on_deferred_fail, uplink);
}

static void
on_hub_frame (CgFrame *frame, gpointer data)
{
  CgUplink *uplink = data;
  CgRtspConn *conn = uplink->client ? cg_rtsp_client_get_conn (uplink->client) : NULL;
  CgRtpRewriter *rw = &uplink->rewriters[frame->kind];

  if (!conn || !uplink->recording || uplink->fail_id || !uplink->format->streams[frame->kind] ||
      !cg_send_state_accept (&uplink->send, uplink->format, frame))
    return;
  if (cg_send_state_should_drop (&uplink->send, cg_rtsp_conn_written (conn), frame)) {
    if (frame->kind == CG_STREAM_VIDEO)
      uplink->run.frames_dropped++;
    return;
  }
  cg_send_state_prepare (&uplink->send, rw, frame);
  g_byte_array_set_size (uplink->scratch, 0);
  cg_rtp_rewriter_write (rw, frame, uplink->scratch);
  add_sender_reports (uplink, frame->arrival_us);
  cg_rtsp_conn_send (conn, uplink->scratch->data, uplink->scratch->len);
  if (frame->kind == CG_STREAM_VIDEO || !uplink->format->streams[CG_STREAM_VIDEO]) {
    cg_send_state_queued (&uplink->send,
                          cg_rtsp_conn_written (conn) + cg_rtsp_conn_pending (conn),
                          frame->arrival_us);
    uplink->run.frames_out++;
  }
}

/* ---- the session ---------------------------------------------------------- */

static void
session_stop (CgUplink *uplink)
{
  if (uplink->sink_handle)
    cg_hub_remove_sink (uplink->hub, uplink->sink_handle);
  uplink->sink_handle = 0;
  g_clear_handle_id (&uplink->connect_timeout_id, g_source_remove);
  g_clear_handle_id (&uplink->fail_id, g_source_remove);
  g_clear_pointer (&uplink->fail_message, g_free);
  if (uplink->client)
    cg_rtsp_client_free (g_steal_pointer (&uplink->client), uplink->recording);
  uplink->recording = FALSE;
  cg_send_state_clear (&uplink->send);
}

static void
session_fail (CgUplink *uplink, const char *message)
{
  session_stop (uplink);
  cg_uplink_run_failed (&uplink->run, message);
}

static void
on_client_failed (const GError *error, gpointer data)
{
  CgUplink *uplink = data;
  g_autofree char *message = NULL;

  if (g_error_matches (error, CG_ERROR, CG_ERROR_TLS))
    message = g_strdup_printf ("%s (trusted: %s)", error->message,
                               uplink->ca_file ? uplink->ca_file : "the system store");
  /* A write inside a hub callback may be what failed: handled next. */
  fail_later (uplink, message ? message : error->message);
}

static gboolean
on_connect_timeout (gpointer data)
{
  CgUplink *uplink = data;

  uplink->connect_timeout_id = 0;
  session_fail (uplink, "the ingest did not accept the stream within 20 s");
  return G_SOURCE_REMOVE;
}

/* FALSE (and the session failed) unless @response is a success. */
static gboolean
check_response (CgUplink *uplink, const char *method, const CgRtspMessage *response)
{
  g_autoptr (GError) error = NULL;

  if (response->status / 100 == 2)
    return TRUE;
  error = cg_rtsp_client_status_error (uplink->client, method, response);
  session_fail (uplink, error->message);
  return FALSE;
}

static void
on_record (CgRtspClient *client, const CgRtspMessage *response, gpointer data)
{
  CgUplink *uplink = data;

  if (!check_response (uplink, "RECORD", response))
    return;
  g_clear_handle_id (&uplink->connect_timeout_id, g_source_remove);
  uplink->recording = TRUE;
  cg_uplink_run_up (&uplink->run);
  g_message ("[%s] uplink up: recording to %s", uplink->camera_id, uplink->safe_url);
  cg_rtsp_client_keep_alive (client, "OPTIONS", uplink->url);
  for (int i = 0; i < CG_STREAM_N; i++)
    cg_rtp_rewriter_init (&uplink->rewriters[i], uplink->channels[i][0], uplink->pts[i],
                          g_random_int (), uplink->format->streams[i]
                          ? uplink->format->streams[i]->clock_rate : 0);
  cg_send_state_reset (&uplink->send);
  /* The hub replays its GOP cache first: the session starts on a keyframe. */
  uplink->sink_handle = cg_hub_add_sink (uplink->hub, on_hub_frame, uplink);
}

static void setup_next (CgUplink *uplink);

static void
on_setup (CgRtspClient *client, const CgRtspMessage *response, gpointer data)
{
  CgUplink *uplink = data;
  const char *value = cg_rtsp_message_header (response, "Transport");
  CgRtspTransport transport;

  if (!check_response (uplink, "SETUP", response))
    return;
  if (value) {
    g_autoptr (GError) error = NULL;
    if (!cg_rtsp_transport_parse (value, &transport, &error)) {
      g_autofree char *message = g_strdup_printf ("%s %s", uplink->peer, error->message);
      session_fail (uplink, message);
      return;
    }
    if (transport.interleaved_set)
      memcpy (uplink->channels[uplink->setting_up], transport.interleaved, 2);
  }
  uplink->setting_up++;
  setup_next (uplink);
}

static void
setup_next (CgUplink *uplink)
{
  g_autofree char *control = NULL, *header = NULL;
  const char *headers[2] = { NULL, NULL };
  CgStreamKind i;

  while (uplink->setting_up < CG_STREAM_N && !uplink->format->streams[uplink->setting_up])
    uplink->setting_up++;
  if (uplink->setting_up == CG_STREAM_N) {
    const char *range[] = { "Range: npt=0.000-", NULL };
    cg_rtsp_client_request (uplink->client, "RECORD", uplink->url, range, NULL, NULL, on_record);
    return;
  }
  i = uplink->setting_up;
  uplink->channels[i][0] = 2 * i;
  uplink->channels[i][1] = 2 * i + 1;
  {
    g_autofree char *relative = g_strdup_printf ("streamid=%d", i);
    control = cg_rtsp_control_resolve (uplink->url, relative);
  }
  header = g_strdup_printf ("Transport: RTP/AVP/TCP;unicast;interleaved=%u-%u;mode=record",
                            uplink->channels[i][0], uplink->channels[i][1]);
  headers[0] = header;
  cg_rtsp_client_request (uplink->client, "SETUP", control, headers, NULL, NULL, on_setup);
}

static void
on_announce (CgRtspClient *client, const CgRtspMessage *response, gpointer data)
{
  CgUplink *uplink = data;

  if (!check_response (uplink, "ANNOUNCE", response))
    return;
  uplink->setting_up = 0;
  setup_next (uplink);
}

static void
on_connected (CgRtspClient *client, gpointer data)
{
  CgUplink *uplink = data;
  g_autofree char *local = cg_rtsp_conn_local_address (cg_rtsp_client_get_conn (client));
  g_autofree char *sdp = cg_sdp_for_ingest (uplink->format, local, uplink->pts);

  cg_rtsp_client_request (client, "ANNOUNCE", uplink->url, NULL, "application/sdp", sdp,
                          on_announce);
}

static const CgRtspClientFuncs client_funcs = {
  .failed = on_client_failed,
};

static void
session_start (CgUplink *uplink)
{
  cg_uplink_run_connecting (&uplink->run);
  g_info ("[%s] uplink connecting to %s", uplink->camera_id, uplink->safe_url);
  uplink->client = cg_rtsp_client_new (uplink->url, uplink->peer, uplink->username,
                                       uplink->password, uplink->tls_database, &client_funcs,
                                       uplink);
  uplink->connect_timeout_id = g_timeout_add_seconds (DEFAULT_CONNECT_TIMEOUT_S,
                                                      on_connect_timeout, uplink);
  cg_rtsp_client_connect (uplink->client, DEFAULT_CONNECT_TIMEOUT_S, on_connected);
}

CgUplink *
cg_uplink_new (const char *camera_id, const CgUplinkConfig *config, CgHub *hub,
               GError **error)
{
  g_autofree char *url = cg_url_expand (config->url, camera_id, error);
  g_autoptr (GTlsDatabase) database = NULL;
  CgUplink *uplink;

  if (!url)
    return NULL;
  if (config->ca_file && !(database = g_tls_file_database_new (config->ca_file, error)))
    return NULL;

  uplink = g_new0 (CgUplink, 1);
  uplink->camera_id = g_strdup (camera_id);
  uplink->ca_file = g_strdup (config->ca_file);
  uplink->username = g_strdup (config->username);
  uplink->password = g_strdup (config->password);
  uplink->hub = hub;
  uplink->url = g_steal_pointer (&url);
  uplink->safe_url = cg_url_redact (uplink->url);
  uplink->peer = cg_peer_name ("the ingest", uplink->url);
  uplink->tls_database = g_steal_pointer (&database);
  uplink->scratch = g_byte_array_new ();
  cg_send_state_init (&uplink->send, uplink->camera_id);
  cg_uplink_run_init (&uplink->run, uplink->camera_id, (CgUplinkRetryFunc) session_start,
                      uplink);
  return uplink;
}

void
cg_uplink_start (CgUplink *uplink, CgFormat *format)
{
  session_stop (uplink);
  g_clear_pointer (&uplink->format, cg_format_unref);
  uplink->format = cg_format_ref (format);
  session_start (uplink);
}

CgFormat *
cg_uplink_get_format (CgUplink *uplink)
{
  return uplink->format;
}

void
cg_uplink_free (CgUplink *uplink)
{
  if (!uplink)
    return;
  session_stop (uplink);
  cg_uplink_run_clear (&uplink->run);
  g_clear_pointer (&uplink->format, cg_format_unref);
  g_clear_object (&uplink->tls_database);
  g_byte_array_unref (uplink->scratch);
  g_free (uplink->safe_url);
  g_free (uplink->peer);
  g_free (uplink->url);
  g_free (uplink->camera_id);
  g_free (uplink->ca_file);
  g_free (uplink->username);
  g_free (uplink->password);
  g_free (uplink);
}

void
cg_uplink_path_clear (CgUplinkPath *path)
{
  g_clear_pointer (&path->local, g_free);
  g_clear_pointer (&path->transport, g_free);
  g_clear_pointer (&path->local_address, g_free);
  g_clear_pointer (&path->remote_address, g_free);
}

void
cg_uplink_path_copy (const CgUplinkPath *from, CgUplinkPath *to)
{
  to->local = g_strdup (from->local);
  to->transport = g_strdup (from->transport);
  to->local_address = g_strdup (from->local_address);
  to->remote_address = g_strdup (from->remote_address);
}

void
cg_uplink_stats_clear (CgUplinkStats *stats)
{
  g_clear_pointer (&stats->last_error, g_free);
  cg_uplink_path_clear (&stats->path);
}

void
cg_uplink_get_stats (CgUplink *uplink, CgUplinkStats *stats)
{
  cg_uplink_run_get_stats (&uplink->run, stats);
}
