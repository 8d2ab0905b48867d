/* Helpers shared by every GStreamer pipeline camgate runs. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* Takes @pipeline (transfer full) to the NULL state and frees it in a worker
 * thread: tearing an RTSP session down can wait on the network, and nothing
 * may block the main loop. */
void cg_pipeline_dispose (GstElement *pipeline);
/* Waits until every disposal has finished, at most @timeout_us. FALSE on timeout. */
gboolean cg_pipeline_wait_disposed (gint64 timeout_us);

/* A GStreamer error in words a user can act on, naming @peer ("the camera
 * at 10.20.0.11:554"): "cannot connect to the camera at 10.20.0.11:554: is it
 * up, and is the url right? (Failed to connect. (Generic error))". transfer full */
char *cg_gst_error_text (const GError *error, const char *debug, const char *peer);
/* "@what at HOST:PORT" from @url (default RTSP ports filled in), or @what.
 * transfer full */
char *cg_peer_name (const char *what, const char *url);

/* transfer full: a new element, or NULL with a warning naming the missing plugin */
GstElement *cg_element_make (const char *factory, const char *name);

G_END_DECLS
