/* cg-benchcam: N simulated IP cameras in one light process, for the relay
 * benchmark (tests/bench/run).
 *
 * Serves rtsp://ADDR:PORT/cam1 ... /camN from one H.264 Annex B clip that was
 * encoded once, looped: nothing is encoded at run time, so the fixture costs
 * little next to the relay it feeds. Each camera runs its own timeline (a
 * frame every 1/fps s, cameras spread over the frame period and over the
 * clip so their keyframes do not coincide); a client joins it where it is,
 * mid-GOP as with a real camera. Into every access unit the camera inserts
 * an SEI (see benchproto.h) with the frame's counter and its send time, the
 * ingest's measure of latency and loss. Media goes as RTP over RTSP/TCP
 * interleaved only; a client that cannot keep up (more than MAX_BACKLOG
 * bytes unsent) misses whole frames, which the ingest sees as lost. */
#define G_LOG_DOMAIN "cg-benchcam"

#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "benchproto.h"

#define DEFAULT_ADDRESS "0.0.0.0"
#define DEFAULT_PORT 8554
#define DEFAULT_FPS 25
#define STATS_INTERVAL_MS 500
#define RTP_PAYLOAD_MAX 1400
#define RTP_CLOCK 90000
#define MAX_BACKLOG (4 * 1024 * 1024)
#define READ_CHUNK 4096

typedef struct {
  const guint8 *data;
  gsize len;
} Nal;

typedef struct {
  GArray *nals;                 /* element-type Nal: parameter sets, slices */
  gboolean key;
} AccessUnit;

typedef struct _Client Client;

typedef struct {
  char *name;                   /* "cam1" */
  guint64 counter;              /* frames of its timeline so far */
  guint start;                  /* the clip's access unit at counter 0 */
  gint64 offset_ns;             /* its place in the frame period */
  GPtrArray *playing;           /* element-type Client*, not owned */
} Camera;

struct _Client {
  GSocketConnection *connection;
  GSocket *socket;
  char *peer;
  GSource *in_source, *out_source;
  GByteArray *in, *out;
  gsize out_off;
  Camera *camera;               /* set up by SETUP */
  char *session;
  guint8 channel;
  guint16 seq;
  guint32 ssrc, ts_base;
  gboolean closing;             /* close once out is flushed */
};

static struct {
  char *address;
  int port;
  int cameras;
  char *clip;
  int fps;
  char *stats;
} opt = { .port = DEFAULT_PORT, .cameras = 1, .fps = DEFAULT_FPS };

static const GOptionEntry entries[] = {
  { "address", 0, 0, G_OPTION_ARG_STRING, &opt.address, "Listen address (default " DEFAULT_ADDRESS ")", "ADDR" },
  { "port", 0, 0, G_OPTION_ARG_INT, &opt.port, "RTSP port (default 8554)", "N" },
  { "cameras", 0, 0, G_OPTION_ARG_INT, &opt.cameras, "Cameras, /cam1 ... /camN (default 1)", "N" },
  { "clip", 0, 0, G_OPTION_ARG_FILENAME, &opt.clip, "H.264 Annex B clip, starting with an IDR (required)", "FILE" },
  { "fps", 0, 0, G_OPTION_ARG_INT, &opt.fps, "Frames per second (default 25)", "N" },
  { "stats", 0, 0, G_OPTION_ARG_FILENAME, &opt.stats, "Write counters to FILE every 500 ms", "FILE" },
  { NULL }
};

static struct {
  GMappedFile *file;
  GPtrArray *aus;               /* element-type AccessUnit* */
  Nal sps, pps;
  Camera *cameras;
  GPtrArray *clients;           /* element-type Client*, owned */
  GSource *tick;
  gint64 t0_ns;
  guint64 frames_sent, frames_skipped, bytes_sent;
} cam;

/* --- the clip ------------------------------------------------------------ */

static void
access_unit_free (gpointer p)
{
  AccessUnit *au = p;

  g_array_unref (au->nals);
  g_free (au);
}

/* next_nal: the NAL unit after the start code at or after *POS, or FALSE. */
static gboolean
next_nal (const guint8 *d, gsize len, gsize *pos, Nal *nal)
{
  gsize i = *pos, start, end;

  while (i + 3 <= len && !(d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1))
    i++;
  if (i + 3 > len)
    return FALSE;
  start = i + 3;
  for (end = start; end + 3 <= len; end++)
    if (d[end] == 0 && d[end + 1] == 0 && (d[end + 2] == 1 || (d[end + 2] == 0 && end + 3 < len && d[end + 3] == 1)))
      break;
  if (end + 3 > len)
    end = len;
  *pos = end;
  nal->data = d + start;
  nal->len = end - start;
  return nal->len > 0;
}

/* load_clip: splits the clip into access units: a new one starts with a
 * parameter set or a slice with first_mb_in_slice 0 once the current one
 * holds a slice. The clip's own SEI and access unit delimiters are dropped;
 * a keyframe without parameter sets gets the clip's first SPS and PPS, as
 * cameras send them before every IDR. */
static gboolean
load_clip (GError **error)
{
  const guint8 *d;
  gsize len, pos = 0;
  Nal nal;
  AccessUnit *au = NULL;
  gboolean has_sps = FALSE, has_slice = FALSE;

  cam.file = g_mapped_file_new (opt.clip, FALSE, error);
  if (!cam.file)
    return FALSE;
  d = (const guint8 *) g_mapped_file_get_contents (cam.file);
  len = g_mapped_file_get_length (cam.file);
  cam.aus = g_ptr_array_new_with_free_func (access_unit_free);
  while (next_nal (d, len, &pos, &nal)) {
    guint type = nal.data[0] & 0x1f;
    gboolean slice = type == 1 || type == 5;

    if (type == 6 || type == 9)
      continue;
    if (au && has_slice && (type == 7 || type == 8 || (slice && nal.len > 1 && nal.data[1] & 0x80))) {
      g_ptr_array_add (cam.aus, au);
      au = NULL;
    }
    if (!au) {
      au = g_new0 (AccessUnit, 1);
      au->nals = g_array_new (FALSE, FALSE, sizeof (Nal));
      has_sps = has_slice = FALSE;
    }
    if (type == 7) {
      has_sps = TRUE;
      if (!cam.sps.data)
        cam.sps = nal;
    } else if (type == 8 && !cam.pps.data) {
      cam.pps = nal;
    }
    if (type == 5 && !has_sps && !au->key && cam.sps.data && cam.pps.data) {
      g_array_append_val (au->nals, cam.sps);
      g_array_append_val (au->nals, cam.pps);
    }
    au->key |= type == 5;
    has_slice |= slice;
    g_array_append_val (au->nals, nal);
  }
  if (au && has_slice)
    g_ptr_array_add (cam.aus, au);
  else if (au)
    access_unit_free (au);
  if (cam.aus->len == 0 || !cam.sps.data || !cam.pps.data ||
      !((AccessUnit *) cam.aus->pdata[0])->key) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 "%s: not an H.264 Annex B stream that starts with SPS, PPS and an IDR picture",
                 opt.clip);
    return FALSE;
  }
  return TRUE;
}

/* --- sending ------------------------------------------------------------- */

static void client_close (Client *client);
static void client_flush (Client *client);

static void
put_packet (Client *client, gboolean marker, guint32 ts, const guint8 *fu, gsize fu_len,
            const guint8 *data, gsize len)
{
  gsize rtp_len = 12 + fu_len + len;
  guint8 h[16] = { '$', client->channel, rtp_len >> 8, rtp_len & 0xff,
                   0x80, (marker ? 0x80 : 0) | 96, client->seq >> 8, client->seq & 0xff,
                   ts >> 24, ts >> 16, ts >> 8, ts, client->ssrc >> 24, client->ssrc >> 16,
                   client->ssrc >> 8, client->ssrc };

  client->seq++;
  g_byte_array_append (client->out, h, sizeof h);
  g_byte_array_append (client->out, fu, fu_len);
  g_byte_array_append (client->out, data, len);
}

/* put_nal: one NAL unit as a single-NAL packet or as FU-A fragments. */
static void
put_nal (Client *client, const Nal *nal, gboolean last, guint32 ts)
{
  gsize off = 1, chunk;
  guint8 fu[2];

  if (nal->len <= RTP_PAYLOAD_MAX) {
    put_packet (client, last, ts, NULL, 0, nal->data, nal->len);
    return;
  }
  fu[0] = (nal->data[0] & 0xe0) | 28;
  while (off < nal->len) {
    chunk = MIN (RTP_PAYLOAD_MAX - 2, nal->len - off);
    fu[1] = (nal->data[0] & 0x1f) | (off == 1 ? 0x80 : 0) | (off + chunk == nal->len ? 0x40 : 0);
    put_packet (client, last && off + chunk == nal->len, ts, fu, 2, nal->data + off, chunk);
    off += chunk;
  }
}

static void
send_frame (Camera *camera, const AccessUnit *au, const Nal *sei)
{
  guint32 ts = (guint32) (camera->counter * RTP_CLOCK / opt.fps);

  /* Backwards: a client whose socket fails leaves the array in client_flush. */
  for (guint i = camera->playing->len; i-- > 0;) {
    Client *client = camera->playing->pdata[i];
    gsize before = client->out->len;

    if (client->out->len - client->out_off > MAX_BACKLOG) {
      cam.frames_skipped++;
      continue;
    }
    put_nal (client, sei, FALSE, client->ts_base + ts);
    for (guint k = 0; k < au->nals->len; k++)
      put_nal (client, &g_array_index (au->nals, Nal, k), k + 1 == au->nals->len,
               client->ts_base + ts);
    cam.frames_sent++;
    cam.bytes_sent += client->out->len - before;
    client_flush (client);
  }
}

static gint64
due_ns (const Camera *camera)
{
  return cam.t0_ns + camera->offset_ns + (gint64) (camera->counter * G_GINT64_CONSTANT (1000000000) / opt.fps);
}

/* on_tick: every camera whose frame is due sends it; then the timer is set
 * for the next one due. */
static gboolean
on_tick (gpointer data)
{
  gint64 now = cg_bench_now_ns (), next = G_MAXINT64;

  for (int c = 0; c < opt.cameras; c++) {
    Camera *camera = &cam.cameras[c];

    while (due_ns (camera) <= now) {
      if (camera->playing->len) {
        guint8 sei_data[CG_BENCH_SEI_MAX];
        Nal sei = { sei_data, cg_bench_sei_build (sei_data, camera->counter, cg_bench_now_ns ()) };

        send_frame (camera, cam.aus->pdata[(camera->start + camera->counter) % cam.aus->len], &sei);
      }
      camera->counter++;
    }
    next = MIN (next, due_ns (camera));
  }
  /* GLib's monotonic clock is CLOCK_MONOTONIC in microseconds. */
  g_source_set_ready_time (cam.tick, next / 1000);
  return G_SOURCE_CONTINUE;
}

static gboolean
tick_dispatch (GSource *source, GSourceFunc callback, gpointer data)
{
  return callback (data);
}

static GSourceFuncs tick_funcs = { .dispatch = tick_dispatch };

/* --- RTSP ---------------------------------------------------------------- */

static void
reply (Client *client, const CgBenchMsg *req, guint status, const char *reason,
       const char *headers, const char *body)
{
  const char *cseq = cg_bench_msg_header (req, "CSeq");
  g_autofree char *content = body ? g_strdup_printf ("Content-Type: application/sdp\r\n"
                                                     "Content-Length: %zu\r\n", strlen (body)) : NULL;
  g_autofree char *text = g_strdup_printf (
      "RTSP/1.0 %u %s\r\nCSeq: %s\r\nServer: cg-benchcam\r\n%s%s\r\n%s", status, reason,
      cseq ? cseq : "0", headers ? headers : "", content ? content : "", body ? body : "");

  g_byte_array_append (client->out, (const guint8 *) text, strlen (text));
}

/* camera_of: the camera an URI names ("rtsp://host:port/camK[/...]"). */
static Camera *
camera_of (const char *uri)
{
  const char *path = strstr (uri, "://");
  g_autofree char *name = NULL;

  path = path ? strchr (path + 3, '/') : NULL;
  if (!path)
    return NULL;
  name = g_strndup (path + 1, strcspn (path + 1, "/?"));
  for (int c = 0; c < opt.cameras; c++)
    if (strcmp (cam.cameras[c].name, name) == 0)
      return &cam.cameras[c];
  return NULL;
}

static char *
sdp (const char *name)
{
  g_autofree char *sps = g_base64_encode (cam.sps.data, cam.sps.len);
  g_autofree char *pps = g_base64_encode (cam.pps.data, cam.pps.len);

  return g_strdup_printf (
      "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=cg-benchcam %s\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
      "a=control:*\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
      "a=fmtp:96 packetization-mode=1;profile-level-id=%02x%02x%02x;sprop-parameter-sets=%s,%s\r\n"
      "a=control:trackID=0\r\n", name, cam.sps.data[1], cam.sps.data[2], cam.sps.data[3], sps, pps);
}

static void
stop_playing (Client *client)
{
  if (client->camera)
    g_ptr_array_remove (client->camera->playing, client);
}

static void
handle_setup (Client *client, const CgBenchMsg *req)
{
  const char *transport = cg_bench_msg_header (req, "Transport");
  const char *il = transport ? strstr (transport, "interleaved=") : NULL;
  Camera *camera = camera_of (req->uri);
  g_autofree char *headers = NULL;
  g_autofree char *first = il ? g_strndup (il + 12, strcspn (il + 12, "-;")) : NULL;
  guint64 channel;

  if (!camera) {
    reply (client, req, 404, "Not Found", NULL, NULL);
    return;
  }
  if (!strstr (transport ? transport : "", "RTP/AVP/TCP") || !first ||
      !g_ascii_string_to_unsigned (first, 10, 0, 254, &channel, NULL)) {
    g_message ("client %s: SETUP without RTP/AVP/TCP;interleaved=N-M (only TCP interleaved is served): %s",
               client->peer, transport ? transport : "no Transport header");
    reply (client, req, 461, "Unsupported Transport", NULL, NULL);
    return;
  }
  stop_playing (client);
  client->camera = camera;
  client->channel = channel;
  g_free (client->session);
  client->session = g_strdup_printf ("%08x", g_random_int ());
  headers = g_strdup_printf ("Transport: RTP/AVP/TCP;unicast;interleaved=%u-%u;ssrc=%08X\r\n"
                             "Session: %s;timeout=60\r\n", client->channel, client->channel + 1,
                             client->ssrc, client->session);
  reply (client, req, 200, "OK", headers, NULL);
}

static void
handle_request (Client *client, const CgBenchMsg *req)
{
  if (strcmp (req->method, "OPTIONS") == 0) {
    reply (client, req, 200, "OK",
           "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER, SET_PARAMETER\r\n", NULL);
  } else if (strcmp (req->method, "DESCRIBE") == 0) {
    Camera *camera = camera_of (req->uri);
    g_autofree char *body = camera ? sdp (camera->name) : NULL;
    g_autofree char *base = g_strdup_printf ("Content-Base: %s%s\r\n", req->uri,
                                             g_str_has_suffix (req->uri, "/") ? "" : "/");

    if (camera)
      reply (client, req, 200, "OK", base, body);
    else
      reply (client, req, 404, "Not Found", NULL, NULL);
  } else if (strcmp (req->method, "SETUP") == 0) {
    handle_setup (client, req);
  } else if (strcmp (req->method, "PLAY") == 0) {
    if (!client->camera) {
      reply (client, req, 455, "Method Not Valid In This State", NULL, NULL);
      return;
    }
    g_autofree char *headers = g_strdup_printf ("Session: %s\r\nRange: npt=0.000-\r\n", client->session);
    reply (client, req, 200, "OK", headers, NULL);
    if (!g_ptr_array_find (client->camera->playing, client, NULL))
      g_ptr_array_add (client->camera->playing, client);
  } else if (strcmp (req->method, "TEARDOWN") == 0) {
    stop_playing (client);
    reply (client, req, 200, "OK", NULL, NULL);
    client->closing = TRUE;
  } else if (strcmp (req->method, "GET_PARAMETER") == 0 || strcmp (req->method, "SET_PARAMETER") == 0) {
    reply (client, req, 200, "OK", NULL, NULL);
  } else {
    reply (client, req, 501, "Not Implemented", NULL, NULL);
  }
}

/* parse_input: every complete request in client->in; interleaved data from
 * the client (RTCP receiver reports) is skipped. FALSE closes the client. */
static gboolean
parse_input (Client *client)
{
  gsize off = 0;

  while (off < client->in->len && !client->closing) {
    const guint8 *d = client->in->data + off;
    gsize left = client->in->len - off;
    g_autoptr (GError) error = NULL;
    CgBenchMsg req;
    gssize used;

    if (d[0] == '$') {
      if (left < 4 || left < 4 + (gsize) (d[2] << 8 | d[3]))
        break;
      off += 4 + (d[2] << 8 | d[3]);
      continue;
    }
    used = cg_bench_msg_parse (d, left, &req, &error);
    if (used == 0)
      break;
    if (used < 0 || !req.method) {
      g_message ("client %s: closing: %s", client->peer,
                 error ? error->message : "an RTSP response where a request belongs");
      static const char bad[] = "RTSP/1.0 400 Bad Request\r\nCSeq: 0\r\n\r\n";
      g_byte_array_append (client->out, (const guint8 *) bad, sizeof bad - 1);
      client->closing = TRUE;
      cg_bench_msg_clear (&req);
      break;
    }
    handle_request (client, &req);
    cg_bench_msg_clear (&req);
    off += used;
  }
  g_byte_array_remove_range (client->in, 0, off);
  client_flush (client);
  return TRUE;
}

/* --- clients ------------------------------------------------------------- */

static gboolean
on_writable (GSocket *socket, GIOCondition cond, gpointer data)
{
  Client *client = data;

  g_clear_pointer (&client->out_source, g_source_destroy);
  client_flush (client);
  return G_SOURCE_REMOVE;
}

/* client_flush: sends what it can without blocking; waits for the socket to
 * take the rest. A client that is closing goes once everything is sent. */
static void
client_flush (Client *client)
{
  g_autoptr (GError) error = NULL;
  gssize n;

  while (client->out_off < client->out->len) {
    n = g_socket_send (client->socket, (const char *) client->out->data + client->out_off,
                       client->out->len - client->out_off, NULL, &error);
    if (n < 0) {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
        if (!client->out_source) {
          client->out_source = g_socket_create_source (client->socket, G_IO_OUT, NULL);
          g_source_set_callback (client->out_source, G_SOURCE_FUNC (on_writable), client, NULL);
          g_source_attach (client->out_source, NULL);
          g_source_unref (client->out_source);
        }
        return;
      }
      g_message ("client %s: closing: %s", client->peer, error->message);
      client_close (client);
      return;
    }
    client->out_off += n;
  }
  g_byte_array_set_size (client->out, 0);
  client->out_off = 0;
  if (client->closing)
    client_close (client);
}

static gboolean
on_readable (GSocket *socket, GIOCondition cond, gpointer data)
{
  Client *client = data;
  g_autoptr (GError) error = NULL;
  guint8 buf[READ_CHUNK];
  gssize n = g_socket_receive (socket, (char *) buf, sizeof buf, NULL, &error);

  if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return G_SOURCE_CONTINUE;
  if (n <= 0) {
    if (n < 0)
      g_message ("client %s: %s", client->peer, error->message);
    client->in_source = NULL;
    client_close (client);
    return G_SOURCE_REMOVE;
  }
  g_byte_array_append (client->in, buf, n);
  parse_input (client);
  return G_SOURCE_CONTINUE;
}

static void
client_close (Client *client)
{
  stop_playing (client);
  if (client->in_source)
    g_source_destroy (client->in_source);
  if (client->out_source)
    g_source_destroy (client->out_source);
  g_io_stream_close (G_IO_STREAM (client->connection), NULL, NULL);
  g_ptr_array_remove (cam.clients, client);
}

static void
client_free (gpointer p)
{
  Client *client = p;

  g_object_unref (client->connection);
  g_byte_array_unref (client->in);
  g_byte_array_unref (client->out);
  g_free (client->peer);
  g_free (client->session);
  g_free (client);
}

static gboolean
on_incoming (GSocketService *service, GSocketConnection *connection, GObject *source, gpointer data)
{
  Client *client = g_new0 (Client, 1);
  g_autoptr (GSocketAddress) addr = g_socket_connection_get_remote_address (connection, NULL);

  client->connection = g_object_ref (connection);
  client->socket = g_socket_connection_get_socket (connection);
  client->peer = addr ? g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (addr)))
      : g_strdup ("?");
  client->in = g_byte_array_new ();
  client->out = g_byte_array_new ();
  client->seq = g_random_int ();
  client->ssrc = g_random_int ();
  client->ts_base = g_random_int ();
  g_socket_set_blocking (client->socket, FALSE);
  client->in_source = g_socket_create_source (client->socket, G_IO_IN, NULL);
  g_source_set_callback (client->in_source, G_SOURCE_FUNC (on_readable), client, NULL);
  g_source_attach (client->in_source, NULL);
  g_source_unref (client->in_source);
  g_ptr_array_add (cam.clients, client);
  return TRUE;
}

/* --- main ---------------------------------------------------------------- */

static gboolean
write_stats (gpointer data)
{
  g_autofree char *tmp = g_strconcat (opt.stats, ".tmp", NULL);
  g_autofree char *text = g_strdup_printf (
      "clients %u\nframes_sent %" G_GUINT64_FORMAT "\nframes_skipped %" G_GUINT64_FORMAT
      "\nbytes_sent %" G_GUINT64_FORMAT "\n", cam.clients->len, cam.frames_sent,
      cam.frames_skipped, cam.bytes_sent);
  g_autoptr (GError) error = NULL;

  if (!g_file_set_contents (tmp, text, -1, &error) || g_rename (tmp, opt.stats) != 0)
    g_warning ("cannot write %s: %s", opt.stats, error ? error->message : g_strerror (errno));
  return G_SOURCE_CONTINUE;
}

static gboolean
on_quit (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = g_option_context_new ("- N light RTSP cameras from one looped H.264 clip");
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketService) service = NULL;
  g_autoptr (GInetAddress) inet = NULL;
  g_autoptr (GSocketAddress) addr = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  guint sig_int, sig_term, stats_id = 0, keyframes = 0;

  setvbuf (stdout, NULL, _IOLBF, 0);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    g_printerr ("cg-benchcam: %s\n", error->message);
    return 2;
  }
  if (!opt.clip || opt.cameras < 1 || opt.cameras > 1000 || opt.fps < 1 || opt.fps > 120 ||
      opt.port < 1 || opt.port > 65535) {
    g_printerr ("cg-benchcam: --clip is required; --cameras 1-1000, --fps 1-120, --port 1-65535\n");
    return 2;
  }
  if (!load_clip (&error)) {
    g_printerr ("cg-benchcam: %s\n", error->message);
    return 1;
  }
  inet = g_inet_address_new_from_string (opt.address ? opt.address : DEFAULT_ADDRESS);
  if (!inet) {
    g_printerr ("cg-benchcam: --address %s is no IP address\n", opt.address);
    return 2;
  }
  addr = g_inet_socket_address_new (inet, opt.port);
  service = g_socket_service_new ();
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (service), addr, G_SOCKET_TYPE_STREAM,
                                      G_SOCKET_PROTOCOL_TCP, NULL, NULL, &error)) {
    g_printerr ("cg-benchcam: cannot listen on %s:%d: %s\n", opt.address, opt.port, error->message);
    return 1;
  }
  cam.clients = g_ptr_array_new_with_free_func (client_free);
  cam.cameras = g_new0 (Camera, opt.cameras);
  for (int c = 0; c < opt.cameras; c++) {
    cam.cameras[c].name = g_strdup_printf ("cam%d", c + 1);
    cam.cameras[c].start = (guint) ((guint64) c * 37 % cam.aus->len);
    cam.cameras[c].offset_ns = (gint64) c * 1000000000 / opt.fps / opt.cameras;
    cam.cameras[c].playing = g_ptr_array_new ();
  }
  g_signal_connect (service, "incoming", G_CALLBACK (on_incoming), NULL);
  loop = g_main_loop_new (NULL, FALSE);
  cam.t0_ns = cg_bench_now_ns ();
  cam.tick = g_source_new (&tick_funcs, sizeof (GSource));
  g_source_set_callback (cam.tick, on_tick, NULL, NULL);
  g_source_set_priority (cam.tick, G_PRIORITY_HIGH);
  g_source_attach (cam.tick, NULL);
  g_source_set_ready_time (cam.tick, 0);
  if (opt.stats)
    stats_id = g_timeout_add (STATS_INTERVAL_MS, write_stats, NULL);
  sig_int = g_unix_signal_add (SIGINT, on_quit, loop);
  sig_term = g_unix_signal_add (SIGTERM, on_quit, loop);
  for (guint i = 0; i < cam.aus->len; i++)
    keyframes += ((AccessUnit *) cam.aus->pdata[i])->key;
  g_print ("ready rtsp://%s:%d/cam1 ... /cam%d (clip: %u frames, %u keyframes)\n",
           opt.address ? opt.address : DEFAULT_ADDRESS, opt.port, opt.cameras, cam.aus->len, keyframes);
  g_main_loop_run (loop);

  g_socket_service_stop (service);
  g_socket_listener_close (G_SOCKET_LISTENER (service));
  if (stats_id) {
    write_stats (NULL);
    g_source_remove (stats_id);
  }
  g_source_remove (sig_int);
  g_source_remove (sig_term);
  g_source_destroy (cam.tick);
  g_source_unref (cam.tick);
  while (cam.clients->len)
    client_close (cam.clients->pdata[0]);
  g_ptr_array_unref (cam.clients);
  for (int c = 0; c < opt.cameras; c++) {
    g_free (cam.cameras[c].name);
    g_ptr_array_unref (cam.cameras[c].playing);
  }
  g_free (cam.cameras);
  g_ptr_array_unref (cam.aus);
  g_mapped_file_unref (cam.file);
  g_free (opt.address);
  g_free (opt.clip);
  g_free (opt.stats);
  return 0;
}
