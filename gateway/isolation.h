/* The daemon's side of the isolation: applies the ruleset (rules/) at start
 * and on reload, and restores it within 2 s when another tool deletes or
 * alters it (rules/watch.h). Under enforce, cameras may stream only while the
 * seal is in force: when it cannot be applied, camgate streams nothing, says
 * why, and tries again. The rules stay in the kernel when camgate exits. */
#pragma once

#include <json-glib/json-glib.h>

#include "config.h"

G_BEGIN_DECLS

#define CG_ISOLATION_RETRY_S 5

typedef struct _CgIsolation CgIsolation;

/* Called once the seal is in force (or at once when none is required). */
typedef void (*CgIsolationReadyFunc) (gpointer user_data);

/* @ready: see cg_isolation_apply(). @lost: under enforce, the seal that was
 * in force was altered by another tool and could not be restored: streaming
 * must stop until @ready is called again (after a restore that succeeds). */
CgIsolation *cg_isolation_new (CgIsolationReadyFunc ready, CgIsolationReadyFunc lost,
                               gpointer user_data);
void cg_isolation_free (CgIsolation *iso);

/* Applies the ruleset for @config (nothing for isolation = off). Calls the
 * ready function when streaming may go on: at once unless @config enforces
 * isolation and the ruleset could not be applied, then after a retry that
 * succeeds. */
void cg_isolation_apply (CgIsolation *iso, const CgConfig *config);
/* FALSE while enforce is configured and the seal is not in force. */
gboolean cg_isolation_may_stream (CgIsolation *iso);

/* `camgate rules allow`: opens a hole in the seal in force so that @peer
 * may reach camera @camera_id and the camera answer it, for @minutes; the
 * kernel closes it on time. Returns the hole as status shows it, or NULL
 * with @error saying what is wrong. transfer full */
JsonNode *cg_isolation_allow (CgIsolation *iso, const char *camera_id, const char *peer,
                              guint minutes, GError **error);

/* Adds "mode", "applied", "last_error", "holes" and "violations" to an open
 * object. */
void cg_isolation_build_status (CgIsolation *iso, JsonBuilder *b);

G_END_DECLS
