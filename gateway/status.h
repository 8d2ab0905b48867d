/* The status document of `camgate status --json` (the contract in DESIGN.md),
 * and its rendering for people. */
#pragma once

#include <json-glib/json-glib.h>

#include "camera.h"
#include "isolation.h"

G_BEGIN_DECLS

/* @cameras: element-type CgCamera, in config order. transfer full */
JsonNode *cg_status_build (const CgConfig *config, GPtrArray *cameras, CgIsolation *isolation,
                           gint64 started_us);

/* A table for a terminal, from a status document. FALSE with @error if
 * @root does not have the contract's shape. transfer full */
char *cg_status_format_text (JsonNode *root, GError **error);

G_END_DECLS
