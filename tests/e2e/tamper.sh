#!/bin/bash
# Fail-closed restore (DESIGN.md, "Isolation semantics"): if another tool
# deletes or alters table inet camgate while camgate runs under enforce,
# camgate restores it within 2 s and says who did it. Four ways to tamper
# with it, in the gateway namespace: `nft flush ruleset`, deleting one rule,
# deleting br-cam from the camera_ifaces set, deleting the table. After each,
# the whole table must be back (same chains, rules, sets, counters and
# camera interfaces) within 2 s (times CG_TEST_TIMEOUT_SCALE under valgrind
# or sanitizers), and cam1's probe to the Internet must be blocked.
#
# A tool that holds the table (an owner table of `nft -i`) keeps camgate
# from restoring it: camgate then streams nothing until it can.
#
# camgate must not take its own changes, or the kernel's, for tampering:
# while it idles, with cam1's violations being counted (packets updating the
# dynamic sets) and newconn4's elements timing out, not one more restore may
# happen.
. "$(dirname "$0")/lib.sh"

require_world
world_routed 1
make_certs
start_camera 1 --audio none
start_ingest --mount /live/cam1=h264

off_conf=$CG_WORK/camgate.conf
write_config "$off_conf"
add_camera "$off_conf" 1
conf=$CG_WORK/enforce.conf
config_isolation "$off_conf" "$conf" enforce

SPEC_MS=$(scaled_ms 2)

# table_shape: what makes the seal, one line: chains, rules, named sets,
# counters, and the elements of camera_ifaces. Empty without the table.
table_shape() {
  in_ns gw nft -j list table inet camgate 2>/dev/null | jq -r '
    [ .nftables[] ] as $all
    | "chains=\([ $all[] | select(.chain) ] | length)"
      + " rules=\([ $all[] | select(.rule) ] | length)"
      + " sets=\([ $all[] | select(.set or .map) ] | length)"
      + " counters=\([ $all[] | select(.counter) ] | length)"
      + " camera_ifaces=\([ $all[] | select(.set.name == "camera_ifaces") | .set.elem[]? ] | join(","))"' \
    2>/dev/null || true
}

restorings() {
  grep -c 'restoring$' "$CG_WORK/camgate.log" || true
}

# tamper DESC LOG_REGEX NFT-ARGS...: runs `nft NFT-ARGS...` in the gateway;
# the table must have its full shape again within SPEC_MS, and camgate's log
# must then have one more line matching LOG_REGEX.
tamper() {
  local desc=$1 re=$2 t0 ms n0 shape
  shift 2
  n0=$(grep -cE "$re" "$CG_WORK/camgate.log" || true)
  in_ns gw nft "$@" || fail "$desc: nft $* failed"
  t0=$(cg_now_ms)
  [ "$(table_shape)" != "$SHAPE" ] || fail "$desc: nft $* did not change the table: the test is broken"
  while :; do
    shape=$(table_shape)
    ms=$(($(cg_now_ms) - t0))
    [ "$shape" != "$SHAPE" ] || break
    cg_check_running "while waiting for the table to come back after: $desc"
    [ "$ms" -le "$SPEC_MS" ] ||
      fail "$desc: table inet camgate not restored after $ms ms (expected within $SPEC_MS ms); now: '${shape:-no table}'"
    sleep 0.05
  done
  note "$desc: restored in $ms ms (at most $SPEC_MS ms)"
  wait_for "camgate's log naming the alteration ($re)" 2 \
    eval '[ "$(grep -cE "$re" "$CG_WORK/camgate.log" || true)" -gt "$n0" ]'
  note "  camgate: $(grep -E "$re" "$CG_WORK/camgate.log" | tail -n 1)"
  check_probe blocked cam1 tcp 203.0.113.2 23 cloud
}

start_camgate "$conf"
wait_for "isolation applied (status)" 20 isolation_applied
wait_for "uplink cam1 up" 30 uplink_is cam1 up
SHAPE=$(table_shape)
note "table inet camgate: $SHAPE"
[[ $SHAPE == *" rules="[1-9]*"camera_ifaces=br-cam" ]] || fail "unexpected table shape: '$SHAPE'"
[ "$(restorings)" = 0 ] || fail "camgate restored its table without anyone touching it"

RE_NFT='table inet camgate was (deleted|altered) by nft \(pid [0-9]+\): restoring$'
# br-cam is a bridge: flush ruleset takes table bridge camgate too.
tamper "nft flush ruleset" \
  'tables inet camgate and bridge camgate were deleted by nft \(pid [0-9]+\): restoring$' flush ruleset

handle=$(in_ns gw nft -j list chain inet camgate forward |
  jq -r '[ .nftables[] | select(.rule) | .rule.handle ][0]')
[[ $handle =~ ^[0-9]+$ ]] || fail "no rule in chain forward to delete"
tamper "nft delete rule inet camgate forward handle $handle" "${RE_NFT/(deleted|altered)/altered}" \
  delete rule inet camgate forward handle "$handle"

tamper "nft delete element inet camgate camera_ifaces { br-cam }" \
  "${RE_NFT/(deleted|altered)/altered}" delete element inet camgate camera_ifaces '{ "br-cam" }'

tamper "nft delete table inet camgate" "${RE_NFT/(deleted|altered)/deleted}" \
  delete table inet camgate

# Idle: a camera's violations are counted (update @violations4, @newconn4
# from the packet path), then its newconn4 element times out (10 s): no
# restore may follow either.
n0=$(restorings)
c0=$(camgate_counter cam_cam1)
for i in 1 2 3; do
  probe_tcp cam1 203.0.113.2 23
  probe_tcp cam1 10.20.0.1 22
done
c1=$(camgate_counter cam_cam1)
num_ge "$c1" $((c0 + 6)) || fail "cam1's probes were not counted (cam_cam1 $c0 -> $c1)"
elements() {
  in_ns gw nft -j list set inet camgate "$1" | jq '[ .nftables[] | select(.set) | .set.elem[]? ] | length'
}
num_ge "$(elements newconn4)" 1 || fail "cam1's probe to the gateway left no element in newconn4"
note "cam1's violations counted (cam_cam1 $c0 -> $c1), newconn4 has $(elements newconn4) element(s)"
newconn_empty() { [ "$(elements newconn4)" = 0 ]; }
wait_for "cam1's newconn4 element to time out" 20 newconn_empty
sleep 2
n1=$(restorings)
[ "$n1" = "$n0" ] ||
  fail "camgate restored its table $((n1 - n0)) more time(s) while nobody touched it: $(grep 'restoring$' "$CG_WORK/camgate.log" | tail -n 3)"
[ "$(table_shape)" = "$SHAPE" ] || fail "the table changed while idle: $(table_shape)"
note "idle with violations and timeouts: still $n1 restore(s), none more"

uplink_is cam1 up || fail "uplink cam1 is $(uplink_state cam1) after the restores, expected up"

# A tool that holds the table: `nft -i` replaces it, in one transaction, by
# an empty table inet camgate that its netlink socket owns (flags owner),
# which no other process may delete. camgate cannot restore its seal: under
# enforce it says why and streams nothing. When the tool exits, the kernel
# drops its table, and camgate restores the seal and streams again.
unsealed() {
  cg_status | jq -e '.isolation.applied == false and .isolation.last_error != null and
                     (.cameras | length) == 0' >/dev/null
}
fifo=$CG_WORK/nft-i.fifo
mkfifo "$fifo"
cg_spawn holder "$(ns gw)" "$CG_WORK/nft-i.out" "$CG_WORK/nft-i.err" \
  bash -c 'exec nft -i <"$0"' "$fifo"
exec 7>"$fifo"
echo 'delete table inet camgate; add table inet camgate { flags owner ; }' >&7
wait_for "camgate to say that its seal is gone and stop streaming" 10 unsealed
grep -q 'the ruleset could not be restored: .*Operation not permitted' "$CG_WORK/camgate.log" ||
  fail "camgate's log does not say why it could not restore the table"
grep -q 'every camera stops until the cameras are sealed off again' "$CG_WORK/camgate.log" ||
  fail "camgate's log does not say that the cameras stop"
note "a table held by nft -i: camgate reports $(jq -r .isolation.last_error "$CG_WORK/status.json") and streams nothing"
exec 7>&-
cg_stop holder TERM 5 || true
wait_for "the seal back once nft -i let go" 15 isolation_applied
[ "$(table_shape)" = "$SHAPE" ] || fail "the restored table differs: $(table_shape)"
wait_for "uplink cam1 up again" 30 uplink_is cam1 up
note "nft -i let go: the seal is back and cam1 is relayed again"
stop_camgate
note "tamper: all checks passed"
