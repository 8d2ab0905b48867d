/* The isolation ruleset: a pure function from the configuration to one
 * nftables netlink batch (libnftnl), so that tests parse it back without root
 * and the kernel applies it as one atomic transaction (rules/nft.h).
 *
 * What the batch installs, in nft syntax (IFACES, CAMERAS from the config):
 *
 *   table inet camgate {                        # replaced whole, atomically
 *     set camera_ifaces { type ifname; elements = { IFACES } }
 *     set cameras4 { type ipv4_addr; elements = { camera addresses } }
 *     set cameras6 { type ipv6_addr; ... }
 *     counter cam_ID { }                        # one per camera: its blocked packets
 *     counter unknown { }                       # blocked packets from no configured camera
 *     map camera_counters4 { type ipv4_addr : counter; elements = { ADDR : "cam_ID" } }
 *     map camera_counters6 { type ipv6_addr : counter; ... }
 *     set allow4 { type ipv4_addr . ipv4_addr; flags timeout; }   # camera . peer (rules allow)
 *     set allow6 { type ipv6_addr . ipv6_addr; flags timeout; }
 *     set violations4 { type ipv4_addr . ipv4_addr . inet_proto . inet_service;
 *                       size 65535; flags dynamic, timeout; timeout 1h; }  # counter per element
 *     set violations6 { type ipv6_addr . ipv6_addr . inet_proto . inet_service; ... }
 *     set newconn4 { type ipv4_addr; size 65535; flags dynamic, timeout; timeout 10s; }
 *     set newconn6 { type ipv6_addr; size 65535; flags dynamic, timeout; timeout 10s; }
 *
 *     chain input   { type filter hook input priority filter - 10; policy accept;
 *                     iifname @camera_ifaces jump camera_to_gateway }
 *     chain forward { type filter hook forward priority filter - 10; policy accept;
 *                     iifname @camera_ifaces jump camera_forward
 *                     oifname @camera_ifaces jump into_cameras }
 *     chain output  { type filter hook output priority filter - 10; policy accept;
 *                     oifname @camera_ifaces ct state invalid drop }
 *
 *     chain camera_to_gateway {                 # a camera talking to the gateway itself
 *       ct state established,related accept    # replies to the gateway's own flows, ICMP errors about them
 *       ct state invalid goto violation
 *       ct state new update @newconn4 { ip saddr limit rate over 50/second burst 50 packets } goto violation
 *       ct state new update @newconn6 { ip6 saddr limit rate over 50/second burst 50 packets } goto violation
 *                                               # a per-camera cap: one camera cannot fill conntrack
 *       icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } accept
 *       udp dport { 67, 547 } accept            # DHCPv4, DHCPv6
 *       udp dport { 53, 123 } accept            # DNS, NTP
 *       tcp dport 53 accept
 *       udp dport { 1900, 3702 } accept         # SSDP, WS-Discovery (to the gateway only)
 *       goto violation
 *     }
 *     chain camera_forward {                    # a camera talking to anything else
 *       ip saddr . ip daddr @allow4 accept      # a temporary hole (camera -> installer replies)
 *       ip6 saddr . ip6 daddr @allow6 accept
 *       goto violation
 *     }
 *     chain into_cameras {                      # anything else talking to a camera
 *       ip daddr . ip saddr @allow4 accept      # a temporary hole (installer -> camera)
 *       ip6 daddr . ip6 saddr @allow6 accept
 *       counter drop                            # (monitor: counter accept)
 *     }
 *     chain violation {
 *       meta l4proto { tcp, udp } update @violations4 { ip saddr . ip daddr . meta l4proto . th dport counter }
 *       meta l4proto != { tcp, udp } update @violations4 { ip saddr . ip daddr . meta l4proto . 0 counter }
 *       (the same for ip6 / violations6)
 *       ip saddr @cameras4 counter name ip saddr map @camera_counters4
 *       ip6 saddr @cameras6 counter name ip6 saddr map @camera_counters6
 *       ip saddr != @cameras4 counter name "unknown"   (ip6 alike)
 *       limit rate 50/second burst 100 packets log group NFLOG_GROUP prefix "camgate"
 *       drop                                    # (monitor: accept)
 *     }
 *   }
 *
 * When camera interfaces are Linux bridges (BRIDGES, found by the caller with
 * their PORTS; rules/bridge.h), the same batch also installs a table of the
 * bridge family. It sees frames between bridge ports, which the inet table
 * sees only with br_netfilter on (bridge-nf-call-iptables = 1), and judges
 * them without conntrack:
 *
 *   table bridge camgate {                      # replaced whole, in the same batch
 *     set camera_ports { type ifname; elements = { PORTS } }
 *     counter cam_ID { }  counter unknown { }   # as in table inet camgate
 *     set cameras4, cameras6, map camera_counters4, camera_counters6,
 *     set violations4, violations6              # the same names, types and flags
 *
 *     chain prerouting { type filter hook prerouting priority filter - 10; policy accept;
 *                        iifname @camera_ports jump camera_port }
 *     chain forward    { type filter hook forward priority filter - 10; policy accept;
 *                        iifname @camera_ports drop     # (monitor: accept) floods between
 *                        oifname @camera_ports drop }   # camera ports: noise, not counted
 *     chain camera_port {                       # a frame from a camera port
 *       meta pkttype != other accept            # to the gateway (table inet judges it), or
 *                                               # a broadcast or multicast (forward drops
 *                                               # the copies to other ports)
 *       meta protocol != { ip, ip6 } drop       # (monitor: accept) unicast ARP and the like
 *       goto violation                          # unicast to another station: a camera
 *     }
 *     chain violation { ... }                   # as in table inet camgate, with meta
 *                                               # protocol ip / ip6 for meta nfproto
 *   }
 *
 * Camera-to-camera unicast is counted in prerouting: under enforce the caller
 * also sets the kernel's port isolation flag on every port, and the bridge
 * drops isolated-to-isolated frames before its forward hook. Ports added
 * later are covered from the next apply on.
 *
 * Everything entering a camera interface is denied by interface, so the seal
 * holds before any camera address is known; addresses only attribute
 * violations to cameras. Established traffic is accepted only on the input
 * path (the gateway's own flows), never forwarded. Router advertisements from
 * cameras fall through to the violation chain. Only kernel features of Linux
 * 5.15 are used. */
#pragma once

#include <gio/gio.h>

#include "config.h"

G_BEGIN_DECLS

#define CG_RULES_TABLE "camgate"
#define CG_RULES_DEFAULT_NFLOG_GROUP 8423
#define CG_RULES_VIOLATION_TIMEOUT_MS (3600 * 1000)   /* an attempt is reported for an hour */

typedef struct {
  char *camera_id;
  GInetAddress *address;      /* transfer full */
} CgRulesCamera;

/* A temporary hole: @peer may reach camera @address (and back) until it expires. */
typedef struct {
  char *camera_id;
  GInetAddress *camera;       /* transfer full */
  GInetAddress *peer;         /* transfer full; same family as @camera */
  guint64 timeout_ms;         /* left before the kernel removes it */
} CgRulesHole;

/* A camera_interface that is a Linux bridge, with its ports when it was looked at. */
typedef struct {
  char *name;
  char **ports;               /* NULL-terminated, may be empty; transfer full */
} CgRulesBridge;

typedef struct {
  CgIsolationMode mode;       /* ENFORCE drops; MONITOR counts and logs, drops nothing */
  char **interfaces;          /* NULL-terminated, at least one */
  GPtrArray *cameras;         /* element-type CgRulesCamera */
  GPtrArray *holes;           /* element-type CgRulesHole */
  GPtrArray *bridges;         /* element-type CgRulesBridge: those of @interfaces that are
                               * bridges, filled by the caller (cg_bridge_find); empty: no
                               * table bridge camgate */
  gboolean bridge_table_stale;  /* with no @bridges: a table bridge camgate from an
                                 * earlier apply is in the kernel, and the batch removes it */
  guint16 nflog_group;
} CgRulesSpec;

/* Cameras whose url host is an IP literal get an address; others are sealed
 * by interface only. No bridges: the caller looks them up. transfer full */
CgRulesSpec *cg_rules_spec_from_config (const CgConfig *config);
void cg_rules_spec_free (CgRulesSpec *spec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgRulesSpec, cg_rules_spec_free)
/* FALSE with @error if @spec cannot be expressed (an interface name too long). */
gboolean cg_rules_spec_validate (const CgRulesSpec *spec, GError **error);
void cg_rules_bridge_free (CgRulesBridge *bridge);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgRulesBridge, cg_rules_bridge_free)

/* The batch (BATCH_BEGIN ... BATCH_END, sequence numbers from @seq) that
 * replaces table inet camgate (and table bridge camgate, when @spec has
 * bridges) with the ruleset of @spec, atomically, whether or not they
 * existed. NULL with @error if @spec does not validate. transfer full */
GBytes *cg_ruleset_build (const CgRulesSpec *spec, guint32 seq, GError **error);
#define CG_RULES_HOLE_MAX_MINUTES (24 * 60)

/* A hole for `camgate rules allow`: @peer (an IP address) may reach camera
 * @camera_id of @spec and the camera may answer, for @minutes. NULL with
 * @error naming what is wrong: no such camera or no address for it, @peer
 * no address, of the other family or another camera's, @minutes out of
 * 1..CG_RULES_HOLE_MAX_MINUTES. transfer full */
CgRulesHole *cg_rules_hole_new (const CgRulesSpec *spec, const char *camera_id,
                                const char *peer, guint minutes, GError **error);
void cg_rules_hole_free (CgRulesHole *hole);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgRulesHole, cg_rules_hole_free)

/* The batch that opens @hole in the table in force for its full time (or
 * restarts its time if it is open); the kernel closes it when the time is
 * up. transfer full */
GBytes *cg_ruleset_build_hole (const CgRulesHole *hole, guint32 seq);
/* The batch that removes table inet camgate, and table bridge camgate if
 * @bridge, whether or not they exist. The caller asks the kernel whether a
 * bridge table is there (cg_nft_table_exists): a kernel without the bridge
 * family refuses any message about one. transfer full */
GBytes *cg_ruleset_build_flush (guint32 seq, gboolean bridge);

G_END_DECLS
