#!/bin/bash
# Camera to camera through a bridge camgate manages (DESIGN.md, "Isolation
# semantics"; docs/isolation.md, "A bridge camgate manages"): cam1 probes
# cam2 through br-cam with TCP and UDP, over IPv4 and IPv6, with
# net.bridge.bridge-nf-call-iptables on (bridged frames also cross the inet
# hooks) and off (only the bridge hooks see them).
#
# With isolation = off each probe must arrive at cam2, and cam1's SSDP
# multicast too: proof that the probes and captures work. With enforce,
# br-cam's ports are flagged isolated, not one probe packet arrives, and
# every one is counted against cam1 in table bridge camgate (cam_cam1 for
# IPv4, unknown for its unconfigured IPv6 address; an element of
# violations4/6 for each flow), while the multicast no longer reaches cam2
# and is counted nowhere. The bridge rules hold by themselves: with the
# port flags cleared behind camgate's back the probes are still dropped and
# counted, and a reload sets the flags again. camgate's own RTSP pulls carry
# on throughout; `camgate rules flush` clears the flags.
. "$(dirname "$0")/lib.sh"

require_world
two_camera_site

# What cam1 tries on cam2: PROTO ADDR PORT (8554: its RTSP server).
PROBES=(
  "tcp 10.20.0.12 8554"
  "udp 10.20.0.12 5000"
  "tcp fd00:20::12 8554"
  "udp fd00:20::12 5000"
)
SSDP=239.255.255.250

# port_isolated PORT: "on" or "off", as the kernel says (bridge -d link show).
port_isolated() {
  in_ns gw bridge -d link show dev "$1" | grep -o 'isolated \(on\|off\)' | cut -d' ' -f2
}

# port_is PORT on|off: (for wait_for) the port's flag is so.
port_is() { [ "$(port_isolated "$1")" = "$2" ]; }

# expect_isolated on|off: both camera ports of br-cam have the flag so.
expect_isolated() {
  local k got
  for k in 1 2; do
    got=$(port_isolated "vcam$k")
    [ "$got" = "$1" ] || fail "bridge port vcam$k: isolated '$got', expected $1 ($(in_ns gw bridge -d link show dev "vcam$k"))"
  done
  note "bridge ports vcam1, vcam2: isolated $1"
}

# violation_packets SET SADDR DADDR PROTO PORT: packets of that element of
# set SET in table bridge camgate (0 if none).
violation_packets() {
  in_ns gw nft -j list set bridge camgate "$1" | jq --arg s "$2" --arg d "$3" --arg p "$4" --arg port "$5" '
    [ .nftables[] | select(.set) | .set.elem[]?.elem
      | select(.val.concat[0] == $s and .val.concat[1] == $d and .val.concat[2] == $p
               and (.val.concat[3] | tostring) == $port)
      | .counter.packets ] | add // 0'
}

# probes WANT: every probe from cam1 to cam2, seen or blocked; blocked ones
# must be counted against cam1 in table bridge camgate.
probes() {
  local want=$1 p proto addr port counter c0="" c1 set src v
  for p in "${PROBES[@]}"; do
    read -r proto addr port <<<"$p"
    if [[ $addr == *:* ]]; then counter=unknown set=violations6 src=$(host_addr cam1 6)
    else counter=cam_cam1 set=violations4 src=$(host_addr cam1); fi
    [ "$want" = seen ] || c0=$(camgate_counter "$counter" bridge)
    check_probe "$want" cam1 "$proto" "$addr" "$port" cam2
    [ "$want" = blocked ] || continue
    c1=$(camgate_counter "$counter" bridge)
    num_ge "$c1" $((c0 + PROBE_AT_GW)) ||
      fail "$proto/$port from cam1 to $addr: counter $counter in table bridge camgate went from '$c0' to '$c1', expected +$PROBE_AT_GW (every probe packet that entered br-cam)"
    v=$(violation_packets "$set" "$src" "$addr" "$proto" "$port")
    num_ge "$v" 1 || fail "$proto/$port from cam1 to $addr: no element $src . $addr . $proto . $port in set $set of table bridge camgate: $(in_ns gw nft list set bridge camgate "$set")"
    note "  counter $counter (table bridge camgate): $c0 -> $c1; $set element: $v packet(s)"
  done
}

# multicast WANT: cam1's SSDP announcement to 239.255.255.250:1900 reaches
# cam2 (seen) or not (blocked). The gateway gets its own copy either way,
# and blocked, it is counted against cam1 in neither table.
multicast() {
  local want=$1 n b0 b1 i0 i1
  b0=$(camgate_counter cam_cam1 bridge)
  i0=$(camgate_counter cam_cam1)
  capture_start gw "SSDP from cam1"
  capture_start cam2 "SSDP from cam1"
  probe_udp cam1 "$SSDP" 1900
  sentinel cam1 gw
  sentinel gw cam2
  num_ge "$(capture_count --from 10.20.0.11 --to "$SSDP" gw udp 1900)" 1 ||
    fail "cam1's SSDP multicast did not reach the gateway"
  n=$(capture_count --from 10.20.0.11 --to "$SSDP" cam2 udp 1900)
  case $want in
    seen) num_ge "$n" 1 || fail "cam1's SSDP multicast did not reach cam2 with isolation off" ;;
    blocked)
      [ "$n" = 0 ] || fail "cam1's SSDP multicast reached cam2 ($n packet(s)) under the seal"
      b1=$(camgate_counter cam_cam1 bridge)
      i1=$(camgate_counter cam_cam1)
      [ "$b0" = "$b1" ] && [ "$i0" = "$i1" ] ||
        fail "cam1's SSDP multicast was counted as a violation (cam_cam1: bridge $b0 -> $b1, inet $i0 -> $i1)"
      ;;
  esac
  note "cam1's SSDP multicast: $want at cam2 ($n packet(s))$([ "$want" = seen ] || echo ', not counted')"
}

# each_bridge_nf WANT: probes and multicast with bridge-nf-call-iptables 1, then 0.
each_bridge_nf() {
  local v
  for v in 1 0; do
    bridge_nf_call "$v" || skip "net.bridge.bridge-nf-call-iptables cannot be set to $v in the gateway namespace"
    note "--- bridge-nf-call-iptables = $v"
    probes "$1"
    multicast "$1"
  done
}

# --- isolation = off: the probes arrive ------------------------------------

start_camgate "$off_conf"
relay_running
expect_isolated off
each_bridge_nf seen
stop_camgate

# --- isolation = enforce: port isolation and table bridge camgate -----------

start_camgate "$enforce_conf"
wait_for "isolation applied (status)" 20 isolation_applied
in_ns gw nft list table bridge camgate >/dev/null 2>&1 ||
  fail "isolation is applied on bridge br-cam, but the gateway has no table bridge camgate"
relay_running
expect_isolated on
each_bridge_nf blocked

# The bridge rules alone: the flags cleared behind camgate's back.
for k in 1 2; do
  in_ns gw bridge link set dev "vcam$k" isolated off
done
expect_isolated off
note "--- port isolation cleared by hand: table bridge camgate alone"
each_bridge_nf blocked

# A reload applies the seal again: the flags are back.
kill -HUP "${CG_PID[camgate]}"
wait_for "port isolation set again after a reload" 20 port_is vcam2 on
expect_isolated on

relay_running
[ "$(camera_field cam1 reconnects)" = 0 ] && [ "$(camera_field cam2 reconnects)" = 0 ] ||
  fail "a camera reconnected under the seal: cam1 $(camera_field cam1 reconnects), cam2 $(camera_field cam2 reconnects) times"
note "camgate's RTSP pulls and uplinks carried on under the seal"
stop_camgate

# Fail-closed, and the flush lifts it all.
expect_isolated on
in_ns gw timeout "$(scaled 20)" "$CAMGATE" rules flush -c "$enforce_conf" >/dev/null ||
  fail "camgate rules flush -c $enforce_conf failed"
in_ns gw nft list table bridge camgate >/dev/null 2>&1 &&
  fail "table bridge camgate is still there after camgate rules flush"
expect_isolated off
note "bridge: all checks passed"
