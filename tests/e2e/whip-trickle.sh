#!/bin/bash
# Trickle ICE on the WHIP uplink (RFC 9725 4.3): camgate POSTs its offer at
# once and sends the candidates it gathers afterwards by PATCH, and falls
# back to a complete offer against an ingest that does not trickle.
#  1. A trickling ingest: candidates reach it by PATCH (its count), the
#     session comes up, video flows, and camgate's log says trickle ICE.
#  2. The ingest comes back answering PATCH with 405: camgate ends that
#     session (DELETE), offers a new one at once with every candidate in
#     the POST, media flows, the log says the endpoint does not trickle,
#     and no more PATCH is sent.
. "$(dirname "$0")/lib.sh"

require_world
[ -x "$CG_WHIPINGEST" ] || skip "cg-whipingest is not built (camgate configured without WebRTC)"
world_up 1
make_certs

FPS=25
TOKEN=whip-token-MARKER-7e1a
start_camera 1 --fps $FPS --gop $FPS
start_whip_ingest --token "$TOKEN"

conf=$CG_WORK/camgate.conf
write_whip_config "$conf" "$TOKEN"
add_camera "$conf" 1
start_camgate "$conf"

# 1. Trickle.
wait_for "uplink cam1 up over a trickling ingest" 60 uplink_is cam1 up
wait_for "candidates by PATCH at the ingest" 20 ingest_ge /whip/cam1 trickled 1
wait_for "3 s of video at the ingest" 30 ingest_ge /whip/cam1 frames $((3 * FPS))
note "trickle: $(ingest_stat /whip/cam1 patches) PATCH(es)," \
  "$(ingest_stat /whip/cam1 trickled) candidate(s)"
grep -q "\[cam1\] uplink up: WHIP session .* (trickle ICE" "$CG_WORK/camgate.log" ||
  fail "camgate's log does not say the session trickles"
[ "$(ingest_stat /whip/cam1 sessions)" = 1 ] ||
  fail "$(ingest_stat /whip/cam1 sessions) sessions at a trickling ingest, expected 1"
[ "$(uplink_field cam1 last_error)" = null ] ||
  fail "uplink cam1 is up but last_error is $(uplink_field cam1 last_error)"

# 2. An ingest that does not trickle.
stop_ingest
wait_for "uplink cam1 to leave 'up' after the ingest went away" 40 uplink_is_not cam1 up
start_whip_ingest --token "$TOKEN" --no-trickle
t_up=$(cg_now_ms)
wait_for "uplink cam1 up again, without trickle" 90 uplink_is cam1 up
note "uplink cam1 up $(($(cg_now_ms) - t_up)) ms after the non-trickling ingest came up"
wait_for "3 s of video at the non-trickling ingest" 30 ingest_ge /whip/cam1 frames $((3 * FPS))
grep -q "does not take trickled candidates (405 Method Not Allowed): camgate offers every" \
  "$CG_WORK/camgate.log" || fail "camgate's log does not say why it stopped trickling"
grep -q "\[cam1\] uplink up: WHIP session .* (every candidate in the offer" \
  "$CG_WORK/camgate.log" || fail "camgate's log does not say the offer was complete"
patches=$(ingest_stat /whip/cam1 patches)
[ "$patches" -ge 1 ] || fail "no PATCH reached the non-trickling ingest"
[ "$(ingest_stat /whip/cam1 trickled)" = 0 ] || fail "the non-trickling ingest took candidates"
wait_for "the refused session DELETEd" 10 ingest_ge /whip/cam1 deletes 1
[ "$(ingest_stat /whip/cam1 sessions)" -ge 2 ] ||
  fail "$(ingest_stat /whip/cam1 sessions) session(s): no new, complete offer after the 405"
# the fallback holds for the uplink: the sessions that follow do not PATCH
sessions=$(ingest_stat /whip/cam1 sessions)
note "no trickle: $patches PATCH(es) refused, $sessions sessions, $(uplink_field cam1 sessions) up"
[ "$(ingest_stat /whip/cam1 patches)" = "$patches" ] || fail "camgate PATCHed again after a 405"

stop_camgate
stop_ingest
assert_secret_kept "$TOKEN"
check_media "$(ingest_files cam1 | tail -n 1)" h264 640 360 none $((2 * FPS))
note "whip-trickle: all checks passed"
