/* What every uplink kind (RTSPS, WHIP) keeps of its sessions' course: the
 * state shown in status, the last error, the sessions and frame counts, and
 * the retry after a failure, with backoff and jitter (backoff.h). The kind
 * supplies how a session starts; this decides when. */
#pragma once

#include "backoff.h"
#include "uplink.h"

G_BEGIN_DECLS

typedef void (*CgUplinkRetryFunc) (gpointer user_data);

typedef struct {
  const char *camera_id;        /* for the log; transfer none */
  CgUplinkRetryFunc retry;
  gpointer user_data;
  CgBackoff backoff;
  guint retry_id;
  CgUplinkState state;
  guint sessions;               /* sessions that came up */
  char *last_error;             /* NULL if none */
  guint64 frames_out;           /* kept by the kind */
  guint64 frames_dropped;
} CgUplinkRun;

void cg_uplink_run_init (CgUplinkRun *run, const char *camera_id, CgUplinkRetryFunc retry,
                         gpointer user_data);
void cg_uplink_run_clear (CgUplinkRun *run);
/* A session starts now: a retry that was due is dropped. */
void cg_uplink_run_connecting (CgUplinkRun *run);
/* The session came up. */
void cg_uplink_run_up (CgUplinkRun *run);
/* The session failed (the kind has stopped it): down, logged, retried after
 * the next backoff delay. */
void cg_uplink_run_failed (CgUplinkRun *run, const char *message);
/* The session failed, and the kind retries another way: down, logged (the
 * message says how it retries), retried at once from the main loop, with
 * no backoff. */
void cg_uplink_run_retry_now (CgUplinkRun *run, const char *message);
/* Down with no retry: nothing changes until the camera's format does. */
void cg_uplink_run_stuck (CgUplinkRun *run, const char *message);
void cg_uplink_run_get_stats (const CgUplinkRun *run, CgUplinkStats *stats);

G_END_DECLS
