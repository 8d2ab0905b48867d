#!/bin/bash
# A temporary hole (DESIGN.md, "Isolation semantics"): an installer on the
# site LAN must reach cam1's own web server. `camgate rules allow --camera
# cam1 --from 192.0.2.2 --minutes 1` opens exactly that: the LAN host
# connects to cam1 and cam1 answers, while the LAN host still cannot reach
# cam2, and the Internet still cannot reach cam1. The hole shows in status
# and the log, and closes by itself when its minute is up. Without a daemon,
# the command opens the hole straight in the table, and camgate adopts it
# when it starts. Bad arguments are refused with the reason.
. "$(dirname "$0")/lib.sh"

require_world
two_camera_site
conf=$enforce_conf

# allow ARGS...: `camgate rules allow ARGS -c CONF` in the gateway; sets RC,
# output in $CG_WORK/allow.{out,err}.
allow() {
  RC=0
  # shellcheck disable=SC2086 # the wrapper is a command line
  in_ns gw timeout "$(scaled 20)" $CG_TEST_WRAPPER "$CAMGATE" rules allow "$@" -c "$conf" \
    >"$CG_WORK/allow.out" 2>"$CG_WORK/allow.err" || RC=$?
}

# refused RC TEXT ARGS...: allow ARGS must exit RC and say TEXT.
refused() {
  local want=$1 text=$2
  shift 2
  allow "$@"
  [ "$RC" = "$want" ] || fail "rules allow $*: exit status $RC, expected $want ($(cat "$CG_WORK/allow.err"))"
  grep -Fq -- "$text" "$CG_WORK/allow.err" ||
    fail "rules allow $*: expected '$text' in: $(cat "$CG_WORK/allow.err")"
  note "rules allow $*: refused ($RC): $(head -n 1 "$CG_WORK/allow.err")"
}

# connects FROM ADDR: a TCP connection from role FROM to ADDR:8554 completes
# (the camera answered through the gateway).
connects() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  in_ns "$1" timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/8554"' "$2" 2>/dev/null
}

holes() {
  cg_status | jq -c '.isolation.holes'
}

hole_listed() {
  cg_status | jq -e '[.isolation.holes[] | select(.camera == "cam1" and .from == "192.0.2.2" and
                                                   .camera_address == "10.20.0.11")] | length == 1' >/dev/null
}

no_hole() {
  cg_status | jq -e '.isolation.holes == []' >/dev/null
}

# the_hole_works: the LAN host reaches cam1 (and cam1 answers); nothing else opened.
the_hole_works() {
  check_probe seen lan tcp 10.20.0.11 8554 cam1
  connects lan 10.20.0.11 || fail "the LAN host cannot connect to cam1 through the hole"
  check_probe blocked lan tcp 10.20.0.12 8554 cam2
  check_probe blocked cloud tcp 10.20.0.11 8554 cam1
  note "the hole opens exactly lan -> cam1 (cam1 answers); lan -> cam2 and cloud -> cam1 stay blocked"
}

start_camgate "$conf"
wait_for "cam1 streaming" 30 camera_is cam1 streaming
check_probe blocked lan tcp 10.20.0.11 8554 cam1
connects lan 10.20.0.11 && fail "the LAN host connects to cam1 before any hole"

# Bad arguments: the reason, and nothing opened.
refused 1 'camera "nosuch" has no IP address' --camera nosuch --from 192.0.2.2 --minutes 5
refused 1 '--from "installer" is not an IP address' --camera cam1 --from installer --minutes 5
refused 1 'not both IPv4 or both IPv6' --camera cam1 --from 2001:db8:2::2 --minutes 5
refused 1 "is camera cam2's address" --camera cam1 --from 10.20.0.12 --minutes 5
refused 1 'a hole stays open from 1 to 1440 minutes' --camera cam1 --from 192.0.2.2 --minutes 2000
refused 2 '--minutes (above 0) are required' --camera cam1 --from 192.0.2.2
no_hole || fail "a refused rules allow left a hole: $(holes)"

# Through the daemon: logged, in status, exactly that camera and address.
t0=$(cg_now_ms)
allow --camera cam1 --from 192.0.2.2 --minutes 1
[ "$RC" = 0 ] || fail "rules allow: exit status $RC: $(cat "$CG_WORK/allow.err")"
grep -q '^hole open: 192.0.2.2 may reach camera cam1 (10.20.0.11)' "$CG_WORK/allow.out" ||
  fail "rules allow printed: $(cat "$CG_WORK/allow.out")"
hole_listed || fail "status does not list the hole: $(holes)"
grep -q '\[cam1\] temporary hole (camgate rules allow): 192.0.2.2 may reach the camera' "$CG_WORK/camgate.log" ||
  fail "camgate did not log the hole"
the_hole_works

# It closes by itself when its minute is up.
wait_for "the hole to close" 75 no_hole
grep -q '\[cam1\] the temporary hole for 192.0.2.2 closed: its time is up' "$CG_WORK/camgate.log" ||
  fail "camgate did not log that the hole closed"
elapsed=$(($(cg_now_ms) - t0))
[ "$elapsed" -ge 59000 ] || fail "the hole closed after $elapsed ms, before its minute"
check_probe blocked lan tcp 10.20.0.11 8554 cam1
connects lan 10.20.0.11 && fail "the LAN host still connects to cam1 after the hole closed"
note "the hole closed by itself after $elapsed ms"

# Without the daemon: straight into the table; camgate adopts it at start.
stop_camgate
allow --camera cam1 --from 192.0.2.2 --minutes 2
[ "$RC" = 0 ] || fail "rules allow without a daemon: exit status $RC: $(cat "$CG_WORK/allow.err")"
grep -q 'no camgate daemon runs' "$CG_WORK/allow.out" ||
  fail "rules allow without a daemon printed: $(cat "$CG_WORK/allow.out")"
connects lan 10.20.0.11 || fail "the hole opened without a daemon does not let the LAN host in"
start_camgate "$conf"
wait_for "cam1 streaming" 30 camera_is cam1 streaming
hole_listed || fail "camgate did not adopt the hole open at its start: $(holes)"
grep -q '\[cam1\] a temporary hole for 192.0.2.2 is open .*: kept' "$CG_WORK/camgate.log" ||
  fail "camgate did not log the hole it adopted"
the_hole_works
stop_camgate
note "allow: all checks passed"
