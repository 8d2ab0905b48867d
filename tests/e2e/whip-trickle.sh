#!/bin/bash
# Trickle ICE on the WHIP uplink (RFC 9725 4.3): camgate POSTs its offer at
# once and sends the candidates it gathers afterwards by PATCH, and falls
# back to a complete offer against an ingest that does not trickle. A TURN
# server (coturn, UDP) in the cloud makes gathering last beyond the offer:
# its relay candidate comes after the TURN allocation.
#  1. A trickling ingest: the offer goes out before gathering ends (no
#     a=end-of-candidates), the relay candidate and the end of gathering
#     reach the ingest by PATCH, none twice, the session comes up, video flows, and
#     camgate's log says trickle ICE. No candidate, offered or PATCHed,
#     names the camera segment (a relay's raddr included).
#  2. The ingest comes back answering PATCH with 405: camgate ends that
#     session (DELETE), offers a new one at once with every candidate in
#     the POST (ending with a=end-of-candidates), media flows, the log says
#     the endpoint does not trickle, and no more PATCH is sent.
. "$(dirname "$0")/lib.sh"

require_world
[ -x "$CG_WHIPINGEST" ] || skip "cg-whipingest is not built (camgate configured without WebRTC)"
command -v turnserver >/dev/null || skip "coturn (turnserver) is not installed"
world_up 1
make_certs

FPS=25
TOKEN=whip-token-MARKER-7e1a
TURN_PASSWORD=turn-pass-MARKER-3b9c
cg_spawn turn "$(ns cloud)" "$CG_WORK/turn.out" "$CG_WORK/turn.log" \
  turnserver -n --no-cli --log-file=stdout --simple-log --listening-ip="$CG_INGEST_ADDR" \
  --listening-port=3478 --no-tcp --no-tls --no-dtls --lt-cred-mech \
  --user="cg:$TURN_PASSWORD" --realm=camgate.test --pidfile="$CG_WORK/turn.pid"
turn_listens() { in_ns cloud ss -Hlun "sport = :3478" | grep -q .; }
wait_for "coturn to listen on UDP 3478" 20 turn_listens
start_camera 1 --fps $FPS --gop $FPS
start_whip_ingest --token "$TOKEN"

conf=$CG_WORK/camgate.conf
write_whip_config "$conf" "$TOKEN"
printf 'ice_servers = turn://cg:%s@%s:3478?transport=udp\n' "$TURN_PASSWORD" "$CG_INGEST_ADDR" \
  >>"$conf"
add_camera "$conf" 1
start_camgate "$conf"

# 1. Trickle.
wait_for "uplink cam1 up over a trickling ingest" 60 uplink_is cam1 up
wait_for "the end of candidates by PATCH at the ingest" 20 ingest_ge /whip/cam1 patch_ends 1
wait_for "3 s of video at the ingest" 30 ingest_ge /whip/cam1 frames $((3 * FPS))
note "trickle: $(ingest_stat /whip/cam1 offered) candidate(s) in the offer," \
  "$(ingest_stat /whip/cam1 trickled) in $(ingest_stat /whip/cam1 patches) PATCH(es)"
[ "$(ingest_stat /whip/cam1 offer_complete)" = 0 ] ||
  fail "the offer waited for the end of gathering: it was not sent at once"
num_ge "$(ingest_stat /whip/cam1 trickled)" 1 ||
  fail "no candidate reached the ingest by PATCH (the relay candidate comes after the offer)"
[ "$(ingest_stat /whip/cam1 repeated)" = 0 ] ||
  fail "$(ingest_stat /whip/cam1 repeated) candidate(s) PATCHed that the ingest already had"
assert_no_camera_candidates /whip/cam1
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
[ "$(ingest_stat /whip/cam1 offer_complete)" = 1 ] ||
  fail "the offer after the 405 has no a=end-of-candidates: not a complete offer"
num_ge "$(ingest_stat /whip/cam1 offered)" 2 ||
  fail "the offer after the 405 has $(ingest_stat /whip/cam1 offered) candidate(s): no relay one"
wait_for "the refused session DELETEd" 10 ingest_ge /whip/cam1 deletes 1
[ "$(ingest_stat /whip/cam1 sessions)" -ge 2 ] ||
  fail "$(ingest_stat /whip/cam1 sessions) session(s): no new, complete offer after the 405"
# the fallback holds for the uplink: the sessions that follow do not PATCH
note "no trickle: $patches PATCH(es) refused, $(ingest_stat /whip/cam1 sessions) sessions," \
  "$(uplink_field cam1 sessions) up, $(ingest_stat /whip/cam1 offered) candidate(s) in the offer"
[ "$(ingest_stat /whip/cam1 patches)" = "$patches" ] || fail "camgate PATCHed again after a 405"

stop_camgate
stop_ingest
assert_secret_kept "$TOKEN"
assert_secret_kept "$TURN_PASSWORD"
check_media "$(ingest_files cam1 | tail -n 1)" h264 640 360 none $((2 * FPS))
note "whip-trickle: all checks passed"
