/* An injectable monotonic clock: policy code (backoff, media-health watchdog)
 * takes one of these so unit tests drive time without sleeping. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Monotonic time in microseconds. */
typedef gint64 (*CgClockFunc) (gpointer user_data);

typedef struct {
  CgClockFunc now;
  gpointer user_data;
} CgClock;

/* The real clock: g_get_monotonic_time(). */
extern const CgClock cg_clock_monotonic;

static inline gint64
cg_clock_now (const CgClock *clock)
{
  return clock->now (clock->user_data);
}

G_END_DECLS
