/* Violation reports (see violations.h). Each update rebuilds the report
 * from the kernel's elements in three passes: aggregate per source,
 * protocol and port; fold each source's quieter ports; then carry over what
 * the previous report knew (first seen, patterns, what was logged). */
#define G_LOG_DOMAIN "camgate-rules"

#include "violations.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "json.h"

#define DEFAULT_MAX_MACS 256
#define PORT_FOLD (-1)                  /* dport of an entry that folds several ports */
#define US_PER_S G_USEC_PER_SEC

typedef struct {
  int family;
  guint8 addr[16];
  guint64 packets;
} Top;

typedef struct {
  char *who;                  /* "cam:ID", "src:ADDR" or "unknown": the source */
  char *camera;               /* NULL for a source that is no configured camera */
  char *src;                  /* NULL for the fold of unknown sources */
  guint8 proto;               /* 0 in a fold of several protocols */
  int dport;                  /* PORT_FOLD in a fold */
  guint ports;                /* in a fold: the ports it holds */
  guint64 packets;
  guint destinations;
  Top top[CG_VIOLATIONS_TOP];
  gint64 oldest_us;           /* the earliest last packet among its elements */
  gint64 last_seen_us;
  gint64 first_seen_us;
  const char *pattern;
  gint64 updated_us;          /* when this report was made */
  guint64 logged_packets;
  gint64 logged_us;
  const char *logged_pattern;
} Entry;

struct _CgViolations {
  GHashTable *cameras;        /* address string -> camera id */
  GHashTable *macs;           /* address string -> "aa:bb:..." */
  GHashTable *entries;        /* key -> Entry */
  gboolean blocking;
};

static void
entry_free (gpointer data)
{
  Entry *e = data;

  g_free (e->who);
  g_free (e->camera);
  g_free (e->src);
  g_free (e);
}

CgViolations *
cg_violations_new (void)
{
  CgViolations *v = g_new0 (CgViolations, 1);

  v->cameras = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  v->macs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  v->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, entry_free);
  v->blocking = TRUE;
  return v;
}

void
cg_violations_free (CgViolations *v)
{
  if (!v)
    return;
  g_hash_table_unref (v->cameras);
  g_hash_table_unref (v->macs);
  g_hash_table_unref (v->entries);
  g_free (v);
}

void
cg_violations_set_cameras (CgViolations *v, GHashTable *addresses)
{
  GHashTableIter it;
  gpointer addr, id;

  g_hash_table_remove_all (v->cameras);
  g_hash_table_iter_init (&it, addresses);
  while (g_hash_table_iter_next (&it, &addr, &id))
    g_hash_table_insert (v->cameras, g_strdup (addr), g_strdup (id));
}

void
cg_violations_set_blocking (CgViolations *v, gboolean blocking)
{
  v->blocking = blocking;
}

static char *
address_string (int family, const guint8 *addr)
{
  char text[INET6_ADDRSTRLEN];

  return g_strdup (inet_ntop (family, addr, text, sizeof text) ? text : "?");
}

void
cg_violations_note_packet (CgViolations *v, const CgNflogPacket *packet)
{
  const guint8 *m = packet->mac;

  if (!packet->has_mac)
    return;
  if (g_hash_table_size (v->macs) >= DEFAULT_MAX_MACS)
    g_hash_table_remove_all (v->macs);
  g_hash_table_insert (v->macs, address_string (packet->family, packet->src),
                       g_strdup_printf ("%02x:%02x:%02x:%02x:%02x:%02x",
                                        m[0], m[1], m[2], m[3], m[4], m[5]));
}

/* ---- pass 1: aggregate ----------------------------------------------------- */

static void
add_top (Entry *e, int family, const guint8 *addr, guint64 packets)
{
  guint i = e->destinations < CG_VIOLATIONS_TOP ? e->destinations : CG_VIOLATIONS_TOP;

  /* Insertion into a sorted array of at most CG_VIOLATIONS_TOP. */
  while (i > 0 && e->top[i - 1].packets < packets) {
    if (i < CG_VIOLATIONS_TOP)
      e->top[i] = e->top[i - 1];
    i--;
  }
  if (i < CG_VIOLATIONS_TOP) {
    e->top[i].family = family;
    memcpy (e->top[i].addr, addr, sizeof e->top[i].addr);
    e->top[i].packets = packets;
  }
}

static void
merge_into (Entry *into, const Entry *e)
{
  for (guint i = 0; i < MIN (e->destinations, (guint) CG_VIOLATIONS_TOP); i++) {
    add_top (into, e->top[i].family, e->top[i].addr, e->top[i].packets);
    into->destinations++;
  }
  /* Destinations beyond each entry's top count too, not ranked. */
  if (e->destinations > CG_VIOLATIONS_TOP)
    into->destinations += e->destinations - CG_VIOLATIONS_TOP;
  into->packets += e->packets;
  into->last_seen_us = MAX (into->last_seen_us, e->last_seen_us);
  into->oldest_us = MIN (into->oldest_us, e->oldest_us);
}

static Entry *
entry_new (const char *who, const char *camera, const char *src, guint8 proto, int dport)
{
  Entry *e = g_new0 (Entry, 1);

  e->who = g_strdup (who);
  e->camera = g_strdup (camera);
  e->src = g_strdup (src);
  e->proto = proto;
  e->dport = dport;
  e->oldest_us = G_MAXINT64;
  return e;
}

static char *
entry_key (const Entry *e)
{
  return g_strdup_printf ("%s|%u|%d", e->who, e->proto, e->dport);
}

/* Aggregates @records per source, protocol and port: a hash table
 * key -> Entry. transfer full */
static GHashTable *
aggregate (CgViolations *v, const CgViolationRecord *records, guint n, gint64 now_us)
{
  GHashTable *entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, entry_free);
  g_autoptr (GHashTable) unknown = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < n; i++) {
    const CgViolationRecord *r = &records[i];
    g_autofree char *src = address_string (r->family, r->src);
    const char *camera = g_hash_table_lookup (v->cameras, src);
    g_autofree char *who = NULL, *key = NULL;
    gint64 seen = now_us - (gint64) MIN (r->idle_ms, (guint64) G_MAXINT64 / 1000) * 1000;
    Entry *e;

    if (camera) {
      who = g_strconcat ("cam:", camera, NULL);
    } else if (g_hash_table_contains (unknown, src) ||
               g_hash_table_size (unknown) < CG_VIOLATIONS_MAX_UNKNOWN) {
      who = g_strconcat ("src:", src, NULL);
      g_hash_table_add (unknown, g_strdup (src));
    } else {
      who = g_strdup ("unknown");
      g_clear_pointer (&src, g_free);
    }
    key = g_strdup_printf ("%s|%u|%d", who, r->proto, r->dport);
    if (!(e = g_hash_table_lookup (entries, key))) {
      e = entry_new (who, camera, src, r->proto, r->dport);
      g_hash_table_insert (entries, g_steal_pointer (&key), e);
    }
    add_top (e, r->family, r->dst, r->packets);
    e->destinations++;
    e->packets += r->packets;
    e->last_seen_us = MAX (e->last_seen_us, seen);
    e->oldest_us = MIN (e->oldest_us, seen);
  }
  return entries;
}

/* ---- pass 2: fold ---------------------------------------------------------- */

static int
by_packets_desc (gconstpointer a, gconstpointer b)
{
  const Entry *x = *(Entry *const *) a, *y = *(Entry *const *) b;

  return x->packets < y->packets ? 1 : x->packets > y->packets ? -1 : 0;
}

/* Keeps each source's busiest CG_VIOLATIONS_PORTS_PER_SOURCE entries and
 * folds the rest into one. */
static void
fold (GHashTable *entries)
{
  g_autoptr (GHashTable) by_who = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                         (GDestroyNotify) g_ptr_array_unref);
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, entries);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    Entry *e = value;
    GPtrArray *list = g_hash_table_lookup (by_who, e->who);

    if (!list)
      g_hash_table_insert (by_who, e->who, (list = g_ptr_array_new ()));
    g_ptr_array_add (list, e);
  }
  g_hash_table_iter_init (&it, by_who);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    GPtrArray *list = value;
    Entry *first, *folded;

    if (list->len <= CG_VIOLATIONS_PORTS_PER_SOURCE)
      continue;
    g_ptr_array_sort (list, by_packets_desc);
    first = g_ptr_array_index (list, CG_VIOLATIONS_PORTS_PER_SOURCE);
    folded = entry_new (first->who, first->camera, first->src, first->proto, PORT_FOLD);
    for (guint i = CG_VIOLATIONS_PORTS_PER_SOURCE; i < list->len; i++) {
      Entry *e = g_ptr_array_index (list, i);
      g_autofree char *key = entry_key (e);

      if (e->proto != folded->proto)
        folded->proto = 0;
      merge_into (folded, e);
      folded->ports++;
      g_hash_table_remove (entries, key);
    }
    g_hash_table_insert (entries, entry_key (folded), folded);
  }
}

/* ---- pass 3: patterns, carry-over and the log ------------------------------ */

/* Global unicast: not private, loopback, link-local, shared (CGNAT),
 * multicast or unspecified. */
static gboolean
is_public (int family, const guint8 *a)
{
  if (family == AF_INET)
    return !(a[0] == 0 || a[0] == 10 || a[0] == 127 || a[0] >= 224 ||
             (a[0] == 169 && a[1] == 254) || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
             (a[0] == 192 && a[1] == 168) || (a[0] == 100 && (a[1] & 0xc0) == 64));
  return (a[0] & 0xe0) == 0x20;         /* 2000::/3 */
}

static const char *
pattern_for (const Entry *e, const Entry *old)
{
  gint64 since_us, new_destinations;

  if (e->dport == PORT_FOLD)
    return "port-scan";
  if (e->proto == IPPROTO_TCP && (e->dport == 23 || e->dport == 2323))
    return "telnet-scan";
  if (e->dport == 53 && (e->proto == IPPROTO_UDP || e->proto == IPPROTO_TCP))
    for (guint i = 0; i < MIN (e->destinations, (guint) CG_VIOLATIONS_TOP); i++)
      if (is_public (e->top[i].family, e->top[i].addr))
        return "public-dns";
  if (old && old->pattern)
    return old->pattern;
  /* New destinations since the last report, or since the entry's oldest
   * element for a new entry; over at least a second. */
  since_us = old ? old->updated_us : e->oldest_us;
  new_destinations = (gint64) e->destinations - (old ? (gint64) old->destinations : 0);
  if (new_destinations >= CG_VIOLATIONS_SCAN_RATE &&
      new_destinations * US_PER_S >= CG_VIOLATIONS_SCAN_RATE * MAX (e->updated_us - since_us,
                                                                    US_PER_S))
    return "host-scan";
  return NULL;
}

static char *
proto_name (guint8 proto)
{
  switch (proto) {
  case 0: return g_strdup ("any");
  case IPPROTO_TCP: return g_strdup ("tcp");
  case IPPROTO_UDP: return g_strdup ("udp");
  case IPPROTO_ICMP: return g_strdup ("icmp");
  case IPPROTO_ICMPV6: return g_strdup ("icmpv6");
  case IPPROTO_SCTP: return g_strdup ("sctp");
  case IPPROTO_UDPLITE: return g_strdup ("udplite");
  case IPPROTO_GRE: return g_strdup ("gre");
  default: return g_strdup_printf ("%u", proto);
  }
}

/* "tcp/23", "icmp", "tcp, 40 more ports" */
static char *
what_string (const Entry *e)
{
  g_autofree char *proto = proto_name (e->proto);

  if (e->dport == PORT_FOLD)
    return g_strdup_printf ("%s on %u more ports", proto, e->ports);
  if (e->proto == IPPROTO_TCP || e->proto == IPPROTO_UDP || e->dport != 0)
    return g_strdup_printf ("%s/%d", proto, e->dport);
  return g_steal_pointer (&proto);
}

static char *
who_string (CgViolations *v, const Entry *e)
{
  const char *mac;

  if (e->camera)
    return g_strdup (e->camera);
  if (!e->src)
    return g_strdup_printf ("more than %d unknown sources", CG_VIOLATIONS_MAX_UNKNOWN);
  if ((mac = g_hash_table_lookup (v->macs, e->src)))
    return g_strdup_printf ("unknown source %s (MAC %s)", e->src, mac);
  return g_strdup_printf ("unknown source %s", e->src);
}

static char *
log_line (CgViolations *v, const Entry *e, gboolean is_new)
{
  g_autofree char *who = who_string (v, e), *what = what_string (e);
  g_autofree char *dst = address_string (e->top[0].family, e->top[0].addr);
  g_autofree char *to = e->destinations == 1 ? g_strdup_printf ("to %s", dst)
      : g_strdup_printf ("to %u destinations (most to %s)", e->destinations, dst);
  const char *verb = v->blocking ? "blocked" : "seen (monitor mode, not blocked)";

  return g_strdup_printf ("[%s] %s%s %s %s: %" G_GUINT64_FORMAT " packet%s%s%s%s", who,
                          is_new ? "" : "still ", verb, what, to, e->packets,
                          e->packets == 1 ? "" : "s", e->pattern ? " (" : "",
                          e->pattern ? e->pattern : "", e->pattern ? ")" : "");
}

static int
by_last_seen_desc (gconstpointer a, gconstpointer b)
{
  const Entry *x = *(Entry *const *) a, *y = *(Entry *const *) b;

  if (x->last_seen_us != y->last_seen_us)
    return x->last_seen_us < y->last_seen_us ? 1 : -1;
  return by_packets_desc (a, b);
}

/* The entries, newest first. transfer container */
static GPtrArray *
sorted_entries (CgViolations *v)
{
  GPtrArray *list = g_ptr_array_sized_new (g_hash_table_size (v->entries));
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, v->entries);
  while (g_hash_table_iter_next (&it, NULL, &value))
    g_ptr_array_add (list, value);
  g_ptr_array_sort (list, by_last_seen_desc);
  return list;
}

void
cg_violations_update (CgViolations *v, const CgViolationRecord *records, guint n_records,
                      gint64 now_us, GPtrArray *log)
{
  GHashTable *entries = aggregate (v, records, n_records, now_us);
  g_autoptr (GPtrArray) list = NULL;
  GHashTableIter it;
  gpointer key, value;
  guint lines = 0, more = 0;

  fold (entries);
  g_hash_table_iter_init (&it, entries);
  while (g_hash_table_iter_next (&it, &key, &value)) {
    Entry *e = value;
    const Entry *old = g_hash_table_lookup (v->entries, key);

    e->updated_us = now_us;
    e->first_seen_us = old ? old->first_seen_us : MIN (e->oldest_us, now_us);
    e->pattern = pattern_for (e, old);
    if (old) {
      e->logged_packets = old->logged_packets;
      e->logged_us = old->logged_us;
      e->logged_pattern = old->logged_pattern;
    }
  }
  g_hash_table_unref (v->entries);
  v->entries = entries;

  list = sorted_entries (v);
  for (guint i = 0; i < list->len; i++) {
    Entry *e = g_ptr_array_index (list, i);
    gboolean is_new = e->logged_us == 0;
    gboolean grew = e->packets > e->logged_packets &&
                    now_us - e->logged_us >= CG_VIOLATIONS_RELOG_S * US_PER_S;

    if (!is_new && !grew && e->pattern == e->logged_pattern)
      continue;
    if (lines++ < CG_VIOLATIONS_LOG_LINES)
      g_ptr_array_add (log, log_line (v, e, is_new));
    else
      more++;
    e->logged_packets = e->packets;
    e->logged_us = now_us;
    e->logged_pattern = e->pattern;
  }
  if (more)
    g_ptr_array_add (log, g_strdup_printf ("... and %u more violation entries "
                                           "(camgate status lists them all)", more));
}

guint
cg_violations_count (CgViolations *v)
{
  return g_hash_table_size (v->entries);
}

static void
build_entry (CgViolations *v, const Entry *e, JsonBuilder *b)
{
  g_autofree char *proto = proto_name (e->proto);
  g_autofree char *dst = address_string (e->top[0].family, e->top[0].addr);

  json_builder_begin_object (b);
  cg_json_add_string_or_null (b, "camera", e->camera);
  if (!e->camera)
    cg_json_add_string_or_null (b, "mac", e->src ? g_hash_table_lookup (v->macs, e->src) : NULL);
  cg_json_add_string_or_null (b, "src", e->src);
  cg_json_add_string_or_null (b, "dst", dst);
  cg_json_add_string_or_null (b, "proto", proto);
  json_builder_set_member_name (b, "dport");
  if (e->dport == PORT_FOLD || (e->dport == 0 && e->proto != IPPROTO_TCP &&
                                e->proto != IPPROTO_UDP))
    json_builder_add_null_value (b);
  else
    json_builder_add_int_value (b, e->dport);
  if (e->dport == PORT_FOLD) {
    cg_json_add_int (b, "ports", e->ports);
  }
  cg_json_add_int (b, "packets", (gint64) MIN (e->packets, (guint64) G_MAXINT64));
  cg_json_add_string_or_null (b, "pattern", e->pattern);
  cg_json_add_time (b, "last_seen", e->last_seen_us);
  cg_json_add_time (b, "first_seen", e->first_seen_us);
  cg_json_add_int (b, "destinations", e->destinations);
  json_builder_set_member_name (b, "top_destinations");
  json_builder_begin_array (b);
  for (guint i = 0; i < MIN (e->destinations, (guint) CG_VIOLATIONS_TOP); i++) {
    g_autofree char *addr = address_string (e->top[i].family, e->top[i].addr);

    json_builder_begin_object (b);
    cg_json_add_string_or_null (b, "dst", addr);
    cg_json_add_int (b, "packets", (gint64) MIN (e->top[i].packets, (guint64) G_MAXINT64));
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

void
cg_violations_build_status (CgViolations *v, JsonBuilder *b)
{
  g_autoptr (GPtrArray) list = sorted_entries (v);

  json_builder_begin_array (b);
  for (guint i = 0; i < list->len; i++)
    build_entry (v, g_ptr_array_index (list, i), b);
  json_builder_end_array (b);
}
