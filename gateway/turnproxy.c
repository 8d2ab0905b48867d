/* TURN over real TLS through a loopback HTTP CONNECT proxy (see turnproxy.h).
 *
 * A tunnel: the CONNECT request is read from webrtcbin's side (plain TCP),
 * its target checked against the TURN servers camgate configured, a TCP
 * connection made to it, an OpenSSL handshake run on that socket without
 * blocking, "200 Connection established" answered, and from then on the
 * bytes are relayed: what webrtcbin sends goes into SSL_write, what SSL_read
 * gives goes back. One GSource per tunnel watches both sockets; its
 * conditions follow what each side waits for. Buffers are bounded: a side
 * that cannot take more stops the other from being read. */
#define G_LOG_DOMAIN "camgate-turnproxy"

#include "turnproxy.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <gio/gio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "error.h"

#define DEFAULT_SETUP_TIMEOUT_S 10
#define MAX_REQUEST 4096
#define MAX_PENDING (256 * 1024)
#define IO_CHUNK 16384
static const unsigned char alpn_stun_turn[] = "\x09stun.turn";   /* RFC 7443 */

typedef enum {
  TUNNEL_REQUEST,               /* reading the CONNECT */
  TUNNEL_CONNECTING,            /* TCP to the TURN server */
  TUNNEL_HANDSHAKE,             /* TLS */
  TUNNEL_RELAY,
} TunnelState;

typedef struct {
  GSource source;
  CgTurnProxy *proxy;
  TunnelState state;
  char *target;                 /* "203.0.113.2:443", for messages */
  char *name;                   /* the TURN server's name: SNI and certificate */
  GSocketConnection *client;
  GSocketConnection *server;
  int cfd, sfd;
  gpointer ctag, stag;          /* the source's fd tags */
  SSL *ssl;
  gboolean ssl_wants_write;     /* SSL_write or the handshake waits for the socket */
  GByteArray *request;
  GByteArray *up;               /* from the client, for SSL_write */
  GByteArray *down;             /* from SSL_read, for the client */
  GCancellable *cancellable;
  guint timeout_id;
  gboolean done;
} Tunnel;

struct _CgTurnProxy {
  SSL_CTX *ctx;
  GSocketService *service;
  char *uri;
  GHashTable *allowed;          /* "address:port" -> name */
  GList *tunnels;               /* element-type Tunnel */
  CgTurnProxyStats stats;
};

static void tunnel_pump (Tunnel *t);

/* ---- tunnels -------------------------------------------------------------- */

static void
set_error (CgTurnProxy *proxy, char *message /* transfer full */)
{
  g_warning ("TURN over TLS: %s", message);
  g_free (proxy->stats.last_error);
  proxy->stats.last_error = message;
}

static void
tunnel_finalize (GSource *source)
{
  Tunnel *t = (Tunnel *) source;

  g_clear_handle_id (&t->timeout_id, g_source_remove);
  if (t->cancellable)
    g_cancellable_cancel (t->cancellable);
  g_clear_object (&t->cancellable);
  if (t->ssl)
    SSL_free (t->ssl);
  if (t->server)
    g_io_stream_close (G_IO_STREAM (t->server), NULL, NULL);
  if (t->client)
    g_io_stream_close (G_IO_STREAM (t->client), NULL, NULL);
  g_clear_object (&t->server);
  g_clear_object (&t->client);
  g_byte_array_unref (t->request);
  g_byte_array_unref (t->up);
  g_byte_array_unref (t->down);
  g_free (t->target);
  g_free (t->name);
}

/* Ends the tunnel: both sockets are closed once the source is gone. */
static void
tunnel_end (Tunnel *t)
{
  if (t->done)
    return;
  t->done = TRUE;
  if (t->cancellable)
    g_cancellable_cancel (t->cancellable);
  if (t->state == TUNNEL_RELAY)
    t->proxy->stats.open--;
  t->proxy->tunnels = g_list_remove (t->proxy->tunnels, t);
  g_source_destroy ((GSource *) t);
  g_source_unref ((GSource *) t);
}

/* Refuses the CONNECT with @status and ends the tunnel. */
static void
tunnel_refuse (Tunnel *t, const char *status, char *why /* transfer full */)
{
  char reply[128];
  int n = g_snprintf (reply, sizeof reply, "HTTP/1.1 %s\r\nContent-Length: 0\r\n\r\n", status);

  if (send (t->cfd, reply, n, MSG_NOSIGNAL) < 0)
    g_debug ("TURN over TLS: the refusal went unsent: %s", g_strerror (errno));
  t->proxy->stats.refused++;
  set_error (t->proxy, why);
  tunnel_end (t);
}

static gboolean
on_setup_timeout (gpointer data)
{
  Tunnel *t = data;

  t->timeout_id = 0;
  tunnel_refuse (t, "504 Gateway Timeout",
                 g_strdup_printf ("no TLS session with the TURN server at %s within %d s",
                                  t->target ? t->target : "(no CONNECT yet)",
                                  DEFAULT_SETUP_TIMEOUT_S));
  return G_SOURCE_REMOVE;
}

/* Why OpenSSL failed, in words. transfer full */
static char *
ssl_failure (Tunnel *t)
{
  long verify = SSL_get_verify_result (t->ssl);
  unsigned long e = ERR_get_error ();
  char buf[256];

  ERR_clear_error ();
  if (verify != X509_V_OK)
    return g_strdup_printf ("the TURN server %s (%s) presented a TLS certificate that does not "
                            "verify (%s): refused", t->name, t->target,
                            X509_verify_cert_error_string (verify));
  ERR_error_string_n (e, buf, sizeof buf);
  return g_strdup_printf ("the TLS handshake with the TURN server %s (%s) failed (%s)",
                          t->name, t->target, e ? buf : "the connection closed");
}

static void
on_server_connected (GObject *object, GAsyncResult *result, gpointer data)
{
  Tunnel *t = data;
  g_autoptr (GError) error = NULL;
  GSocketConnection *server =
      g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (object), result, &error);

  if (t->done) {                /* ended meanwhile (timeout, the proxy freed) */
    if (server)
      g_io_stream_close (G_IO_STREAM (server), NULL, NULL);
    g_clear_object (&server);
    g_source_unref ((GSource *) t);
    return;
  }
  if (!server) {
    if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      tunnel_refuse (t, "502 Bad Gateway",
                     g_strdup_printf ("cannot connect to the TURN server %s (%s): %s", t->name,
                                      t->target, error->message));
    g_source_unref ((GSource *) t);
    return;
  }
  t->server = server;
  t->sfd = g_socket_get_fd (g_socket_connection_get_socket (server));
  t->ssl = SSL_new (t->proxy->ctx);
  SSL_set_fd (t->ssl, t->sfd);
  /* SNI names a host, never an address (RFC 6066 section 3) */
  if (g_hostname_is_ip_address (t->name)) {
    X509_VERIFY_PARAM_set1_ip_asc (SSL_get0_param (t->ssl), t->name);
  } else {
    SSL_set_tlsext_host_name (t->ssl, t->name);
    SSL_set1_host (t->ssl, t->name);
  }
  SSL_set_alpn_protos (t->ssl, alpn_stun_turn, sizeof alpn_stun_turn - 1);
  t->state = TUNNEL_HANDSHAKE;
  t->stag = g_source_add_unix_fd ((GSource *) t, t->sfd, G_IO_OUT);
  tunnel_pump (t);
  g_source_unref ((GSource *) t);
}

/* The CONNECT is whole in t->request: check it and dial the TURN server.
 * FALSE when the tunnel ended. */
static gboolean
handle_request (Tunnel *t, gsize head_len)
{
  g_autofree char *head = g_strndup ((const char *) t->request->data, head_len);
  g_auto (GStrv) first = g_strsplit (head, " ", 3);
  const char *name;
  g_autoptr (GSocketClient) client = NULL;
  char *colon;
  guint64 port = 0;

  if (g_strv_length (first) < 3 || strcmp (first[0], "CONNECT") ||
      !g_str_has_prefix (first[2], "HTTP/1.") || !(colon = strrchr (first[1], ':')) ||
      !g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &port, NULL)) {
    g_autofree char *start = g_strndup (head, MIN (head_len, 40));
    g_autofree char *shown = g_strescape (start, NULL);
    tunnel_refuse (t, "400 Bad Request",
                   g_strdup_printf ("refused a request that is not a CONNECT (\"%s\")", shown));
    return FALSE;
  }
  t->target = g_strdup (first[1]);
  name = g_hash_table_lookup (t->proxy->allowed, t->target);
  if (!name) {
    tunnel_refuse (t, "403 Forbidden",
                   g_strdup_printf ("refused a CONNECT to %s: not a configured TURN server",
                                    t->target));
    return FALSE;
  }
  t->name = g_strdup (name);
  /* Bytes sent after the request (TURN, early) wait for the tunnel. */
  g_byte_array_append (t->up, t->request->data + head_len, t->request->len - head_len);
  g_byte_array_set_size (t->request, 0);

  *colon = '\0';
  t->state = TUNNEL_CONNECTING;
  t->cancellable = g_cancellable_new ();
  client = g_socket_client_new ();
  g_socket_client_connect_to_host_async (client, first[1][0] == '[' ? first[1] + 1 : first[1],
                                         port, t->cancellable, on_server_connected,
                                         g_source_ref ((GSource *) t));
  return TRUE;
}

/* Reads the CONNECT request. FALSE when the tunnel ended or waits on the dial. */
static gboolean
pump_request (Tunnel *t)
{
  for (;;) {
    guint8 buf[1024];
    gssize n = recv (t->cfd, buf, sizeof buf, 0);
    const char *end;

    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return TRUE;
    if (n <= 0) {
      tunnel_end (t);
      return FALSE;
    }
    g_byte_array_append (t->request, buf, n);
    end = g_strstr_len ((const char *) t->request->data, t->request->len, "\r\n\r\n");
    if (end) {
      handle_request (t, end + 4 - (const char *) t->request->data);
      return FALSE;
    }
    if (t->request->len > MAX_REQUEST) {
      tunnel_refuse (t, "431 Request Header Fields Too Large",
                     g_strdup_printf ("refused a CONNECT request over %d bytes", MAX_REQUEST));
      return FALSE;
    }
  }
}

/* FALSE when the tunnel ended. */
static gboolean
pump_handshake (Tunnel *t)
{
  int r = SSL_connect (t->ssl);
  const unsigned char *alpn = NULL;
  unsigned int alpn_len = 0;
  static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";

  if (r != 1) {
    int e = SSL_get_error (t->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      t->ssl_wants_write = e == SSL_ERROR_WANT_WRITE;
      return TRUE;
    }
    tunnel_refuse (t, "502 Bad Gateway", ssl_failure (t));
    return FALSE;
  }
  g_clear_handle_id (&t->timeout_id, g_source_remove);
  SSL_get0_alpn_selected (t->ssl, &alpn, &alpn_len);
  g_free (t->proxy->stats.alpn);
  t->proxy->stats.alpn = alpn_len ? g_strndup ((const char *) alpn, alpn_len) : NULL;
  t->proxy->stats.tunnels++;
  t->proxy->stats.open++;
  t->state = TUNNEL_RELAY;
  t->ssl_wants_write = FALSE;
  g_info ("TURN over TLS to %s (%s): %s, ALPN %s", t->name, t->target, SSL_get_version (t->ssl),
          t->proxy->stats.alpn ? t->proxy->stats.alpn : "none");
  /* The reply goes before anything relayed: the client socket is fresh and
   * takes these few bytes at once. */
  if (send (t->cfd, ok, sizeof ok - 1, MSG_NOSIGNAL) != sizeof ok - 1) {
    tunnel_end (t);
    return FALSE;
  }
  return TRUE;
}

/* Moves what can move in both directions. FALSE when the tunnel ended. */
static gboolean
pump_relay (Tunnel *t)
{
  guint8 buf[IO_CHUNK];
  gboolean progress = TRUE;

  while (progress) {
    progress = FALSE;
    /* webrtcbin → TLS */
    if (t->up->len < MAX_PENDING) {
      gssize n = recv (t->cfd, buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
        goto closed;
      if (n > 0) {
        g_byte_array_append (t->up, buf, n);
        progress = TRUE;
      }
    }
    t->ssl_wants_write = FALSE;
    while (t->up->len > 0) {
      int n = SSL_write (t->ssl, t->up->data, t->up->len);
      if (n <= 0) {
        int e = SSL_get_error (t->ssl, n);
        if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ)
          goto broken;
        t->ssl_wants_write = e == SSL_ERROR_WANT_WRITE;
        break;
      }
      t->proxy->stats.bytes_up += n;
      g_byte_array_remove_range (t->up, 0, n);
      progress = TRUE;
    }
    /* TLS → webrtcbin */
    while (t->down->len < MAX_PENDING) {
      int n = SSL_read (t->ssl, buf, sizeof buf);
      if (n <= 0) {
        int e = SSL_get_error (t->ssl, n);
        if (e == SSL_ERROR_ZERO_RETURN)
          goto closed;
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
          goto broken;
        break;
      }
      t->proxy->stats.bytes_down += n;
      g_byte_array_append (t->down, buf, n);
      progress = TRUE;
    }
    if (t->down->len > 0) {
      gssize n = send (t->cfd, t->down->data, t->down->len, MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        goto closed;
      if (n > 0) {
        g_byte_array_remove_range (t->down, 0, n);
        progress = TRUE;
      }
    }
  }
  return TRUE;

broken:
  set_error (t->proxy, g_strdup_printf ("the TLS session with the TURN server %s (%s) broke",
                                        t->name, t->target));
closed:
  ERR_clear_error ();
  tunnel_end (t);
  return FALSE;
}

/* What each socket waits for, from the state. */
static void
tunnel_watch (Tunnel *t)
{
  GIOCondition c = 0, s = 0;

  switch (t->state) {
  case TUNNEL_REQUEST:
    c = G_IO_IN;
    break;
  case TUNNEL_CONNECTING:
    break;
  case TUNNEL_HANDSHAKE:
    s = t->ssl_wants_write ? G_IO_OUT : G_IO_IN;
    break;
  case TUNNEL_RELAY:
    if (t->up->len < MAX_PENDING)
      c |= G_IO_IN;
    if (t->down->len > 0)
      c |= G_IO_OUT;
    if (t->down->len < MAX_PENDING)
      s |= G_IO_IN;
    if (t->ssl_wants_write)
      s |= G_IO_OUT;
    break;
  }
  g_source_modify_unix_fd ((GSource *) t, t->ctag, c);
  if (t->stag)
    g_source_modify_unix_fd ((GSource *) t, t->stag, s);
}

static void
tunnel_pump (Tunnel *t)
{
  gboolean alive = TRUE;

  if (t->done)
    return;
  if (t->state == TUNNEL_REQUEST)
    alive = pump_request (t);
  if (alive && t->state == TUNNEL_HANDSHAKE)
    alive = pump_handshake (t);
  if (alive && t->state == TUNNEL_RELAY)
    alive = pump_relay (t);
  if (!t->done)
    tunnel_watch (t);
}

static gboolean
tunnel_dispatch (GSource *source, GSourceFunc callback, gpointer data)
{
  tunnel_pump ((Tunnel *) source);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs tunnel_funcs = {
  .dispatch = tunnel_dispatch,
  .finalize = tunnel_finalize,
};

static gboolean
on_incoming (GSocketService *service, GSocketConnection *connection, GObject *source_object,
             gpointer data)
{
  CgTurnProxy *proxy = data;
  Tunnel *t = (Tunnel *) g_source_new (&tunnel_funcs, sizeof (Tunnel));

  t->proxy = proxy;
  t->state = TUNNEL_REQUEST;
  t->client = g_object_ref (connection);
  t->cfd = g_socket_get_fd (g_socket_connection_get_socket (connection));
  t->request = g_byte_array_new ();
  t->up = g_byte_array_new ();
  t->down = g_byte_array_new ();
  t->ctag = g_source_add_unix_fd ((GSource *) t, t->cfd, G_IO_IN);
  t->timeout_id = g_timeout_add_seconds (DEFAULT_SETUP_TIMEOUT_S, on_setup_timeout, t);
  g_source_attach ((GSource *) t, NULL);
  proxy->tunnels = g_list_prepend (proxy->tunnels, t);
  return TRUE;
}

/* ---- the proxy ------------------------------------------------------------ */

CgTurnProxy *
cg_turn_proxy_new (const char *ca_file, GError **error)
{
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  CgTurnProxy *proxy = g_new0 (CgTurnProxy, 1);
  gboolean trusted;

  proxy->ctx = SSL_CTX_new (TLS_client_method ());
  SSL_CTX_set_min_proto_version (proxy->ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify (proxy->ctx, SSL_VERIFY_PEER, NULL);
  trusted = ca_file ? SSL_CTX_load_verify_locations (proxy->ctx, ca_file, NULL)
                    : SSL_CTX_set_default_verify_paths (proxy->ctx);
  proxy->allowed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (!trusted) {
    ERR_clear_error ();
    g_set_error (error, CG_ERROR, CG_ERROR_CONFIG,
                 "cannot read the trust anchors for the TURN servers from %s",
                 ca_file ? ca_file : "the system store");
    cg_turn_proxy_free (proxy);
    return NULL;
  }
  proxy->service = g_socket_service_new ();
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (proxy->service), any_port,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                      &bound, error)) {
    g_prefix_error (error, "cannot listen on loopback for TURN over TLS: ");
    cg_turn_proxy_free (proxy);
    return NULL;
  }
  proxy->uri = g_strdup_printf ("http://127.0.0.1:%u",
                                g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  g_signal_connect (proxy->service, "incoming", G_CALLBACK (on_incoming), proxy);
  g_socket_service_start (proxy->service);
  return proxy;
}

void
cg_turn_proxy_free (CgTurnProxy *proxy)
{
  if (!proxy)
    return;
  while (proxy->tunnels)
    tunnel_end (proxy->tunnels->data);
  if (proxy->service) {
    g_socket_service_stop (proxy->service);
    g_socket_listener_close (G_SOCKET_LISTENER (proxy->service));
    g_object_unref (proxy->service);
  }
  SSL_CTX_free (proxy->ctx);
  g_hash_table_unref (proxy->allowed);
  cg_turn_proxy_stats_clear (&proxy->stats);
  g_free (proxy->uri);
  g_free (proxy);
}

const char *
cg_turn_proxy_get_uri (CgTurnProxy *proxy)
{
  return proxy->uri;
}

void
cg_turn_proxy_allow (CgTurnProxy *proxy, const char *address, guint16 port, const char *name)
{
  char *key = strchr (address, ':') ? g_strdup_printf ("[%s]:%u", address, port)
                                    : g_strdup_printf ("%s:%u", address, port);

  g_hash_table_replace (proxy->allowed, key, g_strdup (name));
}

void
cg_turn_proxy_stats_clear (CgTurnProxyStats *stats)
{
  g_clear_pointer (&stats->alpn, g_free);
  g_clear_pointer (&stats->last_error, g_free);
}

void
cg_turn_proxy_get_stats (CgTurnProxy *proxy, CgTurnProxyStats *stats)
{
  *stats = proxy->stats;
  stats->alpn = g_strdup (proxy->stats.alpn);
  stats->last_error = g_strdup (proxy->stats.last_error);
}
