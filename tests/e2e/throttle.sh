#!/bin/bash
# An uplink far slower than the camera (tc tbf at 400 kbit/s against a
# ~1500 kbit/s camera): camgate keeps pulling the camera at full rate and
# drops on the uplink side instead of stalling; once the link is free again
# the drops stop and frames flow at the camera's rate.
. "$(dirname "$0")/lib.sh"

require_world
world_up 1
make_certs
in_ns gw tc qdisc add dev wan0 root tbf rate 400kbit burst 16kb latency 400ms 2>/dev/null ||
  skip "tc tbf is not available"
in_ns gw tc qdisc del dev wan0 root

FPS=25
start_camera 1 --fps $FPS --gop 25 --kbps 1500 --audio none
start_ingest --mount /live/cam1=h264

relay_up 1
wait_for "2 s of video out" 20 uplink_ge cam1 frames_out $((2 * FPS))
wait_for "cam1 kbps measured" 10 camera_ge cam1 kbps 1
kbps=$(camera_field cam1 kbps)
note "cam1 sends $kbps kbit/s"
[ "$kbps" -ge 800 ] ||
  fail "test premise: the camera sends only $kbps kbit/s, not enough to overrun a 400 kbit/s link"

in_ns gw tc qdisc add dev wan0 root tbf rate 400kbit burst 16kb latency 400ms
note "uplink throttled to 400 kbit/s"
t0=$(cg_now_ms)
in0=$(camera_field cam1 frames_in)
wait_for "uplink cam1 frames_dropped > 0" 40 uplink_ge cam1 frames_dropped 1
note "first drops $(($(cg_now_ms) - t0)) ms after the throttle"
wait_for "10 s of camera video while throttled" 30 camera_ge cam1 frames_in $((in0 + 10 * FPS))
t1=$(cg_now_ms)
in1=$(camera_field cam1 frames_in)
check_rate "cam1 frames_in while throttled" $((in1 - in0)) $((t1 - t0)) $FPS
[ "$(camera_state cam1)" = streaming ] ||
  fail "cam1 is $(camera_state cam1) while the uplink is throttled, expected streaming"
note "throttled: uplink $(uplink_state cam1), frames_out $(uplink_field cam1 frames_out), frames_dropped $(uplink_field cam1 frames_dropped)"

in_ns gw tc qdisc del dev wan0 root
note "throttle removed"
t2=$(cg_now_ms)
wait_for "uplink cam1 frames_dropped to stop growing (3 s)" 30 settled uplink cam1 frames_dropped 3000
note "drops stopped $(($(cg_now_ms) - t2)) ms after the throttle went"
wait_for "uplink cam1 up" 30 uplink_is cam1 up
drop0=$(uplink_field cam1 frames_dropped)
out0=$(uplink_field cam1 frames_out)
t3=$(cg_now_ms)
wait_for "5 s of video out on the free link" 20 uplink_ge cam1 frames_out $((out0 + 5 * FPS))
t4=$(cg_now_ms)
out1=$(uplink_field cam1 frames_out)
drop1=$(uplink_field cam1 frames_dropped)
check_rate "uplink cam1 on the free link" $((out1 - out0)) $((t4 - t3)) $FPS
[ "$drop1" = "$drop0" ] || fail "uplink cam1 dropped $((drop1 - drop0)) frames on the free link"

stop_camgate
stop_ingest
files=$(ingest_files cam1)
[ -n "$files" ] || fail "the ingest wrote no file"
while read -r f; do
  check_media "$f" h264 640 360 none 1
done <<<"$files"

note "throttle: all checks passed"
