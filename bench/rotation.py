#!/usr/bin/env python3
"""Rotates the credential Secrets of a running Portcullis and measures when new handshakes see each new certificate.

Usage: rotation.py CONFIG_DIR PORT HOSTS(comma-separated) CERTS_DIR ROTATIONS
CERTS_DIR holds <host>.<n>.crt / <host>.<n>.key for n = 1..ROTATIONS (generated beforehand, so that no key
generation happens inside the measurement). Each rotation replaces istio-system/<host>-credential in CONFIG_DIR by one
of the three ways the issue names, in turn: a write in place, a rename into place, a delete then create (the seed's
kubectl delete + create). Pickup latency is from just before the filesystem operation to the end of the first new
TLS handshake (SNI <host>) that is served the new certificate; handshakes are made back to back (each about 1-2 ms
here, so the figure is an upper bound). Prints one line per rotation, then a summary line:
  pickup_ms median=... max=... n=...
"""
import os
import socket
import ssl
import statistics
import sys
import time

config, port, hosts, certs, rotations = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(","), sys.argv[4], int(
    sys.argv[5])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


def served(host):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname=host) as t:
            return t.getpeercert(binary_form=True)


def secret_yaml(host, n):
    crt = open(os.path.join(certs, f"{host}.{n}.crt")).read()
    key = open(os.path.join(certs, f"{host}.{n}.key")).read()
    ind = lambda s: "".join("    " + line + "\n" for line in s.strip().splitlines())
    return (f"apiVersion: v1\nkind: Secret\nmetadata: {{name: {host.split('.')[0]}-credential, namespace: istio-system}}\n"
            f"type: kubernetes.io/tls\nstringData:\n  tls.crt: |\n{ind(crt)}  tls.key: |\n{ind(key)}")


def der(host, n):
    return ssl.PEM_cert_to_DER_cert(open(os.path.join(certs, f"{host}.{n}.crt")).read().split("-----END")[0]
                                    + "-----END CERTIFICATE-----\n")


latencies = []
ways = ["write", "rename", "delete+create"]
for n in range(1, rotations + 1):
    for i, host in enumerate(hosts):
        way = ways[(n + i) % 3]
        path = os.path.join(config, f"secret-{host.split('.')[0]}.yaml")
        body = secret_yaml(host, n)
        want = der(host, n)
        tmp = os.path.join(config, f".{host}.tmp")
        if way == "rename":
            with open(tmp, "w") as f:
                f.write(body)
        t0 = time.monotonic()
        if way == "write":
            with open(path, "w") as f:
                f.write(body)
        elif way == "rename":
            os.rename(tmp, path)
        else:
            os.remove(path)
            with open(path, "w") as f:
                f.write(body)
        while True:
            if served(host) == want:
                break
            if time.monotonic() - t0 > 10:
                sys.exit(f"rotation {n} of {host} ({way}): not served after 10 s")
        ms = (time.monotonic() - t0) * 1000
        latencies.append(ms)
        print(f"rotation {n:2d} {host} {way:13s} {ms:7.1f} ms", flush=True)
        time.sleep(0.3)  # let h2load run between rotations
print(f"pickup_ms median={statistics.median(latencies):.1f} max={max(latencies):.1f} n={len(latencies)}")
