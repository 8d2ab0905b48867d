/* Reconnect policy: exponential backoff with jitter, from 1 s up to 30 s.
 * Pure: the caller supplies the random source, so tests know every delay. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CG_BACKOFF_INITIAL_US (1 * G_USEC_PER_SEC)
#define CG_BACKOFF_MAX_US     (30 * G_USEC_PER_SEC)

/* A uniform random number in [0, 1). */
typedef double (*CgRandomFunc) (gpointer user_data);

typedef struct {
  gint64 initial_us;
  gint64 max_us;
  double jitter;        /* each delay is scaled by a factor in [1 - jitter, 1 + jitter) */
  guint attempt;        /* failures since the last success */
  CgRandomFunc random;
  gpointer random_data;
} CgBackoff;

/* @random NULL: g_random_double() */
void cg_backoff_init (CgBackoff *backoff, CgRandomFunc random, gpointer random_data);
/* The delay before the next attempt; counts one more failure. */
gint64 cg_backoff_next (CgBackoff *backoff);
/* A success: the next failure starts again from the initial delay. */
void cg_backoff_reset (CgBackoff *backoff);

G_END_DECLS
