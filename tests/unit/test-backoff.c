/* Reconnect backoff: 1 s doubling up to 30 s, jitter within ±20 %, reset on success. */
#include "backoff.h"

/* A random source that returns the values it was given, in turn. */
typedef struct {
  const double *values;
  gsize n, next;
} FixedRandom;

static double
fixed_random (gpointer data)
{
  FixedRandom *r = data;
  return r->values[r->next++ % r->n];
}

static void
test_schedule_without_jitter (void)
{
  const double half[] = { 0.5 };   /* factor 1.0: no jitter */
  FixedRandom r = { half, 1, 0 };
  const gint64 expected_s[] = { 1, 2, 4, 8, 16, 30, 30, 30 };
  CgBackoff b;

  cg_backoff_init (&b, fixed_random, &r);
  for (gsize i = 0; i < G_N_ELEMENTS (expected_s); i++)
    g_assert_cmpint (cg_backoff_next (&b), ==, expected_s[i] * G_USEC_PER_SEC);
}

static void
test_jitter_bounds (void)
{
  const double extremes[] = { 0.0, 0.999999 };
  FixedRandom r = { extremes, 2, 0 };
  CgBackoff b;
  gint64 d;

  cg_backoff_init (&b, fixed_random, &r);
  d = cg_backoff_next (&b);          /* 1 s × 0.8, clamped to the 1 s floor */
  g_assert_cmpint (d, ==, G_USEC_PER_SEC);
  d = cg_backoff_next (&b);          /* 2 s × ~1.2 */
  g_assert_cmpint (d, >, 2.39 * G_USEC_PER_SEC);
  g_assert_cmpint (d, <=, 2.4 * G_USEC_PER_SEC);
  d = cg_backoff_next (&b);          /* 4 s × 0.8 */
  g_assert_cmpint (d, ==, 3.2 * G_USEC_PER_SEC);
  for (int i = 0; i < 10; i++)
    g_assert_cmpint (cg_backoff_next (&b), <=, 30 * G_USEC_PER_SEC);
}

static void
test_reset (void)
{
  const double half[] = { 0.5 };
  FixedRandom r = { half, 1, 0 };
  CgBackoff b;

  cg_backoff_init (&b, fixed_random, &r);
  for (int i = 0; i < 4; i++)
    cg_backoff_next (&b);
  cg_backoff_reset (&b);
  g_assert_cmpint (cg_backoff_next (&b), ==, G_USEC_PER_SEC);
}

static void
test_real_random_spreads (void)
{
  CgBackoff b;
  gint64 first = -1;
  gboolean differ = FALSE;

  /* Many cameras failing at once must not retry in lockstep. */
  for (int i = 0; i < 20; i++) {
    cg_backoff_init (&b, NULL, NULL);
    cg_backoff_next (&b);
    gint64 d = cg_backoff_next (&b);
    g_assert_cmpint (d, >=, 1.6 * G_USEC_PER_SEC);
    g_assert_cmpint (d, <=, 2.4 * G_USEC_PER_SEC);
    differ |= first >= 0 && d != first;
    first = d;
  }
  g_assert_true (differ);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/backoff/schedule", test_schedule_without_jitter);
  g_test_add_func ("/backoff/jitter-bounds", test_jitter_bounds);
  g_test_add_func ("/backoff/reset", test_reset);
  g_test_add_func ("/backoff/random-spreads", test_real_random_spreads);
  return g_test_run ();
}
