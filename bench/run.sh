#!/usr/bin/env bash
# Side-by-side benchmark: Portcullis against nginx, HAProxy and Caddy, configured identically (one HTTPS port,
# ECDSA P-256 certificate, TLS 1.2-1.3, ALPN h2 + http/1.1, keep-alive to the same local plaintext backend), with
# the load generators on the same machine. Prints a Markdown table of medians with ratios to the best peer.
#
# Usage: bench/run.sh [--quick] [--rounds N] [--duration S] [--only NAME[,NAME...]] [--steps STEP[,STEP...]]
#                     [--scale N] [--out FILE]
#   --quick      one short round (3 s per step) as a sanity check
#   --rounds N   rounds of alternating contenders (default 3)
#   --duration S seconds per load step (default 10)
#   --only       contenders among: direct,nginx,haproxy,caddy,portcullis (default: all)
#   --steps      load steps among: http (h2, h1, handshakes), grpc (unary, server streaming), ws (WebSocket echo)
#                (default: all)
#   --scale N    hosts (each with its own certificate) and routes of the Portcullis scale step (default 10000,
#                --quick 1000; 0 skips it)
#   --out FILE   also write the table to FILE
# Environment: PORTCULLIS_JAVA_OPTS (JVM flags) and PORTCULLIS_RUN_ARGS (extra `portcullis run` flags, such as
#   --transport EPOLL) change one lever of the Portcullis contender at a time.
# Needs root (or sudo) only to install missing Debian packages: nginx haproxy caddy nghttp2-client wrk openssl.
# The gRPC and WebSocket backends and load clients are bench/grpc (built here when missing). A step that fails for
# a contender (no result, or more than 1 % of its calls failed) shows as "failed" in the table; the run goes on.
# Every process it starts is stopped by PID on exit. Documented in docs/benchmarks.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
rounds=3; duration=10; only="direct,nginx,haproxy,caddy,portcullis"; out=""; quick=0; scale=10000
steps="http,grpc,ws"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; rounds=1; duration=3; scale=1000; shift ;;
    --rounds) rounds="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --scale) scale="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
has_step() { [[ ",$steps," == *",$1,"* ]]; }

# ---- tools ----
need=()
for pair in nginx:nginx haproxy:haproxy caddy:caddy h2load:nghttp2-client wrk:wrk openssl:openssl curl:curl; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "bench: installing ${need[*]}" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
jar="$root/portcullis-cli/target/portcullis.jar"
if [ ! -f "$jar" ] || [ ! -f "$root/bench/jmh/target/benchmarks.jar" ]; then
  echo "bench: building Portcullis" >&2
  (cd "$root" && ./mvnw -B -q package -DskipTests)
fi
streams_jar="$root/bench/grpc/target/bench-streams.jar"
if { has_step grpc || has_step ws; } && [ ! -f "$streams_jar" ]; then
  echo "bench: building bench/grpc" >&2
  (cd "$root" && ./mvnw -B -q -f bench/grpc/pom.xml package)
fi
# JVM flags of the gRPC/WebSocket backend and load clients (Netty's leak detector off, shaded or not, as
# bin/portcullis does).
bench_jvm=(-XX:+UseSerialGC -Xms64m -Xmn32m -Xmx256m -XX:+ExitOnOutOfMemoryError
  -Dio.netty.leakDetection.level=disabled -Dio.grpc.netty.shaded.io.netty.leakDetection.level=disabled)

source "$here/lib.sh"
bench_workdir portcullis-bench

# ---- certificate (ECDSA P-256, the same for everyone) ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,DNS:bench.example.com" -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
cat "$work/cert.pem" "$work/key.pem" > "$work/haproxy.pem"

# ---- backend: nginx, one worker, plaintext HTTP/1.1 keep-alive (and h2c for the direct baseline) ----
backend=$(free_port); backend_h2=$(free_port); backend_status=$(free_port)
cat > "$work/backend.conf" <<EOF
worker_processes 1;
pid $work/backend.pid;
error_log $work/backend.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
  server { listen 127.0.0.1:$backend; location / { return 200 "hello from the backend\n"; } }
  server { listen 127.0.0.1:$backend_h2 http2; location / { return 200 "hello from the backend\n"; } }
  server { listen 127.0.0.1:$backend_status; location / { stub_status; } }
}
EOF
nginx -c "$work/backend.conf" -g 'daemon off;' & pids+=($!)
wait_port "$backend" 10
# Requests the backend has answered so far (stub_status; the query itself counts as one).
backend_requests() { curl -s "http://127.0.0.1:$backend_status/" | awk 'NR==3 {print $3}' || echo 0; }

# ---- gRPC and WebSocket backends (bench/grpc): h2c gRPC echo/stream and a WebSocket echo, one JVM ----
grpc_backend=$(free_port); ws_backend=$(free_port)
if has_step grpc || has_step ws; then
  java "${bench_jvm[@]}" -jar "$streams_jar" backend --grpc-port "$grpc_backend" --ws-port "$ws_backend" \
    >"$work/streams-backend.log" 2>&1 & pids+=($!)
  wait_port "$grpc_backend" 20; wait_port "$ws_backend" 20
fi
# The gRPC and WebSocket load client: one JVM for the whole run (bench-streams.jar serve), so that its JIT is as
# warm for the last contender as for the first; commands go in through one FIFO, "RESULT ..." and "DONE" lines
# come back through another. load_run CMD OPTIONS... sets load_result to the RESULT line (empty when none came).
loader_pid=""; load_result=""
loader_start() {
  rm -f "$work/loader.in" "$work/loader.out"; mkfifo "$work/loader.in" "$work/loader.out"
  java "${bench_jvm[@]}" -jar "$streams_jar" serve <"$work/loader.in" >"$work/loader.out" 2>>"$work/loader.err" &
  loader_pid=$!; pids+=($loader_pid)
  exec 7>"$work/loader.in" 8<"$work/loader.out" # (re)opening them closes the previous loader's
}
load_run() {
  local line
  load_result=""
  kill -0 "$loader_pid" 2>/dev/null || { echo "bench: the load client had exited; restarting it" >&2; loader_start; }
  echo "$*" >&7
  while IFS= read -r -t $((duration + 90)) line <&8; do
    case "$line" in
      RESULT\ *) load_result="$line" ;;
      DONE) return 0 ;;
    esac
  done
  echo "bench: the load client gave no answer to: $1; restarting it" >&2
  kill "$loader_pid" 2>/dev/null || true
  loader_start
}
if has_step grpc || has_step ws; then loader_start; fi

# ---- contenders ----
declare -A port pid gport wport
start_nginx() {
  port[nginx]=$(free_port); gport[nginx]=$(free_port); wport[nginx]=$(free_port)
  cat > "$work/nginx.conf" <<EOF
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx.err warn;
events { worker_connections 8192; }
http {
  access_log off;
  upstream backend { server 127.0.0.1:$backend; keepalive 128; }
  server {
    listen 127.0.0.1:${port[nginx]} ssl http2;
    ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache shared:SSL:10m; ssl_session_tickets on;
    keepalive_requests 10000000;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
  upstream grpc_backend { server 127.0.0.1:$grpc_backend; keepalive 128; keepalive_requests 10000000; }
  server {
    listen 127.0.0.1:${gport[nginx]} ssl http2;
    ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache shared:SSL:10m; ssl_session_tickets on;
    keepalive_requests 10000000;
    location / { grpc_pass grpc://grpc_backend; }
  }
  server {
    listen 127.0.0.1:${wport[nginx]} ssl http2;
    ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache shared:SSL:10m; ssl_session_tickets on;
    location / {
      proxy_pass http://127.0.0.1:$ws_backend; proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade; proxy_set_header Connection "upgrade"; proxy_read_timeout 1h;
    }
  }
}
EOF
  nginx -c "$work/nginx.conf" -g 'daemon off;' & pid[nginx]=$!; pids+=(${pid[nginx]})
  wait_port "${port[nginx]}" 10
}
start_haproxy() {
  port[haproxy]=$(free_port); gport[haproxy]=$(free_port); wport[haproxy]=$(free_port)
  cat > "$work/haproxy.cfg" <<EOF
global
  nbthread 2
  maxconn 8000
  ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend fe
  bind 127.0.0.1:${port[haproxy]} ssl crt $work/haproxy.pem alpn h2,http/1.1
  default_backend be
backend be
  http-reuse always
  server s1 127.0.0.1:$backend
frontend fe_grpc
  bind 127.0.0.1:${gport[haproxy]} ssl crt $work/haproxy.pem alpn h2,http/1.1
  default_backend be_grpc
backend be_grpc
  http-reuse always
  server g1 127.0.0.1:$grpc_backend proto h2
frontend fe_ws
  bind 127.0.0.1:${wport[haproxy]} ssl crt $work/haproxy.pem alpn h2,http/1.1
  default_backend be_ws
backend be_ws
  timeout tunnel 1h
  server w1 127.0.0.1:$ws_backend
EOF
  haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 & pid[haproxy]=$!; pids+=(${pid[haproxy]})
  wait_port "${port[haproxy]}" 10
}
start_caddy() {
  port[caddy]=$(free_port); gport[caddy]=$(free_port); wport[caddy]=$(free_port)
  cat > "$work/Caddyfile" <<EOF
{
  admin off
  auto_https off
  skip_install_trust
  default_sni localhost
}
https://localhost:${port[caddy]}, https://127.0.0.1:${port[caddy]} {
  tls $work/cert.pem $work/key.pem
  reverse_proxy 127.0.0.1:$backend
}
https://localhost:${gport[caddy]}, https://127.0.0.1:${gport[caddy]} {
  tls $work/cert.pem $work/key.pem
  reverse_proxy h2c://127.0.0.1:$grpc_backend
}
https://localhost:${wport[caddy]}, https://127.0.0.1:${wport[caddy]} {
  tls $work/cert.pem $work/key.pem
  reverse_proxy 127.0.0.1:$ws_backend
}
EOF
  XDG_DATA_HOME="$work/caddy-data" XDG_CONFIG_HOME="$work/caddy-config" \
    caddy run --config "$work/Caddyfile" --adapter caddyfile >"$work/caddy.log" 2>&1 & pid[caddy]=$!
  pids+=(${pid[caddy]})
  wait_port "${port[caddy]}" 15
}
start_portcullis() {
  port[portcullis]=$(free_port); gport[portcullis]=$(free_port); wport[portcullis]=$(free_port)
  local admin; admin=$(free_port)
  mkdir -p "$work/pc"
  cat > "$work/pc/bench.yaml" <<EOF
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bench}
spec:
  servers:
  - port: {number: ${port[portcullis]}, name: https, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: bench-credential}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bench}
spec:
  hosts: ["*"]
  gateways: [bench]
  http:
  - route:
    - destination: {host: backend.default.svc.cluster.local, port: {number: 80}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: backend}
spec:
  hosts: [backend.default.svc.cluster.local]
  ports: [{number: 80, name: http, protocol: HTTP, targetPort: $backend}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
---
apiVersion: v1
kind: Secret
metadata: {name: bench-credential, namespace: istio-system}
data:
  tls.crt: $(base64 -w0 "$work/cert.pem")
  tls.key: $(base64 -w0 "$work/key.pem")
EOF
  # gRPC and WebSocket: a Gateway each on its own port, routed to a ServiceEntry for its bench/grpc backend
  # (protocol GRPC: HTTP/2 to the backend).
  cat > "$work/pc/streams.yaml" <<EOF
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bench-grpc}
spec:
  servers:
  - port: {number: ${gport[portcullis]}, name: https-grpc, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: bench-credential}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bench-grpc}
spec:
  hosts: ["*"]
  gateways: [bench-grpc]
  http:
  - route:
    - destination: {host: grpc-backend.default.svc.cluster.local, port: {number: 80}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: grpc-backend}
spec:
  hosts: [grpc-backend.default.svc.cluster.local]
  ports: [{number: 80, name: grpc, protocol: GRPC, targetPort: $grpc_backend}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bench-ws}
spec:
  servers:
  - port: {number: ${wport[portcullis]}, name: https-ws, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: bench-credential}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bench-ws}
spec:
  hosts: ["*"]
  gateways: [bench-ws]
  http:
  - route:
    - destination: {host: ws-backend.default.svc.cluster.local, port: {number: 80}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ws-backend}
spec:
  hosts: [ws-backend.default.svc.cluster.local]
  ports: [{number: 80, name: http, protocol: HTTP, targetPort: $ws_backend}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
EOF
  # shellcheck disable=SC2086 # PORTCULLIS_RUN_ARGS: extra flags, one lever at a time (e.g. --transport EPOLL)
  "$root/bin/portcullis" run --config "$work/pc" --bind 127.0.0.1 --admin "127.0.0.1:$admin" ${PORTCULLIS_RUN_ARGS:-} \
    >"$work/portcullis.log" 2>&1 & pid[portcullis]=$!; pids+=(${pid[portcullis]})
  local i=0
  until curl -sf "http://127.0.0.1:$admin/ready" >/dev/null 2>&1; do
    i=$((i+1)); [ $i -gt 300 ] && { echo "bench: portcullis not ready" >&2; cat "$work/portcullis.log" >&2; return 1; }
    sleep 0.1
  done
  # Allocation: the collector's log, turned on at run time (the JVM's flags stay as they are), read by alloc.py.
  if command -v jcmd >/dev/null 2>&1 && jcmd "${pid[portcullis]}" VM.log output="file=$work/portcullis-gc.log" \
      what=gc+heap=debug decorators=uptime >/dev/null 2>&1; then
    alloc_on=1
  else
    echo "bench: no jcmd for the Portcullis JVM: allocation per request not measured" >&2
  fi
}
alloc_on=0
# Heap allocated by the Portcullis JVM over a step: alloc_mark before it, alloc_record after it with the number of
# requests (or messages) the step carried; records "portcullis METRIC KB-per-request".
alloc_mark() {
  [ "$alloc_on" = 1 ] || return 0
  jcmd "${pid[portcullis]}" GC.heap_info >"$work/heap-before.txt" 2>/dev/null \
    && python3 "$here/alloc.py" mark "$work/portcullis-gc.log" "$work/heap-before.txt" || true
}
alloc_record() { # metric mark count
  [ -n "$2" ] && [ "${3:-0}" -gt 0 ] 2>/dev/null || return 0
  jcmd "${pid[portcullis]}" GC.heap_info >"$work/heap-after.txt" 2>/dev/null || return 0
  local kb; kb=$(python3 "$here/alloc.py" since "$work/portcullis-gc.log" "$2" "$work/heap-after.txt") || return 0
  echo "portcullis $1 $(python3 -c 'import sys; print(round(int(sys.argv[1]) / int(sys.argv[2]), 2))' "$kb" "$3")" \
    >> "$results"
}

# ---- load steps; each prints "key=value" lines ----
results="$work/results.txt"
step_h2() { # name url
  local o; o=$(timeout $((duration + 30)) h2load -c32 -m10 -t1 -D "$duration" --warm-up-time 1 "$2" 2>&1 || true)
  echo "$o" > "$work/last-h2load.txt"
  local rps fail mean max
  rps=$(echo "$o" | sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p')
  fail=$(echo "$o" | sed -n 's/^requests: .* \([0-9]*\) failed, \([0-9]*\) errored.*/\1 \2/p' | awk '{print $1+$2}')
  mean=$(echo "$o" | awk '/^time for request:/ {print $6}')
  max=$(echo "$o" | awk '/^time for request:/ {print $5}')
  echo "$1 h2_rps ${rps:-0}" >> "$results"
  echo "$1 h2_fail ${fail:-0}" >> "$results"
  echo "$1 h2_mean_ms $(to_ms "${mean:-0}")" >> "$results"
  echo "$1 h2_max_ms $(to_ms "${max:-0}")" >> "$results"
}
step_h1() { # name url
  local o; o=$(timeout $((duration + 30)) wrk -t2 -c64 -d"${duration}s" --latency "$2" 2>&1 || true)
  echo "$o" > "$work/last-wrk.txt"
  local rps p50 p99 err
  rps=$(echo "$o" | awk '/^Requests\/sec:/ {print $2}')
  p50=$(echo "$o" | awk '$1=="50%" {print $2}')
  p99=$(echo "$o" | awk '$1=="99%" {print $2}')
  err=$(echo "$o" | awk '/Socket errors:/ {gsub(",",""); print $4+$6+$8+$10} /Non-2xx/ {print $NF}' | paste -sd+ | bc 2>/dev/null || echo 0)
  echo "$1 h1_rps ${rps:-0}" >> "$results"
  echo "$1 h1_p50_ms $(to_ms "${p50:-0}")" >> "$results"
  echo "$1 h1_p99_ms $(to_ms "${p99:-0}")" >> "$results"
  echo "$1 h1_errors ${err:-0}" >> "$results"
}
step_handshakes() { # name port pid
  local mode
  for mode in new reuse; do
    local before after o n
    before=$(cpu_ticks "$3")
    o=$(timeout $((duration + 20)) openssl s_time -connect "127.0.0.1:$2" -"$mode" -time "$duration" 2>&1 || true)
    after=$(cpu_ticks "$3")
    n=$(echo "$o" | sed -n 's/^\([0-9]*\) connections in [0-9.]* real seconds.*/\1/p' | head -1)
    if [ -n "$n" ] && [ "$n" -gt 0 ]; then
      echo "$1 hs_${mode}_us $(( (after - before) * 1000000 / hz / n ))" >> "$results"
      echo "$1 hs_${mode}_count $n" >> "$results"
    fi
  done
}
# gRPC and WebSocket steps: bench/grpc's load client prints one "RESULT key=value ..." line. A step fails (its
# cells read "failed", its first error is noted under the table) when there is no result or more than 1 % of the
# calls failed. Each sets "last_total" to the calls (messages for streams) it carried, for the allocation figure.
result_value() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }
client_warmup=$(( quick == 1 ? 2 : 3 ))
step_grpc() { # name mode(unary|stream) host:port tls(0|1)
  local tls=(); [ "$4" = 1 ] && tls=(--tls-ca "$work/cert.pem")
  local shape=(--connections 16 --calls 8); [ "$2" = stream ] && shape=(--connections 8 --calls 4 --messages 100)
  local line ok errors key
  load_run grpc-load --target "$3" "${tls[@]}" --mode "$2" "${shape[@]}" --size 64 --warmup "$client_warmup" \
    --duration "$duration"
  line="$load_result"
  echo "$line" > "$work/last-grpc-$1-$2.txt"
  ok=$(result_value "$line" calls); errors=$(result_value "$line" errors)
  key=$([ "$2" = stream ] && echo grpc_stream_msgs || echo grpc_unary_rps)
  last_total=0
  if [ -z "$line" ] || [ "${ok:-0}" = 0 ] || [ "${errors:-0}" -gt $(( ${ok:-0} / 100 )) ]; then
    echo "$1 $key failed" >> "$results"
    echo "$1 grpc_${2}_p99_ms failed" >> "$results"
    echo "$1 note_grpc_$2 $(result_value "$line" error | grep . || echo no_result)" >> "$results"
    return 0
  fi
  echo "$1 $key $(result_value "$line" msgs_per_s)" >> "$results"
  echo "$1 grpc_${2}_p99_ms $(result_value "$line" p99_ms)" >> "$results"
  echo "$1 grpc_${2}_errors $errors" >> "$results"
  echo "$1 grpc_${2}_client_cpu $(result_value "$line" client_cpu_pct)" >> "$results"
  last_total=$(result_value "$line" "$([ "$2" = stream ] && echo total_msgs || echo total_calls)")
}
step_ws() { # name host:port tls(0|1)
  local tls=(); [ "$3" = 1 ] && tls=(--tls-ca "$work/cert.pem")
  local line n errors
  load_run ws-load --target "$2" "${tls[@]}" --connections 64 --size 64 --warmup "$client_warmup" \
    --duration "$duration"
  line="$load_result"
  echo "$line" > "$work/last-ws-$1.txt"
  n=$(result_value "$line" msgs); errors=$(result_value "$line" errors)
  last_total=0
  if [ -z "$line" ] || [ "${n:-0}" = 0 ] || [ "${errors:-0}" -gt 0 ]; then
    echo "$1 ws_msgs failed" >> "$results"
    echo "$1 ws_p99_ms failed" >> "$results"
    echo "$1 note_ws $(result_value "$line" error | grep . || echo no_result)" >> "$results"
    return 0
  fi
  echo "$1 ws_msgs $(result_value "$line" msgs_per_s)" >> "$results"
  echo "$1 ws_p99_ms $(result_value "$line" p99_ms)" >> "$results"
  echo "$1 ws_errors $errors" >> "$results"
  echo "$1 ws_client_cpu $(result_value "$line" client_cpu_pct)" >> "$results"
  last_total=$(result_value "$line" total_msgs)
}
to_ms() { # "1.23ms" | "456us" | "1.2s" -> milliseconds
  python3 -c 'import re,sys
v=sys.argv[1]; m=re.match(r"([0-9.]+)(us|ms|s)?$", v)
print(0 if not m else round(float(m.group(1)) * {"us":0.001,"ms":1,"s":1000,None:1}[m.group(2)], 3))' "$1"
}

contenders=(${only//,/ })
for c in "${contenders[@]}"; do
  [ "$c" = direct ] && continue
  echo "bench: starting $c" >&2
  "start_$c"
done
url() { if [ "$1" = direct ]; then echo "http://127.0.0.1:$2/"; else echo "https://localhost:${port[$1]}/"; fi; }

# Warm-up: every contender (and the JIT) sees load before anything is measured.
w=$(( quick == 1 ? 5 : 20 ))
if has_step grpc || has_step ws; then
  # The bench/grpc backend is a JVM too: 5 s (15 s) of each of its loads, straight to it, before anything else.
  echo "bench: warming up the gRPC/WebSocket backend" >&2
  bw=$(( quick == 1 ? 5 : 15 ))
  for mode in unary stream; do
    load_run grpc-load --target "127.0.0.1:$grpc_backend" --mode "$mode" --warmup 0 --duration "$bw"
  done
  load_run ws-load --target "127.0.0.1:$ws_backend" --connections 64 --warmup 0 --duration "$bw"
fi
for c in "${contenders[@]}"; do
  [ "$c" = direct ] && continue
  echo "bench: warming up $c" >&2
  if has_step http; then
    # A fresh JVM needs about 15 s of load before C2 has compiled the hot path (h2 goes 11k -> 25k -> 41k req/s
    # over its first three 5 s runs), so the warm-up is 20 s of h2 and 10 s of h1 for everyone.
    timeout 60 h2load -c32 -m10 -t1 -D "$w" "$(url "$c")" >/dev/null 2>&1 || true
    timeout 60 wrk -t2 -c64 -d"$(( w / 2 ))s" "$(url "$c")" >/dev/null 2>&1 || true
    timeout 30 openssl s_time -connect "127.0.0.1:${port[$c]}" -new -time 2 >/dev/null 2>&1 || true
  fi
  # gRPC unary and streaming a quarter as long each, WebSocket half as long.
  if has_step grpc; then
    for mode in unary stream; do
      load_run grpc-load --target "127.0.0.1:${gport[$c]}" --tls-ca "$work/cert.pem" --mode "$mode" --warmup 0 \
        --duration "$(( w / 4 ))"
    done
  fi
  if has_step ws; then
    load_run ws-load --target "127.0.0.1:${wport[$c]}" --tls-ca "$work/cert.pem" --connections 64 --warmup 0 \
      --duration "$(( w / 2 ))"
  fi
done

for r in $(seq 1 "$rounds"); do
  for c in "${contenders[@]}"; do
    echo "bench: round $r: $c" >&2
    if [ "$c" = direct ]; then
      if has_step http; then
        step_h2 direct "http://127.0.0.1:$backend_h2/"
        step_h1 direct "http://127.0.0.1:$backend/"
      fi
      if has_step grpc; then
        step_grpc direct unary "127.0.0.1:$grpc_backend" 0
        step_grpc direct stream "127.0.0.1:$grpc_backend" 0
      fi
      has_step ws && step_ws direct "127.0.0.1:$ws_backend" 0
      continue
    fi
    # Portcullis: heap allocated per request (alloc_mark/alloc_record), requests counted at the backend.
    if has_step http; then
      m=""; [ "$c" = portcullis ] && m=$(alloc_mark); r0=$(backend_requests)
      step_h2 "$c" "$(url "$c")"
      [ "$c" = portcullis ] && alloc_record h2_alloc_kb "$m" $(( $(backend_requests) - r0 - 1 ))
      m=""; [ "$c" = portcullis ] && m=$(alloc_mark); r0=$(backend_requests)
      step_h1 "$c" "$(url "$c")"
      [ "$c" = portcullis ] && alloc_record h1_alloc_kb "$m" $(( $(backend_requests) - r0 - 1 ))
      step_handshakes "$c" "${port[$c]}" "${pid[$c]}"
    fi
    if has_step grpc; then
      for mode in unary stream; do
        m=""; [ "$c" = portcullis ] && m=$(alloc_mark)
        step_grpc "$c" "$mode" "127.0.0.1:${gport[$c]}" 1
        [ "$c" = portcullis ] && alloc_record "grpc_${mode}_alloc_kb" "$m" "$last_total"
      done
    fi
    if has_step ws; then
      m=""; [ "$c" = portcullis ] && m=$(alloc_mark)
      step_ws "$c" "127.0.0.1:${wport[$c]}" 1
      [ "$c" = portcullis ] && alloc_record ws_alloc_kb "$m" "$last_total"
    fi
    echo "$c rss_peak_mb $(( $(mem_kb "${pid[$c]}" VmHWM) / 1024 ))" >> "$results"
  done
done
sleep 2
for c in "${contenders[@]}"; do
  [ "$c" = direct ] && continue
  echo "$c rss_steady_mb $(( $(mem_kb "${pid[$c]}" VmRSS) / 1024 ))" >> "$results"
done

# ---- scale: Portcullis alone, N hosts with N certificates on one port, then a reload carrying N routes ----
scale_results="$work/scale.txt"
if [ "$scale" -gt 0 ] && [[ ",$only," == *,portcullis,* ]]; then
  for c in "${contenders[@]}"; do [ "$c" = direct ] || { for k in $(pgrep -P "${pid[$c]}" 2>/dev/null); do kill "$k" 2>/dev/null || true; done; kill "${pid[$c]}" 2>/dev/null || true; }; done
  sleep 1
  sport=$(free_port); sadmin=$(free_port)
  echo "bench: scale: writing $scale hosts and certificates" >&2
  java -cp "$root/bench/jmh/target/benchmarks.jar" io.portcullis.bench.ScaleManifests "$work/scale" "$scale" "$sport" \
    "$backend" 2>>"$work/scale-gen.log"
  t0=$(date +%s%N)
  "$root/bin/portcullis" run --config "$work/scale" --bind 127.0.0.1 --admin "127.0.0.1:$sadmin" \
    >"$work/scale-portcullis.log" 2>&1 & spid=$!; pids+=($spid)
  i=0
  until curl -sf "http://127.0.0.1:$sadmin/ready" >/dev/null 2>&1; do
    i=$((i+1)); [ $i -gt 3000 ] && { echo "bench: scale: not ready after 300 s" >&2; break; }
    sleep 0.1
  done
  echo "startup_ms $(( ($(date +%s%N) - t0) / 1000000 ))" >> "$scale_results"
  echo "rss_after_start_mb $(( $(mem_kb "$spid" VmRSS) / 1024 ))" >> "$scale_results"
  # Handshakes with a random SNI each: the proxy's CPU per handshake (openssl's own start-up cost is the client's).
  hs=$(( quick == 1 ? 100 : 300 ))
  # Warm-up first: right after start the JIT and the collector are still busy, and their CPU would be counted.
  for k in $(seq 1 "$hs"); do
    echo | openssl s_client -connect "127.0.0.1:$sport" -servername "host-$(( (RANDOM * 32768 + RANDOM) % scale )).scale.test" >/dev/null 2>&1 || true
  done
  sleep 2
  # Proxy CPU per handshake with openssl s_client (which costs the proxy more per connection than s_time: compare
  # the two rows with each other, not with the table above): one fixed SNI, then a random one of the N hosts.
  before=$(cpu_ticks "$spid")
  for k in $(seq 1 "$hs"); do
    echo | openssl s_client -connect "127.0.0.1:$sport" -servername "host-0.scale.test" >/dev/null 2>&1 || true
  done
  echo "handshake_fixed_sni_us $(( ($(cpu_ticks "$spid") - before) * 1000000 / hz / hs ))" >> "$scale_results"
  before=$(cpu_ticks "$spid")
  ok=0
  for k in $(seq 1 "$hs"); do
    h="host-$(( (RANDOM * 32768 + RANDOM) % scale )).scale.test"
    echo | openssl s_client -connect "127.0.0.1:$sport" -servername "$h" 2>/dev/null | grep -q "CN = $h" && ok=$((ok+1))
  done
  echo "handshake_random_sni_us $(( ($(cpu_ticks "$spid") - before) * 1000000 / hz / hs ))" >> "$scale_results"
  echo "handshake_random_sni_right_certificate $ok/$hs" >> "$scale_results"
  # Reload carrying N routes for host-0 while wrk keeps sending requests to it.
  applied_before=$(grep -c "applied in" "$work/scale-portcullis.log" || true)
  wrk_s=$(( quick == 1 ? 6 : 15 ))
  timeout $((wrk_s + 30)) wrk -t2 -c32 -d"${wrk_s}s" -H "Host: host-0.scale.test" "https://127.0.0.1:$sport/" \
    > "$work/scale-wrk.txt" 2>&1 & wpid=$!; pids+=($wpid)
  sleep 2
  java -cp "$root/bench/jmh/target/benchmarks.jar" io.portcullis.bench.ScaleManifests "$work/scale" "$scale" "$sport" \
    "$backend" --routes-only
  wait "$wpid" || true
  i=0 # the reload may outlast the load: wait for it (at most 120 s)
  until [ "$(grep -c "applied in" "$work/scale-portcullis.log" || true)" -gt "$applied_before" ] || [ $i -gt 1200 ]; do
    i=$((i+1)); sleep 0.1
  done
  applied=$(grep "applied in" "$work/scale-portcullis.log" | sed -n "$((applied_before + 1))p" | sed -n 's/.*applied in \([0-9]*\) ms.*/\1/p')
  echo "reload_${scale}_routes_apply_ms ${applied:-not_applied_in_120_s}" >> "$scale_results"
  grep "applied in" "$work/scale-portcullis.log" | sed -n "$((applied_before + 1))p" | sed 's/.*(\(translate[^)]*\)).*/reload_phases \1/; s/ /_/g; s/^reload_phases_/reload_phases /' >> "$scale_results"
  echo "reload_requests $(awk '/requests in/ {print $1}' "$work/scale-wrk.txt")" >> "$scale_results"
  echo "reload_failed_requests $(awk '/Socket errors:/ {gsub(",",""); s+=$4+$6+$8+$10} /Non-2xx/ {s+=$NF} END {print s+0}' "$work/scale-wrk.txt")" >> "$scale_results"
  echo "rss_after_reload_mb $(( $(mem_kb "$spid" VmRSS) / 1024 ))" >> "$scale_results"
  echo "peak_rss_mb $(( $(mem_kb "$spid" VmHWM) / 1024 ))" >> "$scale_results"
fi

python3 "$here/table.py" "$results" "$rounds" "$duration" | tee ${out:+"$out"}
if [ -s "$scale_results" ]; then
  { echo; echo "Scale step (Portcullis, $scale hosts with $scale certificates on one port; reload with $scale routes):"
    echo; echo "| measure | value |"; echo "|---|---|"
    awk '{print "| " $1 " | " $2 " |"}' "$scale_results"; } | tee ${out:+-a "$out"}
fi
