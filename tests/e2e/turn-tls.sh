#!/bin/bash
# TURN over real TLS on 443, on the wire: camgate's proxy (gateway/turnproxy.c,
# driven by cg-turnprobe as webrtcbin drives it) reaches coturn in the cloud
# with a TLS handshake (SNI, ALPN stun.turn, the certificate verified), and a
# capture of port 443 shows TLS records only: no plaintext STUN. A TURN
# server whose certificate is not trusted is refused, and nothing reaches it.
. "$(dirname "$0")/lib.sh"

require_world
command -v turnserver >/dev/null || skip "coturn (turnserver) is not installed"
command -v tcpdump >/dev/null || skip "tcpdump is not installed"
world_up 0
make_certs

TURN=$CG_INGEST_ADDR:443
cg_spawn turn "$(ns cloud)" "$CG_WORK/turn.out" "$CG_WORK/turn.log" \
  turnserver -n --no-cli --log-file=stdout --simple-log --listening-ip="$CG_INGEST_ADDR" \
  --listening-port=3478 --tls-listening-port=443 --cert="$CG_SERVER_CERT" \
  --pkey="$CG_SERVER_KEY" --lt-cred-mech --user=cg:secret --realm=camgate.test \
  --no-dtls --pidfile="$CG_WORK/turn.pid"
turn_listens() { in_ns cloud ss -Hltn "sport = :443" | grep -q LISTEN; }
wait_for "coturn to listen on 443" 20 turn_listens

cg_spawn capture "$(ns cloud)" "$CG_WORK/capture.out" "$CG_WORK/capture.log" \
  tcpdump -i eth0 --immediate-mode -U -w "$CG_WORK/443.pcap" tcp port 443
capturing() { grep -q 'listening on' "$CG_WORK/capture.log"; }
wait_for "tcpdump to listen" 10 capturing

probe() { in_ns gw "$CG_BUILDDIR/tests/fixtures/cg-turnprobe" --turn "$TURN" "$@"; }

out=$(probe --ca "$CG_CA" --name ingest.test 2>"$CG_WORK/probe.err") ||
  fail "no STUN Binding answer through the TLS tunnel: $out ($(cat "$CG_WORK/probe.err"))"
note "through the proxy: $out"
grep -Eq '^binding ok mapped 203\.0\.113\.1:[0-9]+ alpn stun\.turn$' <<<"$out" ||
  fail "unexpected probe result (mapped address or ALPN): $out"

# The untrusted case: another CA. Refused before a byte of STUN is sent.
bad=$(probe --ca "$CG_WRONG_CA" --name ingest.test 2>/dev/null) &&
  fail "the probe got through with an untrusted TURN certificate: $bad"
note "with another CA: $bad"
grep -q 'presented a TLS certificate that does not verify' <<<"$bad" ||
  fail "the refusal does not say the certificate does not verify: $bad"

sleep 1
cg_stop capture TERM 5
check_tls_capture "$CG_WORK/443.pcap" 2
note "capture: $(cat "$CG_WORK/443.pcap.txt")"

cg_stop turn TERM 5
note "turn-tls: all checks passed"
