#!/bin/bash
# An ingest whose certificate does not chain to ca_file: camgate must refuse
# it. The uplink never comes up, status and log say it is the certificate,
# and the ingest receives nothing. Then, as the control that proves the probe
# can see a session, the right CA: the same world relays.
. "$(dirname "$0")/lib.sh"

require_world
world_up 1
make_certs

start_camera 1
start_ingest --mount /live/cam1=h264+aac

conf=$CG_WORK/camgate.conf
write_config "$conf" "$CG_WRONG_CA"
add_camera "$conf" 1
start_camgate "$conf"

wait_for "cam1 streaming" 30 camera_is cam1 streaming

wait_for "uplink cam1 last_error to mention the certificate" 30 uplink_error_mentions cam1 certificate
note "uplink cam1 last_error: $(uplink_field cam1 last_error)"

# Watch it for a while: it must never come up (retries included).
deadline=$(($(cg_now_ms) + $(scaled_ms 10)))
while [ "$(cg_now_ms)" -lt "$deadline" ]; do
  state=$(uplink_state cam1)
  [ "$state" != up ] || fail "uplink cam1 is up although the ingest's certificate is not trusted"
  sleep 0.5
done
note "uplink cam1 state after 10 s: $state"

grep -i 'certificate' "$CG_WORK/camgate.log" >/dev/null ||
  fail "camgate's log does not say the certificate was refused"
note "log: $(grep -i 'certificate' "$CG_WORK/camgate.log" | head -n 1)"

sessions=$(ingest_stat /live/cam1 sessions)
frames=$(ingest_stat /live/cam1 frames)
[ "$sessions" = 0 ] && [ "$frames" = 0 ] ||
  fail "the ingest accepted $sessions session(s), $frames frames from an untrusting camgate"
[ -z "$(ingest_files cam1)" ] || fail "the ingest wrote a file: $(ingest_files cam1)"
stop_camgate

# Control: with the right CA the very same world relays, so the checks above
# could have seen a session.
mv "$CG_WORK/camgate.log" "$CG_WORK/camgate-wrong-ca.log"
write_config "$conf" "$CG_CA"
add_camera "$conf" 1
start_camgate "$conf"
wait_for "uplink cam1 up with the right CA" 30 uplink_is cam1 up
wait_for "the ingest to receive frames" 30 ingest_ge /live/cam1 frames 25
wait_for "the ingest to count the session" 10 ingest_ge /live/cam1 sessions 1
stop_camgate
stop_ingest
[ -n "$(ingest_files cam1)" ] || fail "control run: the ingest wrote no file"

note "wrong-ca: all checks passed"
