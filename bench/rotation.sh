#!/usr/bin/env bash
# Rotation under load (issue 5, point 6): while h2load drives steady HTTP/2 traffic to three hosts of one HTTPS port,
# each host's credential Secret is replaced ROTATIONS times (write in place, rename into place, delete + create, in
# turn). Reports the pickup latency of new handshakes (median, max; bench/rotation.py) and h2load's failed requests,
# which must be 0: established connections keep their credential.
#
# Usage: bench/rotation.sh [--rotations N]   (default 10)
# Needs: java, openssl, h2load (nghttp2-client), python3, curl. Every process it starts is stopped by PID on exit.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
rotations=10
while [ $# -gt 0 ]; do
  case "$1" in
    --rotations) rotations="$2"; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "bench/rotation.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -f "$root/portcullis-cli/target/portcullis.jar" ] || (cd "$root" && ./mvnw -B -q package -DskipTests)

work="$(mktemp -d /tmp/portcullis-rotation.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

hosts=(a.example.com b.example.com c.example.com)
mkdir -p "$work/config" "$work/certs" "$work/state"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=Rotation CA" \
  -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
for h in "${hosts[@]}"; do
  for n in $(seq 0 "$rotations"); do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$h" -addext "subjectAltName=DNS:$h" \
      -keyout "$work/certs/$h.$n.key" -out "$work/certs/$h.csr" 2>/dev/null
    openssl x509 -req -in "$work/certs/$h.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial -days 2 \
      -copy_extensions copy -out "$work/certs/$h.$n.crt" 2>/dev/null
  done
done
port=$(free_port); admin=$(free_port)
servers=""
for h in "${hosts[@]}"; do
  n=${h%%.*}
  servers+="  - port: {number: $port, name: https-$n, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: $n-credential}
    hosts: [$h]
"
  python3 - "$work" "$h" "$n" <<'PY'
import sys
work, h, n = sys.argv[1:]
ind = lambda s: "".join("    " + l + "\n" for l in s.strip().splitlines())
crt = open(f"{work}/certs/{h}.0.crt").read(); key = open(f"{work}/certs/{h}.0.key").read()
open(f"{work}/config/secret-{n}.yaml", "w").write(
    f"apiVersion: v1\nkind: Secret\nmetadata: {{name: {n}-credential, namespace: istio-system}}\n"
    f"type: kubernetes.io/tls\nstringData:\n  tls.crt: |\n{ind(crt)}  tls.key: |\n{ind(key)}")
PY
done
cat > "$work/config/gateway.yaml" <<EOF2
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: rotation}
spec:
  servers:
$servers---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ok}
spec:
  hosts: ["*"]
  gateways: [rotation]
  http:
  - directResponse: {status: 200, body: {string: "ok"}}
EOF2
"$root/bin/portcullis" run --config "$work/config" --state "$work/state" --bind 127.0.0.1 \
  --admin "127.0.0.1:$admin" >"$work/portcullis.log" 2>&1 & pids+=($!)
i=0
until curl -sf "http://127.0.0.1:$admin/ready" >/dev/null 2>&1; do
  i=$((i+1)); [ $i -gt 300 ] && { echo "rotation: portcullis not ready" >&2; cat "$work/portcullis.log" >&2; exit 1; }
  sleep 0.1
done
duration=$(( rotations * 3 + 15 ))
for h in "${hosts[@]}"; do
  h2load -c8 -m10 -t1 -D "$duration" --connect-to="127.0.0.1:$port" "https://$h:$port/" \
    >"$work/h2load-$h.txt" 2>&1 & pids+=($!)
done
sleep 3
python3 "$here/rotation.py" "$work/config" "$port" "$(IFS=,; echo "${hosts[*]}")" "$work/certs" "$rotations" \
  | tee "$work/rotation.txt"
for p in "${pids[@]:1}"; do wait "$p" || true; done
echo
for h in "${hosts[@]}"; do
  echo "h2load $h: $(grep -E '^requests:' "$work/h2load-$h.txt")"
  echo "h2load $h: $(grep -E '^status codes:' "$work/h2load-$h.txt")"
done
failed=$(cat "$work"/h2load-*.txt | awk '/^requests:/ {f += $10 + $12} END {print f + 0}')
non2xx=$(cat "$work"/h2load-*.txt | awk '/^status codes:/ {n += $5 + $7 + $9} END {print n + 0}')
echo "failed+errored requests: $failed; non-2xx responses: $non2xx"
grep -c "applied in" "$work/portcullis.log" | sed 's/^/configurations applied: /'
