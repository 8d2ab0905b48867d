/* The HTTP side of WHIP (RFC 9725), with libsoup 3 on the main loop: POST
 * the SDP offer with the bearer token, take the 201's SDP answer, Location,
 * ETag and Link ice-servers, PATCH later candidates to the session (trickle
 * ICE, RFC 8840), DELETE the session when done. Every failure (an HTTP
 * status, a timeout, a certificate that does not verify, a 201 that is not
 * a usable answer) becomes a message that names the endpoint and says what
 * to do. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _CgWhipClient CgWhipClient;

typedef struct {
  char *sdp;                    /* the SDP answer */
  char *location;               /* the session URL, absolute */
  char *etag;                   /* the session's ETag, for If-Match; or NULL */
  GPtrArray *ice_servers;       /* element-type CgIceServer: the 201's Link ice-servers */
  char *skipped;                /* Link ice-servers that could not be used, in words; or NULL */
} CgWhipAnswer;

void cg_whip_answer_free (CgWhipAnswer *answer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgWhipAnswer, cg_whip_answer_free)

/* @answer: transfer full, NULL on failure, when @error says why (CG_ERROR). */
typedef void (*CgWhipAnswerFunc) (CgWhipAnswer *answer, const GError *error, gpointer user_data);

/* @endpoint: the https:// URL; @token: NULL for no Authorization;
 * @database: NULL for the system store; @ca_file names it in messages. Every
 * request fails after @timeout_s without an answer. */
CgWhipClient *cg_whip_client_new (const char *endpoint, const char *token,
                                  GTlsDatabase *database, const char *ca_file, guint timeout_s);
/* Sends @offer; @func is called once, unless cg_whip_client_cancel() or
 * another POST or PATCH comes first. */
void cg_whip_client_post (CgWhipClient *client, const char *offer, CgWhipAnswerFunc func,
                          gpointer user_data);

typedef enum {
  CG_WHIP_TRICKLE_TAKEN,        /* 200 or 204 */
  CG_WHIP_TRICKLE_UNSUPPORTED,  /* 405, 501 (no trickle), 400, 415, 422, 428 without If-Match */
  CG_WHIP_TRICKLE_FAILED,       /* any other answer, or none */
} CgWhipTrickle;

/* @etag: the ETag of a 200 answer, or NULL (transfer none); @error says
 * why unless TAKEN (CG_ERROR). */
typedef void (*CgWhipPatchFunc) (CgWhipTrickle result, const char *etag, const GError *error,
                                 gpointer user_data);

/* Sends the trickle-ice-sdpfrag @sdpfrag to the session at @location, with
 * "If-Match: @etag" (none when @etag is NULL); @func is called once, unless
 * cg_whip_client_cancel() or another POST or PATCH comes first. */
void cg_whip_client_patch (CgWhipClient *client, const char *location, const char *etag,
                           const char *sdpfrag, CgWhipPatchFunc func, gpointer user_data);
/* Cancels the POST or PATCH under way: its function is not called. */
void cg_whip_client_cancel (CgWhipClient *client);
/* Ends the session at @location in the background; a failure is logged. */
void cg_whip_client_delete (CgWhipClient *client, const char *location);
/* Cancels a POST or PATCH; DELETEs already sent carry on (cg_whip_deletes_pending). */
void cg_whip_client_free (CgWhipClient *client);

/* The message for an HTTP @status from the endpoint @peer ("the WHIP
 * endpoint at HOST:PORT"): what it means and what to do. transfer full */
char *cg_whip_status_message (const char *peer, guint status, const char *reason);

/* DELETEs not answered yet (the daemon waits for them at exit). */
guint cg_whip_deletes_pending (void);

G_END_DECLS
