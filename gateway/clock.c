/* The real monotonic clock behind CgClock. */
#include "clock.h"

static gint64
monotonic_now (gpointer user_data)
{
  return g_get_monotonic_time ();
}

const CgClock cg_clock_monotonic = { monotonic_now, NULL };
