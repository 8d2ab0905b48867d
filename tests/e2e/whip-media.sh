#!/bin/bash
# What the WHIP uplink does for an ingest that lost packets or the picture,
# with a camera whose keyframes are 60 s apart:
#  1. The offer announces keyframe requests (nack pli, ccm fir) and NACK
#     with RTX for the video.
#  2. The ingest asks for a keyframe (RTCP PLI, then FIR), three times each:
#     camgate passes every request on to the camera over RTCP, counts it
#     (keyframe_requests), and each time a keyframe reaches the ingest within
#     2 s, where the camera's GOP would have made it wait up to a minute.
#  3. 3 % of the packets toward the ingest are dropped (nftables in the
#     gateway's namespace): the ingest's NACKs are answered with
#     retransmissions, and video keeps flowing.
. "$(dirname "$0")/lib.sh"

require_world
[ -x "$CG_WHIPINGEST" ] || skip "cg-whipingest is not built (camgate configured without WebRTC)"
world_up 1
make_certs

FPS=25
GOP_S=60
start_camera 1 --fps $FPS --gop $((GOP_S * FPS)) --audio pcmu
start_whip_ingest

conf=$CG_WORK/camgate.conf
write_whip_config "$conf"
add_camera "$conf" 1
# the offer and the keyframe requests are logged at debug level
export G_MESSAGES_DEBUG=all
start_camgate "$conf"
wait_for "uplink cam1 up" 60 uplink_is cam1 up
wait_for "1 s of video at the ingest" 30 ingest_ge /whip/cam1 frames $FPS

# 1. The offer.
offer=$(sed -n '/WHIP offer:/,/^a=end-of-candidates/p' "$CG_WORK/camgate.log" | tr -d '\r')
for line in 'a=rtcp-fb:96 nack pli' 'a=rtcp-fb:96 ccm fir' 'a=rtcp-fb:96 nack$' \
  'a=rtpmap:[0-9]* rtx/90000' 'a=fmtp:[0-9]* apt=96'; do
  grep -q "$line" <<<"$offer" || fail "the offer has no '$line': $offer"
done
note "the offer announces nack pli, ccm fir, nack and rtx for the video"

# 2. Keyframe requests. The session started from camgate's GOP cache, on
# one keyframe (and one more if camgate dropped the cache's replay as late
# and asked the camera itself); the camera's next comes in up to a minute.
[ "$(ingest_stat /whip/cam1 keyframes)" -le $((1 + $(camera_field cam1 keyframe_requests))) ] ||
  fail "the ingest has $(ingest_stat /whip/cam1 keyframes) keyframes before asking for any"
requests=0
for kind in PLI PLI PLI FIR FIR FIR; do
  k0=$(ingest_stat /whip/cam1 keyframes)
  r0=$(camera_field cam1 keyframe_requests)
  t0=$(cg_now_ms)
  if [ $kind = PLI ]; then kill -USR1 "${CG_PID[ingest]}"; else kill -USR2 "${CG_PID[ingest]}"; fi
  wait_for "a keyframe at the ingest after its $kind" 2 ingest_ge /whip/cam1 keyframes $((k0 + 1))
  note "$kind: a keyframe $(($(cg_now_ms) - t0)) ms after the ingest asked"
  wait_for "keyframe_requests to count the $kind" 2 camera_ge cam1 keyframe_requests $((r0 + 1))
  requests=$((requests + 1))
  sleep 1.2 # camgate passes at most one request a second on to the camera
done
grep -q "keyframe request to the camera (RTCP FIR)" "$CG_WORK/camgate.log" ||
  fail "camgate did not send the camera an FIR for the ingest's"
note "keyframe_requests: $(camera_field cam1 keyframe_requests) after $requests requests"

# 3. Losses answered with retransmissions.
in_ns gw nft -f - <<'EOF'
table inet cg_whip_loss {
  chain out {
    type filter hook output priority 0;
    oifname "wan0" meta l4proto udp numgen random mod 100 < 3 counter drop
  }
}
EOF
frames0=$(ingest_stat /whip/cam1 frames)
rtx0=$(ingest_stat /whip/cam1 rtx)
sleep 8 # the lossy link's run (the scenario, not a wait)
dropped=$(in_ns gw nft list table inet cg_whip_loss | awk '/counter/ { print $(NF - 3) }')
in_ns gw nft delete table inet cg_whip_loss
frames1=$(ingest_stat /whip/cam1 frames)
rtx1=$(ingest_stat /whip/cam1 rtx)
lost=$(ingest_stat /whip/cam1 lost)
note "3 % loss for 8 s: $dropped packets dropped, $((rtx1 - rtx0)) retransmitted into a gap," \
  "$lost lost for good, $((frames1 - frames0)) frames at the ingest"
[ "${dropped:-0}" -ge 10 ] || fail "the loss rule dropped ${dropped:-0} packets: no test"
# about a third of the packets are audio, which is not retransmitted
[ $((rtx1 - rtx0)) -ge $((dropped / 4)) ] ||
  fail "only $((rtx1 - rtx0)) of $dropped dropped packets were retransmitted"
[ $((frames1 - frames0)) -ge $((8 * FPS / 2)) ] ||
  fail "$((frames1 - frames0)) frames reached the ingest in 8 s at 3 % loss"
[ "$(uplink_state cam1)" = up ] || fail "the uplink is $(uplink_state cam1) after the losses"

stop_camgate
stop_ingest
check_media "$(ingest_files cam1 | head -n 1)" h264 640 360 none $((5 * FPS))
note "whip-media: all checks passed"
