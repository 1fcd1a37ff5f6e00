#!/usr/bin/env python3
"""A soak: one release encore under a bounded mixed load for `--minutes` (default 30), its
resident memory sampled every 10 s. A population of fans (`--fans`, 20,000) comes and goes:
each signs up and tops up on a first visit and only reads the wallet after; every visit joins
the queue, reads the seat map (fresh and with If-None-Match), holds a seat and pays, cancels,
or lets the hold lapse; every purchase is refunded, so seats keep coming back and the show
never sells out; some requests are malformed on purpose. The population is fixed because what
a real on-sale keeps per fan (the API-key cache holds up to 1,000,000) grows with the fans who
come, not with time: new sign-ups without end would only measure that cache filling.

    python3 bench/soak.py [--minutes 30] [--warmup 5] [--mode sqlite|pg] [--bin target/release/encore]

The warm-up opens with a burst (16 more clients, no pause, for 2 minutes) that brings every
pooled connection and thread to its working size. Passes when RSS after the warm-up stays within 10 % of its value at the warm-up's end (the
highest sample of the minute after it) and no answer was a 5xx; writes bench/results/soak-<mode>.json and exits 1 otherwise.
"""
import argparse
import json
import random
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (Client, Mode, Server: the same plumbing as the benchmarks)

ROOT = Path(__file__).resolve().parent.parent
SEATS_PER_ROW = 40


def setup(client):
    """A concert with two dates of 2,000 seats in two grades; returns (concert, [(schedule, places)])."""
    ok = lambda r: r[1] if r[0] in (200, 201) else sys.exit(f"setup failed: {r}")
    concert = ok(client.call("POST", "/api/v1/admin/concerts", {"title": "Soak", "performer": "Band"}, admin=True))
    now = time.time()
    iso = lambda s: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + s))
    plan = {
        "grades": [{"code": "R", "name": "R", "price": 3000}, {"code": "S", "name": "S", "price": 1000}],
        "sections": [
            {"code": "A", "name": "A", "grade": "R", "rows": [{"row": str(i + 1), "seats": SEATS_PER_ROW} for i in range(25)]},
            {"code": "B", "name": "B", "grade": "S", "rows": [{"row": str(i + 1), "seats": SEATS_PER_ROW} for i in range(25)]},
        ],
    }
    dates = []
    for d in (3, 4):
        s = ok(client.call("POST", f"/api/v1/admin/concerts/{concert['id']}/schedules", {
            "startsAt": iso(d * 86400), "bookingOpensAt": iso(-3600), "bookingClosesAt": iso(d * 86400 - 3600), "plan": plan,
        }, admin=True))
        dates.append((s["id"], s["seatCount"]))
    return concert["id"], dates


class Load:
    def __init__(self, client, concert, dates, pause, population):
        self.c, self.concert, self.dates, self.pause = client, concert, dates, pause
        # The fans of the soak: each slot signs up on its first visit and comes back after.
        self.keys = [None] * population
        self.counts = {}
        self.fivexx = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def call(self, kind, *args, **kw):
        status, body = self.c.call(*args, **kw)
        with self.lock:
            self.counts[f"{kind} {status}"] = self.counts.get(f"{kind} {status}", 0) + 1
            if status >= 500:
                self.fivexx += 1
        return status, body

    def fan(self, rnd):
        slot = rnd.randrange(len(self.keys))
        key = self.keys[slot]
        if key is None:
            _, user = self.call("signup", "POST", "/api/v1/users", {"name": f"fan {uuid.uuid4().hex[:8]}"})
            key = self.keys[slot] = user["apiKey"]
            self.call("charge", "POST", "/api/v1/wallet/charges", {"amount": 1_000_000}, key=key,
                      headers={"Idempotency-Key": str(uuid.uuid4())})
        else:
            self.call("visit", "GET", "/api/v1/wallet", key=key)
        status, ticket = self.call("join", "POST", f"/api/v1/concerts/{self.concert}/queue", {}, key=key)
        if status not in (200, 201) or ticket.get("status") != "ACTIVE":
            return
        token = ticket["token"]
        self.call("poll", "GET", "/api/v1/queue", key=key, token=token)
        schedule, places = rnd.choice(self.dates)
        path = f"/api/v1/schedules/{schedule}/seatmap"
        self.call("seatmap", "GET", path, key=key, token=token)
        self.call("seatmap", "GET", path, key=key, token=token, headers={"If-None-Match": '"stale"'})
        status, hold = self.call("hold", "POST", "/api/v1/reservations",
                                 {"scheduleId": schedule, "seatNumber": rnd.randint(1, places)}, key=key, token=token)
        if rnd.random() < 0.05:  # malformed on purpose: a 4xx, never a 5xx
            self.call("bad", "POST", "/api/v1/reservations", {"scheduleId": "nope", "seatNumber": -1}, key=key, token=token)
        if status != 201:
            return
        roll = rnd.random()
        if roll < 0.6:
            status, _ = self.call("pay", "POST", "/api/v1/payments", {"reservationId": hold["id"]}, key=key, token=token,
                                  headers={"Idempotency-Key": str(uuid.uuid4())})
            if status == 201:
                self.call("refund", "POST", f"/api/v1/reservations/{hold['id']}/refund", key=key)
        elif roll < 0.85:
            self.call("cancel", "DELETE", f"/api/v1/reservations/{hold['id']}", key=key)
        # else: the hold lapses on its own (ENCORE_HOLD_TTL is short here)

    def run(self, seed, pause=None, until=None):
        """Fans one after another, `pause` seconds apart (the load's own by default), until the
        soak stops or, if given, the clock passes `until`."""
        rnd = random.Random(seed)
        pause = self.pause if pause is None else pause
        while not self.stop.is_set() and (until is None or time.time() < until):
            try:
                self.fan(rnd)
            except (OSError, KeyError, TypeError, ValueError) as e:
                with self.lock:
                    self.counts[f"client error {type(e).__name__}"] = self.counts.get(f"client error {type(e).__name__}", 0) + 1
            time.sleep(pause)


def verdict(samples, warmup_minutes):
    """RSS at the warm-up's end (the highest sample of the minute after it: within a minute RSS
    swings by a few MB as the allocator takes and returns memory), the highest after that, the
    last, and the growth of the highest over the warm-up's in %."""
    start = warmup_minutes * 60
    first_minute = [rss for at, rss in samples if start <= at < start + 60]
    later = [rss for at, rss in samples if at >= start + 60] or first_minute
    base = max(first_minute)
    peak = max(later)
    return base, peak, samples[-1][1], (peak - base) / base * 100


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--warmup", type=float, default=5, help="minutes before the baseline is taken")
    ap.add_argument("--mode", choices=("sqlite", "pg"), default="sqlite")
    ap.add_argument("--threads", type=int, default=3)
    ap.add_argument("--pause", type=float, default=0.02, help="seconds each client waits between fans")
    ap.add_argument("--idle", type=float, default=60, help="seconds of idle after the load, then one more sample")
    ap.add_argument("--burst-threads", type=int, default=16,
                    help="extra clients without pause in the warm-up's first --burst minutes")
    ap.add_argument("--burst", type=float, default=2, help="minutes of the warm-up's burst")
    ap.add_argument("--fans", type=int, default=20_000, help="the population: each signs up on a first visit")
    ap.add_argument("--bin", default=str(bench.BIN))
    args = ap.parse_args()
    bench.BIN = Path(args.bin).resolve()
    workdir = Path(bench.tempfile.mkdtemp(prefix="encore-soak-"))
    mode = bench.Mode("sqlite" if args.mode == "sqlite" else "postgres", workdir, "soak")
    server = bench.Server(mode, hold_ttl="20s", queue_active_limit=100000, queue_active_ttl="10m")
    samples = []
    try:
        concert, dates = setup(server.client)
        load = Load(server.client, concert, dates, args.pause, args.fans)
        start = time.time()
        threads = [threading.Thread(target=load.run, args=(i,), daemon=True) for i in range(args.threads)]
        # The burst puts every pooled connection and worker thread to work at once, so the
        # warm-up ends with each of them at its working size (a database connection's page
        # cache and statements, a thread's allocator cache); the steady load after it then
        # cannot grow them by arriving at a busier moment, and what still grows is a leak.
        threads += [threading.Thread(target=load.run, args=(1000 + i, 0, start + args.burst * 60), daemon=True)
                    for i in range(args.burst_threads)]
        for t in threads:
            t.start()
        end = start + args.minutes * 60
        while time.time() < end:
            samples.append((round(time.time() - start), round(server.rss_mb(), 1)))
            print(f"[soak] {samples[-1][0]:>5} s  RSS {samples[-1][1]:7.1f} MB  fans {load.counts.get('signup 201', 0)}"
                  f"  visits {load.counts.get('visit 200', 0)}", flush=True)
            time.sleep(10)
        load.stop.set()
        for t in threads:
            t.join(timeout=30)
        time.sleep(args.idle)
        idle = round(server.rss_mb(), 1)
    finally:
        server.stop()
        mode.cleanup()
    base, peak, final, growth = verdict(samples, args.warmup)
    result = {
        "mode": args.mode, "minutes": args.minutes, "warmup_minutes": args.warmup, "threads": args.threads,
        "pause_s": args.pause, "burst_threads": args.burst_threads, "burst_minutes": args.burst, "population": args.fans,
        "visits": sum(v for k, v in load.counts.items() if k.startswith(("signup ", "visit "))),
        "rss_start_mb": samples[0][1], "rss_warm_mb": base, "rss_max_after_warmup_mb": peak,
        "rss_final_mb": final, "rss_after_idle_mb": idle, "growth_after_warmup_pct": round(growth, 1),
        "fans": load.counts.get("signup 201", 0), "answers_5xx": load.fivexx,
        "counts": dict(sorted(load.counts.items())), "samples": samples,
    }
    out = ROOT / "bench" / "results" / f"soak-{args.mode}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=1))
    passed = growth <= 10 and load.fivexx == 0
    print(f"[soak] {'PASS' if passed else 'FAIL'}: RSS {base} MB at the warm-up's end, at most {peak} MB after "
          f"({growth:+.1f} %), {final} MB at the end, {idle} MB after {args.idle:.0f} s idle; {load.fivexx} 5xx")
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
