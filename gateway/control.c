/* Control socket (see control.h). Requests are tiny and answers are built in
 * the main loop, so a connection is read and answered asynchronously. */
#define G_LOG_DOMAIN "camgate-control"

#include "control.h"

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>

#include "error.h"

#define MAX_REQUEST 256
#define CLIENT_TIMEOUT_S 5

struct _CgControl {
  char *path;
  GSocketService *service;
  CgControlHandler handler;
  gpointer user_data;
};

typedef struct {
  CgControl *control;
  GSocketConnection *connection;
  GDataInputStream *input;
  char *answer;
} Request;

static void
request_free (Request *request)
{
  g_object_unref (request->input);
  g_object_unref (request->connection);
  g_free (request->answer);
  g_free (request);
}

static void
on_written (GObject *stream, GAsyncResult *result, gpointer data)
{
  Request *request = data;
  g_autoptr (GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (stream), result, NULL, &error))
    g_debug ("control client went away: %s", error->message);
  request_free (request);
}

static char *
answer_for (CgControl *control, const char *line)
{
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (JsonGenerator) gen = NULL;
  g_autofree char *text = NULL;

  node = control->handler (line, control->user_data);
  if (!node) {
    g_autoptr (JsonBuilder) b = json_builder_new ();
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "error");
    json_builder_add_string_value (b, "unknown command");
    json_builder_end_object (b);
    node = json_builder_get_root (b);
  }
  gen = json_generator_new ();
  json_generator_set_root (gen, node);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);
  return g_strconcat (text, "\n", NULL);
}

static void
on_line (GObject *stream, GAsyncResult *result, gpointer data)
{
  Request *request = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *line = NULL;
  GOutputStream *out;

  line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (stream), result,
                                                    NULL, &error);
  if (!line || strlen (line) > MAX_REQUEST) {
    g_debug ("bad control request: %s", error ? error->message : "empty or too long");
    request_free (request);
    return;
  }
  request->answer = answer_for (request->control, g_strstrip (line));
  out = g_io_stream_get_output_stream (G_IO_STREAM (request->connection));
  g_output_stream_write_all_async (out, request->answer, strlen (request->answer),
                                   G_PRIORITY_DEFAULT, NULL, on_written, request);
}

static gboolean
on_incoming (GSocketService *service, GSocketConnection *connection, GObject *source,
             gpointer data)
{
  Request *request = g_new0 (Request, 1);

  request->control = data;
  request->connection = g_object_ref (connection);
  request->input = g_data_input_stream_new (
      g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  g_data_input_stream_read_line_async (request->input, G_PRIORITY_DEFAULT, NULL, on_line,
                                       request);
  return TRUE;
}

/* A socket file that no daemon answers on is left over from a crash. */
static gboolean
socket_in_use (const char *path)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketAddress) address = g_unix_socket_address_new (path);
  g_autoptr (GSocketConnection) conn = NULL;

  conn = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, NULL);
  return conn != NULL;
}

CgControl *
cg_control_new (const char *runtime_dir, CgControlHandler handler, gpointer user_data,
                GError **error)
{
  g_autofree char *path = g_build_filename (runtime_dir, CG_CONTROL_SOCKET_NAME, NULL);
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GSocketService) service = NULL;
  CgControl *control;

  if (g_mkdir_with_parents (runtime_dir, 0755) < 0) {
    g_set_error (error, CG_ERROR, CG_ERROR_IO, "runtime_dir %s: cannot be created: %s",
                 runtime_dir, g_strerror (errno));
    return NULL;
  }
  if (g_file_test (path, G_FILE_TEST_EXISTS)) {
    if (socket_in_use (path)) {
      g_set_error (error, CG_ERROR, CG_ERROR_IO, "%s: another camgate daemon is running "
                   "with this runtime_dir", path);
      return NULL;
    }
    g_unlink (path);
  }
  service = g_socket_service_new ();
  address = g_unix_socket_address_new (path);
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (service), address, G_SOCKET_TYPE_STREAM,
                                      G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, error)) {
    g_prefix_error (error, "control socket %s: ", path);
    return NULL;
  }
  g_chmod (path, 0600);

  control = g_new0 (CgControl, 1);
  control->path = g_steal_pointer (&path);
  control->service = g_steal_pointer (&service);
  control->handler = handler;
  control->user_data = user_data;
  g_signal_connect (control->service, "incoming", G_CALLBACK (on_incoming), control);
  g_socket_service_start (control->service);
  return control;
}

void
cg_control_free (CgControl *control)
{
  if (!control)
    return;
  g_socket_service_stop (control->service);
  g_socket_listener_close (G_SOCKET_LISTENER (control->service));
  g_object_unref (control->service);
  g_unlink (control->path);
  g_free (control->path);
  g_free (control);
}

JsonNode *
cg_control_request (const char *runtime_dir, const char *command, GError **error)
{
  g_autofree char *path = g_build_filename (runtime_dir, CG_CONTROL_SOCKET_NAME, NULL);
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketAddress) address = g_unix_socket_address_new (path);
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (GError) local = NULL;
  g_autoptr (GByteArray) data = g_byte_array_new ();
  g_autofree char *request = g_strconcat (command, "\n", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  GInputStream *in;
  guint8 chunk[4096];
  gssize n;

  g_socket_client_set_timeout (client, CLIENT_TIMEOUT_S);
  conn = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, &local);
  if (!conn) {
    g_set_error (error, CG_ERROR, CG_ERROR_IO, "no camgate daemon answers on %s (%s): "
                 "is `camgate run` running with this config?", path, local->message);
    return NULL;
  }
  if (!g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), request,
                                  strlen (request), NULL, NULL, error))
    return NULL;
  in = g_io_stream_get_input_stream (G_IO_STREAM (conn));
  while ((n = g_input_stream_read (in, chunk, sizeof chunk, NULL, error)) > 0)
    g_byte_array_append (data, chunk, n);
  if (n < 0)
    return NULL;
  if (!json_parser_load_from_data (parser, (const char *) data->data, data->len, &local)) {
    g_set_error (error, CG_ERROR, CG_ERROR_PROTOCOL, "the daemon on %s answered something "
                 "that is not JSON: %s", path, local->message);
    return NULL;
  }
  return json_node_copy (json_parser_get_root (parser));
}
