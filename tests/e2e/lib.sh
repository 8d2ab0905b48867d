# tests/e2e/lib.sh: the small world the end-to-end tests run in, sourced by
# every case (bash). Modelled on WireGuard's netns.sh: one network namespace
# per host, built from scratch by the test and deleted by it, even on failure.
#
#   camK (10.20.0.1K/24) ──eth0═vcamK──┐
#                                       br-cam 10.20.0.1/24 ┐
#                                                           gw (camgate)
#   cloud (203.0.113.2/24) ──eth0═wan0 203.0.113.1/24 ──────┘
#
# Nothing touches the host's own network: every interface is created directly
# inside its namespace, and nothing outside these namespaces is addressed.
#
# Environment (set by `make check`, defaults for a run by hand from the tree):
#   CG_BUILDDIR, CG_SRCDIR    build and source trees
#   FFPROBE                   ffprobe, or empty to skip the media tests
#   NODE                      Node.js for the werift ingest, or empty to skip its test
#   CG_TEST_TIMEOUT_SCALE     multiplies every deadline (sanitizers, valgrind)
#   CG_TEST_WRAPPER           command prefix for camgate, e.g. "valgrind -q"
#   CG_SKIP_ROOT_TESTS=1, DISTCHECK   skip the tests that need root
#   CG_TEST_KEEP=1            keep the work directory even when the test passes
#
# Exit status of a case: 0 pass, 1 fail, 77 skip.

set -Eeuo pipefail
export LC_ALL=C.UTF-8

CG_E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${CG_SRCDIR:=$(cd "$CG_E2E_DIR/../.." && pwd)}"
: "${CG_BUILDDIR:=$CG_SRCDIR}"
if [ -z "${FFPROBE+set}" ]; then FFPROBE=$(command -v ffprobe || true); fi
if [ -z "${NODE+set}" ]; then NODE=$(command -v node || true); fi
: "${CG_TEST_TIMEOUT_SCALE:=1}"
# Under valgrind or sanitizers camgate is slower than the cameras: it may drop
# frames (as it should when it falls behind), so checks on exact throughput
# relax. REQUIRED_SHARE: the share of frames sent that a recording must hold.
if [ "$CG_TEST_TIMEOUT_SCALE" = 1 ]; then CG_SLOW=0; REQUIRED_SHARE=90; else CG_SLOW=1; REQUIRED_SHARE=50; fi
: "${CG_TEST_WRAPPER:=}"
: "${GST_REGISTRY_1_0:=$CG_BUILDDIR/tests/gst-registry.bin}"
export GST_REGISTRY_1_0

CAMGATE=$CG_BUILDDIR/camgate
CG_TESTCAM=$CG_BUILDDIR/tests/fixtures/cg-testcam
CG_TESTINGEST=$CG_BUILDDIR/tests/fixtures/cg-testingest
CG_WHIPINGEST=$CG_BUILDDIR/tests/fixtures/cg-whipingest
CG_WERIFT_DIR=$CG_BUILDDIR/tests/fixtures/werift-whip
CG_TEST_NAME=$(basename "$0" .sh)

# Short and unique per run: parallel runs never share a namespace name.
CG_PREFIX=cg$(printf '%x%02x' $$ $((RANDOM % 256)))

CG_CAM_PORT=8554
CG_INGEST_ADDR=203.0.113.2
CG_INGEST_PORT=8322
CG_WHIP_PORT=8443

CG_WORK=
CG_NETNS=()            # namespaces this run created, in creation order
CG_ALL_PIDS=()         # every process this run started
declare -A CG_PID=()   # role (camK, ingest, camgate) -> pid
declare -A CG_ARGS=()  # role -> the fixture arguments it was last started with
CG_LAST_RC=0           # exit status of the last process stopped
CG_CONF=               # the configuration camgate runs with
CG_INGEST_RUN=0        # how many times the ingest was started
CG_INGEST_START=       # the function that started it (start_ingest, start_whip_ingest)
INGEST_OUT=            # out-dir of the current (or last) ingest
INGEST_STATS=          # stats file of the current (or last) ingest
CG_CLEANUP=()          # commands (eval'd) the cleanup runs after the namespaces are gone
declare -A CG_CAPTURE=()  # role -> label of the capture installed there (capture_start)

# --- messages and outcomes -------------------------------------------------

note() { printf '# %s\n' "$*"; }

skip() {
  printf 'SKIP: %s: %s\n' "$CG_TEST_NAME" "$*"
  exit 77
}

# fail MESSAGE: the test fails with MESSAGE; camgate's state and log follow.
fail() {
  trap - ERR
  printf 'FAIL: %s\n' "$*" >&2
  cg_diagnostics >&2
  exit 1
}

# Everything a reader of the failure needs, best effort.
cg_diagnostics() {
  local f
  [ -n "$CG_WORK" ] || return 0
  set +e
  if [ -n "$CG_CONF" ] && [ -S "$(cg_runtime_dir)/control.sock" ]; then
    echo "--- last camgate status"
    cg_status 2>&1 || cat "$CG_WORK/status.json" 2>/dev/null
  elif [ -s "$CG_WORK/status.json" ]; then
    echo "--- last camgate status seen"
    cat "$CG_WORK/status.json"
  fi
  for f in "$CG_WORK"/*.stats; do
    [ -f "$f" ] || continue
    echo "--- $(basename "$f")"
    cat "$f"
  done
  for f in "$CG_WORK"/cam*.log "$CG_WORK"/ingest*.log; do
    [ -s "$f" ] || continue
    echo "--- tail of $(basename "$f")"
    tail -n 15 "$f"
  done
  if [ -s "$CG_WORK/camgate.log" ]; then
    echo "--- tail of camgate.log"
    tail -n 40 "$CG_WORK/camgate.log"
  fi
  cg_nft_diagnostics
  set -e
}

# The nftables state of the world, when there is any: the gateway's whole
# ruleset (camgate's table, a capture) and the captures elsewhere.
cg_nft_diagnostics() {
  local ns role text
  for ns in "${CG_NETNS[@]}"; do
    role=${ns#"$CG_PREFIX-"}
    [ "$role" = gw ] || [ -n "${CG_CAPTURE[$role]:-}" ] || continue
    text=$(ip netns exec "$ns" nft list ruleset 2>&1) || true
    [ -n "$text" ] || continue
    echo "--- nft list ruleset in $role"
    printf '%s\n' "$text"
  done
}

# A command failing where the test did not expect it fails the test, loudly.
cg_on_err() {
  printf 'FAIL: %s:%s: command failed (status %s): %s\n' "$CG_TEST_NAME" "$1" "$2" "$3" >&2
}
trap 'cg_on_err "$LINENO" "$?" "$BASH_COMMAND"' ERR

# --- time ------------------------------------------------------------------

cg_now_ms() {
  local t=${EPOCHREALTIME/./}
  echo $((t / 1000))
}

# scaled_ms SECONDS: a deadline in milliseconds, times CG_TEST_TIMEOUT_SCALE.
scaled_ms() {
  awk -v s="$1" -v k="$CG_TEST_TIMEOUT_SCALE" 'BEGIN { printf "%d\n", s * k * 1000 }'
}

# scaled SECONDS: the same, in seconds (for messages and sleeps).
scaled() {
  awk -v s="$1" -v k="$CG_TEST_TIMEOUT_SCALE" 'BEGIN { printf "%g\n", s * k }'
}

# wait_for DESC DEADLINE_S CMD...: runs CMD every 200 ms until it succeeds.
# Fails the test after DEADLINE_S (scaled) seconds, or at once if camgate
# exits while the test waits.
wait_for() {
  local desc=$1 secs=$2 deadline
  shift 2
  deadline=$(($(cg_now_ms) + $(scaled_ms "$secs")))
  while :; do
    if "$@"; then
      return 0
    fi
    cg_check_running "while waiting for: $desc"
    if [ "$(cg_now_ms)" -ge "$deadline" ]; then
      fail "timed out after $(scaled "$secs") s waiting for: $desc"
    fi
    sleep 0.2
  done
}

# --- processes -------------------------------------------------------------

# cg_alive PID: true while PID runs (a zombie does not count).
cg_alive() {
  local st
  st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "${st:0:1}" != Z ]
}

# cg_check_running CONTEXT: fails the test if camgate or a fixture that the
# test did not stop has exited.
cg_check_running() {
  local role why
  for role in "${!CG_PID[@]}"; do
    cg_alive "${CG_PID[$role]}" && continue
    cg_reap "$role"
    why="status $CG_LAST_RC"
    [ "$CG_LAST_RC" -le 128 ] || why="killed by SIG$(kill -l $((CG_LAST_RC - 128)))"
    fail "$role exited unexpectedly ($why; this test did not stop it) $1"
  done
}

# cg_spawn ROLE NETNS STDOUT STDERR CMD...: starts CMD in NETNS, in the
# background, and records it for the cleanup. `ip netns exec` execs CMD, so
# the recorded pid is CMD's own.
cg_spawn() {
  local role=$1 ns=$2 out=$3 err=$4
  shift 4
  ip netns exec "$ns" "$@" >"$out" 2>"$err" </dev/null &
  CG_PID[$role]=$!
  CG_ALL_PIDS+=("$!")
}

# cg_reap ROLE: collects ROLE's exit status into CG_LAST_RC, forgets ROLE.
cg_reap() {
  local pid=${CG_PID[$1]:-}
  CG_LAST_RC=0
  [ -n "$pid" ] || return 0
  wait "$pid" 2>/dev/null || CG_LAST_RC=$?
  unset 'CG_PID[$1]'
}

# cg_stop ROLE SIGNAL DEADLINE_S: signals ROLE and waits for it to exit; its
# status lands in CG_LAST_RC. Returns 1 (after SIGKILL) if it did not exit.
cg_stop() {
  local role=$1 sig=$2 secs=$3 pid deadline
  pid=${CG_PID[$role]:-}
  [ -n "$pid" ] || { CG_LAST_RC=0; return 0; }
  kill -s "$sig" "$pid" 2>/dev/null || true
  deadline=$(($(cg_now_ms) + $(scaled_ms "$secs")))
  while cg_alive "$pid"; do
    if [ "$(cg_now_ms)" -ge "$deadline" ]; then
      kill -KILL "$pid" 2>/dev/null || true
      cg_reap "$role"
      return 1
    fi
    sleep 0.1
  done
  cg_reap "$role"
}

# cg_wait_line ROLE FILE REGEX DEADLINE_S: waits until ROLE prints a line
# matching REGEX into FILE; fails if ROLE exits first.
cg_wait_line() {
  local role=$1 file=$2 re=$3 secs=$4 deadline
  deadline=$(($(cg_now_ms) + $(scaled_ms "$secs")))
  until grep -Eq "$re" "$file" 2>/dev/null; do
    if ! cg_alive "${CG_PID[$role]}"; then
      cg_reap "$role"
      fail "$role exited (status $CG_LAST_RC) before it was ready"
    fi
    [ "$(cg_now_ms)" -lt "$deadline" ] ||
      fail "$role not ready after $(scaled "$secs") s (expected a line matching '$re' in $file)"
    sleep 0.1
  done
}

# --- the world -------------------------------------------------------------

# require_world: skips the test unless it can build namespaces and check media.
require_world() {
  [ "${CG_SKIP_ROOT_TESTS:-0}" != 1 ] || skip "CG_SKIP_ROOT_TESTS=1"
  [ -z "${DISTCHECK:-}" ] || skip "root-only test under distcheck"
  [ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
  [ -n "$FFPROBE" ] || skip "ffprobe not found (configure FFPROBE=)"
  command -v jq >/dev/null || skip "jq not found"
  ip netns add "$CG_PREFIX-probe" 2>/dev/null || skip "ip netns is not usable here"
  ip netns del "$CG_PREFIX-probe"
  local f
  for f in "$CAMGATE" "$CG_TESTCAM" "$CG_TESTINGEST"; do
    [ -x "$f" ] || fail "$f is missing: build it first (make check builds it)"
  done
}

# cg_setup: the work directory and the cleanup trap. Every case calls it
# (world_up does).
cg_setup() {
  [ -z "$CG_WORK" ] || return 0
  CG_WORK=$(mktemp -d "${TMPDIR:-/tmp}/camgate-e2e-$CG_TEST_NAME.XXXXXX")
  trap cg_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
  note "work directory $CG_WORK"
}

# Kills what the test started, deletes its namespaces, keeps the work
# directory only when the test failed (or CG_TEST_KEEP=1).
cg_cleanup() {
  local rc=$? pid ns deadline left
  set +e
  trap - ERR
  for pid in "${CG_ALL_PIDS[@]}"; do
    cg_alive "$pid" && kill -TERM "$pid" 2>/dev/null
  done
  deadline=$(($(cg_now_ms) + $(scaled_ms 5)))
  while :; do
    left=
    for pid in "${CG_ALL_PIDS[@]}"; do
      cg_alive "$pid" && left="$left $pid"
    done
    [ -n "$left" ] && [ "$(cg_now_ms)" -lt "$deadline" ] || break
    sleep 0.1
  done
  for pid in $left; do
    echo "# cleanup: pid $pid ignored SIGTERM for $(scaled 5) s, killing it"
    kill -KILL "$pid" 2>/dev/null
  done
  for pid in "${CG_ALL_PIDS[@]}"; do
    wait "$pid" 2>/dev/null
  done
  # Anything else still inside our namespaces (a probe, a child) goes too.
  for ns in "${CG_NETNS[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      kill -KILL "$pid" 2>/dev/null
    done
  done
  for ns in "${CG_NETNS[@]}"; do
    ip netns del "$ns" 2>/dev/null || echo "# cleanup: could not delete namespace $ns"
  done
  for ns in "${CG_CLEANUP[@]}"; do
    eval "$ns" || echo "# cleanup: failed: $ns"
  done
  if [ -n "$CG_WORK" ]; then
    if [ "$rc" = 0 ] && [ "${CG_TEST_KEEP:-0}" != 1 ]; then
      rm -rf "$CG_WORK"
    else
      echo "# work directory kept: $CG_WORK"
    fi
  fi
  exit "$rc"
}

cg_netns_add() {
  ip netns add "$1" || fail "cannot create network namespace $1"
  CG_NETNS+=("$1")
  ip -n "$1" link set lo up
}

# Namespace names: ns gw, ns cloud, ns cam1...
ns() { echo "$CG_PREFIX-$1"; }

# world_up NCAMS: the gateway, NCAMS camera hosts and the cloud host.
world_up() {
  local n=$1 k gw cloud cam
  cg_setup
  gw=$(ns gw)
  cloud=$(ns cloud)
  cg_netns_add "$gw"
  cg_netns_add "$cloud"

  # Camera side: a bridge in the gateway, one veth port per camera.
  ip -n "$gw" link add br-cam type bridge
  ip -n "$gw" addr add 10.20.0.1/24 dev br-cam
  ip -n "$gw" link set br-cam up
  for k in $(seq 1 "$n"); do
    cam=$(ns "cam$k")
    cg_netns_add "$cam"
    ip -n "$gw" link add "vcam$k" type veth peer name eth0 netns "$cam"
    ip -n "$gw" link set "vcam$k" master br-cam up
    ip -n "$cam" addr add "10.20.0.1$k/24" dev eth0
    ip -n "$cam" link set eth0 up
  done

  # WAN side: a point-to-point link to the cloud host.
  ip -n "$gw" link add wan0 type veth peer name eth0 netns "$cloud"
  ip -n "$gw" addr add 203.0.113.1/24 dev wan0
  ip -n "$gw" link set wan0 up
  ip -n "$cloud" addr add "$CG_INGEST_ADDR/24" dev eth0
  ip -n "$cloud" link set eth0 up
  note "world $CG_PREFIX: gw, cloud, $n camera(s)"
}

# in_ns NAME CMD...: runs CMD in the namespace NAME (gw, cloud, camK).
in_ns() {
  local n=$1
  shift
  ip netns exec "$(ns "$n")" "$@"
}

# ns_hosts ROLE LINE...: the /etc/hosts of what starts in ROLE's namespace
# from now on (ip netns exec bind-mounts /etc/netns/NS/hosts over it), so a
# case can name a host in the cloud; removed by the cleanup.
ns_hosts() {
  local d
  d=/etc/netns/$(ns "$1")
  shift
  mkdir -p "$d"
  CG_CLEANUP+=("rm -rf '$d'")
  printf '%s\n' "127.0.0.1 localhost" "$@" >"$d/hosts"
}

# --- the routed world: a site LAN, IPv6, captures and probes ----------------
#
# world_routed NCAMS is world_up NCAMS plus what a box on a real site has: the
# gateway routes (IPv4 and IPv6 forwarding on), a "site LAN" host sits on a
# third link, every host has IPv6 too, and every host can reach every other
# through the gateway:
#
#   camK  10.20.0.1K/24   fd00:20::1K/64     ─ br-cam 10.20.0.1/24   fd00:20::1/64      ┐
#   lan   192.0.2.2/24    2001:db8:2::2/64   ─ lan0   192.0.2.1/24   2001:db8:2::1/64   gw
#   cloud 203.0.113.2/24  2001:db8:113::2/64 ─ wan0   203.0.113.1/24 2001:db8:113::1/64 ┘
#
# Cameras and the LAN host route everything via the gateway; the cloud host
# (the Internet) routes the camera segment and the LAN via it. IPv6 addresses
# skip duplicate address detection (nodad), so they work at once. Without
# isolation anything reaches anything: the baseline each "nothing gets
# through" check proves first.
#
# Captures (capture_start, capture_count) are nftables tables in a namespace
# that count what arrives, so no packet capture tool is needed; probes
# (probe_tcp, probe_udp, scan_tcp) send the traffic; check_probe does both
# and ends each run with sentinels, datagrams the isolation allows, which
# must be counted before the probe's count is read.

CG_GW_DNS_PORT=53      # a camera's sentinel: DNS to the gateway, allowed by the isolation
CG_SENTINEL_PORT=9     # any other sentinel (UDP discard)

world_routed() {
  local n=$1 k gw cloud lan cam
  world_up "$n"
  gw=$(ns gw)
  cloud=$(ns cloud)
  lan=$(ns lan)
  ip netns exec "$gw" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  ip -n "$gw" addr add fd00:20::1/64 dev br-cam nodad
  for k in $(seq 1 "$n"); do
    cam=$(ns "cam$k")
    ip -n "$cam" addr add "fd00:20::1$k/64" dev eth0 nodad
    ip -n "$cam" route add default via 10.20.0.1
    ip -n "$cam" -6 route add default via fd00:20::1
  done

  ip -n "$gw" addr add 2001:db8:113::1/64 dev wan0 nodad
  ip -n "$cloud" addr add 2001:db8:113::2/64 dev eth0 nodad
  ip -n "$cloud" route add 10.20.0.0/24 via 203.0.113.1
  ip -n "$cloud" route add 192.0.2.0/24 via 203.0.113.1
  ip -n "$cloud" -6 route add fd00:20::/64 via 2001:db8:113::1
  ip -n "$cloud" -6 route add 2001:db8:2::/64 via 2001:db8:113::1

  cg_netns_add "$lan"
  ip -n "$gw" link add lan0 type veth peer name eth0 netns "$lan"
  ip -n "$gw" addr add 192.0.2.1/24 dev lan0
  ip -n "$gw" addr add 2001:db8:2::1/64 dev lan0 nodad
  ip -n "$gw" link set lan0 up
  ip -n "$lan" addr add 192.0.2.2/24 dev eth0
  ip -n "$lan" addr add 2001:db8:2::2/64 dev eth0 nodad
  ip -n "$lan" link set eth0 up
  ip -n "$lan" route add default via 192.0.2.1
  ip -n "$lan" -6 route add default via 2001:db8:2::1
  note "routed world: gw forwards IPv4 and IPv6; site LAN host lan (192.0.2.2)"
}

# host_addr ROLE [4|6]: ROLE's address (the gateway's: on the camera segment).
host_addr() {
  case ${2:-4}:$1 in
    4:gw) echo 10.20.0.1 ;;
    6:gw) echo fd00:20::1 ;;
    4:cloud) echo 203.0.113.2 ;;
    6:cloud) echo 2001:db8:113::2 ;;
    4:lan) echo 192.0.2.2 ;;
    6:lan) echo 2001:db8:2::2 ;;
    4:cam*) echo "10.20.0.1${1#cam}" ;;
    6:cam*) echo "fd00:20::1${1#cam}" ;;
    *) fail "host_addr: no role $1 (family ${2:-4})" ;;
  esac
}

# gw_addr_for ROLE [4|6]: the gateway's address on ROLE's link.
gw_addr_for() {
  case ${2:-4}:$1 in
    4:cloud) echo 203.0.113.1 ;;
    6:cloud) echo 2001:db8:113::1 ;;
    4:lan) echo 192.0.2.1 ;;
    6:lan) echo 2001:db8:2::1 ;;
    4:*) echo 10.20.0.1 ;;
    6:*) echo fd00:20::1 ;;
  esac
}

# addr_family ADDR: 4 or 6.
addr_family() {
  if [[ $1 == *:* ]]; then echo 6; else echo 4; fi
}

# require_nmap: skips the test unless nmap is installed (tests/deps.txt).
require_nmap() {
  command -v nmap >/dev/null || skip "nmap not found (apt-get install nmap)"
}

# config_isolation SRC DST MODE: DST is the configuration SRC with
# isolation = MODE (enforce, monitor or off).
config_isolation() {
  sed "s/^isolation = .*/isolation = $3/" "$1" >"$2"
  grep -q "^isolation = $3\$" "$2" || fail "config_isolation: $1 has no isolation line"
}

# bridge_nf_call 0|1: sets net.bridge.bridge-nf-call-iptables (and
# -ip6tables) in the gateway namespace, i.e. whether traffic bridged on
# br-cam (camera to camera) crosses the inet hooks. Loads br_netfilter if the
# kernel has it as a module not loaded yet (the cleanup unloads it again).
# False if the setting cannot be made.
bridge_nf_call() {
  if ! in_ns gw test -e /proc/sys/net/bridge/bridge-nf-call-iptables &&
    ! grep -q '^br_netfilter ' /proc/modules && modprobe br_netfilter 2>/dev/null; then
    CG_CLEANUP+=("modprobe -r br_netfilter 2>/dev/null || true")
  fi
  in_ns gw sysctl -qw "net.bridge.bridge-nf-call-iptables=$1" \
    "net.bridge.bridge-nf-call-ip6tables=$1" 2>/dev/null
}

# capture_start ROLE [NAME]: (re)installs table inet capture in ROLE's
# namespace, counts at zero, labelled NAME. It counts every TCP and UDP packet
# by source and destination address, protocol and destination port, twice: at prerouting,
# priority -400 (whatever arrives at ROLE, before any other chain sees it),
# and at input, priority 400 (whatever is delivered to ROLE itself, after
# every filter, camgate's included).
#
# In the gateway it also installs table bridge capture, counting the same way
# every frame that enters br-cam's ports, at the bridge's prerouting hook,
# priority -400 (before camgate's bridge table): the only place that sees a
# camera's frames to another camera when br_netfilter is off (capture_count
# --bridge).
capture_start() {
  local role=$1 name=${2:-capture}
  name=${name//\"/\'}
  if [ "$role" = gw ]; then
    in_ns gw nft -f - <<EOF || fail "cannot install a bridge capture in gw"
table bridge capture
delete table bridge capture
table bridge capture {
	comment "$name"
	set pre4 { type ipv4_addr . ipv4_addr . inet_proto . inet_service; size 65535; flags dynamic; }
	set pre6 { type ipv6_addr . ipv6_addr . inet_proto . inet_service; size 65535; flags dynamic; }
	chain prerouting {
		type filter hook prerouting priority -400; policy accept;
		meta l4proto { tcp, udp } update @pre4 { ip saddr . ip daddr . meta l4proto . th dport counter }
		meta l4proto { tcp, udp } update @pre6 { ip6 saddr . ip6 daddr . meta l4proto . th dport counter }
	}
}
EOF
  fi
  in_ns "$role" nft -f - <<EOF || fail "cannot install a capture in $role"
table inet capture
delete table inet capture
table inet capture {
	comment "$name"
	set pre4 { type ipv4_addr . ipv4_addr . inet_proto . inet_service; size 65535; flags dynamic; }
	set pre6 { type ipv6_addr . ipv6_addr . inet_proto . inet_service; size 65535; flags dynamic; }
	set in4 { type ipv4_addr . ipv4_addr . inet_proto . inet_service; size 65535; flags dynamic; }
	set in6 { type ipv6_addr . ipv6_addr . inet_proto . inet_service; size 65535; flags dynamic; }
	chain prerouting {
		type filter hook prerouting priority -400; policy accept;
		meta l4proto { tcp, udp } update @pre4 { ip saddr . ip daddr . meta l4proto . th dport counter }
		meta l4proto { tcp, udp } update @pre6 { ip6 saddr . ip6 daddr . meta l4proto . th dport counter }
	}
	chain input {
		type filter hook input priority 400; policy accept;
		meta l4proto { tcp, udp } update @in4 { ip saddr . ip daddr . meta l4proto . th dport counter }
		meta l4proto { tcp, udp } update @in6 { ip6 saddr . ip6 daddr . meta l4proto . th dport counter }
	}
}
EOF
  CG_CAPTURE[$role]=$name
}

# capture_count [--input|--bridge] [--from ADDR] [--to ADDR] ROLE PROTO PORT:
# packets of PROTO (tcp or udp) to PORT ("any": every port) that ROLE's
# capture counted at prerouting (--input: delivered to ROLE itself; --bridge:
# entering a port of the gateway's bridge); only those from, and to, the
# addresses given (IPv6 in its short form, as nft prints it).
capture_count() {
  local set=pre from="" to="" family=inet
  while :; do
    case ${1:-} in
      --input) set=in; shift ;;
      --bridge) family=bridge; shift ;;
      --from) from=$2; shift 2 ;;
      --to) to=$2; shift 2 ;;
      *) break ;;
    esac
  done
  in_ns "$1" nft -j list table "$family" capture |
    jq --arg set "$set" --arg from "$from" --arg to "$to" --arg proto "$2" --arg port "$3" '
      [ .nftables[] | select(.set) | .set | select(.name == $set + "4" or .name == $set + "6")
        | .elem[]?.elem
        | select(.val.concat[2] == $proto
                 and ($port == "any" or (.val.concat[3] | tostring) == $port)
                 and ($from == "" or .val.concat[0] == $from)
                 and ($to == "" or .val.concat[1] == $to))
        | .counter.packets ] | add // 0'
}

# capture_ge N ARGS...: (for wait_for) capture_count ARGS... is at least N.
capture_ge() {
  local n=$1
  shift
  num_ge "$(capture_count "$@")" "$n"
}

# probe_tcp ROLE ADDR PORT: one TCP connection attempt from ROLE, given up
# after 1 s, before the SYN would be sent again. Its outcome is not checked:
# captures tell what arrived.
probe_tcp() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  in_ns "$1" timeout 1 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$2" "$3" 2>/dev/null || true
}

# probe_udp ROLE ADDR PORT: one UDP datagram from ROLE.
probe_udp() {
  # shellcheck disable=SC2016
  in_ns "$1" bash -c 'echo probe >"/dev/udp/$0/$1"' "$2" "$3" 2>/dev/null || true
}

# scan_tcp ROLE ADDR PORTS: an nmap SYN scan from ROLE (over IPv6 for an
# IPv6 ADDR; no ping, no DNS, one retry); prints the states it found,
# "22/closed 554/open ..." (ports nmap did not list one by one are summed up
# as "N*STATE"). Its output is kept in $CG_WORK/nmap.out.
scan_tcp() {
  local six=()
  [[ $2 != *:* ]] || six=(-6)
  in_ns "$1" nmap "${six[@]}" -Pn -n --max-retries 1 --host-timeout 60s -p "$3" -oG - "$2" \
    >"$CG_WORK/nmap.out" 2>&1 || fail "nmap from $1 failed: $(tail -n 3 "$CG_WORK/nmap.out")"
  awk -F'\t' '{
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^Ports: /) {
          n = split(substr($i, 8), p, ", ")
          for (j = 1; j <= n; j++) { split(p[j], f, "/"); printf "%s/%s ", f[1], f[2] }
        } else if ($i ~ /^Ignored State: /) {
          split(substr($i, 16), f, " "); gsub(/[()]/, "", f[2]); printf "%s*%s ", f[2], f[1]
        }
      }
    }' "$CG_WORK/nmap.out"
}

# sentinel FROM TO [4|6]: one UDP datagram from role FROM to role TO that the
# isolation allows: DNS from a camera to the gateway, or port 9 between the
# gateway and any host, or from the cloud or LAN host to the gateway. TO must
# count it (at input for the gateway, at prerouting elsewhere) within 5 s:
# proof that FROM's packets leave, that TO's capture counts, and, sent after
# a probe, that the probe had all the time it needed to arrive.
sentinel() {
  local from=$1 to=$2 fam=${3:-4} addr port=$CG_SENTINEL_PORT hook="" before
  if [ "$to" = gw ]; then
    addr=$(gw_addr_for "$from" "$fam")
    hook=--input
  else
    addr=$(host_addr "$to" "$fam")
  fi
  [[ $from != cam* ]] || port=$CG_GW_DNS_PORT
  before=$(capture_count $hook --to "$addr" "$to" udp "$port")
  probe_udp "$from" "$addr" "$port"
  wait_for "the sentinel (udp/$port from $from to $addr) counted in $to" 5 \
    capture_ge $((before + 1)) $hook --to "$addr" "$to" udp "$port"
}

# pin_neighbour FROM TO: camera FROM knows camera TO's MAC address for
# both of TO's addresses (a permanent neighbour entry), as a camera that
# learnt it before the seal does: it sends TO unicast frames without asking
# ARP or neighbour discovery first, which the seal keeps from TO.
pin_neighbour() {
  local mac fam
  mac=$(in_ns "$2" cat /sys/class/net/eth0/address)
  for fam in 4 6; do
    in_ns "$1" ip neigh replace "$(host_addr "$2" "$fam")" lladdr "$mac" dev eth0 nud permanent
  done
}

# check_probe seen|blocked FROM PROTO ADDR PORT TO: with fresh captures in
# the gateway and in role TO (where ADDR lives; gw: the gateway itself), one
# probe (probe_tcp or probe_udp) from role FROM to ADDR:PORT, then the
# sentinels FROM -> gateway and gateway -> TO. The probe must have reached the
# gateway (its prerouting), and then have been seen by TO (its prerouting; for
# the gateway, its input) or not at all (blocked). Sets PROBE_AT_GW and
# PROBE_AT_DST (packets counted).
check_probe() {
  local want=$1 from=$2 proto=$3 addr=$4 port=$5 to=$6 fam src hook="" gw_hook="" what
  fam=$(addr_family "$addr")
  # Camera to camera is bridged: seen by the gateway's bridge, not its IP stack.
  if [[ $from == cam* && $to == cam* ]]; then
    gw_hook=--bridge
    pin_neighbour "$from" "$to"
  fi
  src=$(host_addr "$from" "$fam")
  what="$proto/$port from $from ($src) to $to ($addr)"
  capture_start gw "$what"
  if [ "$to" = gw ]; then hook=--input; else capture_start "$to" "$what"; fi
  "probe_$proto" "$from" "$addr" "$port"
  sentinel "$from" gw "$fam"
  [ "$to" = gw ] || sentinel gw "$to" "$fam"
  PROBE_AT_GW=$(capture_count $gw_hook --from "$src" --to "$addr" gw "$proto" "$port")
  PROBE_AT_DST=$(capture_count $hook --from "$src" --to "$addr" "$to" "$proto" "$port")
  num_ge "$PROBE_AT_GW" 1 ||
    fail "$what: the probe never reached the gateway (no packet in its capture): the probe is broken"
  case $want in
    seen)
      num_ge "$PROBE_AT_DST" 1 || fail "$what: did not arrive ($PROBE_AT_GW packet(s) at the gateway, none at $to)"
      note "$what: arrived ($PROBE_AT_DST packet(s) at $to)"
      ;;
    blocked)
      [ "$PROBE_AT_DST" = 0 ] || fail "$what: $PROBE_AT_DST packet(s) arrived at $to, expected none"
      note "$what: blocked ($PROBE_AT_GW packet(s) at the gateway, none at $to)"
      ;;
    *) fail "check_probe: expected seen or blocked, not $want" ;;
  esac
}

# camgate_counter NAME [FAMILY]: packets of counter NAME in the gateway's
# table FAMILY (inet, or bridge) camgate (cam_ID, unknown); empty if there
# is no such counter.
camgate_counter() {
  in_ns gw nft -j list counter "${2:-inet}" camgate "$1" 2>/dev/null |
    jq -r '.nftables[] | select(.counter) | .counter.packets' || true
}

# two_camera_site [CAMERA-OPTION...]: the routed world with cam1 and cam2
# (H.264, no audio, options passed on to both) and an ingest for both;
# writes off_conf ($CG_WORK/camgate.conf, isolation = off) and enforce_conf
# ($CG_WORK/enforce.conf), both with the two cameras.
two_camera_site() {
  world_routed 2
  make_certs
  start_camera 1 --audio none "$@"
  start_camera 2 --audio none "$@"
  start_ingest --mount /live/cam1=h264 --mount /live/cam2=h264
  off_conf=$CG_WORK/camgate.conf
  write_config "$off_conf"
  add_camera "$off_conf" 1
  add_camera "$off_conf" 2
  enforce_conf=$CG_WORK/enforce.conf
  config_isolation "$off_conf" "$enforce_conf" enforce
}

# isolation_applied: camgate's status says the seal is in force.
isolation_applied() {
  cg_status | jq -e '.isolation.applied == true' >/dev/null
}

# relay_running: cam1 and cam2 stream and both uplinks are up.
relay_running() {
  local k
  for k in 1 2; do
    wait_for "cam$k streaming" 30 camera_is "cam$k" streaming
    wait_for "uplink cam$k up" 30 uplink_is "cam$k" up
  done
}

# violation_reported CAMERA SRC PROTO DPORT DST [PATTERN]: camgate's status
# lists a violation from SRC (camera CAMERA, or "null" for a source that is
# no configured camera) on PROTO/DPORT with DST among its top destinations,
# and with PATTERN if one is given.
violation_reported() {
  cg_status | jq -e --arg cam "$1" --arg src "$2" --arg proto "$3" --argjson port "$4" \
    --arg dst "$5" --arg pattern "${6:-}" '
      [.isolation.violations[] | select((.camera // "null") == $cam and .src == $src and
        .proto == $proto and .dport == $port and
        ([.top_destinations[].dst] | index($dst)) != null and
        ($pattern == "" or .pattern == $pattern))] | length > 0' >/dev/null
}

# camgate_table: table inet camgate exists in the gateway.
camgate_table() {
  in_ns gw nft list table inet camgate >/dev/null 2>&1
}

# --- certificates ----------------------------------------------------------

# make_certs: a CA and the ingest's certificate (EC P-256, SAN
# IP:203.0.113.2 and DNS:ingest.test), and an unrelated "wrong" CA.
# Sets CG_CA, CG_WRONG_CA, CG_SERVER_CERT, CG_SERVER_KEY.
make_certs() {
  local d=$CG_WORK/pki
  mkdir -p "$d"
  cg_make_ca "$d/ca" "camgate test CA"
  cg_make_ca "$d/wrong-ca" "unrelated test CA"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$d/server.key" -out "$d/server.csr" -subj "/CN=ingest.test" 2>/dev/null
  cat >"$d/server.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:$CG_INGEST_ADDR, DNS:ingest.test
EOF
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
    -CAcreateserial -days 30 -extfile "$d/server.ext" -out "$d/server.pem" 2>/dev/null
  openssl verify -CAfile "$d/ca.pem" "$d/server.pem" >/dev/null ||
    fail "the test PKI is broken: server.pem does not verify against ca.pem"
  CG_CA=$d/ca.pem
  # shellcheck disable=SC2034 # for the cases
  CG_WRONG_CA=$d/wrong-ca.pem
  CG_SERVER_CERT=$d/server.pem
  CG_SERVER_KEY=$d/server.key
}

cg_make_ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$1.key" -out "$1.pem" -days 30 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# check_tls_capture PCAP MIN_HELLOS: what went to port 443 in PCAP (tcpdump
# -w, Ethernet) is TLS: at least MIN_HELLOS segments start a TLS handshake,
# and none carries the STUN magic cookie in the clear. The counts go to
# PCAP.txt.
check_tls_capture() {
  /usr/bin/python3 - "$1" "$2" <<'EOF' >"$1.txt" ||
import struct, sys
data = open(sys.argv[1], "rb").read()
link = struct.unpack("<I", data[20:24])[0]
off, firsts, cookie, segments = 24, [], 0, 0
while off + 16 <= len(data):
    incl = struct.unpack("<I", data[off + 8:off + 12])[0]
    pkt = data[off + 16:off + 16 + incl]
    off += 16 + incl
    if link == 1:
        pkt = pkt[14:]
    ihl = (pkt[0] & 0x0f) * 4
    tcp = pkt[ihl:]
    dport = struct.unpack(">H", tcp[2:4])[0]
    payload = tcp[(tcp[12] >> 4) * 4:]
    if dport != 443 or not payload:
        continue
    segments += 1
    firsts.append(payload[:3])
    if b"\x21\x12\xa4\x42" in payload:
        cookie += 1
hello = sum(1 for f in firsts if f[:1] == b"\x16" and f[1:2] == b"\x03")
print("segments to 443: %d, starting a TLS handshake: %d, with the STUN cookie: %d"
      % (segments, hello, cookie))
sys.exit(0 if segments and hello >= int(sys.argv[2]) and cookie == 0 else 1)
EOF
    fail "the capture on 443 is not what TURN over TLS looks like: $(cat "$1.txt")"
}

# --- fixtures --------------------------------------------------------------

# start_camera K [cg-testcam options...]: a camera at 10.20.0.1K:8554/stream.
# Defaults (overridden by later options): h264 + aac, 640x360, 25 fps, GOP 25,
# 1000 kbit/s. Waits for its "ready" line.
start_camera() {
  local k=$1 role=cam$1
  shift
  [ -z "${CG_PID[$role]:-}" ] || fail "start_camera $k: camera $k already runs"
  CG_ARGS[$role]="$*"
  cg_spawn "$role" "$(ns "$role")" "$CG_WORK/$role.out" "$CG_WORK/$role.log" \
    "$CG_TESTCAM" --address "10.20.0.1$k" --port "$CG_CAM_PORT" --mount /stream \
    --codec h264 --audio aac --width 640 --height 360 --fps 25 --gop 25 --kbps 1000 \
    --stats "$CG_WORK/$role.stats" "$@"
  cg_wait_line "$role" "$CG_WORK/$role.out" '^ready rtsp://' 20
  note "camera $k: $(head -n 1 "$CG_WORK/$role.out")"
}

# restart_camera K: starts camera K again with the options it last had.
restart_camera() {
  # shellcheck disable=SC2086 # the options were words to begin with
  start_camera "$1" ${CG_ARGS[cam$1]}
}

stop_camera() {
  cg_stop "cam$1" TERM 5 || fail "camera $1 did not stop within $(scaled 5) s of SIGTERM"
}

kill_camera() {
  cg_stop "cam$1" KILL 5 || fail "camera $1 survived SIGKILL"
}

# cg_start_ingest NAME BINARY PORT SCHEME [options...]: an ingest fixture at
# 203.0.113.2:PORT (BINARY: a program, or a .mjs script run by $NODE)
# with the certificate from make_certs, in the role
# "ingest"; ready once it prints "ready SCHEME://". Each start gets its own
# out-dir and stats file: INGEST_OUT, INGEST_STATS.
cg_start_ingest() {
  local name=$1 bin=$2 port=$3 scheme=$4 run
  shift 4
  run=("$bin")
  [[ $bin != *.mjs ]] || run=("$NODE" "$bin")
  [ -z "${CG_PID[ingest]:-}" ] || fail "$name: the ingest already runs"
  [ -n "${CG_SERVER_CERT:-}" ] || make_certs
  CG_INGEST_RUN=$((CG_INGEST_RUN + 1))
  INGEST_OUT=$CG_WORK/ingest.$CG_INGEST_RUN
  INGEST_STATS=$CG_WORK/ingest.$CG_INGEST_RUN.stats
  mkdir -p "$INGEST_OUT"
  CG_ARGS[ingest]="$*"
  CG_INGEST_START=$name
  cg_spawn ingest "$(ns cloud)" "$CG_WORK/ingest.$CG_INGEST_RUN.out" \
    "$CG_WORK/ingest.$CG_INGEST_RUN.log" \
    "${run[@]}" --address "$CG_INGEST_ADDR" --port "$port" \
    --cert "$CG_SERVER_CERT" --key "$CG_SERVER_KEY" --out-dir "$INGEST_OUT" \
    --stats "$INGEST_STATS" "$@"
  cg_wait_line ingest "$CG_WORK/ingest.$CG_INGEST_RUN.out" "^ready $scheme://" 20
  note "ingest: $(head -n 1 "$CG_WORK/ingest.$CG_INGEST_RUN.out"), files in $INGEST_OUT"
}

# start_ingest [cg-testingest options...]: the RTSPS ingest at
# 203.0.113.2:8322; pass the mounts (--mount /live/cam1=h264+aac ...).
start_ingest() {
  cg_start_ingest start_ingest "$CG_TESTINGEST" "$CG_INGEST_PORT" rtsps "$@"
}

# start_whip_ingest [cg-whipingest options...]: the WHIP ingest at
# https://203.0.113.2:8443/whip/NAME (ingest_stat reads its /whip/NAME lines).
start_whip_ingest() {
  cg_start_ingest start_whip_ingest "$CG_WHIPINGEST" "$CG_WHIP_PORT" https "$@"
}

# start_werift_ingest [options...]: the same endpoints served by werift
# (tests/fixtures/werift-whip/ingest.mjs, run by Node.js from the build tree).
start_werift_ingest() {
  cg_start_ingest start_werift_ingest "$CG_WERIFT_DIR/ingest.mjs" "$CG_WHIP_PORT" https "$@"
}

# restart_ingest: starts the ingest again, the same fixture with the options
# it last had.
restart_ingest() {
  # shellcheck disable=SC2086 # the options were words to begin with
  "$CG_INGEST_START" ${CG_ARGS[ingest]}
}

# stop_ingest: SIGTERM; the ingest flushes its files and must exit.
stop_ingest() {
  cg_stop ingest TERM 10 || fail "the ingest did not exit within $(scaled 10) s of SIGTERM"
  [ "$CG_LAST_RC" = 0 ] || note "warning: the ingest exited with status $CG_LAST_RC"
}

# --- camgate ---------------------------------------------------------------

# write_config FILE [CA_FILE]: [gateway] and [uplink] sections for this
# world; append camera sections with add_camera.
write_config() {
  local file=$1 ca=${2:-${CG_CA:-}}
  mkdir -p "$CG_WORK/state" "$CG_WORK/run"
  chmod 700 "$CG_WORK/state" "$CG_WORK/run"
  cat >"$file" <<EOF
# written by $CG_TEST_NAME
[gateway]
name = test
state_dir = $CG_WORK/state
runtime_dir = $CG_WORK/run
camera_interface = br-cam
isolation = off

[uplink]
kind = rtsps
url = rtsps://$CG_INGEST_ADDR:$CG_INGEST_PORT/live/{camera}
ca_file = $ca
EOF
}

# write_whip_config FILE [TOKEN]: write_config with kind = whip toward
# start_whip_ingest's endpoint, and the bearer token if one is given.
write_whip_config() {
  write_config "$1"
  sed -i -e 's|^kind = rtsps$|kind = whip|' \
    -e "s|^url = rtsps://.*|url = https://$CG_INGEST_ADDR:$CG_WHIP_PORT/whip/{camera}|" "$1"
  if [ -n "${2:-}" ]; then
    printf 'token = %s\n' "$2" >>"$1"
  fi
  grep -q '^kind = whip$' "$1" || fail "write_whip_config: no kind line in $1"
}

# add_camera FILE K [KEY=VALUE...]: [camera camK] for camera K's stream.
add_camera() {
  local file=$1 k=$2 kv
  shift 2
  {
    printf '\n[camera cam%s]\nurl = rtsp://10.20.0.1%s:%s/stream\n' "$k" "$k" "$CG_CAM_PORT"
    for kv in "$@"; do
      printf '%s = %s\n' "${kv%%=*}" "${kv#*=}"
    done
  } >>"$file"
}

# relay_up K...: camgate started on a config for cameras K... (write_config,
# add_camera: $CG_WORK/camgate.conf), waiting until each camera streams and
# its uplink is up.
relay_up() {
  local conf=$CG_WORK/camgate.conf k
  write_config "$conf"
  for k; do
    add_camera "$conf" "$k"
  done
  start_camgate "$conf"
  for k; do
    wait_for "cam$k streaming" 30 camera_is "cam$k" streaming
    wait_for "uplink cam$k up" 30 uplink_is "cam$k" up
  done
}

cg_runtime_dir() {
  sed -n 's/^runtime_dir *= *//p' "$CG_CONF" | tail -n 1
}

# start_camgate CONF: `camgate run -c CONF` in the gateway namespace, under
# CG_TEST_WRAPPER, logging to $CG_WORK/camgate.log; waits until
# `camgate status` answers.
start_camgate() {
  [ -z "${CG_PID[camgate]:-}" ] || fail "start_camgate: camgate already runs"
  CG_CONF=$1
  # shellcheck disable=SC2086 # the wrapper is a command line
  cg_spawn camgate "$(ns gw)" "$CG_WORK/camgate.out" "$CG_WORK/camgate.log" \
    $CG_TEST_WRAPPER "$CAMGATE" run -c "$CG_CONF"
  wait_for "camgate status to answer" 20 cg_status_quiet
  note "camgate runs (pid ${CG_PID[camgate]})"
}

# stop_camgate: SIGTERM; camgate must exit 0 within the deadline.
stop_camgate() {
  local t0
  t0=$(cg_now_ms)
  cg_stop camgate TERM 15 || fail "camgate did not exit within $(scaled 15) s of SIGTERM"
  [ "$CG_LAST_RC" = 0 ] || fail "camgate exited with status $CG_LAST_RC after SIGTERM (expected 0)"
  note "camgate stopped cleanly in $(($(cg_now_ms) - t0)) ms"
  if grep -E '^camgate(-[a-z]+)? (critical|error):' "$CG_WORK/camgate.log" >&2; then
    fail "camgate logged a critical or an error of its own (above)"
  fi
}

# cg_status: camgate's status as JSON (also kept in $CG_WORK/status.json).
cg_status() {
  timeout "$(scaled 10)" "$CAMGATE" status --json -c "$CG_CONF" >"$CG_WORK/status.json.new" || return
  mv "$CG_WORK/status.json.new" "$CG_WORK/status.json"
  cat "$CG_WORK/status.json"
}

cg_status_quiet() {
  cg_status >/dev/null 2>&1
}

# camera_field ID FIELD / uplink_field ID FIELD: one field from a fresh status
# ("null" when null, empty when there is no such camera).
camera_field() {
  cg_status | jq -r --arg id "$1" --arg f "$2" \
    '.cameras[] | select(.id == $id) | .[$f]'
}

uplink_field() {
  cg_status | jq -r --arg id "$1" --arg f "$2" \
    '.uplinks[] | select(.camera == $id) | .[$f]'
}

camera_state() { camera_field "$1" state; }
uplink_state() { uplink_field "$1" state; }

# Predicates for wait_for.
camera_is() { [ "$(camera_state "$1")" = "$2" ]; }
camera_is_not() { local s; s=$(camera_state "$1"); [ -n "$s" ] && [ "$s" != "$2" ]; }
uplink_is() { [ "$(uplink_state "$1")" = "$2" ]; }
uplink_is_not() { local s; s=$(uplink_state "$1"); [ -n "$s" ] && [ "$s" != "$2" ]; }
# camera_ge ID FIELD N / uplink_ge ID FIELD N: the numeric field is >= N.
camera_ge() { num_ge "$(camera_field "$1" "$2")" "$3"; }
uplink_ge() { num_ge "$(uplink_field "$1" "$2")" "$3"; }
# camera_has ID FIELD: the field is set (not null, not empty).
camera_has() { local v; v=$(camera_field "$1" "$2"); [ -n "$v" ] && [ "$v" != null ]; }
uplink_has() { local v; v=$(uplink_field "$1" "$2"); [ -n "$v" ] && [ "$v" != null ]; }

# uplink_error_mentions ID REGEX: the uplink's last_error is set and matches
# REGEX (case-insensitive).
uplink_error_mentions() {
  local e
  e=$(uplink_field "$1" last_error)
  [ -n "$e" ] && [ "$e" != null ] && grep -Eiq -- "$2" <<<"$e"
}

# expect_down ID WHEN: camera ID is offline or connecting (not streaming),
# else the test fails naming WHEN. The state is left in DOWN_STATE.
DOWN_STATE=
expect_down() {
  DOWN_STATE=$(camera_state "$1")
  case $DOWN_STATE in
    offline | connecting) ;;
    *) fail "$1 state is '$DOWN_STATE' $2, expected offline or connecting" ;;
  esac
}

# num_ge A B: A and B integers, A >= B (anything else is false).
num_ge() {
  [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ]
}

# --- fixture statistics ----------------------------------------------------

# camera_stat K KEY: frames_sent or clients from camera K's stats file (0 if
# not written yet).
camera_stat() {
  local v
  v=$(awk -v k="$2" '$1 == k { v = $2 } END { print v }' "$CG_WORK/cam$1.stats" 2>/dev/null || true)
  echo "${v:-0}"
}

# ingest_stat PATH KEY: sessions, frames or bytes of mount PATH (0 if none).
ingest_stat() {
  local v
  v=$(awk -v p="$1" -v k="$2" \
    '$1 == p { for (i = 2; i < NF; i += 2) if ($i == k) v = $(i + 1) } END { print v }' \
    "$INGEST_STATS" 2>/dev/null || true)
  echo "${v:-0}"
}

ingest_ge() { num_ge "$(ingest_stat "$1" "$2")" "$3"; }

# assert_no_camera_candidates PATH: the addresses camgate's candidates named
# at cg-whipingest's PATH (offered or PATCHed, raddr included) are none of
# the camera segment's (10.20.0.0/24, fd00:20::/64), and there were some.
assert_no_camera_candidates() {
  local addresses
  addresses=$(ingest_stat "$1" addresses)
  case $addresses in
    0 | none) fail "no candidate address at the ingest's $1" ;;
  esac
  if tr , '\n' <<<"$addresses" | grep -qE '^(10\.20\.0\.|fd00:20::)'; then
    fail "camgate's ICE candidates at $1 name the camera segment: $addresses"
  fi
  note "candidate addresses at $1: $addresses"
}

# ingest_files NAME [DIR]: the files (.ts, .mkv, .h264) the ingest wrote
# for .../NAME, in session order (default DIR: the current ingest's out-dir).
ingest_files() {
  local dir=${2:-$INGEST_OUT}
  find "$dir" -maxdepth 1 -type f \( -name "$1-*.ts" -o -name "$1-*.mkv" -o -name "$1-*.h264" \) \
    -printf '%f\n' 2>/dev/null | sort -V | sed "s|^|$dir/|"
}

# rtsp_tcp_bytes K: bytes camgate has received over TCP from camera K's RTSP
# port (RTSP replies only when the media comes over UDP).
rtsp_tcp_bytes() {
  in_ns gw ss -Hnti dst "10.20.0.1$1" dport = ":$CG_CAM_PORT" |
    grep -o 'bytes_received:[0-9]*' | awk -F: '{ s += $2 } END { print s + 0 }'
}

# --- media checks ----------------------------------------------------------

# probe FILE: "VCODEC WIDTH HEIGHT FRAMES ACODEC" of the file's first video
# stream (frames decoded and counted by ffprobe) and first audio stream
# ("none" if it has none). ffprobe's complaints go to $CG_WORK/probe.err.
probe() {
  local f=$1 v a
  v=$("$FFPROBE" -v error -count_frames -select_streams v:0 \
    -show_entries stream=codec_name,width,height,nb_read_frames -of json "$f" \
    2>"$CG_WORK/probe.err") || { cat "$CG_WORK/probe.err" >&2; return 1; }
  a=$("$FFPROBE" -v error -select_streams a:0 -show_entries stream=codec_name \
    -of json "$f" 2>>"$CG_WORK/probe.err") || { cat "$CG_WORK/probe.err" >&2; return 1; }
  a=$(jq -r '.streams[0].codec_name // "none"' <<<"$a")
  jq -r --arg a "$a" \
    '.streams[0] // {} | "\(.codec_name // "none") \(.width // 0) \(.height // 0) \(.nb_read_frames // 0) \($a)"' \
    <<<"$v"
}

# first_packet_is_key FILE: the file's first video packet is a keyframe and
# ffprobe decodes its first frame as one.
first_packet_is_key() {
  local flags key
  flags=$("$FFPROBE" -v error -select_streams v:0 -show_packets -read_intervals '%+#1' \
    -show_entries packet=flags -of json "$1" 2>>"$CG_WORK/probe.err" | jq -r '.packets[0].flags // ""')
  key=$("$FFPROBE" -v error -select_streams v:0 -show_frames -read_intervals '%+#1' \
    -show_entries frame=key_frame -of json "$1" 2>>"$CG_WORK/probe.err" | jq -r '.frames[0].key_frame // ""')
  note "$(basename "$1"): first video packet flags '$flags', first frame key_frame '$key'"
  [[ $flags == K* ]] && [ "$key" = 1 ]
}

# check_media FILE VCODEC WIDTH HEIGHT ACODEC MIN_FRAMES: fails the test unless
# FILE holds that video (at least MIN_FRAMES decodable frames) and audio.
# Sets PROBED_FRAMES.
check_media() {
  local f=$1 want_v=$2 want_w=$3 want_h=$4 want_a=$5 min=$6 got vc w h n ac
  [ -s "$f" ] || fail "$f is missing or empty"
  got=$(probe "$f") || fail "ffprobe cannot read $f"
  read -r vc w h n ac <<<"$got"
  note "$(basename "$f"): $vc ${w}x$h, $n video frames, audio $ac"
  [ ! -s "$CG_WORK/probe.err" ] ||
    note "  ffprobe said ($(wc -l <"$CG_WORK/probe.err") lines): $(head -n 1 "$CG_WORK/probe.err")"
  [ "$vc" = "$want_v" ] || fail "$(basename "$f") video codec is $vc, expected $want_v"
  [ "${w}x$h" = "${want_w}x$want_h" ] ||
    fail "$(basename "$f") video is ${w}x$h, expected ${want_w}x$want_h"
  [ "$ac" = "$want_a" ] || fail "$(basename "$f") audio codec is $ac, expected $want_a"
  [ "$n" -ge "$min" ] || fail "$(basename "$f") has $n video frames, expected >= $min"
  # shellcheck disable=SC2034 # for the cases
  PROBED_FRAMES=$n
}

# --- misc ------------------------------------------------------------------

# check_rate WHAT DELTA MS FPS: DELTA frames in MS milliseconds must be at
# least 80% of FPS (divided by CG_TEST_TIMEOUT_SCALE: a slowed-down camgate
# is allowed to fall behind in proportion).
check_rate() {
  local what=$1 delta=$2 ms=$3 fps=$4 rate ok
  rate=$(awk -v d="$delta" -v ms="$ms" 'BEGIN { printf "%.1f", (ms > 0 ? d * 1000 / ms : 0) }')
  ok=$(awk -v r="$rate" -v f="$fps" -v k="$CG_TEST_TIMEOUT_SCALE" \
    'BEGIN { print (r >= 0.8 * f / k) ? 1 : 0 }')
  note "$what: $delta frames in $ms ms = $rate fps"
  [ "$ok" = 1 ] || fail "$what: $rate frames/s, expected >= 80% of $fps"
}

# settled KIND ID FIELD MS: a predicate for wait_for, true once the numeric
# field (KIND camera or uplink) has kept its value for MS milliseconds.
SETTLED_VALUE=
SETTLED_SINCE=0
settled() {
  local v now
  v=$("$1_field" "$2" "$3")
  now=$(cg_now_ms)
  if [ "$v" != "$SETTLED_VALUE" ]; then
    SETTLED_VALUE=$v
    SETTLED_SINCE=$now
    return 1
  fi
  [ $((now - SETTLED_SINCE)) -ge "$4" ]
}

# pct A B: A as a percentage of B (integer).
pct() {
  [ "$2" -gt 0 ] || { echo 0; return; }
  echo $((100 * $1 / $2))
}

# assert_secret_kept TEXT: TEXT (a password) appears neither in camgate's
# log nor in its status.
assert_secret_kept() {
  if grep -qF -- "$1" "$CG_WORK/camgate.log" "$CG_WORK/camgate.out" 2>/dev/null; then
    fail "a password appears in camgate's output: $(grep -F -- "$1" "$CG_WORK/camgate.log" | head -n 1)"
  fi
  if [ -f "$CG_WORK/status.json" ] && grep -qF -- "$1" "$CG_WORK/status.json"; then
    fail "a password appears in camgate status"
  fi
}
