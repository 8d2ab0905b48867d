/* RTSP on the wire: parsing what cameras and ingests send (including what
 * they should not), requests, credentials, headers, and the SDP camgate
 * reads from a camera and writes to an ingest. */
#include <string.h>

#include "error.h"
#include "media.h"
#include "rtsp.h"

static gssize
parse (const char *text, CgRtspItem *item, GError **error)
{
  return cg_rtsp_parse ((const guint8 *) text, strlen (text), item, "the camera", error);
}

static void
test_parse_response (void)
{
  const char *text = "RTSP/1.0 200 OK\r\nCSeq: 3\r\nContent-Base: rtsp://cam/s/\r\n"
                     "Session: abc;\r\n  timeout=30\r\nContent-Length: 5\r\n\r\nv=0\r\n$";
  CgRtspItem item;
  g_autoptr (GError) error = NULL;
  gssize n = parse (text, &item, &error);
  guint timeout;
  g_autofree char *id = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (n, ==, strlen (text) - 1);
  g_assert_cmpint (item.kind, ==, CG_RTSP_ITEM_MESSAGE);
  g_assert_cmpuint (item.message->status, ==, 200);
  g_assert_cmpstr (item.message->reason, ==, "OK");
  g_assert_null (item.message->method);
  g_assert_cmpint (cg_rtsp_message_cseq (item.message), ==, 3);
  g_assert_cmpstr (cg_rtsp_message_header (item.message, "content-base"), ==, "rtsp://cam/s/");
  g_assert_cmpuint (g_bytes_get_size (item.message->body), ==, 5);
  /* a folded header line joins the one before */
  id = cg_rtsp_session_parse (cg_rtsp_message_header (item.message, "Session"), &timeout);
  g_assert_cmpstr (id, ==, "abc");
  g_assert_cmpuint (timeout, ==, 30);
  cg_rtsp_message_free (item.message);

  /* the body is not all there yet */
  n = parse ("RTSP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nv=0", &item, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 0);
  g_assert_cmpint (item.kind, ==, CG_RTSP_ITEM_NONE);
  n = parse ("RTSP/1.0 200 OK\r\nCSeq: 1\r\n", &item, &error);
  g_assert_cmpint (n, ==, 0);

  /* bare LF line ends (RFC 2326, 4), and no reason phrase */
  n = parse ("RTSP/1.0 404\nCSeq: 7\n\n", &item, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 22);
  g_assert_cmpuint (item.message->status, ==, 404);
  g_assert_cmpstr (item.message->reason, ==, "");
  g_assert_cmpint (cg_rtsp_message_cseq (item.message), ==, 7);
  cg_rtsp_message_free (item.message);

  /* blank lines between messages are taken, and are nothing */
  n = parse ("\r\n\r\nRTSP/1.0 200 OK\r\n\r\n", &item, &error);
  g_assert_cmpint (n, ==, 4);
  g_assert_cmpint (item.kind, ==, CG_RTSP_ITEM_NONE);
}

static void
test_parse_request_and_data (void)
{
  static const guint8 data[] = { '$', 1, 0, 3, 0xaa, 0xbb, 0xcc, '$', 0, 0 };
  CgRtspItem item;
  gssize n;

  n = parse ("GET_PARAMETER rtsp://gw/ RTSP/1.0\r\nCSeq: 9\r\n\r\n", &item, NULL);
  g_assert_cmpint (n, >, 0);
  g_assert_cmpstr (item.message->method, ==, "GET_PARAMETER");
  g_assert_cmpuint (item.message->status, ==, 0);
  cg_rtsp_message_free (item.message);

  n = cg_rtsp_parse (data, sizeof data, &item, "x", NULL);
  g_assert_cmpint (n, ==, 7);
  g_assert_cmpint (item.kind, ==, CG_RTSP_ITEM_DATA);
  g_assert_cmpuint (item.channel, ==, 1);
  g_assert_cmpuint (item.size, ==, 3);
  g_assert_cmpuint (item.data[2], ==, 0xcc);
  n = cg_rtsp_parse (data + 7, 3, &item, "x", NULL);
  g_assert_cmpint (n, ==, 0);                  /* the length is not all there */
}

static void
test_parse_garbage (void)
{
  CgRtspItem item;
  GError *error = NULL;
  g_autofree char *huge = NULL;

  g_assert_cmpint (parse ("HTTP/1.1 200 OK\r\n\r\n", &item, &error), ==, -1);
  g_assert_error (error, CG_ERROR, CG_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (error->message, "the camera sent bytes that are not RTSP"));
  g_clear_error (&error);
  g_assert_cmpint (parse ("RTSP/1.0 abc OK\r\n\r\n", &item, &error), ==, -1);
  g_clear_error (&error);
  g_assert_cmpint (parse ("RTSP/1.0 200 OK\r\nno colon here\r\n\r\n", &item, &error), ==, -1);
  g_clear_error (&error);
  g_assert_cmpint (parse ("RTSP/1.0 200 OK\r\nContent-Length: 999999\r\n\r\n", &item, &error),
                   ==, -1);
  g_assert_nonnull (strstr (error->message, "999999"));
  g_clear_error (&error);
  g_assert_cmpint (parse ("RTSP/1.0 200 OK\r\nContent-Length: -1\r\n\r\n", &item, &error), ==, -1);
  g_clear_error (&error);
  g_assert_cmpint (parse ("RTSP/2.0 200\r\n\r\n", &item, &error), ==, -1);
  g_clear_error (&error);
  g_assert_cmpint (cg_rtsp_parse ((const guint8 *) "RTSP/1.0 200 OK\r\nX: a\0b\r\n\r\n", 27,
                                  &item, "the camera", &error), ==, -1);
  g_clear_error (&error);
  /* a header that never ends */
  huge = g_strnfill (CG_RTSP_MAX_HEADER + 10, 'a');
  memcpy (huge, "RTSP/1.0 200 OK\r\nX: ", 20);
  g_assert_cmpint (parse (huge, &item, &error), ==, -1);
  g_assert_nonnull (strstr (error->message, "header of more than"));
  g_clear_error (&error);
}

static void
test_write_request (void)
{
  g_autoptr (GString) out = g_string_new (NULL);
  const char *headers[] = { "Accept: application/sdp", NULL };

  cg_rtsp_write_request (out, "DESCRIBE", "rtsp://cam/s", 2, headers, NULL, NULL);
  g_assert_true (g_str_has_prefix (out->str, "DESCRIBE rtsp://cam/s RTSP/1.0\r\nCSeq: 2\r\n"
                                             "Accept: application/sdp\r\n"));
  g_assert_true (g_str_has_suffix (out->str, "\r\n\r\n"));
  g_string_truncate (out, 0);
  cg_rtsp_write_request (out, "ANNOUNCE", "rtsps://i/x", 1, NULL, "application/sdp", "v=0\r\n");
  g_assert_nonnull (strstr (out->str, "Content-Type: application/sdp\r\nContent-Length: 5\r\n"
                                      "\r\nv=0\r\n"));
}

static CgRtspMessage *
response_401 (const char *const *challenges)
{
  GString *text = g_string_new ("RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\n");
  CgRtspItem item;

  for (guint i = 0; challenges[i]; i++)
    g_string_append_printf (text, "WWW-Authenticate: %s\r\n", challenges[i]);
  g_string_append (text, "\r\n");
  g_assert_cmpint (parse (text->str, &item, NULL), >, 0);
  g_string_free (text, TRUE);
  return item.message;
}

static void
test_auth (void)
{
  const char *basic[] = { "Basic realm=\"cam\"", NULL };
  /* RFC 2617, 3.5: the response is known */
  const char *digest[] = { "Basic realm=\"x\"",
                           "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
                           "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
                           "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"", NULL };
  const char *plain[] = { "Digest realm=\"r\", nonce=\"n\"", NULL };
  const char *unknown[] = { "Negotiate abc", NULL };
  const char *auth_int[] = { "Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"", NULL };
  const char *quoted[] = { "Digest realm=\"a \\\"b\\\"\", nonce=\"n\"", NULL };
  g_autoptr (CgRtspAuth) auth = cg_rtsp_auth_new ("Aladdin", "open sesame");
  g_autoptr (CgRtspAuth) mufasa = cg_rtsp_auth_new ("Mufasa", "Circle Of Life");
  CgRtspMessage *m;
  GError *error = NULL;
  char *h;

  g_assert_null (cg_rtsp_auth_header (auth, "DESCRIBE", "rtsp://cam/"));
  m = response_401 (basic);
  g_assert_true (cg_rtsp_auth_challenge (auth, m, NULL));
  cg_rtsp_message_free (m);
  h = cg_rtsp_auth_header (auth, "DESCRIBE", "rtsp://cam/");
  g_assert_cmpstr (h, ==, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  g_free (h);

  m = response_401 (digest);
  g_assert_true (cg_rtsp_auth_challenge (mufasa, m, NULL));
  cg_rtsp_message_free (m);
  cg_rtsp_auth_set_cnonce (mufasa, "0a4f113b");
  h = cg_rtsp_auth_header (mufasa, "GET", "/dir/index.html");
  g_assert_nonnull (strstr (h, "response=\"6629fae49393a05397450978507c4ef1\""));
  g_assert_nonnull (strstr (h, "nc=00000001"));
  g_assert_nonnull (strstr (h, "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""));
  g_free (h);
  h = cg_rtsp_auth_header (mufasa, "GET", "/dir/index.html");
  g_assert_nonnull (strstr (h, "nc=00000002"));
  g_free (h);

  /* no qop: RFC 2069's response, MD5(HA1:nonce:HA2) */
  m = response_401 (plain);
  g_assert_true (cg_rtsp_auth_challenge (auth, m, NULL));
  cg_rtsp_message_free (m);
  h = cg_rtsp_auth_header (auth, "OPTIONS", "rtsp://c/");
  {
    g_autofree char *ha1 = g_compute_checksum_for_string (G_CHECKSUM_MD5, "Aladdin:r:open sesame", -1);
    g_autofree char *ha2 = g_compute_checksum_for_string (G_CHECKSUM_MD5, "OPTIONS:rtsp://c/", -1);
    g_autofree char *all = g_strdup_printf ("%s:n:%s", ha1, ha2);
    g_autofree char *resp = g_compute_checksum_for_string (G_CHECKSUM_MD5, all, -1);
    g_autofree char *want = g_strdup_printf ("response=\"%s\"", resp);
    g_assert_nonnull (strstr (h, want));
    g_assert_null (strstr (h, "qop"));
  }
  g_free (h);

  m = response_401 (unknown);
  g_assert_false (cg_rtsp_auth_challenge (auth, m, &error));
  g_assert_nonnull (strstr (error->message, "Negotiate"));
  g_clear_error (&error);
  cg_rtsp_message_free (m);

  /* RFC 7616: only a qop the server offers may be used */
  m = response_401 (auth_int);
  g_assert_false (cg_rtsp_auth_challenge (auth, m, &error));
  g_assert_nonnull (strstr (error->message, "auth-int"));
  g_clear_error (&error);
  cg_rtsp_message_free (m);
  g_assert_null (cg_rtsp_auth_header (auth, "OPTIONS", "rtsp://c/"));

  /* a realm with quotes goes back escaped */
  m = response_401 (quoted);
  g_assert_true (cg_rtsp_auth_challenge (auth, m, NULL));
  cg_rtsp_message_free (m);
  h = cg_rtsp_auth_header (auth, "OPTIONS", "rtsp://c/");
  g_assert_nonnull (strstr (h, "realm=\"a \\\"b\\\"\""));
  g_free (h);
}

static void
test_headers (void)
{
  CgRtspTransport t;
  GError *error = NULL;
  guint timeout;
  g_autofree char *id = NULL;

  g_assert_true (cg_rtsp_transport_parse ("RTP/AVP/TCP;unicast;interleaved=2-3;ssrc=1A2B3C4D",
                                          &t, NULL));
  g_assert_true (t.tcp);
  g_assert_true (t.interleaved_set);
  g_assert_cmpuint (t.interleaved[0], ==, 2);
  g_assert_cmpuint (t.interleaved[1], ==, 3);
  g_assert_true (t.ssrc_set);
  g_assert_cmphex (t.ssrc, ==, 0x1a2b3c4d);
  g_assert_true (cg_rtsp_transport_parse ("RTP/AVP;unicast;client_port=5000-5001;"
                                          "server_port=6970-6971", &t, NULL));
  g_assert_false (t.tcp);
  g_assert_false (t.interleaved_set);
  g_assert_cmpuint (t.server_port[0], ==, 6970);
  g_assert_cmpuint (t.server_port[1], ==, 6971);
  g_assert_false (cg_rtsp_transport_parse ("RAW/RAW/UDP;unicast", &t, &error));
  g_assert_nonnull (strstr (error->message, "RAW/RAW/UDP"));
  g_clear_error (&error);
  g_assert_false (cg_rtsp_transport_parse ("RTP/AVP/TCP;interleaved=300-301", &t, &error));
  g_clear_error (&error);
  g_assert_false (cg_rtsp_transport_parse ("RTP/AVP/TCP;interleaved=", &t, &error));
  g_clear_error (&error);
  g_assert_false (cg_rtsp_transport_parse ("", &t, &error));
  g_assert_nonnull (strstr (error->message, "empty"));
  g_clear_error (&error);
  g_assert_false (cg_rtsp_transport_parse (", RTP/AVP", &t, &error));
  g_clear_error (&error);

  id = cg_rtsp_session_parse ("12345678", &timeout);
  g_assert_cmpstr (id, ==, "12345678");
  g_assert_cmpuint (timeout, ==, 60);
  g_assert_null (cg_rtsp_session_parse ("  ", &timeout));
  g_assert_null (cg_rtsp_session_parse ("", &timeout));
  g_assert_null (cg_rtsp_session_parse (";timeout=5", &timeout));

  {
    g_autofree char *a = cg_rtsp_control_resolve ("rtsp://cam/s/", "trackID=1");
    g_autofree char *b = cg_rtsp_control_resolve ("rtsp://cam/s", "trackID=1");
    g_autofree char *c = cg_rtsp_control_resolve ("rtsp://cam/s", "rtsp://other/x");
    g_autofree char *d = cg_rtsp_control_resolve ("rtsp://cam/s", "*");
    g_autofree char *e = cg_rtsp_control_resolve ("rtsp://cam:554/a/b", "/x/track1");
    g_autofree char *f = cg_rtsp_control_resolve ("rtsp://cam/s", "RTSP://other/y");
    g_assert_cmpstr (e, ==, "rtsp://cam:554/x/track1");
    g_assert_cmpstr (f, ==, "RTSP://other/y");
    g_assert_cmpstr (a, ==, "rtsp://cam/s/trackID=1");
    g_assert_cmpstr (b, ==, "rtsp://cam/s/trackID=1");
    g_assert_cmpstr (c, ==, "rtsp://other/x");
    g_assert_cmpstr (d, ==, "rtsp://cam/s");
  }
}

/* What a typical camera describes: H.264, AAC, and an ONVIF metadata stream. */
static const char camera_sdp[] =
  "v=0\r\no=- 1 1 IN IP4 10.20.0.11\r\ns=Media\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
  "a=control:*\r\n"
  "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
  "a=fmtp:96 packetization-mode=1;profile-level-id=640028;sprop-parameter-sets=Z2QAKA==,aO4=\r\n"
  "a=control:trackID=1\r\n"
  "m=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/16000/1\r\n"
  "a=fmtp:97 streamtype=5;mode=AAC-hbr;config=1408;sizelength=13;indexlength=3\r\n"
  "a=control:trackID=2\r\n"
  "m=application 0 RTP/AVP 107\r\na=rtpmap:107 vnd.onvif.metadata/90000\r\n"
  "a=control:trackID=3\r\n";

static void
test_sdp (void)
{
  CgStreamDesc *streams[CG_STREAM_N];
  g_autoptr (GString) skipped = g_string_new (NULL);
  g_autofree char *aggregate = NULL, *sdp = NULL, *sig = NULL;
  g_autoptr (CgFormat) format = NULL;
  guint8 pts[CG_STREAM_N];
  GError *error = NULL;

  g_assert_true (cg_sdp_pick_streams (camera_sdp, strlen (camera_sdp), "rtsp://10.20.0.11/live/",
                                      streams, &aggregate, skipped, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (aggregate, ==, "rtsp://10.20.0.11/live/");
  g_assert_cmpstr (streams[CG_STREAM_VIDEO]->encoding, ==, "H264");
  g_assert_cmpuint (streams[CG_STREAM_VIDEO]->clock_rate, ==, 90000);
  g_assert_cmpstr (streams[CG_STREAM_VIDEO]->control, ==, "rtsp://10.20.0.11/live/trackID=1");
  g_assert_true (g_str_has_prefix (streams[CG_STREAM_VIDEO]->fmtp, "packetization-mode=1;"));
  g_assert_cmpstr (cg_stream_desc_codec (streams[CG_STREAM_AUDIO]), ==, "aac");
  g_assert_cmpuint (streams[CG_STREAM_AUDIO]->clock_rate, ==, 16000);
  g_assert_cmpuint (streams[CG_STREAM_AUDIO]->channels, ==, 1);
  g_assert_nonnull (strstr (skipped->str, "stream 2 not relayed"));
  g_assert_nonnull (strstr (skipped->str, "VND.ONVIF.METADATA"));

  format = cg_format_new (1, streams);
  sig = cg_format_signature (format);
  g_assert_cmpstr (sig, ==, "h264+aac/16000/1");
  sdp = cg_sdp_for_ingest (format, "192.0.2.1", pts);
  g_assert_cmpuint (pts[CG_STREAM_VIDEO], ==, 96);
  g_assert_cmpuint (pts[CG_STREAM_AUDIO], ==, 97);
  g_assert_nonnull (strstr (sdp, "o=- "));
  g_assert_nonnull (strstr (sdp, " IN IP4 192.0.2.1\r\n"));
  g_assert_nonnull (strstr (sdp, "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
                                 "a=fmtp:96 packetization-mode=1;"));
  g_assert_nonnull (strstr (sdp, "a=control:streamid=0\r\n"));
  g_assert_nonnull (strstr (sdp, "a=rtpmap:97 MPEG4-GENERIC/16000/1\r\n"
                                 "a=fmtp:97 streamtype=5;mode=AAC-hbr;config=1408;"));
  g_assert_nonnull (strstr (sdp, "a=control:streamid=1\r\n"));
  for (int i = 0; i < CG_STREAM_N; i++)
    cg_stream_desc_free (streams[i]);
}

static void
test_sdp_refused (void)
{
  const char *only_mjpeg = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=x\r\nt=0 0\r\n"
                          "m=video 0 RTP/AVP 26\r\na=control:t1\r\n";
  const char *same_pt = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=x\r\nt=0 0\r\n"
                        "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H265/90000\r\n"
                        "m=audio 0 RTP/AVP 96\r\na=rtpmap:96 PCMA/8000\r\n"
                        "m=audio 0 RTP/AVP 0\r\n";
  CgStreamDesc *streams[CG_STREAM_N];
  g_autoptr (GString) skipped = g_string_new (NULL);
  g_autoptr (CgFormat) format = NULL;
  g_autofree char *aggregate = NULL, *sdp = NULL;
  guint8 pts[CG_STREAM_N];
  GError *error = NULL;

  g_assert_false (cg_sdp_pick_streams ("garbage", 7, "rtsp://c/", streams, &aggregate, NULL,
                                       &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_PROTOCOL);
  g_clear_error (&error);
  g_assert_false (cg_sdp_pick_streams (only_mjpeg, strlen (only_mjpeg), "rtsp://c/", streams,
                                       &aggregate, skipped, &error));
  g_assert_nonnull (strstr (error->message, "no stream camgate relays"));
  g_assert_nonnull (strstr (error->message, "video payload type 26 is not a codec"));
  g_clear_error (&error);

  /* H.265 and A-law on the same payload type: the ingest gets two; the
   * second audio stream (static PCMU) is left out */
  g_string_truncate (skipped, 0);
  g_assert_true (cg_sdp_pick_streams (same_pt, strlen (same_pt), "rtsp://c/s", streams,
                                      &aggregate, skipped, NULL));
  g_assert_cmpstr (streams[CG_STREAM_AUDIO]->encoding, ==, "PCMA");
  g_assert_cmpstr (streams[CG_STREAM_AUDIO]->control, ==, "rtsp://c/s");
  g_assert_nonnull (strstr (skipped->str, "one audio stream is relayed"));
  format = cg_format_new (1, streams);
  sdp = cg_sdp_for_ingest (format, "2001:db8::1", pts);
  g_assert_cmpuint (pts[CG_STREAM_VIDEO], ==, 96);
  g_assert_cmpuint (pts[CG_STREAM_AUDIO], ==, 97);
  g_assert_nonnull (strstr (sdp, "IN IP6 2001:db8::1"));
  g_assert_nonnull (strstr (sdp, "a=rtpmap:97 PCMA/8000\r\n"));
  for (int i = 0; i < CG_STREAM_N; i++)
    cg_stream_desc_free (streams[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rtsp/parse-response", test_parse_response);
  g_test_add_func ("/rtsp/parse-request-and-data", test_parse_request_and_data);
  g_test_add_func ("/rtsp/parse-garbage", test_parse_garbage);
  g_test_add_func ("/rtsp/write-request", test_write_request);
  g_test_add_func ("/rtsp/auth", test_auth);
  g_test_add_func ("/rtsp/headers", test_headers);
  g_test_add_func ("/rtsp/sdp", test_sdp);
  g_test_add_func ("/rtsp/sdp-refused", test_sdp_refused);
  return g_test_run ();
}
