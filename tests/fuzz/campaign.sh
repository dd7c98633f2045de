#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) one after another, one libFuzzer process at a
# time, for SECONDS each (default 240), or until RUNS executions when -n is given (SECONDS is
# then the cap), with the seed corpus and the format's dictionary, and prints one table row
# per target from libFuzzer's closing lines ("seconds" is the run's own, from its last line).
# Logs: tests/fuzz/logs/.
# Exits 1 when a run found something (libFuzzer or the target exited non-zero: a crash, a
# failed check, a timeout, an out-of-memory, or a target that would not build or start).
# Usage: tests/fuzz/campaign.sh [-t SECONDS] [-n RUNS] [TARGET...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
secs=240
runs=
while [ $# -gt 0 ]; do
    case $1 in
        -t) secs=$2; shift 2 ;;
        -n) runs=$2; shift 2 ;;
        *) break ;;
    esac
done
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cd "$repo" && cargo fuzz list --fuzz-dir tests/fuzz)
fi
dict_for() {
    case $1 in
        crl|ocsp_*|timestamp|certificate|distinguished_name|envelope_cose) echo der.dict ;;
        www_authenticate) echo www_authenticate.dict ;;
        cri_wire) echo cri_wire.dict ;;
        unix_authority) echo http2.dict ;;
        manifest|referrers_index|token_response|bindir_descriptor|revocation_bundle|payload|trust_policy|envelope_jws|docker_config) echo json.dict ;;
    esac
}
mkdir -p "$here/logs"
status=0
printf '| target | seconds | execs | exec/s | cov | ft | corpus | findings |\n|---|---|---|---|---|---|---|---|\n'
for t in "${targets[@]}"; do
    mkdir -p "$here/corpus/$t" "$here/artifacts/$t"
    d=$(dict_for "$t")
    args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1)
    [ -n "$d" ] && args+=(-dict="$here/dict/$d")
    [ -n "$runs" ] && args+=(-runs="$runs")
    log=$here/logs/$t.log
    (cd "$repo" && RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir tests/fuzz "$t" -- "${args[@]}") >"$log" 2>&1
    rc=$?
    last=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1)
    execs=$(grep -oP 'stat::number_of_executed_units: *\K[0-9]+' "$log" | tail -1)
    eps=$(grep -oP 'stat::average_exec_per_sec: *\K[0-9]+' "$log" | tail -1)
    took=$(grep -oP '^Done [0-9]+ runs in \K[0-9]+(?= second)' "$log" | tail -1)
    cov=$(grep -oP 'cov: \K[0-9]+' <<<"$last")
    ft=$(grep -oP 'ft: \K[0-9]+' <<<"$last")
    corp=$(ls "$here/corpus/$t" | wc -l)
    finding=none
    [ $rc -ne 0 ] && status=1 && finding="exit $rc: $(grep -m1 -E '^==[0-9]+==ERROR|panicked at|deadly signal|ALARM|out-of-memory' "$log" | cut -c1-120)"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$t" "${took:-$secs}" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "$corp" "$finding"
done
exit $status
