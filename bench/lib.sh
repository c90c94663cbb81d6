# Shared by bench/run.sh and bench/upstream.sh (sourced, not run): a work directory removed on exit, every process
# started stopped by PID on exit (append each PID to the array pids), free ports, and per-process-tree CPU and memory
# from /proc.

# Makes $work (mktemp -d /tmp/<prefix>.XXXXXX) and the pids array, and stops every PID in it (children first, then
# the PID; after 0.5 s a kill -9 for what is left) and removes $work on exit.
bench_workdir() {
  work="$(mktemp -d "/tmp/$1.XXXXXX")"
  pids=()
  trap bench_cleanup EXIT INT TERM
}
bench_cleanup() {
  for p in "${pids[@]:-}"; do
    [ -n "$p" ] || continue
    for c in $(pgrep -P "$p" 2>/dev/null); do kill "$c" 2>/dev/null || true; done
    kill "$p" 2>/dev/null || true
  done
  sleep 0.5
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}

# A port nothing listens on now (the kernel's pick for 127.0.0.1:0).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Waits until something accepts on 127.0.0.1:PORT, for at most TIMEOUT seconds: wait_port PORT TIMEOUT
wait_port() {
  local i=0
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    i=$((i+1)); [ $i -gt $(( $2 * 10 )) ] && { echo "bench: nothing listens on $1" >&2; return 1; }
    sleep 0.1
  done
}
# Process tree of PID (the PID and its children: nginx's and caddy's workers).
tree() { echo "$1" $(pgrep -P "$1" 2>/dev/null || true); }
# CPU ticks (utime+stime, 1/CLK_TCK s) of a process tree.
cpu_ticks() { local t=0 p; for p in $(tree "$1"); do
  [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo $t; }
# Resident memory of a process tree in kB: field VmRSS or VmHWM (peak).
mem_kb() { local t=0 p v; for p in $(tree "$1"); do
  v=$(awk -v f="$2:" '$1==f {print $2}' "/proc/$p/status" 2>/dev/null || echo 0); t=$((t + ${v:-0})); done; echo $t; }
hz=$(getconf CLK_TCK)
