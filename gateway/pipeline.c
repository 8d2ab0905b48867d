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

/* The last line of a GStreamer debug text, without the "file.c(123):
 * function (): /element:" prefix of a single-line one. transfer full */
static char *
debug_detail (const char *debug)
{
  const char *last;
  char *detail;

  if (!debug || !*debug)
    return NULL;
  last = strrchr (debug, '\n');
  detail = g_strstrip (g_strdup (last ? last + 1 : debug));
  if (!last && strstr (detail, "): ")) {
    char *rest = g_strstrip (g_strdup (strrchr (detail, ':') + 1));
    g_free (detail);
    detail = rest;
  }
  if (!*detail)
    g_clear_pointer (&detail, g_free);
  return detail;
}

char *
cg_gst_error_text (const GError *error, const char *debug, const char *peer)
{
  g_autofree char *detail = debug_detail (debug);
  g_autofree char *why = g_strdup_printf (" (%s)", detail ? detail : error->message);

  if (error->domain == GST_RESOURCE_ERROR) {
    switch (error->code) {
    case GST_RESOURCE_ERROR_NOT_AUTHORIZED:
      return g_strdup_printf ("%s refused the credentials: check username and password", peer);
    case GST_RESOURCE_ERROR_NOT_FOUND:
      return g_strdup_printf ("%s has nothing at this path: check the url%s", peer, why);
    case GST_RESOURCE_ERROR_OPEN_READ:
    case GST_RESOURCE_ERROR_OPEN_WRITE:
    case GST_RESOURCE_ERROR_OPEN_READ_WRITE:
      return g_strdup_printf ("cannot connect to %s: is it up, and is the url right?%s", peer, why);
    case GST_RESOURCE_ERROR_READ:
    case GST_RESOURCE_ERROR_WRITE:
      return g_strdup_printf ("the connection to %s broke%s", peer, why);
    default:
      break;
    }
  }
  if (!detail || g_str_has_prefix (error->message, detail))
    return g_strdup_printf ("%s: %s", peer, error->message);
  return g_strdup_printf ("%s: %s%s", peer, error->message, why);
}

char *
cg_peer_name (const char *what, const char *url)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  int port;

  if (!uri || !g_uri_get_host (uri))
    return g_strdup (what);
  port = g_uri_get_port (uri);
  if (port < 0)
    port = g_str_equal (g_uri_get_scheme (uri), "rtsps") ? 322 : 554;
  return g_strdup_printf ("%s at %s:%d", what, g_uri_get_host (uri), port);
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
