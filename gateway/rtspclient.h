/* The client side of an RTSP session, shared by the camera source (OPTIONS,
 * DESCRIBE, SETUP, PLAY) and the RTSPS uplink (ANNOUNCE, SETUP, RECORD):
 * requests matched to responses by CSeq, each answered within 10 s; a 401
 * answered once with the credentials (Basic or Digest); the session id
 * carried on; keep-alive requests at half the session timeout; the peer's
 * own requests answered; TEARDOWN on the way out. All on the main loop. */
#pragma once

#include "rtspconn.h"

G_BEGIN_DECLS

#define CG_RTSP_REQUEST_TIMEOUT_S 10

typedef struct _CgRtspClient CgRtspClient;

typedef struct {
  /* Interleaved data. transfer none */
  void (*data) (guint8 channel, const guint8 *data, gsize size, gpointer user_data);
  /* The connection broke, a request went unanswered, or the session was lost.
   * Nothing follows; the owner frees the client. */
  void (*failed) (const GError *error, gpointer user_data);
} CgRtspClientFuncs;

/* A response to cg_rtsp_client_request(), any status but a 401 that the
 * credentials answered. transfer none */
typedef void (*CgRtspResponseFunc) (CgRtspClient *client, const CgRtspMessage *response,
                                    gpointer user_data);
typedef void (*CgRtspConnectedFunc) (CgRtspClient *client, gpointer user_data);

/* @username NULL: no credentials. @database: for rtsps:// (NULL: system store).
 * @peer names the other side in errors ("the camera at HOST:PORT"). */
CgRtspClient *cg_rtsp_client_new (const char *url, const char *peer, const char *username,
                                  const char *password, GTlsDatabase *database,
                                  const CgRtspClientFuncs *funcs, gpointer user_data);
/* Connects; @func when up, funcs->failed otherwise. */
void cg_rtsp_client_connect (CgRtspClient *client, guint timeout_s, CgRtspConnectedFunc func);
/* @headers: NULL-terminated "Name: value" lines, or NULL. */
void cg_rtsp_client_request (CgRtspClient *client, const char *method, const char *uri,
                             const char *const *headers, const char *content_type,
                             const char *body, CgRtspResponseFunc func);
/* From now on, @method (OPTIONS or GET_PARAMETER) on @uri at half the session
 * timeout, so that the peer keeps the session. */
void cg_rtsp_client_keep_alive (CgRtspClient *client, const char *method, const char *uri);
/* The session's timeout in seconds, as the peer gave it (60 by default). */
guint cg_rtsp_client_session_timeout (CgRtspClient *client);
/* A failure for a response that is not a success: "the camera at … refused
 * the credentials…", "… has nothing at this path…", "… answered SETUP with
 * 461 Unsupported Transport". transfer full */
GError *cg_rtsp_client_status_error (CgRtspClient *client, const char *method,
                                     const CgRtspMessage *response);

/* transfer none: NULL before the connection is up */
CgRtspConn *cg_rtsp_client_get_conn (CgRtspClient *client);

/* Ends the session: with @teardown, a TEARDOWN goes out first (the
 * connection lingers in the background to send it). */
void cg_rtsp_client_free (CgRtspClient *client, gboolean teardown);

G_END_DECLS
