/* What the relay benchmark's fixtures (cg-benchcam, cg-benchingest) share:
 * the H.264 SEI that carries a frame's counter and send time from the
 * camera to the ingest through whatever relays it, and a small RTSP message
 * parser for the requests and responses they read off the network.
 *
 * The parser takes bytes as they arrive and never trusts them: a message
 * that is malformed or too big is an error naming what is wrong, never a
 * crash. */
#pragma once

#include <gio/gio.h>

/* The SEI's user_data_unregistered UUID: "camgate-bench-v1". */
#define CG_BENCH_SEI_UUID "camgate-bench-v1"
#define CG_BENCH_SEI_UUID_LEN 16
/* An SEI NAL unit with emulation prevention never exceeds this. */
#define CG_BENCH_SEI_MAX 64

/* Largest RTSP header block and body the fixtures accept. */
#define CG_BENCH_MSG_MAX (64 * 1024)

/* cg_bench_sei_build: writes into OUT (CG_BENCH_SEI_MAX bytes) an SEI NAL
 * unit (header byte included, no start code) carrying COUNTER and SEND_NS
 * (CLOCK_MONOTONIC); returns its size. */
gsize cg_bench_sei_build (guint8 *out, guint64 counter, gint64 send_ns);

/* cg_bench_sei_parse: TRUE if NAL (header byte included) is the benchmark's
 * SEI; then sets COUNTER and SEND_NS. Reads at most LEN bytes. */
gboolean cg_bench_sei_parse (const guint8 *nal, gsize len, guint64 *counter, gint64 *send_ns);

/* cg_bench_now_ns: CLOCK_MONOTONIC in nanoseconds. */
gint64 cg_bench_now_ns (void);

typedef struct {
  char *method;                 /* a request's method, or NULL for a response */
  char *uri;                    /* a request's URI */
  guint status;                 /* a response's status code */
  GPtrArray *headers;           /* element-type char*: name, value, name, value… */
  char *body;                   /* NUL-terminated; body_len bytes */
  gsize body_len;
} CgBenchMsg;

/* cg_bench_msg_parse: parses one RTSP message at the start of DATA (LEN
 * bytes). Returns the bytes it took (and fills MSG, which the caller clears
 * with cg_bench_msg_clear), 0 if the message is not complete yet, or -1 with
 * ERROR set when the bytes are no RTSP message or exceed CG_BENCH_MSG_MAX. */
gssize cg_bench_msg_parse (const guint8 *data, gsize len, CgBenchMsg *msg, GError **error);

void cg_bench_msg_clear (CgBenchMsg *msg);

/* cg_bench_msg_header: the value of header NAME (case-insensitive), or NULL. */
const char *cg_bench_msg_header (const CgBenchMsg *msg, const char *name);
