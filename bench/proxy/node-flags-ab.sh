#!/bin/bash
# bench/proxy: two built sidecars with different Node/V8 flags measured AT THE SAME TIME (same
# upstream, one paced-free wrk -c25 each, both running concurrently), so other tenants' load hits
# both alike: CPU µs per request of each (utime+stime from /proc) per round, the ratio B/A, and
# VmRSS after load. For deciding launcher flags (apps/sidecar/src/main.ts shebang) on a noisy
# machine; the lab's interleaved runs (run.mjs) cannot separate a few % there.
# Usage: bench/proxy/node-flags-ab.sh "FLAGS_A" "FLAGS_B" [ROUNDS=4] [SECONDS=8]
#   e.g. bench/proxy/node-flags-ab.sh "--max-semi-space-size=2" "--max-semi-space-size=2 --v8-pool-size=1"
# Ports: upstream 27080, sidecars 27001 / 27002 (loopback). Needs wrk, curl, bc and the build.
set -euo pipefail
A="$1"; B="$2"; ROUNDS="${3:-4}"; SECS="${4:-8}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
SIDECAR="$ROOT/apps/sidecar/dist/main.js"
WORK="$(mktemp -d /tmp/node-flags-ab-XXXXXX)"
sed 's/18080/27080/' "$ROOT/bench/proxy/configs/bench.yaml" > "$WORK/bench.yaml"
node -e 'require("node:http").createServer((q, s) => s.end("hello world")).listen(27080, "127.0.0.1")' &
UP=$!
start() { node $1 "$SIDECAR" --config "$WORK" --outbound-port "$2" --inbound-port=-1 --admin-port=-1 --stats-port=-1 --access-log off --trace-sampling 1 --concurrency 1 --drain-seconds 0 > "$WORK/sidecar-$2.log" 2>&1 & echo $!; }
PA=$(start "$A" 27001); PB=$(start "$B" 27002)
trap 'kill $PA $PB $UP 2>/dev/null; rm -rf "$WORK"' EXIT
for p in 27001 27002; do for _ in $(seq 1 150); do curl -s -o /dev/null "http://127.0.0.1:$p/" && break; sleep 0.2; done; done
wrk -t1 -c25 -d3s http://127.0.0.1:27001/ > /dev/null & W=$!
wrk -t1 -c25 -d3s http://127.0.0.1:27002/ > /dev/null; wait "$W"
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)
echo "A: $A"; echo "B: $B"
for r in $(seq 1 "$ROUNDS"); do
  a0=$(cpu "$PA"); b0=$(cpu "$PB")
  wrk -t1 -c25 -d"${SECS}s" http://127.0.0.1:27001/ > "$WORK/a.txt" & WA=$!
  wrk -t1 -c25 -d"${SECS}s" http://127.0.0.1:27002/ > "$WORK/b.txt"; wait "$WA"
  a1=$(cpu "$PA"); b1=$(cpu "$PB")
  ra=$(awk '/requests in/ {print $1}' "$WORK/a.txt"); rb=$(awk '/requests in/ {print $1}' "$WORK/b.txt")
  ua=$(echo "($a1-$a0)*1000000/$TCK/$ra" | bc -l); ub=$(echo "($b1-$b0)*1000000/$TCK/$rb" | bc -l)
  printf "round %d: A %.1f µs/req (%d req)  B %.1f µs/req (%d req)  B/A %.3f\n" "$r" "$ua" "$ra" "$ub" "$rb" "$(echo "$ub/$ua" | bc -l)"
done
printf "VmRSS after load: A %s kB  B %s kB\n" "$(awk '/VmRSS/ {print $2}' "/proc/$PA/status")" "$(awk '/VmRSS/ {print $2}' "/proc/$PB/status")"
