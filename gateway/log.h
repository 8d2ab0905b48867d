/* Logging: to the journal when stderr is connected to it, otherwise one plain
 * line per message on stderr ("camgate-source: [cam1] reconnecting in 4.2 s"),
 * which procd and syslog take as it is. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* @verbose: also show debug messages (as G_MESSAGES_DEBUG=all would). */
void cg_log_init (gboolean verbose);

G_END_DECLS
