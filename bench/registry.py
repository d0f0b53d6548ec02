#!/usr/bin/env python3
"""Registry benchmark: import of the 16,539 US .gov domains, and `site list
--json` of 100,000 sites, on SQLite. Prints wall time and peak RSS of each
measured command, as a Markdown table (paste into bench/RESULTS.md).

Run from the repository root:
    cargo build --release && python3 bench/registry.py

Every input is made from files in the repository (bench/data/); the
database and policy live in a temporary directory.
"""
import csv
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "siteward")
US = os.path.join(ROOT, "bench", "data", "cisagov_dotgov_current-full.csv")


def measure(label, args, stdout=subprocess.DEVNULL):
    """Runs the binary once; returns (seconds, peak RSS in MB)."""
    # Standard error goes to a file: a pipe nobody reads while waiting
    # would fill up with warnings and block the child.
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen([BIN] + args, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            stderr.seek(0)
            sys.exit(f"{label} failed: {stderr.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def write_us_sites(path):
    """The US registry as a sites file: every domain an approved site of its
    organization (division code 110000 stands in for a US state; approved,
    not live: they have no identifier code, and a live site needs one)."""
    with open(US, newline="") as source, open(path, "w", newline="") as target:
        writer = csv.writer(target)
        writer.writerow(["name", "url", "organizer", "division", "kind", "status"])
        for row in csv.DictReader(source):
            writer.writerow([
                f"{row['Organization name']} ({row['Domain name']})",
                row["Domain name"],
                row["Organization name"],
                "110000",
                "special",
                "approved",
            ])


def write_synthetic_sites(path, count):
    """`count` live sites of 1,000 organizations under gov.cn."""
    with open(path, "w", newline="") as target:
        writer = csv.writer(target)
        writer.writerow(["网站名称", "网站标识码", "首页网址", "主办单位", "行政区划代码", "网站类型", "运行状态"])
        for i in range(count):
            org = i % 1000
            writer.writerow([
                f"测试网站{i}",
                f"62{org // 100:02d}{org % 100:02d}{i // 1000 + 1:04d}",
                f"s{i}.d{org}.gansu.gov.cn",
                f"测试单位{org}",
                f"62{org // 100:02d}{org % 100:02d}",
                "部门网站",
                "运行中",
            ])


def main():
    if not os.path.exists(BIN):
        sys.exit("build first: cargo build --release")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        policy = os.path.join(tmp, "policies")
        os.mkdir(policy)
        with open(os.path.join(policy, "siteward.toml"), "w") as f:
            f.write('[lifecycle]\nnotice_days = 30\nrelease_grace_days = 30\n'
                    '[domains]\nallowed_suffixes = ["gov", "gov.cn"]\n')
        env_args = lambda db: ["--db", f"sqlite://{os.path.join(tmp, db)}"]
        os.environ["SITEWARD_POLICIES_DIR"] = policy

        us = os.path.join(tmp, "us.csv")
        write_us_sites(us)
        seconds, rss = measure("us import", env_args("us.db") + ["import", "sites", us])
        rows.append(("import 16,539 US .gov sites (13,063 new organizations)", seconds, rss))
        seconds, rss = measure("us re-import", env_args("us.db") + ["import", "sites", us])
        rows.append(("re-import the same file (nothing changes)", seconds, rss))

        big = os.path.join(tmp, "big.csv")
        write_synthetic_sites(big, 100_000)
        seconds, rss = measure("100k import", env_args("big.db") + ["import", "sites", big])
        rows.append(("import 100,000 sites (setup for the list)", seconds, rss))
        seconds, rss = measure("100k list", env_args("big.db") + ["site", "list", "--json"])
        rows.append(("`site list --json` of 100,000 sites", seconds, rss))
    print("| what | seconds | peak RSS (MB) |")
    print("|---|---|---|")
    for label, seconds, rss in rows:
        print(f"| {label} | {seconds:.2f} | {rss:.0f} |")


if __name__ == "__main__":
    main()
