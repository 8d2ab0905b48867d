#!/bin/bash
# A camera with G.711 µ-law audio (as many cheap cameras have on their
# substream): video and audio reach the ingest as they came, the audio still
# µ-law, never transcoded.
. "$(dirname "$0")/lib.sh"

require_world
world_up 1
make_certs
start_camera 1 --codec h264 --audio pcmu
start_ingest --mount /live/cam1=h264+pcmu

relay_up 1
[ "$(camera_field cam1 audio_codec)" = pcmu ] ||
  fail "status: cam1 audio_codec is $(camera_field cam1 audio_codec), expected pcmu"
out0=$(uplink_field cam1 frames_out)
wait_for "5 s of video out" 30 uplink_ge cam1 frames_out $((out0 + 125))
stop_camgate
stop_ingest

file=$(ingest_files cam1)
[ "$(wc -l <<<"$file")" = 1 ] || fail "expected one recording for cam1, got: $file"
check_media "$file" h264 640 360 pcm_mulaw 100
first_packet_is_key "$file" || fail "the recording does not start with a keyframe"
note "g711: all checks passed"
