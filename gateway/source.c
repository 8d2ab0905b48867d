/* RTSP source of one camera (see source.h).
 *
 * Each connection attempt is one "epoch": OPTIONS, DESCRIBE, a SETUP per
 * relayed stream (interleaved on the RTSP connection, or UDP), PLAY. The
 * camera's RTP packets are grouped into frames (rtp.h) and pushed into the
 * hub as they are: nothing is depayloaded, parsed or decoded. Over UDP, only
 * packets from the camera's address are taken. Everything runs on the main
 * loop; a failure drops the session and tries again after a backoff delay. */
#define G_LOG_DOMAIN "camgate-source"

#include "source.h"

#include <string.h>
#include <sys/socket.h>

#include "backoff.h"
#include "error.h"
#include "rtspclient.h"
#include "watchdog.h"

#define DEFAULT_CONNECT_TIMEOUT_S 10
#define RATE_WINDOW 5           /* seconds the fps and kbit/s figures cover */
#define RTCP_INTERVAL_S 5
#define UDP_PORT_TRIES 16
#define UDP_MAX_PACKET 65536
#define UDP_PACKETS_PER_WAKEUP 256
#define UDP_RECEIVE_BUFFER (512 * 1024)   /* a keyframe's burst, as rtspsrc asks */
#define LATE_WINDOW 3000                  /* a packet this far behind is late, not a restart */

typedef struct {
  gint64 time_us;
  guint64 frames, bytes;
} RateSample;

typedef struct {
  CgSource *source;
  CgStreamDesc *desc;           /* NULL: not set up */
  CgRtpAssembler assembler;
  guint8 channels[2];           /* interleaved RTP and RTCP */
  GSocket *udp[2];              /* UDP: RTP and RTCP sockets */
  GSource *udp_sources[2];
  GSocketAddress *camera_rtcp;  /* UDP: where receiver reports go */
  guint32 camera_ssrc;
  guint16 max_seq;
  guint32 seq_cycles;
  gboolean seq_seen;
  CgRtcpSenderInfo sr;          /* the camera's last sender report */
  gboolean sr_seen;
  GBytes *sps;                  /* the last SPS seen: parsed only when it changes */
} Track;

struct _CgSource {
  const CgCameraConfig *config;
  CgHub *hub;
  const CgClock *clock;
  char *safe_url;               /* for logs: no credentials */
  char *peer;                   /* "the camera at HOST:PORT", for messages */

  CgRtspClient *client;
  char *control;                /* the aggregate control URL (PLAY, TEARDOWN) */
  gboolean get_parameter;       /* the camera lists GET_PARAMETER: keep-alive with it */
  Track tracks[CG_STREAM_N];
  CgStreamKind setting_up;
  gboolean playing;
  guint rtcp_id;
  guint32 our_ssrc;
  gint64 keyframe_requested_us; /* the last request's time; 0: none yet */
  guint8 fir_seq;               /* RFC 5104: one more for each new FIR */
  guint64 keyframe_requests;
  GInetAddress *camera_address; /* the RTSP peer: UDP packets from elsewhere are dropped */

  guint retry_id;
  guint tick_id;
  CgBackoff backoff;
  CgSourceState state;
  guint reconnects;
  char *last_error;
  RateSample rates[RATE_WINDOW + 1];
  guint rate_count;

  guint epoch;
  CgWatchdog watchdog;
  guint64 frames_in, bytes_in;
  int width, height;
  char *codecs[CG_STREAM_N];    /* of the last session that set up; NULL: none */
};

static void source_connect (CgSource *source);
static void source_fail (CgSource *source, const char *message);
static void setup_next (CgSource *source);

const char *
cg_source_state_to_string (CgSourceState state)
{
  switch (state) {
  case CG_SOURCE_CONNECTING: return "connecting";
  case CG_SOURCE_STREAMING: return "streaming";
  case CG_SOURCE_OFFLINE: return "offline";
  }
  return "unknown";
}

/* ---- media ---------------------------------------------------------------- */

static void
on_nal (guint type, const guint8 *nal, gsize size, gpointer data)
{
  Track *track = data;
  CgSource *source = track->source;
  g_autoptr (GBytes) sps = NULL;

  if (!nal || !cg_nal_is_sps (track->desc->video, type))
    return;
  sps = g_bytes_new (nal, size);
  if (track->sps && g_bytes_equal (sps, track->sps))
    return;                     /* cameras repeat it before every keyframe */
  g_clear_pointer (&track->sps, g_bytes_unref);
  track->sps = g_steal_pointer (&sps);
  cg_sps_dimensions (track->desc->video, nal, size, &source->width, &source->height);
}

static void
on_frame (CgFrame *frame, gpointer data)
{
  Track *track = data;
  CgSource *source = track->source;

  /* The camera's wall clock for this frame, from its last sender report:
   * the uplink's own reports carry it, so audio and video stay in sync. */
  if (track->sr_seen)
    frame->ntp_us = track->sr.ntp_us + (gint32) (frame->rtp_time - track->sr.rtp_ts) *
        (gint64) G_USEC_PER_SEC / (gint64) track->desc->clock_rate;
  source->bytes_in += frame->size;
  if (frame->kind == CG_STREAM_VIDEO || !source->tracks[CG_STREAM_VIDEO].desc) {
    source->frames_in++;
    cg_watchdog_frame (&source->watchdog, cg_clock_now (source->clock));
  }
  cg_hub_push (source->hub, frame);
}

/* The extended highest sequence number, for receiver reports. FALSE for a
 * packet that came late or twice (over UDP): it would split a frame. */
static gboolean
track_count (Track *track, const guint8 *rtp)
{
  guint16 seq = (rtp[2] << 8) | rtp[3];
  guint32 ssrc = ((guint32) rtp[8] << 24) | (rtp[9] << 16) | (rtp[10] << 8) | rtp[11];
  gint16 ahead = (gint16) (seq - track->max_seq);

  if (!track->seq_seen || ssrc != track->camera_ssrc) {
    /* the first packet, or the camera started a new stream */
    track->seq_seen = TRUE;
    track->camera_ssrc = ssrc;
    track->max_seq = seq;
    track->seq_cycles = 0;
    return TRUE;
  }
  if (ahead <= 0 && ahead > -LATE_WINDOW)
    return FALSE;
  if (seq < track->max_seq && ahead > 0)
    track->seq_cycles += 0x10000;
  track->max_seq = seq;
  return TRUE;
}

static void
track_rtp (Track *track, const guint8 *data, gsize size)
{
  CgSource *source = track->source;
  guint64 oversized = track->assembler.frames_oversized;

  if (size < CG_RTP_HEADER_SIZE || !track_count (track, data))
    return;
  cg_rtp_assembler_push (&track->assembler, data, size, cg_clock_now (source->clock));
  if (track->assembler.frames_oversized == oversized)
    return;
  if (track->assembler.await_keyframe)
    cg_source_request_keyframe (source, FALSE);   /* rather than wait for the next GOP */
  if (oversized == 0)
    g_warning ("[%s] the camera sent a frame of more than %d MB: dropped, and the frames "
               "after it up to the next keyframe (so is every such frame)", source->config->id,
               CG_RTP_MAX_FRAME_BYTES / (1024 * 1024));
}

static void
track_rtcp (Track *track, const guint8 *data, gsize size)
{
  CgRtcpSenderInfo sr;

  if (cg_rtcp_find_sr (data, size, &sr) && sr.ssrc == track->camera_ssrc) {
    track->sr = sr;
    track->sr_seen = TRUE;
  }
}

static void
on_interleaved (guint8 channel, const guint8 *data, gsize size, gpointer user_data)
{
  CgSource *source = user_data;

  for (int i = 0; i < CG_STREAM_N; i++) {
    Track *track = &source->tracks[i];
    if (!track->desc)
      continue;
    if (channel == track->channels[0])
      track_rtp (track, data, size);
    else if (channel == track->channels[1])
      track_rtcp (track, data, size);
  }
}

static gboolean
on_udp_readable (GSocket *socket, GIOCondition condition, gpointer data)
{
  Track *track = data;
  guint8 buf[UDP_MAX_PACKET];

  /* A bounded number per wake-up: a flood must not starve the main loop. */
  for (guint i = 0; i < UDP_PACKETS_PER_WAKEUP; i++) {
    GSocketAddress *from = NULL;
    gssize n = g_socket_receive_from (socket, &from, (gchar *) buf, sizeof buf, NULL, NULL);
    gboolean ours;

    if (n < 0)
      break;
    ours = G_IS_INET_SOCKET_ADDRESS (from) && track->source->camera_address &&
        g_inet_address_equal (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (from)),
                              track->source->camera_address);
    g_clear_object (&from);
    if (!ours)
      continue;
    if (socket == track->udp[0])
      track_rtp (track, buf, n);
    else
      track_rtcp (track, buf, n);
  }
  return G_SOURCE_CONTINUE;
}

/* A receiver report about @track, then @feedback (a keyframe request; NULL:
 * none), to the camera on the track's RTCP channel. */
static void
track_send_rtcp (CgSource *source, Track *track, const GByteArray *feedback)
{
  CgRtspConn *conn = cg_rtsp_client_get_conn (source->client);
  g_autoptr (GByteArray) rtcp = g_byte_array_new ();

  cg_rtcp_write_rr (rtcp, source->our_ssrc, track->camera_ssrc,
                    track->seq_cycles + track->max_seq, "camgate");
  if (feedback)
    g_byte_array_append (rtcp, feedback->data, feedback->len);
  if (track->udp[1] && track->camera_rtcp) {
    g_socket_send_to (track->udp[1], track->camera_rtcp, (const gchar *) rtcp->data, rtcp->len,
                      NULL, NULL);
  } else if (!track->udp[1] && conn) {
    g_autoptr (GByteArray) framed = g_byte_array_new ();
    cg_rtsp_write_interleaved (framed, track->channels[1], rtcp->data, rtcp->len);
    cg_rtsp_conn_send (conn, framed->data, framed->len);
  }
}

/* Receiver reports keep some cameras sending (and tell them we listen). */
static gboolean
on_rtcp_timer (gpointer data)
{
  CgSource *source = data;

  for (int i = 0; i < CG_STREAM_N; i++) {
    Track *track = &source->tracks[i];

    if (track->desc && track->seq_seen)
      track_send_rtcp (source, track, NULL);
  }
  return G_SOURCE_CONTINUE;
}

/* ---- the session ---------------------------------------------------------- */

static void
track_clear (Track *track)
{
  for (int j = 0; j < 2; j++) {
    if (track->udp_sources[j])
      g_source_destroy (track->udp_sources[j]);
    g_clear_pointer (&track->udp_sources[j], g_source_unref);
    if (track->udp[j])
      g_socket_close (track->udp[j], NULL);
    g_clear_object (&track->udp[j]);
  }
  g_clear_object (&track->camera_rtcp);
  g_clear_pointer (&track->sps, g_bytes_unref);
  if (track->desc)
    cg_rtp_assembler_clear (&track->assembler);
  g_clear_pointer (&track->desc, cg_stream_desc_free);
  memset (track, 0, sizeof *track);
}

static void
source_stop_session (CgSource *source)
{
  g_clear_handle_id (&source->rtcp_id, g_source_remove);
  if (source->client)
    cg_rtsp_client_free (g_steal_pointer (&source->client), source->playing);
  source->playing = FALSE;
  for (int i = 0; i < CG_STREAM_N; i++)
    track_clear (&source->tracks[i]);
  g_clear_pointer (&source->control, g_free);
  g_clear_object (&source->camera_address);
}

static void
set_error (CgSource *source, const char *message)
{
  g_free (source->last_error);
  source->last_error = g_strdup (message);
}

static gboolean
on_retry (gpointer data)
{
  CgSource *source = data;

  source->retry_id = 0;
  source_connect (source);
  return G_SOURCE_REMOVE;
}

/* Any failure: drop the session and try again after a backoff delay. */
static void
source_fail (CgSource *source, const char *message)
{
  gint64 delay = cg_backoff_next (&source->backoff);

  source_stop_session (source);
  set_error (source, message);
  source->state = CG_SOURCE_OFFLINE;
  source->reconnects++;
  g_warning ("[%s] %s: reconnecting in %.1f s", source->config->id, message,
             delay / (double) G_USEC_PER_SEC);
  g_clear_handle_id (&source->retry_id, g_source_remove);
  source->retry_id = g_timeout_add (delay / 1000, on_retry, source);
}

static void
fail_with (CgSource *source, GError *error)
{
  source_fail (source, error->message);
  g_error_free (error);
}

static void
on_client_failed (const GError *error, gpointer data)
{
  source_fail (data, error->message);
}

/* FALSE (and the session failed) unless @response is a success. */
static gboolean
check_response (CgSource *source, const char *method, const CgRtspMessage *response)
{
  if (response->status / 100 == 2)
    return TRUE;
  fail_with (source, cg_rtsp_client_status_error (source->client, method, response));
  return FALSE;
}

static void
on_play (CgRtspClient *client, const CgRtspMessage *response, gpointer data)
{
  CgSource *source = data;

  if (!check_response (source, "PLAY", response))
    return;
  source->playing = TRUE;
  cg_rtsp_client_keep_alive (client, source->get_parameter ? "GET_PARAMETER" : "OPTIONS",
                             source->control);
  source->rtcp_id = g_timeout_add_seconds (RTCP_INTERVAL_S, on_rtcp_timer, source);
  g_info ("[%s] playing", source->config->id);
}

/* Two UDP sockets on consecutive ports, RTP on the even one. */
static gboolean
bind_udp_pair (Track *track, GError **error)
{
  GSocketFamily family = g_inet_address_get_family (track->source->camera_address);

  for (guint attempt = 0; attempt < UDP_PORT_TRIES; attempt++) {
    guint16 port = 2 * g_random_int_range (16384, 32767);
    gboolean ok = TRUE;

    for (int j = 0; j < 2 && ok; j++) {
      g_autoptr (GInetAddress) any = g_inet_address_new_any (family);
      g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (any, port + j);
      track->udp[j] = g_socket_new (family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);
      ok = track->udp[j] && g_socket_bind (track->udp[j], addr, FALSE, NULL);
    }
    if (ok) {
      g_socket_set_blocking (track->udp[0], FALSE);
      g_socket_set_blocking (track->udp[1], FALSE);
      g_socket_set_option (track->udp[0], SOL_SOCKET, SO_RCVBUF, UDP_RECEIVE_BUFFER, NULL);
      return TRUE;
    }
    for (int j = 0; j < 2; j++)
      g_clear_object (&track->udp[j]);
    if (error && *error)
      return FALSE;
  }
  g_set_error (error, CG_ERROR, CG_ERROR_IO, "no free pair of UDP ports for RTP");
  return FALSE;
}

static guint16
local_port (GSocket *socket)
{
  g_autoptr (GSocketAddress) addr = g_socket_get_local_address (socket, NULL);
  return addr ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (addr)) : 0;
}

/* UDP: open the path through the camera's firewall (and ours: the seal only
 * lets in replies) with a packet from each of our ports to the camera's. */
static void
udp_start (Track *track, const CgRtspTransport *transport)
{
  CgSource *source = track->source;
  static const guint8 punch[8] = { 0x80, 201, 0, 1, 0, 0, 0, 0 };   /* empty RTCP RR */

  for (int j = 0; j < 2; j++) {
    g_autoptr (GSocketAddress) to = NULL;
    if (!transport->server_port[j])
      continue;
    to = g_inet_socket_address_new (source->camera_address, transport->server_port[j]);
    g_socket_send_to (track->udp[j], to, (const gchar *) punch, sizeof punch, NULL, NULL);
    if (j == 1)
      track->camera_rtcp = g_object_ref (to);
  }
  for (int j = 0; j < 2; j++) {
    track->udp_sources[j] = g_socket_create_source (track->udp[j], G_IO_IN, NULL);
    g_source_set_callback (track->udp_sources[j], G_SOURCE_FUNC (on_udp_readable), track, NULL);
    g_source_attach (track->udp_sources[j], NULL);
  }
}

/* The camera must answer with the transport asked for, on channels of its own. */
static gboolean
check_transport (CgSource *source, Track *track, const CgRtspTransport *transport,
                 GError **error)
{
  gboolean udp = track->udp[0] != NULL;

  if (transport->tcp == udp) {
    g_set_error (error, CG_ERROR, CG_ERROR_PROTOCOL,
                 "answered SETUP with RTP over %s, though %s was asked for ([camera] "
                 "transport)", transport->tcp ? "TCP" : "UDP", udp ? "UDP" : "TCP");
    return FALSE;
  }
  if (udp && !transport->server_port[0]) {
    g_set_error (error, CG_ERROR, CG_ERROR_PROTOCOL,
                 "answered SETUP for UDP without its server_port");
    return FALSE;
  }
  for (int i = 0; !udp && transport->interleaved_set && i < CG_STREAM_N; i++) {
    const Track *other = &source->tracks[i];
    if (other == track || !other->desc || i >= (int) source->setting_up)
      continue;
    if (memchr (other->channels, transport->interleaved[0], 2) ||
        memchr (other->channels, transport->interleaved[1], 2)) {
      g_set_error (error, CG_ERROR, CG_ERROR_PROTOCOL,
                   "answered SETUP with interleaved channels %u-%u, already in use",
                   transport->interleaved[0], transport->interleaved[1]);
      return FALSE;
    }
  }
  return TRUE;
}

static void
on_setup (CgRtspClient *client, const CgRtspMessage *response, gpointer data)
{
  CgSource *source = data;
  Track *track = &source->tracks[source->setting_up];
  const char *value = cg_rtsp_message_header (response, "Transport");
  CgRtspTransport transport;
  GError *error = NULL;

  if (!check_response (source, "SETUP", response))
    return;
  if (!value) {
    source_fail (source, "the camera answered SETUP without a Transport header");
    return;
  }
  if (!cg_rtsp_transport_parse (value, &transport, &error) ||
      !check_transport (source, track, &transport, &error)) {
    g_prefix_error (&error, "%s ", source->peer);
    fail_with (source, error);
    return;
  }
  if (track->udp[0])
    udp_start (track, &transport);
  else if (transport.interleaved_set)
    memcpy (track->channels, transport.interleaved, 2);
  source->setting_up++;
  setup_next (source);
}

static void
setup_next (CgSource *source)
{
  while (source->setting_up < CG_STREAM_N && !source->tracks[source->setting_up].desc)
    source->setting_up++;
  if (source->setting_up == CG_STREAM_N) {
    const char *range[] = { "Range: npt=0.000-", NULL };
    CgStreamDesc *streams[CG_STREAM_N];

    /* Media may come before the answer to PLAY: the hub takes it from now. */
    for (int i = 0; i < CG_STREAM_N; i++)
      streams[i] = source->tracks[i].desc;
    cg_hub_begin_epoch (source->hub, source->epoch, streams);
    cg_rtsp_client_request (source->client, "PLAY", source->control, range, NULL, NULL, on_play);
    return;
  }
  {
    Track *track = &source->tracks[source->setting_up];
    g_autofree char *header = NULL;
    const char *headers[2] = { NULL, NULL };
    GError *error = NULL;

    if (source->config->transport == CG_TRANSPORT_UDP) {
      if (!bind_udp_pair (track, &error)) {
        g_prefix_error (&error, "cannot receive RTP over UDP: ");
        fail_with (source, error);
        return;
      }
      header = g_strdup_printf ("Transport: RTP/AVP;unicast;client_port=%u-%u",
                                local_port (track->udp[0]), local_port (track->udp[1]));
    } else {
      track->channels[0] = 2 * source->setting_up;
      track->channels[1] = 2 * source->setting_up + 1;
      header = g_strdup_printf ("Transport: RTP/AVP/TCP;unicast;interleaved=%u-%u",
                                track->channels[0], track->channels[1]);
    }
    headers[0] = header;
    cg_rtsp_client_request (source->client, "SETUP", track->desc->control, headers, NULL, NULL,
                            on_setup);
  }
}

static void
on_describe (CgRtspClient *client, const CgRtspMessage *response, gpointer data)
{
  CgSource *source = data;
  const char *base = cg_rtsp_message_header (response, "Content-Base");
  CgStreamDesc *streams[CG_STREAM_N];
  g_autoptr (GString) skipped = g_string_new (NULL);
  GError *error = NULL;
  gsize size;
  const char *sdp;

  if (!check_response (source, "DESCRIBE", response))
    return;
  if (!base)
    base = cg_rtsp_message_header (response, "Content-Location");
  if (!base)
    base = source->config->url;
  sdp = g_bytes_get_data (response->body, &size);
  if (!cg_sdp_pick_streams (sdp, size, base, streams, &source->control, skipped, &error)) {
    g_prefix_error (&error, "%s ", source->peer);
    fail_with (source, error);
    return;
  }
  if (skipped->len)
    g_info ("[%s] %s", source->config->id, skipped->str);
  source->epoch++;
  for (int i = 0; i < CG_STREAM_N; i++) {
    Track *track = &source->tracks[i];
    track->source = source;
    track->desc = streams[i];
    g_clear_pointer (&source->codecs[i], g_free);
    if (!track->desc)
      continue;
    cg_rtp_assembler_init (&track->assembler, i, track->desc->video, source->epoch, on_frame,
                           track);
    track->assembler.nal_func = on_nal;
    track->assembler.nal_data = track;
    if (i == CG_STREAM_VIDEO)
      cg_stream_desc_dimensions (track->desc, &source->width, &source->height);
    source->codecs[i] = g_strdup (cg_stream_desc_codec (track->desc));
  }
  source->setting_up = 0;
  setup_next (source);
}

static void
on_options (CgRtspClient *client, const CgRtspMessage *response, gpointer data)
{
  CgSource *source = data;
  const char *public = cg_rtsp_message_header (response, "Public");
  const char *accept[] = { "Accept: application/sdp", NULL };

  /* Some cameras refuse OPTIONS without credentials, or at all: DESCRIBE
   * tells more, so only a refusal of the credentials ends it here. */
  if (response->status == 401) {
    check_response (source, "OPTIONS", response);
    return;
  }
  source->get_parameter = public && strstr (public, "GET_PARAMETER");
  cg_rtsp_client_request (client, "DESCRIBE", source->config->url, accept, NULL, NULL,
                          on_describe);
}

static void
on_connected (CgRtspClient *client, gpointer data)
{
  CgSource *source = data;
  CgRtspConn *conn = cg_rtsp_client_get_conn (client);

  /* Over UDP, RTP from any other address is not the camera's. */
  source->camera_address = cg_rtsp_conn_remote_address (conn);
  cg_rtsp_client_request (client, "OPTIONS", source->config->url, NULL, NULL, NULL, on_options);
}

static const CgRtspClientFuncs client_funcs = {
  .data = on_interleaved,
  .failed = on_client_failed,
};

static void
source_connect (CgSource *source)
{
  cg_watchdog_start (&source->watchdog, cg_clock_now (source->clock));
  source->state = CG_SOURCE_CONNECTING;
  source->playing = FALSE;
  g_info ("[%s] connecting to %s", source->config->id, source->safe_url);
  source->client = cg_rtsp_client_new (source->config->url, source->peer,
                                       source->config->username, source->config->password,
                                       NULL, &client_funcs, source);
  cg_rtsp_client_connect (source->client, DEFAULT_CONNECT_TIMEOUT_S, on_connected);
}

static void
update_rates (CgSource *source, gint64 now, guint64 frames, guint64 bytes)
{
  if (source->rate_count == G_N_ELEMENTS (source->rates)) {
    memmove (source->rates, source->rates + 1, sizeof source->rates[0] * (RATE_WINDOW));
    source->rate_count--;
  }
  source->rates[source->rate_count++] = (RateSample) { now, frames, bytes };
}

/* Once a second: rates, and the media-health verdict. */
static gboolean
on_tick (gpointer data)
{
  CgSource *source = data;
  gint64 now = cg_clock_now (source->clock);
  CgHealth health = cg_watchdog_check (&source->watchdog, now);

  update_rates (source, now, source->frames_in, source->bytes_in);
  if (!source->client)
    return G_SOURCE_CONTINUE;
  if (health == CG_HEALTH_OK && source->state != CG_SOURCE_STREAMING) {
    source->state = CG_SOURCE_STREAMING;
    g_clear_pointer (&source->last_error, g_free);
    cg_backoff_reset (&source->backoff);
    g_message ("[%s] streaming", source->config->id);
  } else if (health == CG_HEALTH_STALLED) {
    source_fail (source, "connected, but no media for 5 s");
  } else if (health == CG_HEALTH_CONNECT_TIMEOUT) {
    source_fail (source, "no media within 15 s of connecting");
  }
  return G_SOURCE_CONTINUE;
}

CgSource *
cg_source_new (const CgCameraConfig *config, CgHub *hub, const CgClock *clock)
{
  CgSource *source = g_new0 (CgSource, 1);

  source->config = config;
  source->hub = hub;
  source->clock = clock ? clock : &cg_clock_monotonic;
  source->safe_url = cg_url_redact (config->url);
  source->peer = cg_peer_name ("the camera", config->url);
  source->state = CG_SOURCE_CONNECTING;
  source->our_ssrc = g_random_int ();
  cg_backoff_init (&source->backoff, NULL, NULL);
  return source;
}

void
cg_source_start (CgSource *source)
{
  source->tick_id = g_timeout_add_seconds (1, on_tick, source);
  source_connect (source);
}

void
cg_source_free (CgSource *source)
{
  if (!source)
    return;
  g_clear_handle_id (&source->retry_id, g_source_remove);
  g_clear_handle_id (&source->tick_id, g_source_remove);
  source_stop_session (source);
  for (int i = 0; i < CG_STREAM_N; i++)
    g_free (source->codecs[i]);
  g_free (source->last_error);
  g_free (source->safe_url);
  g_free (source->peer);
  g_free (source);
}

void
cg_source_stats_clear (CgSourceStats *stats)
{
  g_clear_pointer (&stats->codec, g_free);
  g_clear_pointer (&stats->audio_codec, g_free);
  g_clear_pointer (&stats->last_error, g_free);
}

void
cg_source_request_keyframe (CgSource *source, gboolean full)
{
  Track *track = &source->tracks[CG_STREAM_VIDEO];
  gint64 now = cg_clock_now (source->clock);
  g_autoptr (GByteArray) feedback = NULL;

  if (!source->playing || !track->desc || !track->seq_seen)
    return;                     /* the camera's next session starts on a keyframe anyway */
  if (source->keyframe_requested_us &&
      now - source->keyframe_requested_us < CG_SOURCE_KEYFRAME_REQUEST_INTERVAL_US)
    return;
  source->keyframe_requested_us = now;
  source->keyframe_requests++;
  feedback = g_byte_array_new ();
  if (full)
    cg_rtcp_write_fir (feedback, source->our_ssrc, track->camera_ssrc, ++source->fir_seq);
  else
    cg_rtcp_write_pli (feedback, source->our_ssrc, track->camera_ssrc);
  g_debug ("[%s] keyframe request to the camera (RTCP %s)", source->config->id,
           full ? "FIR" : "PLI");
  track_send_rtcp (source, track, feedback);
}

void
cg_source_get_stats (CgSource *source, CgSourceStats *stats)
{
  const char *video = source->codecs[CG_STREAM_VIDEO];
  const char *audio = source->codecs[CG_STREAM_AUDIO];

  memset (stats, 0, sizeof *stats);
  stats->state = source->state;
  stats->reconnects = source->reconnects;
  stats->keyframe_requests = source->keyframe_requests;
  stats->last_error = g_strdup (source->last_error);
  /* Streaming from the first frame on, not from the next tick. */
  if (stats->state == CG_SOURCE_CONNECTING && source->playing &&
      source->watchdog.last_frame_us != 0)
    stats->state = CG_SOURCE_STREAMING;
  stats->codec = g_strdup (video ? video : audio);
  stats->audio_codec = g_strdup (audio);
  if (video) {
    stats->width = source->width;
    stats->height = source->height;
  }
  stats->frames_in = source->frames_in;
  stats->bytes_in = source->bytes_in;

  if (source->rate_count >= 2 && source->state == CG_SOURCE_STREAMING) {
    const RateSample *first = &source->rates[0];
    const RateSample *last = &source->rates[source->rate_count - 1];
    double seconds = (last->time_us - first->time_us) / (double) G_USEC_PER_SEC;

    if (seconds > 0) {
      stats->fps = (last->frames - first->frames) / seconds;
      stats->kbps = (guint) ((last->bytes - first->bytes) * 8 / seconds / 1000);
    }
  }
}
