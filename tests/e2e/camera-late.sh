#!/bin/bash
# A camera that is not up when camgate starts: camgate says so (not
# streaming, last_error set), keeps trying with backoff, and picks the
# camera up once it appears, within the backoff bound.
. "$(dirname "$0")/lib.sh"

require_world
world_up 1
make_certs

FPS=25
start_ingest --mount /live/cam1=h264+aac
conf=$CG_WORK/camgate.conf
write_config "$conf"
add_camera "$conf" 1
start_camgate "$conf"
t_start=$(cg_now_ms)

wait_for "cam1 to report why it is not streaming" 20 camera_has cam1 last_error
expect_down cam1 "with no camera"
state=$DOWN_STATE
err=$(camera_field cam1 last_error)
note "no camera yet: cam1 $state, last_error: $err"
grep -Eiq 'connect|refused|unreachable' <<<"$err" ||
  fail "cam1 last_error does not say the camera cannot be reached: $err"
[ "$(uplink_state cam1)" != up ] || note "uplink cam1 is up before the camera exists"

# The camera appears 5 s after camgate started (the scenario, not a wait).
left=$((5000 - ($(cg_now_ms) - t_start)))
[ "$left" -le 0 ] || sleep "$(awk -v ms="$left" 'BEGIN { printf "%.1f", ms / 1000 }')"
[ "$(camera_state cam1)" != streaming ] || fail "cam1 is streaming although no camera runs"
start_camera 1 --fps $FPS
t_cam=$(cg_now_ms)
wait_for "cam1 streaming within the backoff bound (30 s + slack)" 35 camera_is cam1 streaming
note "cam1 streaming $(($(cg_now_ms) - t_cam)) ms after the camera appeared"
camera_has cam1 last_error && note "cam1 last_error still set while streaming: $(camera_field cam1 last_error)"

wait_for "uplink cam1 up" 30 uplink_is cam1 up
wait_for "the ingest to receive 2 s of video" 30 ingest_ge /live/cam1 frames $((2 * FPS))
wait_for "uplink frames_out >= 2 s of video" 10 uplink_ge cam1 frames_out $((2 * FPS))
out=$(uplink_field cam1 frames_out)
stop_camgate
stop_ingest

files=$(ingest_files cam1)
[ -n "$files" ] || fail "the ingest wrote no file for cam1"
[ "$(grep -c . <<<"$files")" = 1 ] || fail "the ingest wrote $(grep -c . <<<"$files") files, expected 1: $files"
check_media "$files" h264 640 360 aac $((out * REQUIRED_SHARE / 100))
first_packet_is_key "$files" || fail "the recording does not start with a keyframe"

note "camera-late: all checks passed"
