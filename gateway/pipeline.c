/* Pipeline helpers (see pipeline.h). */
#define G_LOG_DOMAIN "camgate-pipeline"

#include "pipeline.h"

#include <string.h>

static GMutex dispose_lock;
static GCond dispose_cond;
static guint dispose_pending;

static gpointer
dispose_thread (gpointer data)
{
  GstElement *pipeline = data;

  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);

  g_mutex_lock (&dispose_lock);
  dispose_pending--;
  g_cond_broadcast (&dispose_cond);
  g_mutex_unlock (&dispose_lock);
  return NULL;
}

void
cg_pipeline_dispose (GstElement *pipeline)
{
  g_mutex_lock (&dispose_lock);
  dispose_pending++;
  g_mutex_unlock (&dispose_lock);
  g_thread_unref (g_thread_new ("cg-dispose", dispose_thread, pipeline));
}

gboolean
cg_pipeline_wait_disposed (gint64 timeout_us)
{
  gint64 end = g_get_monotonic_time () + timeout_us;
  gboolean done = TRUE;

  g_mutex_lock (&dispose_lock);
  while (dispose_pending > 0 && done)
    done = g_cond_wait_until (&dispose_cond, &dispose_lock, end);
  done = dispose_pending == 0;
  g_mutex_unlock (&dispose_lock);
  return done;
}

char *
cg_gst_error_text (const GError *error, const char *debug)
{
  g_autofree char *detail = NULL;
  const char *last;
  gsize len;

  if (!debug || !*debug)
    return g_strdup (error->message);
  last = strrchr (debug, '\n');
  detail = g_strstrip (g_strdup (last ? last + 1 : debug));
  /* A single-line debug text starts with "file.c(123): function (): element:" */
  if (!last && strstr (detail, "): ")) {
    const char *colon = strrchr (detail, ':');
    char *rest = g_strstrip (g_strdup (colon + 1));
    g_free (detail);
    detail = rest;
  }
  len = strlen (error->message);
  if (!*detail || g_str_has_prefix (error->message, detail))
    return g_strdup (error->message);
  if (len > 0 && error->message[len - 1] == '.')
    len--;
  return g_strdup_printf ("%.*s: %s", (int) len, error->message, detail);
}

GstElement *
cg_element_make (const char *factory, const char *name)
{
  GstElement *element = gst_element_factory_make (factory, name);

  if (!element)
    g_warning ("GStreamer element \"%s\" is missing: install the plugin that "
               "provides it (gst-inspect-1.0 %s)", factory, factory);
  return element;
}
