/* RTSP on the wire (see rtsp.h). */
#define G_LOG_DOMAIN "camgate-rtsp"

#include "rtsp.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

#define DEFAULT_SESSION_TIMEOUT_S 60

typedef enum {
  SCHEME_NONE,
  SCHEME_BASIC,
  SCHEME_DIGEST,
} Scheme;

struct _CgRtspAuth {
  char *username;
  char *password;
  Scheme scheme;
  GChecksumType algorithm;
  char *realm;
  char *nonce;
  char *opaque;
  gboolean qop_auth;
  guint nc;
  char *cnonce;         /* fixed by a test; NULL: random */
};

void
cg_rtsp_message_free (CgRtspMessage *message)
{
  if (!message)
    return;
  for (guint i = 0; i < message->headers->len; i++) {
    CgRtspHeader *h = &g_array_index (message->headers, CgRtspHeader, i);
    g_free (h->name);
    g_free (h->value);
  }
  g_array_unref (message->headers);
  g_bytes_unref (message->body);
  g_free (message->reason);
  g_free (message->method);
  g_free (message);
}

const char *
cg_rtsp_message_header (const CgRtspMessage *message, const char *name)
{
  for (guint i = 0; i < message->headers->len; i++) {
    const CgRtspHeader *h = &g_array_index (message->headers, CgRtspHeader, i);
    if (!g_ascii_strcasecmp (h->name, name))
      return h->value;
  }
  return NULL;
}

/* A decimal number, blanks around it allowed. */
static gboolean
parse_number (const char *value, guint64 max, guint64 *out)
{
  g_autofree char *copy = g_strstrip (g_strdup (value));

  return g_ascii_string_to_unsigned (copy, 10, 0, max, out, NULL);
}

gint64
cg_rtsp_message_cseq (const CgRtspMessage *message)
{
  const char *value = cg_rtsp_message_header (message, "CSeq");
  guint64 cseq;

  if (!value || !parse_number (value, G_MAXUINT32, &cseq))
    return -1;
  return (gint64) cseq;
}

/* ---- parsing -------------------------------------------------------------- */

/* The end of the header block: an empty line, with CRLF or bare LF endings
 * (RFC 2326, 4: receivers take CR and LF alone as line ends too). */
static const guint8 *
find_header_end (const guint8 *buf, gsize len)
{
  for (gsize i = 0; i + 1 < len; i++) {
    if (buf[i] != '\n')
      continue;
    if (buf[i + 1] == '\n')
      return buf + i + 2;
    if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
      return buf + i + 3;
  }
  return NULL;
}

static gboolean
is_token (const char *s)
{
  if (!s || !*s)
    return FALSE;
  for (; *s; s++)
    if (!g_ascii_isgraph (*s))
      return FALSE;
  return TRUE;
}

/* The first line: "RTSP/1.0 200 OK" or "OPTIONS * RTSP/1.0". */
static gboolean
parse_first_line (CgRtspMessage *message, const char *line)
{
  g_auto (GStrv) parts = g_strsplit (line, " ", 3);
  guint n = g_strv_length (parts);
  guint64 status;

  if (n >= 2 && g_str_has_prefix (parts[0], "RTSP/1.")) {
    if (!g_ascii_string_to_unsigned (parts[1], 10, 100, 999, &status, NULL))
      return FALSE;
    message->status = (guint) status;
    /* the reason phrase reaches logs and status: valid UTF-8 only */
    message->reason = g_utf8_make_valid (n == 3 ? parts[2] : "", -1);
    return TRUE;
  }
  if (n != 3 || !is_token (parts[0]) || !g_str_has_prefix (parts[2], "RTSP/1."))
    return FALSE;
  message->method = g_strdup (parts[0]);
  return TRUE;
}

static gboolean
parse_headers (CgRtspMessage *message, char **lines)
{
  for (guint i = 1; lines[i] && *lines[i]; i++) {
    char *colon = strchr (lines[i], ':');
    CgRtspHeader h;

    if (*lines[i] == ' ' || *lines[i] == '\t') {
      /* a folded continuation line (RFC 2326 allows them) */
      CgRtspHeader *last;
      char *joined;

      if (message->headers->len == 0)
        return FALSE;
      last = &g_array_index (message->headers, CgRtspHeader, message->headers->len - 1);
      joined = g_strconcat (last->value, " ", g_strstrip (lines[i]), NULL);
      g_free (last->value);
      last->value = joined;
      continue;
    }
    if (!colon || colon == lines[i])
      return FALSE;
    *colon = '\0';
    h.name = g_strdup (g_strstrip (lines[i]));
    h.value = g_utf8_make_valid (g_strstrip (colon + 1), -1);
    g_array_append_val (message->headers, h);
  }
  return TRUE;
}

/* Control characters other than line ends and tabs (a NUL among them) mean
 * the bytes are not an RTSP header. */
static gboolean
header_bytes_ok (const guint8 *buf, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if ((buf[i] < 0x20 && buf[i] != '\r' && buf[i] != '\n' && buf[i] != '\t') || buf[i] == 0x7f)
      return FALSE;
  return TRUE;
}

static gssize
parse_message (const guint8 *buf, gsize len, CgRtspItem *item, const char *peer,
               GError **error)
{
  const guint8 *end = find_header_end (buf, MIN (len, CG_RTSP_MAX_HEADER));
  g_autoptr (CgRtspMessage) message = NULL;
  g_autofree char *head = NULL;
  g_auto (GStrv) lines = NULL;
  const char *length;
  guint64 body = 0;
  gsize head_len;

  if (!end) {
    if (!header_bytes_ok (buf, MIN (len, CG_RTSP_MAX_HEADER)))
      goto bad;
    if (len >= CG_RTSP_MAX_HEADER) {
      g_set_error (error, CG_ERROR, CG_ERROR_PROTOCOL,
                   "%s sent an RTSP header of more than %d bytes", peer, CG_RTSP_MAX_HEADER);
      return -1;
    }
    return 0;
  }
  head_len = end - buf;
  if (!header_bytes_ok (buf, head_len))
    goto bad;
  head = g_strndup ((const char *) buf, head_len);
  lines = g_strsplit (head, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    g_strchomp (lines[i]);        /* the CR of CRLF, and blanks */
  message = g_new0 (CgRtspMessage, 1);
  message->headers = g_array_new (FALSE, FALSE, sizeof (CgRtspHeader));
  if (!parse_first_line (message, lines[0]) || !parse_headers (message, lines))
    goto bad;
  length = cg_rtsp_message_header (message, "Content-Length");
  if (length && !parse_number (length, CG_RTSP_MAX_BODY, &body)) {
    g_set_error (error, CG_ERROR, CG_ERROR_PROTOCOL,
                 "%s sent an RTSP message with a body of \"%s\" bytes (at most %d taken)",
                 peer, length, CG_RTSP_MAX_BODY);
    return -1;
  }
  if (len < head_len + body)
    return 0;
  message->body = g_bytes_new (buf + head_len, body);
  item->kind = CG_RTSP_ITEM_MESSAGE;
  item->message = g_steal_pointer (&message);
  return head_len + body;

bad:
  {
    g_autofree char *start = g_strndup ((const char *) buf, MIN (len, 24));
    g_autofree char *shown = g_strescape (start, NULL);
    g_set_error (error, CG_ERROR, CG_ERROR_PROTOCOL,
                 "%s sent bytes that are not RTSP (\"%s\")", peer, shown);
  }
  return -1;
}

gssize
cg_rtsp_parse (const guint8 *buf, gsize len, CgRtspItem *item, const char *peer,
               GError **error)
{
  gsize size, skip = 0;

  memset (item, 0, sizeof *item);
  /* empty lines between messages (some peers end a body with one) */
  while (skip < len && (buf[skip] == '\r' || buf[skip] == '\n'))
    skip++;
  if (skip > 0)
    return skip;
  if (len == 0)
    return 0;
  if (buf[0] == '$') {
    if (len < 4)
      return 0;
    size = (buf[2] << 8) | buf[3];
    if (len < 4 + size)
      return 0;
    item->kind = CG_RTSP_ITEM_DATA;
    item->channel = buf[1];
    item->data = buf + 4;
    item->size = size;
    return 4 + size;
  }
  return parse_message (buf, len, item, peer, error);
}

/* ---- writing -------------------------------------------------------------- */

void
cg_rtsp_write_request (GString *out, const char *method, const char *uri, guint cseq,
                       const char *const *headers, const char *content_type,
                       const char *body)
{
  g_string_append_printf (out, "%s %s RTSP/1.0\r\nCSeq: %u\r\n", method, uri, cseq);
  for (guint i = 0; headers && headers[i]; i++)
    g_string_append_printf (out, "%s\r\n", headers[i]);
  g_string_append (out, "User-Agent: camgate/" PACKAGE_VERSION "\r\n");
  if (body)
    g_string_append_printf (out, "Content-Type: %s\r\nContent-Length: %zu\r\n", content_type,
                            strlen (body));
  g_string_append (out, "\r\n");
  if (body)
    g_string_append (out, body);
}

void
cg_rtsp_write_response (GString *out, guint status, const char *reason, gint64 cseq)
{
  g_string_append_printf (out, "RTSP/1.0 %u %s\r\n", status, reason);
  if (cseq >= 0)
    g_string_append_printf (out, "CSeq: %" G_GINT64_FORMAT "\r\n", cseq);
  g_string_append (out, "\r\n");
}

void
cg_rtsp_write_interleaved (GByteArray *out, guint8 channel, const guint8 *data, gsize size)
{
  guint8 head[4] = { '$', channel, size >> 8, size & 0xff };

  g_byte_array_append (out, head, 4);
  g_byte_array_append (out, data, size);
}

/* ---- credentials ---------------------------------------------------------- */

CgRtspAuth *
cg_rtsp_auth_new (const char *username, const char *password)
{
  CgRtspAuth *auth = g_new0 (CgRtspAuth, 1);

  auth->username = g_strdup (username ? username : "");
  auth->password = g_strdup (password ? password : "");
  return auth;
}

static void
auth_clear_challenge (CgRtspAuth *auth)
{
  g_clear_pointer (&auth->realm, g_free);
  g_clear_pointer (&auth->nonce, g_free);
  g_clear_pointer (&auth->opaque, g_free);
  auth->scheme = SCHEME_NONE;
  auth->qop_auth = FALSE;
  auth->nc = 0;
}

void
cg_rtsp_auth_free (CgRtspAuth *auth)
{
  if (!auth)
    return;
  auth_clear_challenge (auth);
  g_free (auth->username);
  if (auth->password)
    memset (auth->password, 0, strlen (auth->password));
  g_free (auth->password);
  g_free (auth->cnonce);
  g_free (auth);
}

void
cg_rtsp_auth_set_cnonce (CgRtspAuth *auth, const char *cnonce)
{
  g_free (auth->cnonce);
  auth->cnonce = g_strdup (cnonce);
}

/* Splits 'realm="a, b", nonce=xyz, qop="auth,auth-int"' into a table. */
static GHashTable *
parse_auth_params (const char *s)
{
  GHashTable *params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  while (*s) {
    const char *eq;
    GString *value = g_string_new (NULL);
    char *name;

    while (*s == ' ' || *s == '\t' || *s == ',')
      s++;
    eq = strchr (s, '=');
    if (!eq) {
      g_string_free (value, TRUE);
      break;
    }
    name = g_ascii_strdown (s, eq - s);
    g_strstrip (name);
    s = eq + 1;
    while (*s == ' ')
      s++;
    if (*s == '"') {
      for (s++; *s && *s != '"'; s++) {
        if (*s == '\\' && s[1])
          s++;
        g_string_append_c (value, *s);
      }
      if (*s == '"')
        s++;
    } else {
      while (*s && *s != ',')
        g_string_append_c (value, *s++);
      g_strstrip (value->str);
      g_string_set_size (value, strlen (value->str));
    }
    g_hash_table_replace (params, name, g_string_free (value, FALSE));
  }
  return params;
}

/* Scores one WWW-Authenticate value: higher is preferred; 0: unusable. */
static guint
challenge_score (const char *value, GChecksumType *algorithm)
{
  if (!g_ascii_strncasecmp (value, "Basic", 5) && (value[5] == ' ' || !value[5]))
    return 1;
  if (g_ascii_strncasecmp (value, "Digest", 6) || (value[6] != ' ' && value[6]))
    return 0;
  {
    g_autoptr (GHashTable) params = parse_auth_params (value + 6);
    const char *alg = g_hash_table_lookup (params, "algorithm");

    if (!g_hash_table_lookup (params, "nonce"))
      return 0;
    if (!alg || !g_ascii_strcasecmp (alg, "MD5")) {
      *algorithm = G_CHECKSUM_MD5;
      return 2;
    }
    if (!g_ascii_strcasecmp (alg, "SHA-256")) {
      *algorithm = G_CHECKSUM_SHA256;
      return 3;
    }
  }
  return 0;
}

gboolean
cg_rtsp_auth_challenge (CgRtspAuth *auth, const CgRtspMessage *response, GError **error)
{
  const char *best = NULL;
  guint best_score = 0;
  GChecksumType best_alg = G_CHECKSUM_MD5;
  GString *offered = g_string_new (NULL);

  for (guint i = 0; i < response->headers->len; i++) {
    const CgRtspHeader *h = &g_array_index (response->headers, CgRtspHeader, i);
    GChecksumType alg = G_CHECKSUM_MD5;
    guint score;

    if (g_ascii_strcasecmp (h->name, "WWW-Authenticate"))
      continue;
    score = challenge_score (h->value, &alg);
    g_string_append_printf (offered, "%s\"%.40s\"", offered->len ? ", " : "", h->value);
    if (score > best_score) {
      best = h->value;
      best_score = score;
      best_alg = alg;
    }
  }
  auth_clear_challenge (auth);
  if (!best) {
    g_set_error (error, CG_ERROR, CG_ERROR_PROTOCOL,
                 "asks for credentials in a way camgate does not speak (%s): Basic and "
                 "Digest (MD5, SHA-256) are supported",
                 offered->len ? offered->str : "no WWW-Authenticate header");
    g_string_free (offered, TRUE);
    return FALSE;
  }
  g_string_free (offered, TRUE);
  if (best_score == 1) {
    auth->scheme = SCHEME_BASIC;
    return TRUE;
  }
  {
    g_autoptr (GHashTable) params = parse_auth_params (best + 6);
    const char *qop = g_hash_table_lookup (params, "qop");

    auth->scheme = SCHEME_DIGEST;
    auth->algorithm = best_alg;
    auth->realm = g_strdup (g_hash_table_lookup (params, "realm"));
    auth->nonce = g_strdup (g_hash_table_lookup (params, "nonce"));
    auth->opaque = g_strdup (g_hash_table_lookup (params, "opaque"));
    if (qop) {
      g_auto (GStrv) qops = g_strsplit (qop, ",", -1);
      for (guint i = 0; qops[i]; i++)
        auth->qop_auth |= !g_ascii_strcasecmp (g_strstrip (qops[i]), "auth");
      if (!auth->qop_auth) {
        /* RFC 7616: the response must use a qop the server offered */
        g_set_error (error, CG_ERROR, CG_ERROR_PROTOCOL,
                     "asks for Digest with qop \"%s\": camgate speaks qop=auth only", qop);
        auth_clear_challenge (auth);
        return FALSE;
      }
    }
  }
  return TRUE;
}

/* The hex digest of the parts joined with ":". */
static char *
hash_hex (GChecksumType type, const char *first, ...)
{
  GChecksum *sum = g_checksum_new (type);
  gboolean later = FALSE;
  va_list args;
  char *hex;

  va_start (args, first);
  for (const char *part = first; part; part = va_arg (args, const char *), later = TRUE) {
    if (later)
      g_checksum_update (sum, (const guchar *) ":", 1);
    g_checksum_update (sum, (const guchar *) part, strlen (part));
  }
  va_end (args);
  hex = g_strdup (g_checksum_get_string (sum));
  g_checksum_free (sum);
  return hex;
}

/* A quoted-string's content: quotes and backslashes escaped. */
static char *
quote (const char *s)
{
  GString *q = g_string_new (NULL);

  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      g_string_append_c (q, '\\');
    g_string_append_c (q, *s);
  }
  return g_string_free (q, FALSE);
}

static char *
digest_header (CgRtspAuth *auth, const char *method, const char *uri)
{
  const char *realm = auth->realm ? auth->realm : "";
  g_autofree char *ha1 = hash_hex (auth->algorithm, auth->username, realm, auth->password,
                                   NULL);
  g_autofree char *ha2 = hash_hex (auth->algorithm, method, uri, NULL);
  g_autofree char *response = NULL, *cnonce = NULL;
  GString *h = g_string_new (NULL);
  char nc[9];

  g_autofree char *q_user = quote (auth->username), *q_realm = quote (realm);
  g_autofree char *q_nonce = quote (auth->nonce), *q_uri = quote (uri);

  g_string_append_printf (h, "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\"",
                          q_user, q_realm, q_nonce, q_uri);
  if (auth->qop_auth) {
    g_snprintf (nc, sizeof nc, "%08x", ++auth->nc);
    cnonce = auth->cnonce ? g_strdup (auth->cnonce)
                          : g_strdup_printf ("%08x%08x", g_random_int (), g_random_int ());
    response = hash_hex (auth->algorithm, ha1, auth->nonce, nc, cnonce, "auth", ha2, NULL);
    g_string_append_printf (h, ", qop=auth, nc=%s, cnonce=\"%s\"", nc, cnonce);
  } else {
    response = hash_hex (auth->algorithm, ha1, auth->nonce, ha2, NULL);
  }
  g_string_append_printf (h, ", response=\"%s\"", response);
  if (auth->algorithm == G_CHECKSUM_SHA256)
    g_string_append (h, ", algorithm=SHA-256");
  if (auth->opaque) {
    g_autofree char *q_opaque = quote (auth->opaque);
    g_string_append_printf (h, ", opaque=\"%s\"", q_opaque);
  }
  return g_string_free (h, FALSE);
}

char *
cg_rtsp_auth_header (CgRtspAuth *auth, const char *method, const char *uri)
{
  g_autofree char *pair = NULL, *b64 = NULL;

  switch (auth->scheme) {
  case SCHEME_NONE:
    return NULL;
  case SCHEME_BASIC:
    pair = g_strdup_printf ("%s:%s", auth->username, auth->password);
    b64 = g_base64_encode ((const guchar *) pair, strlen (pair));
    memset (pair, 0, strlen (pair));
    return g_strdup_printf ("Basic %s", b64);
  case SCHEME_DIGEST:
    return digest_header (auth, method, uri);
  }
  return NULL;
}

/* ---- headers -------------------------------------------------------------- */

static gboolean
parse_pair (const char *value, guint64 max, guint64 out[2])
{
  g_auto (GStrv) parts = g_strsplit (value, "-", 2);

  if (!parts[0] || !g_ascii_string_to_unsigned (parts[0], 10, 0, max, &out[0], NULL))
    return FALSE;
  if (!parts[1]) {
    out[1] = out[0] + 1;
    return out[1] <= max;
  }
  return g_ascii_string_to_unsigned (parts[1], 10, 0, max, &out[1], NULL);
}

gboolean
cg_rtsp_transport_parse (const char *value, CgRtspTransport *transport, GError **error)
{
  g_autofree char *first = g_strndup (value, strcspn (value, ","));
  g_auto (GStrv) params = g_strsplit (first, ";", -1);
  guint64 pair[2];

  memset (transport, 0, sizeof *transport);
  if (!params[0] || !*g_strstrip (params[0])) {
    g_set_error (error, CG_ERROR, CG_ERROR_PROTOCOL, "answered with an empty Transport header");
    return FALSE;
  }
  if (g_ascii_strcasecmp (params[0], "RTP/AVP") && g_ascii_strcasecmp (params[0], "RTP/AVP/UDP") &&
      g_ascii_strcasecmp (params[0], "RTP/AVP/TCP")) {
    g_set_error (error, CG_ERROR, CG_ERROR_PROTOCOL,
                 "answered with transport \"%s\", not RTP/AVP", params[0]);
    return FALSE;
  }
  transport->tcp = !g_ascii_strcasecmp (params[0], "RTP/AVP/TCP");
  for (guint i = 1; params[i]; i++) {
    char *p = g_strstrip (params[i]);
    guint64 ssrc;

    if (g_str_has_prefix (p, "interleaved=")) {
      if (!parse_pair (p + 12, 255, pair))
        goto bad;
      transport->interleaved_set = TRUE;
      transport->interleaved[0] = pair[0];
      transport->interleaved[1] = pair[1];
    } else if (g_str_has_prefix (p, "server_port=")) {
      if (!parse_pair (p + 12, 65535, pair))
        goto bad;
      transport->server_port[0] = pair[0];
      transport->server_port[1] = pair[1];
    } else if (g_str_has_prefix (p, "ssrc=")) {
      if (!g_ascii_string_to_unsigned (p + 5, 16, 0, G_MAXUINT32, &ssrc, NULL))
        goto bad;
      transport->ssrc = ssrc;
      transport->ssrc_set = TRUE;
    }
    continue;
bad:
    g_set_error (error, CG_ERROR, CG_ERROR_PROTOCOL,
                 "answered with a Transport header camgate cannot read (\"%s\")", p);
    return FALSE;
  }
  return TRUE;
}

char *
cg_rtsp_session_parse (const char *value, guint *timeout_s)
{
  g_auto (GStrv) parts = g_strsplit (value ? value : "", ";", -1);
  char *id;

  *timeout_s = DEFAULT_SESSION_TIMEOUT_S;
  if (!parts[0] || !*g_strstrip (parts[0]))
    return NULL;
  id = g_strdup (parts[0]);
  for (guint i = 1; parts[i]; i++) {
    char *p = g_strstrip (parts[i]);
    guint64 t;
    if (g_str_has_prefix (p, "timeout=") &&
        g_ascii_string_to_unsigned (p + 8, 10, 1, 86400, &t, NULL))
      *timeout_s = (guint) t;
  }
  return id;
}

char *
cg_rtsp_control_resolve (const char *base, const char *control)
{
  if (!control || !*control || g_str_equal (control, "*"))
    return g_strdup (base);
  if (g_uri_peek_scheme (control))
    return g_strdup (control);                  /* absolute */
  if (control[0] == '/') {
    /* an absolute path: on the base's host */
    char *resolved = g_uri_resolve_relative (base, control, G_URI_FLAGS_NONE, NULL);
    if (resolved)
      return resolved;
  }
  /* Relative: appended to the base, as cameras and players do (the base
   * need not end with "/", RFC 3986 resolution would drop its last part). */
  if (g_str_has_suffix (base, "/"))
    return g_strconcat (base, control, NULL);
  return g_strconcat (base, "/", control, NULL);
}
