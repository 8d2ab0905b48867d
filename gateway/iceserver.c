/* STUN and TURN server URLs (see iceserver.h).
 *
 * Two spellings reach camgate: the RFC 7064/7065 URI ("turn:HOST:PORT?
 * transport=tcp", credentials beside it, as a WHIP Link header gives them)
 * and the webrtcbin form with credentials in the URL ("turn://USER:PASS@
 * HOST:PORT"), which the configuration uses. Both parse into one
 * CgIceServer, written back in the webrtcbin form. */
#include "iceserver.h"

#include <string.h>

#include "error.h"

#define DEFAULT_PORT 3478
#define HOST_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-."
#define V6_CHARS "0123456789abcdefABCDEF:."
#define DEFAULT_TLS_PORT 5349

static const char *const scheme_names[] = { "stun", "turn", "turns" };

void
cg_ice_server_free (CgIceServer *server)
{
  if (!server)
    return;
  g_free (server->host);
  g_free (server->transport);
  g_free (server->username);
  g_free (server->credential);
  g_free (server);
}

static gboolean
parse_scheme (const char *url, CgIceScheme *scheme, const char **rest)
{
  for (guint i = G_N_ELEMENTS (scheme_names); i-- > 0;) {
    gsize n = strlen (scheme_names[i]);
    if (g_ascii_strncasecmp (url, scheme_names[i], n) == 0 && url[n] == ':') {
      *scheme = i;
      *rest = url + n + 1;
      return TRUE;
    }
  }
  return FALSE;
}

/* "HOST[:PORT]" or "[V6][:PORT]" */
static gboolean
parse_host_port (const char *s, CgIceServer *server, const char **why)
{
  const char *end, *colon;
  guint64 port;

  if (s[0] == '[') {
    end = strchr (s, ']');
    if (!end || end == s + 1 || strspn (s + 1, V6_CHARS) != (gsize) (end - s - 1)) {
      *why = "an IPv6 address must be written [ADDRESS]";
      return FALSE;
    }
    server->host = g_strndup (s + 1, end - s - 1);
    colon = end[1] == ':' ? end + 1 : NULL;
    if (!colon && end[1]) {
      *why = "expected :PORT after the address";
      return FALSE;
    }
  } else {
    colon = strchr (s, ':');
    server->host = colon ? g_strndup (s, colon - s) : g_strdup (s);
    if (!server->host[0] || strspn (server->host, HOST_CHARS) != strlen (server->host)) {
      *why = "the host name is missing or has characters a host name cannot have";
      return FALSE;
    }
  }
  if (colon && !g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &port, NULL)) {
    *why = "the port must be a number from 1 to 65535";
    return FALSE;
  }
  server->port = colon ? port : server->scheme == CG_ICE_TURNS ? DEFAULT_TLS_PORT : DEFAULT_PORT;
  return TRUE;
}

static gboolean
parse_query (const char *query, CgIceServer *server, const char **why)
{
  if (!query)
    return TRUE;
  if (server->scheme == CG_ICE_STUN) {
    *why = "a STUN server takes no ?options";
    return FALSE;
  }
  if (g_ascii_strcasecmp (query, "transport=udp") == 0 && server->scheme == CG_ICE_TURN)
    server->transport = g_strdup ("udp");
  else if (g_ascii_strcasecmp (query, "transport=tcp") == 0)
    server->transport = g_strdup ("tcp");
  else {
    *why = server->scheme == CG_ICE_TURN ? "the only option is ?transport=udp or ?transport=tcp"
                                         : "the only option of turns: is ?transport=tcp";
    return FALSE;
  }
  return TRUE;
}

/* "USER:PASS" (percent-encoded) into @server; FALSE on a bad escape. */
static gboolean
parse_userinfo (const char *userinfo, gsize len, CgIceServer *server)
{
  g_autofree char *text = g_strndup (userinfo, len);
  char *colon = strchr (text, ':');

  if (colon)
    *colon = '\0';
  server->username = g_uri_unescape_string (text, NULL);
  server->credential = colon ? g_uri_unescape_string (colon + 1, NULL) : NULL;
  return server->username && (!colon || server->credential);
}

CgIceServer *
cg_ice_server_parse (const char *url, const char *username, const char *credential,
                     GError **error)
{
  g_autoptr (CgIceServer) server = g_new0 (CgIceServer, 1);
  g_autofree char *authority = NULL;
  const char *rest, *query, *at, *why = NULL;
  gsize len;

  if (!parse_scheme (url, &server->scheme, &rest)) {
    g_set_error (error, CG_ERROR, CG_ERROR_CONFIG, "must start with stun:, turn: or turns:");
    return NULL;
  }
  if (g_str_has_prefix (rest, "//"))
    rest += 2;
  query = strchr (rest, '?');
  len = query ? (gsize) (query - rest) : strlen (rest);
  if (memchr (rest, '/', len)) {
    g_set_error (error, CG_ERROR, CG_ERROR_CONFIG, "has a path: write %s:HOST[:PORT]",
                 scheme_names[server->scheme]);
    return NULL;
  }
  authority = g_strndup (rest, len);
  at = strrchr (authority, '@');
  if (at && !parse_userinfo (authority, at - authority, server)) {
    g_set_error (error, CG_ERROR, CG_ERROR_CONFIG, "has a bad %%-escape in its credentials");
    return NULL;
  }
  if (!at) {
    server->username = g_strdup (username);
    server->credential = g_strdup (credential);
  }
  if (!parse_host_port (at ? at + 1 : authority, server, &why) ||
      !parse_query (query ? query + 1 : NULL, server, &why)) {
    g_set_error (error, CG_ERROR, CG_ERROR_CONFIG, "is not a usable %s URL: %s",
                 scheme_names[server->scheme], why);
    return NULL;
  }
  if (server->scheme != CG_ICE_STUN && (!server->username || !server->credential)) {
    g_set_error (error, CG_ERROR, CG_ERROR_CONFIG, "is a TURN server without a user name "
                 "and password: write %s://USER:PASSWORD@HOST[:PORT]",
                 scheme_names[server->scheme]);
    return NULL;
  }
  return g_steal_pointer (&server);
}

static void
append_host_port (GString *s, const CgIceServer *server)
{
  if (strchr (server->host, ':'))
    g_string_append_printf (s, "[%s]:%u", server->host, server->port);
  else
    g_string_append_printf (s, "%s:%u", server->host, server->port);
}

char *
cg_ice_server_to_gst (const CgIceServer *server)
{
  GString *s = g_string_new (scheme_names[server->scheme]);

  g_string_append (s, "://");
  if (server->scheme != CG_ICE_STUN) {
    g_string_append_uri_escaped (s, server->username, NULL, FALSE);
    g_string_append_c (s, ':');
    g_string_append_uri_escaped (s, server->credential, NULL, FALSE);
    g_string_append_c (s, '@');
  }
  append_host_port (s, server);
  if (server->transport)
    g_string_append_printf (s, "?transport=%s", server->transport);
  return g_string_free (s, FALSE);
}

char *
cg_ice_server_describe (const CgIceServer *server)
{
  GString *s = g_string_new (scheme_names[server->scheme]);

  g_string_append_c (s, ':');
  append_host_port (s, server);
  if (server->transport)
    g_string_append_printf (s, "?transport=%s", server->transport);
  return g_string_free (s, FALSE);
}

gboolean
cg_ice_server_equal (const CgIceServer *a, const CgIceServer *b)
{
  return a->scheme == b->scheme && a->port == b->port && g_str_equal (a->host, b->host) &&
         g_strcmp0 (a->transport, b->transport) == 0 &&
         g_strcmp0 (a->username, b->username) == 0 &&
         g_strcmp0 (a->credential, b->credential) == 0;
}

/* ---- Link headers (RFC 8288) --------------------------------------------- */

static void
skip_space (const char **p)
{
  while (**p == ' ' || **p == '\t')
    (*p)++;
}

/* A token or a quoted-string at *@p. NULL on a syntax error. transfer full */
static char *
parse_value (const char **p)
{
  GString *s;

  if (**p != '"') {
    gsize n = strcspn (*p, ";, \t");
    char *token = g_strndup (*p, n);
    *p += n;
    return token;
  }
  s = g_string_new (NULL);
  for ((*p)++; **p && **p != '"'; (*p)++) {
    if (**p == '\\' && (*p)[1])
      (*p)++;
    g_string_append_c (s, **p);
  }
  if (**p != '"') {
    g_string_free (s, TRUE);
    return NULL;
  }
  (*p)++;
  return g_string_free (s, FALSE);
}

/* One link-value at *@p: "<URI>" then ";name=value" parameters (the first of
 * each name counts; names in lower case). FALSE on a syntax error. */
static gboolean
parse_link (const char **p, char **uri, GHashTable *params)
{
  const char *end;

  if (**p != '<' || !(end = strchr (*p, '>')))
    return FALSE;
  *uri = g_strndup (*p + 1, end - *p - 1);
  *p = end + 1;
  for (;;) {
    g_autofree char *name = NULL;
    char *value = NULL;
    gsize n;

    skip_space (p);
    if (**p != ';')
      return **p == ',' || **p == '\0';
    (*p)++;
    skip_space (p);
    n = strcspn (*p, "=;, \t");
    if (n == 0)
      return FALSE;
    name = g_ascii_strdown (*p, n);
    *p += n;
    skip_space (p);
    if (**p == '=') {
      (*p)++;
      skip_space (p);
      if (!(value = parse_value (p)))
        return FALSE;
    }
    if (!g_hash_table_contains (params, name))
      g_hash_table_insert (params, g_steal_pointer (&name), value ? value : g_strdup (""));
    else
      g_free (value);
  }
}

static gboolean
rel_is_ice_server (const char *rel)
{
  g_auto (GStrv) rels = g_strsplit_set (rel ? rel : "", " \t", -1);

  for (guint i = 0; rels[i]; i++)
    if (g_ascii_strcasecmp (rels[i], "ice-server") == 0)
      return TRUE;
  return FALSE;
}

void
cg_ice_servers_from_link (const char *header, GPtrArray *servers, GString *skipped)
{
  const char *p = header;

  while (p && *p) {
    g_autoptr (GHashTable) params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
    g_autofree char *uri = NULL;
    g_autoptr (GError) error = NULL;
    const char *type;
    CgIceServer *server;

    while (*p == ' ' || *p == '\t' || *p == ',')
      p++;
    if (!*p)
      break;
    if (!parse_link (&p, &uri, params)) {
      g_string_append_printf (skipped, "%sa Link header that does not parse (RFC 8288) was "
                              "ignored from there on", skipped->len ? "; " : "");
      return;
    }
    if (!rel_is_ice_server (g_hash_table_lookup (params, "rel")))
      continue;
    type = g_hash_table_lookup (params, "credential-type");
    if (type && g_ascii_strcasecmp (type, "password") != 0) {
      g_string_append_printf (skipped, "%san ice-server link with credential-type \"%.32s\" "
                              "(only \"password\" is supported)", skipped->len ? "; " : "",
                              type);
      continue;
    }
    server = cg_ice_server_parse (uri, g_hash_table_lookup (params, "username"),
                                  g_hash_table_lookup (params, "credential"), &error);
    if (!server) {
      g_string_append_printf (skipped, "%san ice-server link that %s", skipped->len ? "; " : "",
                              error->message);
      continue;
    }
    g_ptr_array_add (servers, server);
  }
}
