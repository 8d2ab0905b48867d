/* Media-health watchdog, driven by an injected clock. */
#include "clock.h"
#include "watchdog.h"

static gint64 fake_now;

static gint64
fake_clock (gpointer data)
{
  return fake_now;
}

static const CgClock test_clock = { fake_clock, NULL };

static void
advance_s (double seconds)
{
  fake_now += (gint64) (seconds * G_USEC_PER_SEC);
}

static void
test_connect_timeout (void)
{
  CgWatchdog wd = { 0 };

  fake_now = 1000 * G_USEC_PER_SEC;
  cg_watchdog_start (&wd, cg_clock_now (&test_clock));
  advance_s (14.9);
  g_assert_cmpint (cg_watchdog_check (&wd, cg_clock_now (&test_clock)), ==, CG_HEALTH_WAITING);
  advance_s (0.2);
  g_assert_cmpint (cg_watchdog_check (&wd, cg_clock_now (&test_clock)), ==,
                   CG_HEALTH_CONNECT_TIMEOUT);
}

static void
test_stall (void)
{
  CgWatchdog wd = { 0 };

  fake_now = 5 * G_USEC_PER_SEC;
  cg_watchdog_start (&wd, cg_clock_now (&test_clock));
  advance_s (1);
  cg_watchdog_frame (&wd, cg_clock_now (&test_clock));
  g_assert_cmpint (cg_watchdog_check (&wd, cg_clock_now (&test_clock)), ==, CG_HEALTH_OK);
  /* frames keep coming for a minute: healthy, however long the session */
  for (int i = 0; i < 60 * 25; i++) {
    advance_s (0.04);
    cg_watchdog_frame (&wd, cg_clock_now (&test_clock));
  }
  advance_s (4.9);
  g_assert_cmpint (cg_watchdog_check (&wd, cg_clock_now (&test_clock)), ==, CG_HEALTH_OK);
  advance_s (0.2);
  g_assert_cmpint (cg_watchdog_check (&wd, cg_clock_now (&test_clock)), ==, CG_HEALTH_STALLED);
  g_assert_cmpstr (cg_health_to_string (CG_HEALTH_STALLED), ==, "no media");
}

static void
test_restart_forgets_frames (void)
{
  CgWatchdog wd = { 0 };

  fake_now = G_USEC_PER_SEC;
  cg_watchdog_start (&wd, fake_now);
  cg_watchdog_frame (&wd, fake_now);
  advance_s (10);
  cg_watchdog_start (&wd, fake_now);   /* a new connection attempt */
  g_assert_cmpint (cg_watchdog_check (&wd, fake_now), ==, CG_HEALTH_WAITING);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/watchdog/connect-timeout", test_connect_timeout);
  g_test_add_func ("/watchdog/stall", test_stall);
  g_test_add_func ("/watchdog/restart", test_restart_forgets_frames);
  return g_test_run ();
}
