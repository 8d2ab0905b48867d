/* The course of an uplink's sessions (see uplinkrun.h). */
#define G_LOG_DOMAIN "camgate-uplink"

#include "uplinkrun.h"

#include <string.h>

void
cg_uplink_run_init (CgUplinkRun *run, const char *camera_id, CgUplinkRetryFunc retry,
                    gpointer user_data)
{
  memset (run, 0, sizeof *run);
  run->camera_id = camera_id;
  run->retry = retry;
  run->user_data = user_data;
  run->state = CG_UPLINK_CONNECTING;
  cg_backoff_init (&run->backoff, NULL, NULL);
}

void
cg_uplink_run_clear (CgUplinkRun *run)
{
  g_clear_handle_id (&run->retry_id, g_source_remove);
  g_clear_pointer (&run->last_error, g_free);
}

static void
set_error (CgUplinkRun *run, const char *message)
{
  g_free (run->last_error);
  run->last_error = g_strdup (message);
}

void
cg_uplink_run_connecting (CgUplinkRun *run)
{
  g_clear_handle_id (&run->retry_id, g_source_remove);
  run->state = CG_UPLINK_CONNECTING;
}

void
cg_uplink_run_up (CgUplinkRun *run)
{
  run->state = CG_UPLINK_UP;
  run->sessions++;
  g_clear_pointer (&run->last_error, g_free);
  cg_backoff_reset (&run->backoff);
}

static gboolean
on_retry (gpointer data)
{
  CgUplinkRun *run = data;

  run->retry_id = 0;
  run->retry (run->user_data);
  return G_SOURCE_REMOVE;
}

static void
retry_after (CgUplinkRun *run, const char *message, gint64 delay)
{
  set_error (run, message);
  run->state = CG_UPLINK_DOWN;
  g_clear_handle_id (&run->retry_id, g_source_remove);
  run->retry_id = g_timeout_add (delay / 1000, on_retry, run);
}

void
cg_uplink_run_failed (CgUplinkRun *run, const char *message)
{
  gint64 delay = cg_backoff_next (&run->backoff);

  g_warning ("[%s] uplink: %s: retrying in %.1f s", run->camera_id, message,
             delay / (double) G_USEC_PER_SEC);
  retry_after (run, message, delay);
}

void
cg_uplink_run_retry_now (CgUplinkRun *run, const char *message)
{
  g_warning ("[%s] uplink: %s", run->camera_id, message);
  retry_after (run, message, 0);
}

void
cg_uplink_run_stuck (CgUplinkRun *run, const char *message)
{
  set_error (run, message);
  run->state = CG_UPLINK_DOWN;
  g_warning ("[%s] uplink: %s", run->camera_id, message);
}

void
cg_uplink_run_get_stats (const CgUplinkRun *run, CgUplinkStats *stats)
{
  stats->state = run->state;
  stats->sessions = run->sessions;
  stats->last_error = g_strdup (run->last_error);
  stats->frames_out = run->frames_out;
  stats->frames_dropped = run->frames_dropped;
}
