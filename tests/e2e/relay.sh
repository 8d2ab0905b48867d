#!/bin/bash
# Three cameras relayed at once to one RTSPS ingest, as a user would set it
# up: cam1 H.264 + AAC behind Digest auth, cam2 H.264 + AAC over RTP/UDP,
# cam3 H.265 without audio. What the ingest recorded must be what the
# cameras sent: codec, size, audio, and (nearly) every frame.
. "$(dirname "$0")/lib.sh"

require_world
world_up 3
make_certs

FPS=25
W=640
H=360
SECRET=digest-pw-MARKER-41d2
CAMS="1 2 3"

start_camera 1 --codec h264 --audio aac --width $W --height $H --fps $FPS --gop 50 \
  --user admin --password "$SECRET" --digest
start_camera 2 --codec h264 --audio aac --width $W --height $H --fps $FPS --gop 50
start_camera 3 --codec h265 --audio none --width $W --height $H --fps $FPS --gop 50
start_ingest --mount /live/cam1=h264+aac --mount /live/cam2=h264+aac --mount /live/cam3=h265

conf=$CG_WORK/camgate.conf
write_config "$conf"
add_camera "$conf" 1 username=admin "password=$SECRET" transport=tcp
add_camera "$conf" 2 transport=udp
add_camera "$conf" 3
start_camgate "$conf"

for k in $CAMS; do
  wait_for "cam$k streaming" 30 camera_is "cam$k" streaming
done
for k in $CAMS; do
  wait_for "uplink cam$k up" 30 uplink_is "cam$k" up
  wait_for "uplink cam$k frames_out > 0" 20 uplink_ge "cam$k" frames_out 1
done
note "all cameras streaming, all uplinks up"

# ~10 s of media: measure how fast frames go out while every uplink is up.
cg_status >"$CG_WORK/s0.json"
t0=$(cg_now_ms)
out0=()
drop0=()
for k in $CAMS; do
  out0[k]=$(jq -r --arg id "cam$k" '.uplinks[] | select(.camera == $id) | .frames_out' "$CG_WORK/s0.json")
  drop0[k]=$(jq -r --arg id "cam$k" '.uplinks[] | select(.camera == $id) | .frames_dropped' "$CG_WORK/s0.json")
done
all_sent_10s() {
  local k
  for k in $CAMS; do
    uplink_ge "cam$k" frames_out $((out0[k] + 10 * FPS)) || return 1
  done
}
wait_for "10 s of video (+$((10 * FPS)) frames) out on every uplink" 30 all_sent_10s
cg_status >"$CG_WORK/s1.json"
t1=$(cg_now_ms)
for k in $CAMS; do
  out1=$(jq -r --arg id "cam$k" '.uplinks[] | select(.camera == $id) | .frames_out' "$CG_WORK/s1.json")
  check_rate "uplink cam$k" $((out1 - out0[k])) $((t1 - t0)) $FPS
done

# transport = tcp interleaves the media in the RTSP connection; transport =
# udp leaves only the RTSP replies there.
tcp1=$(rtsp_tcp_bytes 1)
tcp2=$(rtsp_tcp_bytes 2)
note "bytes over RTSP/TCP: cam1 (tcp) $tcp1, cam2 (udp) $tcp2"
[ "$tcp1" -ge 500000 ] || fail "cam1 (transport = tcp): only $tcp1 bytes came over the RTSP connection"
[ "$tcp2" -lt 100000 ] || fail "cam2 (transport = udp): $tcp2 bytes came over the RTSP connection, the media is not on UDP"

# What camgate reports about each camera.
for k in $CAMS; do
  c=$(jq -c --arg id "cam$k" '.cameras[] | select(.id == $id)' "$CG_WORK/s1.json")
  u=$(jq -c --arg id "cam$k" '.uplinks[] | select(.camera == $id)' "$CG_WORK/s1.json")
  note "status cam$k: $c"
  note "status uplink cam$k: $u"
  codec=$(jq -r .codec <<<"$c")
  case $k:$codec in
    1:h264 | 2:h264 | 3:h265 | 3:hevc) ;;
    *) fail "status: cam$k codec is '$codec', expected $([ "$k" = 3 ] && echo h265 || echo h264)" ;;
  esac
  [ "$(jq -r '"\(.width)x\(.height)"' <<<"$c")" = "${W}x$H" ] ||
    fail "status: cam$k size is $(jq -r '"\(.width)x\(.height)"' <<<"$c"), expected ${W}x$H"
  jq -e --argjson f $FPS '.fps != null and .fps >= $f * 0.8 and .fps <= $f * 1.2' <<<"$c" >/dev/null ||
    fail "status: cam$k fps is $(jq -r .fps <<<"$c"), expected about $FPS"
  jq -e '.kbps > 0' <<<"$c" >/dev/null || fail "status: cam$k kbps is $(jq -r .kbps <<<"$c"), expected > 0"
  jq -e '.reconnects == 0' <<<"$c" >/dev/null ||
    fail "status: cam$k reconnected $(jq -r .reconnects <<<"$c") times in a healthy network"
  [ "$CG_SLOW" = 1 ] || jq -e --argjson d "${drop0[$k]}" '.frames_dropped == $d' <<<"$u" >/dev/null ||
    fail "status: uplink cam$k dropped $(($(jq -r .frames_dropped <<<"$u") - drop0[k])) frames in 10 s on a free link"
  jq -e '(.sessions // 1) == 1' <<<"$u" >/dev/null ||
    fail "status: uplink cam$k had $(jq -r .sessions <<<"$u") sessions, expected 1"
done

# TEARDOWN on SIGTERM, then the ingest closes its files.
cg_status >"$CG_WORK/s2.json"
stop_camgate
assert_secret_kept "$SECRET"
stop_ingest
for k in $CAMS; do
  note "ingest /live/cam$k: sessions $(ingest_stat "/live/cam$k" sessions), frames $(ingest_stat "/live/cam$k" frames)"
done

for k in $CAMS; do
  files=$(ingest_files "cam$k")
  [ -n "$files" ] || fail "the ingest wrote no file for cam$k (in $INGEST_OUT: $(ls "$INGEST_OUT"))"
  [ "$(wc -l <<<"$files")" = 1 ] || fail "the ingest wrote $(wc -l <<<"$files") files for cam$k, expected 1: $files"
  out=$(jq -r --arg id "cam$k" '.uplinks[] | select(.camera == $id) | .frames_out' "$CG_WORK/s2.json")
  min=$((out * REQUIRED_SHARE / 100))
  case $k in
    3) check_media "$files" hevc $W $H none $min ;;
    *) check_media "$files" h264 $W $H aac $min ;;
  esac
  note "cam$k: $PROBED_FRAMES frames recorded, $out sent ($(pct "$PROBED_FRAMES" "$out")%)"
  first_packet_is_key "$files" || fail "cam$k: the recording does not start with a keyframe"
done

note "relay: all checks passed"
