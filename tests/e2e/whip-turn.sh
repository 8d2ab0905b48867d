#!/bin/bash
# The WHIP uplink through TURN (coturn in the cloud namespace, beside the
# WHIP ingest), one camera, one case after another by reloads:
#  a. ice_transport_policy = relay over TURN/UDP: media arrives, status
#     shows the path relay/udp.
#  b. UDP and every TCP port but the WHIP endpoint's and TURN's blocked at
#     the gateway's uplink (an nftables table of this test's own): TURN/TCP
#     carries the media, path relay/tcp.
#  c. Only TCP 443 (and the WHIP endpoint) open: turns:// on 443, by host
#     name (the gateway's /etc/hosts names the cloud host), carries the
#     media, path relay/tls, and a capture of port 443 holds a TLS handshake
#     and no STUN in the clear. No candidate of a-c names the camera
#     segment: libnice's TCP to the loopback proxy is a connection, not a
#     candidate.
# b and c run with the default ice_transport_policy = all, as users do:
# libnice 0.1.21 may lose the relay's pair (docs/uplinks.md), before or
# after the session came up, and then the uplink falls back to relay only
# at once. Either way no session of b or c
# may end in the backoff of an ordinary ICE failure.
#  d. A TURN certificate that does not verify against ca_file: refused, and
#     last_error names the TURN server and the certificate. The ingest's
#     answers name a plain TURN/TCP server (a Link header): beside turns:
#     it is left out, so it never reaches the TLS-only proxy.
# The ingest's ICE candidates are reachable from coturn's relay (the same
# host) but, in b-d, not directly from the gateway. ffprobe checks each
# case's recording at the end.
. "$(dirname "$0")/lib.sh"

require_world
[ -x "$CG_WHIPINGEST" ] || skip "cg-whipingest is not built (camgate configured without WebRTC)"
command -v turnserver >/dev/null || skip "coturn (turnserver) is not installed"
command -v tcpdump >/dev/null || skip "tcpdump is not installed"
world_up 1
make_certs

FPS=25
TURN_USER=cg
TURN_PASS=turn-secret-MARKER-5e1a
TABLE=cgtest_uplink

# coturn: TURN over UDP and TCP on 3478, over TLS on 443, relaying from the
# cloud host's own address. $1: the certificate to present.
start_turn() {
  cg_spawn turn "$(ns cloud)" "$CG_WORK/turn.out" "$CG_WORK/turn.log" \
    turnserver -n --no-cli --log-file=stdout --simple-log --listening-ip="$CG_INGEST_ADDR" \
    --relay-ip="$CG_INGEST_ADDR" --min-port=49152 --max-port=49407 \
    --listening-port=3478 --tls-listening-port=443 --cert="$1" --pkey="$CG_SERVER_KEY" \
    --lt-cred-mech --user="$TURN_USER:$TURN_PASS" --realm=camgate.test --no-dtls \
    --pidfile="$CG_WORK/turn.pid"
  wait_for "coturn to listen on 443" 20 turn_listens
}
turn_listens() { in_ns cloud ss -Hltn "sport = :443" | grep -q LISTEN; }

# uplink_path ID: "local/transport" of the uplink's selected pair ("null/null": none).
uplink_path() {
  cg_status | jq -r --arg id "$1" \
    '.uplinks[] | select(.camera == $id) | "\(.path.local)/\(.path.transport)"'
}
path_is() { [ "$(uplink_path "$1")" = "$2" ]; }

# block_uplink TCP_PORTS: from the gateway to the cloud, only TCP to these
# ports (comma-separated) leaves; the rest is dropped and counted.
block_uplink() {
  in_ns gw nft delete table inet "$TABLE" 2>/dev/null || true
  in_ns gw nft -f - <<EOF
table inet $TABLE {
  chain out {
    type filter hook output priority 0; policy accept;
    oifname "wan0" tcp dport { $1 } accept
    oifname "wan0" counter drop
  }
}
EOF
}
dropped_packets() {
  in_ns gw nft list table inet "$TABLE" |
    awk '/counter/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}

# use_ice SERVERS POLICY: camgate reloads with these ice_servers; log_from
# is the log's line count then.
use_ice() {
  log_from=$(wc -l <"$CG_WORK/camgate.log")
  sed -i -e "s|^ice_servers = .*|ice_servers = $1|" \
    -e "s|^ice_transport_policy = .*|ice_transport_policy = $2|" "$conf"
  kill -HUP "${CG_PID[camgate]}"
}

# media_through WHAT PATH: the uplink comes up on PATH and 4 s more of video
# reach the ingest; the session's recording is kept in FILES.
FILES=()
media_through() {
  local what=$1 path=$2 frames
  frames=$(ingest_stat /whip/cam1 frames)
  wait_for "uplink cam1 up ($what)" 60 uplink_is cam1 up
  wait_for "the path $path ($what)" 10 path_is cam1 "$path"
  wait_for "4 s of video at the ingest ($what)" 30 ingest_ge /whip/cam1 frames $((frames + 4 * FPS))
  note "$what: path $(cg_status | jq -c '.uplinks[0].path')"
  FILES+=("$(ingest_files cam1 | tail -n 1)")
}

# no_path_backoff WHAT: since the last reload, a session whose ICE failed
# fell back to relay only at once, none waited for a retry with "all".
no_path_backoff() {
  local since n
  since=$(tail -n +"$((log_from + 1))" "$CG_WORK/camgate.log")
  ! grep -E 'uplink: .*ICE (failed|checking|new).*: retrying in ' <<<"$since" >&2 ||
    fail "$1: a session that found no path was retried with backoff, not through TURN only"
  # (grep -c exits 1 when it counts none)
  n=$(grep -c 'no direct or relayed-UDP path: retrying through TURN only' <<<"$since" || true)
  note "$1: $n fallback(s) to relay only"
}

start_camera 1 --fps $FPS --gop $FPS
start_whip_ingest --link "<turn:$CG_INGEST_ADDR:3478?transport=tcp>; rel=\"ice-server\"; \
username=\"$TURN_USER\"; credential=\"$TURN_PASS\"; credential-type=\"password\""
start_turn "$CG_SERVER_CERT"
TURN_UDP="turn://$TURN_USER:$TURN_PASS@$CG_INGEST_ADDR:3478?transport=udp"
TURN_TCP="turn://$TURN_USER:$TURN_PASS@$CG_INGEST_ADDR:3478?transport=tcp"
# turns: by name, as users write it: resolved by camgate, the name checked
# against the certificate (SNI and subjectAltName DNS:ingest.test)
ns_hosts gw "$CG_INGEST_ADDR ingest.test"
TURNS="turns://$TURN_USER:$TURN_PASS@ingest.test:443"

conf=$CG_WORK/camgate.conf
write_whip_config "$conf"
printf 'ice_servers = %s\nice_transport_policy = relay\n' "$TURN_UDP" >>"$conf"
add_camera "$conf" 1
start_camgate "$conf"
wait_for "cam1 streaming" 30 camera_is cam1 streaming

# a. TURN/UDP, relay only.
media_through "TURN/UDP, relay policy" relay/udp
cg_status | jq -e '.uplinks[0].path.local_address | startswith("203.0.113.2:")' >/dev/null ||
  fail "the relay's address is not on the TURN server: $(cg_status | jq -c '.uplinks[0].path')"

# b. No UDP out: TURN/TCP.
block_uplink "$CG_WHIP_PORT, 3478"
use_ice "$TURN_TCP" all
wait_for "uplink cam1 to start a new session" 20 uplink_is_not cam1 up
media_through "UDP blocked, TURN/TCP" relay/tcp
no_path_backoff "TURN/TCP"
note "packets dropped at the gateway's uplink: $(dropped_packets)"

# c. Only TCP 443 (and the WHIP endpoint): TURN over TLS.
block_uplink "$CG_WHIP_PORT, 443"
cg_spawn capture "$(ns cloud)" "$CG_WORK/capture.out" "$CG_WORK/capture.log" \
  tcpdump -i eth0 --immediate-mode -U -w "$CG_WORK/443.pcap" tcp port 443
capturing() { grep -q 'listening on' "$CG_WORK/capture.log"; }
wait_for "tcpdump to listen" 10 capturing
use_ice "$TURNS" all
wait_for "uplink cam1 to start a new session" 20 uplink_is_not cam1 up
media_through "only TCP 443, TURN over TLS" relay/tls
no_path_backoff "TURN/TLS"
"$CAMGATE" status -c "$CG_CONF" | grep -Eq '^cam1 +whip +up .* relay/tls ' ||
  fail "camgate status does not show the path relay/tls: $("$CAMGATE" status -c "$CG_CONF")"
sleep 1
cg_stop capture TERM 5
check_tls_capture "$CG_WORK/443.pcap" 1
assert_no_camera_candidates /whip/cam1
note "capture: $(cat "$CG_WORK/443.pcap.txt")"

# d. A TURN certificate from another CA.
d=$CG_WORK/pki
openssl req -new -key "$CG_SERVER_KEY" -out "$d/turn-wrong.csr" -subj "/CN=ingest.test" \
  2>/dev/null
openssl x509 -req -in "$d/turn-wrong.csr" -CA "$d/wrong-ca.pem" -CAkey "$d/wrong-ca.key" \
  -CAcreateserial -days 30 -extfile "$d/server.ext" -out "$d/turn-wrong.pem" 2>/dev/null
cg_stop turn TERM 5
start_turn "$d/turn-wrong.pem"
# (the session through the old coturn breaks; the next one meets the new one)
wait_for "the uplink to refuse the TURN server's certificate" 90 \
  uplink_error_mentions cam1 \
  "TURN server ingest.test \\($CG_INGEST_ADDR:443\\) .*certificate that does not verify"
note "wrong TURN certificate: $(uplink_field cam1 last_error)"
uplink_is_not cam1 up || fail "the uplink is up through a TURN server it cannot trust"
grep -q "turn:$CG_INGEST_ADDR:3478?transport=tcp left out" "$CG_WORK/camgate.log" ||
  fail "the ingest's plain TURN/TCP server was not left out beside turns:"
! grep -q "refused a CONNECT to $CG_INGEST_ADDR:3478" "$CG_WORK/camgate.log" ||
  fail "a plain TURN/TCP server reached the TLS proxy"

stop_camgate
in_ns gw nft delete table inet "$TABLE"
cg_stop turn TERM 5
stop_ingest
assert_secret_kept "$TURN_PASS"

for f in "${FILES[@]}"; do
  [ -n "$f" ] || fail "a case left no recording at the ingest"
  check_media "$f" h264 640 360 none $((2 * FPS))
done
note "whip-turn: all checks passed"
