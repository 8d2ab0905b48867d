/* The configuration: a GLib-style key file (see docs/configuration.md), parsed
 * with line numbers so that every error reads "FILE:LINE: what, and what to do". */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CG_DEFAULT_CONFIG_PATH SYSCONFDIR "/camgate/camgate.conf"
/* [gateway] gop_cache_kbytes: the default (8 MiB) and the largest accepted */
#define CG_DEFAULT_GOP_CACHE_KBYTES 8192
#define CG_MAX_GOP_CACHE_KBYTES 262144

typedef enum {
  CG_ISOLATION_ENFORCE,
  CG_ISOLATION_MONITOR,
  CG_ISOLATION_OFF,
} CgIsolationMode;

typedef enum {
  CG_UPLINK_RTSPS,
  CG_UPLINK_WHIP,
} CgUplinkKind;

typedef enum {
  CG_TRANSPORT_TCP,
  CG_TRANSPORT_UDP,
} CgTransport;

typedef struct {
  char *id;             /* [a-z0-9_-]{1,32} */
  char *url;            /* rtsp:// or rtsps://, credentials removed */
  char *username;       /* from the key, else from the URL; NULL if none */
  char *password;       /* never logged */
  CgTransport transport;
  guint line;           /* line of the [camera ID] header */
} CgCameraConfig;

typedef struct {
  CgUplinkKind kind;
  char *url;            /* template: {camera} is replaced by the camera id */
  char *ca_file;        /* NULL = system trust store */
  char *username;       /* NULL if none */
  char *password;       /* never logged */
  char *token;          /* WHIP bearer token */
  char **ice_servers;   /* NULL-terminated, possibly empty */
  gboolean ice_relay_only;
  gboolean aac_to_opus;
  char **camera_interfaces;  /* [gateway]'s, copied (NULL-terminated): no WHIP ICE there */
} CgUplinkConfig;

typedef struct {
  char *path;           /* as given, used in messages */
  char *name;
  char *state_dir;
  char *runtime_dir;
  char **camera_interfaces;  /* NULL-terminated, possibly empty */
  char *admin_listen;
  CgIsolationMode isolation;
  guint gop_cache_kbytes;    /* per camera; 0: no GOP cache */
  CgUplinkConfig uplink;
  GPtrArray *cameras;   /* element-type CgCameraConfig, in file order */
  GPtrArray *warnings;  /* element-type utf8: "FILE:LINE: message" */
} CgConfig;

/* transfer full; NULL with @error (CG_ERROR_CONFIG, "FILE:LINE: message") */
CgConfig *cg_config_load (const char *path, GError **error);
/* as cg_config_load, from memory; @path is only used in messages */
CgConfig *cg_config_load_from_data (const char *data, gsize len, const char *path,
                                    GError **error);
void cg_config_free (CgConfig *config);
/* Only [gateway] runtime_dir (or its default), even when the rest of the file
 * is invalid: a daemon may run with an earlier version of it. NULL with @error
 * only when the file cannot be read. transfer full */
char *cg_config_read_runtime_dir (const char *path, GError **error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgConfig, cg_config_free)

const CgCameraConfig *cg_config_find_camera (const CgConfig *config, const char *id);
gboolean cg_camera_config_equal (const CgCameraConfig *a, const CgCameraConfig *b);
gboolean cg_uplink_config_equal (const CgUplinkConfig *a, const CgUplinkConfig *b);

gboolean cg_camera_id_is_valid (const char *id);

/* Replaces every "{camera}" in @tmpl with @camera_id. transfer full; NULL with
 * @error when @tmpl has another {placeholder} or an unbalanced brace. */
char *cg_url_expand (const char *tmpl, const char *camera_id, GError **error);

/* @url with any user:password@ removed, safe to log. transfer full */
char *cg_url_redact (const char *url);
/* "@what at HOST:PORT" from @url (default RTSP ports filled in), or @what.
 * transfer full */
char *cg_peer_name (const char *what, const char *url);

const char *cg_isolation_mode_to_string (CgIsolationMode mode);
const char *cg_uplink_kind_to_string (CgUplinkKind kind);

G_END_DECLS
