/* Isolation in the daemon (see isolation.h). */
#define G_LOG_DOMAIN "camgate-rules"

#include "isolation.h"

#include "conntrack.h"
#include "nft.h"
#include "ruleset.h"
#include "watch.h"

/* Another tool altered the table: one restore for a burst of changes, soon
 * enough to stay within the 2 s DESIGN.md promises, and at most one a
 * second while a tool keeps fighting camgate for the table. */
#define RESTORE_DELAY_MS 200
#define RESTORE_MIN_INTERVAL_US G_USEC_PER_SEC

struct _CgIsolation {
  CgIsolationReadyFunc ready;
  gpointer ready_data;
  CgIsolationMode mode;
  CgRulesSpec *spec;            /* what to apply; NULL for isolation = off */
  gboolean applied;
  char *last_error;
  guint retry_id;
  CgWatch *watch;               /* while mode != off */
  guint restore_id;
  gint64 last_restore_us;       /* monotonic */
};

CgIsolation *
cg_isolation_new (CgIsolationReadyFunc ready, gpointer user_data)
{
  CgIsolation *iso = g_new0 (CgIsolation, 1);

  iso->ready = ready;
  iso->ready_data = user_data;
  iso->mode = CG_ISOLATION_OFF;
  return iso;
}

void
cg_isolation_free (CgIsolation *iso)
{
  if (!iso)
    return;
  g_clear_handle_id (&iso->retry_id, g_source_remove);
  g_clear_handle_id (&iso->restore_id, g_source_remove);
  g_clear_pointer (&iso->watch, cg_watch_free);
  g_clear_pointer (&iso->spec, cg_rules_spec_free);
  g_free (iso->last_error);
  g_free (iso);
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
  g_autoptr (GBytes) batch = cg_ruleset_build (iso->spec, (guint32) g_get_real_time (), &error);

  if (batch && cg_nft_apply (batch, &error)) {
    g_autofree char *ifaces = g_strjoinv (", ", iso->spec->interfaces);
    g_message ("isolation = %s: the ruleset is in force on %s (it stays when camgate stops)",
               cg_isolation_mode_to_string (iso->mode), ifaces);
    iso->applied = TRUE;
    g_clear_pointer (&iso->last_error, g_free);
    cut_connections (iso);
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
on_restore (gpointer data)
{
  CgIsolation *iso = data;

  iso->last_restore_us = g_get_monotonic_time ();
  if (try_apply (iso)) {
    iso->restore_id = 0;
    return G_SOURCE_REMOVE;
  }
  g_warning ("isolation = %s: the ruleset could not be restored: %s (retrying in %d s)",
             cg_isolation_mode_to_string (iso->mode), iso->last_error, CG_ISOLATION_RETRY_S);
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
    iso->applied = FALSE;
    g_warning ("isolation = off: the cameras are not sealed off");
    iso->ready (iso->ready_data);
    return;
  }
  iso->spec = cg_rules_spec_from_config (config);
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

void
cg_isolation_build_status (CgIsolation *iso, JsonBuilder *b)
{
  json_builder_set_member_name (b, "mode");
  json_builder_add_string_value (b, cg_isolation_mode_to_string (iso->mode));
  json_builder_set_member_name (b, "applied");
  json_builder_add_boolean_value (b, iso->applied);
  json_builder_set_member_name (b, "last_error");
  if (iso->last_error)
    json_builder_add_string_value (b, iso->last_error);
  else
    json_builder_add_null_value (b);
  /* Violation reports are not part of this build yet. */
  json_builder_set_member_name (b, "violations");
  json_builder_begin_array (b);
  json_builder_end_array (b);
}
