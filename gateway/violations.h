/* Violation reports: what the cameras tried, summarised for status and the
 * log. Pure policy, no I/O: the daemon feeds it the kernel's violation set
 * elements (rules/sets.h), whose counts are exact, and the packets NFLOG
 * showed (for the MAC of a source that is no configured camera).
 *
 * Memory is bounded whatever a camera does: attempts are aggregated per
 * source (a camera, or an unknown address), protocol and port, keeping the
 * number of distinct destinations and the top few; a source's ports beyond
 * the busiest few fold into one "port-scan" entry, and unknown sources beyond
 * a cap into one entry without an address. A 10,000-destination scan is one
 * entry.
 *
 * Patterns named in status and the log:
 *   telnet-scan  TCP 23 or 2323, what Mirai and its descendants scan for
 *   public-dns   DNS straight to a resolver on the Internet, not the gateway
 *   host-scan    many new destinations a second on one port
 *   port-scan    more ports than the report keeps one entry each for */
#pragma once

#include <json-glib/json-glib.h>

#include "nflog.h"
#include "sets.h"

G_BEGIN_DECLS

#define CG_VIOLATIONS_TOP 3             /* destinations listed per entry */
#define CG_VIOLATIONS_PORTS_PER_SOURCE 16
#define CG_VIOLATIONS_MAX_UNKNOWN 32    /* unknown sources listed by address */
#define CG_VIOLATIONS_SCAN_RATE 10      /* new destinations a second */
#define CG_VIOLATIONS_RELOG_S 60        /* an entry that grows is logged again after this */
#define CG_VIOLATIONS_LOG_LINES 20      /* per update; the rest in one summary line */

typedef struct _CgViolations CgViolations;

CgViolations *cg_violations_new (void);
void cg_violations_free (CgViolations *v);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgViolations, cg_violations_free)

/* Which address is which camera. @addresses: address string -> camera id
 * (transfer none; copied). */
void cg_violations_set_cameras (CgViolations *v, GHashTable *addresses);
/* Whether the ruleset drops (enforce) or only counts (monitor): the log says
 * "blocked" or "seen". */
void cg_violations_set_blocking (CgViolations *v, gboolean blocking);

/* Remembers which MAC a logged packet came from, for sources that are no
 * configured camera. Bounded. */
void cg_violations_note_packet (CgViolations *v, const CgNflogPacket *packet);

/* Replaces the report with the kernel's view (@records, read at @now_us, real
 * time in microseconds). Entries whose elements all expired go. Appends to
 * @log (element-type utf8, transfer full) one line per entry that is new,
 * found a pattern, or grew since it was last logged CG_VIOLATIONS_RELOG_S ago. */
void cg_violations_update (CgViolations *v, const CgViolationRecord *records, guint n_records,
                           gint64 now_us, GPtrArray *log);

/* The number of entries in the report. */
guint cg_violations_count (CgViolations *v);

/* Adds the report as an array value (newest first) to @b. */
void cg_violations_build_status (CgViolations *v, JsonBuilder *b);

G_END_DECLS
