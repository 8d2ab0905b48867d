/* RTP forwarding: packet parsing, keyframe detection on the payload, frame
 * assembly, header rewriting across camera sessions, RTCP reports, and the
 * picture size from an SPS. */
#include <string.h>

#include "media.h"
#include "rtp.h"

/* An RTP packet: version 2, @pt, @marker, @seq, @ts, @ssrc, then @payload. */
static GByteArray *
packet (guint8 pt, gboolean marker, guint16 seq, guint32 ts, guint32 ssrc,
        const guint8 *payload, gsize size)
{
  GByteArray *p = g_byte_array_new ();
  guint8 h[12] = { 0x80, (marker ? 0x80 : 0) | pt, seq >> 8, seq & 0xff,
                   ts >> 24, (ts >> 16) & 0xff, (ts >> 8) & 0xff, ts & 0xff,
                   ssrc >> 24, (ssrc >> 16) & 0xff, (ssrc >> 8) & 0xff, ssrc & 0xff };

  g_byte_array_append (p, h, 12);
  g_byte_array_append (p, payload, size);
  return p;
}

static guint32
rd32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
}

static void
test_parse (void)
{
  static const guint8 payload[] = { 0x65, 1, 2, 3 };
  g_autoptr (GByteArray) p = packet (96, TRUE, 1000, 90000, 0xdeadbeef, payload, 4);
  CgRtpPacket r;

  g_assert_true (cg_rtp_parse (p->data, p->len, &r));
  g_assert_cmpuint (r.pt, ==, 96);
  g_assert_true (r.marker);
  g_assert_cmpuint (r.seq, ==, 1000);
  g_assert_cmpuint (r.ts, ==, 90000);
  g_assert_cmphex (r.ssrc, ==, 0xdeadbeef);
  g_assert_cmpmem (r.payload, r.payload_size, payload, 4);

  /* one CSRC, a one-word extension, two bytes of padding */
  {
    guint8 x[] = { 0xb1, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2,
                   0, 0, 0, 9,                          /* CSRC */
                   0xbe, 0xde, 0, 1, 1, 2, 3, 4,        /* extension */
                   0x65, 0xaa, 0, 2 };                  /* payload, padding */
    g_assert_true (cg_rtp_parse (x, sizeof x, &r));
    g_assert_cmpuint (r.payload_size, ==, 2);
    g_assert_cmpuint (r.payload[0], ==, 0x65);
    x[sizeof x - 1] = 40;                               /* padding longer than the packet */
    g_assert_false (cg_rtp_parse (x, sizeof x, &r));
    x[0] = 0x40;                                        /* version 1 */
    g_assert_false (cg_rtp_parse (x, sizeof x, &r));
  }
  g_assert_false (cg_rtp_parse (p->data, 11, &r));
}

static void
count_nal (guint type, const guint8 *nal, gsize size, gpointer data)
{
  GString *s = data;
  g_string_append_printf (s, "%s%u%s", s->len ? "," : "", type, nal ? "" : "+");
}

static char *
scan (CgVideoCodec codec, const guint8 *payload, gsize size)
{
  GString *s = g_string_new (NULL);
  cg_rtp_scan_nals (codec, payload, size, count_nal, s);
  return g_string_free (s, FALSE);
}

static void
test_scan_nals (void)
{
  static const guint8 single_idr[] = { 0x65, 0x88 };
  static const guint8 stap[] = { 0x18, 0, 2, 0x67, 0x42, 0, 1, 0x68, 0, 2, 0x65, 0x88 };
  static const guint8 fu_start[] = { 0x7c, 0x85, 0x88 };
  static const guint8 fu_middle[] = { 0x7c, 0x05, 0x88 };
  static const guint8 stap_bad[] = { 0x18, 0, 9, 0x67 };
  static const guint8 h265_fu[] = { 0x62, 0x01, 0x93, 0xaa };     /* FU, start, IDR_N_LP (20) */
  static const guint8 h265_ap[] = { 0x60, 0x01, 0, 2, 0x40, 0x01, 0, 2, 0x42, 0x01 };
  g_autofree char *a = scan (CG_VIDEO_H264, single_idr, sizeof single_idr);
  g_autofree char *b = scan (CG_VIDEO_H264, stap, sizeof stap);
  g_autofree char *c = scan (CG_VIDEO_H264, fu_start, sizeof fu_start);
  g_autofree char *d = scan (CG_VIDEO_H264, fu_middle, sizeof fu_middle);
  g_autofree char *e = scan (CG_VIDEO_H264, stap_bad, sizeof stap_bad);
  g_autofree char *f = scan (CG_VIDEO_H265, h265_fu, sizeof h265_fu);
  g_autofree char *g = scan (CG_VIDEO_H265, h265_ap, sizeof h265_ap);

  g_assert_cmpstr (a, ==, "5");
  g_assert_cmpstr (b, ==, "7,8,5");
  g_assert_cmpstr (c, ==, "5+");
  g_assert_cmpstr (d, ==, "");
  g_assert_cmpstr (e, ==, "");         /* a length past the end: nothing trusted */
  g_assert_cmpstr (f, ==, "19+");
  g_assert_cmpstr (g, ==, "32,33");
  g_assert_true (cg_nal_is_keyframe (CG_VIDEO_H264, 5));
  g_assert_false (cg_nal_is_keyframe (CG_VIDEO_H264, 1));
  g_assert_true (cg_nal_is_keyframe (CG_VIDEO_H265, 19));
  g_assert_false (cg_nal_is_keyframe (CG_VIDEO_H265, 1));
  g_assert_true (cg_nal_is_sps (CG_VIDEO_H265, 33));
}

static void
collect (CgFrame *frame, gpointer data)
{
  g_ptr_array_add (data, cg_frame_ref (frame));
}

static void
push_packet (CgRtpAssembler *a, guint16 seq, guint32 ts, gboolean marker, const guint8 *payload,
             gsize size, gint64 arrival)
{
  g_autoptr (GByteArray) p = packet (96, marker, seq, ts, 7, payload, size);
  cg_rtp_assembler_push (a, p->data, p->len, arrival);
}

static void
test_assembler (void)
{
  static const guint8 fu_start[] = { 0x7c, 0x85, 1 }, fu_end[] = { 0x7c, 0x45, 2 };
  static const guint8 slice[] = { 0x41, 9 };
  g_autoptr (GPtrArray) frames = g_ptr_array_new_with_free_func ((GDestroyNotify) cg_frame_unref);
  CgRtpAssembler a;
  CgFrame *f;

  cg_rtp_assembler_init (&a, CG_STREAM_VIDEO, CG_VIDEO_H264, 3, collect, frames);
  push_packet (&a, 10, 1000, FALSE, fu_start, 3, 100);
  push_packet (&a, 11, 1000, TRUE, fu_end, 3, 200);
  g_assert_cmpuint (frames->len, ==, 1);
  f = frames->pdata[0];
  g_assert_true (f->keyframe);
  g_assert_cmpuint (f->epoch, ==, 3);
  g_assert_cmpuint (f->rtp_time, ==, 1000);
  g_assert_cmpint (f->arrival_us, ==, 200);
  g_assert_cmpuint (f->size, ==, 2 * (4 + 12 + 3));
  g_assert_cmpuint (f->data[0], ==, '$');
  g_assert_cmpuint ((f->data[2] << 8) | f->data[3], ==, 15);
  g_assert_cmpuint (f->data[4 + 15], ==, '$');

  /* the marker of this frame is lost: the next timestamp ends it */
  push_packet (&a, 12, 4600, FALSE, slice, 2, 300);
  push_packet (&a, 13, 8200, TRUE, slice, 2, 400);
  g_assert_cmpuint (frames->len, ==, 3);
  g_assert_false (((CgFrame *) frames->pdata[1])->keyframe);
  g_assert_cmpuint (((CgFrame *) frames->pdata[1])->rtp_time, ==, 4600);
  g_assert_cmpuint (((CgFrame *) frames->pdata[2])->rtp_time, ==, 8200);

  /* not RTP: ignored */
  cg_rtp_assembler_push (&a, (const guint8 *) "junk", 4, 500);
  g_assert_cmpuint (frames->len, ==, 3);
  cg_rtp_assembler_clear (&a);

  /* audio: a packet is a frame, always a "keyframe" */
  g_ptr_array_set_size (frames, 0);
  cg_rtp_assembler_init (&a, CG_STREAM_AUDIO, CG_VIDEO_NONE, 1, collect, frames);
  push_packet (&a, 1, 0, FALSE, slice, 2, 10);
  push_packet (&a, 2, 1024, FALSE, slice, 2, 20);
  g_assert_cmpuint (frames->len, ==, 2);
  g_assert_true (((CgFrame *) frames->pdata[1])->keyframe);
  cg_rtp_assembler_clear (&a);
}

static void
test_assembler_oversized (void)
{
  g_autoptr (GPtrArray) frames = g_ptr_array_new_with_free_func ((GDestroyNotify) cg_frame_unref);
  g_autofree guint8 *big = g_malloc0 (60000);
  CgRtpAssembler a;
  guint16 seq = 0;

  big[0] = 0x41;
  cg_rtp_assembler_init (&a, CG_STREAM_VIDEO, CG_VIDEO_H264, 1, collect, frames);
  for (gsize n = 0; n <= CG_RTP_MAX_FRAME_BYTES / 60000; n++)
    push_packet (&a, seq++, 0, FALSE, big, 60000, 0);
  push_packet (&a, seq++, 0, TRUE, big, 60000, 0);
  g_assert_cmpuint (frames->len, ==, 0);
  g_assert_cmpuint (a.frames_oversized, ==, 1);
  push_packet (&a, seq++, 3600, TRUE, big, 100, 0);     /* refers to the one dropped */
  g_assert_cmpuint (frames->len, ==, 0);
  g_assert_cmpuint (a.frames_skipped, ==, 1);
  big[0] = 0x65;
  push_packet (&a, seq++, 7200, TRUE, big, 100, 0);     /* a keyframe: it goes through */
  big[0] = 0x41;
  push_packet (&a, seq++, 10800, TRUE, big, 100, 0);    /* and so does what follows */
  g_assert_cmpuint (frames->len, ==, 2);
  g_assert_true (((CgFrame *) frames->pdata[0])->keyframe);
  g_assert_cmpuint (a.frames_skipped, ==, 1);
  cg_rtp_assembler_clear (&a);
}

static CgFrame *
one_packet_frame (guint epoch, guint16 seq, guint32 ts, gint64 arrival)
{
  static const guint8 idr[] = { 0x65, 1 };
  g_autoptr (GByteArray) p = packet (100, TRUE, seq, ts, 0x1234, idr, 2);
  guint8 *data = g_malloc (4 + p->len);

  data[0] = '$';
  data[1] = 0;
  data[2] = p->len >> 8;
  data[3] = p->len & 0xff;
  memcpy (data + 4, p->data, p->len);
  return cg_frame_new (CG_STREAM_VIDEO, epoch, data, 4 + p->len, TRUE, ts, arrival);
}

typedef enum { AS_IS, REBASE, CLOSE_GAP } Continue;

/* Rewrites a one-packet frame (the camera's @epoch, @seq, @ts, arriving at
 * @arrival) and returns what goes out, parsed. */
static CgRtpPacket
rewrite (CgRtpRewriter *rw, GByteArray *out, Continue how, guint epoch, guint16 seq,
         guint32 ts, gint64 arrival)
{
  g_autoptr (CgFrame) f = one_packet_frame (epoch, seq, ts, arrival);
  CgRtpPacket r;

  g_byte_array_set_size (out, 0);
  if (how == REBASE)
    cg_rtp_rewriter_rebase (rw, f);
  else if (how == CLOSE_GAP)
    cg_rtp_rewriter_close_gap (rw, f);
  cg_rtp_rewriter_write (rw, f, out);
  g_assert_cmpuint (out->data[0], ==, '$');
  g_assert_true (cg_rtp_parse (out->data + 4, out->len - 4, &r));
  return r;
}

static void
test_rewriter (void)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  CgRtpRewriter rw;
  CgRtpPacket r;

  cg_rtp_rewriter_init (&rw, 2, 96, 0xcafe, 90000);
  r = rewrite (&rw, out, REBASE, 1, 500, 10000, 0);
  g_assert_cmpuint (out->data[1], ==, 2);
  g_assert_cmpuint (r.pt, ==, 96);
  g_assert_true (r.marker);
  g_assert_cmphex (r.ssrc, ==, 0xcafe);
  g_assert_cmpuint (r.seq, ==, 500);
  g_assert_cmpuint (r.ts, ==, 10000);

  /* the camera reconnects: new numbering, 200 ms later */
  r = rewrite (&rw, out, REBASE, 2, 7, 4000000000u, 200000);
  g_assert_cmpuint (r.seq, ==, 501);
  g_assert_cmpuint (r.ts, ==, 10000 + 18000);
  /* and goes on from there */
  r = rewrite (&rw, out, AS_IS, 2, 8, 4000003600u, 240000);
  g_assert_cmpuint (r.seq, ==, 502);
  g_assert_cmpuint (r.ts, ==, 10000 + 18000 + 3600);
  g_assert_cmpuint (rw.packets, ==, 3);
  g_assert_cmpuint (rw.octets, ==, 6);

  /* camgate dropped frames 9 to 19 itself: no gap in the numbering */
  r = rewrite (&rw, out, CLOSE_GAP, 2, 20, 4000043200u, 640000);
  g_assert_cmpuint (r.seq, ==, 503);
  g_assert_cmpuint (r.ts, ==, 10000 + 18000 + 43200);    /* the timing is kept */
}

static void
test_rtcp (void)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  CgRtpRewriter rw;
  gsize len;

  cg_rtp_rewriter_init (&rw, 0, 96, 0x01020304, 90000);
  rw.packets = 10;
  rw.octets = 1000;
  /* 1970-01-01 00:00:01.5 */
  cg_rtcp_write_sr (out, 1, &rw, 1500000, 777, "camgate");
  g_assert_cmpuint (out->data[0], ==, '$');
  g_assert_cmpuint (out->data[1], ==, 1);
  len = (out->data[2] << 8) | out->data[3];
  g_assert_cmpuint (len, ==, out->len - 4);
  g_assert_cmpuint (out->data[5], ==, 200);
  g_assert_cmphex (rd32 (out->data + 8), ==, 0x01020304);
  g_assert_cmpuint (rd32 (out->data + 12), ==, 2208988801u);
  g_assert_cmphex (rd32 (out->data + 16), ==, 0x80000000);
  g_assert_cmpuint (rd32 (out->data + 20), ==, 777);
  g_assert_cmpuint (rd32 (out->data + 24), ==, 10);
  g_assert_cmpuint (rd32 (out->data + 28), ==, 1000);
  g_assert_cmpuint (out->data[32 + 1], ==, 202);               /* SDES follows */
  g_assert_cmpuint (len % 4, ==, 0);
  g_assert_cmpmem (out->data + 32 + 10, 7, "camgate", 7);

  /* what the camera's reports tell: found in a compound packet, after an RR */
  {
    g_autoptr (GByteArray) compound = g_byte_array_new ();
    CgRtcpSenderInfo info;

    cg_rtcp_write_rr (compound, 9, 10, 1, "cam");
    g_byte_array_append (compound, out->data + 4, out->len - 4);   /* SR + SDES */
    g_assert_true (cg_rtcp_find_sr (compound->data, compound->len, &info));
    g_assert_cmphex (info.ssrc, ==, 0x01020304);
    g_assert_cmpint (info.ntp_us, ==, 1500000);
    g_assert_cmpuint (info.rtp_ts, ==, 777);
    /* cut short: a length past the end, nothing */
    g_assert_false (cg_rtcp_find_sr (compound->data, 40, &info));
    g_assert_false (cg_rtcp_find_sr ((const guint8 *) "\x80\xc8\x00", 3, &info));
  }

  g_byte_array_set_size (out, 0);
  cg_rtcp_write_rr (out, 5, 6, 0x10005, "camgate");
  g_assert_cmpuint (out->data[1], ==, 201);
  g_assert_cmpuint (rd32 (out->data + 8), ==, 6);
  g_assert_cmphex (rd32 (out->data + 16), ==, 0x10005);
  g_assert_cmpuint (out->len % 4, ==, 0);
}

/* Keyframe requests, byte for byte as RFC 4585 (6.3.1) and RFC 5104 (4.3.1)
 * lay them out, after the receiver report that makes the packet compound. */
static void
test_rtcp_keyframe_requests (void)
{
  static const guint8 pli[12] = {
    0x81, 206, 0, 2,                            /* V=2, FMT 1; PSFB; 3 words */
    0x00, 0x00, 0x00, 0x05,                     /* sender */
    0x0a, 0x0b, 0x0c, 0x0d,                     /* media source */
  };
  static const guint8 fir[20] = {
    0x84, 206, 0, 4,                            /* V=2, FMT 4; PSFB; 5 words */
    0x00, 0x00, 0x00, 0x05,                     /* sender */
    0x00, 0x00, 0x00, 0x00,                     /* media source: unused */
    0x0a, 0x0b, 0x0c, 0x0d,                     /* FCI: the SSRC asked */
    0x2a, 0x00, 0x00, 0x00,                     /* FCI: sequence number 42, reserved */
  };
  g_autoptr (GByteArray) out = g_byte_array_new ();
  gsize rr;

  cg_rtcp_write_rr (out, 5, 0x0a0b0c0d, 1, "camgate");
  rr = out->len;
  cg_rtcp_write_pli (out, 5, 0x0a0b0c0d);
  g_assert_cmpmem (out->data + rr, out->len - rr, pli, sizeof pli);

  g_byte_array_set_size (out, rr);
  cg_rtcp_write_fir (out, 5, 0x0a0b0c0d, 42);
  g_assert_cmpmem (out->data + rr, out->len - rr, fir, sizeof fir);
  /* the compound packet still reads as RTCP from end to end, with no SR */
  {
    CgRtcpSenderInfo info;
    g_assert_false (cg_rtcp_find_sr (out->data, out->len, &info));
    g_assert_false (cg_rtcp_find_sr (out->data, out->len - 1, &info));
  }
}

static void
test_sps_dimensions (void)
{
  static const guint8 h264[] = {
    0x67, 0xf4, 0x00, 0x1f, 0x90, 0xd9, 0xb2, 0x80, 0xa0, 0x0b, 0x76, 0x02, 0xd4, 0x04, 0x04,
    0x05, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x3c, 0x8f, 0x18, 0x31, 0x96 };
  static const guint8 h265[] = {
    0x42, 0x01, 0x01, 0x04, 0x08, 0x00, 0x00, 0x03, 0x00, 0x98, 0x08, 0x00, 0x00, 0x03, 0x00,
    0x00, 0x3f, 0x90, 0x00, 0xa0, 0x40, 0x2d, 0x22, 0x94, 0xb2, 0xb3, 0x49, 0x26, 0x57, 0xff,
    0x80, 0x00, 0x80, 0x00, 0xb5, 0x06, 0x06, 0x06, 0x04, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00,
    0x00, 0x03, 0x00, 0x78, 0x20 };
  int w = 0, h = 0;
  g_autofree char *b64 = g_base64_encode (h264, sizeof h264);
  g_autofree char *fmtp = g_strdup_printf ("packetization-mode=1;sprop-parameter-sets=%s,aM4=",
                                           b64);
  CgStreamDesc desc = { CG_STREAM_VIDEO, CG_VIDEO_H264, "H264", 96, 90000, 0, fmtp, NULL };

  g_assert_true (cg_sps_dimensions (CG_VIDEO_H264, h264, sizeof h264, &w, &h));
  g_assert_cmpint (w, ==, 1280);
  g_assert_cmpint (h, ==, 720);
  g_assert_true (cg_sps_dimensions (CG_VIDEO_H265, h265, sizeof h265, &w, &h));
  g_assert_cmpint (w, ==, 640);
  g_assert_cmpint (h, ==, 360);
  g_assert_false (cg_sps_dimensions (CG_VIDEO_H264, h264, 3, &w, &h));
  w = h = 0;
  g_assert_true (cg_stream_desc_dimensions (&desc, &w, &h));
  g_assert_cmpint (w, ==, 1280);
  desc.fmtp = (char *) "packetization-mode=1";
  g_assert_false (cg_stream_desc_dimensions (&desc, &w, &h));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rtp/parse", test_parse);
  g_test_add_func ("/rtp/scan-nals", test_scan_nals);
  g_test_add_func ("/rtp/assembler", test_assembler);
  g_test_add_func ("/rtp/assembler-oversized", test_assembler_oversized);
  g_test_add_func ("/rtp/rewriter", test_rewriter);
  g_test_add_func ("/rtp/rtcp", test_rtcp);
  g_test_add_func ("/rtp/rtcp-keyframe-requests", test_rtcp_keyframe_requests);
  g_test_add_func ("/rtp/sps-dimensions", test_sps_dimensions);
  return g_test_run ();
}
