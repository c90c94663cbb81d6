#!/usr/bin/env python3
"""Heap allocated by a JVM over a window, from its GC log and two `jcmd <pid> GC.heap_info` snapshots.

bench/run.sh turns on the log at run time (`jcmd <pid> VM.log what=gc+heap=debug ...`), which prints the heap
before and after every collection. Bytes allocated between two points = the sum, over the collections between
them, of (heap used before this collection - heap used after the previous one), plus (used at the end - used after
the last collection); the first "previous" is the heap used at the start. Exact to the kilobyte whatever the
collector (Serial, Parallel, G1 print the same "total NK, used NK" lines), as long as nothing is freed outside a
collection.

  alloc.py mark GCLOG HEAPINFO          -> "<collections completed so far> <used KB>"
  alloc.py since GCLOG "MARK" HEAPINFO  -> KB allocated since MARK
"""
import re
import sys

USED = re.compile(r"^\s*(?!Metaspace|class space)\S.*?\btotal \d+K, used (\d+)K")
GC_ID = re.compile(r"\bGC\((\d+)\) Heap (before|after) GC invocations")


def used_kb(lines):
    """Heap used in KB: the generation (or whole-heap) lines of one heap printout, not their spaces."""
    total = 0
    for line in lines:
        body = re.sub(r"^(\[[^\]]*\])+\s*(GC\(\d+\))?", "", line)  # drop the log decorations
        m = USED.match(body)
        if m and not re.match(r"^\s*(eden|from|to|the|object|region) ", body):
            total += int(m.group(1))
    return total


def collections(path):
    """[(used before KB, used after KB)] for every completed collection in the log, in order."""
    blocks, current, kind, out = {}, None, None, []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                m = GC_ID.search(line)
                if m:
                    current, kind = int(m.group(1)), m.group(2)
                    blocks.setdefault(current, {})[kind] = []
                    continue
                if current is not None and re.search(r"\bGC\(%d\)" % current, line):
                    if re.search(r"GC\(\d+\)\s{2,}\S", line):  # an indented heap printout line
                        blocks[current][kind].append(line)
                    else:
                        current = None
    except FileNotFoundError:
        return []
    for gc in sorted(blocks):
        b = blocks[gc]
        if "before" in b and "after" in b and b["after"]:
            out.append((used_kb(b["before"]), used_kb(b["after"])))
    return out


def main():
    if sys.argv[1] == "mark":
        with open(sys.argv[3]) as f:
            print(len(collections(sys.argv[2])), used_kb(f.readlines()))
    elif sys.argv[1] == "since":
        n0, start = (int(x) for x in sys.argv[3].split())
        with open(sys.argv[4]) as f:
            end = used_kb(f.readlines())
        prev, total = start, 0
        for before, after in collections(sys.argv[2])[n0:]:
            total += max(0, before - prev)
            prev = after
        print(total + max(0, end - prev))
    else:
        sys.exit("usage: alloc.py mark GCLOG HEAPINFO | since GCLOG MARK HEAPINFO")


if __name__ == "__main__":
    main()
