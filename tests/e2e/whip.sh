#!/bin/bash
# The WHIP (WebRTC) uplink, direct (no TURN): camgate offers two cameras
# (H.264 with AAC, H.264 with G.711) to a WHIP ingest in the cloud namespace.
#  0. The ingest's certificate does not verify against ca_file: refused,
#     and the status says so.
#  1. A wrong bearer token: the status says the token was refused, and
#     camgate backs off instead of hammering the ingest.
#  2. The right token (a reload): the sessions come up, status says kind
#     whip and state up, the ingest receives each camera's H.264 (AAC as
#     Opus, G.711 as it is) and records a file ffprobe reads at the
#     camera's size, starting on a keyframe. No ICE candidate names the
#     camera segment (br-cam, camera_interface), and no UDP socket of
#     camgate's is bound there.
#  3. The ingest goes away and comes back: camgate notices, and a fresh
#     session brings the media back on its own.
# The token never reaches the log or the status.
. "$(dirname "$0")/lib.sh"

require_world
[ -x "$CG_WHIPINGEST" ] || skip "cg-whipingest is not built (camgate configured without WebRTC)"
world_up 2
make_certs

FPS=25
TOKEN=whip-token-MARKER-41c2
WRONG=not-the-token-MARKER-9d07
start_camera 1 --fps $FPS --gop $FPS
start_camera 2 --fps $FPS --gop $FPS --audio pcmu --width 320 --height 240
start_whip_ingest --token "$TOKEN"

conf=$CG_WORK/camgate.conf
write_whip_config "$conf" "$WRONG"
add_camera "$conf" 1
add_camera "$conf" 2
sed -i "s|^ca_file = .*|ca_file = $CG_WRONG_CA|" "$conf"
start_camgate "$conf"
wait_for "cam1 streaming" 30 camera_is cam1 streaming

# 0. A certificate that does not verify.
wait_for "the uplink to refuse the ingest's certificate" 30 \
  uplink_error_mentions cam1 "presented a TLS certificate that does not verify"
uplink_error_mentions cam1 "trusted: $CG_WRONG_CA" || fail "last_error does not name ca_file"
note "wrong CA: $(uplink_field cam1 last_error)"
[ "$(ingest_stat /whip/cam1 refused)" = 0 ] || fail "a POST reached the ingest over an unverified TLS connection"
sed -i "s|^ca_file = .*|ca_file = $CG_CA|" "$conf"
kill -HUP "${CG_PID[camgate]}"

# 1. A wrong token.
wait_for "the uplink to say the token was refused" 30 \
  uplink_error_mentions cam1 "refused the token \(401"
[ "$(uplink_field cam1 kind)" = whip ] || fail "uplink kind is $(uplink_field cam1 kind), expected whip"
uplink_is_not cam1 up || fail "the uplink is up with a wrong token"
note "wrong token: $(uplink_field cam1 last_error)"
# Backoff: 1, 2, 4, 8 ... up to 30 s, each -20 % at worst: the most attempts
# a window can hold; a busy loop would make hundreds. (A window needs a sleep.)
window=$(scaled 12)
most=$(awk -v w="$window" 'BEGIN { d = 1; t = 0; n = 1
  while ((t += (0.8 * d < 1 ? 1 : 0.8 * d)) <= w) { n++; d = (2 * d > 30) ? 30 : 2 * d }
  print n }')
refused0=$(ingest_stat /whip/cam1 refused)
sleep "$window"
refused1=$(ingest_stat /whip/cam1 refused)
note "POSTs refused in $window s: $((refused1 - refused0)) (backoff allows at most $most)"
[ $((refused1 - refused0)) -le "$most" ] ||
  fail "$((refused1 - refused0)) POSTs in $window s after a 401: camgate does not back off"
[ $((refused1 - refused0)) -ge 1 ] || fail "no POST retried in $window s after a 401"
[ "$(ingest_stat /whip/cam1 frames)" = 0 ] || fail "the ingest received video with a wrong token"

# 2. The right token.
sed -i "s|^token = .*|token = $TOKEN|" "$conf"
kill -HUP "${CG_PID[camgate]}"
wait_for "uplink cam1 up with the right token" 60 uplink_is cam1 up
wait_for "uplink cam2 up with the right token" 60 uplink_is cam2 up
[ "$(uplink_field cam1 last_error)" = null ] ||
  fail "uplink cam1 is up but last_error is $(uplink_field cam1 last_error)"
wait_for "3 s of video at the ingest" 30 ingest_ge /whip/cam1 frames $((3 * FPS))
wait_for "audio at the ingest" 10 ingest_ge /whip/cam1 audio 50
[ "$(ingest_stat /whip/cam1 audio_codec)" = opus ] ||
  fail "the ingest received $(ingest_stat /whip/cam1 audio_codec) audio, expected opus (from AAC)"
wait_for "cam2's video at the ingest" 30 ingest_ge /whip/cam2 frames $((3 * FPS))
wait_for "cam2's audio at the ingest" 10 ingest_ge /whip/cam2 audio 50
[ "$(ingest_stat /whip/cam2 audio_codec)" = pcmu ] ||
  fail "the ingest received $(ingest_stat /whip/cam2 audio_codec) audio from cam2, expected pcmu"
assert_no_camera_candidates /whip/cam1
assert_no_camera_candidates /whip/cam2
camera_side=$(in_ns gw ss -Hnua src 10.20.0.1)
[ -z "$camera_side" ] || fail "UDP sockets on the camera segment while up: $camera_side"
cam2_out=$INGEST_OUT
out0=$(uplink_field cam1 frames_out)
t0=$(cg_now_ms)
wait_for "frames_out to grow" 10 uplink_ge cam1 frames_out $((out0 + 2 * FPS))
check_rate "uplink cam1" $(($(uplink_field cam1 frames_out) - out0)) $(($(cg_now_ms) - t0)) $FPS
sessions0=$(uplink_field cam1 sessions)
[ "$sessions0" -ge 1 ] || fail "uplink sessions is $sessions0 while up"
first_out=$INGEST_OUT

# 3. The ingest goes away, and comes back.
stop_ingest
t_down=$(cg_now_ms)
wait_for "uplink cam1 to leave 'up' after the ingest went away" 40 uplink_is_not cam1 up
note "uplink cam1 $(uplink_state cam1) after $(($(cg_now_ms) - t_down)) ms: $(uplink_field cam1 last_error)"
uplink_has cam1 last_error || fail "uplink cam1 is down but last_error is empty"
[ "$(camera_state cam1)" = streaming ] || fail "cam1 is $(camera_state cam1) while the uplink is down"

restart_ingest
t_up=$(cg_now_ms)
wait_for "uplink cam1 up again on its own" 60 uplink_is cam1 up
note "uplink cam1 up again $(($(cg_now_ms) - t_up)) ms after the ingest came back"
wait_for "3 s of video at the new ingest" 30 ingest_ge /whip/cam1 frames $((3 * FPS))
[ "$(uplink_field cam1 sessions)" -gt "$sessions0" ] ||
  fail "uplink sessions is $(uplink_field cam1 sessions) after a new session, was $sessions0"

stop_camgate
wait_for "camgate's DELETE at the ingest" 10 ingest_ge /whip/cam1 deletes 1
stop_ingest
assert_secret_kept "$TOKEN"
assert_secret_kept "$WRONG"

# The ingest counted 3 s of access units; its files hold at least 2 s
# (Matroska drops the first few, which webrtcbin's jitterbuffer hands on
# without a timestamp).
old=$(ingest_files cam1 "$first_out")
[ -n "$old" ] || fail "the first ingest wrote no file"
check_media "$(head -n 1 <<<"$old")" h264 640 360 none $((2 * FPS))
first_packet_is_key "$(head -n 1 <<<"$old")" || fail "the first recording does not start with a keyframe"
check_media "$(ingest_files cam2 "$cam2_out" | head -n 1)" h264 320 240 none $((2 * FPS))
new=$(ingest_files cam1)
[ -n "$new" ] || fail "the restarted ingest wrote no file (in $INGEST_OUT: $(ls "$INGEST_OUT"))"
check_media "$(tail -n 1 <<<"$new")" h264 640 360 none $((2 * FPS))
first_packet_is_key "$(tail -n 1 <<<"$new")" || fail "the new recording does not start with a keyframe"

note "whip: all checks passed"
