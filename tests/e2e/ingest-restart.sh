#!/bin/bash
# The ingest goes away mid-stream (SIGTERM) and comes back: camgate keeps
# pulling the camera meanwhile, notices the uplink is down, brings it up again
# on its own, and the new recording starts decodable, on a keyframe.
. "$(dirname "$0")/lib.sh"

require_world
world_up 1
make_certs

FPS=25
start_camera 1 --fps $FPS --gop 50
start_ingest --mount /live/cam1=h264+aac

relay_up 1
wait_for "the ingest to receive 2 s of video" 30 ingest_ge /live/cam1 frames $((2 * FPS))
sessions0=$(uplink_field cam1 sessions)
first_out=$INGEST_OUT

stop_ingest
t_down=$(cg_now_ms)
wait_for "uplink cam1 to leave 'up'" 20 uplink_is_not cam1 up
note "uplink cam1 $(uplink_state cam1) after $(($(cg_now_ms) - t_down)) ms: $(uplink_field cam1 last_error)"
uplink_has cam1 last_error || fail "uplink cam1 is down but last_error is empty"

# A dead uplink never stalls the camera.
in0=$(camera_field cam1 frames_in)
wait_for "cam1 frames_in to keep growing with the uplink down" 10 \
  camera_ge cam1 frames_in $((in0 + FPS))
[ "$(camera_state cam1)" = streaming ] || fail "cam1 is $(camera_state cam1) while the uplink is down"

restart_ingest
t_up=$(cg_now_ms)
wait_for "uplink cam1 up again on its own (backoff <= 30 s)" 40 uplink_is cam1 up
note "uplink cam1 up again $(($(cg_now_ms) - t_up)) ms after the ingest came back"
wait_for "the new ingest to receive 2 s of video" 30 ingest_ge /live/cam1 frames $((2 * FPS))
sessions1=$(uplink_field cam1 sessions)
[ "$sessions1" = null ] || [ "$sessions1" -gt "$sessions0" ] ||
  fail "uplink sessions is $sessions1 after a reconnect, was $sessions0"

stop_camgate
stop_ingest

old=$(ingest_files cam1 "$first_out")
[ -n "$old" ] || fail "the first ingest wrote no file"
check_media "$(head -n 1 <<<"$old")" h264 640 360 aac $((2 * FPS))
new=$(ingest_files cam1)
[ -n "$new" ] || fail "the restarted ingest wrote no file (in $INGEST_OUT: $(ls "$INGEST_OUT"))"
[ "$(grep -c . <<<"$new")" = 1 ] ||
  fail "the restarted ingest wrote $(grep -c . <<<"$new") files, expected 1: $new"
check_media "$new" h264 640 360 aac $((2 * FPS))
first_packet_is_key "$new" || fail "the new recording does not start with a keyframe"

note "ingest-restart: all checks passed"
