#!/usr/bin/env bash
# Upstream-side costs (issue 14 point 6), Portcullis against nginx on this machine, in one run:
#  A. TLS origination: plain HTTP/1.1 keep-alive from wrk (-t2 -c64) to a plain listener, proxied to one nginx
#     backend (1 worker) over plain HTTP/1.1 (/plain) or over TLS (/tls: ECDSA P-256, CN/SAN backend.internal, its
#     own CA, verified). Per contender x path: req/s, p99, and the proxy's CPU µs per request (utime+stime of its
#     process tree over the wrk window, from /proc), plus TLS-minus-plain CPU per request.
#  B. Outlier detection (Portcullis alone): three backends, one answering 503; /od has a DestinationRule
#     outlierDetection (consecutive5xxErrors 5, interval 1s, baseEjectionTime 30s, maxEjectionPercent 50), /nood
#     has none; h2load -n 30000 -c8 -m4 over h2c (prior knowledge) to the plain listener; then the same with
#     retries {attempts: 2, retryOn: 5xx} (separate routes and clusters, so their outlier state starts fresh).
# Prints Markdown tables of medians (A) and the single run of each (B) to stdout.
#
# Usage: bench/upstream.sh [--duration S] [--rounds N]
#   --duration S seconds per wrk run (default 10)
#   --rounds N   rounds of A, contenders alternating (default 3)
# Environment: PORTCULLIS_JAVA_OPTS (JVM flags, see bin/portcullis). Needs nginx wrk h2load openssl curl, and the
# jar portcullis-cli/target/portcullis.jar (not built here). Every process started is stopped by PID on exit.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
rounds=3; duration=10
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "bench/upstream.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
for t in nginx wrk h2load openssl curl python3; do
  command -v "$t" >/dev/null 2>&1 || { echo "bench/upstream.sh: $t is missing" >&2; exit 1; }
done
[ -f "$root/portcullis-cli/target/portcullis.jar" ] || { echo "bench/upstream.sh: build the jar first" >&2; exit 1; }

source "$here/lib.sh"
bench_workdir portcullis-upstream
stat_of() { curl -s "http://127.0.0.1:$admin/stats" | awk -v k="$1" 'index($0, k) {gsub(/[^0-9]/, "", $NF); print $NF; exit}'; }

# ---- certificates: a CA, and the backend's ECDSA P-256 certificate for backend.internal signed by it ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=bench upstream CA" \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=backend.internal" \
  -keyout "$work/backend.key" -out "$work/backend.csr" 2>/dev/null
printf 'subjectAltName=DNS:backend.internal\n' > "$work/san.ext"
openssl x509 -req -in "$work/backend.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 30 \
  -extfile "$work/san.ext" -out "$work/backend.pem" 2>/dev/null

# ---- backends: A's nginx (1 worker, plain and HTTPS), B's nginx (1 worker, two 200 servers and one 503) ----
bplain=$(free_port); btls=$(free_port); o1=$(free_port); o2=$(free_port); o3=$(free_port)
cat > "$work/backend.conf" <<EOF
worker_processes 1;
pid $work/backend.pid;
error_log $work/backend.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
  server { listen 127.0.0.1:$bplain; location / { return 200 "hello\n"; } }
  server {
    listen 127.0.0.1:$btls ssl;
    ssl_certificate $work/backend.pem; ssl_certificate_key $work/backend.key;
    ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache shared:SSL:10m; ssl_session_tickets on;
    location / { return 200 "hello\n"; }
  }
}
EOF
cat > "$work/od.conf" <<EOF
worker_processes 1;
pid $work/od.pid;
error_log $work/od.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
  server { listen 127.0.0.1:$o1; location / { return 200 "ok 1\n"; } }
  server { listen 127.0.0.1:$o2; location / { return 200 "ok 2\n"; } }
  server { listen 127.0.0.1:$o3; location / { return 503 "down\n"; } }
}
EOF
nginx -c "$work/backend.conf" -g 'daemon off;' & pids+=($!)
nginx -c "$work/od.conf" -g 'daemon off;' & pids+=($!)
wait_port "$bplain" 10; wait_port "$btls" 10; wait_port "$o3" 10

# ---- contenders ----
declare -A port pid
port[nginx]=$(free_port); port[portcullis]=$(free_port); admin=$(free_port)
cat > "$work/nginx.conf" <<EOF
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx.err warn;
events { worker_connections 8192; }
http {
  access_log off;
  upstream backend-plain { server 127.0.0.1:$bplain; keepalive 128; keepalive_requests 10000000; }
  upstream backend-tls { server 127.0.0.1:$btls; keepalive 128; keepalive_requests 10000000; }
  server {
    listen 127.0.0.1:${port[nginx]};
    keepalive_requests 10000000;
    proxy_http_version 1.1; proxy_set_header Connection "";
    location /plain { proxy_pass http://backend-plain; }
    location /tls {
      proxy_pass https://backend-tls;
      proxy_ssl_verify on; proxy_ssl_trusted_certificate $work/ca.pem; proxy_ssl_name backend.internal;
      proxy_ssl_server_name on; proxy_ssl_session_reuse on; proxy_ssl_protocols TLSv1.2 TLSv1.3;
    }
  }
}
EOF
nginx -c "$work/nginx.conf" -g 'daemon off;' & pid[nginx]=$!; pids+=(${pid[nginx]})

mkdir -p "$work/pc"
se() { # name host port-number endpoints-yaml
  printf -- '---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: %s}\nspec:\n  hosts: [%s]\n  ports: [{number: %s, name: http, protocol: HTTP}]\n  resolution: STATIC\n  endpoints: %s\n' \
    "$1" "$2" "$3" "$4"
}
od_eps="[{address: 127.0.0.1, ports: {http: $o1}}, {address: 127.0.0.1, ports: {http: $o2}}, {address: 127.0.0.1, ports: {http: $o3}}]"
od_dr() { # name host
  printf -- '---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: %s}\nspec:\n  host: %s\n  trafficPolicy:\n    outlierDetection: {consecutive5xxErrors: 5, interval: 1s, baseEjectionTime: 30s, maxEjectionPercent: 50}\n' "$1" "$2"
}
route() { # prefix host [retries]
  printf '  - match: [{uri: {prefix: %s}}]\n    route: [{destination: {host: %s, port: {number: 80}}}]\n' "$1" "$2"
  [ -z "${3:-}" ] || printf '    retries: {attempts: 2, retryOn: 5xx}\n'
}
{
  cat <<EOF
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: upstream}
spec:
  servers:
  - port: {number: ${port[portcullis]}, name: http, protocol: HTTP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: upstream}
spec:
  hosts: ["*"]
  gateways: [upstream]
  http:
EOF
  route /plain backend-plain.internal; route /tls backend-tls.internal
  route /od-retry od-retry.internal r; route /nood-retry nood-retry.internal r
  route /od od.internal; route /nood nood.internal
  se backend-plain backend-plain.internal 80 "[{address: 127.0.0.1, ports: {http: $bplain}}]"
  se backend-tls backend-tls.internal 80 "[{address: 127.0.0.1, ports: {http: $btls}}]"
  cat <<EOF
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: backend-tls}
spec:
  host: backend-tls.internal
  trafficPolicy:
    tls: {mode: SIMPLE, caCertificates: $work/ca.pem, sni: backend.internal}
EOF
  for h in od nood od-retry nood-retry; do se "$h" "$h.internal" 80 "$od_eps"; done
  od_dr od od.internal; od_dr od-retry od-retry.internal
} > "$work/pc/upstream.yaml"
"$root/bin/portcullis" run --config "$work/pc" --bind 127.0.0.1 --admin "127.0.0.1:$admin" \
  >"$work/portcullis.log" 2>&1 & pid[portcullis]=$!; pids+=(${pid[portcullis]})
i=0
until curl -sf "http://127.0.0.1:$admin/ready" >/dev/null 2>&1; do
  i=$((i+1)); [ $i -gt 300 ] && { echo "bench: portcullis not ready" >&2; cat "$work/portcullis.log" >&2; exit 1; }
  sleep 0.1
done
wait_port "${port[nginx]}" 10

# ---- check every path answers 200 on both contenders (B's /od* may answer 503: it is one of three) ----
for c in nginx portcullis; do
  for p in plain tls; do
    code=$(curl -s -o "$work/body.txt" -w '%{http_code}' "http://127.0.0.1:${port[$c]}/$p" || true)
    if [ "$code" != 200 ]; then
      echo "bench: $c /$p answered $code: $(cat "$work/body.txt")" >&2
      grep -iE 'error|warn|/tls' "$work/portcullis.log" "$work/nginx.err" >&2 || true
      exit 1
    fi
  done
done
echo "bench: /plain and /tls answer 200 on nginx and portcullis" >&2

# ---- A: TLS origination ----
results="$work/results.txt"; : > "$results"
step_wrk() { # contender path
  local before after o rps p99 n err
  before=$(cpu_ticks "${pid[$1]}")
  o=$(timeout $((duration + 30)) wrk -t2 -c64 -d"${duration}s" --latency "http://127.0.0.1:${port[$1]}/$2" 2>&1 || true)
  after=$(cpu_ticks "${pid[$1]}")
  echo "$o" > "$work/last-wrk-$1-$2.txt"
  rps=$(echo "$o" | awk '/^Requests\/sec:/ {print $2}')
  p99=$(echo "$o" | awk '$1=="99%" {print $2}')
  n=$(echo "$o" | awk '/requests in/ {print $1}')
  err=$(echo "$o" | awk '/Socket errors:/ {gsub(",",""); s+=$4+$6+$8+$10} /Non-2xx/ {s+=$NF} END {print s+0}')
  echo "$1 $2 rps ${rps:-0}" >> "$results"
  echo "$1 $2 p99 $(to_ms "${p99:-0}")" >> "$results"
  echo "$1 $2 errors ${err:-0}" >> "$results"
  [ "${err:-0}" = 0 ] || echo "bench: $1 /$2: $(echo "$o" | grep -E 'Socket errors|Non-2xx' | tr -s ' ' | paste -sd';')" >&2
  [ "${n:-0}" -gt 0 ] && echo "$1 $2 cpu_us $(python3 -c "print(round(($after - $before) * 1e6 / $hz / $n, 1))")" >> "$results"
  return 0
}
to_ms() { # "1.23ms" | "456us" | "1.2s" -> milliseconds
  python3 -c 'import re,sys
v=sys.argv[1]; m=re.match(r"([0-9.]+)(us|ms|s)?$", v)
print(0 if not m else round(float(m.group(1)) * {"us":0.001,"ms":1,"s":1000,None:1}[m.group(2)], 3))' "$1"
}
echo "bench: warming up (portcullis 10 s per path, nginx 2 s per path)" >&2
for p in plain tls; do
  timeout 40 wrk -t2 -c64 -d10s "http://127.0.0.1:${port[portcullis]}/$p" >/dev/null 2>&1 || true
  timeout 40 wrk -t2 -c64 -d2s "http://127.0.0.1:${port[nginx]}/$p" >/dev/null 2>&1 || true
done
load_avg=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$rounds"); do
  for c in nginx portcullis; do
    for p in plain tls; do
      echo "bench: round $r: $c /$p" >&2
      step_wrk "$c" "$p"
    done
  done
done
load_avg_a=$(cut -d' ' -f1-3 /proc/loadavg)
ssl_hs=$(stat_of "upstream_ssl.handshake:"); ssl_reused=$(stat_of "upstream_ssl.session_reused:")

# ---- B: outlier detection, Portcullis alone, h2load over h2c (prior knowledge) ----
b_results="$work/b.txt"; : > "$b_results"
for p in od nood od-retry nood-retry; do
  echo "bench: B: /$p" >&2
  o=$(timeout 120 h2load -n 30000 -c8 -m4 "http://127.0.0.1:${port[portcullis]}/$p" 2>&1 || true)
  echo "$o" > "$work/h2load-$p.txt"
  total=$(echo "$o" | sed -n 's/^requests: \([0-9]*\) total.*/\1/p')
  done_=$(echo "$o" | sed -n 's/^requests: .* \([0-9]*\) done.*/\1/p')
  s2=$(echo "$o" | sed -n 's/^status codes: \([0-9]*\) 2xx.*/\1/p')
  s5=$(echo "$o" | sed -n 's/.* \([0-9]*\) 5xx.*/\1/p')
  proto=$(echo "$o" | sed -n 's/^Application protocol: //p')
  ej=$(stat_of "cluster.outbound|80||$p.internal.outlier_detection.ejections_enforced_total")
  echo "$p ${total:-0} ${done_:-0} ${s2:-0} ${s5:-0} ${proto:-none} ${ej:--}" >> "$b_results"
done
load_avg_b=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- tables (the per-round values go to stderr) ----
sed 's/^/bench: round value: /' "$results" >&2
python3 - "$results" "$rounds" "$duration" <<'EOF'
import statistics, sys
from collections import defaultdict
v = defaultdict(list)
for line in open(sys.argv[1]):
    c, p, m, x = line.split()
    v[(c, p, m)].append(float(x))
med = lambda k: statistics.median(v[k]) if v[k] else None
fmt = lambda x, d=0: "–" if x is None else f"{x:,.{d}f}"
print(f"A. Upstream TLS origination: wrk -t2 -c64, {sys.argv[3]} s, HTTP/1.1 keep-alive to a plain listener; "
      f"medians of {sys.argv[2]} rounds\n")
print("| contender | path | req/s | p99 ms | proxy CPU µs / req | errors (sum) |")
print("|---|---|---|---|---|---|")
for c in ("nginx", "portcullis"):
    for p in ("plain", "tls"):
        print(f"| {c} | /{p} | {fmt(med((c, p, 'rps')))} | {fmt(med((c, p, 'p99')), 2)} | "
              f"{fmt(med((c, p, 'cpu_us')), 1)} | {int(sum(v[(c, p, 'errors')]))} |")
print("\n| contender | TLS − plain CPU µs / req (median of per-round differences) | tls / plain CPU | tls / plain req/s |")
print("|---|---|---|---|")
for c in ("nginx", "portcullis"):
    t, pl = v[(c, "tls", "cpu_us")], v[(c, "plain", "cpu_us")]
    d = statistics.median([a - b for a, b in zip(t, pl)]) if t and pl else None
    rc = med((c, "tls", "cpu_us")) / med((c, "plain", "cpu_us")) if t and pl else None
    rr = med((c, "tls", "rps")) / med((c, "plain", "rps")) if v[(c, "plain", "rps")] and med((c, "plain", "rps")) else None
    print(f"| {c} | {fmt(d, 1)} | {fmt(rc, 2)}× | {fmt(rr, 2)}× |")
EOF
echo
echo "Portcullis upstream TLS over the whole of A (warm-up included): ${ssl_hs:-?} handshakes, ${ssl_reused:-?} resumed."
echo
echo "B. Outlier detection (Portcullis; backends: two answer 200, one 503): h2load -n 30000 -c8 -m4 over h2c"
echo
echo "| route | DestinationRule outlierDetection | retries | requests | done | 2xx | 5xx | % failed | ejections | h2load protocol |"
echo "|---|---|---|---|---|---|---|---|---|---|"
while read -r p total done_ s2 s5 proto ej; do
  odr=$([[ $p == od* ]] && echo yes || echo no); rt=$([[ $p == *-retry ]] && echo "2 on 5xx" || echo "default")
  pct=$(python3 -c "print(round(100 * ($total - $s2) / $total, 3) if $total else '–')")
  echo "| /$p | $odr | $rt | $total | $done_ | $s2 | $s5 | $pct | $ej | $proto |"
done < "$b_results"
echo
echo "Load average (1/5/15 min): after warm-up $load_avg; after A $load_avg_a; after B $load_avg_b."
