/* The configuration file (see config.h and docs/configuration.md): what each
 * group and key of camgate.conf means.
 *
 * keyfile.c splits the text into groups of key/value entries (syntax, UTF-8,
 * duplicates); the group parsers here check meanings, fill a CgConfig and
 * report through the same CgKeyFile, which keeps only the first error in file
 * order (an error is ranked where a reader would notice it; see keyfile.h).
 * Secrets (passwords, tokens, ICE credentials, URL userinfo) are never quoted
 * in a message. */
#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif
#ifndef RUNSTATEDIR
#define RUNSTATEDIR "/run"
#endif

#define G_LOG_DOMAIN "camgate-config"

#include "config.h"
#include "error.h"
#include "iceserver.h"
#include "keyfile.h"

#include <gio/gio.h>
#include <string.h>

#define DEFAULT_STATE_DIR LOCALSTATEDIR "/lib/camgate"
#define DEFAULT_RUNTIME_DIR RUNSTATEDIR "/camgate"
#define DEFAULT_ADMIN_LISTEN "0.0.0.0:8443"
#define MAX_CAMERA_ID 32
#define MAX_IFNAME 15           /* IFNAMSIZ - 1 */
/* of a host name in admin_listen */
#define HOST_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-."
#define ID_HINT "use 1 to 32 of a-z, 0-9, '_' and '-'"

static const char *const isolation_names[] = { "enforce", "monitor", "off", NULL };
static const char *const kind_names[] = { "rtsps", "whip", NULL };
static const char *const transport_names[] = { "tcp", "udp", NULL };
static const char *const policy_names[] = { "all", "relay", NULL };   /* index = relay only */
static const char *const aac_names[] = { "drop", "opus", NULL };      /* index = to Opus */
static const char *const uplink_schemes[] = { "rtsps", NULL };
static const char *const whip_schemes[] = { "https", NULL };
static const char *const camera_schemes[] = { "rtsp", "rtsps", NULL };
static const char *const id_groups[] = { "camera", NULL };
static const char *const secret_keys[] = { "password", "token", "ice_servers", NULL };
static const char *const whip_keys[] = { "token", "ice_servers", "ice_transport_policy",
                                         "aac", NULL };

static const CgKeyFileSyntax camgate_syntax = {
  .id_groups = id_groups,
  .secret_keys = secret_keys,
  .orphan_hint = "put it under [gateway], [uplink] or [camera ID]",
};

typedef struct {
  CgKeyFile *kf;        /* the lexed file; errors and warnings go there */
  guint uplink_url_line;  /* of [uplink] url, for errors about it found later */
} Parser;


/* ---- URLs -------------------------------------------------------------- */

/* Moves "user:password@" out of @url: *stripped gets @url without it, *user
 * and *password the percent-decoded parts (NULL if none). FALSE on a bad escape. */
static gboolean
split_userinfo (const char *url, char **stripped, char **user, char **password)
{
  const char *auth = strstr (url, "://"), *end, *at, *colon;
  g_autofree char *u = NULL, *pw = NULL;

  *user = *password = NULL;
  auth = auth ? auth + 3 : url;
  end = auth + strcspn (auth, "/?#");
  at = g_strrstr_len (auth, end - auth, "@");
  if (!at) {
    *stripped = g_strdup (url);
    return TRUE;
  }
  colon = memchr (auth, ':', at - auth);
  u = g_strndup (auth, (colon ? colon : at) - auth);
  pw = colon ? g_strndup (colon + 1, at - colon - 1) : NULL;
  *stripped = g_strdup_printf ("%.*s%s", (int) (auth - url), url, at + 1);
  *user = *u ? g_uri_unescape_string (u, NULL) : NULL;
  *password = pw && *pw ? g_uri_unescape_string (pw, NULL) : NULL;
  if ((*u && !*user) || (pw && *pw && !*password)) {
    g_clear_pointer (user, g_free);
    g_clear_pointer (password, g_free);
    return FALSE;
  }
  return TRUE;
}

/* FALSE after reporting when @e's URL scheme is not one of @schemes. */
static gboolean
check_scheme (Parser *p, const CgKeyFileEntry *e, const char *const *schemes, const char *hint)
{
  const char *scheme = g_uri_peek_scheme (e->value);
  g_autofree char *shown = scheme ? cg_keyfile_echo (scheme) : NULL;

  if (scheme && g_strv_contains (schemes, scheme))
    return TRUE;
  if (scheme)
    cg_keyfile_fail (p->kf, e->line, "url scheme \"%s\" is not supported: use %s", shown, hint);
  else
    cg_keyfile_fail (p->kf, e->line, "url is not a URL: expected %s", hint);
  return FALSE;
}

/* Checks @e's URL (a template when @tmpl) and moves its credentials into
 * *user and *password. transfer full: the URL without them, or NULL. */
static char *
parse_url (Parser *p, const CgKeyFileEntry *e, gboolean tmpl, char **user, char **password)
{
  /* by GUriError; GLib's own messages may quote a password */
  static const char *const parts[] = { "syntax", "scheme", "user name", "password", "auth params",
                                       "host", "port", "path", "query", "fragment" };
  g_autofree char *stripped = NULL, *expanded = NULL;
  g_autoptr (GError) local = NULL;
  g_autoptr (GUri) uri = NULL;

  if (!split_userinfo (e->value, &stripped, user, password)) {
    cg_keyfile_fail (p->kf, e->line, "url: the user name or password in it has a bad "
                     "%%-escape: write a '%%' as %%25");
    return NULL;
  }
  expanded = tmpl ? cg_url_expand (stripped, "x", &local) : g_strdup (stripped);
  if (!expanded) {
    cg_keyfile_fail (p->kf, e->line, "%s", local->message);
  } else if (!(uri = g_uri_parse (expanded, G_URI_FLAGS_NONE, &local))) {
    gboolean authority = local->code >= G_URI_ERROR_BAD_USER &&
                         local->code <= G_URI_ERROR_BAD_PORT;
    cg_keyfile_fail (p->kf, e->line, "url cannot be parsed: bad %s%s",
                     local->code < (int) G_N_ELEMENTS (parts) ? parts[local->code] : "syntax",
                     authority ? " (in a user name or password in it, write '@', ':' and '/' "
                     "as %40, %3A and %2F)" : "");
  } else if (!g_uri_get_host (uri) || !*g_uri_get_host (uri)) {
    cg_keyfile_fail (p->kf, e->line, "url has no host: expected SCHEME://HOST[:PORT]/PATH");
  } else {
    return g_steal_pointer (&stripped);
  }
  g_clear_pointer (user, g_free);
  g_clear_pointer (password, g_free);
  return NULL;
}

/* A key wins over the credentials in the URL. transfer full; takes @from_url */
static char *
pick_credential (const char *from_key, char *from_url)
{
  if (!from_key)
    return from_url;
  g_free (from_url);
  return g_strdup (from_key);
}

/* ---- [gateway] ----------------------------------------------------------- */

static char *
parse_dir (Parser *p, const CgKeyFileEntry *e, const char *fallback)
{
  if (!cg_keyfile_value (e))
    return g_strdup (fallback);
  if (!g_path_is_absolute (e->value))
    cg_keyfile_fail (p->kf, e->line, "%s must be an absolute path (it starts with '/')", e->key);
  return g_strdup (e->value);
}

static gboolean
ifname_is_valid (const char *name)
{
  gsize len = strlen (name);

  return len > 0 && len <= MAX_IFNAME && !strpbrk (name, "/: \t\n\r\f\v") &&
         !g_str_equal (name, ".") && !g_str_equal (name, "..");
}

static gboolean
listen_is_valid (const char *value)
{
  const char *colon = strrchr (value, ':');
  g_autofree char *host = NULL;
  guint64 port;
  gsize n;

  if (!colon || colon == value ||
      !g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &port, NULL))
    return FALSE;
  host = g_strndup (value, colon - value);
  n = strlen (host);
  if (host[0] == '[') {
    if (n < 3 || host[n - 1] != ']')
      return FALSE;
    host[n - 1] = '\0';
    return strchr (host, ':') && g_hostname_is_ip_address (host + 1);
  }
  return !strchr (host, ':') && (g_hostname_is_ip_address (host) ||
                                 host[strspn (host, HOST_CHARS)] == '\0');
}

static char **
parse_interfaces (Parser *p, const CgKeyFileEntry *e)
{
  char **names = cg_keyfile_split_list (cg_keyfile_value (e));

  for (guint i = 0; names[i]; i++) {
    g_autofree char *shown = cg_keyfile_echo (names[i]);
    if (!ifname_is_valid (names[i]))
      cg_keyfile_fail (p->kf, e->line, "camera_interface \"%s\" is invalid: an interface "
                       "name has 1 to 15 characters, without '/', ':' or spaces", shown);
  }
  return names;
}

static char *
parse_admin_listen (Parser *p, CgKeyFileEntry *e)
{
  g_autofree char *shown = NULL;

  if (!cg_keyfile_value (e))
    return g_strdup (DEFAULT_ADMIN_LISTEN);
  shown = cg_keyfile_echo (e->value);
  if (!listen_is_valid (e->value))
    cg_keyfile_fail (p->kf, e->line, "admin_listen = %s: expected HOST:PORT (a port from 1 "
                     "to 65535; an IPv6 address in brackets, e.g. [::1]:8443)", shown);
  e->note = ": the installer web UI is not part of this build yet: ignored";
  return g_strdup (e->value);
}

/* A whole number of kilobytes from 0 to CG_MAX_GOP_CACHE_KBYTES. */
static guint
parse_gop_cache (Parser *p, const CgKeyFileEntry *e)
{
  g_autofree char *shown = NULL;
  guint64 n;

  if (!cg_keyfile_value (e))
    return CG_DEFAULT_GOP_CACHE_KBYTES;
  if (g_ascii_string_to_unsigned (e->value, 10, 0, CG_MAX_GOP_CACHE_KBYTES, &n, NULL))
    return n;
  shown = cg_keyfile_echo (e->value);
  cg_keyfile_fail (p->kf, e->line, "gop_cache_kbytes = %s: expected a whole number of "
                   "kilobytes from 0 (no cache) to %u (per camera; the default is %u)", shown,
                   CG_MAX_GOP_CACHE_KBYTES, CG_DEFAULT_GOP_CACHE_KBYTES);
  return CG_DEFAULT_GOP_CACHE_KBYTES;
}

static void
parse_gateway (Parser *p, CgKeyFileGroup *g, CgConfig *c)
{
  const CgKeyFileEntry *e = cg_keyfile_take (g, "name");
  int isolation = CG_ISOLATION_ENFORCE;

  c->name = g_strdup (cg_keyfile_value (e) ? e->value : g_get_host_name ());
  c->state_dir = parse_dir (p, cg_keyfile_take (g, "state_dir"), DEFAULT_STATE_DIR);
  c->runtime_dir = parse_dir (p, cg_keyfile_take (g, "runtime_dir"), DEFAULT_RUNTIME_DIR);
  c->camera_interfaces = parse_interfaces (p, cg_keyfile_take (g, "camera_interface"));
  c->admin_listen = parse_admin_listen (p, cg_keyfile_take (g, "admin_listen"));
  cg_keyfile_parse_enum (p->kf, cg_keyfile_take (g, "isolation"), isolation_names, &isolation);
  c->isolation = isolation;
  c->gop_cache_kbytes = parse_gop_cache (p, cg_keyfile_take (g, "gop_cache_kbytes"));
  if (c->isolation != CG_ISOLATION_OFF && !c->camera_interfaces[0])
    cg_keyfile_fail_late (p->kf, g->end, g->line, "camera_interface is required unless "
                          "isolation = off: name the interface(s) the cameras sit on, "
                          "e.g. camera_interface = eth1");
  cg_keyfile_warn_keys (p->kf, g);
}

/* ---- [uplink] ------------------------------------------------------------ */

static void
parse_uplink_url (Parser *p, CgKeyFileGroup *g, CgUplinkConfig *u)
{
  CgKeyFileEntry *e = cg_keyfile_take (g, "url");

  if (!cg_keyfile_value (e)) {
    cg_keyfile_fail_late (p->kf, e ? e->line : g->end, e ? e->line : g->line,
                          "url is required: e.g. "
                          "url = rtsps://ingest.example.net:8322/live/{camera}");
    return;
  }
  p->uplink_url_line = e->line;
  if (u->kind == CG_UPLINK_RTSPS && g_strcmp0 (g_uri_peek_scheme (e->value), "rtsp") == 0) {
    cg_keyfile_fail (p->kf, e->line, "url is rtsp://: camgate never pushes video in clear "
                     "text; use rtsps:// (RTSP over TLS)");
    return;
  }
  if (u->kind == CG_UPLINK_RTSPS &&
      !check_scheme (p, e, uplink_schemes, "rtsps://HOST[:PORT]/PATH"))
    return;
  if (u->kind == CG_UPLINK_WHIP && g_strcmp0 (g_uri_peek_scheme (e->value), "http") == 0) {
    cg_keyfile_fail (p->kf, e->line, "url is http://: the token and the session would go in "
                     "clear text; use https:// (the WHIP endpoint over TLS)");
    return;
  }
  if (u->kind == CG_UPLINK_WHIP &&
      !check_scheme (p, e, whip_schemes, "https://HOST[:PORT]/PATH (the WHIP endpoint)"))
    return;
  u->url = parse_url (p, e, TRUE, &u->username, &u->password);
}

static void
parse_ca_file (Parser *p, const CgKeyFileEntry *e, CgUplinkConfig *u)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (GTlsDatabase) database = NULL;

  if (!cg_keyfile_value (e))
    return;
  if (!(database = g_tls_file_database_new (e->value, &local))) {
    g_autofree char *why = g_strdup (local->message);
    if (g_str_has_suffix (why, "."))
      why[strlen (why) - 1] = '\0';
    cg_keyfile_fail (p->kf, e->line, "ca_file %s: cannot be read: %s; name a PEM file of CA "
                     "certificates, or leave ca_file empty for the system store", e->value, why);
    return;
  }
  u->ca_file = g_strdup (e->value);
}

static void
parse_uplink_credentials (Parser *p, CgKeyFileGroup *g, CgUplinkConfig *u)
{
  CgKeyFileEntry *user = cg_keyfile_take (g, "username");
  CgKeyFileEntry *password = cg_keyfile_take (g, "password");

  u->username = pick_credential (cg_keyfile_value (user), u->username);
  u->password = pick_credential (cg_keyfile_value (password), u->password);
  if (!u->username != !u->password) {
    guint line = u->username ? (cg_keyfile_value (user) ? user->line : p->uplink_url_line)
                             : (cg_keyfile_value (password) ? password->line : p->uplink_url_line);
    cg_keyfile_fail_late (p->kf, g->end, line, "%s is set but %s is not: set both or neither",
                          u->username ? "username" : "password",
                          u->username ? "password" : "username");
  }
}

static void
parse_ice_servers (Parser *p, const CgKeyFileEntry *e, CgUplinkConfig *u)
{
  g_auto (GStrv) servers = cg_keyfile_split_list (cg_keyfile_value (e));
  guint turns = 0, turn_tcp = 0;

  for (guint i = 0; servers[i]; i++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (CgIceServer) server = cg_ice_server_parse (servers[i], NULL, NULL, &error);

    if (!server)
      cg_keyfile_fail (p->kf, e->line, "ice_servers: entry %u %s", i + 1, error->message);
    else if (server->scheme == CG_ICE_TURNS)
      turns = i + 1;
    else if (server->scheme == CG_ICE_TURN && g_strcmp0 (server->transport, "tcp") == 0)
      turn_tcp = i + 1;
  }
  /* libnice sends every TURN/TCP connection through the one proxy that
   * carries turns: servers, and that proxy speaks TLS only */
  if (turns && turn_tcp && u->kind == CG_UPLINK_WHIP)
    cg_keyfile_fail (p->kf, e->line, "ice_servers: entry %u (turn: over TCP) cannot go with "
                     "entry %u (turns:): with TURN over TLS every TURN/TCP connection is TLS; "
                     "write that server as turns: too, or drop one of them", turn_tcp, turns);
  if (u->kind == CG_UPLINK_WHIP) {
    g_strfreev (u->ice_servers);
    u->ice_servers = g_steal_pointer (&servers);
  }
}

/* token, ice_servers, ice_transport_policy, aac: checked, kept only for WHIP. */
static void
parse_whip_keys (Parser *p, CgKeyFileGroup *g, CgUplinkConfig *u)
{
  int relay = FALSE, opus = TRUE;

  if (u->kind == CG_UPLINK_WHIP)
    u->token = g_strdup (cg_keyfile_take_value (g, "token"));
  parse_ice_servers (p, cg_keyfile_take (g, "ice_servers"), u);
  cg_keyfile_parse_enum (p->kf, cg_keyfile_take (g, "ice_transport_policy"), policy_names,
                         &relay);
  cg_keyfile_parse_enum (p->kf, cg_keyfile_take (g, "aac"), aac_names, &opus);
  if (u->kind == CG_UPLINK_WHIP) {
    u->ice_relay_only = relay;
    u->aac_to_opus = opus;
    return;
  }
  for (guint i = 0; whip_keys[i]; i++)
    cg_keyfile_note (g, whip_keys[i], " is a WHIP setting: ignored with kind = rtsps");
}

static void
parse_uplink (Parser *p, CgKeyFileGroup *g, CgUplinkConfig *u)
{
  CgKeyFileEntry *e = cg_keyfile_take (g, "kind");
  int kind = CG_UPLINK_RTSPS;

  cg_keyfile_parse_enum (p->kf, e, kind_names, &kind);
  u->kind = kind;
#ifndef CG_WITH_WEBRTC
  if (u->kind == CG_UPLINK_WHIP)
    cg_keyfile_fail (p->kf, e->line, "kind = whip: this camgate was built without WebRTC "
                     "(configure --enable-webrtc); use kind = rtsps");
#endif
  parse_uplink_url (p, g, u);
  parse_ca_file (p, cg_keyfile_take (g, "ca_file"), u);
  parse_uplink_credentials (p, g, u);
  parse_whip_keys (p, g, u);
  cg_keyfile_warn_keys (p->kf, g);
}

/* ---- [camera ID] --------------------------------------------------------- */

static void
camera_config_free (gpointer data)
{
  CgCameraConfig *cam = data;

  g_free (cam->id);
  g_free (cam->url);
  g_free (cam->username);
  g_free (cam->password);
  g_free (cam);
}

static void
parse_camera (Parser *p, CgKeyFileGroup *g, const char *id, CgConfig *c)
{
  g_autofree char *user = NULL, *password = NULL, *shown = cg_keyfile_echo (id);
  CgCameraConfig *cam;
  CgKeyFileEntry *e = cg_keyfile_take (g, "url");
  int transport = CG_TRANSPORT_TCP;

  if (!cg_camera_id_is_valid (id)) {
    cg_keyfile_fail (p->kf, g->line, "camera id \"%s\" is invalid: " ID_HINT, shown);
    return;
  }
  cam = g_new0 (CgCameraConfig, 1);
  cam->id = g_strdup (id);
  cam->line = g->line;
  if (!cg_keyfile_value (e))
    cg_keyfile_fail_late (p->kf, e ? e->line : g->end, e ? e->line : g->line,
                          "url is required: e.g. url = rtsp://10.20.0.11:554/stream1");
  else if (check_scheme (p, e, camera_schemes, "rtsp://HOST[:PORT]/PATH or rtsps://"))
    cam->url = parse_url (p, e, FALSE, &user, &password);
  cam->username = pick_credential (cg_keyfile_take_value (g, "username"),
                                   g_steal_pointer (&user));
  cam->password = pick_credential (cg_keyfile_take_value (g, "password"),
                                   g_steal_pointer (&password));
  cg_keyfile_parse_enum (p->kf, cg_keyfile_take (g, "transport"), transport_names,
                         &transport);
  cam->transport = transport;
  cg_keyfile_note (g, "substream_url", " is not supported yet: ignored");
  cg_keyfile_note (g, "priority", " is not supported yet: ignored");
  cg_keyfile_warn_keys (p->kf, g);
  g_ptr_array_add (c->cameras, cam);
}

/* ---- the whole file ------------------------------------------------------ */

static void
parse_group (Parser *p, CgKeyFileGroup *g, CgConfig *c)
{
  g_autofree char *shown = cg_keyfile_echo (g->name);

  if (g_str_equal (g->name, "gateway"))
    parse_gateway (p, g, c);
  else if (g_str_equal (g->name, "uplink"))
    parse_uplink (p, g, &c->uplink);
  else if (g_str_has_prefix (g->name, "camera "))
    parse_camera (p, g, g->name + strlen ("camera "), c);
  else if (g_str_equal (g->name, "camera"))
    cg_keyfile_fail (p->kf, g->line, "[camera] has no id: write [camera ID]; " ID_HINT);
  else if (g_str_equal (g->name, "spool") || g_str_equal (g->name, "control"))
    cg_keyfile_warn (p->kf, g->line, "[%s] is not supported yet: ignored", g->name);
  else
    cg_keyfile_warn (p->kf, g->line, "unknown group [%s]: ignored", shown);
}

/* url = ...push/{camera}: required when cameras would otherwise collide. */
static void
check_uplink_template (Parser *p, CgConfig *c)
{
  const CgCameraConfig *second;

  if (c->cameras->len < 2 || !c->uplink.url || strstr (c->uplink.url, "{camera}"))
    return;
  second = g_ptr_array_index (c->cameras, 1);
  cg_keyfile_fail_late (p->kf, MAX (p->uplink_url_line, second->line), p->uplink_url_line,
                        "url has no {camera}: every camera would push to the same path; "
                        "add {camera}, e.g. rtsps://HOST/live/{camera}");
}

static CgConfig *
build (Parser *p, const char *path)
{
  CgConfig *c = g_new0 (CgConfig, 1);
  GPtrArray *groups = cg_keyfile_get_groups (p->kf);

  c->path = g_strdup (path);
  c->cameras = g_ptr_array_new_with_free_func (camera_config_free);
  c->uplink.aac_to_opus = TRUE;
  c->uplink.ice_servers = g_new0 (char *, 1);
  for (guint i = 0; i < groups->len; i++) {
    CgKeyFileGroup *g = g_ptr_array_index (groups, i);
    if (!g->duplicate)
      parse_group (p, g, c);
  }
  if (!cg_keyfile_find_group (p->kf, "gateway")) {
    g_autoptr (CgKeyFileGroup) none = cg_keyfile_group_new_absent ("gateway");
    parse_gateway (p, none, c);
  }
  c->uplink.camera_interfaces = g_strdupv (c->camera_interfaces);
  if (!cg_keyfile_find_group (p->kf, "uplink"))
    cg_keyfile_fail_late (p->kf, CG_KEYFILE_LAST_RANK, 0, "[uplink] is missing: add it, "
                          "with at least url = rtsps://HOST[:PORT]/PATH/{camera}");
  check_uplink_template (p, c);
  if (c->cameras->len == 0)
    cg_keyfile_warn (p->kf, 0, "no cameras configured: add a [camera ID] group for each camera");
  return c;
}

/* ---- public -------------------------------------------------------------- */

CgConfig *
cg_config_load_from_data (const char *data, gsize len, const char *path, GError **error)
{
  g_autoptr (CgKeyFile) kf = cg_keyfile_new_from_data (data, len, path, &camgate_syntax);
  Parser p = { .kf = kf };
  CgConfig *config = build (&p, path);

  config->warnings = cg_keyfile_steal_warnings (kf);
  if (!cg_keyfile_check (kf, error))
    g_clear_pointer (&config, cg_config_free);
  return config;
}

static char *
read_file (const char *path, gsize *len, GError **error)
{
  g_autoptr (GError) local = NULL;
  char *data = NULL;

  if (!g_file_get_contents (path, &data, len, &local))
    g_set_error (error, CG_ERROR, CG_ERROR_CONFIG, "%s: cannot be read: %s", path,
                 local->message);
  return data;
}

CgConfig *
cg_config_load (const char *path, GError **error)
{
  gsize len;
  g_autofree char *data = read_file (path, &len, error);

  return data ? cg_config_load_from_data (data, len, path, error) : NULL;
}

char *
cg_config_read_runtime_dir (const char *path, GError **error)
{
  gsize len;
  g_autofree char *data = read_file (path, &len, error);
  g_autoptr (CgKeyFile) kf = NULL;
  CgKeyFileGroup *gateway;
  const char *dir = NULL;

  if (!data)
    return NULL;
  kf = cg_keyfile_new_from_data (data, len, path, &camgate_syntax);
  if ((gateway = cg_keyfile_find_group (kf, "gateway")))
    dir = cg_keyfile_take_value (gateway, "runtime_dir");
  return g_strdup (dir && g_path_is_absolute (dir) ? dir : DEFAULT_RUNTIME_DIR);
}

void
cg_config_free (CgConfig *config)
{
  if (!config)
    return;
  g_free (config->path);
  g_free (config->name);
  g_free (config->state_dir);
  g_free (config->runtime_dir);
  g_strfreev (config->camera_interfaces);
  g_free (config->admin_listen);
  g_free (config->uplink.url);
  g_free (config->uplink.ca_file);
  g_free (config->uplink.username);
  g_free (config->uplink.password);
  g_free (config->uplink.token);
  g_strfreev (config->uplink.ice_servers);
  g_strfreev (config->uplink.camera_interfaces);
  g_ptr_array_unref (config->cameras);
  if (config->warnings)
    g_ptr_array_unref (config->warnings);
  g_free (config);
}

const CgCameraConfig *
cg_config_find_camera (const CgConfig *config, const char *id)
{
  for (guint i = 0; i < config->cameras->len; i++) {
    const CgCameraConfig *cam = g_ptr_array_index (config->cameras, i);
    if (g_str_equal (cam->id, id))
      return cam;
  }
  return NULL;
}

/* Every setting; not @line, so that moving a group in the file restarts nothing. */
gboolean
cg_camera_config_equal (const CgCameraConfig *a, const CgCameraConfig *b)
{
  return g_strcmp0 (a->id, b->id) == 0 && g_strcmp0 (a->url, b->url) == 0 &&
         g_strcmp0 (a->username, b->username) == 0 &&
         g_strcmp0 (a->password, b->password) == 0 && a->transport == b->transport;
}

static gboolean
strv_equal (char **a, char **b)
{
  return (!a || !*a) ? (!b || !*b) : b && g_strv_equal ((const char *const *) a,
                                                         (const char *const *) b);
}

gboolean
cg_uplink_config_equal (const CgUplinkConfig *a, const CgUplinkConfig *b)
{
  return a->kind == b->kind && g_strcmp0 (a->url, b->url) == 0 &&
         g_strcmp0 (a->ca_file, b->ca_file) == 0 &&
         g_strcmp0 (a->username, b->username) == 0 &&
         g_strcmp0 (a->password, b->password) == 0 && g_strcmp0 (a->token, b->token) == 0 &&
         strv_equal (a->ice_servers, b->ice_servers) &&
         !a->ice_relay_only == !b->ice_relay_only && !a->aac_to_opus == !b->aac_to_opus &&
         strv_equal (a->camera_interfaces, b->camera_interfaces);
}

gboolean
cg_camera_id_is_valid (const char *id)
{
  gsize len = id ? strlen (id) : 0;

  return len >= 1 && len <= MAX_CAMERA_ID &&
         id[strspn (id, "abcdefghijklmnopqrstuvwxyz0123456789_-")] == '\0';
}

char *
cg_url_expand (const char *tmpl, const char *camera_id, GError **error)
{
  g_autoptr (GString) out = g_string_new (NULL);

  for (const char *s = tmpl; *s; s++) {
    const char *close, *open;
    g_autofree char *name = NULL, *shown = NULL;

    if (*s != '{' && *s != '}') {
      g_string_append_c (out, *s);
      continue;
    }
    close = strchr (s, '}');
    open = strchr (s + 1, '{');
    if (*s == '}' || !close || (open && open < close)) {
      g_set_error (error, CG_ERROR, CG_ERROR_CONFIG, "unbalanced %c in url: "
                   "the only placeholder is {camera}", *s);
      return NULL;
    }
    name = g_strndup (s + 1, close - s - 1);
    if (!g_str_equal (name, "camera")) {
      shown = cg_keyfile_echo (name);
      g_set_error (error, CG_ERROR, CG_ERROR_CONFIG, "unknown placeholder {%s} in url: "
                   "only {camera} is supported", shown);
      return NULL;
    }
    g_string_append (out, camera_id);
    s = close;
  }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

char *
cg_url_redact (const char *url)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_ENCODED, NULL);

  if (uri)
    return g_uri_to_string_partial (uri, G_URI_HIDE_USERINFO);
  return cg_keyfile_mask_userinfo (url);
}

char *
cg_peer_name (const char *what, const char *url)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  int port;

  if (!uri || !g_uri_get_host (uri))
    return g_strdup (what);
  port = g_uri_get_port (uri);
  if (port < 0)
    port = g_str_equal (g_uri_get_scheme (uri), "https") ? 443
           : g_str_equal (g_uri_get_scheme (uri), "rtsps") ? 322 : 554;
  return g_strdup_printf ("%s at %s:%d", what, g_uri_get_host (uri), port);
}

const char *
cg_isolation_mode_to_string (CgIsolationMode mode)
{
  g_return_val_if_fail (mode <= CG_ISOLATION_OFF, "unknown");
  return isolation_names[mode];
}

const char *
cg_uplink_kind_to_string (CgUplinkKind kind)
{
  g_return_val_if_fail (kind <= CG_UPLINK_WHIP, "unknown");
  return kind_names[kind];
}
