/* The local control socket, runtime_dir/control.sock (root only, mode 0600):
 * one request line in, one JSON document out. `camgate status` is its client. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define CG_CONTROL_SOCKET_NAME "control.sock"
/* "allow CAMERA ADDR MINUTES": opens a temporary hole (camgate rules allow) */
#define CG_CONTROL_ALLOW "allow"

/* Answers @command ("status", or CG_CONTROL_ALLOW and its arguments);
 * transfer full, or NULL for an unknown command. */
typedef JsonNode *(*CgControlHandler) (const char *command, gpointer user_data);

typedef struct _CgControl CgControl;

/* Creates @runtime_dir if needed and listens. Fails if another daemon answers
 * on the socket; a stale socket file is replaced. */
CgControl *cg_control_new (const char *runtime_dir, CgControlHandler handler,
                           gpointer user_data, GError **error);
/* Stops listening and removes the socket file. */
void cg_control_free (CgControl *control);

/* Client: sends @command, returns the answer. transfer full */
JsonNode *cg_control_request (const char *runtime_dir, const char *command, GError **error);

G_END_DECLS
