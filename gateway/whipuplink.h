/* The WHIP (WebRTC) uplink of one camera, beside the RTSPS one (uplink.h),
 * with the same life cycle and statistics: a webrtcbin per session, fed
 * the camera's own RTP packets from its hub (video never re-encoded; AAC
 * audio transcoded to Opus or dropped), offered to the ingest's WHIP
 * endpoint at once with later ICE candidates trickled (PATCH), or with
 * every candidate when the endpoint does not trickle. Each session starts on a
 * keyframe (the hub replays its GOP cache); a slow uplink drops frames up
 * to the next keyframe; a failed or lost session is ended (DELETE) and
 * replaced by a fresh one with backoff; a camera reconnect does not cost a
 * new session. */
#pragma once

#include "config.h"
#include "hub.h"
#include "uplink.h"

G_BEGIN_DECLS

typedef struct _CgWhipUplink CgWhipUplink;

/* @hub must outlive the uplink; @config is copied. NULL with @error if the
 * URL, the ICE servers or the CA file cannot be used. */
CgWhipUplink *cg_whip_uplink_new (const char *camera_id, const CgUplinkConfig *config,
                                  CgHub *hub, GError **error);
/* Starts a session for @format, replacing the current one if any. */
void cg_whip_uplink_start (CgWhipUplink *uplink, CgFormat *format);
/* The format of the current session; NULL before the first. transfer none */
CgFormat *cg_whip_uplink_get_format (CgWhipUplink *uplink);
/* Stops (the session is DELETEd in the background) and frees. */
void cg_whip_uplink_free (CgWhipUplink *uplink);
void cg_whip_uplink_get_stats (CgWhipUplink *uplink, CgUplinkStats *stats);

G_END_DECLS
