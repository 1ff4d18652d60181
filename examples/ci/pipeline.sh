#!/bin/sh
# shellcheck disable=SC2317 # the job functions run through "$job &"
# A CI pipeline in one POSIX shell script, coordinated by em: emd runs as a background service,
# parallel jobs wait on each other's events with emwait and announce their own with emtrigger,
# and emquit stops the server at the end. docs/CI.md explains each part.
#
#   sh examples/ci/pipeline.sh                                 # em, deno or npx: see below
#   EM=em sh examples/ci/pipeline.sh                          # the compiled binary on PATH
#   DENO="npx -y deno@2.9.6" sh examples/ci/pipeline.sh       # the Quick start's Deno
#
#   deps ──deps_ready──▶ build ──build_done──▶ test_unit ────────unit_done──────▶ report
#                                          └──▶ test_integration ─integration_done─┘
set -eu

# How to run em: EM (a command, split into words), else em on PATH, else cli/em_bundle.js under Deno:
# DENO (default: deno on PATH, else the Quick start's "npx -y deno@2.9.6"). Through npx the
# script asks npx for the deno binary itself and runs that: a signal to npx would stop npx and
# leave its deno child (emd) running, a signal to deno stops emd.
if [ -z "${EM:-}" ]; then
  if command -v em >/dev/null 2>&1; then
    EM=em
  else
    if [ -z "${DENO:-}" ]; then
      if command -v deno >/dev/null 2>&1; then DENO=deno; else DENO="npx -y deno@2.9.6"; fi
    fi
    # shellcheck disable=SC2086 # $DENO is a command line
    deno_bin=$($DENO eval 'console.log(Deno.execPath())')
    root=$(cd "$(dirname "$0")/../.." && pwd)
    EM="$deno_bin run --v8-flags=--no-lazy --allow-net --allow-env --allow-read --allow-write --allow-run $root/cli/em_bundle.js"
  fi
fi
HOST=127.0.0.1                   # where emd listens (loopback: 1.1 has no authentication)
SERVER=pipeline$$                # emd's name: emquit must give it
ANNOUNCE_EVERY_S=${ANNOUNCE_EVERY_S:-0.3}
WAIT_MS=${WAIT_MS:-60000}        # a job waits at most this long for the job before it
WORK=$(mktemp -d)
trap 'kill "$emd_pid" 2>/dev/null || true; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

say() { echo "$*"; }

# --- emd as a background service --------------------------------------------------------------
# --free-port picks a free port and emd prints "listening on HOST:PORT": read that one line through a
# FIFO, so the pipeline goes on the moment emd listens (no sleep, no polling).
mkfifo "$WORK/emd.out"
# shellcheck disable=SC2086 # $EM is a command line
$EM emd -q --host "$HOST" --free-port "$SERVER" >"$WORK/emd.out" &
emd_pid=$!
read -r listening <"$WORK/emd.out" || true
PORT=${listening##*:}
case "$PORT" in
'' | *[!0-9]*) say "pipeline: emd did not start" >&2 && exit 1 ;;
esac
say "emd: listening on $HOST:$PORT"

# --- the two em operations every job uses ---------------------------------------------------------
# shellcheck disable=SC2086
wait_for() { $EM emwait "$HOST" "$PORT" "$1" "$WAIT_MS" >/dev/null; }

# EM 1.1 wakes only the waiters connected at the moment of the trigger: one that connects a moment
# later would wait for nothing. "build_done" is a state, not a moment, so announce() repeats the
# trigger until emd stops (emtrigger then fails and the loop ends); a job ends once its
# announcements do. With latched events ("emtrigger --latch", examples/ci/sync.sh) one trigger does.
announce() {
  # shellcheck disable=SC2086
  (while $EM emtrigger "$HOST" "$PORT" "$1" 2>/dev/null; do sleep "$ANNOUNCE_EVERY_S"; done) &
}

# --- the jobs: each a function run in the background, as CI runs jobs in parallel ----------------
job_deps() {
  say "deps: fetched"
  echo "dependencies" >"$WORK/deps"
  announce deps_ready
  wait
}

job_build() {
  wait_for deps_ready
  say "build: built with $(cat "$WORK/deps")"
  echo "binary" >"$WORK/app"
  announce build_done
  wait
}

job_test() { # SUITE
  wait_for build_done
  say "test_$1: passed against the $(cat "$WORK/app")"
  announce "$1_done"
  wait
}

job_report() {
  wait_for unit_done
  wait_for integration_done
  say "report: every suite passed"
}

jobs=
for job in "job_test integration" "job_test unit" job_build job_deps; do
  $job &
  jobs="$jobs $!"
done
job_report &
report=$!

# --- the last job done (or failed), stop emd, then collect every job's exit status ----------------
status=0
wait "$report" || status=1
# shellcheck disable=SC2086
$EM emquit "$HOST" "$PORT" "$SERVER"
wait "$emd_pid" || status=1
for pid in $jobs; do
  wait "$pid" || status=1 # a job ends once emd is gone and its announcements stop
done
say "pipeline: $([ "$status" = 0 ] && echo ok || echo failed)"
exit "$status"
