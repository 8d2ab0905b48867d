/* Violation reports: what status and the log say about the kernel's
 * violation set elements, with time given (no sleeping). */
#include "violations.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#define SECONDS(s) ((gint64) (s) * G_USEC_PER_SEC)
#define NOW SECONDS (1795000000)

static CgViolationRecord
record (const char *src, const char *dst, guint8 proto, guint16 dport, guint64 packets,
        guint64 idle_ms)
{
  CgViolationRecord r = { 0 };

  r.family = strchr (src, ':') ? AF_INET6 : AF_INET;
  g_assert_cmpint (inet_pton (r.family, src, r.src), ==, 1);
  g_assert_cmpint (inet_pton (r.family, dst, r.dst), ==, 1);
  r.proto = proto;
  r.dport = dport;
  r.packets = packets;
  r.idle_ms = idle_ms;
  return r;
}

static CgViolations *
new_report (void)
{
  CgViolations *v = cg_violations_new ();
  g_autoptr (GHashTable) cameras = g_hash_table_new (g_str_hash, g_str_equal);

  g_hash_table_insert (cameras, "10.20.0.11", "front-door");
  g_hash_table_insert (cameras, "fd00:20::11", "front-door");
  g_hash_table_insert (cameras, "10.20.0.12", "yard");
  cg_violations_set_cameras (v, cameras);
  return v;
}

/* The report as JSON. transfer full */
static JsonArray *
report (CgViolations *v)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  cg_violations_build_status (v, b);
  root = json_builder_get_root (b);
  return json_array_ref (json_node_get_array (root));
}

static JsonObject *
find (JsonArray *a, const char *camera, const char *proto, gint64 dport)
{
  for (guint i = 0; i < json_array_get_length (a); i++) {
    JsonObject *o = json_array_get_object_element (a, i);
    JsonNode *port = json_object_get_member (o, "dport");

    if (g_strcmp0 (json_object_get_string_member (o, "camera"), camera) == 0 &&
        g_str_equal (json_object_get_string_member (o, "proto"), proto) &&
        (dport < 0 ? JSON_NODE_HOLDS_NULL (port) : json_node_get_int (port) == dport))
      return o;
  }
  g_error ("no entry for %s %s/%" G_GINT64_FORMAT, camera, proto, dport);
}

static const char *
pattern (JsonObject *o)
{
  return json_object_get_string_member_with_default (o, "pattern", NULL);
}

static void
assert_line (GPtrArray *log, guint i, const char *expected)
{
  g_assert_cmpuint (log->len, >, i);
  g_assert_cmpstr (g_ptr_array_index (log, i), ==, expected);
}

static void
test_contract_fields (void)
{
  g_autoptr (CgViolations) v = new_report ();
  g_autoptr (GPtrArray) log = g_ptr_array_new_with_free_func (g_free);
  CgViolationRecord r = record ("10.20.0.11", "203.0.113.9", IPPROTO_TCP, 23, 12, 2000);
  g_autoptr (JsonArray) a = NULL;
  JsonObject *o;

  cg_violations_update (v, &r, 1, NOW, log);
  a = report (v);
  g_assert_cmpuint (json_array_get_length (a), ==, 1);
  o = json_array_get_object_element (a, 0);
  g_assert_cmpstr (json_object_get_string_member (o, "camera"), ==, "front-door");
  g_assert_cmpstr (json_object_get_string_member (o, "src"), ==, "10.20.0.11");
  g_assert_cmpstr (json_object_get_string_member (o, "dst"), ==, "203.0.113.9");
  g_assert_cmpstr (json_object_get_string_member (o, "proto"), ==, "tcp");
  g_assert_cmpint (json_object_get_int_member (o, "dport"), ==, 23);
  g_assert_cmpint (json_object_get_int_member (o, "packets"), ==, 12);
  g_assert_cmpstr (pattern (o), ==, "telnet-scan");
  /* The last packet was 2 s before the read. */
  g_assert_cmpstr (json_object_get_string_member (o, "last_seen"), ==, "2026-11-18T11:06:38Z");
  g_assert_cmpint (json_object_get_int_member (o, "destinations"), ==, 1);
  g_assert_cmpuint (log->len, ==, 1);
  assert_line (log, 0, "[front-door] blocked tcp/23 to 203.0.113.9: 12 packets (telnet-scan)");
}

static void
test_log_is_summarised (void)
{
  g_autoptr (CgViolations) v = new_report ();
  g_autoptr (GPtrArray) log = g_ptr_array_new_with_free_func (g_free);
  CgViolationRecord r = record ("10.20.0.12", "192.0.2.2", IPPROTO_TCP, 80, 3, 0);

  cg_violations_update (v, &r, 1, NOW, log);
  assert_line (log, 0, "[yard] blocked tcp/80 to 192.0.2.2: 3 packets");
  /* More packets within a minute: no new line, but status counts them. */
  r.packets = 50;
  cg_violations_update (v, &r, 1, NOW + SECONDS (10), log);
  g_assert_cmpuint (log->len, ==, 1);
  {
    g_autoptr (JsonArray) a = report (v);
    g_assert_cmpint (json_object_get_int_member (find (a, "yard", "tcp", 80), "packets"), ==, 50);
  }
  /* A minute after the last line, one line for the growth. */
  r.packets = 900;
  cg_violations_update (v, &r, 1, NOW + SECONDS (61), log);
  assert_line (log, 1, "[yard] still blocked tcp/80 to 192.0.2.2: 900 packets");
  /* No growth: no line, however long. */
  cg_violations_update (v, &r, 1, NOW + SECONDS (600), log);
  g_assert_cmpuint (log->len, ==, 2);
  /* Expired in the kernel: gone from the report. */
  cg_violations_update (v, NULL, 0, NOW + SECONDS (4000), log);
  g_assert_cmpuint (cg_violations_count (v), ==, 0);
}

static void
test_scan_is_one_entry (void)
{
  g_autoptr (CgViolations) v = new_report ();
  g_autoptr (GPtrArray) log = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GArray) records = g_array_new (FALSE, FALSE, sizeof (CgViolationRecord));
  g_autoptr (JsonArray) a = NULL;
  JsonObject *o;
  JsonArray *top;

  /* 10,000 destinations on port 80 within half a second. */
  for (guint i = 0; i < 10000; i++) {
    g_autofree char *dst = g_strdup_printf ("198.18.%u.%u", i / 250, 1 + i % 250);
    CgViolationRecord r = record ("10.20.0.11", dst, IPPROTO_TCP, 80, 1 + (i == 777) * 9 +
                                  (i == 4242) * 4, i / 20);
    g_array_append_val (records, r);
  }
  cg_violations_update (v, (CgViolationRecord *) (void *) records->data, records->len, NOW, log);
  g_assert_cmpuint (cg_violations_count (v), ==, 1);
  a = report (v);
  o = find (a, "front-door", "tcp", 80);
  g_assert_cmpint (json_object_get_int_member (o, "destinations"), ==, 10000);
  g_assert_cmpint (json_object_get_int_member (o, "packets"), ==, 10000 + 9 + 4);
  g_assert_cmpstr (pattern (o), ==, "host-scan");
  g_assert_cmpstr (json_object_get_string_member (o, "dst"), ==, "198.18.3.28");
  top = json_object_get_array_member (o, "top_destinations");
  g_assert_cmpuint (json_array_get_length (top), ==, CG_VIOLATIONS_TOP);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (top, 0),
                                               "packets"), ==, 10);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (top, 1),
                                                  "dst"), ==, "198.18.16.243");
  assert_line (log, 0, "[front-door] blocked tcp/80 to 10000 destinations (most to 198.18.3.28): "
               "10013 packets (host-scan)");
}

static void
test_slow_destinations_are_no_scan (void)
{
  g_autoptr (CgViolations) v = new_report ();
  g_autoptr (GPtrArray) log = g_ptr_array_new_with_free_func (g_free);
  CgViolationRecord r[2] = { record ("10.20.0.11", "203.0.113.1", IPPROTO_TCP, 443, 5, 0),
                             record ("10.20.0.11", "203.0.113.2", IPPROTO_TCP, 443, 5, 0) };
  g_autoptr (JsonArray) a = NULL;

  cg_violations_update (v, r, 1, NOW, log);
  cg_violations_update (v, r, 2, NOW + SECONDS (5), log);
  a = report (v);
  g_assert_null (pattern (find (a, "front-door", "tcp", 443)));
}

static void
test_public_dns (void)
{
  g_autoptr (CgViolations) v = new_report ();
  g_autoptr (GPtrArray) log = g_ptr_array_new_with_free_func (g_free);
  CgViolationRecord r[3] = { record ("10.20.0.11", "8.8.8.8", IPPROTO_UDP, 53, 4, 0),
                             record ("10.20.0.12", "192.168.1.1", IPPROTO_UDP, 53, 4, 0),
                             record ("fd00:20::11", "2001:4860:4860::8888", IPPROTO_TCP, 53, 2,
                                     0) };
  g_autoptr (JsonArray) a = NULL;

  cg_violations_update (v, r, 3, NOW, log);
  a = report (v);
  g_assert_cmpstr (pattern (find (a, "front-door", "udp", 53)), ==, "public-dns");
  g_assert_cmpstr (pattern (find (a, "front-door", "tcp", 53)), ==, "public-dns");
  /* A resolver on the site LAN is not the Internet. */
  g_assert_null (pattern (find (a, "yard", "udp", 53)));
}

static void
test_ports_fold (void)
{
  g_autoptr (CgViolations) v = new_report ();
  g_autoptr (GPtrArray) log = g_ptr_array_new_with_free_func (g_free);
  CgViolationRecord r[40];
  g_autoptr (JsonArray) a = NULL;
  JsonObject *o;

  for (guint i = 0; i < G_N_ELEMENTS (r); i++)
    r[i] = record ("10.20.0.12", "10.20.0.11", IPPROTO_TCP, 1000 + i, 100 - i, 0);
  cg_violations_update (v, r, G_N_ELEMENTS (r), NOW, log);
  g_assert_cmpuint (cg_violations_count (v), ==, CG_VIOLATIONS_PORTS_PER_SOURCE + 1);
  a = report (v);
  /* The busiest ports keep their entries; the rest fold into one. */
  find (a, "yard", "tcp", 1000);
  find (a, "yard", "tcp", 1000 + CG_VIOLATIONS_PORTS_PER_SOURCE - 1);
  o = find (a, "yard", "tcp", -1);
  g_assert_cmpint (json_object_get_int_member (o, "ports"), ==, 40 - CG_VIOLATIONS_PORTS_PER_SOURCE);
  g_assert_cmpstr (pattern (o), ==, "port-scan");
}

static void
test_unknown_sources (void)
{
  g_autoptr (CgViolations) v = new_report ();
  g_autoptr (GPtrArray) log = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GArray) records = g_array_new (FALSE, FALSE, sizeof (CgViolationRecord));
  CgNflogPacket packet = { 0 };
  g_autoptr (JsonArray) a = NULL;
  gboolean found_mac = FALSE, found_fold = FALSE;

  for (guint i = 0; i < 40; i++) {
    g_autofree char *src = g_strdup_printf ("10.20.0.%u", 100 + i);
    /* The first is the busiest: its line comes first. */
    CgViolationRecord r = record (src, "203.0.113.9", IPPROTO_UDP, 5000, i == 0 ? 5 : 1, 0);
    g_array_append_val (records, r);
  }
  packet.family = AF_INET;
  inet_pton (AF_INET, "10.20.0.100", packet.src);
  packet.has_mac = TRUE;
  memcpy (packet.mac, ((guint8[]) { 0x02, 0, 0, 0, 0, 0x64 }), 6);
  cg_violations_note_packet (v, &packet);
  cg_violations_update (v, (CgViolationRecord *) (void *) records->data, records->len, NOW, log);
  g_assert_cmpuint (cg_violations_count (v), ==, CG_VIOLATIONS_MAX_UNKNOWN + 1);
  a = report (v);
  for (guint i = 0; i < json_array_get_length (a); i++) {
    JsonObject *o = json_array_get_object_element (a, i);
    const char *src = json_object_get_string_member (o, "src");

    g_assert_null (json_object_get_string_member (o, "camera"));
    if (g_strcmp0 (src, "10.20.0.100") == 0) {
      g_assert_cmpstr (json_object_get_string_member (o, "mac"), ==, "02:00:00:00:00:64");
      found_mac = TRUE;
    }
    if (!src) {
      g_assert_cmpint (json_object_get_int_member (o, "packets"), ==,
                       40 - CG_VIOLATIONS_MAX_UNKNOWN);
      found_fold = TRUE;
    }
  }
  g_assert_true (found_mac && found_fold);
  g_assert_true (g_ptr_array_find_with_equal_func (
      log, "[unknown source 10.20.0.100 (MAC 02:00:00:00:00:64)] blocked udp/5000 to "
      "203.0.113.9: 5 packets", g_str_equal, NULL));
}

static void
test_log_lines_are_capped (void)
{
  g_autoptr (CgViolations) v = new_report ();
  g_autoptr (GPtrArray) log = g_ptr_array_new_with_free_func (g_free);
  CgViolationRecord r[30];

  for (guint i = 0; i < G_N_ELEMENTS (r); i++) {
    g_autofree char *src = g_strdup_printf ("10.20.0.%u", 100 + i);
    r[i] = record (src, "203.0.113.9", IPPROTO_UDP, 5000, 1, 0);
  }
  cg_violations_update (v, r, G_N_ELEMENTS (r), NOW, log);
  g_assert_cmpuint (log->len, ==, CG_VIOLATIONS_LOG_LINES + 1);
  assert_line (log, CG_VIOLATIONS_LOG_LINES,
               "... and 10 more violation entries (camgate status lists them all)");
}

static void
test_monitor_mode (void)
{
  g_autoptr (CgViolations) v = new_report ();
  g_autoptr (GPtrArray) log = g_ptr_array_new_with_free_func (g_free);
  CgViolationRecord r = record ("10.20.0.11", "203.0.113.9", IPPROTO_ICMP, 0, 1, 0);
  g_autoptr (JsonArray) a = NULL;

  cg_violations_set_blocking (v, FALSE);
  cg_violations_update (v, &r, 1, NOW, log);
  assert_line (log, 0, "[front-door] seen (monitor mode, not blocked) icmp to 203.0.113.9: "
               "1 packet");
  a = report (v);
  g_assert_true (JSON_NODE_HOLDS_NULL (json_object_get_member (find (a, "front-door", "icmp", -1),
                                                               "dport")));
}

static void
test_key_parse (void)
{
  const guint8 v4[16] = { 10, 20, 0, 11, 203, 0, 113, 9, IPPROTO_TCP, 0, 0, 0, 0x09, 0x13, 0, 0 };
  guint8 v6[40] = { 0 };
  CgViolationRecord r;

  g_assert_true (cg_violation_key_parse (v4, sizeof v4, &r));
  g_assert_cmpint (r.family, ==, AF_INET);
  g_assert_cmpuint (r.src[3], ==, 11);
  g_assert_cmpuint (r.dst[0], ==, 203);
  g_assert_cmpuint (r.proto, ==, IPPROTO_TCP);
  g_assert_cmpuint (r.dport, ==, 2323);
  v6[0] = 0xfd;
  v6[31] = 0x53;
  v6[32] = IPPROTO_UDP;
  v6[37] = 53;
  g_assert_true (cg_violation_key_parse (v6, sizeof v6, &r));
  g_assert_cmpint (r.family, ==, AF_INET6);
  g_assert_cmpuint (r.src[0], ==, 0xfd);
  g_assert_cmpuint (r.dst[15], ==, 0x53);
  g_assert_cmpuint (r.proto, ==, IPPROTO_UDP);
  g_assert_cmpuint (r.dport, ==, 53);
  g_assert_false (cg_violation_key_parse (v4, 12, &r));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/violations/contract-fields", test_contract_fields);
  g_test_add_func ("/violations/log-is-summarised", test_log_is_summarised);
  g_test_add_func ("/violations/scan-is-one-entry", test_scan_is_one_entry);
  g_test_add_func ("/violations/slow-destinations-are-no-scan", test_slow_destinations_are_no_scan);
  g_test_add_func ("/violations/public-dns", test_public_dns);
  g_test_add_func ("/violations/ports-fold", test_ports_fold);
  g_test_add_func ("/violations/unknown-sources", test_unknown_sources);
  g_test_add_func ("/violations/log-lines-are-capped", test_log_lines_are_capped);
  g_test_add_func ("/violations/monitor-mode", test_monitor_mode);
  g_test_add_func ("/violations/key-parse", test_key_parse);
  return g_test_run ();
}
