#!/bin/bash
# IPv6 router advertisements from a camera are ignored (DESIGN.md,
# "Isolation semantics"): cam1 sends a router advertisement (a default
# route and the prefix 2001:db8:bad::/64) to all nodes, ff02::1, on its
# link, from a raw ICMPv6 socket with hop limit 255, as a rogue router does.
# The gateway would learn from it (net.ipv6.conf.br-cam.accept_ra = 2, as
# forwarding is on).
#
# With isolation = off the gateway learns the default route and the prefix,
# and cam2 receives the advertisement: proof that the sender and the checks
# work. With enforce (bridge-nf-call-iptables on, then off) the gateway learns
# nothing, cam2 receives nothing, and the attempt is counted against cam1:
# the element cam1's link-local address . ff02::1 . ipv6-icmp . 0 of set
# violations6 in table inet camgate, and counter unknown (an advertisement
# comes from a link-local address, which no camera's url names). Each run
# ends with sentinels, sent after the advertisement, that must be seen.
. "$(dirname "$0")/lib.sh"

require_world
two_camera_site --fps 10

PREFIX=2001:db8:bad::
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || skip "$PYTHON not found"
in_ns gw sysctl -qw net.ipv6.conf.br-cam.accept_ra=2

# send_ra ROLE: one router advertisement from ROLE's eth0 to ff02::1: router
# lifetime 1800 s, prefix PREFIX/64 (on-link, autonomous). The kernel fills
# in the checksum and picks the link-local source address.
send_ra() {
  in_ns "$1" "$PYTHON" - "$PREFIX" <<'EOF' || fail "cannot send a router advertisement from $1"
import socket, struct, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
ifindex = socket.if_nametoindex("eth0")
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
pio = struct.pack("!BBBBIII", 3, 4, 64, 0xc0, 86400, 14400, 0) + socket.inet_pton(socket.AF_INET6, sys.argv[1])
s.sendto(ra + pio, ("ff02::1", 0, 0, ifindex))
EOF
}

# link_local ROLE: ROLE's link-local address on eth0, once it is no longer
# tentative (a tentative one cannot be a source).
link_local() {
  in_ns "$1" ip -6 -o addr show dev eth0 scope link -tentative | awk '{ sub("/.*", "", $4); print $4 }'
}
has_link_local() { [ -n "$(link_local "$1")" ]; }

# ra_counter_start: table inet ra in cam2, counting router advertisements
# that arrive (prerouting, before anything else).
ra_counter_start() {
  in_ns cam2 nft -f - <<'EOF' || fail "cannot install the RA counter in cam2"
table inet ra
delete table inet ra
table inet ra {
	counter adverts { }
	chain prerouting {
		type filter hook prerouting priority -400; policy accept;
		icmpv6 type nd-router-advert counter name adverts
	}
}
EOF
}
ra_count() {
  in_ns cam2 nft -j list counter inet ra adverts | jq '.nftables[] | select(.counter) | .counter.packets'
}

# learnt: the gateway's routes from router advertisements: its default
# route (proto ra) and the prefix's route (proto kernel, as addrconf adds it).
learnt() {
  in_ns gw ip -6 route show | grep -E "proto ra|^$PREFIX/64" || true
}

# forget: the gateway forgets what it learnt.
forget() {
  in_ns gw ip -6 route flush proto ra 2>/dev/null || true
  in_ns gw ip -6 route del "$PREFIX/64" dev br-cam 2>/dev/null || true
  in_ns gw ip -6 addr flush dev br-cam to "$PREFIX/64" 2>/dev/null || true
  [ -z "$(learnt)" ] || fail "the gateway cannot forget what it learnt: $(learnt)"
}

# violation_packets SADDR DADDR: packets of element SADDR . DADDR .
# ipv6-icmp . 0 of set violations6 in table inet camgate (0 if none).
violation_packets() {
  in_ns gw nft -j list set inet camgate violations6 | jq --arg s "$1" --arg d "$2" '
    [ .nftables[] | select(.set) | .set.elem[]?.elem
      | select(.val.concat[0] == $s and .val.concat[1] == $d and .val.concat[2] == "ipv6-icmp")
      | .counter.packets ] | add // 0'
}

# rogue_ra seen|blocked: cam1's advertisement, then the sentinels cam1 ->
# gateway and gateway -> cam2.
rogue_ra() {
  local want=$1 got routes v0=0 v1 u0=0 u1
  ra_counter_start
  capture_start gw "RA from cam1"
  capture_start cam2 "RA from cam1"
  forget
  if [ "$want" = blocked ]; then
    v0=$(violation_packets "$CAM1_LL" ff02::1)
    u0=$(camgate_counter unknown)
  fi
  send_ra cam1
  sentinel cam1 gw 6
  sentinel gw cam2 6
  got=$(ra_count)
  case $want in
    seen)
      wait_for "the gateway to learn a default route from cam1's advertisement" 5 \
        eval 'learnt | grep -q "^default via $CAM1_LL"'
      wait_for "the gateway to learn $PREFIX/64 from cam1's advertisement" 5 \
        eval 'learnt | grep -q "^$PREFIX/64"'
      num_ge "$got" 1 || fail "cam1's advertisement did not reach cam2 with isolation off"
      note "isolation off: the gateway learnt $(learnt | tr '\n' ';') and cam2 got $got advertisement(s)"
      ;;
    blocked)
      routes=$(learnt)
      [ -z "$routes" ] || fail "the gateway learnt routes from cam1's advertisement under the seal: $routes"
      [ "$got" = 0 ] || fail "cam1's advertisement reached cam2 under the seal ($got packet(s))"
      v1=$(violation_packets "$CAM1_LL" ff02::1)
      u1=$(camgate_counter unknown)
      num_ge "$v1" $((v0 + 1)) ||
        fail "cam1's advertisement is not in violations6 ($CAM1_LL . ff02::1 . ipv6-icmp . 0: $v0 -> $v1 packets)"
      num_ge "$u1" $((u0 + 1)) || fail "counter unknown did not count cam1's advertisement ($u0 -> $u1)"
      note "enforce: the gateway learnt nothing, cam2 got nothing; violations6 $CAM1_LL . ff02::1: $v0 -> $v1, unknown: $u0 -> $u1"
      ;;
  esac
}

wait_for "cam1's link-local address" 10 has_link_local cam1
CAM1_LL=$(link_local cam1)
note "cam1 sends from $CAM1_LL"

relay_up_conf() {
  start_camgate "$1"
  for k in 1 2; do
    wait_for "cam$k streaming" 30 camera_is "cam$k" streaming
  done
}

# --- isolation = off: the gateway and cam2 take the advertisement -----------

relay_up_conf "$off_conf"
rogue_ra seen
stop_camgate

# --- isolation = enforce: ignored, and counted ------------------------------

relay_up_conf "$enforce_conf"
wait_for "isolation applied (status)" 20 eval 'cg_status | jq -e ".isolation.applied == true" >/dev/null'
for v in 1 0; do
  bridge_nf_call "$v" || skip "net.bridge.bridge-nf-call-iptables cannot be set to $v in the gateway namespace"
  note "--- bridge-nf-call-iptables = $v"
  rogue_ra blocked
done
stop_camgate
note "ra: all checks passed"
