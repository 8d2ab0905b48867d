/* Exponential backoff with jitter for reconnecting to cameras and ingests:
 * 1 s, 2 s, 4 s ... capped at 30 s, each delay scaled by a random factor so
 * that many cameras failing together do not retry in lockstep. */
#include "backoff.h"

#define DEFAULT_JITTER 0.2

static double
default_random (gpointer user_data)
{
  return g_random_double ();
}

void
cg_backoff_init (CgBackoff *backoff, CgRandomFunc random, gpointer random_data)
{
  backoff->initial_us = CG_BACKOFF_INITIAL_US;
  backoff->max_us = CG_BACKOFF_MAX_US;
  backoff->jitter = DEFAULT_JITTER;
  backoff->attempt = 0;
  backoff->random = random ? random : default_random;
  backoff->random_data = random_data;
}

gint64
cg_backoff_next (CgBackoff *backoff)
{
  gint64 base = backoff->initial_us;
  double factor, delay;

  for (guint i = 0; i < backoff->attempt && base < backoff->max_us; i++)
    base *= 2;
  base = MIN (base, backoff->max_us);
  if (backoff->attempt < G_MAXUINT)
    backoff->attempt++;

  factor = 1.0 - backoff->jitter + 2.0 * backoff->jitter * backoff->random (backoff->random_data);
  delay = (double) base * factor;
  /* Jitter spreads retries out but never goes past the bounds. */
  return CLAMP ((gint64) delay, backoff->initial_us, backoff->max_us);
}

void
cg_backoff_reset (CgBackoff *backoff)
{
  backoff->attempt = 0;
}
