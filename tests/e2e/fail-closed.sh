#!/bin/bash
# Fail-closed (DESIGN.md, "Isolation semantics"): the seal stays in the
# kernel when camgate dies. After `kill -9` under isolation = enforce, table
# inet camgate is still in the gateway and cam1's probes to the Internet
# still do not arrive; only `camgate rules flush` removes it, and then they
# arrive again. `camgate rules apply` seals without the daemon, and
# `camgate rules show` shows the table and a counter per camera. camgate
# started with isolation = off leaves that table in force and says so.
#
# The probes first prove, before any seal, that they arrive and are counted
# at the cloud host; each run ends with sentinels the seal allows.
. "$(dirname "$0")/lib.sh"

require_world
two_camera_site
conf=$enforce_conf

# What cam1 tries: PROTO PORT, to the cloud host.
PROBES=("tcp 23" "tcp 2323" "udp 53")

# probes WANT [COUNTED]: each probe from cam1 to the cloud host, seen or
# blocked; with COUNTED = 1, camgate's counter cam_cam1 must count it.
probes() {
  local want=$1 counted=${2:-0} p proto port c0="" c1
  for p in "${PROBES[@]}"; do
    read -r proto port <<<"$p"
    [ "$counted" = 0 ] || c0=$(camgate_counter cam_cam1)
    check_probe "$want" cam1 "$proto" 203.0.113.2 "$port" cloud
    if [ "$counted" = 1 ]; then
      c1=$(camgate_counter cam_cam1)
      num_ge "$c1" $((c0 + PROBE_AT_GW)) ||
        fail "$proto/$port from cam1: counter cam_cam1 went from $c0 to $c1, expected +$PROBE_AT_GW"
      note "  counter cam_cam1: $c0 -> $c1"
    fi
  done
}

# rules CMD: `camgate rules CMD -c enforce.conf` in the gateway namespace, as
# root would run it; must exit 0. Output in $CG_WORK/rules-CMD.{out,err}.
rules() {
  local rc=0
  # shellcheck disable=SC2086 # the wrapper is a command line
  in_ns gw timeout "$(scaled 20)" $CG_TEST_WRAPPER "$CAMGATE" rules "$1" -c "$conf" \
    >"$CG_WORK/rules-$1.out" 2>"$CG_WORK/rules-$1.err" || rc=$?
  if [ "$rc" != 0 ]; then
    sed 's/^/  stdout: /' "$CG_WORK/rules-$1.out" >&2
    sed 's/^/  stderr: /' "$CG_WORK/rules-$1.err" >&2
    fail "camgate rules $1 -c $conf: exit status $rc, expected 0"
  fi
  note "camgate rules $1: $(head -n 1 "$CG_WORK/rules-$1.out")"
}

# 1. No seal yet: the probes arrive.
camgate_table && fail "the new gateway namespace already has a table inet camgate"
note "--- no seal: the probes arrive"
probes seen

# 2. The daemon seals; then it is killed in the middle of relaying.
start_camgate "$conf"
wait_for "isolation applied (status)" 20 isolation_applied
camgate_table || fail "camgate says the isolation is applied, but the gateway has no table inet camgate"
for k in 1 2; do
  wait_for "uplink cam$k up" 30 uplink_is "cam$k" up
  wait_for "cam$k frames at the ingest" 30 ingest_ge "/live/cam$k" frames 25
done
note "--- isolation = enforce: the probes are blocked"
probes blocked 1
pid=${CG_PID[camgate]}
cg_stop camgate KILL 5 || fail "camgate survived SIGKILL"
note "--- camgate (pid $pid) killed with SIGKILL"

# 3. The seal outlives the daemon.
camgate_table || fail "table inet camgate went with camgate's SIGKILL: the gateway fails open"
in_ns gw nft list table inet camgate >"$CG_WORK/table-after-kill.nft"
note "table inet camgate still in the gateway ($(wc -l <"$CG_WORK/table-after-kill.nft") lines)"
probes blocked 1

# 4. Only `camgate rules flush` removes it; then the probes arrive again.
rules flush
camgate_table && fail "table inet camgate is still there after camgate rules flush"
probes seen

# 5. `camgate rules apply` seals without the daemon; `rules show` shows it.
rules apply
camgate_table || fail "camgate rules apply succeeded, but the gateway has no table inet camgate"
rules show
for w in camgate cam_cam1 cam_cam2; do
  grep -q "$w" "$CG_WORK/rules-show.out" || {
    sed 's/^/  rules show: /' "$CG_WORK/rules-show.out" >&2
    fail "camgate rules show does not mention $w"
  }
done
note "camgate rules show: $(wc -l <"$CG_WORK/rules-show.out") lines, naming table camgate, cam_cam1 and cam_cam2"
probes blocked 1

# 6. camgate with isolation = off leaves that table in force, says so, and
# still reports what cam1 tries.
start_camgate "$off_conf"
wait_for "status to show the table left in force" 20 isolation_applied
grep -q 'is still in force and camgate leaves it' "$CG_WORK/camgate.log" ||
  fail "camgate under isolation = off does not say that the table is still in force"
probes blocked 1
wait_for "status to report cam1's telnet attempt" 5 \
  violation_reported cam1 10.20.0.11 tcp 23 203.0.113.2 telnet-scan
stop_camgate
note "isolation = off with the table left in force: reported as applied, violations reported"

rules flush
camgate_table && fail "table inet camgate is still there after the second camgate rules flush"
probes seen
note "fail-closed: all checks passed"
