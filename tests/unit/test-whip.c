/* The pure parts of the WHIP uplink: ICE server URLs (configuration and
 * Link headers, including the malformed ones an ingest may send), the RTP
 * caps and the audio plan a camera's streams get, candidates added to an
 * offer or trickled in an sdpfrag, and the words for each HTTP status; the
 * host addresses ICE may gather on; and the WHIP client (POST, PATCH,
 * DELETE) against a local HTTP server. */
#include <glib/gstdio.h>
#include <string.h>

#include "error.h"
#include "iceserver.h"
#include "whipfrag.h"
#include "whipmedia.h"
#ifdef CG_WITH_WEBRTC
#include <gio/gio.h>
#include <libsoup/soup.h>
#include <net/if.h>

#include "iceaddr.h"
#include "whip.h"
#endif

static char *
to_gst (const char *url, GError **error)
{
  g_autoptr (CgIceServer) server = cg_ice_server_parse (url, NULL, NULL, error);

  return server ? cg_ice_server_to_gst (server) : NULL;
}

static void
test_ice_server_forms (void)
{
  static const struct { const char *in, *gst; } ok[] = {
    { "stun:stun.example.net", "stun://stun.example.net:3478" },
    { "stun://stun.example.net:19302", "stun://stun.example.net:19302" },
    { "stun:[2001:db8::1]:3479", "stun://[2001:db8::1]:3479" },
    { "turn://user:pass@turn.example.net", "turn://user:pass@turn.example.net:3478" },
    { "turn://u%3Ax:p%40ss@turn.example.net:443?transport=tcp",
      "turn://u%3Ax:p%40ss@turn.example.net:443?transport=tcp" },
    { "turn://user:pass@10.0.0.1:3478?transport=udp", "turn://user:pass@10.0.0.1:3478?transport=udp" },
    { "turns://user:pass@turn.example.net", "turns://user:pass@turn.example.net:5349" },
    { "TURN://user:pass@turn.example.net", "turn://user:pass@turn.example.net:3478" },
  };
  static const struct { const char *in, *why; } bad[] = {
    { "http://stun.example.net", "must start with" },
    { "stun:", "host name" },
    { "stun:host:0", "port" },
    { "stun:host:99999", "port" },
    { "stun:host?transport=udp", "no ?options" },
    { "turn://u:p@host?transport=sctp", "transport=udp or ?transport=tcp" },
    { "turns://u:p@host?transport=udp", "turns:" },
    { "turn:host", "without a user name" },
    { "turn://u:p@host/path", "has a path" },
    { "turn://u%zz:p@host", "%-escape" },
    { "stun:[2001:db8::1", "IPv6" },
    { "stun:ho st", "host name" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (ok); i++) {
    g_autoptr (GError) error = NULL;
    g_autofree char *gst = to_gst (ok[i].in, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (gst, ==, ok[i].gst);
  }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;
    g_autofree char *gst = to_gst (bad[i].in, &error);
    g_assert_null (gst);
    g_assert_error (error, CG_ERROR, CG_ERROR_CONFIG);
    if (!strstr (error->message, bad[i].why))
      g_error ("%s: \"%s\" does not say \"%s\"", bad[i].in, error->message, bad[i].why);
  }
}

static void
test_ice_server_secret_kept (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgIceServer) server =
      cg_ice_server_parse ("turn://alice:s3cret@turn.example.net?transport=tcp", NULL, NULL,
                           &error);
  g_autofree char *shown = cg_ice_server_describe (server);
  g_autoptr (CgIceServer) bad = cg_ice_server_parse ("turn://alice:s3cret@host:x", NULL, NULL,
                                                     &error);

  g_assert_cmpstr (shown, ==, "turn:turn.example.net:3478?transport=tcp");
  g_assert_null (bad);
  g_assert_null (strstr (error->message, "s3cret"));
  g_assert_null (strstr (error->message, "alice"));
}

static void
test_link_headers (void)
{
  const char *header =
      "<turn:turn.example.net?transport=udp>; rel=\"ice-server\"; username=\"u1\"; "
      "credential=\"p,1\"; credential-type=\"password\", "
      "<https://example.net/other>; rel=\"urn:ietf:params:whip:ext:example\", "
      "<stun:stun.example.net:3479>; rel=ice-server, "
      "<turn:[2001:db8::2]:3478?transport=tcp>;rel=\"ice-server\";username=u2;credential=\"a\\\"b\", "
      "<turn:oauth.example.net>; rel=\"ice-server\"; username=x; credential=y; "
      "credential-type=\"oauth\", "
      "<turn:nocreds.example.net>; rel=\"ice-server\", "
      "<stuns:bad.example.net>; rel=\"ice-server\"";
  g_autoptr (GPtrArray) servers = g_ptr_array_new_with_free_func ((GDestroyNotify) cg_ice_server_free);
  g_autoptr (GString) skipped = g_string_new (NULL);
  static const char *const expected[] = {
    "turn://u1:p%2C1@turn.example.net:3478?transport=udp",
    "stun://stun.example.net:3479",
    "turn://u2:a%22b@[2001:db8::2]:3478?transport=tcp",
  };

  cg_ice_servers_from_link (header, servers, skipped);
  g_assert_cmpuint (servers->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < servers->len; i++) {
    g_autofree char *gst = cg_ice_server_to_gst (g_ptr_array_index (servers, i));
    g_assert_cmpstr (gst, ==, expected[i]);
  }
  g_assert_nonnull (strstr (skipped->str, "credential-type \"oauth\""));
  g_assert_nonnull (strstr (skipped->str, "without a user name"));
  g_assert_nonnull (strstr (skipped->str, "must start with"));
}

static void
test_link_headers_malformed (void)
{
  static const char *const headers[] = {
    "garbage", "<turn:x", "<turn:h>; rel=\"ice-server", "<stun:h>; =x", "", ",,, ,",
    "<stun:h>; rel=\"ice-server\" trailing", "<>; rel=ice-server",
  };

  for (guint i = 0; i < G_N_ELEMENTS (headers); i++) {
    g_autoptr (GPtrArray) servers = g_ptr_array_new_with_free_func ((GDestroyNotify) cg_ice_server_free);
    g_autoptr (GString) skipped = g_string_new (NULL);

    cg_ice_servers_from_link (headers[i], servers, skipped);
    g_assert_cmpuint (servers->len, ==, 0);
    if (headers[i][0] && headers[i][0] != ',')
      g_assert_cmpuint (skipped->len, >, 0);
  }
}

static CgStreamDesc *
desc_new (CgStreamKind kind, CgVideoCodec video, const char *encoding, guint rate,
          guint channels, const char *fmtp)
{
  CgStreamDesc *d = g_new0 (CgStreamDesc, 1);

  d->kind = kind;
  d->video = video;
  d->encoding = g_strdup (encoding);
  d->pt = 96;
  d->clock_rate = rate;
  d->channels = channels;
  d->fmtp = g_strdup (fmtp);
  return d;
}

static void
test_caps (void)
{
  g_autoptr (CgStreamDesc) h264 =
      desc_new (CG_STREAM_VIDEO, CG_VIDEO_H264, "H264", 90000, 0,
                "packetization-mode=1; Profile-Level-Id=42C01E;sprop-parameter-sets=Z0LAHtkA,aM4G4g==;"
                "bogus; =x; 9x=1");
  g_autoptr (CgStreamDesc) aac =
      desc_new (CG_STREAM_AUDIO, CG_VIDEO_NONE, "MPEG4-GENERIC", 48000, 2,
                "streamtype=5;mode=AAC-hbr;config=1190;sizelength=13;indexlength=3;"
                "indexdeltalength=3;payload=5");
  g_autoptr (CgStreamDesc) pcmu = desc_new (CG_STREAM_AUDIO, CG_VIDEO_NONE, "PCMU", 8000, 1, NULL);
  g_autoptr (CgStreamDesc) opus = desc_new (CG_STREAM_AUDIO, CG_VIDEO_NONE, "OPUS", 48000, 2, NULL);
  g_autoptr (GstCaps) vcaps = cg_whip_stream_caps (h264, cg_whip_payload_type (h264));
  g_autoptr (GstCaps) acaps = cg_whip_stream_caps (aac, cg_whip_payload_type (aac));
  g_autoptr (GstCaps) ucaps = cg_whip_stream_caps (pcmu, cg_whip_payload_type (pcmu));
  g_autoptr (GstCaps) ocaps = cg_whip_stream_caps (opus, cg_whip_payload_type (opus));
  g_autoptr (GstCaps) want_v = gst_caps_from_string (
      "application/x-rtp, media=(string)video, encoding-name=(string)H264, clock-rate=(int)90000, "
      "payload=(int)96, rtcp-fb-nack-pli=(boolean)true, rtcp-fb-ccm-fir=(boolean)true, "
      "rtcp-fb-nack=(boolean)true, "
      "packetization-mode=(string)1, profile-level-id=(string)42C01E, "
      "sprop-parameter-sets=(string)\"Z0LAHtkA\\,aM4G4g\\=\\=\"");
  g_autoptr (GstCaps) want_u = gst_caps_from_string (
      "application/x-rtp, media=(string)audio, encoding-name=(string)PCMU, clock-rate=(int)8000, "
      "payload=(int)0");
  g_autoptr (GstCaps) want_o = gst_caps_from_string (
      "application/x-rtp, media=(string)audio, encoding-name=(string)OPUS, clock-rate=(int)48000, "
      "payload=(int)111, encoding-params=(string)2");
  const GstStructure *a = gst_caps_get_structure (acaps, 0);
  int payload = 0;

  g_assert_true (gst_caps_is_equal (vcaps, want_v));
  g_assert_true (gst_caps_is_equal (ucaps, want_u));
  g_assert_true (gst_caps_is_equal (ocaps, want_o));
  /* the fmtp's "payload" does not override the payload type */
  g_assert_true (gst_structure_get_int (a, "payload", &payload));
  g_assert_cmpint (payload, ==, CG_WHIP_AAC_PT);
  g_assert_cmpstr (gst_structure_get_string (a, "config"), ==, "1190");
  g_assert_cmpstr (gst_structure_get_string (a, "encoding-params"), ==, "2");
}

/* H.265 as x265enc makes it (Main profile, 640x360): the profile, tier and
 * level an ingest needs are read from the SPS when the fmtp leaves them out. */
static void
test_caps_h265 (void)
{
  static const char *const sets =
      "sprop-vps=QAEMAf//AWAAAAMAkAAAAwAAAwA/ugJA;"
      "sprop-sps=QgEBAWAAAAMAkAAAAwAAAwA/oAUCAXHy5bpKTC//AAEAAWoMDAwIAAADAAgAAAMAyEA=;"
      "sprop-pps=RAHAcYMS";
  g_autoptr (CgStreamDesc) h265 = desc_new (CG_STREAM_VIDEO, CG_VIDEO_H265, "H265", 90000, 0,
                                            sets);
  g_autoptr (CgStreamDesc) told = NULL;
  g_autoptr (GstCaps) caps = cg_whip_stream_caps (h265, cg_whip_payload_type (h265));
  g_autoptr (GstCaps) told_caps = NULL;
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  g_autofree char *told_fmtp = g_strconcat (sets, ";profile-id=2", NULL);

  g_assert_cmpstr (gst_structure_get_string (s, "encoding-name"), ==, "H265");
  g_assert_cmpstr (gst_structure_get_string (s, "sprop-vps"), ==,
                   "QAEMAf//AWAAAAMAkAAAAwAAAwA/ugJA");
  g_assert_cmpstr (gst_structure_get_string (s, "profile-id"), ==, "1");    /* Main */
  g_assert_cmpstr (gst_structure_get_string (s, "tier-flag"), ==, "0");
  g_assert_cmpstr (gst_structure_get_string (s, "level-id"), ==, "63");
  /* what the camera says is kept */
  told = desc_new (CG_STREAM_VIDEO, CG_VIDEO_H265, "H265", 90000, 0, told_fmtp);
  told_caps = cg_whip_stream_caps (told, cg_whip_payload_type (told));
  s = gst_caps_get_structure (told_caps, 0);
  g_assert_cmpstr (gst_structure_get_string (s, "profile-id"), ==, "2");
  g_assert_false (gst_structure_has_field (s, "level-id"));
  /* an empty or broken sprop-sps: no profile read, nothing else */
  for (guint i = 0; i < 2; i++) {
    g_autoptr (CgStreamDesc) bad = desc_new (CG_STREAM_VIDEO, CG_VIDEO_H265, "H265", 90000, 0,
                                             i ? "sprop-sps=%%%" : "sprop-sps=");
    g_autoptr (GstCaps) bad_caps = cg_whip_stream_caps (bad, cg_whip_payload_type (bad));
    g_assert_false (gst_structure_has_field (gst_caps_get_structure (bad_caps, 0), "profile-id"));
  }
}

static void
test_plan (void)
{
  CgStreamDesc *streams[CG_STREAM_N] = {
    desc_new (CG_STREAM_VIDEO, CG_VIDEO_H264, "H264", 90000, 0, NULL),
    desc_new (CG_STREAM_AUDIO, CG_VIDEO_NONE, "MP4A-LATM", 48000, 2, NULL),
  };
  g_autoptr (CgFormat) format = cg_format_new (1, streams);
  g_autoptr (GError) error = NULL;
  CgWhipAudio audio;

  g_assert_true (cg_whip_plan (format, TRUE, &audio, &error));
  g_assert_cmpint (audio, ==, CG_WHIP_AUDIO_TO_OPUS);
  g_assert_true (cg_whip_plan (format, FALSE, &audio, &error));
  g_assert_cmpint (audio, ==, CG_WHIP_AUDIO_DROP);

  g_free (format->streams[CG_STREAM_AUDIO]->encoding);
  format->streams[CG_STREAM_AUDIO]->encoding = g_strdup ("PCMA");
  g_assert_true (cg_whip_plan (format, TRUE, &audio, &error));
  g_assert_cmpint (audio, ==, CG_WHIP_AUDIO_FORWARD);
  g_assert_cmpint (cg_whip_payload_type (format->streams[CG_STREAM_AUDIO]), ==, 8);

  g_clear_pointer (&format->streams[CG_STREAM_AUDIO], cg_stream_desc_free);
  g_assert_true (cg_whip_plan (format, TRUE, &audio, &error));
  g_assert_cmpint (audio, ==, CG_WHIP_AUDIO_NONE);

  format->streams[CG_STREAM_VIDEO]->video = CG_VIDEO_H265;
  g_free (format->streams[CG_STREAM_VIDEO]->encoding);
  format->streams[CG_STREAM_VIDEO]->encoding = g_strdup ("H265");
  g_assert_true (cg_whip_plan (format, TRUE, &audio, &error));
  g_assert_cmpint (cg_whip_payload_type (format->streams[CG_STREAM_VIDEO]), ==, 96);

  g_clear_pointer (&format->streams[CG_STREAM_VIDEO], cg_stream_desc_free);
  g_assert_false (cg_whip_plan (format, TRUE, &audio, &error));
  g_assert_nonnull (strstr (error->message, "sends no video"));
  for (int i = 0; i < CG_STREAM_N; i++)
    cg_stream_desc_free (streams[i]);
}

static void
test_sdp_candidates (void)
{
  const char *sdp = "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:video0\r\n"
                    "a=candidate:1 1 UDP 2015363327 10.0.0.1 50000 typ host\r\n"
                    "m=audio 0 UDP/TLS/RTP/SAVPF 0\r\na=mid:audio1\r\n";
  g_autoptr (GPtrArray) cands = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *out = NULL, *partial = NULL, *alone = NULL;

  g_ptr_array_add (cands, g_strdup ("candidate:1 1 UDP 2015363327 10.0.0.1 50000 typ host"));
  g_ptr_array_add (cands, g_strdup ("candidate:2 1 TCP 1015021823 10.0.0.1 9 typ host tcptype active"));
  out = cg_whip_sdp_add_candidates (sdp, cands, TRUE);
  g_assert_cmpstr (out, ==,
                   "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                   "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:video0\r\n"
                   "a=candidate:1 1 UDP 2015363327 10.0.0.1 50000 typ host\r\n"
                   "a=candidate:2 1 TCP 1015021823 10.0.0.1 9 typ host tcptype active\r\n"
                   "a=end-of-candidates\r\n"
                   "m=audio 0 UDP/TLS/RTP/SAVPF 0\r\na=mid:audio1\r\n");
  partial = cg_whip_sdp_add_candidates (sdp, cands, FALSE);
  g_assert_null (strstr (partial, "end-of-candidates"));
  alone = cg_whip_sdp_add_candidates ("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n", cands, TRUE);
  g_assert_cmpstr (alone, ==, "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
                   "a=candidate:1 1 UDP 2015363327 10.0.0.1 50000 typ host\r\n"
                   "a=candidate:2 1 TCP 1015021823 10.0.0.1 9 typ host tcptype active\r\n"
                   "a=end-of-candidates\r\n");
}

/* webrtcbin's offer: ICE credentials in each m= section */
#define OFFER "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE video0 audio1\r\n" \
              "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:Uf1\r\n" \
              "a=ice-pwd:Pw1\r\na=mid:video0\r\na=sendonly\r\n" \
              "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=ice-ufrag:Uf1\r\na=ice-pwd:Pw1\r\n" \
              "a=mid:audio1\r\n"
#define CAND1 "candidate:1 1 UDP 2015363327 10.0.0.1 50000 typ host"
#define CAND2 "candidate:2 1 UDP 1679819007 203.0.113.7 50000 typ srflx raddr 10.0.0.1 rport 50000"
#define FRAG "a=ice-ufrag:Uf1\r\na=ice-pwd:Pw1\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n" \
             "a=mid:video0\r\na=" CAND1 "\r\na=" CAND2 "\r\n"

static void
test_sdpfrag (void)
{
  g_autoptr (GPtrArray) cands = g_ptr_array_new ();
  g_autoptr (GPtrArray) none = g_ptr_array_new ();
  g_autofree char *frag = NULL, *end = NULL, *session_level = NULL;
  g_autofree char *no_mid = NULL, *no_creds = NULL;

  g_ptr_array_add (cands, CAND1);
  g_ptr_array_add (cands, CAND2);
  frag = cg_whip_sdpfrag (OFFER, cands, FALSE);
  g_assert_cmpstr (frag, ==, FRAG);
  /* the end of gathering alone */
  end = cg_whip_sdpfrag (OFFER, none, TRUE);
  g_assert_cmpstr (end, ==, "a=ice-ufrag:Uf1\r\na=ice-pwd:Pw1\r\n"
                   "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:video0\r\na=end-of-candidates\r\n");
  /* credentials at session level, LF line ends */
  session_level = cg_whip_sdpfrag ("v=0\na=ice-ufrag:S\na=ice-pwd:P\nm=video 9 X 96\na=mid:0\n",
                                   cands, TRUE);
  g_assert_cmpstr (session_level, ==, "a=ice-ufrag:S\r\na=ice-pwd:P\r\nm=video 9 X 96\r\n"
                   "a=mid:0\r\na=" CAND1 "\r\na=" CAND2 "\r\na=end-of-candidates\r\n");
  /* the mid must be the first section's */
  no_mid = cg_whip_sdpfrag ("v=0\r\na=ice-ufrag:S\r\na=ice-pwd:P\r\nm=video 9 X 96\r\n"
                            "m=audio 9 X 0\r\na=mid:1\r\n", cands, FALSE);
  g_assert_null (no_mid);
  no_creds = cg_whip_sdpfrag ("v=0\r\nm=video 9 X 96\r\na=mid:0\r\na=ice-ufrag:S\r\n", cands,
                              FALSE);
  g_assert_null (no_creds);
  g_assert_null (cg_whip_sdpfrag ("", cands, FALSE));
}

#ifdef CG_WITH_WEBRTC
/* ---- the WHIP client against a local HTTP server ----------------------------- */

#define ANSWER "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"

/* What the server answers a POST or a PATCH with; it refuses (400) a
 * request without the bearer token, and a POST that is not
 * application/sdp. A request to /slow is never answered. */
typedef struct {
  guint status;
  const char *location;         /* NULL: none */
  const char *type;             /* NULL: none */
  const char *body;
  const char *link;             /* NULL: none */
  const char *etag;             /* NULL: none */
} Reply;

typedef struct {
  Reply reply;
  guint deletes;
  GMainLoop *loop;
  CgWhipAnswer *answer;
  GError *error;
  SoupServerMessage *slow;      /* the request left unanswered */
  guint timeout_s;              /* the client's; 0: 5 s */
  GTlsDatabase *database;       /* the client's trust anchors; NULL: the system store */
  /* the last PATCH: what came, and what the client made of the answer */
  char *patch_type, *patch_if_match, *patch_body;
  CgWhipTrickle trickle;
  char *trickle_etag;
} Ingest;

static void
take_patch (Ingest *ingest, SoupServerMessage *msg)
{
  SoupMessageHeaders *req = soup_server_message_get_request_headers (msg);
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr (GBytes) bytes = soup_message_body_flatten (body);

  g_free (ingest->patch_type);
  g_free (ingest->patch_if_match);
  g_free (ingest->patch_body);
  ingest->patch_type = g_strdup (soup_message_headers_get_content_type (req, NULL));
  ingest->patch_if_match = g_strdup (soup_message_headers_get_one (req, "If-Match"));
  ingest->patch_body = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

static void
on_http (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
         gpointer data)
{
  Ingest *ingest = data;
  SoupMessageHeaders *req = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *resp = soup_server_message_get_response_headers (msg);
  const char *method = soup_server_message_get_method (msg);
  const Reply *r = &ingest->reply;

  if (g_strcmp0 (soup_message_headers_get_one (req, "Authorization"), "Bearer t0k") != 0) {
    soup_server_message_set_status (msg, 400, "no token");
    return;
  }
  if (g_str_equal (method, "DELETE")) {
    ingest->deletes++;
    soup_server_message_set_status (msg, 200, NULL);
    return;
  }
  if (g_str_equal (path, "/slow")) {
    ingest->slow = g_object_ref (msg);
    soup_server_message_pause (msg);
    return;
  }
  if (g_str_equal (method, "PATCH")) {
    take_patch (ingest, msg);
  } else if (g_strcmp0 (soup_message_headers_get_content_type (req, NULL),
                        "application/sdp") != 0) {
    soup_server_message_set_status (msg, 400, "not sdp");
    return;
  }
  if (g_str_equal (path, "/moved")) {
    soup_message_headers_replace (resp, "Location", "sessions/9");
    soup_server_message_set_status (msg, 201, NULL);
    soup_server_message_set_response (msg, "application/sdp", SOUP_MEMORY_STATIC, ANSWER,
                                      strlen (ANSWER));
    return;
  }
  if (r->location)
    soup_message_headers_replace (resp, "Location", r->location);
  if (r->link)
    soup_message_headers_append (resp, "Link", r->link);
  if (r->etag)
    soup_message_headers_replace (resp, "ETag", r->etag);
  soup_server_message_set_status (msg, r->status, NULL);
  if (r->body)
    soup_server_message_set_response (msg, r->type, SOUP_MEMORY_STATIC, r->body,
                                      strlen (r->body));
}

static void
on_answer (CgWhipAnswer *answer, const GError *error, gpointer data)
{
  Ingest *ingest = data;

  ingest->answer = answer;
  ingest->error = error ? g_error_copy (error) : NULL;
  g_main_loop_quit (ingest->loop);
}

/* Answers the request left unanswered, once the client gave up on it. */
static void
answer_slow (Ingest *ingest)
{
  g_assert_nonnull (ingest->slow);
  soup_server_message_set_status (ingest->slow, 503, NULL);
  soup_server_message_unpause (ingest->slow);
  g_clear_object (&ingest->slow);
}

/* POSTs an offer to @url; the answer or the error lands in @ingest. */
static void
post (Ingest *ingest, const char *url)
{
  CgWhipClient *client = cg_whip_client_new (url, "t0k", ingest->database, NULL,
                                             ingest->timeout_s ? ingest->timeout_s : 5);

  g_clear_pointer (&ingest->answer, cg_whip_answer_free);
  g_clear_error (&ingest->error);
  cg_whip_client_post (client, "v=0\r\n", on_answer, ingest);
  g_main_loop_run (ingest->loop);
  cg_whip_client_free (client);
}

static void
expect_error (Ingest *ingest, const char *url, const Reply *reply, const char *says)
{
  ingest->reply = *reply;
  post (ingest, url);
  g_assert_null (ingest->answer);
  g_assert_nonnull (ingest->error);
  if (!strstr (ingest->error->message, says))
    g_error ("%u: \"%s\" does not say \"%s\"", reply->status, ingest->error->message, says);
}

/* @server answers as @ingest says, on a port of 127.0.0.1 it returns. */
static guint
serve (SoupServer *server, Ingest *ingest)
{
  g_autoptr (GError) error = NULL;
  GSList *uris;
  guint port;

  soup_server_add_handler (server, NULL, on_http, ingest, NULL);
  g_assert_true (soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  uris = soup_server_get_uris (server);
  port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return port;
}

static void
test_client (void)
{
  g_autoptr (SoupServer) server = soup_server_new (NULL, NULL);
  Ingest ingest = { .loop = g_main_loop_new (NULL, FALSE) };
  g_autofree char *url = NULL, *moved = NULL, *closed = NULL;
  g_autofree char *location = NULL;
  guint port;

  port = serve (server, &ingest);
  url = g_strdup_printf ("http://127.0.0.1:%u/whip/cam1", port);

  /* a session: the answer, its Location resolved, the Link ice-servers */
  ingest.reply = (Reply) { 201, "/whip/cam1/sessions/1", "application/sdp", ANSWER,
                           "<stun:stun.example.net>; rel=\"ice-server\", "
                           "<turn:turn.example.net?transport=tcp>; rel=\"ice-server\"; "
                           "username=\"u\"; credential=\"p\", <x:y>; rel=\"ice-server\"",
                           "\"e1\"" };
  post (&ingest, url);
  g_assert_no_error (ingest.error);
  g_assert_cmpstr (ingest.answer->sdp, ==, ANSWER);
  g_assert_cmpstr (ingest.answer->etag, ==, "\"e1\"");
  location = g_strdup_printf ("http://127.0.0.1:%u/whip/cam1/sessions/1", port);
  g_assert_cmpstr (ingest.answer->location, ==, location);
  g_assert_cmpuint (ingest.answer->ice_servers->len, ==, 2);
  g_assert_nonnull (strstr (ingest.answer->skipped, "must start with"));

  /* 307: the same POST again, at the new URL */
  moved = g_strdup_printf ("http://127.0.0.1:%u/moved", port);
  ingest.reply = (Reply) { 307, moved, NULL, NULL, NULL };
  post (&ingest, url);
  g_assert_no_error (ingest.error);
  g_free (location);
  location = g_strdup_printf ("http://127.0.0.1:%u/sessions/9", port);
  g_assert_cmpstr (ingest.answer->location, ==, location);
  g_assert_null (ingest.answer->etag);

  /* what goes wrong, in words */
  expect_error (&ingest, url, &(Reply) { 401, NULL, "text/plain", "no", NULL },
                "the WHIP endpoint at 127.0.0.1:");
  g_assert_nonnull (strstr (ingest.error->message, "refused the token (401 Unauthorized): "
                            "check [uplink] token"));
  expect_error (&ingest, url, &(Reply) { 404, NULL, NULL, NULL, NULL }, "has no such endpoint");
  expect_error (&ingest, url, &(Reply) { 409, NULL, NULL, NULL, NULL }, "already has a publisher");
  expect_error (&ingest, url, &(Reply) { 412, NULL, NULL, NULL, NULL },
                "refused a conditional request (412 Precondition Failed): a new session");
  expect_error (&ingest, url, &(Reply) { 422, NULL, NULL, NULL, NULL }, "cannot use the offer");
  expect_error (&ingest, url, &(Reply) { 428, NULL, NULL, NULL, NULL },
                "wants a conditional request (428 Precondition Required): a new session");
  expect_error (&ingest, url, &(Reply) { 503, NULL, NULL, NULL, NULL },
                "failed on its side (503 Service Unavailable)");
  expect_error (&ingest, url, &(Reply) { 500, NULL, NULL, NULL, NULL },
                "failed on its side (500 Internal Server Error): a problem of the service");
  {
    g_autofree char *slow = g_strdup_printf ("http://127.0.0.1:%u/slow", port);
    ingest.timeout_s = 1;
    expect_error (&ingest, slow, &(Reply) { 201, NULL, NULL, NULL, NULL },
                  "did not answer in time: is it up");
    ingest.timeout_s = 0;
    answer_slow (&ingest);
  }
  expect_error (&ingest, url, &(Reply) { 302, moved, NULL, NULL, NULL },
                "redirects with 302, which WHIP forbids");
  expect_error (&ingest, url, &(Reply) { 307, NULL, NULL, NULL, NULL }, "redirects without a Location");
  expect_error (&ingest, url, &(Reply) { 201, NULL, "application/sdp", ANSWER, NULL },
                "201 Created without a usable Location header");
  expect_error (&ingest, url, &(Reply) { 201, "/s/1", "text/html", "<html>", NULL },
                "201 Created without an SDP answer (Content-Type text/html, 6 bytes)");
  expect_error (&ingest, url, &(Reply) { 201, "/s/1", "application/sdp", "hello", NULL },
                "without an SDP answer");
  expect_error (&ingest, url, &(Reply) { 200, "/s/1", "application/sdp", ANSWER, NULL },
                "did not answer 201 Created (200 OK)");

  /* DELETE goes out with the token, and is waited for */
  {
    CgWhipClient *client = cg_whip_client_new (url, "t0k", NULL, NULL, 5);
    cg_whip_client_delete (client, location);
    cg_whip_client_free (client);
    g_assert_cmpuint (cg_whip_deletes_pending (), ==, 1);
    while (cg_whip_deletes_pending ())
      g_main_context_iteration (NULL, TRUE);
    g_assert_cmpuint (ingest.deletes, ==, 1);
  }

  /* nobody listening */
  soup_server_disconnect (server);
  expect_error (&ingest, url, &(Reply) { 201, NULL, NULL, NULL, NULL },
                "refused the connection: is the ingest up");

  g_clear_pointer (&ingest.answer, cg_whip_answer_free);
  g_clear_error (&ingest.error);
  g_main_loop_unref (ingest.loop);
}

static void
on_patched (CgWhipTrickle result, const char *etag, const GError *error, gpointer data)
{
  Ingest *ingest = data;

  ingest->trickle = result;
  g_free (ingest->trickle_etag);
  ingest->trickle_etag = g_strdup (etag);
  ingest->error = error ? g_error_copy (error) : NULL;
  g_main_loop_quit (ingest->loop);
}

/* PATCHes FRAG to @url with @etag, answered with @reply. */
static void
patch (Ingest *ingest, const char *url, const char *etag, const Reply *reply)
{
  CgWhipClient *client = cg_whip_client_new (url, "t0k", NULL, NULL,
                                             ingest->timeout_s ? ingest->timeout_s : 5);

  g_clear_error (&ingest->error);
  ingest->reply = *reply;
  cg_whip_client_patch (client, url, etag, FRAG, on_patched, ingest);
  g_main_loop_run (ingest->loop);
  cg_whip_client_free (client);
}

static void
expect_patch_error (Ingest *ingest, const char *url, guint status, CgWhipTrickle result,
                    const char *says)
{
  patch (ingest, url, "\"e1\"", &(Reply) { status });
  g_assert_cmpint (ingest->trickle, ==, result);
  g_assert_nonnull (ingest->error);
  if (!strstr (ingest->error->message, says))
    g_error ("%u: \"%s\" does not say \"%s\"", status, ingest->error->message, says);
  g_assert_true (g_str_has_prefix (ingest->error->message, "the WHIP endpoint at 127.0.0.1:"));
}

/* From an https:// endpoint, a Location (of a session or a redirect) that
 * is not https:// is refused: the token would follow it in clear. */
static void
test_location_downgrade (void)
{
  g_autofree char *dir = g_dir_make_tmp ("cg-test-whip-XXXXXX", NULL);
  g_autofree char *pem = g_build_filename (dir, "server.pem", NULL);
  g_autofree char *key = g_build_filename (dir, "server.key", NULL);
  g_autofree char *cmd = g_strdup_printf (
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
      "-keyout %s -out %s -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1", key, pem);
  g_autofree char *err = NULL, *url = NULL, *plain = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) cert = NULL;
  g_autoptr (SoupServer) server = NULL;
  Ingest ingest = { .loop = g_main_loop_new (NULL, FALSE) };
  GSList *uris;
  int status;

  g_assert_true (g_spawn_command_line_sync (cmd, NULL, &err, &status, NULL));
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s failed: %s", cmd, err);
  cert = g_tls_certificate_new_from_files (pem, key, &error);
  g_assert_no_error (error);
  ingest.database = g_tls_file_database_new (pem, &error);
  g_assert_no_error (error);
  server = soup_server_new ("tls-certificate", cert, NULL);
  soup_server_add_handler (server, NULL, on_http, &ingest, NULL);
  g_assert_true (soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY |
                                           SOUP_SERVER_LISTEN_HTTPS, &error));
  uris = soup_server_get_uris (server);
  url = g_strdup_printf ("https://127.0.0.1:%d/whip/cam1", g_uri_get_port (uris->data));
  plain = g_strdup_printf ("http://127.0.0.1:%d/whip/cam1/sessions/1",
                           g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  /* over https, a relative Location stays https */
  ingest.reply = (Reply) { 201, "sessions/1", "application/sdp", ANSWER, NULL };
  post (&ingest, url);
  g_assert_no_error (ingest.error);
  g_assert_true (g_str_has_prefix (ingest.answer->location, "https://127.0.0.1:"));
  expect_error (&ingest, url, &(Reply) { 201, plain, "application/sdp", ANSWER, NULL },
                "answered 201 Created with a Location that is not https://: refused, the token "
                "would go to it in clear");
  expect_error (&ingest, url, &(Reply) { 307, plain, NULL, NULL, NULL },
                "redirects to an URL that is not https://: refused");

  g_clear_pointer (&ingest.answer, cg_whip_answer_free);
  g_clear_error (&ingest.error);
  g_clear_object (&ingest.database);
  g_main_loop_unref (ingest.loop);
  g_assert_cmpint (g_remove (pem), ==, 0);
  g_assert_cmpint (g_remove (key), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
test_trickle (void)
{
  static const struct { guint status; CgWhipTrickle result; const char *says; } answers[] = {
    { 405, CG_WHIP_TRICKLE_UNSUPPORTED, "does not take trickled candidates (405 Method Not "
      "Allowed): camgate offers every candidate in the POST" },
    { 501, CG_WHIP_TRICKLE_UNSUPPORTED, "does not take trickled candidates (501 Not Implemented)" },
    { 400, CG_WHIP_TRICKLE_UNSUPPORTED, "does not take trickled candidates (400 Bad Request)" },
    { 415, CG_WHIP_TRICKLE_UNSUPPORTED, "does not take trickled candidates (415 Unsupported "
      "Media Type)" },
    { 422, CG_WHIP_TRICKLE_UNSUPPORTED, "does not take trickled candidates (422 " },
    { 412, CG_WHIP_TRICKLE_FAILED, "its ETag does not match (412 Precondition Failed): a new "
      "session will be offered" },
    { 428, CG_WHIP_TRICKLE_FAILED, "If-Match was not enough (428 Precondition Required): a new "
      "session" },
    { 404, CG_WHIP_TRICKLE_FAILED, "no longer has the session the trickled candidates were for "
      "(404 Not Found)" },
    { 503, CG_WHIP_TRICKLE_FAILED, "failed on its side (503 Service Unavailable): a problem of "
      "the service" },
    { 403, CG_WHIP_TRICKLE_FAILED, "refused trickled candidates (403 Forbidden)" },
  };
  g_autoptr (SoupServer) server = soup_server_new (NULL, NULL);
  Ingest ingest = { .loop = g_main_loop_new (NULL, FALSE) };
  g_autofree char *url = NULL, *slow = NULL;
  guint port;

  port = serve (server, &ingest);
  url = g_strdup_printf ("http://127.0.0.1:%u/whip/cam1/sessions/1", port);

  /* taken: the sdpfrag as it is, with If-Match and the token */
  patch (&ingest, url, "\"e1\"", &(Reply) { 204 });
  g_assert_no_error (ingest.error);
  g_assert_cmpint (ingest.trickle, ==, CG_WHIP_TRICKLE_TAKEN);
  g_assert_cmpstr (ingest.patch_type, ==, "application/trickle-ice-sdpfrag");
  g_assert_cmpstr (ingest.patch_if_match, ==, "\"e1\"");
  g_assert_cmpstr (ingest.patch_body, ==, FRAG);
  g_assert_null (ingest.trickle_etag);
  /* a 200 with a new ETag (its body, the ingest's candidates, is ignored) */
  patch (&ingest, url, "\"e1\"", &(Reply) { 200, NULL, "application/trickle-ice-sdpfrag",
                                             "a=end-of-candidates\r\n", NULL, "\"e2\"" });
  g_assert_no_error (ingest.error);
  g_assert_cmpint (ingest.trickle, ==, CG_WHIP_TRICKLE_TAKEN);
  g_assert_cmpstr (ingest.trickle_etag, ==, "\"e2\"");
  /* no ETag from the 201: no If-Match */
  patch (&ingest, url, NULL, &(Reply) { 204 });
  g_assert_null (ingest.patch_if_match);

  /* 405, 501 (and 400, 415, 422: it cannot read the sdpfrag): an endpoint
   * that does not trickle, the caller falls back to a complete offer; the
   * others end the session, in words */
  for (guint i = 0; i < G_N_ELEMENTS (answers); i++)
    expect_patch_error (&ingest, url, answers[i].status, answers[i].result, answers[i].says);
  patch (&ingest, url, NULL, &(Reply) { 428 });
  g_assert_cmpint (ingest.trickle, ==, CG_WHIP_TRICKLE_UNSUPPORTED);
  g_assert_nonnull (strstr (ingest.error->message, "wants trickled candidates with If-Match, and "
                            "its 201 Created gave no ETag (428 Precondition Required): camgate "
                            "offers every candidate in the POST from now on"));
  slow = g_strdup_printf ("http://127.0.0.1:%u/slow", port);
  ingest.timeout_s = 1;
  expect_patch_error (&ingest, slow, 204, CG_WHIP_TRICKLE_FAILED,
                      "did not answer in time: is it up");
  answer_slow (&ingest);

  /* a PATCH cancelled (the session ends first): not called back */
  {
    CgWhipClient *client = cg_whip_client_new (slow, "t0k", NULL, NULL, 5);
    cg_whip_client_patch (client, slow, NULL, FRAG, NULL, NULL);
    while (!ingest.slow)
      g_main_context_iteration (NULL, TRUE);
    cg_whip_client_free (client);
    answer_slow (&ingest);
  }

  g_clear_error (&ingest.error);
  g_free (ingest.patch_type);
  g_free (ingest.patch_if_match);
  g_free (ingest.patch_body);
  g_free (ingest.trickle_etag);
  g_main_loop_unref (ingest.loop);
}

static void
test_status_messages (void)
{
  static const struct { guint status; const char *says; } cases[] = {
    { 401, "refused the token (401 Unauthorized): check [uplink] token" },
    { 403, "(403 Forbidden)" },
    { 404, "has no such endpoint (404 Not Found): check [uplink] url" },
    { 409, "already has a publisher" },
    { 412, "(412 Precondition Failed)" },
    { 422, "cannot use the offer" },
    { 428, "wants a conditional request (428 " },
    { 500, "failed on its side (500 Internal Server Error)" },
    { 503, "failed on its side (503 Service Unavailable)" },
    { 410, "refused the session (410 Gone): check [uplink] url and token" },
    { 200, "did not answer 201 Created (200 OK)" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *m = cg_whip_status_message ("the WHIP endpoint at h:443", cases[i].status, NULL);
    g_assert_true (g_str_has_prefix (m, "the WHIP endpoint at h:443 "));
    if (!strstr (m, cases[i].says))
      g_error ("%u: \"%s\" does not say \"%s\"", cases[i].status, m, cases[i].says);
  }
}

/* Loopback and link-local IPv6 are never offered; with every interface on
 * the camera side, no address is left (the uplink then does not restrict). */
static void
test_local_addresses (void)
{
  g_autoptr (GError) error = NULL;
  const char *const none[] = { NULL };
  g_autoptr (GPtrArray) open = cg_ice_local_addresses (none, &error);
  g_autoptr (GPtrArray) sealed = NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  struct if_nameindex *all = if_nameindex ();

  g_assert_no_error (error);
  for (guint i = 0; i < open->len; i++) {
    g_autoptr (GInetAddress) a = g_inet_address_new_from_string (open->pdata[i]);
    g_assert_nonnull (a);
    g_assert_false (g_inet_address_get_is_loopback (a));
    g_assert_false (g_inet_address_get_family (a) == G_SOCKET_FAMILY_IPV6 &&
                    g_inet_address_get_is_link_local (a));
  }
  g_assert_nonnull (all);
  for (guint i = 0; all[i].if_index; i++)
    g_ptr_array_add (names, all[i].if_name);
  g_ptr_array_add (names, NULL);
  sealed = cg_ice_local_addresses ((const char *const *) names->pdata, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sealed->len, ==, 0);
  if_freenameindex (all);
}

#endif

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);
  g_test_add_func ("/whip/ice-server-forms", test_ice_server_forms);
  g_test_add_func ("/whip/ice-server-secret-kept", test_ice_server_secret_kept);
  g_test_add_func ("/whip/link-headers", test_link_headers);
  g_test_add_func ("/whip/link-headers-malformed", test_link_headers_malformed);
  g_test_add_func ("/whip/caps", test_caps);
  g_test_add_func ("/whip/caps-h265", test_caps_h265);
  g_test_add_func ("/whip/plan", test_plan);
  g_test_add_func ("/whip/sdp-candidates", test_sdp_candidates);
  g_test_add_func ("/whip/sdpfrag", test_sdpfrag);
#ifdef CG_WITH_WEBRTC
  g_test_add_func ("/whip/status-messages", test_status_messages);
  g_test_add_func ("/whip/client", test_client);
  g_test_add_func ("/whip/location-downgrade", test_location_downgrade);
  g_test_add_func ("/whip/trickle", test_trickle);
  g_test_add_func ("/whip/local-addresses", test_local_addresses);
#endif
  return g_test_run ();
}
