#!/usr/bin/env bash
# ACME issuance benchmark. HTTP-01: Portcullis against Caddy, both issuing from the same local Pebble (Debian's
# pebble, with pebble-challtestsrv resolving every name to 127.0.0.1). Measures, alternating the contenders:
#   1. time from process start to the first successful curl over a Pebble-issued certificate (one name), median;
#   2. N certificates at once (default 50): wall time from process start until every name is served, orders/s.
# DNS-01: Portcullis against lego (--dns rfc2136, RFC2136_SEQUENCE_INTERVAL=1), apex + wildcard of one zone, both
# writing TXT records by RFC 2136 (TSIG hmac-sha256) to the same BIND 9 that a second Pebble validates against:
#   3. time from process start to the certificate (lego: exit 0; Portcullis: x.<zone> served), median, alternating.
# Usage: bench/acme.sh [--runs N] [--many N] [--only http01|dns01] [--out FILE]
# Needs root (or sudo) only to install missing Debian packages: pebble caddy lego bind9 bind9-dnsutils curl openssl.
# Every process it starts is stopped by PID on exit. Documented in docs/benchmarks.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
runs=5; many=50; out=""; only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --many) many="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "bench/acme.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
need=()
for pair in pebble:pebble pebble-challtestsrv:pebble caddy:caddy curl:curl openssl:openssl lego:lego \
    /usr/sbin/named:bind9 dig:bind9-dnsutils; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $(printf '%s\n' "${need[@]}" | sort -u) >/dev/null
fi
[ -f "$root/portcullis-cli/target/portcullis.jar" ] || (cd "$root" && ./mvnw -B -q package -DskipTests)

work="$(mktemp -d /tmp/portcullis-acme-bench.XXXXXX)"
pids=()
cleanup() {
  [ -f "$work/pids" ] && pids+=($(cat "$work/pids"))
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  sleep 0.3
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { local i=0; until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
  i=$((i+1)); [ $i -gt 200 ] && { echo "bench/acme.sh: nothing listens on $1" >&2; return 1; }; sleep 0.05; done; }
now_ms() { date +%s%3N; }

# ---- Pebble ----
acme=$(free_port); mgmt=$(free_port); dns=$(free_port); dnsmgmt=$(free_port); http=$(free_port); https=$(free_port)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=pebble \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$work/pebble.key" -out "$work/pebble.crt" 2>/dev/null
cat > "$work/pebble.json" <<JSON
{"pebble": {"listenAddress": "127.0.0.1:$acme", "managementListenAddress": "127.0.0.1:$mgmt",
  "certificate": "$work/pebble.crt", "privateKey": "$work/pebble.key", "httpPort": $http, "tlsPort": $https,
  "ocspResponderURL": "", "externalAccountBindingRequired": false}}
JSON
pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" -dns01 "127.0.0.1:$dns" -http01 "" -https01 "" \
  -tlsalpn01 "" -management "127.0.0.1:$dnsmgmt" >"$work/challtestsrv.log" 2>&1 & pids+=($!)
PEBBLE_VA_NOSLEEP=1 pebble -config "$work/pebble.json" -dnsserver "127.0.0.1:$dns" >"$work/pebble.log" 2>&1 & pids+=($!)
wait_port "$acme"; wait_port "$mgmt"
curl -sS --fail --cacert "$work/pebble.crt" -o "$work/root.pem" "https://127.0.0.1:$mgmt/roots/0"
ca_bundle=$(base64 -w0 "$work/pebble.crt")

# ---- contenders: start_<name> DIR N (names host-0 .. host-N-1) ----
start_portcullis() {
  local dir=$1 n=$2 i admin; admin=$(free_port)
  mkdir -p "$dir/config"
  {
    cat <<YAML
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: pebble}
spec:
  acme:
    server: https://127.0.0.1:$acme/dir
    caBundle: $ca_bundle
    privateKeySecretRef: {name: pebble-account}
    solvers: [{http01: {}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: hello}
spec:
  hosts: ["*"]
  gateways: [bench]
  http: [{directResponse: {status: 200, body: {string: "hello\n"}}}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bench, annotations: {cert-manager.io/cluster-issuer: pebble}}
spec:
  servers:
  - port: {number: $http, name: http, protocol: HTTP}
    hosts: ["*"]
YAML
    for i in $(seq 0 $((n - 1))); do
      cat <<YAML
  - port: {number: $https, name: https-$i, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: host-$i}
    hosts: [host-$i.bench.test]
YAML
    done
  } > "$dir/config/all.yaml"
  "$root/bin/portcullis" run --config "$dir/config" --state "$dir/state" --bind 127.0.0.1 \
    --admin "127.0.0.1:$admin" >"$dir/log" 2>&1 & echo $!
}
start_caddy() {
  local dir=$1 n=$2 i
  mkdir -p "$dir"
  {
    cat <<CADDY
{
  admin off
  acme_ca https://127.0.0.1:$acme/dir
  acme_ca_root $work/pebble.crt
  http_port $http
  https_port $https
  skip_install_trust
  storage file_system $dir/storage
}
CADDY
    for i in $(seq 0 $((n - 1))); do
      printf 'host-%s.bench.test {\n  bind 127.0.0.1\n  respond "hello\\n"\n}\n' "$i"
    done
  } > "$dir/Caddyfile"
  XDG_DATA_HOME="$dir/data" XDG_CONFIG_HOME="$dir/config" caddy run --config "$dir/Caddyfile" \
    --adapter caddyfile >"$dir/log" 2>&1 & echo $!
}
served() { # name
  curl -s -o /dev/null --max-time 2 --resolve "$1:$https:127.0.0.1" --cacert "$work/root.pem" "https://$1:$https/"
}
# run NAME N: prints the ms from process start until all N names are served (or "timeout")
run() {
  local name=$1 n=$2 dir t0 pid i left
  dir=$(mktemp -d "$work/$name.XXXX")
  t0=$(now_ms)
  pid=$("start_$name" "$dir" "$n"); echo "$pid" >> "$work/pids" # run is a subshell: the file outlives it
  left=$(seq 0 $((n - 1)))
  while [ -n "$left" ]; do
    local next=""
    for i in $left; do served "host-$i.bench.test" || next="$next $i"; done
    left=$(echo $next)
    [ -z "$left" ] && break
    if [ $(( $(now_ms) - t0 )) -gt 120000 ]; then echo timeout; kill "$pid"; return; fi
    sleep 0.01
  done
  echo $(( $(now_ms) - t0 ))
  kill "$pid" 2>/dev/null || true
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

if [ "$only" != dns01 ]; then
declare -A one
for r in $(seq "$runs"); do
  for c in caddy portcullis; do
    ms=$(run "$c" 1); echo "bench/acme.sh: run $r $c: first curl after $ms ms" >&2
    [ "$ms" != timeout ] && one[$c]="${one[$c]:-} $ms"
  done
done
declare -A bulk
for c in caddy portcullis; do
  ms=$(run "$c" "$many"); echo "bench/acme.sh: $c: $many certificates served after $ms ms" >&2
  bulk[$c]=$ms
done
{
  echo "ACME issuance from one local Pebble (PEBBLE_VA_NOSLEEP=1), $runs alternating runs; $(date -u +%F)"
  echo
  echo "| measure | caddy | portcullis | portcullis / caddy |"
  echo "|---|---|---|---|"
  c1=$(echo ${one[caddy]:-} | tr ' ' '\n' | median); p1=$(echo ${one[portcullis]:-} | tr ' ' '\n' | median)
  echo "| start to first curl, one name (median ms) | $c1 | $p1 | $(awk -v a="$p1" -v b="$c1" 'BEGIN {if (b>0) printf "%.2f×", a/b; else print "-"}') |"
  echo "| runs (ms) | ${one[caddy]:-} | ${one[portcullis]:-} | |"
  cb=${bulk[caddy]}; pb=${bulk[portcullis]}
  echo "| $many certificates at once: start to all served (ms) | $cb | $pb | $(awk -v a="$pb" -v b="$cb" 'BEGIN {if (b>0 && a>0) printf "%.2f×", a/b; else print "-"}') |"
  echo "| orders/s | $(awk -v n="$many" -v t="$cb" 'BEGIN {if (t>0) printf "%.1f", n*1000/t; else print "-"}') | $(awk -v n="$many" -v t="$pb" 'BEGIN {if (t>0) printf "%.1f", n*1000/t; else print "-"}') | |"
} | tee ${out:+"$out"}
fi

# ---- DNS-01 over RFC 2136: BIND 9 + a second Pebble that validates against it ----
[ "$only" = http01 ] && exit 0
zone=bench.test
bind=$(free_port); acme2=$(free_port); mgmt2=$(free_port)
tsig=$(head -c 32 /dev/urandom | base64)
mkdir -p "$work/bind"
cat > "$work/bind/named.conf" <<CONF
key "bench-key" { algorithm hmac-sha256; secret "$tsig"; };
options { directory "$work/bind"; pid-file "$work/bind/named.pid"; session-keyfile "$work/bind/session.key";
  listen-on port $bind { 127.0.0.1; }; listen-on-v6 { none; }; recursion no; dnssec-validation no; notify no; };
controls { };
zone "$zone" { type primary; file "$zone.db"; allow-update { key "bench-key"; }; };
CONF
printf '$TTL 60\n@ IN SOA ns1.%s. hostmaster.%s. 1 60 60 600 60\n@ IN NS ns1.%s.\nns1 IN A 127.0.0.1\n' \
  "$zone" "$zone" "$zone" > "$work/bind/$zone.db"
/usr/sbin/named -g -4 -n 1 -c "$work/bind/named.conf" >"$work/bind/log" 2>&1 & pids+=($!)
for i in $(seq 100); do dig +short -p "$bind" @127.0.0.1 "$zone" SOA | grep -q hostmaster && break; sleep 0.1; done
cat > "$work/pebble2.json" <<JSON
{"pebble": {"listenAddress": "127.0.0.1:$acme2", "managementListenAddress": "127.0.0.1:$mgmt2",
  "certificate": "$work/pebble.crt", "privateKey": "$work/pebble.key", "httpPort": $http, "tlsPort": $https,
  "ocspResponderURL": "", "externalAccountBindingRequired": false}}
JSON
PEBBLE_VA_NOSLEEP=1 PEBBLE_AUTHZREUSE=0 pebble -config "$work/pebble2.json" -dnsserver "127.0.0.1:$bind" \
  >"$work/pebble2.log" 2>&1 & pids+=($!)
wait_port "$acme2"; wait_port "$mgmt2"
curl -sS --fail --cacert "$work/pebble.crt" -o "$work/root2.pem" "https://127.0.0.1:$mgmt2/roots/0"

# dns01_lego: ms from start to lego's exit 0 with the certificate written
dns01_lego() {
  local dir t0; dir=$(mktemp -d "$work/lego.XXXX"); t0=$(now_ms)
  if LEGO_CA_CERTIFICATES="$work/pebble.crt" RFC2136_NAMESERVER="127.0.0.1:$bind" RFC2136_TSIG_KEY=bench-key \
      RFC2136_TSIG_SECRET="$tsig" RFC2136_TSIG_ALGORITHM=hmac-sha256. RFC2136_SEQUENCE_INTERVAL=1 \
      RFC2136_POLLING_INTERVAL=1 RFC2136_PROPAGATION_TIMEOUT=60 \
      lego --server "https://127.0.0.1:$acme2/dir" --email ops@$zone --accept-tos --path "$dir" --dns rfc2136 \
      --dns.resolvers "127.0.0.1:$bind" --dns.disable-cp --domains "$zone" --domains "*.$zone" run \
      >"$dir/log" 2>&1 && [ -s "$dir/certificates/$zone.crt" ]; then
    echo $(( $(now_ms) - t0 ))
  else
    echo "bench/acme.sh: lego failed: $(tail -3 "$dir/log")" >&2; echo fail
  fi
}
# dns01_portcullis: ms from start until https://x.<zone> is served with the issued certificate
dns01_portcullis() {
  local dir t0 pid admin port ms=fail; dir=$(mktemp -d "$work/portcullis-dns.XXXX"); admin=$(free_port)
  port=$(free_port); mkdir -p "$dir/config"
  cat > "$dir/config/all.yaml" <<YAML
apiVersion: v1
kind: Secret
metadata: {name: tsig, namespace: istio-system}
stringData: {secret: "$tsig"}
---
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: pebble-dns}
spec:
  acme:
    server: https://127.0.0.1:$acme2/dir
    caBundle: $ca_bundle
    privateKeySecretRef: {name: pebble-account}
    solvers:
    - dns01:
        rfc2136: {nameserver: "127.0.0.1:$bind", tsigKeyName: bench-key, tsigAlgorithm: HMACSHA256,
                  tsigSecretSecretRef: {name: tsig, key: secret}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: wild, namespace: istio-system}
spec:
  secretName: wild
  dnsNames: [$zone, "*.$zone"]
  issuerRef: {name: pebble-dns, kind: ClusterIssuer}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bench}
spec:
  servers:
  - port: {number: $port, name: https, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: wild}
    hosts: [$zone, "*.$zone"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: hello}
spec:
  hosts: ["*"]
  gateways: [bench]
  http: [{directResponse: {status: 200, body: {string: "hello\n"}}}]
YAML
  t0=$(now_ms)
  "$root/bin/portcullis" run --config "$dir/config" --state "$dir/state" --bind 127.0.0.1 --admin "127.0.0.1:$admin" \
    --dns01-recursive-nameservers "127.0.0.1:$bind" --dns01-authoritative-port "$bind" >"$dir/log" 2>&1 &
  pid=$!; echo "$pid" >> "$work/pids"
  while [ $(( $(now_ms) - t0 )) -lt 60000 ]; do
    if curl -s -o /dev/null --max-time 2 --resolve "x.$zone:$port:127.0.0.1" --cacert "$work/root2.pem" \
        "https://x.$zone:$port/"; then ms=$(( $(now_ms) - t0 )); break; fi
    sleep 0.01
  done
  kill "$pid" 2>/dev/null || true
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  # The order alone, from the log: "issued by ... in N ms"
  order=$(grep -o 'stored as Secret istio-system/wild, revision 1, in [0-9]* ms' "$dir/log" | grep -o '[0-9]* ms' | cut -d' ' -f1)
  echo "$ms ${order:--}"
}
lego_ms=""; p_ms=""; p_order=""
for r in $(seq "$runs"); do
  ms=$(dns01_lego); echo "bench/acme.sh: dns01 run $r lego: $ms ms" >&2; [ "$ms" != fail ] && lego_ms="$lego_ms $ms"
  read -r ms order < <(dns01_portcullis)
  echo "bench/acme.sh: dns01 run $r portcullis: $ms ms (order $order ms)" >&2
  [ "$ms" != fail ] && p_ms="$p_ms $ms" && p_order="$p_order $order"
done
{
  echo
  echo "DNS-01 apex + wildcard over RFC 2136 to one BIND 9, one Pebble (PEBBLE_VA_NOSLEEP=1), $runs alternating runs; $(date -u +%F)"
  echo
  echo "| measure | lego | portcullis | portcullis / lego |"
  echo "|---|---|---|---|"
  l=$(echo $lego_ms | tr ' ' '\n' | median); p=$(echo $p_ms | tr ' ' '\n' | median)
  echo "| start to certificate (median ms; portcullis: x.$zone served) | $l | $p | $(awk -v a="$p" -v b="$l" 'BEGIN {if (b>0) printf "%.2f×", a/b; else print "-"}') |"
  echo "| runs (ms) | $lego_ms | $p_ms | |"
  echo "| portcullis: the order alone, from its log (median ms) | | $(echo $p_order | tr ' ' '\n' | median) | |"
} | tee ${out:+-a "$out"}
