/* cg-benchingest: the relay benchmark's ingest (tests/bench/run). It never
 * decodes and writes no file: it only counts.
 *
 * It takes H.264 over RTP, RTSP/TCP interleaved, three ways, so that one
 * piece of code measures every contender:
 *   --listen ADDR:PORT       an RTSP(S) server in RECORD mode: relays push to
 *                            it (ANNOUNCE, SETUP, RECORD) as to a cloud ingest
 *   --pull-listen ADDR:PORT  accepts a connection (TLS with --cert) that a byte
 *                            pipe opened, then speaks as the RTSP client
 *                            through it (DESCRIBE, SETUP, PLAY of camK, K
 *                            counting accepted connections from 1)
 *   --pull URL               connects to URL (plain TCP) and plays it
 * In each access unit it finds the SEI the camera fixture inserted (see
 * benchproto.h): latency = arrival of the access unit's last packet - its
 * send time (both CLOCK_MONOTONIC on one machine); frames lost = gaps in the
 * counter. It also times, per session, from its connection (accepted, or
 * made for --pull) to the first IDR picture: how long a new sink waits for
 * its first decodable frame, whether the relay holds back RECORD until it
 * has a keyframe or sends RECORD at once and the keyframe later.
 *
 * SIGUSR1 starts a new measuring window: every counter but the sessions'
 * first-keyframe times restarts from zero. --stats FILE is rewritten (temporary
 * file + rename) every 250 ms with the window's figures. */
#define G_LOG_DOMAIN "cg-benchingest"

#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "benchproto.h"

#define STATS_INTERVAL_MS 250
#define READ_CHUNK (64 * 1024)
/* Latency histogram: 10 µs buckets up to 100 ms, then 1 ms up to 10 s. */
#define FINE_US 10
#define FINE_BUCKETS 10000
#define COARSE_US 1000
#define COARSE_BUCKETS 9900

typedef struct {
  char *name;                   /* "cam1" */
  guint64 frames, lost, no_sei, bytes, sessions;
  gboolean has_next;
  guint64 next;                 /* the counter expected next */
  double first_key_ms;          /* last session's wait for an IDR; -1 none yet */
} Stream;

typedef enum { ROLE_SERVER, ROLE_CLIENT } Role;
typedef enum { PULL_DESCRIBE, PULL_SETUP, PULL_PLAY, PULL_PLAYING } PullState;

typedef struct {
  GIOStream *io;
  GSocketConnection *tcp;
  char *peer;
  Role role;
  PullState pull_state;
  char *url;                    /* client: what it plays */
  char *session;
  guint cseq;
  GSource *source;
  GByteArray *buf;
  Stream *stream;
  int channel;                  /* interleaved RTP channel of the video; -1 none */
  gint64 start_ns;              /* accepted or connected: a new sink's wait starts */
  gboolean key_seen;
  /* the access unit being received */
  gboolean au_open, au_sei;
  guint32 au_ts;
  guint64 au_counter;
  gint64 au_send_ns;
  guint8 fu_sei[CG_BENCH_SEI_MAX];
  gsize fu_sei_len;
  gboolean fu_sei_open;
} Conn;

static struct {
  char **listen;
  char **pull_listen;
  char **pull;
  char *cert, *key;
  char *stats;
} opt;

static const GOptionEntry entries[] = {
  { "listen", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt.listen, "RECORD server (TLS with --cert); repeatable", "ADDR:PORT" },
  { "pull-listen", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt.pull_listen, "Accept, then play camK through the connection; repeatable", "ADDR:PORT" },
  { "pull", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt.pull, "Play this rtsp:// URL over TCP; repeatable", "URL" },
  { "cert", 0, 0, G_OPTION_ARG_FILENAME, &opt.cert, "PEM certificate: listen with TLS", "FILE" },
  { "key", 0, 0, G_OPTION_ARG_FILENAME, &opt.key, "PEM private key of --cert", "FILE" },
  { "stats", 0, 0, G_OPTION_ARG_FILENAME, &opt.stats, "Write the window's figures to FILE every 250 ms", "FILE" },
  { NULL }
};

static struct {
  GTlsCertificate *cert;
  GHashTable *streams;          /* name -> Stream*, owned */
  GPtrArray *conns;             /* element-type Conn*, owned */
  guint pulled;                 /* connections accepted on --pull-listen */
  guint32 hist[FINE_BUCKETS + COARSE_BUCKETS];
  guint64 hist_n, lat_max_us;
  gint64 window_ns;
} ing;

/* --- counting ------------------------------------------------------------ */

static Stream *
stream_get (const char *name)
{
  Stream *s = g_hash_table_lookup (ing.streams, name);

  if (!s) {
    s = g_new0 (Stream, 1);
    s->name = g_strdup (name);
    s->first_key_ms = -1;
    g_hash_table_insert (ing.streams, s->name, s);
  }
  return s;
}

static void
stream_free (gpointer p)
{
  Stream *s = p;

  g_free (s->name);
  g_free (s);
}

static void
latency_add (gint64 us)
{
  guint b;

  us = MAX (us, 0);
  if (us < FINE_US * FINE_BUCKETS)
    b = us / FINE_US;
  else
    b = FINE_BUCKETS + MIN ((us - FINE_US * FINE_BUCKETS) / COARSE_US, COARSE_BUCKETS - 1);
  ing.hist[b]++;
  ing.hist_n++;
  ing.lat_max_us = MAX (ing.lat_max_us, (guint64) us);
}

/* latency_quantile: the upper edge of the bucket holding quantile Q, in µs. */
static guint64
latency_quantile (double q)
{
  guint64 rank = (guint64) (q * ing.hist_n + 0.999999), seen = 0;

  for (guint b = 0; b < G_N_ELEMENTS (ing.hist); b++) {
    seen += ing.hist[b];
    if (seen >= MAX (rank, 1))
      return b < FINE_BUCKETS ? (b + 1) * FINE_US
          : FINE_US * FINE_BUCKETS + (b - FINE_BUCKETS + 1) * COARSE_US;
  }
  return 0;
}

/* au_end: the access unit is complete (marker bit, or a new timestamp). */
static void
au_end (Conn *c)
{
  Stream *s = c->stream;

  if (!c->au_open)
    return;
  c->au_open = FALSE;
  if (!c->au_sei) {
    s->no_sei++;
    return;
  }
  if (s->has_next && c->au_counter > s->next)
    s->lost += c->au_counter - s->next;
  s->has_next = TRUE;
  s->next = c->au_counter + 1;
  s->frames++;
  latency_add ((cg_bench_now_ns () - c->au_send_ns) / 1000);
}

static void
on_nal (Conn *c, const guint8 *nal, gsize len)
{
  guint type = nal[0] & 0x1f;

  if (type == 6 && cg_bench_sei_parse (nal, len, &c->au_counter, &c->au_send_ns))
    c->au_sei = TRUE;
  if (type == 5 && !c->key_seen) {
    c->key_seen = TRUE;
    c->stream->first_key_ms = (cg_bench_now_ns () - c->start_ns) / 1e6;
  }
}

/* on_rtp: one RTP packet of the video: single NAL, STAP-A or FU-A (RFC 6184). */
static void
on_rtp (Conn *c, const guint8 *p, gsize len)
{
  gsize h = 12;
  guint32 ts;
  guint type;
  gboolean marker;

  if (len < 12 || (p[0] >> 6) != 2)
    return;
  marker = p[1] & 0x80;
  h += (p[0] & 0x0f) * 4;
  if (p[0] & 0x10) {
    if (len < h + 4)
      return;
    h += 4 + (p[h + 2] << 8 | p[h + 3]) * 4;
  }
  if (p[0] & 0x20 && len > h)
    len -= MIN (p[len - 1], len - h);
  if (len <= h)
    return;
  c->stream->bytes += len;
  ts = (guint32) p[4] << 24 | p[5] << 16 | p[6] << 8 | p[7];
  if (c->au_open && ts != c->au_ts)
    au_end (c);
  if (!c->au_open) {
    c->au_open = TRUE;
    c->au_sei = FALSE;
    c->au_ts = ts;
  }
  p += h;
  len -= h;
  type = p[0] & 0x1f;
  if (type >= 1 && type <= 23) {
    on_nal (c, p, len);
  } else if (type == 24) {
    for (gsize off = 1; off + 2 < len;) {
      gsize n = p[off] << 8 | p[off + 1];

      if (n == 0 || off + 2 + n > len)
        break;
      on_nal (c, p + off + 2, n);
      off += 2 + n;
    }
  } else if (type == 28 && len >= 2) {
    guint8 orig = (p[0] & 0xe0) | (p[1] & 0x1f);

    if (p[1] & 0x80) {
      on_nal (c, &orig, 1);
      c->fu_sei_open = (orig & 0x1f) == 6;
      c->fu_sei[0] = orig;
      c->fu_sei_len = 1;
    }
    if (c->fu_sei_open) {
      gsize n = MIN (len - 2, sizeof c->fu_sei - c->fu_sei_len);

      memcpy (c->fu_sei + c->fu_sei_len, p + 2, n);
      c->fu_sei_len += n;
      if (p[1] & 0x40) {
        on_nal (c, c->fu_sei, c->fu_sei_len);
        c->fu_sei_open = FALSE;
      }
    }
  }
  if (marker)
    au_end (c);
}

/* --- connections --------------------------------------------------------- */

static void conn_close (Conn *c);

static gboolean
send_text (Conn *c, const char *text)
{
  g_autoptr (GError) error = NULL;

  if (!g_output_stream_write_all (g_io_stream_get_output_stream (c->io), text, strlen (text),
                                  NULL, NULL, &error)) {
    g_message ("%s: cannot send: %s", c->peer, error->message);
    return FALSE;
  }
  return TRUE;
}

static gboolean
reply (Conn *c, const CgBenchMsg *req, guint status, const char *reason, const char *headers)
{
  const char *cseq = cg_bench_msg_header (req, "CSeq");
  g_autofree char *text = g_strdup_printf ("RTSP/1.0 %u %s\r\nCSeq: %s\r\nServer: cg-benchingest\r\n%s\r\n",
                                           status, reason, cseq ? cseq : "0", headers ? headers : "");

  return send_text (c, text);
}

static gboolean
request (Conn *c, const char *method, const char *url, const char *headers)
{
  g_autofree char *text = g_strdup_printf ("%s %s RTSP/1.0\r\nCSeq: %u\r\nUser-Agent: cg-benchingest\r\n%s\r\n",
                                           method, url, ++c->cseq, headers ? headers : "");

  return send_text (c, text);
}

/* last_component: "rtsps://host:port/live/cam1" -> "cam1". */
static char *
last_component (const char *uri)
{
  const char *slash = strrchr (uri, '/');

  return g_strdup (slash && slash[1] ? slash + 1 : uri);
}

static gboolean
serve (Conn *c, const CgBenchMsg *req)
{
  if (strcmp (req->method, "OPTIONS") == 0)
    return reply (c, req, 200, "OK",
                  "Public: OPTIONS, ANNOUNCE, SETUP, RECORD, TEARDOWN, GET_PARAMETER, SET_PARAMETER\r\n");
  if (strcmp (req->method, "ANNOUNCE") == 0) {
    g_autofree char *name = last_component (req->uri);

    c->stream = stream_get (name);
    return reply (c, req, 200, "OK", NULL);
  }
  if (strcmp (req->method, "SETUP") == 0) {
    const char *t = cg_bench_msg_header (req, "Transport");
    const char *il = t ? strstr (t, "interleaved=") : NULL;
    g_autofree char *headers = NULL;
    g_autofree char *first = il ? g_strndup (il + 12, strcspn (il + 12, "-;")) : NULL;
    guint64 channel;

    if (!c->stream)
      return reply (c, req, 455, "Method Not Valid In This State", NULL);
    if (!first || !strstr (t, "TCP") || !g_ascii_string_to_unsigned (first, 10, 0, 254, &channel, NULL)) {
      g_message ("%s: SETUP without RTP/AVP/TCP;interleaved=N-M: %s", c->peer, t ? t : "no Transport");
      return reply (c, req, 461, "Unsupported Transport", NULL);
    }
    if (c->channel < 0)
      c->channel = channel;
    g_free (c->session);
    c->session = g_strdup_printf ("%08x", g_random_int ());
    headers = g_strdup_printf ("Transport: RTP/AVP/TCP;unicast;interleaved=%u-%u;mode=record\r\n"
                               "Session: %s;timeout=60\r\n", (guint) channel, (guint) channel + 1, c->session);
    return reply (c, req, 200, "OK", headers);
  }
  if (strcmp (req->method, "RECORD") == 0) {
    if (c->channel < 0)
      return reply (c, req, 455, "Method Not Valid In This State", NULL);
    c->stream->sessions++;
    return reply (c, req, 200, "OK", NULL);
  }
  if (strcmp (req->method, "TEARDOWN") == 0) {
    reply (c, req, 200, "OK", NULL);
    return FALSE;
  }
  if (strcmp (req->method, "GET_PARAMETER") == 0 || strcmp (req->method, "SET_PARAMETER") == 0)
    return reply (c, req, 200, "OK", NULL);
  return reply (c, req, 501, "Not Implemented", NULL);
}

/* play: the client's next step once the answer to the last one is 200. */
static gboolean
play (Conn *c, const CgBenchMsg *res)
{
  g_autofree char *track = NULL, *headers = NULL;
  const char *session;

  if (res->method || res->status != 200) {
    g_message ("%s: %s of %s answered %u: giving up", c->peer,
               (const char *[]) { "DESCRIBE", "SETUP", "PLAY", "PLAY" }[c->pull_state], c->url,
               res->status);
    return FALSE;
  }
  switch (c->pull_state) {
    case PULL_DESCRIBE:
      c->pull_state = PULL_SETUP;
      track = g_strconcat (c->url, "/trackID=0", NULL);
      return request (c, "SETUP", track, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n");
    case PULL_SETUP:
      session = cg_bench_msg_header (res, "Session");
      if (!session) {
        g_message ("%s: SETUP of %s answered without a Session header: giving up", c->peer, c->url);
        return FALSE;
      }
      c->session = g_strndup (session, strcspn (session, ";"));
      c->channel = 0;
      c->pull_state = PULL_PLAY;
      c->stream->sessions++;
      headers = g_strdup_printf ("Session: %s\r\nRange: npt=0.000-\r\n", c->session);
      return request (c, "PLAY", c->url, headers);
    case PULL_PLAY:
      c->pull_state = PULL_PLAYING;
      return TRUE;
    case PULL_PLAYING:
      return TRUE;
  }
  return FALSE;
}

/* parse: every complete message and interleaved packet in c->buf. */
static gboolean
parse (Conn *c)
{
  gsize off = 0;
  gboolean ok = TRUE;

  while (ok && off < c->buf->len) {
    const guint8 *d = c->buf->data + off;
    gsize left = c->buf->len - off, n;
    g_autoptr (GError) error = NULL;
    CgBenchMsg msg;
    gssize used;

    if (d[0] == '$') {
      if (left < 4 || left < 4 + (n = d[2] << 8 | d[3]))
        break;
      if (c->stream && d[1] == c->channel)
        on_rtp (c, d + 4, n);
      off += 4 + n;
      continue;
    }
    used = cg_bench_msg_parse (d, left, &msg, &error);
    if (used == 0)
      break;
    if (used < 0) {
      g_message ("%s: closing: %s", c->peer, error->message);
      if (c->role == ROLE_SERVER)
        send_text (c, "RTSP/1.0 400 Bad Request\r\nCSeq: 0\r\n\r\n");
      return FALSE;
    }
    if (c->role == ROLE_SERVER && !msg.method) {
      g_message ("%s: closing: an RTSP response where a request belongs", c->peer);
      ok = FALSE;
    } else {
      ok = c->role == ROLE_SERVER ? serve (c, &msg) : msg.method || play (c, &msg);
    }
    cg_bench_msg_clear (&msg);
    off += used;
  }
  g_byte_array_remove_range (c->buf, 0, off);
  return ok;
}

static gboolean
on_readable (GObject *stream, gpointer data)
{
  Conn *c = data;
  g_autoptr (GError) error = NULL;
  guint len = c->buf->len;
  gssize n;

  g_byte_array_set_size (c->buf, len + READ_CHUNK);
  n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (stream),
                                                c->buf->data + len, READ_CHUNK, NULL, &error);
  g_byte_array_set_size (c->buf, len + MAX (n, 0));
  if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return G_SOURCE_CONTINUE;
  if (n <= 0) {
    if (n < 0)
      g_message ("%s: %s", c->peer, error->message);
    c->source = NULL;
    conn_close (c);
    return G_SOURCE_REMOVE;
  }
  if (!parse (c)) {
    c->source = NULL;
    conn_close (c);
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

static void
conn_start (Conn *c)
{
  GInputStream *in = g_io_stream_get_input_stream (c->io);

  c->source = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (in), NULL);
  g_source_set_callback (c->source, G_SOURCE_FUNC (on_readable), c, NULL);
  g_source_attach (c->source, NULL);
  g_source_unref (c->source);
  if (c->role == ROLE_CLIENT && !request (c, "DESCRIBE", c->url, "Accept: application/sdp\r\n"))
    conn_close (c);
}

static void
conn_close (Conn *c)
{
  au_end (c);
  if (c->source)
    g_source_destroy (c->source);
  g_io_stream_close (c->io, NULL, NULL);
  g_ptr_array_remove (ing.conns, c);
}

static void
conn_free (gpointer p)
{
  Conn *c = p;

  g_object_unref (c->io);
  g_object_unref (c->tcp);
  g_byte_array_unref (c->buf);
  g_free (c->peer);
  g_free (c->url);
  g_free (c->session);
  g_free (c);
}

static Conn *
conn_new (GSocketConnection *tcp, Role role, const char *peer)
{
  Conn *c = g_new0 (Conn, 1);

  c->tcp = g_object_ref (tcp);
  c->io = G_IO_STREAM (g_object_ref (tcp));
  c->role = role;
  c->peer = g_strdup (peer);
  c->buf = g_byte_array_sized_new (2 * READ_CHUNK);
  c->channel = -1;
  c->start_ns = cg_bench_now_ns ();
  g_ptr_array_add (ing.conns, c);
  return c;
}

static void
on_handshake (GObject *tls, GAsyncResult *res, gpointer data)
{
  Conn *c = data;
  g_autoptr (GError) error = NULL;

  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (tls), res, &error)) {
    g_message ("%s: TLS handshake failed: %s", c->peer, error->message);
    conn_close (c);
    return;
  }
  conn_start (c);
}

static gboolean
on_incoming (GSocketService *service, GSocketConnection *tcp, GObject *source, gpointer data)
{
  gboolean pull = GPOINTER_TO_INT (data);
  g_autoptr (GSocketAddress) addr = g_socket_connection_get_remote_address (tcp, NULL);
  g_autofree char *host = addr ? g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (addr))) : NULL;
  Conn *c = conn_new (tcp, pull ? ROLE_CLIENT : ROLE_SERVER, host ? host : "?");
  g_autoptr (GError) error = NULL;
  GIOStream *tls;

  if (pull) {
    c->url = g_strdup_printf ("rtsp://pipe/cam%u", ++ing.pulled);
    c->stream = stream_get (c->url + strlen ("rtsp://pipe/"));
  }
  if (!ing.cert) {
    conn_start (c);
    return TRUE;
  }
  tls = g_tls_server_connection_new (G_IO_STREAM (tcp), ing.cert, &error);
  if (!tls) {
    g_message ("%s: no TLS: %s", c->peer, error->message);
    conn_close (c);
    return TRUE;
  }
  g_object_unref (c->io);
  c->io = tls;
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, NULL, on_handshake, c);
  return TRUE;
}

static void
on_connected (GObject *client, GAsyncResult *res, gpointer data)
{
  char *url = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) tcp = g_socket_client_connect_to_uri_finish (G_SOCKET_CLIENT (client), res, &error);
  g_autofree char *name = last_component (url);
  Conn *c;

  if (!tcp) {
    g_message ("%s: cannot connect: %s", url, error->message);
    g_free (url);
    return;
  }
  c = conn_new (tcp, ROLE_CLIENT, url);
  c->url = url;
  c->stream = stream_get (name);
  conn_start (c);
}

/* --- main ---------------------------------------------------------------- */

static gboolean
write_stats (gpointer data)
{
  g_autofree char *tmp = g_strconcat (opt.stats, ".tmp", NULL);
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  GHashTableIter it;
  Stream *s;
  guint64 frames = 0, lost = 0, no_sei = 0, bytes = 0, sessions = 0;
  g_autoptr (GList) names = g_list_sort (g_hash_table_get_keys (ing.streams), (GCompareFunc) g_strcmp0);

  g_hash_table_iter_init (&it, ing.streams);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &s)) {
    frames += s->frames;
    lost += s->lost;
    no_sei += s->no_sei;
    bytes += s->bytes;
    sessions += s->sessions;
  }
  g_string_append_printf (text, "total window_s %.3f streams %u frames %" G_GUINT64_FORMAT
                          " lost %" G_GUINT64_FORMAT " no_sei %" G_GUINT64_FORMAT " bytes %" G_GUINT64_FORMAT
                          " sessions %" G_GUINT64_FORMAT " lat_p50_us %" G_GUINT64_FORMAT
                          " lat_p99_us %" G_GUINT64_FORMAT " lat_max_us %" G_GUINT64_FORMAT "\n",
                          (cg_bench_now_ns () - ing.window_ns) / 1e9, g_hash_table_size (ing.streams),
                          frames, lost, no_sei, bytes, sessions, latency_quantile (0.5),
                          latency_quantile (0.99), ing.lat_max_us);
  for (GList *l = names; l; l = l->next) {
    s = g_hash_table_lookup (ing.streams, l->data);
    g_string_append_printf (text, "%s frames %" G_GUINT64_FORMAT " lost %" G_GUINT64_FORMAT
                            " no_sei %" G_GUINT64_FORMAT " bytes %" G_GUINT64_FORMAT
                            " sessions %" G_GUINT64_FORMAT " first_key_ms %.1f\n", s->name, s->frames,
                            s->lost, s->no_sei, s->bytes, s->sessions, s->first_key_ms);
  }
  if (!g_file_set_contents (tmp, text->str, text->len, &error) || g_rename (tmp, opt.stats) != 0)
    g_warning ("cannot write %s: %s", opt.stats, error ? error->message : g_strerror (errno));
  return G_SOURCE_CONTINUE;
}

/* on_window: SIGUSR1, a new measuring window. */
static gboolean
on_window (gpointer data)
{
  GHashTableIter it;
  Stream *s;

  g_hash_table_iter_init (&it, ing.streams);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &s)) {
    s->frames = s->lost = s->no_sei = s->bytes = 0;
    s->has_next = FALSE;
  }
  memset (ing.hist, 0, sizeof ing.hist);
  ing.hist_n = ing.lat_max_us = 0;
  ing.window_ns = cg_bench_now_ns ();
  if (opt.stats)
    write_stats (NULL);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_quit (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
listen_on (GSocketService *service, const char *spec, GError **error)
{
  g_autoptr (GSocketConnectable) at = g_network_address_parse (spec, 0, error);
  g_autoptr (GSocketAddressEnumerator) e = NULL;
  g_autoptr (GSocketAddress) addr = NULL;

  if (!at)
    return FALSE;
  e = g_socket_connectable_enumerate (at);
  addr = g_socket_address_enumerator_next (e, NULL, error);
  if (!addr || g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (addr)) == 0) {
    if (error && !*error)
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s: expected ADDR:PORT", spec);
    return FALSE;
  }
  return g_socket_listener_add_address (G_SOCKET_LISTENER (service), addr, G_SOCKET_TYPE_STREAM,
                                        G_SOCKET_PROTOCOL_TCP, NULL, NULL, error);
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = g_option_context_new ("- an RTSP(S) ingest that only counts");
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketService) push = g_socket_service_new ();
  g_autoptr (GSocketService) pull = g_socket_service_new ();
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  guint sigs[3], stats_id = 0;

  setvbuf (stdout, NULL, _IOLBF, 0);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    g_printerr ("cg-benchingest: %s\n", error->message);
    return 2;
  }
  if (!opt.listen && !opt.pull_listen && !opt.pull) {
    g_printerr ("cg-benchingest: nothing to do: give --listen, --pull-listen or --pull\n");
    return 2;
  }
  if (!opt.cert != !opt.key) {
    g_printerr ("cg-benchingest: --cert and --key go together\n");
    return 2;
  }
  if (opt.cert && !(ing.cert = g_tls_certificate_new_from_files (opt.cert, opt.key, &error))) {
    g_printerr ("cg-benchingest: %s\n", error->message);
    return 1;
  }
  ing.streams = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, stream_free);
  ing.conns = g_ptr_array_new_with_free_func (conn_free);
  for (char **l = opt.listen; l && *l; l++)
    if (!listen_on (push, *l, &error)) {
      g_printerr ("cg-benchingest: cannot listen on %s: %s\n", *l, error->message);
      return 1;
    }
  for (char **l = opt.pull_listen; l && *l; l++)
    if (!listen_on (pull, *l, &error)) {
      g_printerr ("cg-benchingest: cannot listen on %s: %s\n", *l, error->message);
      return 1;
    }
  g_signal_connect (push, "incoming", G_CALLBACK (on_incoming), GINT_TO_POINTER (FALSE));
  g_signal_connect (pull, "incoming", G_CALLBACK (on_incoming), GINT_TO_POINTER (TRUE));
  for (char **u = opt.pull; u && *u; u++) {
    if (!g_str_has_prefix (*u, "rtsp://")) {
      g_printerr ("cg-benchingest: --pull %s: only rtsp:// URLs\n", *u);
      return 2;
    }
    g_socket_client_connect_to_uri_async (client, *u, 554, NULL, on_connected, g_strdup (*u));
  }
  ing.window_ns = cg_bench_now_ns ();
  if (opt.stats)
    stats_id = g_timeout_add (STATS_INTERVAL_MS, write_stats, NULL);
  sigs[0] = g_unix_signal_add (SIGINT, on_quit, loop);
  sigs[1] = g_unix_signal_add (SIGTERM, on_quit, loop);
  sigs[2] = g_unix_signal_add (SIGUSR1, on_window, NULL);
  g_print ("ready\n");
  g_main_loop_run (loop);

  g_socket_service_stop (push);
  g_socket_service_stop (pull);
  g_socket_listener_close (G_SOCKET_LISTENER (push));
  g_socket_listener_close (G_SOCKET_LISTENER (pull));
  if (stats_id) {
    write_stats (NULL);
    g_source_remove (stats_id);
  }
  for (guint i = 0; i < G_N_ELEMENTS (sigs); i++)
    g_source_remove (sigs[i]);
  while (ing.conns->len)
    conn_close (ing.conns->pdata[0]);
  g_ptr_array_unref (ing.conns);
  g_hash_table_unref (ing.streams);
  g_clear_object (&ing.cert);
  g_strfreev (opt.listen);
  g_strfreev (opt.pull_listen);
  g_strfreev (opt.pull);
  g_free (opt.cert);
  g_free (opt.key);
  g_free (opt.stats);
  return 0;
}
