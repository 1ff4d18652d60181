#!/bin/sh
# shellcheck disable=SC2317 # the job functions run through "$job &"
# The pipeline of pipeline.sh again, coordinated with em's sync tools (protocol 1.2): a job
# announces its result with ONE latched trigger (no repeat loop: a job that starts waiting later
# still sees it), the test suites take turns on a shared test database under a lock that dies
# with its holder, and the report meets both suites at a barrier. docs/CI.md explains each part.
#
#   sh examples/ci/sync.sh                                 # em, deno or npx: see below
#   EM=em sh examples/ci/sync.sh                          # the compiled binary on PATH
#   DENO="npx -y deno@2.9.6" sh examples/ci/sync.sh       # the Quick start's Deno
#
#   deps ─latch deps_ready─▶ build ─latch build_done─▶ test_unit ────────┐ lock test_db, then
#                                                  └─▶ test_integration ─┤ barrier suites (3)
#                                                            report ─────┘
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
HOST=127.0.0.1                   # where emd listens (loopback: see docs/CI.md on security)
SERVER=sync$$                    # emd's name: emquit must give it
WAIT_MS=${WAIT_MS:-60000}        # a job waits at most this long for another
WORK=$(mktemp -d)
trap 'kill "$emd_pid" 2>/dev/null || true; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

say() { echo "$*"; }

# --- emd as a background service, its port read from its first line (see pipeline.sh) ----------
mkfifo "$WORK/emd.out"
# shellcheck disable=SC2086 # $EM is a command line
$EM emd -q --host "$HOST" --free-port "$SERVER" >"$WORK/emd.out" &
emd_pid=$!
read -r listening <"$WORK/emd.out" || true
PORT=${listening##*:}
case "$PORT" in
'' | *[!0-9]*) say "sync: emd did not start" >&2 && exit 1 ;;
esac
say "emd: listening on $HOST:$PORT"

# shellcheck disable=SC2086
em() { $EM "$@"; }

# --- the jobs ----------------------------------------------------------------------------------
job_deps() {
  say "deps: fetched"
  echo "dependencies" >"$WORK/deps"
  em emtrigger --latch "$HOST" "$PORT" deps_ready # stays set: a late waiter returns at once
}

job_build() {
  em emwait "$HOST" "$PORT" deps_ready "$WAIT_MS"
  say "build: built with $(cat "$WORK/deps")"
  echo "binary" >"$WORK/app"
  em emtrigger --latch "$HOST" "$PORT" build_done
}

# The suites share one test database: the lock lets one use it at a time. What runs under the lock
# is a command (here a small script) that checks it had the database to itself: no marker left by
# another suite. If a suite's job dies, emd frees the lock at once and the other suite goes on.
cat >"$WORK/use_database" <<'SH'
#!/bin/sh
# use_database SUITE WORK
set -eu
[ ! -e "$2/db_in_use" ] || { echo "test_$1: database busy!" >&2 && exit 1; }
: >"$2/db_in_use"
echo "test_$1: passed against the $(cat "$2/app"), database to itself"
rm "$2/db_in_use"
SH

job_test() { # SUITE
  em emwait "$HOST" "$PORT" build_done "$WAIT_MS"
  em emlock --timeout "$WAIT_MS" "$HOST" "$PORT" test_db -- sh "$WORK/use_database" "$1" "$WORK"
  em embarrier "$HOST" "$PORT" suites 3 "$WAIT_MS" # meet the other suite and the report
}

job_report() {
  em embarrier "$HOST" "$PORT" suites 3 "$WAIT_MS" # both suites are done (a failed one never comes)
  say "report: every suite passed"
}

jobs=
for job in job_report "job_test integration" "job_test unit" job_build job_deps; do
  $job &
  jobs="$jobs $!"
done

# --- every job done (or failed), stop emd ----------------------------------------------------------
status=0
for pid in $jobs; do
  wait "$pid" || status=1
done
em emquit "$HOST" "$PORT" "$SERVER"
wait "$emd_pid" || status=1
say "pipeline: $([ "$status" = 0 ] && echo ok || echo failed)"
exit "$status"
