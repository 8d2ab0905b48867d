/* RTSP 1.0 on the wire (RFC 2326), as camgate speaks it toward cameras and
 * ingests: requests written, responses and interleaved data ("$", channel,
 * length) read back from one byte stream, Basic and Digest (RFC 7616, MD5 or
 * SHA-256, with or without qop=auth) credentials, and the Transport and
 * Session headers. Pure functions over buffers: the I/O is in rtspconn.h. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Beyond these a peer is talking nonsense: the message is refused. */
#define CG_RTSP_MAX_HEADER 16384
#define CG_RTSP_MAX_BODY 65536

typedef struct {
  char *name;
  char *value;
} CgRtspHeader;

/* A message from the peer: a response ("RTSP/1.0 200 OK") or a request the
 * peer sends us (a camera's OPTIONS or ANNOUNCE, an ingest's SET_PARAMETER). */
typedef struct {
  guint status;         /* 0 for a request */
  char *reason;         /* a response's reason phrase */
  char *method;         /* a request's method; NULL for a response */
  GArray *headers;      /* element-type CgRtspHeader */
  GBytes *body;         /* never NULL (possibly empty) */
} CgRtspMessage;

void cg_rtsp_message_free (CgRtspMessage *message);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgRtspMessage, cg_rtsp_message_free)
/* The first header called @name (case-insensitive), or NULL. transfer none */
const char *cg_rtsp_message_header (const CgRtspMessage *message, const char *name);
/* CSeq, or -1 when missing or not a number. */
gint64 cg_rtsp_message_cseq (const CgRtspMessage *message);

typedef enum {
  CG_RTSP_ITEM_NONE,    /* more bytes are needed */
  CG_RTSP_ITEM_DATA,    /* interleaved data: channel, data, size */
  CG_RTSP_ITEM_MESSAGE, /* message (transfer full) */
} CgRtspItemKind;

typedef struct {
  CgRtspItemKind kind;
  guint8 channel;
  const guint8 *data;   /* points into the parsed buffer */
  gsize size;
  CgRtspMessage *message;
} CgRtspItem;

/* Parses one item at the start of @buf. Returns the bytes it takes (0 with
 * kind NONE when @buf holds no whole item yet; blank lines between messages
 * are taken with kind NONE), or -1 with @error when the bytes are not RTSP
 * (@peer names the sender in the message). Lines may end with CRLF or LF. */
gssize cg_rtsp_parse (const guint8 *buf, gsize len, CgRtspItem *item, const char *peer,
                      GError **error);

/* Appends a request. @headers: NULL-terminated "Name: value" lines;
 * @body may be NULL. */
void cg_rtsp_write_request (GString *out, const char *method, const char *uri, guint cseq,
                            const char *const *headers, const char *content_type,
                            const char *body);
/* Appends a response to a peer's request (status and reason only). */
void cg_rtsp_write_response (GString *out, guint status, const char *reason, gint64 cseq);
/* Appends "$" channel length and @size bytes of @data. */
void cg_rtsp_write_interleaved (GByteArray *out, guint8 channel, const guint8 *data, gsize size);

/* ---- credentials ---------------------------------------------------------- */

typedef struct _CgRtspAuth CgRtspAuth;

CgRtspAuth *cg_rtsp_auth_new (const char *username, const char *password);
void cg_rtsp_auth_free (CgRtspAuth *auth);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgRtspAuth, cg_rtsp_auth_free)
/* Takes the challenge of a 401 (its WWW-Authenticate headers): Digest if
 * offered (SHA-256 before MD5), else Basic. FALSE with @error when no scheme
 * offered is one camgate speaks. */
gboolean cg_rtsp_auth_challenge (CgRtspAuth *auth, const CgRtspMessage *response,
                                 GError **error);
/* The Authorization header value for a request, or NULL before a challenge.
 * transfer full */
char *cg_rtsp_auth_header (CgRtspAuth *auth, const char *method, const char *uri);
/* The cnonce of the next Digest response is drawn from this; tests fix it. */
void cg_rtsp_auth_set_cnonce (CgRtspAuth *auth, const char *cnonce);

/* ---- headers -------------------------------------------------------------- */

typedef struct {
  gboolean tcp;                 /* RTP/AVP/TCP (else UDP) */
  gboolean interleaved_set;
  guint8 interleaved[2];        /* RTP and RTCP channels */
  guint16 server_port[2];       /* 0 when not given */
  guint32 ssrc;
  gboolean ssrc_set;
} CgRtspTransport;

/* The first transport of a Transport header. FALSE with @error if it is not
 * RTP/AVP (over TCP or UDP). */
gboolean cg_rtsp_transport_parse (const char *value, CgRtspTransport *transport,
                                  GError **error);
/* "abc123;timeout=30": the session id (transfer full) and the timeout in
 * seconds (60 when not given). NULL if the header is empty. */
char *cg_rtsp_session_parse (const char *value, guint *timeout_s);
/* A control attribute resolved against the base URL (Content-Base or the
 * request URL): absolute (any scheme), "*", an absolute path, or relative
 * (appended to the base). transfer full */
char *cg_rtsp_control_resolve (const char *base, const char *control);

G_END_DECLS
