/* TURN over real TLS for the WebRTC uplink. libnice's TURN-TLS relay type
 * sends plain TCP in RFC 5245 mode, so camgate gives webrtcbin TURN over TCP
 * through an HTTP proxy (its http-proxy property) that is this loopback
 * listener: for each CONNECT to a TURN server it was told about, it opens a
 * TLS connection with OpenSSL (SNI, the certificate verified against the CA
 * file or the system store and for the server's name, ALPN "stun.turn" as
 * RFC 7443 asks) and relays the bytes both ways. Anything else is refused:
 * it is no open proxy, even on loopback. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _CgTurnProxy CgTurnProxy;

typedef struct {
  guint tunnels;                /* CONNECTs that reached a verified TLS session */
  guint refused;                /* CONNECTs refused or failed */
  guint open;                   /* tunnels open now */
  guint64 bytes_up;             /* from webrtcbin to the TURN servers */
  guint64 bytes_down;
  char *alpn;                   /* what the last TLS session agreed on; NULL if none */
  char *last_error;             /* NULL if none */
} CgTurnProxyStats;

void cg_turn_proxy_stats_clear (CgTurnProxyStats *stats);

/* Listens on 127.0.0.1, on a port of the kernel's choosing. @ca_file: the
 * trust anchors for the TURN servers (NULL: the system store). NULL with
 * @error when the CA file cannot be read or nothing can listen. */
CgTurnProxy *cg_turn_proxy_new (const char *ca_file, GError **error);
void cg_turn_proxy_free (CgTurnProxy *proxy);
/* "http://127.0.0.1:PORT", for webrtcbin's http-proxy. transfer none */
const char *cg_turn_proxy_get_uri (CgTurnProxy *proxy);
/* CONNECTs to @address:@port (as webrtcbin will ask: an IP address) are let
 * through to a TLS session with @name (the turns:// URL's host: SNI and the
 * certificate's name). */
void cg_turn_proxy_allow (CgTurnProxy *proxy, const char *address, guint16 port,
                          const char *name);
void cg_turn_proxy_get_stats (CgTurnProxy *proxy, CgTurnProxyStats *stats);

G_END_DECLS
