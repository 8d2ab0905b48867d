/* The WHIP uplink's media plan and caps (see whipmedia.h). */
#include "whipmedia.h"

#include <string.h>

#include "error.h"

gboolean
cg_whip_plan (const CgFormat *format, gboolean aac_to_opus, CgWhipAudio *audio, GError **error)
{
  const CgStreamDesc *video = format->streams[CG_STREAM_VIDEO];
  const CgStreamDesc *sound = format->streams[CG_STREAM_AUDIO];

  /* H.264 or H.265, as the camera sends it: offered as it is, never re-encoded */
  if (!video) {
    g_set_error (error, CG_ERROR, CG_ERROR_PROTOCOL, "the camera sends no video: the WHIP "
                 "uplink needs H.264 or H.265 video");
    return FALSE;
  }
  if (!sound)
    *audio = CG_WHIP_AUDIO_NONE;
  else if (g_str_equal (cg_stream_desc_codec (sound), "aac"))
    *audio = aac_to_opus ? CG_WHIP_AUDIO_TO_OPUS : CG_WHIP_AUDIO_DROP;
  else
    *audio = CG_WHIP_AUDIO_FORWARD;
  return TRUE;
}

guint8
cg_whip_payload_type (const CgStreamDesc *desc)
{
  const char *codec = cg_stream_desc_codec (desc);

  if (desc->kind == CG_STREAM_VIDEO)
    return CG_WHIP_VIDEO_PT;
  if (g_str_equal (codec, "pcmu"))
    return 0;
  if (g_str_equal (codec, "pcma"))
    return 8;
  if (g_str_equal (codec, "opus"))
    return CG_WHIP_OPUS_PT;
  return CG_WHIP_AAC_PT;
}

/* An ingest not told an H.265 stream's profile, tier and level assumes Main
 * profile, level 3.1 (RFC 7798): where the camera's fmtp leaves them out,
 * they are taken from its SPS. */
static void
add_h265_profile (const CgStreamDesc *desc, GstStructure *s)
{
  guint profile, tier, level;
  g_autofree char *profile_id = NULL, *tier_flag = NULL, *level_id = NULL;

  if (gst_structure_has_field (s, "profile-id") ||
      !cg_stream_desc_h265_profile (desc, &profile, &tier, &level))
    return;
  profile_id = g_strdup_printf ("%u", profile);
  tier_flag = g_strdup_printf ("%u", tier);
  level_id = g_strdup_printf ("%u", level);
  gst_structure_set (s, "profile-id", G_TYPE_STRING, profile_id, "tier-flag", G_TYPE_STRING,
                     tier_flag, "level-id", G_TYPE_STRING, level_id, NULL);
}

GstCaps *
cg_whip_stream_caps (const CgStreamDesc *desc, guint8 pt)
{
  g_auto (GStrv) params = g_strsplit (desc->fmtp ? desc->fmtp : "", ";", -1);
  GstStructure *s = gst_structure_new ("application/x-rtp",
                                       "media", G_TYPE_STRING,
                                       desc->kind == CG_STREAM_VIDEO ? "video" : "audio",
                                       "encoding-name", G_TYPE_STRING, desc->encoding,
                                       "clock-rate", G_TYPE_INT, (int) desc->clock_rate,
                                       "payload", G_TYPE_INT, (int) pt, NULL);

  /* Video takes the ingest's keyframe requests (PLI, FIR) and NACKs; the
   * offer says so with a=rtcp-fb lines. */
  if (desc->kind == CG_STREAM_VIDEO)
    gst_structure_set (s, "rtcp-fb-nack-pli", G_TYPE_BOOLEAN, TRUE, "rtcp-fb-ccm-fir",
                       G_TYPE_BOOLEAN, TRUE, "rtcp-fb-nack", G_TYPE_BOOLEAN, TRUE, NULL);
  /* Opus is always announced as two channels (RFC 7587). */
  if (g_str_equal (desc->encoding, "OPUS"))
    gst_structure_set (s, "encoding-params", G_TYPE_STRING, "2", NULL);
  else if (desc->channels > 1) {
    g_autofree char *channels = g_strdup_printf ("%u", desc->channels);
    gst_structure_set (s, "encoding-params", G_TYPE_STRING, channels, NULL);
  }
  for (guint i = 0; params[i]; i++) {
    char *eq = strchr (params[i], '=');
    g_autofree char *name = NULL;
    const char *value;

    if (!eq)
      continue;
    *eq = '\0';
    name = g_ascii_strdown (g_strstrip (params[i]), -1);
    value = g_strstrip (eq + 1);
    /* a name GstStructure refuses, or one that would override the above */
    if (!name[0] || !g_ascii_isalpha (name[0]) || gst_structure_has_field (s, name))
      continue;
    gst_structure_set (s, name, G_TYPE_STRING, value, NULL);
  }
  add_h265_profile (desc, s);
  return gst_caps_new_full (s, NULL);
}

/* Where the first m= section ends in @lines: the index of the next m= line,
 * or of the end. */
static guint
first_section_end (char **lines)
{
  guint i = 0, sections = 0;

  for (; lines[i]; i++) {
    if (g_str_has_prefix (lines[i], "m=") && ++sections == 2)
      return i;
  }
  return i;
}

/* The candidate lines @lines does not hold yet, then the end marker. */
static void
append_candidates (GString *out, char **lines, GPtrArray *candidates, gboolean end_marker)
{
  for (guint c = 0; c < candidates->len; c++) {
    const char *candidate = g_ptr_array_index (candidates, c);
    g_autofree char *line = g_strdup_printf ("a=%s", candidate);
    if (!g_strv_contains ((const char *const *) lines, line))
      g_string_append_printf (out, "%s\r\n", line);
  }
  if (end_marker)
    g_string_append (out, "a=end-of-candidates\r\n");
}

char *
cg_whip_sdp_add_candidates (const char *sdp, GPtrArray *candidates, gboolean complete)
{
  g_auto (GStrv) lines = g_strsplit (sdp, "\r\n", -1);
  GString *out = g_string_new (NULL);
  guint end, n = g_strv_length (lines);
  gboolean has_end = FALSE;

  /* the last "line" after the final CRLF is empty */
  if (n > 0 && !lines[n - 1][0]) {
    g_free (lines[n - 1]);
    lines[--n] = NULL;
  }
  end = first_section_end (lines);
  for (guint i = 0; i < end; i++)
    has_end |= g_str_equal (lines[i], "a=end-of-candidates");
  for (guint i = 0; i <= n; i++) {
    if (i == end)
      append_candidates (out, lines, candidates, complete && !has_end);
    if (i < n)
      g_string_append_printf (out, "%s\r\n", lines[i]);
  }
  return g_string_free (out, FALSE);
}
