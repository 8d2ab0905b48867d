#!/bin/bash
# The command line a user and their scripts see: help texts, exit statuses,
# and `camgate check` / `camgate run` naming FILE:LINE of a configuration
# error. No network needed; runs without root.
. "$(dirname "$0")/lib.sh"

[ -x "$CAMGATE" ] || fail "$CAMGATE is missing: build it first"
cg_setup

SECRET=pw-MARKER-7f3c9a   # a password that must never be printed
RC=0

# cg NAME ARGS...: runs camgate ARGS; output in $CG_WORK/NAME.{out,err},
# exit status in RC. Never hangs: `run` on a config it should refuse would.
cg() {
  local name=$1
  shift
  RC=0
  timeout "$(scaled 20)" "$CAMGATE" "$@" >"$CG_WORK/$name.out" 2>"$CG_WORK/$name.err" || RC=$?
  [ "$RC" != 124 ] || fail "camgate $* did not return within $(scaled 20) s"
  if grep -qF -- "$SECRET" "$CG_WORK/$name.out" "$CG_WORK/$name.err"; then
    fail "camgate $* printed a password: $(grep -hF -- "$SECRET" "$CG_WORK/$name.out" "$CG_WORK/$name.err" | head -n 1)"
  fi
}

expect_rc() {
  [ "$RC" = "$1" ] || {
    sed 's/^/  stderr: /' "$CG_WORK/$2.err" >&2
    fail "camgate $2: exit status $RC, expected $1"
  }
}

# expect_text NAME out|err REGEX WHAT: the output matches REGEX (grep -E).
expect_text() {
  grep -Eq -- "$3" "$CG_WORK/$1.$2" || {
    sed "s/^/  std$2: /" "$CG_WORK/$1.$2" >&2
    fail "camgate $1: std$2 does not mention $4 (/$3/)"
  }
}

line_of() { grep -nF -- "$2" "$1" | head -n 1 | cut -d: -f1; }

# --- help and usage --------------------------------------------------------

cg help --help
expect_rc 0 help
for c in run status check rules; do
  expect_text help out "(^|[^a-z])$c([^a-z]|$)" "the $c command"
done

cg version --version
expect_rc 0 version
expect_text version out '^camgate [0-9]' "the version"
expect_text version out '^uplinks: rtsps' "the uplinks built"

cg help-run run --help
expect_rc 0 help-run
expect_text help-run out '--config' "--config"
expect_text help-run out '-c' "-c"

cg help-status status --help
expect_rc 0 help-status
expect_text help-status out '--json' "--json"
expect_text help-status out '--config' "--config"

cg help-check check --help
expect_rc 0 help-check
expect_text help-check out '--config' "--config"

cg help-rules rules --help
expect_rc 0 help-rules
expect_text help-rules out 'apply' "apply"
expect_text help-rules out 'flush' "flush"
expect_text help-rules out '--config' "--config"

cg unknown frobnicate
expect_rc 2 unknown
expect_text unknown err 'frobnicate' "the unknown command"

cg badopt check --no-such-option
expect_rc 2 badopt
expect_text badopt err 'no-such-option' "the unknown option"

note "help texts and usage errors: ok"

# --- a valid configuration -------------------------------------------------

mkdir -p "$CG_WORK/state" "$CG_WORK/run"
good=$CG_WORK/good.conf
cat >"$good" <<EOF
# a complete, valid configuration
[gateway]
name = shop-42
state_dir = $CG_WORK/state
runtime_dir = $CG_WORK/run
camera_interface = br-cam
isolation = off

[uplink]
kind = rtsps
url = rtsps://203.0.113.2:8322/live/{camera}
ca_file = $CG_WORK/ca.pem
username = pusher
password = $SECRET

[camera front-door]
url = rtsp://10.20.0.11:8554/stream
username = admin
password = $SECRET
transport = tcp

[camera yard_2]
url = rtsp://10.20.0.12:8554/stream
transport = udp
EOF
cg_make_ca "$CG_WORK/ca" "camgate cli test CA"

cg check-good check -c "$good"
expect_rc 0 check-good
[ ! -s "$CG_WORK/check-good.err" ] || sed 's/^/# check warns: /' "$CG_WORK/check-good.err"

# No daemon: status says so and exits 3.
cg status-none status -c "$good"
expect_rc 3 status-none
expect_text status-none err '[Cc]ontrol|[Dd]aemon|[Rr]unning|[Ss]ocket' "what is missing (the daemon)"
cg status-none-json status --json -c "$good"
expect_rc 3 status-none-json
[ ! -s "$CG_WORK/status-none-json.out" ] ||
  fail "camgate status --json printed something on stdout with no daemon"
note "valid configuration and status without a daemon: ok"

# --- errors: exit 1, "FILE:LINE: message" -----------------------------------

# bad NAME REGEX WHAT MARKER: $CG_WORK/NAME.conf must be refused by check and
# run, with FILE:LINE where LINE holds MARKER, and a message matching REGEX.
bad() {
  local name=$1 re=$2 what=$3 marker=$4 file=$CG_WORK/$1.conf line
  line=$(line_of "$file" "$marker")
  [ -n "$line" ] || fail "test bug: '$marker' not in $file"
  for cmd in check run; do
    cg "$cmd-$name" "$cmd" -c "$file"
    expect_rc 1 "$cmd-$name"
    expect_text "$cmd-$name" err "^$file:$line: " "\"$file:$line:\" ($what)"
    grep "^$file:$line: " "$CG_WORK/$cmd-$name.err" | grep -Eiq -- "$re" || {
      sed 's/^/  stderr: /' "$CG_WORK/$cmd-$name.err" >&2
      fail "camgate $cmd: the message for $what does not match /$re/"
    }
  done
  note "$what: $(head -n 1 "$CG_WORK/check-$name.err")"
}

# header FILE: a valid [gateway] and [uplink], to which a case appends.
header() {
  cat >"$1" <<EOF
[gateway]
name = test
state_dir = $CG_WORK/state
runtime_dir = $CG_WORK/run
camera_interface = br-cam
isolation = off

[uplink]
kind = rtsps
url = rtsps://203.0.113.2:8322/live/{camera}
ca_file = $CG_WORK/ca.pem
EOF
}

header "$CG_WORK/space.conf"
cat >>"$CG_WORK/space.conf" <<EOF

[camera cam1]
url = rtsp://10.20.0.11:8554/stream

[camera Front Door]
url = rtsp://10.20.0.12:8554/stream
username = admin
password = $SECRET
EOF
bad space 'Front Door' 'a camera id with a space and capitals' '[camera Front Door]'

header "$CG_WORK/isolation.conf"
sed -i 's/^isolation = off$/isolation = block/' "$CG_WORK/isolation.conf"
add_cam1() { printf '\n[camera cam1]\nurl = rtsp://10.20.0.11:8554/stream\npassword = %s\n' "$SECRET" >>"$1"; }
add_cam1 "$CG_WORK/isolation.conf"
bad isolation 'isolation|block' 'isolation = block' 'isolation = block'

header "$CG_WORK/transport.conf"
add_cam1 "$CG_WORK/transport.conf"
echo "transport = carrier-pigeon" >>"$CG_WORK/transport.conf"
bad transport 'transport|carrier-pigeon' 'transport = carrier-pigeon' 'transport = carrier-pigeon'

header "$CG_WORK/kind.conf"
sed -i 's/^kind = rtsps$/kind = ftp/' "$CG_WORK/kind.conf"
add_cam1 "$CG_WORK/kind.conf"
bad kind 'kind|ftp' 'uplink kind = ftp' 'kind = ftp'

header "$CG_WORK/syntax.conf"
add_cam1 "$CG_WORK/syntax.conf"
echo "this line is not a key" >>"$CG_WORK/syntax.conf"
bad syntax '.' 'a line that is not key = value' 'this line is not a key'

# No [uplink] at all: still FILE:LINE, and the message names the section.
cat >"$CG_WORK/no-uplink.conf" <<EOF
[gateway]
name = test
state_dir = $CG_WORK/state
runtime_dir = $CG_WORK/run
camera_interface = br-cam
isolation = off

[camera cam1]
url = rtsp://10.20.0.11:8554/stream
password = $SECRET
EOF
for cmd in check run; do
  cg "$cmd-no-uplink" "$cmd" -c "$CG_WORK/no-uplink.conf"
  expect_rc 1 "$cmd-no-uplink"
  expect_text "$cmd-no-uplink" err "^$CG_WORK/no-uplink.conf:[0-9]+: .*uplink" \
    "\"FILE:LINE:\" and the missing [uplink]"
done
note "missing [uplink]: $(head -n 1 "$CG_WORK/check-no-uplink.err")"

# --- warnings: exit 0, "FILE:LINE: message" ---------------------------------

# warn NAME REGEX WHAT MARKER: check accepts NAME.conf, warning at MARKER's line.
warn() {
  local name=$1 re=$2 what=$3 marker=$4 file=$CG_WORK/$1.conf line
  line=$(line_of "$file" "$marker")
  cg "check-$name" check -c "$file"
  expect_rc 0 "check-$name"
  expect_text "check-$name" err "^$file:$line: " "\"$file:$line:\" ($what)"
  grep "^$file:$line: " "$CG_WORK/check-$name.err" | grep -Eiq -- "$re" || {
    sed 's/^/  stderr: /' "$CG_WORK/check-$name.err" >&2
    fail "camgate check: the warning for $what does not match /$re/"
  }
  note "$what: $(head -n 1 "$CG_WORK/check-$name.err")"
}

header "$CG_WORK/unknown-key.conf"
add_cam1 "$CG_WORK/unknown-key.conf"
echo "colour = blue" >>"$CG_WORK/unknown-key.conf"
warn unknown-key 'colour' 'an unknown key (warning only)' 'colour = blue'

header "$CG_WORK/planned.conf"
add_cam1 "$CG_WORK/planned.conf"
echo "substream_url = rtsp://10.20.0.11:8554/sub" >>"$CG_WORK/planned.conf"
warn planned 'substream_url' 'a planned key (warning: not supported yet)' 'substream_url'

note "cli: all checks passed"
