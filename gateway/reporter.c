/* The violation reporter (see reporter.h). NFLOG wakes it; the exact
 * counts come from the kernel's sets, read off the main loop. */
#define G_LOG_DOMAIN "camgate-rules"

#include "reporter.h"

#include "nflog.h"
#include "sets.h"
#include "violations.h"

struct _CgReporter {
  CgViolations *violations;   /* NULL while stopped */
  CgNflog *nflog;
  guint16 nflog_group;
  char *nflog_error;          /* why NFLOG could not be bound, logged once */
  guint poll_id;
  guint read_id;              /* a read is scheduled */
  GCancellable *reading;      /* a read is running */
  gboolean read_again;        /* something happened during that read */
  gint64 last_read_us;        /* monotonic */
  char *read_error;           /* the last read's failure, logged once */
};

static void schedule_read (CgReporter *r, guint delay_ms);

CgReporter *
cg_reporter_new (void)
{
  return g_new0 (CgReporter, 1);
}

void
cg_reporter_free (CgReporter *r)
{
  if (!r)
    return;
  cg_reporter_stop (r);
  g_free (r->nflog_error);
  g_free (r->read_error);
  g_free (r);
}

static void
read_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  GArray *records = cg_nft_read_violations (&error);

  (void) source;
  (void) data;
  (void) cancellable;
  if (records)
    g_task_return_pointer (task, records, (GDestroyNotify) g_array_unref);
  else
    g_task_return_error (task, error);
}

static void
on_read (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = G_TASK (result);
  g_autoptr (GArray) records = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) lines = NULL;
  CgReporter *r = data;

  (void) source;
  /* Stopped (or freed) meanwhile: @r may be gone. */
  if (g_cancellable_is_cancelled (g_task_get_cancellable (task)))
    return;
  g_clear_object (&r->reading);
  if (!(records = g_task_propagate_pointer (task, &error))) {
    if (g_strcmp0 (r->read_error, error->message) != 0)
      g_warning ("violation reports: %s", error->message);
    g_free (r->read_error);
    r->read_error = g_strdup (error->message);
    return;
  }
  g_clear_pointer (&r->read_error, g_free);
  lines = g_ptr_array_new_with_free_func (g_free);
  cg_violations_update (r->violations, (const CgViolationRecord *) (void *) records->data,
                        records->len, g_get_real_time (), lines);
  for (guint i = 0; i < lines->len; i++)
    g_warning ("%s", (const char *) g_ptr_array_index (lines, i));
  if (r->read_again) {
    r->read_again = FALSE;
    schedule_read (r, CG_REPORTER_DELAY_MS);
  }
}

static gboolean
on_read_due (gpointer data)
{
  CgReporter *r = data;
  g_autoptr (GTask) task = NULL;

  r->read_id = 0;
  r->reading = g_cancellable_new ();
  r->last_read_us = g_get_monotonic_time ();
  task = g_task_new (NULL, r->reading, on_read, r);
  g_task_run_in_thread (task, read_in_thread);
  return G_SOURCE_REMOVE;
}

/* A read in @delay_ms, or once the running one is done; never two within
 * CG_REPORTER_MIN_GAP_MS. */
static void
schedule_read (CgReporter *r, guint delay_ms)
{
  gint64 gap_ms;

  if (r->reading) {
    r->read_again = TRUE;
    return;
  }
  if (r->read_id)
    return;
  gap_ms = CG_REPORTER_MIN_GAP_MS - (g_get_monotonic_time () - r->last_read_us) / 1000;
  r->read_id = g_timeout_add (MAX ((gint64) delay_ms, gap_ms), on_read_due, r);
}

static void
on_packet (const CgNflogPacket *packet, gpointer data)
{
  CgReporter *r = data;

  if (packet)
    cg_violations_note_packet (r->violations, packet);
  schedule_read (r, CG_REPORTER_DELAY_MS);
}

static gboolean
on_poll (gpointer data)
{
  schedule_read (data, 0);
  return G_SOURCE_CONTINUE;
}

void
cg_reporter_start (CgReporter *r, const CgRulesSpec *spec, gboolean blocking)
{
  g_autoptr (GHashTable) cameras = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GError) error = NULL;

  if (!r->violations)
    r->violations = cg_violations_new ();
  for (guint i = 0; i < spec->cameras->len; i++) {
    const CgRulesCamera *cam = g_ptr_array_index (spec->cameras, i);
    g_hash_table_insert (cameras, g_inet_address_to_string (cam->address), cam->camera_id);
  }
  cg_violations_set_cameras (r->violations, cameras);
  cg_violations_set_blocking (r->violations, blocking);
  if (r->nflog && r->nflog_group != spec->nflog_group)
    g_clear_pointer (&r->nflog, cg_nflog_free);
  if (!r->nflog) {
    r->nflog_group = spec->nflog_group;
    if (!(r->nflog = cg_nflog_new (spec->nflog_group, on_packet, r, &error)) &&
        g_strcmp0 (r->nflog_error, error->message) != 0) {
      g_warning ("violation reports every %d s only: %s", CG_REPORTER_POLL_S, error->message);
      g_free (r->nflog_error);
      r->nflog_error = g_strdup (error->message);
    }
  }
  if (!r->poll_id)
    r->poll_id = g_timeout_add_seconds (CG_REPORTER_POLL_S, on_poll, r);
  schedule_read (r, 0);
}

void
cg_reporter_stop (CgReporter *r)
{
  g_clear_handle_id (&r->poll_id, g_source_remove);
  g_clear_handle_id (&r->read_id, g_source_remove);
  if (r->reading) {
    g_cancellable_cancel (r->reading);
    g_clear_object (&r->reading);
  }
  r->read_again = FALSE;
  g_clear_pointer (&r->nflog, cg_nflog_free);
  g_clear_pointer (&r->violations, cg_violations_free);
}

void
cg_reporter_build_status (CgReporter *r, JsonBuilder *b)
{
  if (r->violations) {
    cg_violations_build_status (r->violations, b);
    return;
  }
  json_builder_begin_array (b);
  json_builder_end_array (b);
}
