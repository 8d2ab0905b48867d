#!/bin/bash
# Cutting a camera's connections at the seal (DESIGN.md, "Isolation
# semantics"): connections a camera had open before the seal is applied lose
# their conntrack entries, so "established" is accepted only for the
# gateway's own flows, which stay.
#
# With isolation = off, cam1 opens two TCP connections and proves that bytes
# arrive: one to the Internet host (forwarded) and one to a service on the
# gateway itself (what "ct state established accept" would let through).
# The gateway has a site firewall that tracks connections, as a real box
# does. Then camgate, relaying cam1 all along, reloads with enforce: both
# entries must be gone, the next bytes on both connections must not arrive,
# and camgate's own RTSP pull keeps its entry and its stream. Last, without
# the daemon: `camgate rules apply` with monitor cuts nothing, with enforce
# it cuts a new connection and says so.
. "$(dirname "$0")/lib.sh"

require_world
command -v conntrack >/dev/null || skip "conntrack not found (apt-get install conntrack)"
world_routed 1
make_certs
start_camera 1 --audio none
start_ingest --mount /live/cam1=h264

# The site's firewall: its "ct state" rule turns connection tracking on in
# the gateway before any seal.
in_ns gw nft -f - <<'EOF'
table inet site {
	chain input {
		type filter hook input priority filter; policy accept;
		ct state established,related accept
	}
}
EOF

cat >"$CG_WORK/server.py" <<'EOF'
# server.py ADDR PORT OUT: appends what every connection sends to OUT.
import socket, sys, threading
addr, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(8)
print("ready", flush=True)
def serve(c):
    with c, open(out, "ab", buffering=0) as f:
        while True:
            d = c.recv(4096)
            if not d:
                return
            f.write(d)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
cat >"$CG_WORK/client.py" <<'EOF'
# client.py ADDR PORT TAG FLAG: sends "TAG before", and "TAG after" once FLAG exists.
import os, socket, sys, time
addr, port, tag, flag = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
c = socket.create_connection((addr, port), timeout=5)
c.sendall(f"{tag} before\n".encode())
print("connected", c.getsockname()[1], flush=True)
while not os.path.exists(flag):
    time.sleep(0.05)
c.sendall(f"{tag} after\n".encode())
print("sent after", flush=True)
time.sleep(3600)
EOF

# server ROLE ADDR PORT: a server in ROLE's namespace, writing to $CG_WORK/ROLE-PORT.got.
server() {
  cg_spawn "srv-$1" "$(ns "$1")" "$CG_WORK/srv-$1.out" "$CG_WORK/srv-$1.log" \
    /usr/bin/python3 "$CG_WORK/server.py" "$2" "$3" "$CG_WORK/$1-$3.got"
  cg_wait_line "srv-$1" "$CG_WORK/srv-$1.out" '^ready' 10
}

# connect TAG ADDR PORT: cam1 connects to ADDR:PORT and sends "TAG before";
# it sends "TAG after" when $CG_WORK/TAG.go exists. SPORT[TAG]: its source port.
declare -A SPORT=()
connect() {
  cg_spawn "cli-$1" "$(ns cam1)" "$CG_WORK/cli-$1.out" "$CG_WORK/cli-$1.log" \
    /usr/bin/python3 "$CG_WORK/client.py" "$2" "$3" "$1" "$CG_WORK/$1.go"
  cg_wait_line "cli-$1" "$CG_WORK/cli-$1.out" '^connected' 10
  SPORT[$1]=$(awk '/^connected/ { print $2 }' "$CG_WORK/cli-$1.out")
}

# ct_of TAG: conntrack entries of cam1's connection TAG.
ct_of() {
  ct_entries -p tcp --src 10.20.0.11 --sport "${SPORT[$1]}"
}

got() { grep -qx "$2" "$CG_WORK/$1.got" 2>/dev/null; }

# ct_entries ARGS...: conntrack entries in the gateway that match ARGS.
ct_entries() {
  in_ns gw conntrack -L "$@" 2>/dev/null | grep -c . || true
}

# cut_holds TAG FILE: once "TAG after" is sent, it must not reach FILE
# within 3 s (the client's TCP retransmits it meanwhile).
cut_holds() {
  touch "$CG_WORK/$1.go"
  cg_wait_line "cli-$1" "$CG_WORK/cli-$1.out" '^sent after' 5
  sleep "$(scaled 3)"
  ! got "$2" "$1 after" || fail "$1: bytes sent after the seal arrived at ${2%-*}: the connection was not cut"
  note "$1: 'after' sent, nothing arrived at ${2%-*} in $(scaled 3) s"
}

server cloud 203.0.113.2 7000
server gw 10.20.0.1 7001

# 1. isolation = off: camgate relays cam1; cam1's connections carry bytes.
relay_up 1
connect wan 203.0.113.2 7000
connect gw 10.20.0.1 7001
wait_for "cam1's bytes at the Internet host" 5 got cloud-7000 "wan before"
wait_for "cam1's bytes at the gateway's service" 5 got gw-7001 "gw before"
[ "$(ct_of wan)" = 1 ] || fail "no conntrack entry for cam1 -> 203.0.113.2:7000"
[ "$(ct_of gw)" = 1 ] || fail "no conntrack entry for cam1 -> 10.20.0.1:7001"
pulls=$(ct_entries -p tcp --src 10.20.0.1 --dst 10.20.0.11 --dport 8554)
num_ge "$pulls" 1 || fail "no conntrack entry for camgate's RTSP pull from cam1"
note "before the seal: cam1's connections carry bytes; camgate's pull has $pulls entry(ies)"

# 2. The seal: camgate reloads with enforce.
config_isolation "$CG_CONF" "$CG_WORK/enforce.tmp" enforce
mv "$CG_WORK/enforce.tmp" "$CG_CONF"
frames0=$(ingest_stat /live/cam1 frames)
kill -HUP "${CG_PID[camgate]}"
isolation_applied() {
  cg_status | jq -e '.isolation.applied == true and .isolation.mode == "enforce"' >/dev/null
}
wait_for "isolation applied (status)" 20 isolation_applied
wait_for "camgate's log of the cut" 5 \
  grep -q 'isolation = enforce: cut 2 connection(s) the cameras had open before the seal' \
  "$CG_WORK/camgate.log"
note "camgate: $(grep 'connection(s) the cameras' "$CG_WORK/camgate.log" | tail -n 1)"
[ "$(ct_of wan)" = 0 ] || fail "cam1 -> 203.0.113.2:7000 still has a conntrack entry"
[ "$(ct_of gw)" = 0 ] || fail "cam1 -> 10.20.0.1:7001 still has a conntrack entry"
num_ge "$(ct_entries -p tcp --src 10.20.0.1 --dst 10.20.0.11 --dport 8554)" 1 ||
  fail "camgate's own RTSP pull lost its conntrack entry"
cut_holds wan cloud-7000
cut_holds gw gw-7001

# camgate's own pull went on through all this.
wait_for "cam1 frames at the ingest after the seal" 10 ingest_ge /live/cam1 frames $((frames0 + 50))
camera_is cam1 streaming || fail "cam1 is $(camera_state cam1) after the seal, expected streaming"
[ "$(camera_field cam1 reconnects)" = 0 ] ||
  fail "cam1 reconnected $(camera_field cam1 reconnects) time(s): camgate's own pull was cut"
note "camgate's pull from cam1 kept its entry and its stream ($frames0 -> $(ingest_stat /live/cam1 frames) frames)"

# 3. Without the daemon: monitor cuts nothing, enforce cuts. (Once flushed,
# the connections cut above come back to life as cam1 retransmits: they are
# cut again with the new one.)
stop_camgate
rules() {
  # shellcheck disable=SC2086 # the wrapper is a command line
  in_ns gw timeout "$(scaled 20)" $CG_TEST_WRAPPER "$CAMGATE" rules "$1" -c "$2" \
    >"$CG_WORK/rules.out" 2>"$CG_WORK/rules.err" ||
    fail "camgate rules $1 -c $2 failed: $(cat "$CG_WORK/rules.out" "$CG_WORK/rules.err")"
  note "camgate rules $1 ($(basename "$2")): $(tr '\n' ' ' <"$CG_WORK/rules.out")"
}
rules flush "$CG_CONF"
connect late 10.20.0.1 7001
wait_for "cam1's new connection's bytes at the gateway" 5 got gw-7001 "late before"
config_isolation "$CG_CONF" "$CG_WORK/monitor.conf" monitor
rules apply "$CG_WORK/monitor.conf"
! grep -q '^cut' "$CG_WORK/rules.out" || fail "camgate rules apply with monitor cut connections"
[ "$(ct_of late)" = 1 ] || fail "with monitor, cam1's connection lost its conntrack entry"
rules apply "$CG_CONF"
grep -Eqx 'cut [1-9][0-9]* connection\(s\) the cameras had open before the seal' "$CG_WORK/rules.out" ||
  fail "camgate rules apply did not say it cut connections: $(cat "$CG_WORK/rules.out")"
[ "$(ct_of late)" = 0 ] || fail "camgate rules apply left cam1's connection's entry"
cut_holds late gw-7001
rules flush "$CG_CONF"
note "conntrack-cut: all checks passed"
