/* Stream descriptions and SDP (see media.h). */
#define G_LOG_DOMAIN "camgate-media"

#include "media.h"

#include <string.h>

#include <gst/codecparsers/gsth264parser.h>
#include <gst/codecparsers/gsth265parser.h>
#include <gst/sdp/gstsdpmessage.h>

#include "error.h"
#include "rtsp.h"

/* The GStreamer SDP and codec parser libraries are used without gst_init():
 * they are plain C over buffers, and camgate loads no plugin. */

CgStreamDesc *
cg_stream_desc_copy (const CgStreamDesc *desc)
{
  CgStreamDesc *copy = g_memdup2 (desc, sizeof *desc);

  copy->encoding = g_strdup (desc->encoding);
  copy->fmtp = g_strdup (desc->fmtp);
  copy->control = g_strdup (desc->control);
  return copy;
}

void
cg_stream_desc_free (CgStreamDesc *desc)
{
  if (!desc)
    return;
  g_free (desc->encoding);
  g_free (desc->fmtp);
  g_free (desc->control);
  g_free (desc);
}

const char *
cg_stream_desc_codec (const CgStreamDesc *desc)
{
  static const struct { const char *encoding, *codec; } names[] = {
    { "H264", "h264" }, { "H265", "h265" }, { "MPEG4-GENERIC", "aac" },
    { "MP4A-LATM", "aac" }, { "PCMU", "pcmu" }, { "PCMA", "pcma" }, { "OPUS", "opus" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_str_equal (desc->encoding, names[i].encoding))
      return names[i].codec;
  return desc->encoding;
}

/* @nal (with its NAL header) after a start code, which the parsers look for.
 * transfer full */
static guint8 *
annexb_new (const guint8 *nal, gsize size)
{
  guint8 *annexb = g_malloc (size + 4);

  memcpy (annexb, "\0\0\0\1", 4);
  memcpy (annexb + 4, nal, size);
  return annexb;
}

static gboolean
h265_parse_sps (const guint8 *nal, gsize size, GstH265SPS *sps)
{
  g_autofree guint8 *annexb = annexb_new (nal, size);
  GstH265Parser *parser = gst_h265_parser_new ();
  GstH265NalUnit unit;
  GstH265ParserResult r = gst_h265_parser_identify_nalu (parser, annexb, 0, size + 4, &unit);
  gboolean ok = (r == GST_H265_PARSER_OK || r == GST_H265_PARSER_NO_NAL_END) &&
                unit.type == GST_H265_NAL_SPS &&
                gst_h265_parse_sps (parser, &unit, sps, FALSE) == GST_H265_PARSER_OK;

  gst_h265_parser_free (parser);
  return ok;
}

gboolean
cg_sps_dimensions (CgVideoCodec codec, const guint8 *nal, gsize size, int *width, int *height)
{
  int w = 0, h = 0;

  if (codec == CG_VIDEO_H264) {
    g_autofree guint8 *annexb = annexb_new (nal, size);
    GstH264NalParser *parser = gst_h264_nal_parser_new ();
    GstH264NalUnit unit;
    GstH264SPS sps;
    GstH264ParserResult r = gst_h264_parser_identify_nalu (parser, annexb, 0, size + 4, &unit);

    if ((r == GST_H264_PARSER_OK || r == GST_H264_PARSER_NO_NAL_END) &&
        unit.type == GST_H264_NAL_SPS && gst_h264_parse_sps (&unit, &sps) == GST_H264_PARSER_OK) {
      w = sps.frame_cropping_flag ? sps.crop_rect_width : sps.width;
      h = sps.frame_cropping_flag ? sps.crop_rect_height : sps.height;
      gst_h264_sps_clear (&sps);
    }
    gst_h264_nal_parser_free (parser);
  } else if (codec == CG_VIDEO_H265) {
    GstH265SPS sps;

    if (h265_parse_sps (nal, size, &sps)) {
      w = sps.conformance_window_flag ? sps.crop_rect_width : sps.width;
      h = sps.conformance_window_flag ? sps.crop_rect_height : sps.height;
    }
  }
  if (w <= 0 || h <= 0)
    return FALSE;
  *width = w;
  *height = h;
  return TRUE;
}

/* The value of @name in "a=b;c=d" format parameters. transfer full */
static char *
fmtp_param (const char *fmtp, const char *name)
{
  g_auto (GStrv) params = g_strsplit (fmtp ? fmtp : "", ";", -1);

  for (guint i = 0; params[i]; i++) {
    char *p = g_strstrip (params[i]);
    gsize n = strlen (name);
    if (!g_ascii_strncasecmp (p, name, n) && p[n] == '=')
      return g_strdup (p + n + 1);
  }
  return NULL;
}

gboolean
cg_stream_desc_dimensions (const CgStreamDesc *desc, int *width, int *height)
{
  g_autofree char *sets = NULL;
  g_auto (GStrv) parts = NULL;

  if (desc->video == CG_VIDEO_H264)
    sets = fmtp_param (desc->fmtp, "sprop-parameter-sets");
  else if (desc->video == CG_VIDEO_H265)
    sets = fmtp_param (desc->fmtp, "sprop-sps");
  if (!sets)
    return FALSE;
  parts = g_strsplit (sets, ",", -1);
  for (guint i = 0; parts[i]; i++) {
    gsize n = 0;
    g_autofree guint8 *nal = g_base64_decode (g_strstrip (parts[i]), &n);
    if (n > 0 && cg_sps_dimensions (desc->video, nal, n, width, height))
      return TRUE;
  }
  return FALSE;
}

gboolean
cg_stream_desc_h265_profile (const CgStreamDesc *desc, guint *profile_id, guint *tier_flag,
                             guint *level_id)
{
  g_autofree char *sets = fmtp_param (desc->fmtp, "sprop-sps");
  g_auto (GStrv) parts = NULL;
  g_autofree guint8 *nal = NULL;
  gsize n = 0;
  GstH265SPS sps;

  if (desc->video != CG_VIDEO_H265 || !sets || !*sets)
    return FALSE;
  parts = g_strsplit (sets, ",", 2);
  nal = g_base64_decode (g_strstrip (parts[0]), &n);
  if (n == 0 || !h265_parse_sps (nal, n, &sps))
    return FALSE;
  *profile_id = sps.profile_tier_level.profile_idc;
  *tier_flag = sps.profile_tier_level.tier_flag;
  *level_id = sps.profile_tier_level.level_idc;
  return TRUE;
}

/* ---- the camera's SDP ------------------------------------------------- */

static CgStreamKind
classify (const char *media, const char *encoding, CgVideoCodec *video)
{
  static const char *const audio[] = { "MPEG4-GENERIC", "MP4A-LATM", "PCMU", "PCMA", "OPUS" };

  *video = CG_VIDEO_NONE;
  if (g_str_equal (media, "video")) {
    if (g_str_equal (encoding, "H264"))
      *video = CG_VIDEO_H264;
    else if (g_str_equal (encoding, "H265"))
      *video = CG_VIDEO_H265;
    return *video != CG_VIDEO_NONE ? CG_STREAM_VIDEO : CG_STREAM_N;
  }
  if (g_str_equal (media, "audio"))
    for (guint i = 0; i < G_N_ELEMENTS (audio); i++)
      if (g_str_equal (encoding, audio[i]))
        return CG_STREAM_AUDIO;
  return CG_STREAM_N;
}

/* "96 H264/90000": "H264/90000" if the attribute is for payload type @pt,
 * else NULL. transfer full */
static char *
attribute_for (const char *value, guint pt)
{
  char *end;

  if (!value || !g_ascii_isdigit (*value) || strtoul (value, &end, 10) != pt ||
      (*end != ' ' && *end != '\t'))
    return NULL;
  return g_strstrip (g_strdup (end));
}

/* The rtpmap for payload type @pt; static types 0 and 8 have none. */
static gboolean
media_rtpmap (const GstSDPMedia *media, guint pt, char **encoding, guint *clock_rate,
              guint *channels)
{
  for (guint i = 0; i < gst_sdp_media_attributes_len (media); i++) {
    const GstSDPAttribute *a = gst_sdp_media_get_attribute (media, i);
    g_auto (GStrv) parts = NULL;
    g_autofree char *rest = NULL;
    guint64 n;

    if (g_strcmp0 (a->key, "rtpmap") || !(rest = attribute_for (a->value, pt)))
      continue;
    parts = g_strsplit (rest, "/", 3);
    if (!parts[0] || !parts[1] || !g_ascii_string_to_unsigned (parts[1], 10, 1, 1000000, &n, NULL))
      return FALSE;
    *encoding = g_ascii_strup (parts[0], -1);
    *clock_rate = n;
    *channels = parts[2] && g_ascii_string_to_unsigned (parts[2], 10, 1, 8, &n, NULL) ? n : 0;
    return TRUE;
  }
  if (pt == 0 || pt == 8) {
    *encoding = g_strdup (pt == 0 ? "PCMU" : "PCMA");
    *clock_rate = 8000;
    *channels = 0;
    return TRUE;
  }
  return FALSE;
}

static char *
media_fmtp (const GstSDPMedia *media, guint pt)
{
  for (guint i = 0; i < gst_sdp_media_attributes_len (media); i++) {
    const GstSDPAttribute *a = gst_sdp_media_get_attribute (media, i);
    char *rest;

    if (!g_strcmp0 (a->key, "fmtp") && (rest = attribute_for (a->value, pt)))
      return rest;
  }
  return NULL;
}

/* The first format of @media camgate relays, as a description; NULL and a
 * reason in @why otherwise. */
static CgStreamDesc *
describe_media (const GstSDPMedia *media, char **why)
{
  const char *kind = gst_sdp_media_get_media (media);
  const char *proto = gst_sdp_media_get_proto (media);

  if (!kind || !proto || !g_str_has_prefix (proto, "RTP/AVP")) {
    *why = g_strdup_printf ("%s over %s is not RTP", kind ? kind : "a stream",
                            proto ? proto : "no protocol");
    return NULL;
  }
  for (guint f = 0; f < gst_sdp_media_formats_len (media); f++) {
    guint64 pt;
    g_autofree char *encoding = NULL;
    guint clock_rate, channels;
    CgVideoCodec video;
    CgStreamKind k;
    CgStreamDesc *desc;

    if (!g_ascii_string_to_unsigned (gst_sdp_media_get_format (media, f), 10, 0, 127, &pt, NULL))
      continue;
    if (!media_rtpmap (media, pt, &encoding, &clock_rate, &channels)) {
      g_free (*why);
      *why = g_strdup_printf ("%s payload type %u is not a codec camgate relays", kind,
                              (guint) pt);
      continue;
    }
    k = classify (kind, encoding, &video);
    if (k == CG_STREAM_N) {
      g_free (*why);
      *why = g_strdup_printf ("%s %s is not a codec camgate relays", kind, encoding);
      continue;
    }
    desc = g_new0 (CgStreamDesc, 1);
    desc->kind = k;
    desc->video = video;
    desc->encoding = g_steal_pointer (&encoding);
    desc->pt = pt;
    desc->clock_rate = clock_rate;
    desc->channels = channels;
    desc->fmtp = media_fmtp (media, pt);
    return desc;
  }
  if (!*why)
    *why = g_strdup_printf ("%s stream without a format camgate can read", kind);
  return NULL;
}

gboolean
cg_sdp_pick_streams (const char *sdp, gsize size, const char *base_url,
                     CgStreamDesc *streams[CG_STREAM_N], char **aggregate, GString *skipped,
                     GError **error)
{
  GstSDPMessage *msg = NULL;
  const char *session_control, *media_base;
  g_autofree char *base = NULL;
  gboolean any = FALSE;

  memset (streams, 0, sizeof (CgStreamDesc *) * CG_STREAM_N);
  gst_sdp_message_new (&msg);
  if (gst_sdp_message_parse_buffer ((const guint8 *) sdp, size, msg) != GST_SDP_OK ||
      gst_sdp_message_medias_len (msg) == 0) {
    gst_sdp_message_free (msg);
    g_set_error (error, CG_ERROR, CG_ERROR_PROTOCOL,
                 "describes its streams with an SDP camgate cannot read (%" G_GSIZE_FORMAT
                 " bytes, no media section)", size);
    return FALSE;
  }
  /* The aggregate control resolves against the base; the streams' against
   * the base too, unless the session's is an absolute URL (as players do). */
  session_control = gst_sdp_message_get_attribute_val (msg, "control");
  base = cg_rtsp_control_resolve (base_url, session_control);
  media_base = session_control && g_uri_peek_scheme (session_control) ? base : base_url;
  for (guint i = 0; i < gst_sdp_message_medias_len (msg); i++) {
    const GstSDPMedia *media = gst_sdp_message_get_media (msg, i);
    g_autofree char *why = NULL;
    CgStreamDesc *desc = describe_media (media, &why);

    if (desc && streams[desc->kind]) {
      g_free (why);
      why = g_strdup_printf ("one %s stream is relayed", desc->kind == CG_STREAM_VIDEO
                             ? "video" : "audio");
      g_clear_pointer (&desc, cg_stream_desc_free);
    }
    if (!desc) {
      if (skipped)
        g_string_append_printf (skipped, "%sstream %u not relayed: %s", skipped->len ? "; " : "",
                                i, why);
      continue;
    }
    desc->control = cg_rtsp_control_resolve (media_base,
                                             gst_sdp_media_get_attribute_val (media, "control"));
    streams[desc->kind] = desc;
    any = TRUE;
  }
  gst_sdp_message_free (msg);
  if (any)
    *aggregate = g_steal_pointer (&base);
  else
    g_set_error (error, CG_ERROR, CG_ERROR_PROTOCOL,
                 "offers no stream camgate relays (H.264 or H.265 video; AAC, G.711 or "
                 "Opus audio): %s", skipped && skipped->len ? skipped->str : "none");
  return any;
}

/* ---- formats ---------------------------------------------------------- */

CgFormat *
cg_format_new (guint epoch, CgStreamDesc *const streams[CG_STREAM_N])
{
  CgFormat *format = g_new0 (CgFormat, 1);

  format->ref_count = 1;
  format->epoch = epoch;
  for (int i = 0; i < CG_STREAM_N; i++)
    format->streams[i] = streams[i] ? cg_stream_desc_copy (streams[i]) : NULL;
  return format;
}

CgFormat *
cg_format_ref (CgFormat *format)
{
  g_atomic_int_inc (&format->ref_count);
  return format;
}

void
cg_format_unref (CgFormat *format)
{
  if (!g_atomic_int_dec_and_test (&format->ref_count))
    return;
  for (int i = 0; i < CG_STREAM_N; i++)
    cg_stream_desc_free (format->streams[i]);
  g_free (format);
}

char *
cg_format_signature (const CgFormat *format)
{
  GString *sig = g_string_new (NULL);

  for (int i = 0; i < CG_STREAM_N; i++) {
    const CgStreamDesc *s = format->streams[i];
    if (!s)
      continue;
    if (sig->len)
      g_string_append_c (sig, '+');
    g_string_append (sig, cg_stream_desc_codec (s));
    if (s->kind == CG_STREAM_AUDIO) {
      g_string_append_printf (sig, "/%u", s->clock_rate);
      if (s->channels)
        g_string_append_printf (sig, "/%u", s->channels);
    }
  }
  return g_string_free (sig, FALSE);
}

char *
cg_sdp_for_ingest (const CgFormat *format, const char *origin_addr, guint8 pts[CG_STREAM_N])
{
  GString *sdp = g_string_new (NULL);
  gboolean v6 = origin_addr && strchr (origin_addr, ':');
  const char *addr = origin_addr ? origin_addr : "127.0.0.1";

  g_string_append_printf (sdp, "v=0\r\no=- %u 1 IN %s %s\r\ns=camgate\r\n"
                          "c=IN %s %s\r\nt=0 0\r\n", g_random_int (),
                          v6 ? "IP6" : "IP4", addr, v6 ? "IP6" : "IP4",
                          v6 ? "::" : "0.0.0.0");
  for (int i = 0; i < CG_STREAM_N; i++) {
    const CgStreamDesc *s = format->streams[i];
    guint8 pt;

    if (!s)
      continue;
    /* the camera's payload type, unless it clashes with the video's */
    pt = s->pt;
    if (i == CG_STREAM_AUDIO && format->streams[CG_STREAM_VIDEO] &&
        pts[CG_STREAM_VIDEO] == pt)
      pt = pt >= 96 && pt < 127 ? pt + 1 : 97;
    pts[i] = pt;
    g_string_append_printf (sdp, "m=%s 0 RTP/AVP %u\r\na=rtpmap:%u %s/%u",
                            i == CG_STREAM_VIDEO ? "video" : "audio", pt, pt, s->encoding,
                            s->clock_rate);
    if (s->channels)
      g_string_append_printf (sdp, "/%u", s->channels);
    g_string_append (sdp, "\r\n");
    if (s->fmtp)
      g_string_append_printf (sdp, "a=fmtp:%u %s\r\n", pt, s->fmtp);
    g_string_append_printf (sdp, "a=control:streamid=%d\r\n", i);
  }
  return g_string_free (sdp, FALSE);
}
