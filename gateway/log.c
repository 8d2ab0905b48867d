/* Log writer (see log.h). */
#include "log.h"

#include <stdio.h>
#include <unistd.h>

static gboolean log_verbose;

static const char *
level_name (GLogLevelFlags level)
{
  if (level & G_LOG_LEVEL_ERROR)
    return "error";
  if (level & G_LOG_LEVEL_CRITICAL)
    return "critical";
  if (level & G_LOG_LEVEL_WARNING)
    return "warning";
  if (level & G_LOG_LEVEL_MESSAGE)
    return "notice";
  if (level & G_LOG_LEVEL_INFO)
    return "info";
  return "debug";
}

static GLogWriterOutput
writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  const char *domain = NULL, *message = NULL;

  if ((level & G_LOG_LEVEL_DEBUG) && !log_verbose &&
      g_log_writer_default_would_drop (level, NULL))
    return G_LOG_WRITER_HANDLED;
  if (g_log_writer_is_journald (STDERR_FILENO))
    return g_log_writer_journald (level, fields, n_fields, data);

  for (gsize i = 0; i < n_fields; i++) {
    if (g_str_equal (fields[i].key, "GLIB_DOMAIN"))
      domain = fields[i].value;
    else if (g_str_equal (fields[i].key, "MESSAGE"))
      message = fields[i].value;
  }
  fprintf (stderr, "%s %s: %s\n", domain ? domain : "camgate", level_name (level),
           message ? message : "");
  fflush (stderr);
  return G_LOG_WRITER_HANDLED;
}

void
cg_log_init (gboolean verbose)
{
  log_verbose = verbose;
  g_log_set_writer_func (writer, NULL, NULL);
}
