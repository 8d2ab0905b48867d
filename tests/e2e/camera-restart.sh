#!/bin/bash
# A camera that dies (kill -9) and comes back ~3 s later: camgate notices,
# reconnects on its own, and the uplink session to the ingest survives (a
# camera that drops does not tear down the uplink session, DESIGN.md).
. "$(dirname "$0")/lib.sh"

require_world
world_up 1
make_certs

FPS=25
start_camera 1 --fps $FPS --gop 25
start_ingest --mount /live/cam1=h264+aac

relay_up 1
wait_for "2 s of video out" 20 uplink_ge cam1 frames_out $((2 * FPS))
wait_for "the ingest to receive frames" 20 ingest_ge /live/cam1 frames 1
sessions0=$(uplink_field cam1 sessions)
out_before=$(uplink_field cam1 frames_out)
note "before the crash: uplink sessions $sessions0, frames_out $out_before"

kill_camera 1
t_kill=$(cg_now_ms)
wait_for "camgate to see cam1 gone" 20 camera_is_not cam1 streaming
expect_down cam1 "after the camera died"
state=$DOWN_STATE
note "cam1 $state after $(($(cg_now_ms) - t_kill)) ms: $(camera_field cam1 last_error)"

sleep 3 # the camera stays away for a while (the scenario, not a wait)
restart_camera 1
t_back=$(cg_now_ms)
wait_for "cam1 streaming again (backoff <= 30 s)" 40 camera_is cam1 streaming
note "cam1 streaming again $(($(cg_now_ms) - t_back)) ms after the camera came back"
wait_for "cam1 reconnects >= 1" 5 camera_ge cam1 reconnects 1
in_back=$(camera_field cam1 frames_in)
wait_for "cam1 frames_in to grow again" 20 camera_ge cam1 frames_in $((in_back + 2 * FPS))

out_back=$(uplink_field cam1 frames_out)
ingest_back=$(ingest_stat /live/cam1 frames)
wait_for "uplink frames_out to grow again" 20 uplink_ge cam1 frames_out $((out_back + 2 * FPS))
wait_for "the ingest to keep receiving" 20 ingest_ge /live/cam1 frames $((ingest_back + 1))
[ "$(uplink_state cam1)" = up ] || fail "uplink cam1 is $(uplink_state cam1) after the camera came back"
sessions1=$(uplink_field cam1 sessions)
[ "$sessions1" = "$sessions0" ] ||
  fail "the uplink session was not kept: sessions went from $sessions0 to $sessions1"
[ "$(ingest_stat /live/cam1 sessions)" = 1 ] ||
  fail "the ingest saw $(ingest_stat /live/cam1 sessions) sessions, expected 1 (the session is kept)"

out_end=$(uplink_field cam1 frames_out)
stop_camgate
stop_ingest

files=$(ingest_files cam1)
[ "$(grep -c . <<<"$files")" = 1 ] || fail "the ingest wrote $(grep -c . <<<"$files") files, expected 1: $files"
check_media "$files" h264 640 360 aac $((out_end * REQUIRED_SHARE / 100))
[ "$PROBED_FRAMES" -gt "$out_before" ] ||
  fail "the recording has $PROBED_FRAMES frames, no more than the $out_before before the crash"
note "recording: $PROBED_FRAMES frames of $out_end sent, $out_before of them before the crash"

note "camera-restart: all checks passed"
