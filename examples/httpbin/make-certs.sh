#!/usr/bin/env bash
# Makes a root CA -> intermediate CA -> server and client certificates for HOST with openssl, in the folders the
# Istio SDS walkthrough uses (1_root 2_intermediate 3_application 4_client), and writes the Secret manifest the
# Gateway's credentialName names.
#
# Usage: make-certs.sh [--host HOST] [--secret NAME] [--namespace NS] [--out DIR] [--manifest FILE]
# Defaults: httpbin.example.com, httpbin-credential, istio-system, ./certs/HOST, ./secret-NAME.yaml (beside this script)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
host=httpbin.example.com; secret=httpbin-credential; ns=istio-system; out=""; manifest=""
while [ $# -gt 0 ]; do
  case "$1" in
    --host) host="$2"; shift 2 ;;
    --secret) secret="$2"; shift 2 ;;
    --namespace) ns="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --manifest) manifest="$2"; shift 2 ;;
    *) echo "make-certs.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
out="${out:-$here/certs/$host}"; manifest="${manifest:-$here/secret-$secret.yaml}"
mkdir -p "$out"/{1_root,2_intermediate,3_application,4_client}/{certs,private}
chmod 700 "$out"/*/private
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; chmod 600 "$1"; }
ext=$(mktemp); trap 'rm -f "$ext"' EXIT

# 1. root CA
ec "$out/1_root/private/ca.key.pem"
openssl req -x509 -new -key "$out/1_root/private/ca.key.pem" -sha256 -days 3650 -subj "/O=Portcullis example/CN=Root CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out "$out/1_root/certs/ca.cert.pem"
# 2. intermediate CA
ec "$out/2_intermediate/private/intermediate.key.pem"
openssl req -new -key "$out/2_intermediate/private/intermediate.key.pem" -subj "/O=Portcullis example/CN=Intermediate CA" \
  -out "$out/2_intermediate/intermediate.csr.pem"
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' > "$ext"
openssl x509 -req -in "$out/2_intermediate/intermediate.csr.pem" -CA "$out/1_root/certs/ca.cert.pem" \
  -CAkey "$out/1_root/private/ca.key.pem" -CAcreateserial -days 1825 -sha256 -extfile "$ext" \
  -out "$out/2_intermediate/certs/intermediate.cert.pem" 2>/dev/null
cat "$out/2_intermediate/certs/intermediate.cert.pem" "$out/1_root/certs/ca.cert.pem" > "$out/2_intermediate/certs/ca-chain.cert.pem"
# 3. server certificate for HOST, 4. client certificate
leaf() { # dir usage
  ec "$out/$1/private/$host.key.pem"
  openssl req -new -key "$out/$1/private/$host.key.pem" -subj "/O=Portcullis example/CN=$host" -out "$out/$1/$host.csr.pem"
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\nsubjectAltName=DNS:%s\n' "$2" "$host" > "$ext"
  openssl x509 -req -in "$out/$1/$host.csr.pem" -CA "$out/2_intermediate/certs/intermediate.cert.pem" \
    -CAkey "$out/2_intermediate/private/intermediate.key.pem" -CAcreateserial -days 825 -sha256 -extfile "$ext" \
    -out "$out/$1/certs/$host.cert.pem" 2>/dev/null
}
leaf 3_application serverAuth
leaf 4_client clientAuth

# The Secret: the server certificate followed by the intermediate, and its key (Istio's cert/key form).
mkdir -p "$(dirname "$manifest")"
indent() { sed 's/^/    /'; }
{
  echo "# Made by examples/httpbin/make-certs.sh for $host; holds a private key: do not commit."
  echo "apiVersion: v1"
  echo "kind: Secret"
  echo "metadata:"
  echo "  name: $secret"
  echo "  namespace: $ns"
  echo "type: Opaque"
  echo "stringData:"
  echo "  cert: |"
  cat "$out/3_application/certs/$host.cert.pem" "$out/2_intermediate/certs/intermediate.cert.pem" | indent
  echo "  key: |"
  indent < "$out/3_application/private/$host.key.pem"
} > "$manifest.tmp"
chmod 600 "$manifest.tmp"
mv "$manifest.tmp" "$manifest"
echo "make-certs.sh: $host: trust anchor $out/2_intermediate/certs/ca-chain.cert.pem; Secret $ns/$secret in $manifest" >&2
