/* One RTSP connection on the main loop (see rtspconn.h).
 *
 * Reading takes a chunk at a time and parses every whole item before the
 * next, up to a bound per wake-up (the pollable source, TLS-aware, stays
 * ready while data is buffered). Writing tries at once and, when the socket
 * is full, waits for it with a pollable source. The connection is
 * reference-counted inside: a callback may close it, and the dispatch that
 * called it notices and stops. A write that fails inside
 * cg_rtsp_conn_send() is reported from an idle callback, never from within
 * the caller's call. */
#define G_LOG_DOMAIN "camgate-rtspconn"

#include "rtspconn.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "error.h"

#define READ_CHUNK 65536
#define READ_CHUNKS_PER_WAKEUP 16
#define LINGER_TIMEOUT_MS 2000
#define LINGER_POLL_MS 20

struct _CgRtspConn {
  gint ref_count;
  char *peer;
  CgRtspConnFuncs funcs;
  gpointer user_data;
  gboolean closed;              /* the owner let go: no more callbacks */
  gboolean failed;

  GSocketConnection *connection;   /* with TLS, a wrapper around the TLS stream */
  GIOStream *stream;            /* transfer none: the TLS stream, or the connection */
  GSocket *socket;              /* transfer none: the TCP socket under it */
  guint fail_id;                /* a failure found while sending, reported next */
  GError *fail_error;
  GPollableInputStream *in;
  GPollableOutputStream *out;
  GSource *read_source;
  GSource *write_source;
  GByteArray *inbuf;
  GByteArray *outbuf;
  gsize out_offset;             /* outbuf bytes already written */
  guint64 written;

  /* lingering close */
  guint linger_id;
  guint linger_poll_id;
  GCancellable *close_cancellable;
};

static guint lingering;         /* closes under way */

static void conn_fail (CgRtspConn *conn, GError *error);
static void conn_fail_later (CgRtspConn *conn, GError *error);
static void stop_io (CgRtspConn *conn);

static CgRtspConn *
conn_ref (CgRtspConn *conn)
{
  conn->ref_count++;
  return conn;
}

static void
conn_unref (CgRtspConn *conn)
{
  if (--conn->ref_count > 0)
    return;
  stop_io (conn);
  g_clear_handle_id (&conn->fail_id, g_source_remove);
  g_clear_error (&conn->fail_error);
  g_clear_object (&conn->close_cancellable);
  g_clear_object (&conn->connection);
  g_byte_array_unref (conn->inbuf);
  g_byte_array_unref (conn->outbuf);
  g_free (conn->peer);
  g_free (conn);
}

/* ---- reading ------------------------------------------------------------ */

/* The error for a connection that broke (@error, from GIO) or that the peer
 * closed (@error NULL). transfer full */
static GError *
broke (CgRtspConn *conn, const GError *error)
{
  if (!error)
    return g_error_new (CG_ERROR, CG_ERROR_IO, "%s closed the connection", conn->peer);
  return g_error_new (CG_ERROR, CG_ERROR_IO, "the connection to %s broke: %s", conn->peer,
                      error->message);
}

/* Hands every whole item in the input buffer to the callbacks. FALSE when
 * the connection was closed or failed meanwhile. */
static gboolean
dispatch (CgRtspConn *conn)
{
  gsize offset = 0;
  gboolean alive = TRUE;

  while (alive) {
    CgRtspItem item;
    g_autoptr (GError) error = NULL;
    gssize n = cg_rtsp_parse (conn->inbuf->data + offset, conn->inbuf->len - offset, &item,
                              conn->peer, &error);

    if (n < 0) {
      conn_fail (conn, g_steal_pointer (&error));
      return FALSE;
    }
    if (n == 0)
      break;
    offset += n;
    if (conn->closed) {         /* lingering: what comes is read and dropped */
      g_clear_pointer (&item.message, cg_rtsp_message_free);
      continue;
    }
    if (item.kind == CG_RTSP_ITEM_DATA && conn->funcs.data)
      conn->funcs.data (item.channel, item.data, item.size, conn->user_data);
    else if (item.kind == CG_RTSP_ITEM_MESSAGE && conn->funcs.message)
      conn->funcs.message (item.message, conn->user_data);
    g_clear_pointer (&item.message, cg_rtsp_message_free);
    alive = !conn->failed && (!conn->closed || conn->linger_id);
  }
  if (offset > 0 && conn->inbuf->len > 0)
    g_byte_array_remove_range (conn->inbuf, 0, MIN (offset, conn->inbuf->len));
  return alive;
}

static gboolean
on_readable (GObject *stream, gpointer data)
{
  CgRtspConn *conn = data;
  gboolean eof = FALSE, alive = TRUE;
  GError *error = NULL;

  conn_ref (conn);
  /* A chunk at a time, each parsed before the next is read, so the input
   * buffer stays small; a bounded number per wake-up, so one busy camera
   * does not starve the others (the source stays ready for the rest). */
  for (guint chunks = 0; alive && chunks < READ_CHUNKS_PER_WAKEUP; chunks++) {
    gsize before = conn->inbuf->len;
    gssize n;

    g_byte_array_set_size (conn->inbuf, before + READ_CHUNK);
    n = g_pollable_input_stream_read_nonblocking (conn->in, conn->inbuf->data + before,
                                                  READ_CHUNK, NULL, &error);
    g_byte_array_set_size (conn->inbuf, before + MAX (n, 0));
    if (n <= 0) {
      eof = n == 0;
      break;
    }
    alive = dispatch (conn);
  }
  if (error && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    g_clear_error (&error);

  if (alive && (eof || error))
    conn_fail (conn, broke (conn, error));
  g_clear_error (&error);
  alive = !conn->failed && !eof && conn->read_source != NULL;
  conn_unref (conn);
  return alive ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* ---- writing ------------------------------------------------------------ */

static void flush_out (CgRtspConn *conn);
static void wait_writable (CgRtspConn *conn);

static gboolean
on_writable (GObject *stream, gpointer data)
{
  CgRtspConn *conn = data;

  g_clear_pointer (&conn->write_source, g_source_unref);
  conn_ref (conn);
  flush_out (conn);
  conn_unref (conn);
  return G_SOURCE_REMOVE;
}

static gboolean
on_fail_later (gpointer data)
{
  CgRtspConn *conn = data;

  conn->fail_id = 0;
  conn_ref (conn);
  conn_fail (conn, g_steal_pointer (&conn->fail_error));
  conn_unref (conn);
  return G_SOURCE_REMOVE;
}

/* A failure found inside a caller's cg_rtsp_conn_send(): reported next. */
static void
conn_fail_later (CgRtspConn *conn, GError *error)
{
  if (conn->fail_id || conn->failed) {
    g_error_free (error);
    return;
  }
  conn->fail_error = error;
  conn->fail_id = g_idle_add (on_fail_later, conn);
}

static void
wait_writable (CgRtspConn *conn)
{
  if (conn->write_source)
    return;
  conn->write_source = g_pollable_output_stream_create_source (conn->out, NULL);
  g_source_set_callback (conn->write_source, G_SOURCE_FUNC (on_writable), conn, NULL);
  g_source_attach (conn->write_source, NULL);
}

/* Writes what the socket takes; the rest waits for it to drain. Called from
 * our own source callback only, so it may report a failure at once. */
static void
flush_out (CgRtspConn *conn)
{
  GError *error = NULL;

  while (conn->out_offset < conn->outbuf->len && !conn->failed) {
    gssize n = g_pollable_output_stream_write_nonblocking (
        conn->out, conn->outbuf->data + conn->out_offset,
        conn->outbuf->len - conn->out_offset, NULL, &error);
    if (n < 0) {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
        g_clear_error (&error);
        wait_writable (conn);
        return;
      }
      conn_fail (conn, broke (conn, error));
      g_error_free (error);
      return;
    }
    conn->out_offset += n;
    conn->written += n;
  }
  if (conn->out_offset == conn->outbuf->len) {
    g_byte_array_set_size (conn->outbuf, 0);
    conn->out_offset = 0;
  }
}

void
cg_rtsp_conn_send (CgRtspConn *conn, const guint8 *data, gsize size)
{
  if (conn->failed || conn->fail_id)
    return;
  if (conn->outbuf->len == 0 && !conn->write_source) {
    /* Nothing waits: straight to the socket, and keep only what it left. */
    GError *error = NULL;
    gssize n = g_pollable_output_stream_write_nonblocking (conn->out, data, size, NULL, &error);
    if (n < 0 && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
      conn_fail_later (conn, broke (conn, error));
      g_error_free (error);
      return;
    }
    g_clear_error (&error);
    n = MAX (n, 0);
    conn->written += n;
    data += n;
    size -= n;
    if (size == 0)
      return;
  }
  if (conn->out_offset > 0 && conn->out_offset >= conn->outbuf->len / 2) {
    g_byte_array_remove_range (conn->outbuf, 0, conn->out_offset);
    conn->out_offset = 0;
  }
  g_byte_array_append (conn->outbuf, data, size);
  if (!conn->fail_id)
    wait_writable (conn);
}

gboolean
cg_rtsp_conn_is_broken (CgRtspConn *conn)
{
  return conn->failed || conn->fail_id;
}

gsize
cg_rtsp_conn_pending (CgRtspConn *conn)
{
  return conn->outbuf->len - conn->out_offset;
}

guint64
cg_rtsp_conn_written (CgRtspConn *conn)
{
  return conn->written;
}

char *
cg_rtsp_conn_local_address (CgRtspConn *conn)
{
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (conn->socket, NULL);

  if (!G_IS_INET_SOCKET_ADDRESS (local))
    return NULL;
  return g_inet_address_to_string (
      g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local)));
}

GInetAddress *
cg_rtsp_conn_remote_address (CgRtspConn *conn)
{
  g_autoptr (GSocketAddress) remote = g_socket_get_remote_address (conn->socket, NULL);

  if (!G_IS_INET_SOCKET_ADDRESS (remote))
    return NULL;
  return g_object_ref (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
}

/* ---- failing and closing ------------------------------------------------- */

static void
conn_fail (CgRtspConn *conn, GError *error)
{
  if (conn->failed) {
    g_error_free (error);
    return;
  }
  conn->failed = TRUE;
  if (!conn->closed && conn->funcs.failed)
    conn->funcs.failed (error, conn->user_data);
  g_error_free (error);
}

static void
stop_io (CgRtspConn *conn)
{
  if (conn->read_source)
    g_source_destroy (conn->read_source);
  g_clear_pointer (&conn->read_source, g_source_unref);
  if (conn->write_source)
    g_source_destroy (conn->write_source);
  g_clear_pointer (&conn->write_source, g_source_unref);
}

/* The end of a lingering close, by whichever way it came: once. */
static void
linger_done (CgRtspConn *conn)
{
  g_clear_handle_id (&conn->linger_id, g_source_remove);
  g_clear_handle_id (&conn->linger_poll_id, g_source_remove);
  stop_io (conn);
  g_socket_close (conn->socket, NULL);
  lingering--;
  conn_unref (conn);
}

static void
on_closed (GObject *stream, GAsyncResult *result, gpointer data)
{
  CgRtspConn *conn = data;

  g_io_stream_close_finish (G_IO_STREAM (stream), result, NULL);
  linger_done (conn);
}

static gboolean
on_linger_timeout (gpointer data)
{
  CgRtspConn *conn = data;

  conn->linger_id = 0;
  if (conn->close_cancellable)
    g_cancellable_cancel (conn->close_cancellable);   /* on_closed follows */
  else
    linger_done (conn);
  return G_SOURCE_REMOVE;
}

/* Once the output is written, close the stream (TLS close_notify). */
static gboolean
on_linger_poll (gpointer data)
{
  CgRtspConn *conn = data;

  if (cg_rtsp_conn_pending (conn) > 0 && !conn->failed)
    return G_SOURCE_CONTINUE;
  conn->linger_poll_id = 0;
  if (conn->write_source)
    g_source_destroy (conn->write_source);
  g_clear_pointer (&conn->write_source, g_source_unref);
  conn->close_cancellable = g_cancellable_new ();
  g_io_stream_close_async (conn->stream, G_PRIORITY_DEFAULT, conn->close_cancellable,
                           on_closed, conn);
  return G_SOURCE_REMOVE;
}

void
cg_rtsp_conn_close (CgRtspConn *conn, gboolean linger)
{
  if (!conn)
    return;
  conn->closed = TRUE;
  if (linger && !conn->failed) {
    /* Reading goes on (and drops what comes) so that unread input does not
     * make the kernel reset the connection before the output is out. */
    lingering++;
    conn->linger_id = g_timeout_add (LINGER_TIMEOUT_MS, on_linger_timeout, conn);
    conn->linger_poll_id = g_timeout_add (LINGER_POLL_MS, on_linger_poll, conn);
    return;   /* the reference is dropped by linger_done */
  }
  stop_io (conn);
  /* The socket first: closing the stream must not wait on a TLS close_notify. */
  g_socket_close (conn->socket, NULL);
  conn_unref (conn);
}

guint
cg_rtsp_conn_lingering (void)
{
  return lingering;
}

/* ---- connecting --------------------------------------------------------- */

typedef struct {
  char *peer;
  CgRtspConnFuncs funcs;
  gpointer user_data;
  CgRtspConnectFunc func;
  GTlsDatabase *database;
  char *tls_refused;            /* why the certificate was refused */
  GCancellable *cancellable;    /* ours, cancelled by the caller's and by the timeout */
  gulong cancelled_id;
  GCancellable *caller_cancellable;
  guint timeout_id;
  gboolean timed_out;
} Connecting;

static void
connecting_free (Connecting *c)
{
  if (c->caller_cancellable)
    g_cancellable_disconnect (c->caller_cancellable, c->cancelled_id);
  g_clear_object (&c->caller_cancellable);
  g_clear_handle_id (&c->timeout_id, g_source_remove);
  g_clear_object (&c->cancellable);
  g_clear_object (&c->database);
  g_free (c->tls_refused);
  g_free (c->peer);
  g_free (c);
}

char *
cg_tls_describe_errors (GTlsCertificateFlags errors)
{
  GString *why = g_string_new (NULL);

  if (errors & G_TLS_CERTIFICATE_UNKNOWN_CA)
    g_string_append (why, ", not signed by a trusted CA");
  if (errors & G_TLS_CERTIFICATE_BAD_IDENTITY)
    g_string_append (why, ", issued for another host name");
  if (errors & (G_TLS_CERTIFICATE_NOT_ACTIVATED | G_TLS_CERTIFICATE_EXPIRED))
    g_string_append (why, ", outside its validity period");
  if (errors & G_TLS_CERTIFICATE_REVOKED)
    g_string_append (why, ", revoked");
  if (errors & ~(G_TLS_CERTIFICATE_UNKNOWN_CA | G_TLS_CERTIFICATE_BAD_IDENTITY |
                 G_TLS_CERTIFICATE_NOT_ACTIVATED | G_TLS_CERTIFICATE_EXPIRED |
                 G_TLS_CERTIFICATE_REVOKED))
    g_string_append (why, ", otherwise invalid");
  if (!why->len)
    g_string_append (why, ", invalid");
  g_string_erase (why, 0, 2);
  return g_string_free (why, FALSE);
}

static gboolean
on_accept_certificate (GTlsConnection *tls, GTlsCertificate *cert, GTlsCertificateFlags errors,
                       gpointer data)
{
  Connecting *c = data;

  g_free (c->tls_refused);
  c->tls_refused = cg_tls_describe_errors (errors);
  return FALSE;
}

static void
on_client_event (GSocketClient *client, GSocketClientEvent event, GSocketConnectable *where,
                 GIOStream *connection, gpointer data)
{
  Connecting *c = data;

  if (event != G_SOCKET_CLIENT_TLS_HANDSHAKING || !G_IS_TLS_CLIENT_CONNECTION (connection))
    return;
  if (c->database)
    g_tls_connection_set_database (G_TLS_CONNECTION (connection), c->database);
  g_signal_connect (connection, "accept-certificate", G_CALLBACK (on_accept_certificate), c);
}

static gboolean
on_connect_timeout (gpointer data)
{
  Connecting *c = data;

  c->timeout_id = 0;
  c->timed_out = TRUE;
  g_cancellable_cancel (c->cancellable);
  return G_SOURCE_REMOVE;
}

static void
on_caller_cancelled (GCancellable *caller, gpointer data)
{
  g_cancellable_cancel (G_CANCELLABLE (data));
}

static CgRtspConn *
conn_new (Connecting *c, GSocketConnection *connection)
{
  CgRtspConn *conn = g_new0 (CgRtspConn, 1);
  GIOStream *stream = G_IO_STREAM (connection);

  conn->ref_count = 1;
  conn->peer = g_strdup (c->peer);
  conn->funcs = c->funcs;
  conn->user_data = c->user_data;
  /* With TLS the client hands back a wrapper around the TLS stream; closing
   * the wrapper closes the stream, so the connection keeps the wrapper. */
  if (G_IS_TCP_WRAPPER_CONNECTION (connection))
    stream = g_tcp_wrapper_connection_get_base_io_stream (G_TCP_WRAPPER_CONNECTION (connection));
  conn->connection = g_object_ref (connection);
  conn->stream = stream;
  conn->socket = g_socket_connection_get_socket (connection);
  if (G_IS_TLS_CONNECTION (stream))
    g_signal_handlers_disconnect_by_data (stream, c);   /* c is gone after this */
  g_socket_set_option (conn->socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  conn->in = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (stream));
  conn->out = G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (stream));
  conn->inbuf = g_byte_array_sized_new (READ_CHUNK);
  conn->outbuf = g_byte_array_new ();
  conn->read_source = g_pollable_input_stream_create_source (conn->in, NULL);
  g_source_set_callback (conn->read_source, G_SOURCE_FUNC (on_readable), conn, NULL);
  g_source_attach (conn->read_source, NULL);
  return conn;
}

static void
on_connected (GObject *object, GAsyncResult *result, gpointer data)
{
  Connecting *c = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) connection =
      g_socket_client_connect_to_uri_finish (G_SOCKET_CLIENT (object), result, &error);
  g_autoptr (GError) reported = NULL;

  if (c->caller_cancellable && g_cancellable_is_cancelled (c->caller_cancellable)) {
    if (connection)   /* no TLS goodbye: the socket goes, the unref does the rest */
      g_socket_close (g_socket_connection_get_socket (connection), NULL);
    connecting_free (c);
    return;
  }
  if (connection) {
    c->func (conn_new (c, connection), NULL, c->user_data);
    connecting_free (c);
    return;
  }
  if (c->tls_refused)
    reported = g_error_new (CG_ERROR, CG_ERROR_TLS,
                            "%s presented a TLS certificate that does not verify (%s): "
                            "refused, nothing was sent", c->peer, c->tls_refused);
  else if (c->timed_out)
    reported = g_error_new (CG_ERROR, CG_ERROR_IO,
                            "cannot connect to %s: no answer in time (is it up, and is the "
                            "url right?)", c->peer);
  else
    reported = g_error_new (CG_ERROR, CG_ERROR_IO,
                            "cannot connect to %s: is it up, and is the url right? (%s)",
                            c->peer, error->message);
  c->func (NULL, reported, c->user_data);
  connecting_free (c);
}

void
cg_rtsp_conn_connect (const char *url, GTlsDatabase *database, guint timeout_s,
                      const char *peer, const CgRtspConnFuncs *funcs, gpointer user_data,
                      GCancellable *cancellable, CgRtspConnectFunc func)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  gboolean tls = g_str_has_prefix (url, "rtsps://");
  Connecting *c = g_new0 (Connecting, 1);

  c->peer = g_strdup (peer);
  c->funcs = *funcs;
  c->user_data = user_data;
  c->func = func;
  c->database = database ? g_object_ref (database) : NULL;
  c->cancellable = g_cancellable_new ();
  if (cancellable) {
    c->caller_cancellable = g_object_ref (cancellable);
    c->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (on_caller_cancelled),
                                             c->cancellable, NULL);
  }
  c->timeout_id = g_timeout_add_seconds (timeout_s, on_connect_timeout, c);
  g_socket_client_set_tls (client, tls);
  g_signal_connect (client, "event", G_CALLBACK (on_client_event), c);
  g_socket_client_connect_to_uri_async (client, url, tls ? 322 : 554, c->cancellable,
                                        on_connected, c);
}
