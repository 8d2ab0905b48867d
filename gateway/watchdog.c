/* Media-health watchdog (see watchdog.h). */
#include "watchdog.h"

void
cg_watchdog_start (CgWatchdog *wd, gint64 now_us)
{
  wd->started_us = now_us;
  wd->last_frame_us = 0;
  if (wd->stall_us <= 0)
    wd->stall_us = CG_WATCHDOG_STALL_US;
  if (wd->connect_us <= 0)
    wd->connect_us = CG_WATCHDOG_CONNECT_US;
}

void
cg_watchdog_frame (CgWatchdog *wd, gint64 now_us)
{
  wd->last_frame_us = now_us;
}

CgHealth
cg_watchdog_check (const CgWatchdog *wd, gint64 now_us)
{
  if (wd->last_frame_us == 0)
    return now_us - wd->started_us > wd->connect_us ? CG_HEALTH_CONNECT_TIMEOUT
                                                    : CG_HEALTH_WAITING;
  return now_us - wd->last_frame_us > wd->stall_us ? CG_HEALTH_STALLED : CG_HEALTH_OK;
}

const char *
cg_health_to_string (CgHealth health)
{
  switch (health) {
  case CG_HEALTH_WAITING: return "waiting";
  case CG_HEALTH_OK: return "ok";
  case CG_HEALTH_STALLED: return "no media";
  case CG_HEALTH_CONNECT_TIMEOUT: return "no media after connecting";
  }
  return "unknown";
}
