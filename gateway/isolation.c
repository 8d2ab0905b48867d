/* Isolation in the daemon (see isolation.h). */
#define G_LOG_DOMAIN "camgate-rules"

#include "isolation.h"

#include <sys/socket.h>
#include <linux/netfilter.h>

#include "apply.h"
#include "conntrack.h"
#include "error.h"
#include "json.h"
#include "nft.h"
#include "reporter.h"
#include "ruleset.h"
#include "sets.h"
#include "watch.h"

/* Another tool altered the table: one restore for a burst of changes, soon
 * enough to stay within the 2 s DESIGN.md promises, and at most one a
 * second while a tool keeps fighting camgate for the table. */
#define RESTORE_DELAY_MS 200
#define RESTORE_MIN_INTERVAL_US G_USEC_PER_SEC

/* An open hole (`camgate rules allow`): the kernel closes it on time; the
 * daemon keeps it across re-applies and says when it closed. */
typedef struct {
  CgIsolation *iso;
  CgRulesHole *hole;
  gint64 expires_us;            /* real time */
  guint close_id;
} Hole;

struct _CgIsolation {
  CgIsolationReadyFunc ready;
  CgIsolationReadyFunc lost;
  gpointer ready_data;
  CgIsolationMode mode;
  CgRulesSpec *spec;            /* what to apply (under off: names the cameras in the reports
                                 * of a table left from before); NULL for none */
  gboolean applied;
  char *last_error;
  guint retry_id;
  CgReporter *reporter;
  GPtrArray *holes;             /* element-type Hole */
  CgWatch *watch;               /* while mode != off */
  guint restore_id;
  gint64 last_restore_us;       /* monotonic */
};

static void
hole_free (gpointer data)
{
  Hole *h = data;

  g_clear_handle_id (&h->close_id, g_source_remove);
  cg_rules_hole_free (h->hole);
  g_free (h);
}

static char *
hole_peer (const Hole *h)
{
  return g_inet_address_to_string (h->hole->peer);
}

CgIsolation *
cg_isolation_new (CgIsolationReadyFunc ready, CgIsolationReadyFunc lost, gpointer user_data)
{
  CgIsolation *iso = g_new0 (CgIsolation, 1);

  iso->ready = ready;
  iso->lost = lost;
  iso->ready_data = user_data;
  iso->mode = CG_ISOLATION_OFF;
  iso->reporter = cg_reporter_new ();
  iso->holes = g_ptr_array_new_with_free_func (hole_free);
  return iso;
}

void
cg_isolation_free (CgIsolation *iso)
{
  if (!iso)
    return;
  g_clear_handle_id (&iso->retry_id, g_source_remove);
  cg_reporter_free (iso->reporter);
  g_ptr_array_unref (iso->holes);
  g_clear_handle_id (&iso->restore_id, g_source_remove);
  g_clear_pointer (&iso->watch, cg_watch_free);
  g_clear_pointer (&iso->spec, cg_rules_spec_free);
  g_free (iso->last_error);
  g_free (iso);
}

/* The open holes, with the time each has left, into the spec to apply. */
static void
put_holes (CgIsolation *iso)
{
  gint64 now = g_get_real_time ();

  g_ptr_array_set_size (iso->spec->holes, 0);
  for (guint i = 0; i < iso->holes->len; i++) {
    const Hole *h = g_ptr_array_index (iso->holes, i);
    CgRulesHole *copy;

    if (h->expires_us - now < 1000)
      continue;
    copy = g_new0 (CgRulesHole, 1);
    copy->camera_id = g_strdup (h->hole->camera_id);
    copy->camera = g_object_ref (h->hole->camera);
    copy->peer = g_object_ref (h->hole->peer);
    copy->timeout_ms = (guint64) (h->expires_us - now) / 1000;
    g_ptr_array_add (iso->spec->holes, copy);
  }
}

/* Under enforce, a camera's connections opened before the seal go. */
static void
cut_connections (CgIsolation *iso)
{
  g_autoptr (GError) error = NULL;
  guint n;

  if (iso->mode != CG_ISOLATION_ENFORCE)
    return;
  if (!cg_conntrack_cut (iso->spec, &n, &error))
    g_warning ("isolation = enforce: the cameras' connections opened before the seal may "
               "still be open (%u cut): %s", n, error->message);
  else if (n > 0)
    g_message ("isolation = enforce: cut %u connection(s) the cameras had open before the seal", n);
  else
    g_debug ("isolation = enforce: the cameras had no connection open to cut");
}

/* One attempt. TRUE when the ruleset is in force. */
static gboolean
try_apply (CgIsolation *iso)
{
  g_autoptr (GError) error = NULL;

  put_holes (iso);
  /* Each attempt looks at the bridges again: ports added since get the flag. */
  if (cg_rules_apply (iso->spec, &error)) {
    g_autofree char *ifaces = g_strjoinv (", ", iso->spec->interfaces);
    g_message ("isolation = %s: the ruleset is in force on %s (it stays when camgate stops)",
               cg_isolation_mode_to_string (iso->mode), ifaces);
    iso->applied = TRUE;
    g_clear_pointer (&iso->last_error, g_free);
    cut_connections (iso);
    cg_reporter_start (iso->reporter, iso->spec, iso->mode == CG_ISOLATION_ENFORCE);
    return TRUE;
  }
  /* A refused batch changed nothing: a seal applied before is still in force. */
  g_free (iso->last_error);
  iso->last_error = g_strdup (error->message);
  return FALSE;
}

static gboolean
on_retry (gpointer data)
{
  CgIsolation *iso = data;

  if (!try_apply (iso))
    return G_SOURCE_CONTINUE;
  iso->retry_id = 0;
  iso->ready (iso->ready_data);
  return G_SOURCE_REMOVE;
}

static gboolean
on_hole_time_up (gpointer data)
{
  Hole *h = data;
  g_autofree char *peer = hole_peer (h);

  h->close_id = 0;
  g_message ("[%s] the temporary hole for %s closed: its time is up", h->hole->camera_id, peer);
  g_ptr_array_remove (h->iso->holes, h);
  return G_SOURCE_REMOVE;
}

/* Keeps @hole (transfer full), open until @expires_us, instead of any
 * hole for the same camera and peer. */
static Hole *
track_hole (CgIsolation *iso, CgRulesHole *hole, gint64 expires_us)
{
  Hole *h = g_new0 (Hole, 1);
  gint64 left_ms = MAX ((expires_us - g_get_real_time ()) / 1000, 0);

  for (guint i = iso->holes->len; i-- > 0;) {
    const Hole *old = g_ptr_array_index (iso->holes, i);
    if (g_str_equal (old->hole->camera_id, hole->camera_id) &&
        g_inet_address_equal (old->hole->peer, hole->peer))
      g_ptr_array_remove_index (iso->holes, i);
  }
  h->iso = iso;
  h->hole = hole;
  h->expires_us = expires_us;
  h->close_id = g_timeout_add ((guint) MIN (left_ms, (gint64) G_MAXUINT), on_hole_time_up, h);
  g_ptr_array_add (iso->holes, h);
  return h;
}

static const CgRulesCamera *
camera_at (const CgRulesSpec *spec, GInetAddress *address)
{
  for (guint i = 0; i < spec->cameras->len; i++) {
    const CgRulesCamera *cam = g_ptr_array_index (spec->cameras, i);
    if (g_inet_address_equal (cam->address, address))
      return cam;
  }
  return NULL;
}

/* After a (re)load: holes go with their camera or its address; holes open
 * in the kernel that camgate does not know of yet (`camgate rules allow`
 * while it was not running) are kept, so a re-apply does not close them. */
static void
adopt_holes (CgIsolation *iso)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) open = NULL;
  gint64 now = g_get_real_time ();

  for (guint i = iso->holes->len; i-- > 0;) {
    const Hole *h = g_ptr_array_index (iso->holes, i);
    const CgRulesCamera *cam = camera_at (iso->spec, h->hole->camera);

    if (!cam || !g_str_equal (cam->camera_id, h->hole->camera_id)) {
      g_message ("[%s] the temporary hole closes: the camera or its address is no longer in "
                 "the configuration", h->hole->camera_id);
      g_ptr_array_remove_index (iso->holes, i);
    }
  }
  if (!(open = cg_nft_read_holes (&error))) {
    g_debug ("holes in the kernel not read: %s", error->message);
    return;
  }
  for (guint i = 0; i < open->len; i++) {
    const CgHoleRecord *r = &g_array_index (open, CgHoleRecord, i);
    GSocketFamily family = r->family == AF_INET ? G_SOCKET_FAMILY_IPV4 : G_SOCKET_FAMILY_IPV6;
    g_autoptr (GInetAddress) camera = g_inet_address_new_from_bytes (r->camera, family);
    const CgRulesCamera *cam = camera_at (iso->spec, camera);
    CgRulesHole *hole;
    g_autofree char *peer = NULL;

    if (!cam || r->expires_ms == 0)
      continue;
    hole = g_new0 (CgRulesHole, 1);
    hole->camera_id = g_strdup (cam->camera_id);
    hole->camera = g_object_ref (cam->address);
    hole->peer = g_inet_address_new_from_bytes (r->peer, family);
    peer = g_inet_address_to_string (hole->peer);
    g_message ("[%s] a temporary hole for %s is open (%" G_GUINT64_FORMAT " s left): kept",
               cam->camera_id, peer, r->expires_ms / 1000);
    track_hole (iso, hole, now + (gint64) r->expires_ms * 1000);
  }
}

/* isolation = off installs nothing and removes nothing: a table left by an
 * earlier run or by `camgate rules apply` stays in force until flushed, and
 * its violations are still reported. */
static void
apply_off (CgIsolation *iso, const CgConfig *config)
{
  g_autoptr (GError) error = NULL;
  gboolean exists = FALSE;

  if (!cg_nft_table_exists (NFPROTO_INET, &exists, &error))
    iso->last_error = g_strdup (error->message);
  iso->applied = exists;
  if (!exists) {
    cg_reporter_stop (iso->reporter);
    g_ptr_array_set_size (iso->holes, 0);
    g_warning ("isolation = off: the cameras are not sealed off");
    return;
  }
  g_warning ("isolation = off, but table inet %s from before is still in force and "
             "camgate leaves it: `camgate rules flush` removes it", CG_RULES_TABLE);
  iso->spec = cg_rules_spec_from_config (config);
  adopt_holes (iso);
  cg_reporter_start (iso->reporter, iso->spec, TRUE);
}

static gboolean
on_restore (gpointer data)
{
  CgIsolation *iso = data;

  gboolean was_applied = iso->applied;

  iso->last_restore_us = g_get_monotonic_time ();
  if (try_apply (iso)) {
    iso->restore_id = 0;
    if (!was_applied)
      iso->ready (iso->ready_data);
    return G_SOURCE_REMOVE;
  }
  g_warning ("isolation = %s: the ruleset could not be restored: %s (retrying in %d s)",
             cg_isolation_mode_to_string (iso->mode), iso->last_error, CG_ISOLATION_RETRY_S);
  /* Whatever is left of it, the seal is not what camgate applied. */
  if (was_applied) {
    iso->applied = FALSE;
    if (iso->mode == CG_ISOLATION_ENFORCE) {
      g_warning ("isolation = enforce and the cameras are not sealed off: camgate streams "
                 "nothing until the ruleset is back");
      iso->lost (iso->ready_data);
    }
  }
  iso->restore_id = g_timeout_add_seconds (CG_ISOLATION_RETRY_S, on_restore, iso);
  return G_SOURCE_REMOVE;
}

static void
on_altered (const char *what, gpointer data)
{
  CgIsolation *iso = data;
  gint64 since = g_get_monotonic_time () - iso->last_restore_us;
  guint delay_ms = RESTORE_DELAY_MS;

  if (iso->restore_id) {
    g_debug ("%s: a restore is already due", what);
    return;
  }
  g_warning ("%s: restoring", what);
  if (since < RESTORE_MIN_INTERVAL_US)
    delay_ms = MAX (delay_ms, (RESTORE_MIN_INTERVAL_US - since) / 1000);
  iso->restore_id = g_timeout_add (delay_ms, on_restore, iso);
}

/* Restores the table whenever another tool alters it, from now on. */
static void
watch_start (CgIsolation *iso)
{
  g_autoptr (GError) error = NULL;

  if (iso->watch)
    return;
  if (!(iso->watch = cg_watch_new (on_altered, iso, &error)))
    g_warning ("isolation = %s: %s; if another tool deletes or alters the table, camgate "
               "will not restore it", cg_isolation_mode_to_string (iso->mode), error->message);
}

void
cg_isolation_apply (CgIsolation *iso, const CgConfig *config)
{
  g_clear_handle_id (&iso->retry_id, g_source_remove);
  g_clear_handle_id (&iso->restore_id, g_source_remove);
  g_clear_pointer (&iso->spec, cg_rules_spec_free);
  iso->mode = config->isolation;
  g_clear_pointer (&iso->last_error, g_free);

  if (iso->mode == CG_ISOLATION_OFF) {
    g_clear_pointer (&iso->watch, cg_watch_free);
    apply_off (iso, config);
    iso->ready (iso->ready_data);
    return;
  }
  iso->spec = cg_rules_spec_from_config (config);
  adopt_holes (iso);
  if (!try_apply (iso))
    g_warning ("isolation = %s: the ruleset could not be applied: %s",
               cg_isolation_mode_to_string (iso->mode), iso->last_error);
  watch_start (iso);
  if (cg_isolation_may_stream (iso)) {
    iso->ready (iso->ready_data);
    return;
  }
  g_warning ("isolation = enforce and the cameras are not sealed off: camgate streams "
             "nothing until they are (retrying every %d s)", CG_ISOLATION_RETRY_S);
  iso->retry_id = g_timeout_add_seconds (CG_ISOLATION_RETRY_S, on_retry, iso);
}

gboolean
cg_isolation_may_stream (CgIsolation *iso)
{
  return iso->mode != CG_ISOLATION_ENFORCE || iso->applied;
}

static void
build_hole (const Hole *h, JsonBuilder *b)
{
  g_autofree char *camera = g_inet_address_to_string (h->hole->camera);
  g_autofree char *peer = hole_peer (h);

  json_builder_begin_object (b);
  cg_json_add_string_or_null (b, "camera", h->hole->camera_id);
  cg_json_add_string_or_null (b, "camera_address", camera);
  cg_json_add_string_or_null (b, "from", peer);
  cg_json_add_time (b, "expires", h->expires_us);
  cg_json_add_int (b, "expires_in_s", MAX (h->expires_us - g_get_real_time (), 0) / G_USEC_PER_SEC);
  json_builder_end_object (b);
}

JsonNode *
cg_isolation_allow (CgIsolation *iso, const char *camera_id, const char *peer, guint minutes,
                    GError **error)
{
  g_autoptr (CgRulesHole) hole = NULL;
  g_autoptr (GBytes) batch = NULL;
  g_autoptr (JsonBuilder) b = NULL;
  g_autoptr (GDateTime) until = NULL;
  g_autofree char *until_text = NULL;
  const Hole *h;

  if (!iso->spec || !iso->applied) {
    g_set_error (error, CG_ERROR, CG_ERROR_CONFIG, "no seal is in force (isolation = %s%s): "
                 "there is nothing to open a hole in", cg_isolation_mode_to_string (iso->mode),
                 iso->mode == CG_ISOLATION_OFF ? "" : ", not applied yet");
    return NULL;
  }
  if (!(hole = cg_rules_hole_new (iso->spec, camera_id, peer, minutes, error)))
    return NULL;
  batch = cg_ruleset_build_hole (hole, (guint32) g_get_real_time ());
  if (!cg_nft_apply (batch, error))
    return NULL;
  h = track_hole (iso, g_steal_pointer (&hole),
                  g_get_real_time () + (gint64) minutes * 60 * G_USEC_PER_SEC);
  until = g_date_time_new_from_unix_utc (h->expires_us / G_USEC_PER_SEC);
  until_text = g_date_time_format (until, "%H:%M:%S UTC");
  g_message ("[%s] temporary hole (camgate rules allow): %s may reach the camera, and the "
             "camera answer it, for %u min, until %s", camera_id, peer, minutes, until_text);
  b = json_builder_new ();
  build_hole (h, b);
  return json_builder_get_root (b);
}

void
cg_isolation_build_status (CgIsolation *iso, JsonBuilder *b)
{
  cg_json_add_string_or_null (b, "mode", cg_isolation_mode_to_string (iso->mode));
  json_builder_set_member_name (b, "applied");
  json_builder_add_boolean_value (b, iso->applied);
  cg_json_add_string_or_null (b, "last_error", iso->last_error);
  json_builder_set_member_name (b, "holes");
  json_builder_begin_array (b);
  for (guint i = 0; i < iso->holes->len; i++)
    build_hole (g_ptr_array_index (iso->holes, i), b);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "violations");
  cg_reporter_build_status (iso->reporter, b);
}
