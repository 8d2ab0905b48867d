/* Media-health watchdog: a source that is connected but delivers no frames is
 * as dead as one that refused the connection. Pure logic on an injected time. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CG_WATCHDOG_STALL_US   (5 * G_USEC_PER_SEC)   /* streaming, then silent */
#define CG_WATCHDOG_CONNECT_US (15 * G_USEC_PER_SEC)  /* started, never a frame */

typedef enum {
  CG_HEALTH_WAITING,          /* started, no frame yet, still within the deadline */
  CG_HEALTH_OK,               /* frames are arriving */
  CG_HEALTH_STALLED,          /* frames stopped for longer than stall_us */
  CG_HEALTH_CONNECT_TIMEOUT,  /* no first frame within connect_us */
} CgHealth;

typedef struct {
  gint64 started_us;
  gint64 last_frame_us;       /* 0: no frame since start */
  gint64 stall_us;
  gint64 connect_us;
} CgWatchdog;

void cg_watchdog_start (CgWatchdog *wd, gint64 now_us);
void cg_watchdog_frame (CgWatchdog *wd, gint64 now_us);
CgHealth cg_watchdog_check (const CgWatchdog *wd, gint64 now_us);
const char *cg_health_to_string (CgHealth health);

G_END_DECLS
