/* The relay benchmark's SEI and RTSP message parsing (see benchproto.h).
 *
 * SEI layout (H.264 7.3.2.3, D.1.6): NAL header 0x06, payload type 5
 * (user_data_unregistered), payload size 32, the 16-byte UUID, the counter
 * and the send time as big-endian 64-bit integers, rbsp trailing bits.
 * Emulation prevention bytes are inserted on build and removed on parse. */
#include "benchproto.h"

#include <string.h>
#include <time.h>

#define SEI_NAL_TYPE 6
#define SEI_USER_DATA_UNREGISTERED 5
#define SEI_PAYLOAD_SIZE (CG_BENCH_SEI_UUID_LEN + 16)

static void
put_be64 (guint8 *p, guint64 v)
{
  for (int i = 7; i >= 0; i--, v >>= 8)
    p[i] = v & 0xff;
}

static guint64
get_be64 (const guint8 *p)
{
  guint64 v = 0;

  for (int i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

gint64
cg_bench_now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

gsize
cg_bench_sei_build (guint8 *out, guint64 counter, gint64 send_ns)
{
  guint8 rbsp[3 + SEI_PAYLOAD_SIZE];
  gsize n = 0, zeros = 0;

  rbsp[0] = SEI_USER_DATA_UNREGISTERED;
  rbsp[1] = SEI_PAYLOAD_SIZE;
  memcpy (rbsp + 2, CG_BENCH_SEI_UUID, CG_BENCH_SEI_UUID_LEN);
  put_be64 (rbsp + 2 + CG_BENCH_SEI_UUID_LEN, counter);
  put_be64 (rbsp + 2 + CG_BENCH_SEI_UUID_LEN + 8, (guint64) send_ns);
  rbsp[sizeof rbsp - 1] = 0x80;

  out[n++] = SEI_NAL_TYPE;
  for (gsize i = 0; i < sizeof rbsp; i++) {
    if (zeros >= 2 && rbsp[i] <= 3) {
      out[n++] = 3;
      zeros = 0;
    }
    out[n++] = rbsp[i];
    zeros = rbsp[i] == 0 ? zeros + 1 : 0;
  }
  g_assert (n <= CG_BENCH_SEI_MAX);
  return n;
}

gboolean
cg_bench_sei_parse (const guint8 *nal, gsize len, guint64 *counter, gint64 *send_ns)
{
  guint8 rbsp[2 + SEI_PAYLOAD_SIZE];
  gsize n = 0, zeros = 0;

  if (len < 1 || (nal[0] & 0x1f) != SEI_NAL_TYPE)
    return FALSE;
  for (gsize i = 1; i < len && n < sizeof rbsp; i++) {
    if (zeros >= 2 && nal[i] == 3) {
      zeros = 0;
      continue;
    }
    rbsp[n++] = nal[i];
    zeros = nal[i] == 0 ? zeros + 1 : 0;
  }
  if (n < sizeof rbsp || rbsp[0] != SEI_USER_DATA_UNREGISTERED || rbsp[1] != SEI_PAYLOAD_SIZE ||
      memcmp (rbsp + 2, CG_BENCH_SEI_UUID, CG_BENCH_SEI_UUID_LEN) != 0)
    return FALSE;
  *counter = get_be64 (rbsp + 2 + CG_BENCH_SEI_UUID_LEN);
  *send_ns = (gint64) get_be64 (rbsp + 2 + CG_BENCH_SEI_UUID_LEN + 8);
  return TRUE;
}

void
cg_bench_msg_clear (CgBenchMsg *msg)
{
  g_free (msg->method);
  g_free (msg->uri);
  if (msg->headers)
    g_ptr_array_unref (msg->headers);
  g_free (msg->body);
  memset (msg, 0, sizeof *msg);
}

const char *
cg_bench_msg_header (const CgBenchMsg *msg, const char *name)
{
  for (guint i = 0; i + 1 < msg->headers->len; i += 2)
    if (g_ascii_strcasecmp (msg->headers->pdata[i], name) == 0)
      return msg->headers->pdata[i + 1];
  return NULL;
}

/* parse_start_line: "METHOD URI RTSP/1.0" or "RTSP/1.0 CODE REASON". */
static gboolean
parse_start_line (const char *line, CgBenchMsg *msg, GError **error)
{
  g_auto (GStrv) w = g_strsplit (line, " ", 3);
  guint64 code;

  if (g_strv_length (w) >= 2 && g_str_has_prefix (w[0], "RTSP/1.")) {
    if (!g_ascii_string_to_unsigned (w[1], 10, 100, 999, &code, NULL))
      goto bad;
    msg->status = code;
    return TRUE;
  }
  if (g_strv_length (w) != 3 || !g_str_has_prefix (w[2], "RTSP/1.") || !*w[0] || !*w[1])
    goto bad;
  for (const char *c = w[0]; *c; c++)
    if (!g_ascii_isupper (*c) && *c != '_')
      goto bad;
  msg->method = g_strdup (w[0]);
  msg->uri = g_strdup (w[1]);
  return TRUE;

bad:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
               "not an RTSP request or status line: \"%.80s\"", line);
  return FALSE;
}

gssize
cg_bench_msg_parse (const guint8 *data, gsize len, CgBenchMsg *msg, GError **error)
{
  const char *text = (const char *) data;
  const char *end = g_strstr_len (text, MIN (len, CG_BENCH_MSG_MAX), "\r\n\r\n");
  g_auto (GStrv) lines = NULL;
  g_autofree char *head = NULL;
  const char *cl;
  guint64 body_len = 0;
  gsize head_len;

  memset (msg, 0, sizeof *msg);
  if (!end) {
    if (len < CG_BENCH_MSG_MAX && !memchr (data, 0, len))
      return 0;
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 "no end of RTSP headers within %d bytes, or a NUL byte in them",
                 CG_BENCH_MSG_MAX);
    return -1;
  }
  head_len = end - text;
  head = g_strndup (text, head_len);
  if (strlen (head) != head_len) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "a NUL byte in RTSP headers");
    return -1;
  }
  lines = g_strsplit (head, "\r\n", -1);
  if (!parse_start_line (lines[0], msg, error))
    goto fail;
  msg->headers = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 1; lines[i]; i++) {
    const char *colon = strchr (lines[i], ':');

    if (!colon || colon == lines[i]) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "RTSP header line without a name: \"%.80s\"", lines[i]);
      goto fail;
    }
    g_ptr_array_add (msg->headers, g_strndup (lines[i], colon - lines[i]));
    g_ptr_array_add (msg->headers, g_strstrip (g_strdup (colon + 1)));
  }
  cl = cg_bench_msg_header (msg, "Content-Length");
  if (cl && !g_ascii_string_to_unsigned (cl, 10, 0, CG_BENCH_MSG_MAX, &body_len, NULL)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 "Content-Length \"%.40s\" is no number up to %d", cl, CG_BENCH_MSG_MAX);
    goto fail;
  }
  if (len < head_len + 4 + body_len) {
    cg_bench_msg_clear (msg);
    return 0;
  }
  msg->body = g_strndup (text + head_len + 4, body_len);
  msg->body_len = body_len;
  return head_len + 4 + body_len;

fail:
  cg_bench_msg_clear (msg);
  return -1;
}
