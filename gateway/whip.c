/* WHIP over HTTPS (see whip.h).
 *
 * One SoupSession per client (so per camera), with the uplink's trust store.
 * A POST follows 307/308 redirects itself (RFC 9725 forbids 301/302 for
 * POST, which libsoup would turn into a GET). Each DELETE holds its own
 * reference to the session, so a session being replaced (or camgate
 * stopping) still ends the old one at the ingest. A PATCH goes to the
 * session's Location as it is (no redirects), one at a time: the caller
 * sends the next when the last is answered. */
#define G_LOG_DOMAIN "camgate-whip"

#include "whip.h"

#include <libsoup/soup.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "iceserver.h"
#include "rtspconn.h"

#define MAX_REDIRECTS 5
#define MAX_ANSWER_BYTES (256 * 1024)
#define USER_AGENT "camgate/" PACKAGE_VERSION

struct _CgWhipClient {
  SoupSession *session;
  char *endpoint;
  char *token;                  /* NULL: no Authorization */
  char *peer;                   /* "the WHIP endpoint at HOST:PORT" */
  char *ca_file;                /* for messages; NULL: the system store */
  GCancellable *cancellable;    /* of the POST or PATCH under way */
};

typedef struct {
  CgWhipClient *client;         /* valid unless cancelled */
  GCancellable *cancellable;
  SoupMessage *message;
  char *url;                    /* where this POST goes (after redirects) */
  GBytes *offer;
  guint redirects;
  char *tls_refused;            /* why the certificate was refused, or NULL */
  CgWhipAnswerFunc func;
  gpointer user_data;
} Post;

typedef struct {
  CgWhipClient *client;         /* valid unless cancelled */
  GCancellable *cancellable;
  SoupMessage *message;
  char *tls_refused;            /* why the certificate was refused, or NULL */
  gboolean conditional;         /* sent with If-Match */
  CgWhipPatchFunc func;
  gpointer user_data;
} Patch;

static guint deleting;          /* DELETEs not answered yet */

static void post_send (Post *post);

void
cg_whip_answer_free (CgWhipAnswer *answer)
{
  if (!answer)
    return;
  g_free (answer->sdp);
  g_free (answer->location);
  g_free (answer->etag);
  g_clear_pointer (&answer->ice_servers, g_ptr_array_unref);
  g_free (answer->skipped);
  g_free (answer);
}

/* The words for @status: @reason as the server gave it, else the standard
 * phrase (libsoup 3.2 lacks 428's: RFC 6585). transfer none */
static const char *
status_phrase (guint status, const char *reason)
{
  if (reason && *reason && g_strcmp0 (reason, "Unknown Error") != 0)
    return reason;
  if (status == 428)
    return "Precondition Required";
  return soup_status_get_phrase (status);
}

char *
cg_whip_status_message (const char *peer, guint status, const char *reason)
{
  static const struct { guint status; const char *what, *todo; } known[] = {
    { 400, "says the offer is malformed", "check that url is a WHIP endpoint" },
    { 401, "refused the token", "check [uplink] token" },
    { 403, "does not let this token publish here", "check [uplink] token and url" },
    { 404, "has no such endpoint", "check [uplink] url (and what {camera} becomes)" },
    { 405, "does not take a POST there: not a WHIP endpoint", "check [uplink] url" },
    { 409, "already has a publisher on this endpoint",
      "is another box, or an old session, publishing it?" },
    { 412, "refused a conditional request", "a new session will be offered" },
    { 415, "does not take an SDP offer there: not a WHIP endpoint", "check [uplink] url" },
    { 422, "cannot use the offer (its codecs or its ICE)",
      "check that the ingest takes the camera's video (H.264 with its profile, or H.265) "
      "and audio codecs" },
    { 428, "wants a conditional request", "a new session will be offered" },
    { 429, "is turning requests away for now", "camgate retries later" },
  };
  const char *what = NULL, *todo = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (known); i++) {
    if (known[i].status == status) {
      what = known[i].what;
      todo = known[i].todo;
    }
  }
  if (!what && status >= 500) {
    what = "failed on its side";
    todo = "a problem of the service; camgate retries";
  } else if (!what && status >= 400) {
    what = "refused the session";
    todo = "check [uplink] url and token";
  } else if (!what) {
    what = "did not answer 201 Created";
    todo = "check that url is a WHIP endpoint";
  }
  return g_strdup_printf ("%s %s (%u %s): %s", peer, what, status,
                          status_phrase (status, reason), todo);
}

/* ---- POST ------------------------------------------------------------------- */

static void
post_free (Post *post)
{
  g_clear_object (&post->cancellable);
  g_clear_object (&post->message);
  g_bytes_unref (post->offer);
  g_free (post->url);
  g_free (post->tls_refused);
  g_free (post);
}

/* @answer, @error: transfer full */
static void
post_finish (Post *post, CgWhipAnswer *answer, GError *error)
{
  if (post->client->cancellable == post->cancellable)
    g_clear_object (&post->client->cancellable);
  post->func (answer, error, post->user_data);
  g_clear_error (&error);
  post_free (post);
}

static void
post_fail (Post *post, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
post_fail (Post *post, const char *format, ...)
{
  g_autoptr (GError) error = NULL;
  va_list args;

  va_start (args, format);
  error = g_error_new_valist (CG_ERROR, CG_ERROR_PROTOCOL, format, args);
  va_end (args);
  post_finish (post, NULL, g_steal_pointer (&error));
}

/* A transport failure: refused, unreachable, timed out, a bad certificate;
 * @tls_refused: why the certificate was refused, or NULL. transfer full */
static GError *
transport_error (CgWhipClient *c, const char *tls_refused, const GError *error)
{
  if (tls_refused || g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE))
    return g_error_new (CG_ERROR, CG_ERROR_TLS, "%s presented a TLS certificate that does not "
                        "verify (%s): refused, nothing was sent (trusted: %s)", c->peer,
                        tls_refused ? tls_refused : error->message,
                        c->ca_file ? c->ca_file : "the system store");
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return g_error_new (CG_ERROR, CG_ERROR_IO, "%s did not answer in time: is it up, and "
                        "reachable from here?", c->peer);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return g_error_new (CG_ERROR, CG_ERROR_IO, "%s refused the connection: is the ingest up, "
                        "and is the url's port right?", c->peer);
  return g_error_new (CG_ERROR, CG_ERROR_IO, "cannot reach %s: %s", c->peer, error->message);
}

/* The URL in a 201's or a redirect's Location, resolved against the
 * request's URL; NULL if there is none. From an https:// request, an URL
 * that is not https:// is refused (@insecure set): the token would go to it
 * in clear. */
static char *
resolve_location (Post *post, SoupMessageHeaders *headers, gboolean *insecure)
{
  const char *location = soup_message_headers_get_one (headers, "Location");
  g_autofree char *url = NULL;

  *insecure = FALSE;
  if (!location || !*location ||
      !(url = g_uri_resolve_relative (post->url, location, G_URI_FLAGS_NONE, NULL)))
    return NULL;
  if (g_str_has_prefix (post->url, "https:") && g_ascii_strncasecmp (url, "https:", 6) != 0) {
    *insecure = TRUE;
    return NULL;
  }
  return g_steal_pointer (&url);
}

static void
post_created (Post *post, GBytes *body)
{
  SoupMessageHeaders *headers = soup_message_get_response_headers (post->message);
  const char *type = soup_message_headers_get_content_type (headers, NULL);
  g_autoptr (CgWhipAnswer) answer = g_new0 (CgWhipAnswer, 1);
  g_autoptr (GString) skipped = g_string_new (NULL);
  gsize size = 0;
  const char *data = body ? g_bytes_get_data (body, &size) : NULL;
  const char *links;
  gboolean insecure;

  if (!(answer->location = resolve_location (post, headers, &insecure))) {
    if (insecure)
      post_fail (post, "%s answered 201 Created with a Location that is not https://: refused, "
                 "the token would go to it in clear", post->client->peer);
    else
      post_fail (post, "%s answered 201 Created without a usable Location header: not a WHIP "
                 "endpoint (RFC 9725)? Check [uplink] url", post->client->peer);
    return;
  }
  if (!type || g_ascii_strcasecmp (type, "application/sdp") != 0 || size == 0 ||
      size > MAX_ANSWER_BYTES || memchr (data, '\0', size) ||
      !g_utf8_validate (data, size, NULL) || strncmp (data, "v=0", 3) != 0) {
    post_fail (post, "%s answered 201 Created without an SDP answer (Content-Type %s, %zu "
               "bytes): not a WHIP endpoint (RFC 9725)? Check [uplink] url", post->client->peer,
               type ? type : "none", size);
    return;
  }
  answer->sdp = g_strndup (data, size);
  answer->etag = g_strdup (soup_message_headers_get_one (headers, "ETag"));
  answer->ice_servers = g_ptr_array_new_with_free_func ((GDestroyNotify) cg_ice_server_free);
  links = soup_message_headers_get_list (headers, "Link");
  if (links)
    cg_ice_servers_from_link (links, answer->ice_servers, skipped);
  answer->skipped = skipped->len ? g_strdup (skipped->str) : NULL;
  post_finish (post, g_steal_pointer (&answer), NULL);
}

/* 307/308: the same POST to the new URL. */
static void
post_redirect (Post *post)
{
  SoupMessageHeaders *headers = soup_message_get_response_headers (post->message);
  gboolean insecure;
  char *next = resolve_location (post, headers, &insecure);

  if (insecure) {
    post_fail (post, "%s redirects to an URL that is not https://: refused, the token would go "
               "to it in clear", post->client->peer);
    return;
  }
  if (!next || ++post->redirects > MAX_REDIRECTS) {
    post_fail (post, "%s redirects %s: set [uplink] url to the final endpoint",
               post->client->peer, next ? "too many times" : "without a Location");
    g_free (next);
    return;
  }
  g_debug ("WHIP POST redirected (%u)", soup_message_get_status (post->message));
  g_free (post->url);
  post->url = next;
  post_send (post);
}

static void
on_post_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Post *post = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
                                                               &error);
  guint status;

  if (g_cancellable_is_cancelled (post->cancellable)) {
    post_free (post);
    return;
  }
  if (!body) {
    post_finish (post, NULL, transport_error (post->client, post->tls_refused, error));
    return;
  }
  status = soup_message_get_status (post->message);
  if (status == SOUP_STATUS_CREATED) {
    post_created (post, body);
  } else if (status == SOUP_STATUS_TEMPORARY_REDIRECT ||
             status == SOUP_STATUS_PERMANENT_REDIRECT) {
    post_redirect (post);
  } else if (status >= 300 && status < 400) {
    post_fail (post, "%s redirects with %u, which WHIP forbids for a POST (RFC 9725): set "
               "[uplink] url to the final endpoint", post->client->peer, status);
  } else {
    g_autofree char *message =
        cg_whip_status_message (post->client->peer, status,
                                soup_message_get_reason_phrase (post->message));
    post_fail (post, "%s", message);
  }
}

/* @data: the request's tls_refused */
static gboolean
on_accept_certificate (SoupMessage *message, GTlsCertificate *cert, GTlsCertificateFlags errors,
                       gpointer data)
{
  char **tls_refused = data;

  g_free (*tls_refused);
  *tls_refused = cg_tls_describe_errors (errors);
  return FALSE;
}

static SoupMessage *
new_message (CgWhipClient *client, const char *method, const char *url)
{
  SoupMessage *message = soup_message_new (method, url);

  if (!message)
    return NULL;
  soup_message_add_flags (message, SOUP_MESSAGE_NO_REDIRECT);
  if (client->token) {
    g_autofree char *auth = g_strdup_printf ("Bearer %s", client->token);
    soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization",
                                  auth);
  }
  return message;
}

static void
post_send (Post *post)
{
  g_clear_object (&post->message);
  post->message = new_message (post->client, "POST", post->url);
  if (!post->message) {
    post_fail (post, "%s: the URL %s cannot be used", post->client->peer, post->url);
    return;
  }
  soup_message_set_request_body_from_bytes (post->message, "application/sdp", post->offer);
  g_signal_connect (post->message, "accept-certificate", G_CALLBACK (on_accept_certificate),
                    &post->tls_refused);
  soup_session_send_and_read_async (post->client->session, post->message, G_PRIORITY_DEFAULT,
                                    post->cancellable, on_post_done, post);
}

void
cg_whip_client_post (CgWhipClient *client, const char *offer, CgWhipAnswerFunc func,
                     gpointer user_data)
{
  Post *post = g_new0 (Post, 1);

  cg_whip_client_cancel (client);
  post->client = client;
  post->cancellable = g_cancellable_new ();
  post->url = g_strdup (client->endpoint);
  post->offer = g_bytes_new (offer, strlen (offer));
  post->func = func;
  post->user_data = user_data;
  client->cancellable = g_object_ref (post->cancellable);
  post_send (post);
}

void
cg_whip_client_cancel (CgWhipClient *client)
{
  if (!client->cancellable)
    return;
  g_cancellable_cancel (client->cancellable);
  g_clear_object (&client->cancellable);
}

/* ---- PATCH: trickle ICE ------------------------------------------------------ */

static void
patch_free (Patch *patch)
{
  g_clear_object (&patch->cancellable);
  g_clear_object (&patch->message);
  g_free (patch->tls_refused);
  g_free (patch);
}

/* @error: transfer full */
static void
patch_finish (Patch *patch, CgWhipTrickle result, const char *etag, GError *error)
{
  if (patch->client->cancellable == patch->cancellable)
    g_clear_object (&patch->client->cancellable);
  patch->func (result, etag, error, patch->user_data);
  g_clear_error (&error);
  patch_free (patch);
}

/* An answer that will be the same to every trickled candidate: the endpoint
 * does not trickle (405, 501), cannot read an sdpfrag (400, 415, 422), or
 * wants an If-Match it gave no ETag for (428). */
static gboolean
trickle_unsupported (guint status, gboolean conditional)
{
  return status == SOUP_STATUS_METHOD_NOT_ALLOWED || status == SOUP_STATUS_NOT_IMPLEMENTED ||
         status == SOUP_STATUS_BAD_REQUEST || status == SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE ||
         status == SOUP_STATUS_UNPROCESSABLE_ENTITY || (status == 428 && !conditional);
}

/* What a PATCH's @status means for the session, and what follows. */
static GError *
patch_error (CgWhipClient *c, guint status, const char *reason)
{
  const char *what, *todo = "a new session will be offered";

  if (status == SOUP_STATUS_PRECONDITION_FAILED)
    what = "refused trickled candidates: the session changed there, its ETag does not match";
  else if (status == 428)
    what = "wants trickled candidates with a precondition, and If-Match was not enough";
  else if (status == SOUP_STATUS_NOT_FOUND)
    what = "no longer has the session the trickled candidates were for";
  else if (status >= 500)
    what = "failed on its side", todo = "a problem of the service; camgate retries";
  else
    what = "refused trickled candidates";
  return g_error_new (CG_ERROR, CG_ERROR_PROTOCOL, "%s %s (%u %s): %s", c->peer, what, status,
                      status_phrase (status, reason), todo);
}

static void
on_patch_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Patch *patch = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
                                                               &error);
  SoupMessageHeaders *headers;
  guint status;

  if (g_cancellable_is_cancelled (patch->cancellable)) {
    patch_free (patch);
    return;
  }
  if (!body) {
    patch_finish (patch, CG_WHIP_TRICKLE_FAILED, NULL,
                  transport_error (patch->client, patch->tls_refused, error));
    return;
  }
  status = soup_message_get_status (patch->message);
  headers = soup_message_get_response_headers (patch->message);
  if (status == SOUP_STATUS_NO_CONTENT || status == SOUP_STATUS_OK) {
    /* A 200 may carry the ingest's own candidates in an sdpfrag: they are
     * ignored, since its SDP answer already holds the ones it gathered
     * (a WHIP ingest is reachable at fixed addresses, RFC 9725 4.3.1). */
    patch_finish (patch, CG_WHIP_TRICKLE_TAKEN, soup_message_headers_get_one (headers, "ETag"),
                  NULL);
  } else if (trickle_unsupported (status, patch->conditional)) {
    patch_finish (patch, CG_WHIP_TRICKLE_UNSUPPORTED, NULL,
                  g_error_new (CG_ERROR, CG_ERROR_PROTOCOL, "%s %s (%u %s): camgate offers "
                               "every candidate in the POST from now on", patch->client->peer,
                               status == 428 ? "wants trickled candidates with If-Match, and "
                               "its 201 Created gave no ETag" : "does not take trickled "
                               "candidates", status,
                               status_phrase (status,
                                              soup_message_get_reason_phrase (patch->message))));
  } else {
    patch_finish (patch, CG_WHIP_TRICKLE_FAILED, NULL,
                  patch_error (patch->client, status,
                               soup_message_get_reason_phrase (patch->message)));
  }
}

void
cg_whip_client_patch (CgWhipClient *client, const char *location, const char *etag,
                      const char *sdpfrag, CgWhipPatchFunc func, gpointer user_data)
{
  Patch *patch = g_new0 (Patch, 1);
  g_autoptr (GBytes) body = g_bytes_new (sdpfrag, strlen (sdpfrag));

  cg_whip_client_cancel (client);
  patch->client = client;
  patch->cancellable = g_cancellable_new ();
  patch->func = func;
  patch->user_data = user_data;
  patch->message = new_message (client, "PATCH", location);
  if (!patch->message) {
    patch_finish (patch, CG_WHIP_TRICKLE_FAILED, NULL,
                  g_error_new (CG_ERROR, CG_ERROR_PROTOCOL, "%s: the session URL %s cannot be "
                               "used", client->peer, location));
    return;
  }
  patch->conditional = etag != NULL;
  if (etag)
    soup_message_headers_replace (soup_message_get_request_headers (patch->message), "If-Match",
                                  etag);
  soup_message_set_request_body_from_bytes (patch->message, "application/trickle-ice-sdpfrag",
                                            body);
  g_signal_connect (patch->message, "accept-certificate", G_CALLBACK (on_accept_certificate),
                    &patch->tls_refused);
  client->cancellable = g_object_ref (patch->cancellable);
  soup_session_send_and_read_async (client->session, patch->message, G_PRIORITY_DEFAULT,
                                    patch->cancellable, on_patch_done, patch);
}

/* ---- DELETE ----------------------------------------------------------------- */

static void
on_delete_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (SoupMessage) message = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
                                                               &error);
  guint status = soup_message_get_status (message);

  deleting--;
  if (!body)
    g_info ("WHIP session not ended at the ingest (DELETE failed: %s): it times out there",
            error->message);
  else if (status / 100 != 2 && status != SOUP_STATUS_NOT_FOUND)
    g_info ("WHIP session DELETE answered %u %s", status, soup_message_get_reason_phrase (message));
  g_object_unref (source);
}

void
cg_whip_client_delete (CgWhipClient *client, const char *location)
{
  SoupMessage *message = new_message (client, "DELETE", location);

  if (!message)
    return;
  deleting++;
  /* the session stays alive until the DELETE is answered */
  soup_session_send_and_read_async (g_object_ref (client->session), message, G_PRIORITY_DEFAULT,
                                    NULL, on_delete_done, message);
}

guint
cg_whip_deletes_pending (void)
{
  return deleting;
}

/* ---- the client -------------------------------------------------------------- */

CgWhipClient *
cg_whip_client_new (const char *endpoint, const char *token, GTlsDatabase *database,
                    const char *ca_file, guint timeout_s)
{
  CgWhipClient *client = g_new0 (CgWhipClient, 1);

  /* Direct, as the RTSPS uplink: no system proxy (libproxy would look for
   * one, WPAD lookups included). */
  client->session = soup_session_new_with_options ("timeout", timeout_s,
                                                   "user-agent", USER_AGENT,
                                                   "proxy-resolver", NULL, NULL);
  if (database)
    soup_session_set_tls_database (client->session, database);
  client->endpoint = g_strdup (endpoint);
  client->token = g_strdup (token);
  client->peer = cg_peer_name ("the WHIP endpoint", endpoint);
  client->ca_file = g_strdup (ca_file);
  return client;
}

void
cg_whip_client_free (CgWhipClient *client)
{
  if (!client)
    return;
  cg_whip_client_cancel (client);
  g_object_unref (client->session);
  g_free (client->endpoint);
  g_free (client->token);
  g_free (client->peer);
  g_free (client->ca_file);
  g_free (client);
}
