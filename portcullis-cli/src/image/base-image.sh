#!/usr/bin/env bash
# Assembles the base image `./mvnw -Pimage package` builds on when no container registry can be reached: a
# distroless-style root file system written as a `docker save` tarball that Jib reads with from.image=tar://...
#
#   /opt/java/openjdk   a jlink runtime of the build JDK ($JAVA_HOME) with the modules Portcullis needs
#   /usr/lib/...        the shared libraries that runtime and Netty's native transports and BoringSSL load, copied
#                       file by file from this machine's installed Debian packages (libc6, libgcc-s1, libstdc++6,
#                       zlib1g) as `dpkg-query -L` lists them, with their copyright files
#   /etc/passwd, group  root and nonroot (65532), as distroless has them; /home/nonroot owned by 65532
#   /tmp                mode 1777 (mount an emptyDir there when the root file system is read-only)
#
# No shell, no package manager. The image config sets PATH, JAVA_HOME and LANG as eclipse-temurin's images do, so
# Jib's default entrypoint (java on PATH) works the same on this base, on eclipse-temurin and on distroless/java.
#
# Usage: base-image.sh OUT_DIR [JAVA_HOME]; writes OUT_DIR/base-image.tar. Needs: jlink, dpkg-query, GNU tar,
# sha256sum (Debian, Ubuntu).
set -euo pipefail
out="${1:?usage: base-image.sh OUT_DIR [JAVA_HOME]}"
java_home="${2:-${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}}"
# Every module the shaded jar needs (jdeps --print-module-deps --ignore-missing-deps --multi-release 17
# portcullis-cli/target/portcullis.jar) and the service providers it finds at run time: jdk.crypto.ec (ECDSA and
# ECDH on JDK 17-21), jdk.naming.dns, jdk.zipfs, jdk.charsets.
modules="java.base,java.compiler,java.desktop,java.management,java.naming,java.net.http,java.security.jgss,java.sql"
modules="$modules,jdk.crypto.ec,jdk.jfr,jdk.net,jdk.unsupported,jdk.naming.dns,jdk.zipfs,jdk.charsets"
packages=(libc6 libgcc-s1 libstdc++6 zlib1g)

for tool in dpkg-query sha256sum tar; do
  command -v "$tool" >/dev/null || { echo "base-image.sh: $tool not found (a Debian or Ubuntu build machine)" >&2; exit 1; }
done
[ -x "$java_home/bin/jlink" ] || { echo "base-image.sh: no jlink in $java_home (expected: a JDK)" >&2; exit 1; }

work="$out/base-image"
rm -rf "$work"
root="$work/rootfs"
mkdir -p "$root"/{etc,tmp,home/nonroot,opt/java,usr/lib,usr/lib64,usr/bin,usr/sbin}
chmod 1777 "$root/tmp"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
ln -s usr/bin "$root/bin"
ln -s usr/sbin "$root/sbin"

"$java_home/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files --compress=2 \
  --output "$root/opt/java/openjdk"

# The packages' files, /lib/... under usr/lib (merged /usr, as Debian 12); directories are made as needed, docs other than
# copyright, locales, man pages and iconv modules are left out.
for pkg in "${packages[@]}"; do
  # One architecture: the machine's (libc6:amd64 on amd64).
  dpkg-query -L "$pkg:$(dpkg --print-architecture)" 2>/dev/null || dpkg-query -L "$pkg"
done | while IFS= read -r path; do
  [ -d "$path" ] && continue   # directories, and the host's merged-/usr links (/lib -> usr/lib)
  [ -e "$path" ] || [ -L "$path" ] || continue
  case "$path" in
    /usr/share/doc/*/copyright) ;;
    /usr/share/*|*/gconv/*|/etc/*) continue ;;
  esac
  dest="${path#/}"
  case "$dest" in lib/*|lib64/*|bin/*|sbin/*) dest="usr/$dest" ;; esac
  mkdir -p "$root/$(dirname "$dest")"
  cp -P "$path" "$root/$dest"
done
[ -e "$root/lib64/ld-linux-x86-64.so.2" ] || [ -e "$root/lib/ld-linux-aarch64.so.1" ] \
  || { echo "base-image.sh: no dynamic loader copied from libc6" >&2; exit 1; }

cat > "$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
cat > "$root/etc/group" <<'EOF'
root:x:0:
nonroot:x:65532:
EOF
cat > "$root/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
hosts: files dns
EOF

# One layer, reproducible (sorted, owned by root, fixed times), /home/nonroot owned by nonroot.
epoch=@0
tar --sort=name --mtime="$epoch" --numeric-owner --owner=0 --group=0 --exclude=./home/nonroot \
  -C "$root" -cf "$work/layer.tar" .
tar --sort=name --mtime="$epoch" --numeric-owner --owner=65532 --group=65532 -C "$root" -rf "$work/layer.tar" \
  ./home/nonroot
diff_id="sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
case "$(dpkg --print-architecture)" in
  amd64) arch=amd64 ;; arm64) arch=arm64 ;; *) arch="$(dpkg --print-architecture)" ;;
esac
java_version="$("$root/opt/java/openjdk/bin/java" -version 2>&1 | head -1 | sed 's/.*"\(.*\)".*/\1/')"
cat > "$work/config.json" <<EOF
{"architecture":"$arch","os":"linux","created":"1970-01-01T00:00:00Z",
 "config":{"Env":["PATH=/opt/java/openjdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
   "JAVA_HOME=/opt/java/openjdk","JAVA_VERSION=$java_version","LANG=C.UTF-8"],
   "User":"65532:65532","WorkingDir":"/home/nonroot",
   "Labels":{"org.opencontainers.image.description":"Portcullis base: jlink runtime of JDK $java_version and Debian's libc6, libgcc-s1, libstdc++6, zlib1g"}},
 "rootfs":{"type":"layers","diff_ids":["$diff_id"]},
 "history":[{"created":"1970-01-01T00:00:00Z","created_by":"portcullis-cli/src/image/base-image.sh"}]}
EOF
cat > "$work/manifest.json" <<'EOF'
[{"Config":"config.json","RepoTags":["portcullis-base:local"],"Layers":["layer.tar"]}]
EOF
tar --sort=name --mtime="$epoch" --numeric-owner --owner=0 --group=0 -C "$work" \
  -cf "$out/base-image.tar" manifest.json config.json layer.tar
rm -rf "$work"
echo "base-image.sh: $out/base-image.tar ($(du -h "$out/base-image.tar" | cut -f1), JDK $java_version, $arch)" >&2
