#!/bin/bash
# An H.265 camera on the WHIP uplink: offered as it is (never re-encoded).
#  1. An ingest that takes H.264 only refuses the offer (422): the uplink
#     stays down with a last_error that names the codecs, and backs off.
#  2. An ingest that takes H.265: the session comes up, a keyframe reaches
#     the ingest at once, and it records the camera's H.265 at its size
#     (ffprobe).
#     The session starts from a cached GOP of over 10 s, replayed at once:
#     camgate drops it as too late, asks the camera for a keyframe, and the
#     video flows within seconds, not at the camera's next keyframe (30 s).
#  3. The ingest's keyframe request (PLI) reaches the camera for H.265 too.
. "$(dirname "$0")/lib.sh"

require_world
[ -x "$CG_WHIPINGEST" ] || skip "cg-whipingest is not built (camgate configured without WebRTC)"
world_up 1
make_certs

FPS=25
GOP_S=30
start_camera 1 --codec h265 --audio none --fps $FPS --gop $((GOP_S * FPS))
start_whip_ingest

conf=$CG_WORK/camgate.conf
write_whip_config "$conf"
add_camera "$conf" 1
start_camgate "$conf"
wait_for "cam1 streaming" 30 camera_is cam1 streaming

# 1. Refused.
wait_for "the uplink to report the ingest's 422" 30 uplink_error_mentions cam1 "422"
uplink_error_mentions cam1 "H.265" ||
  fail "last_error does not mention H.265: $(uplink_field cam1 last_error)"
uplink_is_not cam1 up || fail "the uplink is up with an ingest that refuses H.265"
note "H.265 refused: $(uplink_field cam1 last_error)"
[ "$(camera_field cam1 codec)" = h265 ] ||
  fail "cam1's codec is $(camera_field cam1 codec), expected h265"
[ "$(ingest_stat /whip/cam1 sessions)" = 0 ] || fail "the ingest opened a session for H.265"

# 2. Taken.
stop_ingest
start_whip_ingest --h265
wait_for "uplink cam1 up once the ingest takes H.265" 60 uplink_is cam1 up
[ "$(uplink_field cam1 last_error)" = null ] ||
  fail "up, but last_error is $(uplink_field cam1 last_error)"
wait_for "a keyframe at the ingest" 5 ingest_ge /whip/cam1 keyframes 1
wait_for "3 s of H.265 at the ingest" 10 ingest_ge /whip/cam1 frames $((3 * FPS))

# 3. A keyframe on request, long before the camera's GOP ends.
k0=$(ingest_stat /whip/cam1 keyframes)
r0=$(camera_field cam1 keyframe_requests)
t0=$(cg_now_ms)
kill -USR1 "${CG_PID[ingest]}"
wait_for "a keyframe at the ingest after its PLI" 2 ingest_ge /whip/cam1 keyframes $((k0 + 1))
note "PLI: an H.265 keyframe $(($(cg_now_ms) - t0)) ms after the ingest asked (GOP $GOP_S s)"
wait_for "keyframe_requests to count the PLI" 2 \
  camera_ge cam1 keyframe_requests $((r0 + 1))

stop_camgate
stop_ingest
file=$(ingest_files cam1 | head -n 1)
# under valgrind camgate falls behind and drops frames, as it should
check_media "$file" hevc 640 360 none $((CG_SLOW ? FPS : 2 * FPS))
# Not a failure: once in a few runs the ingest missed the session's first
# keyframe (packets lost before it knew the stream, so never asked again)
# and asked for one itself, as a browser does; the recording then starts
# with the frames before the keyframe that answered.
first_packet_is_key "$file" ||
  grep -q "starts without a keyframe" "$CG_WORK/ingest.2.log" ||
  fail "the recording does not start with a keyframe, and the ingest did not ask for one"
note "whip-h265: all checks passed"
