/* The client side of an RTSP session (see rtspclient.h). */
#define G_LOG_DOMAIN "camgate-rtspclient"

#include "rtspclient.h"

#include "error.h"

typedef struct {
  guint cseq;
  char *method;
  char *uri;
  char **headers;
  char *content_type;
  char *body;
  CgRtspResponseFunc func;
  gboolean authorized;          /* sent again with credentials after a 401 */
  gint64 deadline_us;
} Request;

struct _CgRtspClient {
  char *url;
  char *peer;
  CgRtspAuth *auth;             /* NULL: no credentials */
  GTlsDatabase *database;
  CgRtspClientFuncs funcs;
  gpointer user_data;
  CgRtspConnectedFunc connected;

  GCancellable *connecting;
  CgRtspConn *conn;
  GList *requests;              /* element-type Request: sent, unanswered */
  guint cseq;
  char *session;
  guint session_timeout_s;
  guint timeout_id;
  guint keepalive_id;
  char *keepalive_method;
  char *keepalive_uri;
  gboolean failed;
};

static void
request_free (Request *r)
{
  g_free (r->method);
  g_free (r->uri);
  g_strfreev (r->headers);
  g_free (r->content_type);
  g_free (r->body);
  g_free (r);
}

static void
client_fail (CgRtspClient *client, GError *error)
{
  if (!client->failed) {
    client->failed = TRUE;
    g_clear_handle_id (&client->timeout_id, g_source_remove);
    g_clear_handle_id (&client->keepalive_id, g_source_remove);
    client->funcs.failed (error, client->user_data);
  }
  g_error_free (error);
}

static gboolean on_request_timer (gpointer data);

static void
send_request (CgRtspClient *client, Request *r)
{
  g_autoptr (GPtrArray) headers = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) out = g_string_new (NULL);
  char *auth = client->auth ? cg_rtsp_auth_header (client->auth, r->method, r->uri) : NULL;

  for (guint i = 0; r->headers && r->headers[i]; i++)
    g_ptr_array_add (headers, g_strdup (r->headers[i]));
  if (client->session)
    g_ptr_array_add (headers, g_strdup_printf ("Session: %s", client->session));
  if (auth)
    g_ptr_array_add (headers, g_strdup_printf ("Authorization: %s", auth));
  g_free (auth);
  g_ptr_array_add (headers, NULL);
  r->cseq = ++client->cseq;
  r->deadline_us = g_get_monotonic_time () + CG_RTSP_REQUEST_TIMEOUT_S * G_USEC_PER_SEC;
  cg_rtsp_write_request (out, r->method, r->uri, r->cseq, (const char *const *) headers->pdata,
                         r->content_type, r->body);
  client->requests = g_list_append (client->requests, r);
  if (r->func && !client->timeout_id)
    client->timeout_id = g_timeout_add_seconds (1, on_request_timer, client);
  cg_rtsp_conn_send (client->conn, (const guint8 *) out->str, out->len);
}

void
cg_rtsp_client_request (CgRtspClient *client, const char *method, const char *uri,
                        const char *const *headers, const char *content_type, const char *body,
                        CgRtspResponseFunc func)
{
  Request *r = g_new0 (Request, 1);

  r->method = g_strdup (method);
  r->uri = g_strdup (uri);
  r->headers = g_strdupv ((char **) headers);
  r->content_type = g_strdup (content_type);
  r->body = g_strdup (body);
  r->func = func;
  send_request (client, r);
}

GError *
cg_rtsp_client_status_error (CgRtspClient *client, const char *method,
                             const CgRtspMessage *response)
{
  if (response->status == 401)
    return g_error_new (CG_ERROR, CG_ERROR_PROTOCOL, client->auth
                        ? "%s refused the credentials: check username and password"
                        : "%s refused the credentials: none are set; set username and "
                          "password", client->peer);
  if (response->status == 404)
    return g_error_new (CG_ERROR, CG_ERROR_PROTOCOL,
                        "%s has nothing at this path: check the url (404 %s)", client->peer,
                        response->reason);
  return g_error_new (CG_ERROR, CG_ERROR_PROTOCOL, "%s answered %s with \"%u %s\"",
                      client->peer, method, response->status, response->reason);
}

/* A 401 to a request sent without credentials: once more, with them. */
static gboolean
retry_with_credentials (CgRtspClient *client, Request *r, const CgRtspMessage *response)
{
  g_autoptr (GError) error = NULL;

  if (!client->auth || r->authorized)
    return FALSE;
  if (!cg_rtsp_auth_challenge (client->auth, response, &error)) {
    g_prefix_error (&error, "%s ", client->peer);
    request_free (r);
    client_fail (client, g_steal_pointer (&error));
    return TRUE;
  }
  r->authorized = TRUE;
  send_request (client, r);
  return TRUE;
}

static void
on_response (CgRtspClient *client, const CgRtspMessage *response)
{
  gint64 cseq = cg_rtsp_message_cseq (response);
  const char *session = cg_rtsp_message_header (response, "Session");
  Request *r = NULL;

  for (GList *l = client->requests; l; l = l->next)
    if (((Request *) l->data)->cseq == cseq) {
      r = l->data;
      client->requests = g_list_delete_link (client->requests, l);
      break;
    }
  if (!r)
    return;   /* an answer to nothing we asked: ignored */
  if (session && response->status / 100 == 2) {
    guint timeout_s;
    char *id = cg_rtsp_session_parse (session, &timeout_s);
    if (id) {
      g_free (client->session);
      client->session = id;
      client->session_timeout_s = timeout_s;
    }
  }
  if (response->status == 401 && retry_with_credentials (client, r, response))
    return;   /* r was sent again, or freed and the client failed */
  if (r->func)
    r->func (client, response, client->user_data);
  else if (response->status == 454 || response->status == 401)
    /* a keep-alive: the peer forgot the session */
    client_fail (client, cg_rtsp_client_status_error (client, r->method, response));
  request_free (r);
}

/* The peer asks something (cameras send OPTIONS or GET_PARAMETER to see
 * whether we are still there). */
static void
on_peer_request (CgRtspClient *client, const CgRtspMessage *request)
{
  g_autoptr (GString) out = g_string_new (NULL);
  gboolean known = g_str_equal (request->method, "OPTIONS") ||
                   g_str_equal (request->method, "GET_PARAMETER");

  cg_rtsp_write_response (out, known ? 200 : 501, known ? "OK" : "Not Implemented",
                          cg_rtsp_message_cseq (request));
  cg_rtsp_conn_send (client->conn, (const guint8 *) out->str, out->len);
}

static void
on_conn_message (const CgRtspMessage *message, gpointer data)
{
  CgRtspClient *client = data;

  if (message->method)
    on_peer_request (client, message);
  else
    on_response (client, message);
}

static void
on_conn_data (guint8 channel, const guint8 *data, gsize size, gpointer user_data)
{
  CgRtspClient *client = user_data;

  if (client->funcs.data)
    client->funcs.data (channel, data, size, client->user_data);
}

static void
on_conn_failed (const GError *error, gpointer data)
{
  client_fail (data, g_error_copy (error));
}

/* Once a second while requests await an answer: one unanswered for too
 * long fails the session. Keep-alives and TEARDOWN have no deadline: some
 * cameras never answer a keep-alive, and the media watchdog tells whether
 * the session lives. */
static gboolean
on_request_timer (gpointer data)
{
  CgRtspClient *client = data;
  gint64 now = g_get_monotonic_time ();
  gboolean waiting = FALSE;

  for (GList *l = client->requests; l; l = l->next) {
    Request *r = l->data;
    if (!r->func)
      continue;
    if (r->deadline_us <= now) {
      client->timeout_id = 0;
      client_fail (client, g_error_new (CG_ERROR, CG_ERROR_IO,
                                        "%s did not answer %s within %d s", client->peer,
                                        r->method, CG_RTSP_REQUEST_TIMEOUT_S));
      return G_SOURCE_REMOVE;
    }
    waiting = TRUE;
  }
  if (!waiting)
    client->timeout_id = 0;
  return waiting ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void
on_connect_done (CgRtspConn *conn, const GError *error, gpointer data)
{
  CgRtspClient *client = data;

  g_clear_object (&client->connecting);
  if (!conn) {
    client_fail (client, g_error_copy (error));
    return;
  }
  client->conn = conn;
  client->connected (client, client->user_data);
}

static const CgRtspConnFuncs conn_funcs = {
  .data = on_conn_data,
  .message = on_conn_message,
  .failed = on_conn_failed,
};

CgRtspClient *
cg_rtsp_client_new (const char *url, const char *peer, const char *username,
                    const char *password, GTlsDatabase *database,
                    const CgRtspClientFuncs *funcs, gpointer user_data)
{
  CgRtspClient *client = g_new0 (CgRtspClient, 1);

  client->url = g_strdup (url);
  client->peer = g_strdup (peer);
  client->auth = username ? cg_rtsp_auth_new (username, password) : NULL;
  client->database = database ? g_object_ref (database) : NULL;
  client->funcs = *funcs;
  client->user_data = user_data;
  return client;
}

void
cg_rtsp_client_connect (CgRtspClient *client, guint timeout_s, CgRtspConnectedFunc func)
{
  client->connected = func;
  client->connecting = g_cancellable_new ();
  cg_rtsp_conn_connect (client->url, client->database, timeout_s, client->peer, &conn_funcs,
                        client, client->connecting, on_connect_done);
}

static gboolean
on_keepalive (gpointer data)
{
  CgRtspClient *client = data;

  /* Keep-alives a peer left unanswered are forgotten (an answer that comes
   * late is then ignored): the list stays short for months. */
  for (GList *l = client->requests, *next; l; l = next) {
    next = l->next;
    if (!((Request *) l->data)->func) {
      request_free (l->data);
      client->requests = g_list_delete_link (client->requests, l);
    }
  }
  cg_rtsp_client_request (client, client->keepalive_method, client->keepalive_uri, NULL, NULL,
                          NULL, NULL);
  return G_SOURCE_CONTINUE;
}

void
cg_rtsp_client_keep_alive (CgRtspClient *client, const char *method, const char *uri)
{
  guint timeout_s = client->session_timeout_s ? client->session_timeout_s : 60;

  g_free (client->keepalive_method);
  g_free (client->keepalive_uri);
  client->keepalive_method = g_strdup (method);
  client->keepalive_uri = g_strdup (uri);
  g_clear_handle_id (&client->keepalive_id, g_source_remove);
  client->keepalive_id = g_timeout_add_seconds (MAX (timeout_s / 2, 1), on_keepalive, client);
}

guint
cg_rtsp_client_session_timeout (CgRtspClient *client)
{
  return client->session_timeout_s ? client->session_timeout_s : 60;
}

CgRtspConn *
cg_rtsp_client_get_conn (CgRtspClient *client)
{
  return client->conn;
}

void
cg_rtsp_client_free (CgRtspClient *client, gboolean teardown)
{
  if (!client)
    return;
  if (client->connecting) {
    g_cancellable_cancel (client->connecting);   /* on_connect_done does not come */
    g_clear_object (&client->connecting);
  }
  client->failed = TRUE;   /* from here on, nothing is reported to the owner */
  g_clear_handle_id (&client->timeout_id, g_source_remove);
  g_clear_handle_id (&client->keepalive_id, g_source_remove);
  if (client->conn) {
    teardown &= client->session != NULL && !cg_rtsp_conn_is_broken (client->conn);
    if (teardown)
      cg_rtsp_client_request (client, "TEARDOWN", client->keepalive_uri ? client->keepalive_uri
                                                                        : client->url,
                              NULL, NULL, NULL, NULL);
    cg_rtsp_conn_close (client->conn, teardown);
  }
  g_list_free_full (client->requests, (GDestroyNotify) request_free);
  cg_rtsp_auth_free (client->auth);
  g_clear_object (&client->database);
  g_free (client->session);
  g_free (client->keepalive_method);
  g_free (client->keepalive_uri);
  g_free (client->url);
  g_free (client->peer);
  g_free (client);
}
