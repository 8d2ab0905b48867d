/* JSON helpers for the status document (see json.h). */
#include "json.h"

void
cg_json_add_string_or_null (JsonBuilder *b, const char *key, const char *value)
{
  json_builder_set_member_name (b, key);
  if (value)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

void
cg_json_add_int (JsonBuilder *b, const char *key, gint64 value)
{
  json_builder_set_member_name (b, key);
  json_builder_add_int_value (b, value);
}

void
cg_json_add_time (JsonBuilder *b, const char *key, gint64 us)
{
  g_autoptr (GDateTime) t = g_date_time_new_from_unix_utc (us / G_USEC_PER_SEC);
  g_autofree char *text = t ? g_date_time_format_iso8601 (t) : NULL;

  cg_json_add_string_or_null (b, key, text);
}
