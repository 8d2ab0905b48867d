/* Helpers for the status document's JSON (status.c, isolation.c,
 * violations.c): one member each, with null where a value is unknown. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

void cg_json_add_string_or_null (JsonBuilder *b, const char *key, const char *value);
void cg_json_add_int (JsonBuilder *b, const char *key, gint64 value);
/* @us: real time in microseconds, as UTC ISO 8601 to the second
 * ("2026-11-22T10:00:00Z"); null if it cannot be represented. */
void cg_json_add_time (JsonBuilder *b, const char *key, gint64 us);

G_END_DECLS
