#!/bin/bash
# The relay benchmark (tests/bench/run) keeps working: one run of it with
# --smoke, camgate alone relaying one camera for a few seconds in its own
# namespaces, must see frames reach the ingest. It asserts nothing else:
# the figures are the benchmark's business. Its CSV and the cameras' clip go
# to this test's work directory, never into the source tree.
. "$(dirname "$0")/lib.sh"

require_world
for f in "$CG_BUILDDIR/tests/bench/cg-benchcam" "$CG_BUILDDIR/tests/bench/cg-benchingest"; do
  [ -x "$f" ] || fail "$f is missing: build it first (make builds it)"
done
cg_setup
CG_BUILDDIR=$CG_BUILDDIR "$CG_SRCDIR/tests/bench/run" --smoke --out "$CG_WORK/bench" ||
  fail "tests/bench/run --smoke failed (its output is above)"
note "bench-smoke: frames flowed"
