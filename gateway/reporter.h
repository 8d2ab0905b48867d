/* The violation reporter: while a ruleset is in force, it listens on the
 * ruleset's NFLOG group and, a moment after a camera tried something (or
 * every CG_REPORTER_POLL_S at the latest), reads the kernel's violation sets
 * in a worker thread, updates the report (violations.h) and logs what is new.
 * A violation reaches status and the log within CG_REPORTER_DELAY_MS plus
 * one read. */
#pragma once

#include <json-glib/json-glib.h>

#include "ruleset.h"

G_BEGIN_DECLS

#define CG_REPORTER_DELAY_MS 500        /* after a logged packet, so a burst is read once */
#define CG_REPORTER_MIN_GAP_MS 1000     /* between two reads */
#define CG_REPORTER_POLL_S 10           /* counts grow without NFLOG (it is rate-limited) */

typedef struct _CgReporter CgReporter;

CgReporter *cg_reporter_new (void);
void cg_reporter_free (CgReporter *reporter);

/* Reports on the ruleset of @spec (the camera addresses name the sources);
 * @blocking says whether it drops (enforce) or only counts (monitor).
 * Called again after each apply; the report carries over. */
void cg_reporter_start (CgReporter *reporter, const CgRulesSpec *spec, gboolean blocking);
/* Stops listening and forgets the report. */
void cg_reporter_stop (CgReporter *reporter);

/* Adds the report as an array value to @b (empty when stopped). */
void cg_reporter_build_status (CgReporter *reporter, JsonBuilder *b);

G_END_DECLS
