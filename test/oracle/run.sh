#!/usr/bin/env bash
# npm run test:oracle: differential test of the AuthorizationPolicy model
# (src/mesh/decide.ts, through test/oracle/driver.ts) against Istio's own code,
# with the shared istio-oracle (../shared/tools/istio-oracle, README there).
#  - builds the oracle's Go binary once if missing (first build: ~17 min on 2
#    cores), cached outside the repository like the e2e binaries:
#    ORACLE_CACHE (default ~/.cache/istio-oracle), ORACLE_BIN (default $ORACLE_CACHE/istio-oracle);
#  - checks the Istio side against the builder's golden files;
#  - compares ORACLE_COUNT (default 2000) random cases with a fixed seed
#    (ORACLE_SEED, default 5000) and Istio's builder testdata inputs;
#  - fails on any disagreement outside test/oracle/verdict.mjs's deliberate differences,
#    on any case where Istio allows and the model denies, and below 99% agreement
#    on the random cases whose policies istiod accepts (CUSTOM included);
#  - checks the symbolic reachability verdict (src/mesh/reach.ts) the same way
#    (test/oracle/reach/main.ts): REACH_SCENARIOS (default 30) random policy sets
#    around a tenant and its shared hops, seed REACH_SEED (default 17); every open
#    verdict's witness must pass every hop in Istio, every closed path must stop
#    REACH_ATTACKS (default 2000) sampled foreign requests, plus aimed ones.
# Ends with "N passed, N failed" (summed by .ci/run).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
ORACLE_DIR="${ORACLE_DIR:-$REPO/../shared/tools/istio-oracle}"
COUNT="${ORACLE_COUNT:-2000}"
SEED="${ORACLE_SEED:-5000}"
CACHE="${ORACLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/istio-oracle}"
export ORACLE_BIN="${ORACLE_BIN:-$CACHE/istio-oracle}"
export TG_REPO="$REPO" TG_DRIVER="$REPO/test/oracle/driver.ts"

fail() { echo "test:oracle: $*" >&2; echo "0 passed, 1 failed"; exit 1; }
[ -f "$ORACLE_DIR/compare.mjs" ] || fail "the istio-oracle tool is not at $ORACLE_DIR (set ORACLE_DIR)"
command -v go >/dev/null 2>&1 || fail "go is not installed: it is needed to build the oracle and to find Istio's testdata"

# Build as the oracle's own run.sh does: sources copied into the cache, built there once.
mkdir -p "$CACHE/src" && cp -r "$ORACLE_DIR/go/." "$CACHE/src/" && chmod -R u+w "$CACHE/src"
if [ ! -x "$ORACLE_BIN" ]; then
  echo "== building $ORACLE_BIN (first build of istio.io/istio's dependencies: 15+ min on 2 cores)"
  (cd "$CACHE/src" && GOFLAGS=-mod=mod go build -o "$ORACLE_BIN.tmp" . && mv "$ORACLE_BIN.tmp" "$ORACLE_BIN") || fail "building the oracle failed"
fi
ISTIO_MOD="$(cd "$CACHE/src" && GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' istio.io/istio)"
TESTDATA="$ISTIO_MOD/pilot/pkg/security/authz/builder/testdata/http"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

selftest=0
echo "== self-test: the Istio side reproduces the builder's golden files"
node "$ORACLE_DIR/selftest-golden.mjs" "$TESTDATA" | tail -n 1 || selftest=1

echo "== $COUNT random cases (seed $SEED)"
node "$ORACLE_DIR/compare.mjs" --count "$COUNT" --seed "$SEED" --out "$OUT/random" || fail "compare.mjs failed on the random cases"
echo "== Istio's builder testdata inputs, 150 targeted requests per file"
node "$ORACLE_DIR/testdata.mjs" "$TESTDATA" 150 11 >"$OUT/testdata-cases.json"
node "$ORACLE_DIR/compare.mjs" --cases "$OUT/testdata-cases.json" --out "$OUT/testdata" || fail "compare.mjs failed on the testdata cases"

echo "== verdict"
verdict=0
node "$REPO/test/oracle/verdict.mjs" "random=$OUT/random/results.jsonl@99" "testdata=$OUT/testdata/results.jsonl" >"$OUT/verdict.txt" || verdict=1
sed '$d' "$OUT/verdict.txt"
summary=$(tail -n 1 "$OUT/verdict.txt")
p=$(sed -nE 's/^([0-9]+) passed.*/\1/p' <<<"$summary"); f=$(sed -nE 's/.* ([0-9]+) failed$/\1/p' <<<"$summary")
if [ "$selftest" -eq 0 ]; then p=$((${p:-0} + 1)); echo "ok - the Istio side reproduces the builder's golden files"
else f=$((${f:-0} + 1)); echo "not ok - the Istio side does not reproduce the builder's golden files"; fi

echo "== symbolic reachability verdicts against the oracle (${REACH_SCENARIOS:-30} policy sets, seed ${REACH_SEED:-17})"
reach=0
(cd "$REPO" && node --import tsx test/oracle/reach/main.ts --seed "${REACH_SEED:-17}" --scenarios "${REACH_SCENARIOS:-30}" --attacks "${REACH_ATTACKS:-2000}") >"$OUT/reach.txt" 2>&1 || reach=1
sed '$d' "$OUT/reach.txt"
rsummary=$(tail -n 1 "$OUT/reach.txt")
rp=$(sed -nE 's/^([0-9]+) passed.*/\1/p' <<<"$rsummary"); rf=$(sed -nE 's/.* ([0-9]+) failed$/\1/p' <<<"$rsummary")
if [ -z "$rp" ] || [ -z "$rf" ]; then echo "$rsummary"; echo "not ok - reach-diff: test/oracle/reach/main.ts did not finish"; rp=0; rf=1; reach=1; fi
p=$((${p:-0} + rp)); f=$((${f:-1} + rf))
echo "${p:-0} passed, ${f:-1} failed"
[ "$verdict" -eq 0 ] && [ "$selftest" -eq 0 ] && [ "$reach" -eq 0 ]
