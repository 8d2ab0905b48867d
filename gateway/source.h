/* The source of one camera: camgate's own RTSP client, which pulls the
 * camera's first video and first audio stream (RTP over the RTSP connection,
 * or over UDP) and pushes the camera's RTP packets, grouped into frames,
 * into the camera's hub: never depayloaded, never decoded. It reconnects with
 * backoff and jitter, including when the camera is offline at start, and
 * treats a connection that delivers no media as a failure (watchdog.h). */
#pragma once

#include "clock.h"
#include "config.h"
#include "hub.h"

G_BEGIN_DECLS

typedef enum {
  CG_SOURCE_CONNECTING,
  CG_SOURCE_STREAMING,
  CG_SOURCE_OFFLINE,
} CgSourceState;

typedef struct {
  CgSourceState state;
  char *codec;          /* video codec, or audio's for a camera without video; NULL if unknown */
  char *audio_codec;    /* NULL if none */
  int width, height;
  double fps;           /* over the last few seconds */
  guint kbps;           /* all streams, over the last few seconds */
  guint64 frames_in;    /* video access units since camgate started */
  guint64 bytes_in;
  guint reconnects;
  guint64 keyframe_requests;    /* RTCP PLI or FIR sent to the camera */
  char *last_error;     /* NULL if none */
} CgSourceStats;

void cg_source_stats_clear (CgSourceStats *stats);

typedef struct _CgSource CgSource;

/* @config and @hub must outlive the source. */
CgSource *cg_source_new (const CgCameraConfig *config, CgHub *hub, const CgClock *clock);
void cg_source_start (CgSource *source);
/* Stops and frees; the RTSP session is torn down in the background. */
void cg_source_free (CgSource *source);
void cg_source_get_stats (CgSource *source, CgSourceStats *stats);
/* Sends the camera an RTCP keyframe request for its video (@full: FIR,
 * else PLI), at most one per CG_SOURCE_KEYFRAME_REQUEST_INTERVAL_US; a
 * camera that ignores it sends its next keyframe when its GOP ends. */
#define CG_SOURCE_KEYFRAME_REQUEST_INTERVAL_US G_USEC_PER_SEC
void cg_source_request_keyframe (CgSource *source, gboolean full);
const char *cg_source_state_to_string (CgSourceState state);

G_END_DECLS
