/* The hub of one camera: the source pushes every access unit in, the hub keeps
 * the last GOP and hands each frame to every attached sink (uplink, later spool
 * and snapshots). A new sink receives the cached GOP first, so it starts on a
 * keyframe at once. Frames are forwarded as they came: never decoded. */
#pragma once

#include "media.h"

G_BEGIN_DECLS

/* How long the hub waits for an announced stream that sends nothing before it
 * publishes the format without it. */
#define CG_HUB_FORMAT_WAIT_US (3 * G_USEC_PER_SEC)

/* Called with the hub's lock held, from the source's read (the main loop):
 * must not block and must not call back into the hub. */
typedef void (*CgHubPushFunc) (CgFrame *frame, gpointer user_data);
/* Called in the hub's GMainContext when the camera's format becomes known or
 * changes. transfer none */
typedef void (*CgHubFormatFunc) (CgFormat *format, gpointer user_data);

typedef struct _CgHub CgHub;

/* @cache_max_bytes bounds the GOP cache; 0: no cache (a new sink waits for the
 * camera's next keyframe). */
CgHub *cg_hub_new (const char *camera_id, gsize cache_max_bytes,
                   CgHubFormatFunc format_func, gpointer user_data);
/* A new bound, from the next frame on (a cache already over it is emptied). */
void cg_hub_set_cache_limit (CgHub *hub, gsize cache_max_bytes);
void cg_hub_free (CgHub *hub);

/* The source starts a session: the streams it set up (NULL: none of that
 * kind). The format is published once each has sent a frame, or without
 * the silent ones after CG_HUB_FORMAT_WAIT_US. */
void cg_hub_begin_epoch (CgHub *hub, guint epoch, CgStreamDesc *const streams[CG_STREAM_N]);
/* transfer none: the hub takes its own reference */
void cg_hub_push (CgHub *hub, CgFrame *frame);

/* Replays the cached GOP into @func, then attaches it. Returns a handle. */
guint cg_hub_add_sink (CgHub *hub, CgHubPushFunc func, gpointer user_data);
/* After this returns, @func is never called again for that handle. */
void cg_hub_remove_sink (CgHub *hub, guint handle);

/* Asks the camera for a keyframe: @full for a Full Intra Request, else a
 * Picture Loss Indication. Called on the main loop; must not block. */
typedef void (*CgHubKeyframeFunc) (gboolean full, gpointer user_data);
/* Who passes keyframe requests on (the source); set once, before any sink. */
void cg_hub_set_keyframe_func (CgHub *hub, CgHubKeyframeFunc func, gpointer user_data);
/* A sink's receiver lost the picture (an uplink's ingest sent PLI or FIR),
 * or a sink dropped frames up to the next keyframe: the request goes to the
 * camera, which may honour it or not. Takes no hub lock: a CgHubPushFunc may
 * call it. */
void cg_hub_request_keyframe (CgHub *hub, gboolean full);
/* transfer full; NULL until the format is known */
CgFormat *cg_hub_get_format (CgHub *hub);
typedef struct {
  guint frames;         /* in the cache now: a keyframe and what followed */
  gsize bytes;
  gsize limit_bytes;    /* the bound; 0: no cache */
  guint64 overflows;    /* GOPs that outgrew the bound (sinks waited for a keyframe) */
} CgHubCacheStats;

void cg_hub_get_cache_stats (CgHub *hub, CgHubCacheStats *stats);

G_END_DECLS
