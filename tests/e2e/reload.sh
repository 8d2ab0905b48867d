#!/bin/bash
# SIGHUP reloads the configuration: an added camera starts, a changed one
# restarts, a removed one stops, and an unchanged one is not touched (its
# camera and uplink sessions carry on). An invalid file is refused and the
# running configuration stays.
. "$(dirname "$0")/lib.sh"

require_world
world_up 2
make_certs
start_camera 1 --audio none
start_camera 2 --audio none
start_ingest --mount /live/cam1=h264 --mount /live/cam2=h264

relay_up 1
conf=$CG_WORK/camgate.conf

# unchanged_cam1: cam1 was never restarted (same camera and uplink session).
unchanged_cam1() {
  local s
  s=$(cg_status)
  jq -e '.cameras[] | select(.id == "cam1") | .reconnects == 0 and .state == "streaming"' \
    <<<"$s" >/dev/null || fail "cam1 was restarted by a reload that did not change it: $s"
  jq -e '.uplinks[] | select(.camera == "cam1") | .sessions == 1 and .state == "up"' \
    <<<"$s" >/dev/null || fail "cam1's uplink session was replaced by a reload that did not change it: $s"
  [ "$(ingest_stat /live/cam1 sessions)" = 1 ] ||
    fail "the ingest saw $(ingest_stat /live/cam1 sessions) sessions for cam1, expected 1"
}
reload() {
  kill -HUP "${CG_PID[camgate]}"
}
camera_absent() {
  [ "$(cg_status | jq --arg id "$1" '[.cameras[] | select(.id == $id)] | length')" = 0 ]
}

# 1. Add cam2.
add_camera "$conf" 2
reload
wait_for "added cam2 streaming" 30 camera_is cam2 streaming
wait_for "added cam2's uplink up" 30 uplink_is cam2 up
wait_for "cam2 frames at the ingest" 30 ingest_ge /live/cam2 frames 25
unchanged_cam1
note "added cam2; cam1 untouched"

# 2. Change cam2 (RTP over UDP now): it restarts, cam1 does not.
frames_before=$(uplink_field cam2 frames_out)
sed -i '/^\[camera cam2\]/,$ s/^url = .*/&\ntransport = udp/' "$conf"
reload
wait_for "changed cam2 streaming again" 30 camera_is cam2 streaming
wait_for "changed cam2's uplink up again" 30 uplink_is cam2 up
wait_for "a second cam2 session at the ingest" 30 ingest_ge /live/cam2 sessions 2
unchanged_cam1
note "changed cam2 restarted (it had sent $frames_before frames); cam1 untouched"

# 3. An invalid file is refused; everything keeps running.
cp "$conf" "$CG_WORK/good.conf"
printf '\n[camera Bad Id]\nurl = rtsp://10.20.0.13/stream\n' >>"$conf"
bad_line=$(grep -n '^\[camera Bad Id\]' "$conf" | cut -d: -f1)
reload
wait_for "the refused reload in the log" 10 \
  grep -q "reload refused.*$conf:$bad_line:" "$CG_WORK/camgate.log"
camera_is cam2 streaming || fail "cam2 stopped after a refused reload"
unchanged_cam1
cp "$CG_WORK/good.conf" "$conf"
note "invalid file refused with $conf:$bad_line"

# 4. Remove cam2: it stops, cam1 does not.
sed -i '/^\[camera cam2\]/,$d' "$conf"
reload
wait_for "removed cam2 gone from the status" 20 camera_absent cam2
wait_for "the camera sees camgate leave" 20 \
  bash -c "[ \"\$(awk '\$1 == \"clients\" { print \$2 }' '$CG_WORK/cam2.stats')\" = 0 ]"
unchanged_cam1
note "removed cam2; cam1 untouched"

# 5. A smaller GOP cache applies at once to a running camera, without a restart.
[ "$(camera_field cam1 gop_cache_limit_bytes)" = $((8192 * 1024)) ] ||
  fail "cam1's GOP cache bound is not the default 8 MiB: $(cg_status)"
camera_ge cam1 gop_cache_bytes 1 || fail "cam1's GOP cache is empty: $(cg_status)"
sed -i 's/^\[gateway\]$/&\ngop_cache_kbytes = 1/' "$conf"
reload
cache_limit_is() { [ "$(camera_field cam1 gop_cache_limit_bytes)" = "$1" ]; }
wait_for "cam1's GOP cache bound at 1 kB" 20 cache_limit_is 1024
wait_for "a GOP of cam1 outgrowing 1 kB counted" 20 camera_ge cam1 gop_cache_overflows 1
[ "$(camera_field cam1 gop_cache_bytes)" = 0 ] || fail "cam1 caches more than 1 kB: $(cg_status)"
wait_for "the overflow in the log" 10 \
  grep -q "\[cam1\] a GOP outgrew the 1 kB cache" "$CG_WORK/camgate.log"
unchanged_cam1
note "gop_cache_kbytes = 1 applied on reload; cam1 untouched"

stop_camgate
note "reload: all checks passed"
