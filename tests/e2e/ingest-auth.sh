#!/bin/bash
# An ingest that wants RTSP credentials for RECORD: without them the uplink
# stays down and says the credentials were refused; with [uplink] username and
# password (applied by a reload) it records. The password never reaches the
# log or the status.
. "$(dirname "$0")/lib.sh"

require_world
world_up 1
make_certs
SECRET=ingest-pw-MARKER-7f3a
start_camera 1 --audio none
start_ingest --user pusher --password "$SECRET" --mount /live/cam1=h264

conf=$CG_WORK/camgate.conf
write_config "$conf"
add_camera "$conf" 1
start_camgate "$conf"
wait_for "cam1 streaming" 30 camera_is cam1 streaming

wait_for "the uplink to say the ingest refused the credentials" 30 \
  uplink_error_mentions cam1 "refused the credentials"
uplink_is_not cam1 up || fail "the uplink is up without credentials"
[ "$(ingest_stat /live/cam1 frames)" = 0 ] || fail "the ingest recorded frames without credentials"
note "without credentials: $(uplink_field cam1 last_error)"

sed -i "s|^ca_file = .*|&\nusername = pusher\npassword = $SECRET|" "$conf"
kill -HUP "${CG_PID[camgate]}"
wait_for "uplink cam1 up with credentials" 40 uplink_is cam1 up
wait_for "frames at the ingest" 20 ingest_ge /live/cam1 frames 50
stop_camgate
assert_secret_kept "$SECRET"
note "ingest-auth: all checks passed"
