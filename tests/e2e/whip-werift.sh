#!/bin/bash
# The WHIP uplink against a second, independent WebRTC implementation:
# werift (TypeScript, no GStreamer) as the ingest in the cloud namespace,
# tests/fixtures/werift-whip/ingest.mjs. Two cameras, H.264 with AAC and
# H.264 with G.711, pushed directly (no TURN).
#  0. The fixture does not take trickled candidates: camgate's PATCH gets
#     405, and camgate offers every candidate in a new POST.
#  1. Both sessions come up: camgate's status says kind whip, state up, no
#     error; werift negotiates camgate's offer (BUNDLE, rtcp-mux, DTLS,
#     profile-level-id) and receives each camera's H.264, AAC as Opus and
#     G.711 as it is.
#  2. camgate's DELETE reaches the ingest when camgate stops.
#  3. werift's recordings (Annex B, depacketized by the fixture, from the
#     first IDR picture on) are each camera's picture at its size, as
#     ffprobe reads it, and begin with SPS, PPS and an IDR picture (the
#     camera's parameter sets, forwarded in band).
# werift, the DTLS client here, may miss the first packets camgate sends
# (the GOP cache) while it finishes its handshake: the fixture then asks for
# a keyframe (PLI) and records from the next one. A keyframe must come
# within two GOPs.
. "$(dirname "$0")/lib.sh"

require_world
[ -x "$CG_WHIPINGEST" ] || skip "camgate is configured without WebRTC"
[ -n "$NODE" ] || skip "Node.js not found (configure NODE=, or apt-get install nodejs npm)"
[ -d "$CG_WERIFT_DIR/node_modules/werift" ] ||
  fail "werift is not installed in $CG_WERIFT_DIR: make check runs npm ci there (needs npm)"
world_up 2
make_certs

# first_nal_types FILE: the types of the Annex B file's NAL units, up to and
# including the first coded picture (1 to 5).
first_nal_types() {
  od -An -v -tu1 -N65536 "$1" | awk '
    { for (i = 1; i <= NF; i++) b[n++] = $i }
    END {
      for (i = 0; i + 3 < n; i++) {
        if (b[i] != 0 || b[i + 1] != 0 || b[i + 2] != 1) continue
        t = b[i + 3] % 32
        printf "%s%d", (out++ ? " " : ""), t
        if (t >= 1 && t <= 5) break
      }
      print ""
    }'
}

# udp_rcvbuf_errors ROLE: datagrams ROLE's kernel dropped because a
# socket's receive buffer was full.
udp_rcvbuf_errors() {
  # shellcheck disable=SC2016 # awk's own fields
  in_ns "$1" awk '$1 == "Udp:" && !n++ { for (i = 2; i <= NF; i++) k[i] = $i; next }
    $1 == "Udp:" { for (i = 2; i <= NF; i++) if (k[i] == "RcvbufErrors") print $i }' /proc/net/snmp
}

FPS=25
TOKEN=werift-token-MARKER-5e3a
start_camera 1 --fps $FPS --gop $FPS
start_camera 2 --fps $FPS --gop $FPS --audio pcmu --width 320 --height 240
start_werift_ingest --token "$TOKEN"
note "werift $(jq -r .version "$CG_WERIFT_DIR/node_modules/werift/package.json"), node $("$NODE" --version)"

conf=$CG_WORK/camgate.conf
write_whip_config "$conf" "$TOKEN"
add_camera "$conf" 1
add_camera "$conf" 2
start_camgate "$conf"

# 1. The sessions come up and the media arrives.
for k in 1 2; do
  wait_for "uplink cam$k up at the werift ingest" 60 uplink_is "cam$k" up
  [ "$(uplink_field "cam$k" kind)" = whip ] || fail "uplink cam$k kind is $(uplink_field "cam$k" kind)"
  [ "$(uplink_field "cam$k" last_error)" = null ] ||
    fail "uplink cam$k is up but last_error is $(uplink_field "cam$k" last_error)"
  wait_for "3 s of cam$k's video at werift" 30 ingest_ge "/whip/cam$k" frames $((3 * FPS))
  wait_for "cam$k's audio at werift" 10 ingest_ge "/whip/cam$k" audio 50
  ingest_ge "/whip/cam$k" keyframes 2 || fail "werift received no keyframe after the first from cam$k"
  skipped=$(ingest_stat "/whip/cam$k" skipped)
  note "cam$k: werift skipped $skipped picture(s) before the first keyframe;" \
    "$(ingest_stat "/whip/cam$k" lost) packet(s) lost"
  [ "$skipped" -lt $((2 * FPS)) ] ||
    fail "werift waited $skipped pictures for cam$k's first keyframe (GOP $FPS)"
  [ "$(uplink_field "cam$k" sessions)" = 1 ] ||
    fail "uplink cam$k has $(uplink_field "cam$k" sessions) sessions up, expected 1"
done
grep -q "does not take trickled candidates (405" "$CG_WORK/camgate.log" ||
  fail "camgate's log does not say that werift refused trickled candidates"
declare -A sessions0 deletes0
for k in 1 2; do
  sessions0[$k]=$(ingest_stat "/whip/cam$k" sessions)
  deletes0[$k]=$(ingest_stat "/whip/cam$k" deletes)
done
[ "$(ingest_stat /whip/cam1 audio_codec)" = opus ] ||
  fail "werift received $(ingest_stat /whip/cam1 audio_codec) audio from cam1, expected opus (from AAC)"
[ "$(ingest_stat /whip/cam2 audio_codec)" = pcmu ] ||
  fail "werift received $(ingest_stat /whip/cam2 audio_codec) audio from cam2, expected pcmu"
out0=$(uplink_field cam1 frames_out)
t0=$(cg_now_ms)
wait_for "frames_out to grow" 10 uplink_ge cam1 frames_out $((out0 + 2 * FPS))
check_rate "uplink cam1" $(($(uplink_field cam1 frames_out) - out0)) $(($(cg_now_ms) - t0)) $FPS
in0=$(ingest_stat /whip/cam1 frames)
t0=$(cg_now_ms)
wait_for "werift's frame count to grow" 10 ingest_ge /whip/cam1 frames $((in0 + 2 * FPS))
check_rate "werift cam1" $(($(ingest_stat /whip/cam1 frames) - in0)) $(($(cg_now_ms) - t0)) $FPS

note "UDP datagrams the cloud host dropped for a full receive buffer: $(udp_rcvbuf_errors cloud)"

# 2. DELETE on stop.
stop_camgate
for k in 1 2; do
  wait_for "camgate's DELETE of cam$k at werift" 10 \
    ingest_ge "/whip/cam$k" deletes $((deletes0[$k] + 1))
  [ "$(ingest_stat "/whip/cam$k" sessions)" = "${sessions0[$k]}" ] ||
    fail "werift counted $(ingest_stat "/whip/cam$k" sessions) sessions for cam$k, was ${sessions0[$k]}"
done
stop_ingest
assert_secret_kept "$TOKEN"

# 3. The recordings.
for k in 1 2; do
  f=$(ingest_files "cam$k" | head -n 1)
  [ -n "$f" ] || fail "werift wrote no file for cam$k (in $INGEST_OUT: $(ls "$INGEST_OUT"))"
  if [ "$k" = 1 ]; then size="640 360"; else size="320 240"; fi
  # shellcheck disable=SC2086 # width and height
  check_media "$f" h264 $size none $((3 * FPS))
  first_packet_is_key "$f" || fail "$(basename "$f") does not start with a keyframe"
  nals=$(first_nal_types "$f")
  note "$(basename "$f"): NAL unit types up to the first picture: $nals"
  [[ " $nals" == *" 5" && " $nals " == *" 7 "* && " $nals " == *" 8 "* ]] ||
    fail "$(basename "$f") does not begin with SPS (7), PPS (8) and an IDR picture (5): $nals"
done

note "whip-werift: all checks passed"
