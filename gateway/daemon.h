/* The daemon behind `camgate run`: loads the config, runs one CgCamera per
 * configured camera, answers the control socket, reloads on SIGHUP (added
 * cameras start, removed ones stop, unchanged ones are not touched) and stops
 * cleanly on SIGTERM/SIGINT (every RTSP session is torn down). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Runs until a signal stops it. Returns the process exit code: 0 after a clean
 * stop, 1 if the config is invalid, 4 if the daemon could not start. */
int cg_daemon_run (const char *config_path);

G_END_DECLS
