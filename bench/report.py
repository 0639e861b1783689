#!/usr/bin/env python3
"""report.py META NOTES OUTDIR KEY=RESULTS.json...: the tables of bench/run.

Prints it, and writes OUTDIR/results.md and OUTDIR/results.json. Ratios are
medians over the median of the reference row of the same run: `crun run` for
start-to-exit, the floor (curl | zcat | tar) for pull + unpack, podman build for build. The targets are
those of issue 11; a missed target is reported, never an error.
"""
import json
import sys

meta_path, notes_path, out = sys.argv[1:4]
files = dict(a.split("=", 1) for a in sys.argv[4:])

meta = {}
versions = {}
for line in open(meta_path):
    key, _, val = line.rstrip("\n").partition(" ")
    if key == "version":
        tool, _, v = val.partition(" ")
        versions[tool] = v.replace(f"{tool} version ", "").replace(f"{tool} ", "")
    else:
        meta[key] = val
notes = [l.rstrip("\n") for l in open(notes_path) if l.strip()]

FLOOR = "curl | zcat | tar (floor)"
# row name (prefix) -> (reference, at most this many times the reference)
TARGETS = {
    "box 03": ("crun run", 0.5),
    "mini-docker run --rootfs": ("crun run", 0.8),
    "mini-docker run IMAGE": ("crun run", 1.0),
    "mini-runc run": ("crun run", 0.8),
    "mini-docker pull": (FLOOR, 1.3),
}

KINDS = {
    "start": ("Start-to-exit of /bin/true", "crun run"),
    "pull": ("Pull + unpack of the 75 MB image, into a tmpfs", FLOOR),
    "pull-disk": ("Pull + unpack of the 75 MB image, on disk", FLOOR),
    "build": ("Build: FROM busybox, COPY 1,000 files, RUN 3 commands, no cache", "podman build (no cache)"),
    "build-cached": ("Build: the same again, every step from the cache", "podman build (cached)"),
}
SHORT = {"start": "crun", "pull": "floor", "pull-disk": "floor", "build": "podman", "build-cached": "podman"}
sections = [(k, KINDS[k][0], json.load(open(f)), KINDS[k][1]) for k, f in files.items()]


def fmt_time(s):
    return f"{s * 1000:.1f} ms" if s < 10 else f"{s:.2f} s"


result = {"meta": meta, "versions": versions, "notes": notes, "sections": {}}
md = []
text = []
for key, title, rows, ref in sections:
    by = {r["name"]: r for r in rows}
    refmed = by[ref]["median"] if ref in by else None
    short = SHORT[key]
    out_rows = []
    head = ["", "median", "min", "max", "CPU", "peak RSS", f"× {short}", "target"]
    table = []
    for r in rows:
        ratio = r["median"] / refmed if refmed else None
        target = None
        for prefix, (tref, limit) in TARGETS.items():
            if r["name"].startswith(prefix) and tref == ref:
                target = limit
        met = None if target is None or ratio is None else ratio <= target
        out_rows.append({
            "name": r["name"], "runs": r["runs"], "median_s": r["median"], "min_s": r["min"],
            "max_s": r["max"], "cpu_median_s": r["cpu_median"], "peak_rss_kb": r["maxrss_kb"],
            "in_peer_mount_ns": r["peer_ns"], f"ratio_to_{short}": ratio,
            "target_ratio": target, "target_met": met, "wall_s": r["wall"],
        })
        table.append([
            r["name"], fmt_time(r["median"]), fmt_time(r["min"]), fmt_time(r["max"]),
            fmt_time(r["cpu_median"]), f"{r['maxrss_kb'] / 1024:.1f} MB",
            f"{ratio:.2f}" if ratio is not None else "-",
            "-" if target is None else f"≤ {target}: " + ("met" if met else "MISSED"),
        ])
    result["sections"][key] = {"title": title, "reference": ref, "rows": out_rows}

    widths = [max(len(head[i]), *(len(t[i]) for t in table)) for i in range(len(head))]
    n = rows[0]["runs"] if rows else 0
    text.append(f"{title} ({n} run{'s' if n != 1 else ''} of each; × {short} = median / median of {ref})")
    text.append("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths))))
    for t in table:
        text.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(t, widths))))
    text.append("")

    md.append(f"### {title}\n")
    md.append(f"{n} run{'s' if n != 1 else ''} of each; × {short}: median over the median of `{ref}` in the same run.\n")
    md.append("| " + " | ".join(head) + " |")
    md.append("|" + "|".join(["---"] + ["---:"] * (len(head) - 2) + ["---"]) + "|")
    for t in table:
        md.append("| " + " | ".join(c.replace("|", "\\|") for c in t) + " |")
    md.append("")

cond = (f"{meta.get('date', '?')}, Linux {meta.get('kernel', '?')}, {meta.get('cpus', '?')} CPUs "
        f"({meta.get('cpu', '?')}), load average at the end {meta.get('load', '?')}")
text.append("Taken: " + cond)
text.append("Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
for n in notes:
    text.append("Note: " + n)
print("\n".join(text))

if meta.get("smoke") == "1":
    md.insert(0, "**Smoke run (1 run of each): the numbers mean nothing.**\n")
md.append(f"Taken: {cond}.  ")
md.append("Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".\n")
for n in notes:
    md.append(f"- {n}")
md.append("")
with open(f"{out}/results.md", "w") as f:
    f.write("\n".join(md))
with open(f"{out}/results.json", "w") as f:
    json.dump(result, f, indent=1)
    f.write("\n")
print(f"\nwritten: {out}/results.md, {out}/results.json")
