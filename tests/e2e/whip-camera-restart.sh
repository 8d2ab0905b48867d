#!/bin/bash
# camera-restart.sh for the WHIP uplink: a camera that dies (kill -9) and
# comes back ~3 s later. camgate reconnects on its own, the WebRTC session
# to the ingest is kept (no new POST: a camera that drops does not tear down
# the uplink session, DESIGN.md), and the video carries on in the same
# recording, which ffprobe reads whole.
. "$(dirname "$0")/lib.sh"

require_world
[ -x "$CG_WHIPINGEST" ] || skip "cg-whipingest is not built (camgate configured without WebRTC)"
world_up 1
make_certs

FPS=25
start_camera 1 --fps $FPS --gop $FPS --audio pcmu
start_whip_ingest

conf=$CG_WORK/camgate.conf
write_whip_config "$conf"
add_camera "$conf" 1
start_camgate "$conf"
wait_for "uplink cam1 up" 60 uplink_is cam1 up
wait_for "2 s of video at the ingest" 30 ingest_ge /whip/cam1 frames $((2 * FPS))
sessions0=$(uplink_field cam1 sessions)
before=$(ingest_stat /whip/cam1 frames)
note "before the crash: uplink sessions $sessions0, $before frames at the ingest"

kill_camera 1
t_kill=$(cg_now_ms)
wait_for "camgate to see cam1 gone" 20 camera_is_not cam1 streaming
note "cam1 $(camera_state cam1) after $(($(cg_now_ms) - t_kill)) ms:" \
  "$(camera_field cam1 last_error)"
sleep 3 # the camera stays away for a while (the scenario, not a wait)
[ "$(uplink_state cam1)" = up ] ||
  fail "the uplink is $(uplink_state cam1) while the camera is away:" \
    "$(uplink_field cam1 last_error)"

restart_camera 1
t_back=$(cg_now_ms)
wait_for "cam1 streaming again" 40 camera_is cam1 streaming
back=$(ingest_stat /whip/cam1 frames)
wait_for "the ingest to receive 2 s of video again" \
  20 ingest_ge /whip/cam1 frames $((back + 2 * FPS))
note "2 s of video at the ingest again $(($(cg_now_ms) - t_back)) ms after the camera came back"
[ "$(uplink_state cam1)" = up ] ||
  fail "uplink cam1 is $(uplink_state cam1) after the camera came back"
[ "$(uplink_field cam1 sessions)" = "$sessions0" ] ||
  fail "the WHIP session was not kept: sessions went from $sessions0 to" \
    "$(uplink_field cam1 sessions)"
[ "$(ingest_stat /whip/cam1 sessions)" = 1 ] ||
  fail "the ingest saw $(ingest_stat /whip/cam1 sessions) sessions, expected 1" \
    "(the session is kept)"

stop_camgate
stop_ingest
files=$(ingest_files cam1)
[ "$(grep -c . <<<"$files")" = 1 ] || fail "the ingest wrote $(grep -c . <<<"$files") files: $files"
# Matroska drops a few frames at the start and where the camera was away
# (webrtcbin's jitterbuffer hands them on without a timestamp): at least a
# second of what came after the camera's return must be in the file.
check_media "$files" h264 640 360 none $((2 * FPS))
[ "$PROBED_FRAMES" -ge $((before + FPS)) ] ||
  fail "the recording has $PROBED_FRAMES frames: not the video after the camera's return"
note "recording: $PROBED_FRAMES frames; the ingest had counted $before before the crash"
note "whip-camera-restart: all checks passed"
