#!/usr/bin/env python3
"""Registry benchmark: import of the 16,539 US .gov domains, and `site list
--json` of 100,000 sites, on SQLite; with SITEWARD_BENCH_POSTGRES_URL set,
the imports on PostgreSQL too. Prints wall time and peak RSS of each
measured command, as a Markdown table (paste into bench/RESULTS.md).

Run from the repository root:
    cargo build --release && python3 bench/registry.py

PostgreSQL (issue 17): SITEWARD_BENCH_POSTGRES_URL names a database the
script connects to (with psql) to create and drop its own databases, one
per measurement:
    SITEWARD_BENCH_POSTGRES_URL=postgres://siteward:siteward@127.0.0.1:5432/postgres \
        python3 bench/registry.py --postgres-only --runs 3
measures, each run in fresh databases, and prints the median with the
range: the import of 50,000 sites (1,000 new organizations), its
unchanged re-import, a 50,000-row file refused for its last row (nothing
written), and three imports of the 50,000-site file started at once
(`--no-concurrent` leaves those out: before issue 17 they did not end).
SITEWARD_BENCH_BIN measures another build (e.g. main's) with the same
inputs.

Every input is made from files in the repository (bench/data/); the
database and policy live in a temporary directory.
"""
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("SITEWARD_BENCH_BIN") or os.path.join(ROOT, "target", "release", "siteward")
US = os.path.join(ROOT, "bench", "data", "cisagov_dotgov_current-full.csv")


def measure(label, args, stdout=subprocess.DEVNULL, fails=False):
    """Runs the binary once; returns (seconds, peak RSS in MB). With
    `fails`, the command must fail (a refused import)."""
    # Standard error goes to a file: a pipe nobody reads while waiting
    # would fill up with warnings and block the child.
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen([BIN] + args, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        if (os.waitstatus_to_exitcode(status) != 0) != fails:
            stderr.seek(0)
            sys.exit(f"{label}: unexpected exit status {os.waitstatus_to_exitcode(status)}: "
                     f"{stderr.read().decode()[-2000:]}")
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


def psql(url, sql):
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql], check=True,
                   stdout=subprocess.DEVNULL)


def database_url(admin, name):
    """`admin` with its database replaced by `name`."""
    base, _, _ = admin.rpartition("/")
    return f"{base}/{name}"


class Database:
    """A fresh PostgreSQL database, dropped afterwards."""
    counter = 0

    def __init__(self, admin):
        Database.counter += 1
        self.admin = admin
        self.name = f"siteward_bench_{os.getpid()}_{Database.counter}"
        psql(admin, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        psql(admin, f'CREATE DATABASE "{self.name}"')
        self.url = database_url(admin, self.name)
        # Migrations run on first use: not part of any measurement.
        subprocess.run([BIN, "--db", self.url, "audit", "verify"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def __enter__(self):
        return self

    def __exit__(self, *_):
        psql(self.admin, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def concurrently(label, commands):
    """Starts every command at once; returns the seconds until the last
    one ended. Each must succeed."""
    start = time.perf_counter()
    processes = [subprocess.Popen([BIN] + args, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE) for args in commands]
    outputs = [p.communicate() for p in processes]
    seconds = time.perf_counter() - start
    for process, (_, err) in zip(processes, outputs):
        if process.returncode != 0:
            print(f"{label}: exit status {process.returncode}: {err.decode()[-500:]}",
                  file=sys.stderr)
    return seconds, [out.decode().strip() for out, _ in outputs]


def postgres_rows(admin, tmp, runs, concurrent=True):
    """The imports on PostgreSQL, `runs` times each in fresh databases:
    [(label, [seconds], [peak RSS MB])]."""
    sites = os.path.join(tmp, "pg50k.csv")
    write_synthetic_sites(sites, 50_000)
    refused = os.path.join(tmp, "pg50k-refused.csv")
    with open(sites) as source, open(refused, "w") as target:
        target.write(source.read())
        # Outside the allowed suffixes: refused by the registry's checks,
        # after every other row was judged.
        target.write("外域网站,,www.example.com,测试单位1,620001,部门网站,运行中\n")
    import_args = lambda url, path: ["--db", url, "import", "sites", path]
    results = {}
    def record(label, seconds, rss):
        times, peaks = results.setdefault(label, ([], []))
        times.append(seconds)
        peaks.append(rss)
    for _ in range(runs):
        with Database(admin) as db:
            record("PostgreSQL: import 50,000 sites (1,000 new organizations)",
                   *measure("pg import", import_args(db.url, sites)))
            record("PostgreSQL: re-import the same file (nothing changes)",
                   *measure("pg re-import", import_args(db.url, sites)))
        with Database(admin) as db:
            record("PostgreSQL: a 50,000-row file refused for its last row",
                   *measure("pg refused", import_args(db.url, refused), fails=True))
        if not concurrent:
            continue
        with Database(admin) as db:
            seconds, outputs = concurrently(
                "pg 3 concurrent", [import_args(db.url, sites) for _ in range(3)])
            created = sum(" 50000 created" in out for out in outputs)
            unchanged = sum(" 50000 unchanged" in out for out in outputs)
            label = "PostgreSQL: 3 imports of the 50,000-site file at once (all ended)"
            if (created, unchanged) != (1, 2):
                print(f"3 concurrent imports: expected one to create and two to find "
                      f"nothing changed, got: {outputs}", file=sys.stderr)
                label += " — FAILED: not one creating and two unchanged"
            record(label, seconds, float("nan"))
    return [(label, times, peaks) for label, (times, peaks) in results.items()]


def main():
    if not os.path.exists(BIN):
        sys.exit("build first: cargo build --release")
    args = sys.argv[1:]
    postgres_only = "--postgres-only" in args
    runs = int(args[args.index("--runs") + 1]) if "--runs" in args else 3
    admin = os.environ.get("SITEWARD_BENCH_POSTGRES_URL")
    if postgres_only and not admin:
        sys.exit("--postgres-only needs SITEWARD_BENCH_POSTGRES_URL")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        policy = os.path.join(tmp, "policies")
        os.mkdir(policy)
        with open(os.path.join(policy, "siteward.toml"), "w") as f:
            f.write('[lifecycle]\nnotice_days = 30\nrelease_grace_days = 30\n'
                    '[domains]\nallowed_suffixes = ["gov", "gov.cn"]\n')
        env_args = lambda db: ["--db", f"sqlite://{os.path.join(tmp, db)}"]
        os.environ["SITEWARD_POLICIES_DIR"] = policy

        if admin:
            pg = postgres_rows(admin, tmp, runs, concurrent="--no-concurrent" not in args)
        if postgres_only:
            print_runs(pg, runs)
            return

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
    if admin:
        print()
        print_runs(pg, runs)


def print_runs(rows, runs):
    print(f"| what (median of {runs}) | seconds | min–max | peak RSS (MB) |")
    print("|---|---|---|---|")
    for label, times, peaks in rows:
        rss = statistics.median(peaks)
        rss = "—" if rss != rss else f"{rss:.0f}"
        print(f"| {label} | {statistics.median(times):.2f} | "
              f"{min(times):.2f}–{max(times):.2f} | {rss} |")


if __name__ == "__main__":
    main()
