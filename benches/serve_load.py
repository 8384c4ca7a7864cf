#!/usr/bin/env python3
"""Load benchmark of `adroit serve`: p50/p99 latency and throughput of
POST /v1/mmm/whatif and POST /v1/text/analyze at a fixed rate on loopback.

    python3 benches/serve_load.py [--run RUN_DIR] [--rate 1000] [--seconds 10]

Steps: builds the release `adroit` binary and the load client
(crates/adroit-serve/examples/load.rs); makes a run folder (RUN_DIR if given, else
`adroit demo --out TMP`, whose mmm/ folder is enough for the what-if, falling back to
the test fixture crates/adroit-serve/tests/data/run); creates a token; starts
`adroit serve` on a free loopback port; drives each endpoint at --rate requests/s for
--seconds over keep-alive connections (open loop: latency counted from when each
request was due); prints a table and the raw JSON lines. Goal (issue 9): what-if
p99 under 1 ms at 1,000 requests/s.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, "crates", "adroit-serve", "tests", "data", "run")


def run(cmd, **kw):
    print("+", " ".join(cmd), file=sys.stderr)
    return subprocess.run(cmd, check=True, cwd=ROOT, **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_run(adroit, tmp, given):
    if given:
        return given
    demo = os.path.join(tmp, "demo")
    try:
        run([adroit, "demo", "--out", demo], stdout=subprocess.DEVNULL)
        # The folder holding mmm/result.json (the demo folder itself, or its run folder);
        # one with run.json first.
        found = sorted(
            (not os.path.exists(os.path.join(d, "run.json")), d)
            for d, _, _ in os.walk(demo)
            if os.path.exists(os.path.join(d, "mmm", "result.json"))
        )
        if found:
            return found[0][1]
        print("demo wrote no mmm/result.json; using the test fixture", file=sys.stderr)
    except subprocess.CalledProcessError as e:
        print(f"adroit demo failed ({e}); using the test fixture", file=sys.stderr)
    dst = os.path.join(tmp, "run")
    shutil.copytree(FIXTURE, dst)
    return dst


def wait_healthy(base, proc, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit("adroit serve exited early")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("adroit serve did not become healthy")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", help="run folder to serve (default: adroit demo output)")
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--no-build", action="store_true", help="use the binaries already built")
    args = ap.parse_args()

    if not args.no_build:
        run(["cargo", "build", "--release", "-p", "adroit-cli"])
        run(["cargo", "build", "--release", "-p", "adroit-serve", "--example", "load"])
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    adroit = os.path.join(target, "release", "adroit")
    load = os.path.join(target, "release", "examples", "load")

    tmp = tempfile.mkdtemp(prefix="adroit-serve-bench-")
    try:
        run_dir = make_run(adroit, tmp, args.run)
        tokens = os.path.join(tmp, "tokens.json")
        token = run(
            [adroit, "token", "create", "--name", "bench", "--tokens", tokens],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        ).stdout.strip()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [adroit, "serve", "--run", run_dir, "--bind", f"127.0.0.1:{port}", "--tokens", tokens],
            cwd=ROOT, stderr=subprocess.DEVNULL,
        )
        try:
            wait_healthy(base, server)
            # The what-if of a plan: every channel at a round multiple of its recent spend.
            with open(os.path.join(run_dir, "mmm", "result.json")) as f:
                result = json.load(f)
            plan = {c: round(1.1 * (sum(s[-4:]) / 4), 2) for c, s in result["spend"].items()}
            cases = [
                ("/v1/mmm/whatif", json.dumps({"spend": plan, "periods": 4})),
                ("/v1/text/analyze", json.dumps({"texts": [
                    "物流很快，质量不错，就是价格有点贵，客服回复也慢。",
                    "Great fit and the fabric feels premium, but delivery took two weeks.",
                ]}, ensure_ascii=False)),
            ]
            results = []
            for path, body in cases:
                out = subprocess.run(
                    [load, "--url", base + path, "--token", token, "--body", body,
                     "--rate", str(args.rate), "--seconds", str(args.seconds),
                     "--connections", str(args.connections)],
                    check=True, stdout=subprocess.PIPE, text=True, cwd=ROOT,
                ).stdout
                results.append(json.loads(out.strip().splitlines()[-1]))
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        print(f"\nadroit serve on loopback, {args.rate:.0f} requests/s for {args.seconds:.0f} s, "
              f"{args.connections} keep-alive connections, run {run_dir}")
        print(f"{'endpoint':<20}{'sent':>8}{'errors':>8}{'req/s':>9}{'p50 ms':>9}{'p90 ms':>9}"
              f"{'p99 ms':>9}{'p99.9 ms':>10}{'max ms':>9}")
        for r in results:
            path = r["url"].split(str(port), 1)[1]
            print(f"{path:<20}{r['sent']:>8}{r['errors']:>8}{r['throughput']:>9.1f}{r['p50_ms']:>9.3f}"
                  f"{r['p90_ms']:>9.3f}{r['p99_ms']:>9.3f}{r['p999_ms']:>10.3f}{r['max_ms']:>9.3f}")
        whatif = results[0]
        verdict = "meets" if whatif["p99_ms"] < 1.0 and whatif["errors"] == 0 else "misses"
        print(f"goal (what-if p99 < 1 ms at {args.rate:.0f}/s): {verdict} it ({whatif['p99_ms']:.3f} ms)")
        print("\nraw:")
        for r in results:
            print(json.dumps(r))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
