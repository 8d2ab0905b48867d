/* The trickle-ice-sdpfrag of a WHIP PATCH (see whipfrag.h).
 *
 * RFC 8840 section 9.1 and the example of RFC 9725 section 4.3.1: the ICE
 * credentials at session level, then, for the bundled first m= section,
 * its m= line, its a=mid and the candidates. The credentials let the ingest
 * tell these candidates from those of an ICE restart; webrtcbin writes them
 * into each m= section, or at session level: both are read. */
#include "whipfrag.h"

#include <string.h>

/* The value of "a=@name:" in @line, or NULL. transfer none */
static const char *
attribute (const char *line, const char *name)
{
  gsize len = strlen (name);

  if (!g_str_has_prefix (line, "a=") || strncmp (line + 2, name, len) != 0 ||
      line[2 + len] != ':' || !line[3 + len])
    return NULL;
  return line + 3 + len;
}

char *
cg_whip_sdpfrag (const char *offer, GPtrArray *candidates, gboolean end)
{
  g_auto (GStrv) lines = g_strsplit (offer, "\n", -1);
  const char *ufrag = NULL, *pwd = NULL, *mline = NULL, *mid = NULL;
  GString *out;
  guint sections = 0;

  for (guint i = 0; lines[i] && sections < 2; i++) {
    char *line = lines[i];
    gsize len = strlen (line);

    if (len && line[len - 1] == '\r')
      line[len - 1] = '\0';
    if (g_str_has_prefix (line, "m=") && ++sections == 1)
      mline = line;
    else if (attribute (line, "ice-ufrag") && !ufrag)
      ufrag = attribute (line, "ice-ufrag");
    else if (attribute (line, "ice-pwd") && !pwd)
      pwd = attribute (line, "ice-pwd");
    else if (sections == 1 && attribute (line, "mid") && !mid)
      mid = attribute (line, "mid");
  }
  if (!ufrag || !pwd || !mline || !mid)
    return NULL;
  out = g_string_new (NULL);
  g_string_append_printf (out, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n%s\r\na=mid:%s\r\n", ufrag,
                          pwd, mline, mid);
  for (guint c = 0; c < candidates->len; c++)
    g_string_append_printf (out, "a=%s\r\n", (const char *) g_ptr_array_index (candidates, c));
  if (end)
    g_string_append (out, "a=end-of-candidates\r\n");
  return g_string_free (out, FALSE);
}
