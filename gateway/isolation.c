/* Isolation in the daemon (see isolation.h). */
#define G_LOG_DOMAIN "camgate-rules"

#include "isolation.h"

#include "apply.h"
#include "ruleset.h"

struct _CgIsolation {
  CgIsolationReadyFunc ready;
  gpointer ready_data;
  CgIsolationMode mode;
  CgRulesSpec *spec;            /* what to apply; NULL for isolation = off */
  gboolean applied;
  char *last_error;
  guint retry_id;
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
  g_clear_pointer (&iso->spec, cg_rules_spec_free);
  g_free (iso->last_error);
  g_free (iso);
}

/* One attempt. TRUE when the ruleset is in force. */
static gboolean
try_apply (CgIsolation *iso)
{
  g_autoptr (GError) error = NULL;

  /* Each attempt looks at the bridges again: ports added since get the flag. */
  if (cg_rules_apply (iso->spec, &error)) {
    g_autofree char *ifaces = g_strjoinv (", ", iso->spec->interfaces);
    g_message ("isolation = %s: the ruleset is in force on %s (it stays when camgate stops)",
               cg_isolation_mode_to_string (iso->mode), ifaces);
    iso->applied = TRUE;
    g_clear_pointer (&iso->last_error, g_free);
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

void
cg_isolation_apply (CgIsolation *iso, const CgConfig *config)
{
  g_clear_handle_id (&iso->retry_id, g_source_remove);
  g_clear_pointer (&iso->spec, cg_rules_spec_free);
  iso->mode = config->isolation;
  g_clear_pointer (&iso->last_error, g_free);

  if (iso->mode == CG_ISOLATION_OFF) {
    iso->applied = FALSE;
    g_warning ("isolation = off: the cameras are not sealed off");
    iso->ready (iso->ready_data);
    return;
  }
  iso->spec = cg_rules_spec_from_config (config);
  if (!try_apply (iso))
    g_warning ("isolation = %s: the ruleset could not be applied: %s",
               cg_isolation_mode_to_string (iso->mode), iso->last_error);
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
