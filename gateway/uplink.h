/* The RTSPS uplink of one camera: ANNOUNCE/RECORD over verified TLS to the
 * ingest, fed from the camera's hub. Each session starts on a keyframe (the
 * hub replays its GOP cache). A slow uplink never stalls the camera: when the
 * session's queue passes its bound, frames are dropped up to the next keyframe
 * and counted. A failed session is rebuilt with backoff; a camera reconnect
 * does not cost a new session. */
#pragma once

#include "config.h"
#include "hub.h"

G_BEGIN_DECLS

typedef enum {
  CG_UPLINK_CONNECTING,
  CG_UPLINK_UP,
  CG_UPLINK_DOWN,
} CgUplinkState;

/* The ICE candidate pair a WHIP session sends through. */
typedef struct {
  char *local;              /* "host", "srflx", "prflx", "relay"; NULL: none selected yet */
  char *transport;          /* to the first hop: "udp", "tcp", or "tls" (TURN over TLS) */
  char *local_address;      /* "ADDRESS:PORT": for a relay, the address on the TURN server */
  char *remote_address;     /* "ADDRESS:PORT" of the ingest's candidate */
} CgUplinkPath;

void cg_uplink_path_clear (CgUplinkPath *path);
void cg_uplink_path_copy (const CgUplinkPath *from, CgUplinkPath *to);

typedef struct {
  CgUplinkState state;
  guint64 frames_out;       /* video frames handed to the session */
  guint64 frames_dropped;   /* video frames dropped because the uplink was slow */
  guint sessions;           /* sessions that reached RECORD */
  char *last_error;         /* NULL if none */
  CgUplinkPath path;        /* WHIP: the selected candidate pair while up */
} CgUplinkStats;

void cg_uplink_stats_clear (CgUplinkStats *stats);

typedef struct _CgUplink CgUplink;

/* @hub must outlive the uplink; @config is copied. NULL with @error if the URL or
 * the CA file cannot be used. */
CgUplink *cg_uplink_new (const char *camera_id, const CgUplinkConfig *config, CgHub *hub,
                         GError **error);
/* Starts a session for @format, replacing the current one if any. */
void cg_uplink_start (CgUplink *uplink, CgFormat *format);
/* The format of the current session; NULL before the first. transfer none */
CgFormat *cg_uplink_get_format (CgUplink *uplink);
/* Stops (TEARDOWN is sent in the background) and frees. */
void cg_uplink_free (CgUplink *uplink);
void cg_uplink_get_stats (CgUplink *uplink, CgUplinkStats *stats);
const char *cg_uplink_state_to_string (CgUplinkState state);

G_END_DECLS
