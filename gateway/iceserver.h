/* STUN and TURN servers for the WHIP uplink, as the configuration's
 * ice_servers and an ingest's Link headers (RFC 9725 section 4.6) name them,
 * turned into the URLs webrtcbin takes ("stun://HOST:PORT",
 * "turn://USER:PASS@HOST:PORT?transport=udp"). Pure functions over strings,
 * unit-tested in tests/unit/test-whip.c. GLib only: the configuration checks
 * ice_servers with them in a build without WebRTC too. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  CG_ICE_STUN,
  CG_ICE_TURN,
  CG_ICE_TURNS,
} CgIceScheme;

typedef struct {
  CgIceScheme scheme;
  char *host;           /* an IPv6 address without its brackets */
  guint port;           /* 3478 (stun, turn) or 5349 (turns) unless given */
  char *transport;      /* "udp", "tcp", or NULL (TURN: UDP) */
  char *username;       /* NULL if none; never logged */
  char *credential;     /* NULL if none; never logged */
} CgIceServer;

/* Parses "stun:HOST[:PORT]", "turn:HOST[:PORT][?transport=udp|tcp]" (RFC 7064,
 * RFC 7065) and the "scheme://USER:PASS@HOST..." form (credentials
 * percent-encoded). @username and @credential, when not NULL, are the ones
 * a Link header gives separately; credentials in the URL win. NULL with
 * @error (a message that never quotes a credential). transfer full */
CgIceServer *cg_ice_server_parse (const char *url, const char *username,
                                  const char *credential, GError **error);
void cg_ice_server_free (CgIceServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgIceServer, cg_ice_server_free)

/* The URL webrtcbin's stun-server / add-turn-server takes, credentials
 * percent-encoded. transfer full */
char *cg_ice_server_to_gst (const CgIceServer *server);
/* "turn:HOST:PORT?transport=tcp", without credentials: safe to log. transfer full */
char *cg_ice_server_describe (const CgIceServer *server);
gboolean cg_ice_server_equal (const CgIceServer *a, const CgIceServer *b);

/* The ICE servers in the value of an HTTP Link header (RFC 8288; several
 * headers joined with ", "): every link with rel="ice-server" is parsed into
 * @servers (element-type CgIceServer); links with other relations are
 * ignored; an ice-server link that cannot be used (a bad URL, a credential
 * type other than "password", a syntax error) gets a line in @skipped. */
void cg_ice_servers_from_link (const char *header, GPtrArray *servers, GString *skipped);

G_END_DECLS
