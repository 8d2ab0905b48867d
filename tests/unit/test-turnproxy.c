/* TURN over real TLS: the loopback CONNECT proxy against a real TLS server
 * (openssl s_server in -rev mode, which answers each line reversed, and
 * refuses a handshake whose SNI is not the TURN server's name). Checked: the
 * bytes go through TLS both ways, ALPN stun.turn is agreed, a certificate
 * from another CA or for another name is refused, and nothing but the
 * configured TURN servers can be reached. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>

#include "turnproxy.h"

static char *dir;
static guint16 tls_port;        /* refuses a handshake whose SNI is not turn.test */
static guint16 lax_port;        /* takes any SNI: the certificate check is ours alone */
static GPid server_pids[2];

static void
run (const char *cmd)
{
  g_autofree char *out = NULL, *err = NULL;
  int status;

  g_assert_true (g_spawn_command_line_sync (cmd, &out, &err, &status, NULL));
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s failed: %s", cmd, err);
}

static char *
path (const char *name)
{
  return g_build_filename (dir, name, NULL);
}

/* A CA and a server certificate for "turn.test"; a second CA. */
static void
make_pki (void)
{
  g_autofree char *cmd = g_strdup_printf (
      "sh -c 'cd %s && "
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
      "-keyout ca.key -out ca.pem -subj /CN=test-ca 2>/dev/null && "
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
      "-keyout other.key -out other-ca.pem -subj /CN=other-ca 2>/dev/null && "
      "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
      "-keyout turn.key -out turn.csr -subj /CN=turn.test 2>/dev/null && "
      "printf \"subjectAltName = DNS:turn.test\\nextendedKeyUsage = serverAuth\\n\" > ext && "
      "openssl x509 -req -in turn.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
      "-extfile ext -out turn.pem 2>/dev/null'", dir);
  run (cmd);
}

/* openssl s_server on a free port; waits until it accepts. */
static guint16
start_server (gboolean strict_sni, GPid *pid)
{
  g_autofree char *cert = path ("turn.pem"), *key = path ("turn.key");

  for (int attempt = 0; attempt < 20; attempt++) {
    g_autofree char *port = NULL;
    int out_fd;
    char buf[256];
    gssize n;
    GString *seen = g_string_new (NULL);
    gboolean ready = FALSE;
    guint16 n_port = g_random_int_range (20000, 60000);
    const char *argv[] = { "openssl", "s_server", "-accept", NULL, "-cert", cert, "-key", key,
                           "-alpn", "stun.turn", "-rev", "-servername", "turn.test",
                           "-cert2", cert, "-key2", key, "-servername_fatal", NULL };

    port = g_strdup_printf ("127.0.0.1:%u", n_port);
    argv[3] = port;
    if (!strict_sni)
      argv[11] = NULL;
    g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv, NULL,
                                             G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                                             NULL, NULL, pid, NULL, &out_fd, NULL, NULL));
    while (!ready && (n = read (out_fd, buf, sizeof buf - 1)) > 0) {
      g_string_append_len (seen, buf, n);
      ready = strstr (seen->str, "ACCEPT") != NULL;
    }
    g_string_free (seen, TRUE);
    close (out_fd);
    if (ready)
      return n_port;
    kill (*pid, SIGTERM);
    g_spawn_close_pid (*pid);
  }
  g_error ("openssl s_server did not start");
}

typedef struct {
  guint16 proxy_port;
  const char *request;          /* sent first */
  const char *payload;          /* then, once the tunnel is up */
  char *status_line;            /* the proxy's answer */
  char *echo;                   /* what came back through the tunnel */
  gboolean done;
} Client;

/* A blocking client in its own thread: the proxy runs on the main loop. */
static gpointer
client_thread (gpointer data)
{
  Client *c = data;
  g_autoptr (GSocketClient) sc = g_socket_client_new ();
  g_autoptr (GSocketConnection) conn = NULL;
  GString *got = g_string_new (NULL);
  char buf[512];
  gssize n;
  const char *end = NULL;

  g_socket_client_set_timeout (sc, 15);
  conn = g_socket_client_connect_to_host (sc, "127.0.0.1", c->proxy_port, NULL, NULL);
  g_assert_nonnull (conn);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), c->request,
                             strlen (c->request), NULL, NULL, NULL);
  while (!(end = strstr (got->str, "\r\n\r\n")) &&
         (n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (conn)), buf,
                                   sizeof buf, NULL, NULL)) > 0)
    g_string_append_len (got, buf, n);
  c->status_line = g_strndup (got->str, strcspn (got->str, "\r\n"));
  if (end && g_str_has_prefix (got->str, "HTTP/1.1 200") && c->payload) {
    GString *echo = g_string_new (end + 4);
    g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), c->payload,
                               strlen (c->payload), NULL, NULL, NULL);
    while (!strchr (echo->str, '\n') &&
           (n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (conn)), buf,
                                     sizeof buf, NULL, NULL)) > 0)
      g_string_append_len (echo, buf, n);
    c->echo = g_string_free (echo, FALSE);
  }
  g_string_free (got, TRUE);
  g_atomic_int_set (&c->done, TRUE);
  return NULL;
}

/* Runs a client against @proxy while the main loop turns. */
static void
connect_through (CgTurnProxy *proxy, Client *c)
{
  const char *uri = cg_turn_proxy_get_uri (proxy);
  GThread *thread;

  c->proxy_port = atoi (strrchr (uri, ':') + 1);
  thread = g_thread_new ("client", client_thread, c);
  while (!g_atomic_int_get (&c->done))
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  g_thread_join (thread);
  /* let the proxy see the close */
  for (int i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
}

static char *
connect_line (guint16 port)
{
  return g_strdup_printf ("CONNECT 127.0.0.1:%u HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", port,
                          port);
}

/* Through the strict server: SNI is turn.test (it refuses any other). Through
 * the lax one (s_server loses its ALPN setting when it checks SNI): ALPN
 * stun.turn is agreed. */
static void
test_tunnel (void)
{
  g_autofree char *ca = path ("ca.pem");
  g_autoptr (GError) error = NULL;
  CgTurnProxy *proxy = cg_turn_proxy_new (ca, &error);
  guint16 ports[2] = { tls_port, lax_port };
  CgTurnProxyStats stats;

  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (cg_turn_proxy_get_uri (proxy), "http://127.0.0.1:"));
  for (int i = 0; i < 2; i++) {
    g_autofree char *request = connect_line (ports[i]);
    Client c = { .request = request, .payload = "hello turn\n" };

    cg_turn_proxy_allow (proxy, "127.0.0.1", ports[i], "turn.test");
    connect_through (proxy, &c);
    g_assert_cmpstr (c.status_line, ==, "HTTP/1.1 200 Connection established");
    g_assert_cmpstr (c.echo, ==, "nrut olleh\n");
    g_free (c.status_line);
    g_free (c.echo);
  }
  cg_turn_proxy_get_stats (proxy, &stats);
  g_assert_cmpuint (stats.tunnels, ==, 2);
  g_assert_cmpuint (stats.refused, ==, 0);
  g_assert_cmpstr (stats.alpn, ==, "stun.turn");
  g_assert_cmpuint (stats.bytes_up, ==, 22);
  g_assert_cmpuint (stats.bytes_down, >=, 22);
  g_assert_null (stats.last_error);
  cg_turn_proxy_stats_clear (&stats);
  cg_turn_proxy_free (proxy);
}

/* Refused: 502 for a certificate that does not verify, 403 for a target that
 * is not a TURN server, 400 for what is not a CONNECT. */
static void
expect_refused (const char *ca_file, guint16 port, const char *name, const char *request,
                const char *status, const char *why)
{
  g_autoptr (GError) error = NULL;
  CgTurnProxy *proxy = cg_turn_proxy_new (ca_file, &error);
  Client c = { .request = request, .payload = "never\n" };
  CgTurnProxyStats stats;

  g_assert_no_error (error);
  cg_turn_proxy_allow (proxy, "127.0.0.1", port, name);
  g_test_expect_message ("camgate-turnproxy", G_LOG_LEVEL_WARNING, why);
  connect_through (proxy, &c);
  g_test_assert_expected_messages ();
  g_assert_cmpstr (c.status_line, ==, status);
  g_assert_null (c.echo);
  cg_turn_proxy_get_stats (proxy, &stats);
  g_assert_cmpuint (stats.tunnels, ==, 0);
  g_assert_cmpuint (stats.refused, ==, 1);
  g_assert_nonnull (stats.last_error);
  cg_turn_proxy_stats_clear (&stats);
  g_free (c.status_line);
  cg_turn_proxy_free (proxy);
}

static void
test_refused (void)
{
  g_autofree char *ca = path ("ca.pem"), *other = path ("other-ca.pem");
  g_autofree char *request = connect_line (tls_port), *lax = connect_line (lax_port);

  expect_refused (other, tls_port, "turn.test", request, "HTTP/1.1 502 Bad Gateway",
                  "*turn.test*does not verify*unable to get local issuer certificate*");
  expect_refused (ca, lax_port, "other.test", lax, "HTTP/1.1 502 Bad Gateway",
                  "*other.test*does not verify*hostname mismatch*");
  /* a port that is no configured TURN server */
  expect_refused (ca, lax_port, "turn.test", request, "HTTP/1.1 403 Forbidden",
                  "*not a configured TURN server*");
  expect_refused (ca, tls_port, "turn.test", "GET / HTTP/1.1\r\n\r\n",
                  "HTTP/1.1 400 Bad Request", "*not a CONNECT*");
}

static void
test_bad_ca_file (void)
{
  g_autoptr (GError) error = NULL;

  g_assert_null (cg_turn_proxy_new ("/nonexistent/ca.pem", &error));
  g_assert_nonnull (strstr (error->message, "/nonexistent/ca.pem"));
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);
  dir = g_dir_make_tmp ("camgate-turnproxy-XXXXXX", NULL);
  make_pki ();
  tls_port = start_server (TRUE, &server_pids[0]);
  lax_port = start_server (FALSE, &server_pids[1]);
  g_test_add_func ("/turnproxy/tunnel", test_tunnel);
  g_test_add_func ("/turnproxy/refused", test_refused);
  g_test_add_func ("/turnproxy/bad-ca-file", test_bad_ca_file);
  ret = g_test_run ();
  for (int i = 0; i < 2; i++) {
    kill (server_pids[i], SIGTERM);
    g_spawn_close_pid (server_pids[i]);
  }
  {
    g_autofree char *rm = g_strdup_printf ("rm -rf %s", dir);
    run (rm);
  }
  g_free (dir);
  return ret;
}
