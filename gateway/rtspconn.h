/* One RTSP connection, to a camera or to an ingest, driven by the main loop:
 * connecting (TCP, or TLS verified against a CA file or the system store),
 * reading (responses, requests and interleaved data, handed to callbacks),
 * and writing without ever blocking (what the socket does not take at once
 * waits in an output buffer, written as the socket drains). TCP_NODELAY is
 * set: a frame is written in one go and must leave at once. */
#pragma once

#include <gio/gio.h>

#include "rtsp.h"

G_BEGIN_DECLS

typedef struct _CgRtspConn CgRtspConn;

typedef struct {
  /* Interleaved data on @channel. transfer none */
  void (*data) (guint8 channel, const guint8 *data, gsize size, gpointer user_data);
  /* A response, or a request from the peer. transfer none */
  void (*message) (const CgRtspMessage *message, gpointer user_data);
  /* The connection broke or the peer closed it (@error says which). No
   * callback follows; the owner still calls cg_rtsp_conn_close(). */
  void (*failed) (const GError *error, gpointer user_data);
} CgRtspConnFuncs;

/* Called once the connection is up (@conn) or could not be made (@error).
 * transfer full: @conn */
typedef void (*CgRtspConnectFunc) (CgRtspConn *conn, const GError *error, gpointer user_data);

/* Connects to @url (rtsp:// or rtsps://; default ports 554 and 322) within
 * @timeout_s. For rtsps://, the certificate is checked against @database
 * (NULL: the system store) and for the host name. @peer ("the camera at
 * HOST:PORT") names the other side in every error. Once @cancellable is
 * cancelled, @func is not called. */
void cg_rtsp_conn_connect (const char *url, GTlsDatabase *database, guint timeout_s,
                           const char *peer, const CgRtspConnFuncs *funcs, gpointer user_data,
                           GCancellable *cancellable, CgRtspConnectFunc func);

/* Queues @size bytes; they are written as the socket takes them. A failure
 * is reported through funcs->failed later, never from within this call. */
void cg_rtsp_conn_send (CgRtspConn *conn, const guint8 *data, gsize size);
/* TRUE once the connection failed (reported or about to be). */
gboolean cg_rtsp_conn_is_broken (CgRtspConn *conn);
/* Bytes queued and not yet taken by the socket. */
gsize cg_rtsp_conn_pending (CgRtspConn *conn);
/* Bytes the socket has taken since the connection was made. */
guint64 cg_rtsp_conn_written (CgRtspConn *conn);
/* The local address of the connection ("192.0.2.1"). transfer full */
char *cg_rtsp_conn_local_address (CgRtspConn *conn);
/* The peer's address. transfer full */
GInetAddress *cg_rtsp_conn_remote_address (CgRtspConn *conn);

/* Ends the connection: no callback is called any more. With @linger, what
 * is queued (a TEARDOWN, say) is still written, then the connection is
 * closed (TLS close_notify included), all in the background for at most
 * 2 s; without, it is closed at once. */
void cg_rtsp_conn_close (CgRtspConn *conn, gboolean linger);
/* Lingering closes not finished yet (the daemon waits for them at exit). */
guint cg_rtsp_conn_lingering (void);

/* Why a peer's certificate was refused, in words ("not signed by a trusted
 * CA, issued for another host name"). transfer full */
char *cg_tls_describe_errors (GTlsCertificateFlags errors);

G_END_DECLS
