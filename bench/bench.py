#!/usr/bin/env python3
"""encore benchmarks: ceilings and endpoints measured in one run, in both modes.

Every figure is printed next to a ceiling taken in the same run on the same machine (the HTTP
floor `GET /health`, and a one-row-UPDATE transaction through encore's own pool), because these
machines are noisy. Five parts, each run in every mode: `endpoints` (floor, queue, holds,
payments, hot seat, 1M waiters, DB ceiling, and the CPU each request costs encore, PostgreSQL and
Redis), `purchases` (whole purchases by `benches/purchase.rs`), `sale` (the k6 flash sale),
`venues` (orders of several seats, a 70,000-place schedule and its seat map) and `streams`
(event streams held open through an admission wave, `benches/streams.rs`). Run through `bench/run`, e.g.
`bash bench/run --only venues --modes sqlite --seconds 3`; results land in
bench/results/latest.{json,md}.
"""

import argparse
import concurrent.futures
import gzip
import hashlib
import http.client
import json
import os
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release" / "encore"
WRK_DIR = ROOT / "bench" / "wrk"
K6_DIR = ROOT / "bench" / "k6"
PG = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")
ADMIN = "bench-admin-token"
CONNS = 64
# What `--only` picks from, in the order each mode runs them.
PARTS = ("endpoints", "purchases", "sale", "venues", "streams")
ALIASES = {"flash_sale": "sale"}


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- HTTP client for fixtures

class Client:
    """Keep-alive JSON client, one connection per thread (fixtures make thousands of calls)."""

    def __init__(self, port):
        self.port = port
        self.local = threading.local()

    def call(self, method, path, body=None, key=None, token=None, admin=False, headers=None):
        h = {"Content-Type": "application/json"}
        if key:
            h["Authorization"] = f"Bearer {key}"
        if admin:
            h["Authorization"] = f"Bearer {ADMIN}"
        if token:
            h["X-Queue-Token"] = token
        h.update(headers or {})
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(3):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                conn.request(method, path, body=data, headers=h)
                res = conn.getresponse()
                raw = res.read()
                return res.status, (json.loads(raw) if raw else None)
            except (http.client.HTTPException, OSError):
                self.local.conn = None
                if attempt == 2:
                    raise
        raise RuntimeError("unreachable")

    def parallel(self, fn, items, workers=16):
        with concurrent.futures.ThreadPoolExecutor(workers) as ex:
            return list(ex.map(fn, items))


# ---------------------------------------------------------------- modes and the server

class Mode:
    def __init__(self, name, workdir, tag):
        self.name = name
        if name == "sqlite":
            self.sqlite = workdir / f"{tag}.db"
            self.db_url = f"sqlite://{self.sqlite}"
            self.redis_url = None
        else:
            self.sqlite = None
            self.db_name = f"encore_bench_{tag}"
            psql("postgres", f'DROP DATABASE IF EXISTS "{self.db_name}"')
            psql("postgres", f'CREATE DATABASE "{self.db_name}"')
            self.db_url = f"{PG}/{self.db_name}"
            self.redis_url = REDIS
        self.prefix = f"encore-bench-{tag}-{secrets.token_hex(4)}"

    def cleanup(self):
        if self.redis_url:
            subprocess.run(["redis-cli", "-u", REDIS, "--scan", "--pattern", f"{self.prefix}:*"],
                           capture_output=True)
            keys = subprocess.run(["redis-cli", "-u", REDIS, "--scan", "--pattern", f"{self.prefix}:*"],
                                  capture_output=True, text=True).stdout.split()
            for i in range(0, len(keys), 500):
                subprocess.run(["redis-cli", "-u", REDIS, "DEL", *keys[i:i + 500]], capture_output=True)


def psql(db, sql, stdin=None):
    out = subprocess.run(["psql", f"{PG}/{db}", "-v", "ON_ERROR_STOP=1", "-Atqc", sql],
                         input=stdin, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"psql failed: {out.stderr}")
    return out.stdout.strip()


class Server:
    def __init__(self, mode, **settings):
        self.port = free_port()
        env = dict(os.environ)
        env.update({
            "ENCORE_LISTEN": f"127.0.0.1:{self.port}",
            "ENCORE_DATABASE_URL": mode.db_url,
            "ENCORE_REDIS_PREFIX": mode.prefix,
            "ENCORE_ADMIN_TOKEN": ADMIN,
            "ENCORE_RATE_LIMITS": "off",
            "RUST_LOG": "warn",
        })
        env.pop("ENCORE_REDIS_URL", None)
        if mode.redis_url:
            env["ENCORE_REDIS_URL"] = mode.redis_url
        for k, v in settings.items():
            env[f"ENCORE_{k.upper()}"] = str(v)
        self.log = open(tempfile.mktemp(prefix="encore-bench-", suffix=".log"), "w")
        self.proc = subprocess.Popen([str(BIN), "serve"], env=env, stdout=self.log, stderr=self.log)
        self.client = Client(self.port)
        self.base = f"http://127.0.0.1:{self.port}"
        for _ in range(200):
            try:
                if self.client.call("GET", "/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"encore did not start; see {self.log.name}")

    def rss_mb(self):
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def gauge(self, name, concert):
        text = urllib_get(f"{self.base}/metrics")
        m = re.search(rf'{name}{{concert_id="{concert}"}} (\d+)', text)
        return int(m.group(1)) if m else 0


def urllib_get(url):
    import urllib.request
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read().decode()


# ---------------------------------------------------------------- fixtures

def seed_users(mode, start, count, prefix, balance):
    """Users (and wallets with a matching CHARGE line) written straight into the database.

    API key n is `prefix + str(n)`; only its SHA-256 is stored, as the service does.
    """
    now = int(time.time() * 1000)
    rows = []
    for i in range(start, start + count):
        key = f"{prefix}{i}"
        rows.append((uuid.uuid4(), hashlib.sha256(key.encode()).digest()))
    if mode.sqlite:
        db = sqlite3.connect(mode.sqlite, timeout=120)
        with db:
            db.executemany("INSERT INTO users (id, name, api_key_hash, created_at) VALUES (?, 'bench', ?, ?)",
                           ((u.bytes, h, now) for u, h in rows))
            db.executemany("INSERT INTO wallets (user_id, balance, updated_at) VALUES (?, ?, ?)",
                           ((u.bytes, balance, now) for u, _ in rows))
            if balance:
                db.executemany("INSERT INTO wallet_transactions (id, user_id, kind, amount, balance_after, "
                               "reservation_id, created_at) VALUES (?, ?, 'CHARGE', ?, ?, NULL, ?)",
                               ((uuid.uuid4().bytes, u.bytes, balance, balance, now) for u, _ in rows))
        db.close()
        return
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        (d / "users.tsv").write_text("".join(f"{u}\tbench\t\\\\x{h.hex()}\t{now}\n" for u, h in rows))
        (d / "wallets.tsv").write_text("".join(f"{u}\t{balance}\t{now}\n" for u, _ in rows))
        (d / "tx.tsv").write_text("".join(f"{uuid.uuid4()}\t{u}\tCHARGE\t{balance}\t{balance}\t\\N\t{now}\n"
                                          for u, _ in rows) if balance else "")
        psql(mode.db_name, f"\\copy users (id, name, api_key_hash, created_at) FROM '{d / 'users.tsv'}'")
        psql(mode.db_name, f"\\copy wallets (user_id, balance, updated_at) FROM '{d / 'wallets.tsv'}'")
        if balance:
            psql(mode.db_name, "\\copy wallet_transactions (id, user_id, kind, amount, balance_after, "
                               f"reservation_id, created_at) FROM '{d / 'tx.tsv'}'")
    # Settle the bulk load now, so autovacuum and the checkpointer do not run inside a measurement.
    # Only the loaded tables: ANALYZE on the still-empty reservations table would record "0 rows",
    # and plans cached from that (seq scans) outlive the table's growth during the run.
    psql(mode.db_name, "VACUUM ANALYZE users, wallets, wallet_transactions")
    psql(mode.db_name, "CHECKPOINT")


def iso(offset_s):
    return iso_at(time.time() + offset_s)


def iso_at(epoch_s):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


def create_concert(c, title, on_sale_at=None):
    body = {"title": title, "performer": "Bench"}
    if on_sale_at:
        body["onSaleAt"] = on_sale_at
    status, body = c.call("POST", "/api/v1/admin/concerts", body, admin=True)
    assert status == 201, body
    return body["id"]


def create_schedules(c, concert, count, seats, price):
    def one(i):
        status, body = c.call("POST", f"/api/v1/admin/concerts/{concert}/schedules", {
            "startsAt": iso(86400 * 30 + i * 3600), "bookingOpensAt": iso(-3600),
            "bookingClosesAt": iso(86400 * 29), "seatCount": seats, "price": price}, admin=True)
        assert status == 201, body
        return body["id"]
    return c.parallel(one, range(count), workers=4)


def join_all(c, concert, keys):
    def one(k):
        status, body = c.call("POST", f"/api/v1/concerts/{concert}/queue", key=k)
        assert status in (200, 201), body
        return body
    return c.parallel(one, keys)


# ---------------------------------------------------------------- load tools

def parse_ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)", v)
    n, unit = float(m.group(1)), m.group(2)
    return n * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


# The processes whose CPU time a measurement charges to its requests (`/proc/<pid>/stat` comm).
CPU_GROUPS = {"encore": "encore", "postgres": "postgres", "redis": "redis-server"}


def cpu_seconds():
    """CPU seconds used so far by each of CPU_GROUPS, over all its processes. A process's own
    time plus its reaped children's, so a PostgreSQL backend that exits mid-run is still counted
    (through the postmaster)."""
    tick = os.sysconf("SC_CLK_TCK")
    totals = dict.fromkeys(CPU_GROUPS, 0.0)
    names = {v: k for k, v in CPU_GROUPS.items()}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        group = names.get(comm)
        if group:
            f = stat[stat.rindex(")") + 2:].split()
            totals[group] += sum(int(x) for x in f[11:15]) / tick
    return totals


def cpu_per(before, after, n):
    """CPU microseconds each of CPU_GROUPS spent per one of `n` requests between two
    `cpu_seconds()` readings (None for every group when there were none)."""
    return {g: (after[g] - before[g]) * 1e6 / n if n else None for g in CPU_GROUPS}


def wrk(base, path="/", script=None, seconds=10, env=None, conns=CONNS):
    threads = min(2, conns)
    cpu_before = cpu_seconds()
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if script:
        cmd += ["-s", str(WRK_DIR / script)]
    e = dict(os.environ, BENCH_WRK_DIR=str(WRK_DIR), BENCH_THREADS=str(threads), **(env or {}))
    out = subprocess.run(cmd + [base + path], capture_output=True, text=True, env=e).stdout
    res = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for pct in ("50", "99"):
        m = re.search(rf"\s{pct}%\s+([\d.]+\w+)", out)
        res[f"p{pct}_ms"] = parse_ms(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"(\d+) requests in", out)
    res["requests"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    res["cpu_us"] = cpu_per(cpu_before, cpu_seconds(), res["requests"])
    return res


def k6(script, env, summary):
    e = dict(os.environ, **{k: str(v) for k, v in env.items()})
    out = subprocess.run(["k6", "run", "--quiet", "--no-color", "--summary-export", str(summary), str(K6_DIR / script)],
                         capture_output=True, text=True, env=e)
    if out.returncode != 0 and not summary.exists():
        raise RuntimeError(f"k6 failed: {out.stderr[-2000:]}")
    return json.loads(summary.read_text())["metrics"]


def metric(m, name, field="count"):
    return m.get(name, {}).get(field, 0)


def build_bench(name):
    """Builds a bench program ahead, so that starting it later costs no compile in a measurement."""
    out = subprocess.run(["cargo", "bench", "--no-run", "--bench", name], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"building {name} failed: {out.stderr[-2000:]}")


def bench_exe(name):
    """The newest built executable of bench program `name`."""
    exes = [p for p in (ROOT / "target" / "release" / "deps").glob(f"{name}-*")
            if p.is_file() and os.access(p, os.X_OK) and p.suffix == ""]
    if not exes:
        raise RuntimeError(f"{name} is not built")
    return max(exes, key=lambda p: p.stat().st_mtime)


def db_ceiling(db_url):
    out = subprocess.run(["cargo", "bench", "--quiet", "--bench", "db_ceiling"], cwd=ROOT, capture_output=True,
                         text=True, env=dict(os.environ, BENCH_DATABASE_URL=db_url, BENCH_SECONDS="10"))
    line = [l for l in out.stdout.splitlines() if l.startswith("{")]
    if not line:
        raise RuntimeError(f"db_ceiling failed: {out.stderr[-2000:]}")
    return json.loads(line[-1])


def racer(base, schedule, holders, warm="health", order="seat"):
    """The hot seat from `benches/hot_seat.rs`: a one-thread client on warm connections.

    `warm="seats"` (or `"seatmap"`): each racer first reads the seat map, as a fan's page does
    before the click. `order="shared"`: orders of 2–4 seats by label that share one seat.
    """
    out = subprocess.run(["cargo", "bench", "--quiet", "--bench", "hot_seat"], cwd=ROOT, capture_output=True,
                         text=True, env=dict(os.environ, BENCH_BASE=base, BENCH_SCHEDULE=schedule,
                                             BENCH_HOLDERS=str(holders), BENCH_WARM=warm, BENCH_ORDER=order))
    line = [l for l in out.stdout.splitlines() if l.startswith("{")]
    if not line:
        raise RuntimeError(f"hot_seat failed: {out.stderr[-2000:]}")
    return json.loads(line[-1])


def redis_used_mb():
    out = subprocess.run(["redis-cli", "-u", REDIS, "INFO", "memory"], capture_output=True, text=True).stdout
    return int(re.search(r"used_memory:(\d+)", out).group(1)) / 1024 / 1024


# ---------------------------------------------------------------- the scenarios

def endpoints(mode_name, workdir, args):
    """Floor, poll, join, 1M waiters, holds, payments, hot seat and the DB ceiling."""
    mode = Mode(mode_name, workdir, f"{mode_name}_endpoints")
    srv = Server(mode, queue_active_limit=1000, max_holds_per_user=1_000_000, max_tickets_per_user=1_000_000, hold_ttl="30m",
                 queue_idle_timeout="30m", queue_active_ttl="60m", db_pool_size=16)
    c = srv.client
    r = {"mode": mode_name}
    d = args.seconds
    try:
        log(f"{mode_name}: HTTP floor GET /health")
        r["health"] = wrk(srv.base, "/health", seconds=d)

        total = args.waiters + 600_000  # the line, plus every fan the earlier phases use
        prefix = f"enc_bench_{secrets.token_hex(8)}_"
        log(f"{mode_name}: seeding {total:,} users into the database")
        seed_users(mode, 0, 3000, prefix, 10**11)
        seed_users(mode, 3000, total, prefix, 0)
        big = create_concert(c, "flash crowd")
        hold_concert = create_concert(c, "holds")
        # 0..1000 hold seats on `hold_concert`; 1000..2000 fill `big`'s active cap; 2000..3000 wait.
        holders = join_all(c, hold_concert, [f"{prefix}{i}" for i in range(1000)])
        join_all(c, big, [f"{prefix}{i}" for i in range(1000, 2000)])
        pollers = join_all(c, big, [f"{prefix}{i}" for i in range(2000, 3000)])
        tokens = workdir / f"{mode_name}-tokens.txt"
        tokens.write_text("\n".join(t["token"] for t in pollers) + "\n")

        log(f"{mode_name}: GET /queue (poll) over 1,000 waiting tickets")
        r["poll"] = wrk(srv.base, script="poll.lua", seconds=d, env={"BENCH_TOKENS": str(tokens)})

        log(f"{mode_name}: POST /concerts/{{id}}/queue (join) by fans the service has never seen")
        r["join_cold"] = wrk(srv.base, script="join.lua", seconds=d,
                             env={"BENCH_KEY_PREFIX": prefix, "BENCH_CONCERT": big, "BENCH_OFFSET": "3000"})
        offset = 3000 + r["join_cold"]["requests"] + 100

        # Signed-in fans: the web front calls GET /users/me when the page opens, before the sale.
        join_seconds = min(d, 5)
        warm = args.warm
        log(f"{mode_name}: GET /users/me for {warm:,} fans (sign-in; every key new to the service)")
        signed, start = 0, offset
        while signed < warm:
            w = wrk(srv.base, script="signin.lua", seconds=5,
                    env={"BENCH_KEY_PREFIX": prefix, "BENCH_OFFSET": str(offset + signed)})
            r.setdefault("signin", w)
            signed += w["requests"] - w["non2xx"]
        log(f"{mode_name}: POST /concerts/{{id}}/queue (join) by signed-in fans, a new ticket per request")
        r["join"] = wrk(srv.base, script="join.lua", seconds=join_seconds,
                        env={"BENCH_KEY_PREFIX": prefix, "BENCH_CONCERT": big, "BENCH_OFFSET": str(start),
                             "BENCH_LIMIT": str(signed)})
        r["join"]["fans_signed_in"] = signed
        r["join"]["rejoins"] = max(0, r["join"]["requests"] - signed)
        offset = start + signed + 100

        log(f"{mode_name}: POST /reservations on free seats")
        schedules = create_schedules(c, hold_concert, 100, 2000, 1000)
        if mode.redis_url:
            # 200,000 new seat rows: settled like seed_users' bulk load, so neither a vacuum of
            # them nor a timed checkpoint (and the full-page writes after it) lands inside the
            # measurement. Not `reservations`: see seed_users.
            psql(mode.db_name, "VACUUM ANALYZE seats, schedules")
            psql(mode.db_name, "CHECKPOINT")
        sfile = workdir / f"{mode_name}-schedules.txt"
        sfile.write_text("\n".join(schedules) + "\n")
        hfile = workdir / f"{mode_name}-holders.txt"
        hfile.write_text("".join(f"{prefix}{i} {t['token']}\n" for i, t in enumerate(holders)))
        r["hold"] = wrk(srv.base, script="hold.lua", seconds=d,
                        env={"BENCH_HOLDERS": str(hfile), "BENCH_SCHEDULES": str(sfile), "BENCH_SEATS": "2000"})

        log(f"{mode_name}: POST /payments on those holds")
        def held(i):
            items, cursor = [], None
            while True:
                q = "?limit=200" + (f"&cursor={cursor}" if cursor else "")
                _, body = c.call("GET", f"/api/v1/reservations{q}", key=f"{prefix}{i}")
                items += [x["id"] for x in body["items"] if x["status"] == "HELD"]
                cursor = body["nextCursor"]
                if not cursor:
                    return [(i, x) for x in items]
        # Interleaved across the 1,000 fans, as in a sale: payments in flight together are of
        # different fans, not 64 of one fan's waiting on its wallet row.
        per_fan = c.parallel(held, range(1000))
        pays = [per[k] for k in range(max(map(len, per_fan), default=0)) for per in per_fan if k < len(per)]
        pfile = workdir / f"{mode_name}-payments.txt"
        pfile.write_text("".join(f"{prefix}{i} {rid}\n" for i, rid in pays))
        r["pay"] = wrk(srv.base, script="pay.lua", seconds=max(2, d // 2), env={"BENCH_PAYMENTS": str(pfile)})
        r["pay"]["available"] = len(pays)

        log(f"{mode_name}: hot seat, 1,000 racers on one seat")
        # Paying retired the holders' queue tickets: they join again to race.
        racers = join_all(c, hold_concert, [f"{prefix}{i}" for i in range(1000)])
        assert all(t["status"] == "ACTIVE" for t in racers)
        rfile = workdir / f"{mode_name}-racers.txt"
        rfile.write_text("".join(f"{prefix}{i} {t['token']}\n" for i, t in enumerate(racers)))
        # The floor of this scenario: the same 1,000 simultaneous clicks, answered at the first
        # check (a queue token that does not verify), so the client and HTTP alone set the latency.
        bfile = workdir / f"{mode_name}-floor-racers.txt"
        bfile.write_text("".join(f"{prefix}{i} not-a-token\n" for i in range(1000)))
        hot, hot_k6 = create_schedules(c, hold_concert, 2, 10, 1000)
        r["hot_floor"] = racer(srv.base, hold_concert, bfile)
        r["hot_seat"] = racer(srv.base, hot, rfile, warm="seats")
        # The same race driven by k6 (one VU, one batch of 1,000 requests on warm connections),
        # next to its own floor: k6's cost per request is what sets most of that latency.
        m = k6("hot_seat.js", {"BASE": srv.base, "SCHEDULE": hold_concert, "HOLDERS": bfile},
               workdir / f"{mode_name}-hot-floor.json")
        r["hot_floor_k6"] = {"answered": metric(m, "hot_other"), "p50_ms": metric(m, "hot_click", "p(50)"),
                             "p99_ms": metric(m, "hot_click", "p(99)")}
        m = k6("hot_seat.js", {"BASE": srv.base, "SCHEDULE": hot_k6, "HOLDERS": rfile, "WARM": "seats"},
               workdir / f"{mode_name}-hot.json")
        r["hot_seat_k6"] = {"won": metric(m, "hot_won"), "lost": metric(m, "hot_lost"), "5xx": metric(m, "hot_5xx"),
                            "other": metric(m, "hot_other"), "new_connections": metric(m, "hot_new_connections"),
                            "p50_ms": metric(m, "hot_click", "p(50)"), "p99_ms": metric(m, "hot_click", "p(99)")}
        log(f"{mode_name}: filling one concert's queue to {args.waiters:,} waiters")
        mem_before = redis_used_mb() if mode.redis_url else None
        # Each wrk burst joins at most the fans still missing (BENCH_LIMIT wraps the keys round,
        # and a re-join keeps its ticket), so the line ends at exactly `waiters` tickets; the
        # last 1,000 are the pollers at the back.
        while offset < total - 2000:
            time.sleep(0.5)  # the gauge follows the line on the 200 ms tick
            missing = args.waiters - 1000 - srv.gauge("encore_queue_waiting", big)
            if missing <= 0:
                break
            w = wrk(srv.base, script="join.lua", seconds=max(1, min(5, missing // 40_000)),
                    env={"BENCH_KEY_PREFIX": prefix, "BENCH_CONCERT": big, "BENCH_OFFSET": str(offset),
                         "BENCH_LIMIT": str(missing)})
            offset += min(missing, w["requests"]) + 100
        tail = join_all(c, big, [f"{prefix}{i}" for i in range(total - 1000, total)])
        tail_tokens = workdir / f"{mode_name}-tail-tokens.txt"
        tail_tokens.write_text("\n".join(t["token"] for t in tail) + "\n")
        waiting = srv.gauge("encore_queue_waiting", big)
        log(f"{mode_name}: {waiting:,} waiting; polling tickets at the back of the line")
        r["scale"] = {
            "waiting": waiting,
            "last_position": max(t["position"] or 0 for t in tail),
            "encore_rss_mb": srv.rss_mb(),
            "redis_mb": (redis_used_mb() - mem_before) if mem_before is not None else None,
            "poll": wrk(srv.base, script="poll.lua", seconds=d, env={"BENCH_TOKENS": str(tail_tokens)}),
        }

    finally:
        srv.stop()
        mode.cleanup()

    log(f"{mode_name}: database ceiling (one-row UPDATE transactions through encore's pool)")
    ceiling_mode = Mode(mode_name, workdir, f"{mode_name}_ceiling")
    r["db_ceiling"] = db_ceiling(ceiling_mode.db_url)
    return r


def flash_sale(mode_name, workdir, args):
    """The flash sale from a pre-queue (`bench/k6/flash_sale.js`): every fan joins before
    onSaleAt; once k6 has made every join, onSaleAt is set a few seconds ahead; the bench's own
    probe fan then polls from onSaleAt until the draw has placed it (the draw time). k6 prints
    each fan's queue token; `benches/sold_out_sweep.rs` watches the line and, the instant it
    answers SOLD_OUT, polls every fan once (k6's VUs stop polling once they learn it)."""
    build_bench("sold_out_sweep")
    mode = Mode(mode_name, workdir, f"{mode_name}_sale")
    srv = Server(mode, queue_active_limit=1000)
    c = srv.client
    try:
        prefix = f"enc_sale_{secrets.token_hex(8)}_"
        log(f"{mode_name}: flash sale: seeding {args.fans:,} fans with wallets")
        # Fan `args.fans` is the bench's probe; k6 drives the others.
        seed_users(mode, 0, args.fans + 1, prefix, 10_000_000)
        concert = create_concert(c, "sold out in seconds", on_sale_at=iso(3600))
        create_schedules(c, concert, 100, 50, 50_000)
        status, probe = c.call("POST", f"/api/v1/concerts/{concert}/queue", key=f"{prefix}{args.fans}")
        assert status == 201 and probe["status"] == "PRE_QUEUE", (status, probe)
        log(f"{mode_name}: flash sale: {args.fans:,} fans join the pre-queue (100 dates x 50 seats, active cap 1,000)")
        summary = workdir / f"{mode_name}-sale.json"
        summary.unlink(missing_ok=True)
        e = dict(os.environ, BASE=srv.base, CONCERT=concert, KEY_PREFIX=prefix, USERS=str(args.fans),
                 VUS=str(args.vus), PRINT_TOKENS="1", SWEEP_AFTER_SOLD_OUT="0")
        proc = subprocess.Popen(["k6", "run", "--quiet", "--no-color", "--summary-export", str(summary),
                                 str(K6_DIR / "flash_sale.js")], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, env=e)
        vus, joined, tail, tokens = min(args.vus, args.fans), threading.Event(), [], []

        def read_stderr():
            done = 0
            for line in proc.stderr:
                if "BENCH-TOKEN " in line:
                    tokens.append(line.split("BENCH-TOKEN ", 1)[1].split()[0].strip('"'))
                elif "BENCH-JOINED" in line:
                    done += 1
                    if done == vus:
                        joined.set()
                else:
                    tail.append(line)
                    del tail[:-50]
            joined.set()
        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        joined.wait()
        if proc.poll() is not None:
            raise RuntimeError(f"k6 ended before the sale: {''.join(tail)[-2000:]}")
        joins_done = time.time()
        status, before = c.call("GET", f"/api/v1/concerts/{concert}/queue/draw")
        pre_queue = len(before["ticketIds"])
        tfile = workdir / f"{mode_name}-sale-tokens.txt"
        tfile.write_text("\n".join(tokens) + "\n")
        sweeper = subprocess.Popen([str(bench_exe("sold_out_sweep"))], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, env=dict(os.environ, BENCH_BASE=srv.base, BENCH_TOKENS=str(tfile)))
        # onSaleAt a few whole seconds ahead: every VU is polling one PRE_QUEUE ticket by then.
        on_sale = float(int(joins_done) + 4)
        status, body = c.call("PATCH", f"/api/v1/admin/concerts/{concert}",
                              {"onSaleAt": iso_at(on_sale)}, admin=True)
        assert status == 200, body
        log(f"{mode_name}: flash sale: {pre_queue:,} PRE_QUEUE tickets; onSaleAt {iso_at(on_sale)}")
        while time.time() < on_sale:
            time.sleep(min(0.05, max(on_sale - time.time(), 0)))
        try:
            draw = probe_draw(c, probe["token"], on_sale)
        except RuntimeError:
            proc.kill()
            sweeper.kill()
            raise
        status, after = c.call("GET", f"/api/v1/concerts/{concert}/queue/draw")
        c.call("DELETE", "/api/v1/queue", token=probe["token"])
        log(f"{mode_name}: flash sale: drawn {draw['draw_s'] * 1000:.0f} ms after onSaleAt; the sale runs")
        proc.wait()
        reader.join()
        if not summary.exists():
            raise RuntimeError(f"k6 failed: {''.join(tail)[-2000:]}")
        m = json.loads(summary.read_text())["metrics"]
        try:
            out, err = sweeper.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            sweeper.kill()
            raise RuntimeError("the sold-out sweep did not end within 2 minutes of k6")
        line = [l for l in out.splitlines() if l.startswith("{")]
        if not line:
            raise RuntimeError(f"sold_out_sweep failed: {err[-2000:]}")
        sweep = json.loads(line[-1])
    finally:
        srv.stop()
    sold = metric(m, "sale_seats_sold")
    sold_out_at = metric(m, "sale_paid_at", "max") / 1000
    sell_out_s = sold_out_at - on_sale if sold else 0
    first_active = metric(m, "sale_admitted_at", "min") / 1000
    seen = metric(m, "sale_sold_out_seen_at", "max") / 1000
    last_waiting = metric(m, "sale_last_waiting_at", "max") / 1000
    r = {
        "fans": args.fans, "joined": metric(m, "sale_joined"), "pre_queue_tickets": metric(m, "sale_pre_queue"),
        "pre_queue_in_draw": pre_queue, "seats_sold": sold,
        "join_phase_s": metric(m, "sale_joined_at_ms", "max") / 1000,
        "draw": draw, "draw_checked": check_draw(after),
        "first_active_s": first_active - on_sale if first_active else None,
        "time_to_sell_out_s": sell_out_s, "bookings_per_s": sold / sell_out_s if sell_out_s else 0,
        "saw_sold_out": metric(m, "sale_saw_sold_out"), "ended_waiting": metric(m, "sale_ended_waiting"),
        "expired": metric(m, "sale_expired"),
        "sweep": sweep,
        "sold_out_first_seen_s": sweep["first_seen_at"] / 1000 - sold_out_at if sold and sweep["first_seen_at"] else None,
        "sold_out_seen_s": sweep["sweep_end_at"] / 1000 - sold_out_at if sold else None,
        "k6_sold_out_seen_s": seen - sold_out_at if seen and sold else None,
        "last_waiting_after_s": last_waiting - sold_out_at if last_waiting and sold else None,
        "sweep_p50_ms": metric(m, "sale_sweep_ms", "p(50)"), "sweep_max_ms": metric(m, "sale_sweep_ms", "max"),
        "5xx": metric(m, "sale_5xx"), "hold_conflicts": metric(m, "sale_hold_conflicts"),
        "poll_p50_ms": metric(m, "sale_queue_poll", "p(50)"), "poll_p99_ms": metric(m, "sale_queue_poll", "p(99)"),
        "requests": metric(m, "http_reqs"),
    }
    r.update(check_database(mode))
    r["goals"] = sale_goals(r)
    mode.cleanup()
    return r


PURCHASE_RUNS = ((8, 2_000), (64, 6_000))  # (concurrent fans, fans who each buy one seat)


def purchases(mode_name, workdir, args, ceiling=None):
    """Whole purchases (`benches/purchase.rs`): admitted fans, 8 and then 64 at a time, each
    reads the seat map, holds a seat it shows free and pays, on one schedule per run with a
    quarter more seats than fans. Checked in the database afterwards: every seat sold once, one payment per
    CONFIRMED reservation."""
    build_bench("purchase")
    mode = Mode(mode_name, workdir, f"{mode_name}_purchases")
    fans = sum(n for _, n in PURCHASE_RUNS)
    srv = Server(mode, queue_active_limit=fans, hold_ttl="30m", queue_active_ttl="60m", queue_idle_timeout="30m")
    c = srv.client
    r = {"mode": mode_name, "runs": []}
    try:
        if ceiling is None:
            log(f"{mode_name}: purchases: database ceiling")
            ceiling = db_ceiling(mode.db_url)
        r["db_ceiling"] = ceiling
        prefix = f"enc_buy_{secrets.token_hex(8)}_"
        seed_users(mode, 0, fans, prefix, 1_000_000)
        concert = create_concert(c, "purchases")
        # A quarter more seats than buyers, in rows of 100: the last buyers still find seats.
        schedules = [create_plan_schedule(c, concert, plan(-(-n * 5 // 400), 100), i)[0]
                     for i, (_, n) in enumerate(PURCHASE_RUNS)]
        # The queue admits no more fans than places it knows of, which it reads once a second.
        time.sleep(2)
        first = 0
        for (conc, n), schedule in zip(PURCHASE_RUNS, schedules):
            keys = [f"{prefix}{i}" for i in range(first, first + n)]
            first += n
            log(f"{mode_name}: purchases: {n:,} fans admitted, {conc} buying at a time")
            tickets = join_all(c, concert, keys)
            assert all(t["status"] == "ACTIVE" for t in tickets)
            ffile = workdir / f"{mode_name}-buyers-{conc}.txt"
            ffile.write_text("".join(f"{k} {t['token']}\n" for k, t in zip(keys, tickets)))
            before = cpu_seconds()
            out = subprocess.run([str(bench_exe("purchase"))], capture_output=True, text=True,
                                 env=dict(os.environ, BENCH_BASE=srv.base, BENCH_SCHEDULE=schedule,
                                          BENCH_FANS=str(ffile), BENCH_CONCURRENCY=str(conc)))
            after = cpu_seconds()
            line = [l for l in out.stdout.splitlines() if l.startswith("{")]
            if not line:
                raise RuntimeError(f"purchase failed: {out.stderr[-2000:]}")
            run = json.loads(line[-1])
            run["cpu_us"] = cpu_per(before, after, run["purchases"])
            r["runs"].append(run)
    finally:
        srv.stop()
    r["oversold"] = db_count(mode, "SELECT COUNT(*) FROM (SELECT r.schedule_id, rs.number FROM reservation_seats rs "
                             "JOIN reservations r ON r.id = rs.reservation_id WHERE r.status = 'CONFIRMED' "
                             "GROUP BY r.schedule_id, rs.number HAVING COUNT(*) > 1) AS twice")
    r["sold"] = db_count(mode, "SELECT COUNT(*) FROM seats WHERE state = 'SOLD'")
    r["payments"] = db_count(mode, "SELECT COUNT(*) FROM payments")
    r["confirmed"] = db_count(mode, "SELECT COUNT(*) FROM reservations WHERE status = 'CONFIRMED'")
    mode.cleanup()
    return r


def purchases_report(p, title):
    if not p:
        return []
    ceil = p["db_ceiling"]["rps"]
    goal = 0.5 if p["mode"] == "sqlite" else 0.25
    lines = [f"### Whole purchases ({title})", "",
             "| fans at a time | purchases | per second | ratio to the DB ceiling | p50 ms | p99 ms | lost races | 5xx | "
             "CPU µs per purchase: encore / PostgreSQL / Redis |",
             "|---:|---:|---:|---|---:|---:|---:|---:|---|"]
    for run in p["runs"]:
        cpu = run.get("cpu_us") or {}
        cells = " / ".join(f"{cpu[g]:,.0f}" if cpu.get(g) is not None else "–" for g in CPU_GROUPS)
        lines.append(f"| {run['concurrency']} | {run['purchases']:,} of {run['fans']:,} | {run['per_s']:,.0f} | "
                     f"{ratio(run['per_s'], ceil)} | {run['p50_ms']:.1f} | {run['p99_ms']:.1f} | "
                     f"{run['lost_races']:,} | {run['5xx']} | {cells} |")
    at64 = next((x for x in p["runs"] if x["concurrency"] == 64), None)
    met = bool(at64 and at64["per_s"] >= goal * ceil and at64["p99_ms"] < 50 and at64["5xx"] == 0
               and p["oversold"] == 0 and p["sold"] == p["payments"] == p["confirmed"])
    lines += ["", f"- DB ceiling {ceil:,.0f}/s; in the database: {p['sold']:,} SOLD seats, {p['confirmed']:,} "
                  f"CONFIRMED reservations, {p['payments']:,} payments, {p['oversold']} seats sold twice",
              f"- goal: ≥ {goal}× the ceiling and p99 < 50 ms at 64 fans, 0 oversold, 0 5xx: "
              f"{'**met**' if met else '**not met**'}", ""]
    return lines


def streams(mode_name, workdir, args):
    """Open event streams (`benches/streams.rs`): `--streams` waiters of one paused concert each
    keep `GET /queue/events` open; once every stream has had its first event, the queue is
    unpaused with an active limit of 1,000 (one admission wave) and each stream's next event is
    timed from that instant: ACTIVE for the first 1,000, a new position for the rest. encore's
    RSS before the streams, with them open, and after the wave."""
    build_bench("streams")
    mode = Mode(mode_name, workdir, f"{mode_name}_streams")
    n = args.streams
    # The streams share HTTP/2 connections (200 each): a few hundred connections in all.
    srv = Server(mode, queue_idle_timeout="30m", queue_active_ttl="60m")
    c = srv.client
    r = {"mode": mode_name, "streams": n}
    try:
        prefix = f"enc_stream_{secrets.token_hex(8)}_"
        seed_users(mode, 0, n, prefix, 0)
        concert = create_concert(c, "streams")
        create_schedules(c, concert, 1, 2000, 1000)
        path = f"/api/v1/admin/concerts/{concert}/queue"
        status, body = c.call("PATCH", path, {"paused": True}, admin=True)
        assert status == 200, body
        log(f"{mode_name}: streams: {n:,} fans join a paused queue")
        tickets = join_all(c, concert, [f"{prefix}{i}" for i in range(n)])
        assert all(t["status"] == "WAITING" for t in tickets)
        tfile = workdir / f"{mode_name}-stream-tokens.txt"
        tfile.write_text("".join(f"{t['token']}\n" for t in tickets))
        r["rss_before_mb"] = srv.rss_mb()
        log(f"{mode_name}: streams: opening {n:,} event streams")
        client = subprocess.Popen([str(bench_exe("streams"))], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=dict(os.environ, BENCH_BASE=srv.base, BENCH_TOKENS=str(tfile)))
        line = client.stdout.readline()
        if line.strip() != "READY":
            client.kill()
            raise RuntimeError(f"streams failed: {line} {client.stderr.read()[-2000:]}")
        time.sleep(2)
        r["rss_open_mb"] = srv.rss_mb()
        log(f"{mode_name}: streams: {n:,} open; one admission wave of 1,000")
        t0 = time.time() * 1000
        status, body = c.call("PATCH", path, {"paused": False, "activeLimit": 1000}, admin=True)
        assert status == 200, body
        out, err = client.communicate(timeout=120)
        got = json.loads([l for l in out.splitlines() if l.startswith("{")][-1])
        r["rss_after_mb"] = srv.rss_mb()
    finally:
        srv.stop()
    delays = sorted(max(0.0, a - t0) for a in got["arrivals_ms"])
    pick = lambda p: delays[min(len(delays) - 1, int(len(delays) * p))] if delays else None
    r.update({"next_events": got["next_events"], "active": got["active"],
              "delivery_p50_ms": pick(0.5), "delivery_p99_ms": pick(0.99),
              "delivery_max_ms": delays[-1] if delays else None})
    mode.cleanup()
    return r


def streams_report(x, title):
    if not x:
        return []
    met = (x["next_events"] == x["streams"] and x["rss_open_mb"] < 1024
           and x["delivery_p99_ms"] is not None and x["delivery_p99_ms"] < 2000)
    return [f"### Event streams ({title})", "",
            f"- {x['streams']:,} streams open on one instance over {-(-x['streams'] // 200):,} cleartext HTTP/2 "
            f"connections (200 streams each); after one admission wave of 1,000, "
            f"{x['next_events']:,} had their next event ({x['active']:,} ACTIVE): p50 "
            f"{x['delivery_p50_ms']:.0f} ms, p99 {x['delivery_p99_ms']:.0f} ms, max {x['delivery_max_ms']:.0f} ms "
            f"after the wave",
            f"- encore RSS: {x['rss_before_mb']:.0f} MB before the streams, {x['rss_open_mb']:.0f} MB with them "
            f"open, {x['rss_after_mb']:.0f} MB after the wave",
            f"- goal (issue #17, at 50,000 streams): RSS < 1 GB, p99 < 2 s: "
            f"{'**met**' if met else '**not met**'} at {x['streams']:,}", ""]


def probe_draw(c, token, on_sale):
    """From onSaleAt, the probe fan's ticket polled back to back until it is no longer PRE_QUEUE:
    the draw time. The first queue call after onSaleAt makes the draw, so one of these polls (or
    a k6 VU's) waits for it."""
    polls, slowest, unavailable = 0, 0.0, 0
    while True:
        sent = time.time()
        status, t = c.call("GET", "/api/v1/queue", token=token)
        now = time.time()
        polls, slowest = polls + 1, max(slowest, now - sent)
        if now - on_sale > 60:
            raise RuntimeError(f"the pre-queue was not drawn within 60 s of onSaleAt ({unavailable} polls got 503)")
        if status == 503:
            unavailable += 1
            continue
        assert status == 200, (status, t)
        if t["status"] != "PRE_QUEUE":
            return {"draw_s": now - on_sale, "probe_status": t["status"], "probe_position": t.get("position"),
                    "polls": polls, "slowest_poll_s": slowest, "probe_503": unavailable}


def check_draw(view):
    """The published draw, checked as any fan can: the seed against its commitment, and the
    order recomputed from the seed."""
    import hmac
    seed = bytes.fromhex(view["seed"]) if view.get("seed") else None
    ids = view["ticketIds"]
    ok = bool(view["drawn"] and seed and hashlib.sha256(seed).hexdigest() == view["commitment"]
              and sorted(ids, key=lambda t: hmac.new(seed, t.encode(), hashlib.sha256).digest()) == ids)
    return {"drawn": view["drawn"], "tickets": len(ids), "order_verified": ok}


def sale_goals(r):
    return {
        "sale": {"goal": "sold out, 0 oversold, 0 5xx, 0 double debits",
                 "met": r["seats_sold_in_db"] == r["seats_total"] and r["oversold"] == 0 and r["5xx"] == 0
                 and r["double_debits"] == 0 and r["balance_not_ledger"] == 0},
        "draw": {"goal": "pre-queue of 100,000 drawn < 1 s after onSaleAt",
                 "met": r["draw"]["draw_s"] < 1 and r["draw_checked"]["order_verified"]},
        "sold_out": {"goal": "every waiter sees SOLD_OUT < 2 s after the sell-out, none left WAITING",
                     "met": r["sold_out_seen_s"] is not None and r["sold_out_seen_s"] < 2
                     and r["sweep"]["waiting"] == 0 and r["sweep"]["5xx"] == 0},
    }


def check_database(mode):
    """After the sale, in the database itself: no seat sold twice, no double debit, every balance
    equal to its ledger."""
    queries = {
        "seats_sold_in_db": "SELECT COUNT(*) FROM seats WHERE state = 'SOLD'",
        "confirmed": "SELECT COUNT(*) FROM reservations WHERE status = 'CONFIRMED'",
        "payments": "SELECT COUNT(*) FROM payments",
        "oversold": "SELECT COUNT(*) FROM (SELECT r.schedule_id, p.number FROM reservations r "
                    "JOIN reservation_seats p ON p.reservation_id = r.id WHERE r.status = 'CONFIRMED' "
                    "GROUP BY r.schedule_id, p.number HAVING COUNT(*) > 1) x",
        "double_debits": "SELECT COUNT(*) FROM (SELECT reservation_id FROM wallet_transactions "
                         "WHERE kind = 'PAYMENT' GROUP BY reservation_id HAVING COUNT(*) > 1) x",
        "balance_not_ledger": "SELECT COUNT(*) FROM wallets w WHERE w.balance <> (SELECT COALESCE(SUM(t.amount), 0) "
                              "FROM wallet_transactions t WHERE t.user_id = w.user_id)",
        "seats_total": "SELECT COUNT(*) FROM seats",
    }
    out = {}
    for k, q in queries.items():
        if mode.sqlite:
            db = sqlite3.connect(mode.sqlite, timeout=60)
            out[k] = db.execute(q).fetchone()[0]
            db.close()
        else:
            out[k] = int(psql(mode.db_name, q))
    return out


# ---------------------------------------------------------------- venues

# A stadium of 70,000 places: 66 rows of 1,000 seats and a standing floor of 4,000.
STADIUM_ROWS, STADIUM_ROW_SEATS, STADIUM_STANDING = 66, 1000, 4000
# Orders on the stadium take its 4-seat blocks in steps of this many, a prime that divides no
# block count, so held blocks are scattered over the stands as in a real on-sale (and the
# compressed map grows as a real one does) rather than filling it from the front.
STADIUM_STRIDE = 7919
# The schedules that 4-seat orders fill: rows of 20 seats, so each order is one block of a row.
ORDER_ROWS, ORDER_ROW_SEATS, ORDER_SEATS = 200, 20, 4
RACERS = 1000


def plan(rows, row_seats, section="A", standing=0, extra=()):
    """One grade; section `section` of `rows` rows of `row_seats` seats ("1", "2", …), then a
    standing section GA of `standing` places if any, then the sections in `extra`."""
    sections = [{"code": section, "name": "Stands", "grade": "R",
                 "rows": [{"row": str(r), "seats": row_seats} for r in range(1, rows + 1)]}]
    if standing:
        sections.append({"code": "GA", "name": "Floor", "grade": "R", "standing": standing})
    return {"grades": [{"code": "R", "name": "R", "price": 99000}], "sections": sections + list(extra)}


def create_plan_schedule(c, concert, the_plan, i=0):
    """A schedule of `the_plan`, open for booking now; returns its id and the seconds the POST took."""
    body = {"startsAt": iso(86400 * 30 + i * 3600), "bookingOpensAt": iso(-3600),
            "bookingClosesAt": iso(86400 * 29), "plan": the_plan}
    start = time.perf_counter()
    status, resp = c.call("POST", f"/api/v1/admin/concerts/{concert}/schedules", body, admin=True)
    took = time.perf_counter() - start
    assert status == 201, resp
    return resp["id"], took


def seatmap(port, schedule, key, token):
    """The seat map as a fan's page reads it (gzip): its size on the wire, its size as JSON, and
    the map."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", f"/api/v1/schedules/{schedule}/seatmap", headers={
        "Authorization": f"Bearer {key}", "X-Queue-Token": token, "Accept-Encoding": "gzip"})
    res = conn.getresponse()
    body = res.read()
    encoding = res.getheader("Content-Encoding")
    conn.close()
    assert res.status == 200 and encoding == "gzip", (res.status, encoding)
    raw = gzip.decompress(body)
    return len(body), len(raw), json.loads(raw)


def sql_uuid(mode, value):
    return f"X'{uuid.UUID(value).hex}'" if mode.sqlite else f"'{value}'"


def db_count(mode, sql):
    if mode.sqlite:
        db = sqlite3.connect(mode.sqlite, timeout=60)
        n = db.execute(sql).fetchone()[0]
        db.close()
        return n
    return int(psql(mode.db_name, sql))


def venues(mode_name, workdir, args, ceiling=None):
    """The venue figures: 4-seat orders against the DB ceiling, a 70,000-place schedule's
    creation time, that schedule's seat map (size, and p99 while holds are made on it), and the
    hot seat as orders of 2–4 seats that share one seat. `ceiling`: the DB ceiling this run
    already measured, if any."""
    mode = Mode(mode_name, workdir, f"{mode_name}_venues")
    # The per-fan caps raised so that 1,000 fans can make every order of the run.
    srv = Server(mode, queue_active_limit=1000, max_holds_per_user=1_000_000, max_tickets_per_user=1_000_000,
                 hold_ttl="30m", queue_idle_timeout="30m", queue_active_ttl="60m", db_pool_size=16)
    c = srv.client
    r = {"mode": mode_name}
    d = args.seconds
    try:
        log(f"{mode_name}: venues: HTTP floor GET /health")
        r["health"] = wrk(srv.base, "/health", seconds=d)
        prefix = f"enc_venue_{secrets.token_hex(8)}_"
        seed_users(mode, 0, RACERS, prefix, 0)
        keys = [f"{prefix}{i}" for i in range(RACERS)]
        orders_concert, stadium_concert, hot_concert = (create_concert(c, t) for t in ("orders", "stadium", "hot"))

        log(f"{mode_name}: venues: creating 70,000-place schedules (66 rows x 1,000 seats + 4,000 standing)")
        stadium = plan(STADIUM_ROWS, STADIUM_ROW_SEATS, section="S", standing=STADIUM_STANDING)
        made = [create_plan_schedule(c, stadium_concert, stadium, i) for i in range(3)]
        stadiums = [m[0] for m in made]
        times = sorted(m[1] for m in made)
        r["stadium_create"] = {"places": STADIUM_ROWS * STADIUM_ROW_SEATS + STADIUM_STANDING,
                               "seconds": [m[1] for m in made], "median_s": times[1], "max_s": times[-1]}

        nsched = max(10, 10 * d)  # 1,000 orders each: more than any machine makes in d seconds
        log(f"{mode_name}: venues: {nsched} schedules of {ORDER_ROWS} rows x {ORDER_ROW_SEATS} seats for the orders")
        order_plan = plan(ORDER_ROWS, ORDER_ROW_SEATS)
        order_schedules = c.parallel(lambda i: create_plan_schedule(c, orders_concert, order_plan, i)[0],
                                     range(nsched), workers=4)
        # The hot seat H-1-1, and a row of 3 seats of its own per racer in section S.
        hot_plan = plan(RACERS, 3, section="S", extra=[
            {"code": "H", "name": "Hot", "grade": "R", "rows": [{"row": "1", "seats": 1}]}])
        hot, _ = create_plan_schedule(c, hot_concert, hot_plan)
        if mode.redis_url:
            # Settled as the endpoints' holds are: no vacuum or checkpoint of the new seat rows
            # inside a measurement.
            psql(mode.db_name, "VACUUM ANALYZE seats, schedules")
            psql(mode.db_name, "CHECKPOINT")

        holders = workdir / f"{mode_name}-venue-holders.txt"
        fans = join_all(c, orders_concert, keys)
        holders.write_text("".join(f"{k} {t['token']}\n" for k, t in zip(keys, fans)))
        sfile = workdir / f"{mode_name}-venue-schedules.txt"
        sfile.write_text("\n".join(order_schedules) + "\n")
        log(f"{mode_name}: venues: POST /reservations, orders of 4 adjacent seats by label")
        r["orders"] = wrk(srv.base, script="order.lua", seconds=d, env={
            "BENCH_HOLDERS": str(holders), "BENCH_SCHEDULES": str(sfile), "BENCH_ROWS": str(ORDER_ROWS),
            "BENCH_ROW_SEATS": str(ORDER_ROW_SEATS), "BENCH_ORDER_SEATS": str(ORDER_SEATS)})

        stadium_fans = join_all(c, stadium_concert, keys)
        sholders = workdir / f"{mode_name}-stadium-holders.txt"
        sholders.write_text("".join(f"{k} {t['token']}\n" for k, t in zip(keys, stadium_fans)))
        one = workdir / f"{mode_name}-stadium-schedule.txt"
        one.write_text(stadiums[0] + "\n")
        map_env = {"BENCH_HOLDERS": str(sholders), "BENCH_SCHEDULE": stadiums[0]}
        size_fresh, _, fresh = seatmap(srv.port, stadiums[1], keys[0], stadium_fans[0]["token"])
        assert fresh["places"] == r["stadium_create"]["places"], fresh["places"]
        log(f"{mode_name}: venues: GET /seatmap of 70,000 places, nothing changing")
        r["map_quiet"] = wrk(srv.base, script="seatmap.lua", seconds=d, env=map_env)
        log(f"{mode_name}: venues: GET /seatmap of 70,000 places while orders of 4 are held on it")
        # A steady flow of orders on the same schedule (2 connections, 10 ms apart each, about
        # 100 orders a second), so the map changes between most reads, as in an on-sale.
        with concurrent.futures.ThreadPoolExecutor(1) as ex:
            flow = ex.submit(wrk, srv.base, script="order.lua", seconds=d + 2, conns=2, env={
                "BENCH_HOLDERS": str(sholders), "BENCH_SCHEDULES": str(one), "BENCH_SECTION": "S",
                "BENCH_ROWS": str(STADIUM_ROWS), "BENCH_ROW_SEATS": str(STADIUM_ROW_SEATS),
                "BENCH_ORDER_SEATS": str(ORDER_SEATS), "BENCH_STRIDE": str(STADIUM_STRIDE), "BENCH_DELAY_MS": "10"})
            time.sleep(1)
            r["map_busy"] = wrk(srv.base, script="seatmap.lua", seconds=d, env=map_env)
            r["map_busy"]["orders"] = flow.result()
        size_held, json_held, held = seatmap(srv.port, stadiums[0], keys[0], stadium_fans[0]["token"])
        r["map_size"] = {"fresh_bytes": size_fresh, "after_holds_bytes": size_held, "json_bytes": json_held,
                         "available_after_holds": held["available"]}

        log(f"{mode_name}: venues: hot seat, {RACERS:,} orders of 2-4 seats sharing one seat")
        racers = join_all(c, hot_concert, keys)
        assert all(t["status"] == "ACTIVE" for t in racers)
        rfile = workdir / f"{mode_name}-venue-racers.txt"
        rfile.write_text("".join(f"{k} {t['token']}\n" for k, t in zip(keys, racers)))
        bfile = workdir / f"{mode_name}-venue-floor-racers.txt"
        bfile.write_text("".join(f"{k} not-a-token\n" for k in keys))
        r["hot_floor"] = racer(srv.base, hot_concert, bfile)
        r["hot_shared"] = racer(srv.base, hot, rfile, warm="seatmap", order="shared")
        live = f"schedule_id = {sql_uuid(mode, hot)}"
        r["hot_shared"]["reservations_in_db"] = db_count(mode, f"SELECT COUNT(*) FROM reservations WHERE {live}")
        r["hot_shared"]["seats_held_in_db"] = db_count(mode, f"SELECT COUNT(*) FROM seats WHERE {live} AND state = 'HELD'")
    finally:
        srv.stop()
        mode.cleanup()

    if ceiling is None:
        log(f"{mode_name}: database ceiling (one-row UPDATE transactions through encore's pool)")
        ceiling = db_ceiling(Mode(mode_name, workdir, f"{mode_name}_venue_ceiling").db_url)
    r["db_ceiling"] = ceiling
    r["goals"] = venue_goals(mode_name, r)
    return r


def venue_goals(mode_name, r):
    """Each venue goal: what it asks, and whether this run met it (None: not a goal in this mode)."""
    hs, busy = r["hot_shared"], r["map_busy"]
    orders = r["orders"]["rps"] / r["db_ceiling"]["rps"]
    return {
        "orders": {"goal": "≥ 0.5× the one-row-UPDATE ceiling (PostgreSQL mode)",
                   "met": orders >= 0.5 if mode_name == "postgres" else None},
        "stadium_create": {"goal": "< 2 s", "met": r["stadium_create"]["max_s"] < 2},
        "map_size": {"goal": "≤ 150,000 bytes gzip", "met": r["map_size"]["after_holds_bytes"] <= 150_000
                     and r["map_size"]["fresh_bytes"] <= 150_000},
        "map_p99": {"goal": "p99 < 20 ms at 64 connections while holds are made",
                    "met": busy["p99_ms"] is not None and busy["p99_ms"] < 20 and busy["non2xx"] == 0},
        "hot_shared": {"goal": "one 201, the rest 409, no 5xx, p99 < 50 ms",
                       "met": hs["won"] == 1 and hs["lost"] == RACERS - 1 and hs["5xx"] == 0
                       and hs["p99_ms"] < 50 and hs["reservations_in_db"] == 1},
    }


# ---------------------------------------------------------------- report

def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "–"


def report(results, args):
    lines = [f"# encore benchmark run, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", "",
             f"Machine: {os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB; "
             f"wrk -t2 -c{CONNS}, {args.seconds}s per endpoint; load generator on the same machine.", ""]
    for mode in ("sqlite", "postgres"):
        title = "SQLite + embedded queue" if mode == "sqlite" else "PostgreSQL + Redis"
        if any(f"{mode}_{part}" in results for part in PARTS):
            lines += [f"## {title}", ""]
        lines += endpoints_report(results.get(f"{mode}_endpoints"))
        lines += purchases_report(results.get(f"{mode}_purchases"), title)
        lines += sale_report(results.get(f"{mode}_sale"), title)
        lines += venues_report(results.get(f"{mode}_venues"), title)
        lines += streams_report(results.get(f"{mode}_streams"), title)
    return "\n".join(lines)


def endpoints_report(e):
    if not e:
        return []
    h, ceil = e["health"]["rps"], e["db_ceiling"]["rps"]
    lines = ["| measurement | req/s | p50 ms | p99 ms | ratio to its ceiling | non-2xx |",
             "|---|---:|---:|---:|---|---:|"]

    def row(name, x, ceiling, cname):
        lines.append(f"| {name} | {x['rps']:,.0f} | {x['p50_ms'] or 0:.2f} | {x['p99_ms'] or 0:.2f} | "
                     f"{ratio(x['rps'], ceiling)} {cname} | {x.get('non2xx', 0):,} |")
    row("GET /health (HTTP floor)", e["health"], h, "floor")
    row("GET /queue (poll, 1k waiters)", e["poll"], h, "floor")
    row("GET /users/me, key never seen (auth cache miss)", e["signin"], h, "floor")
    row("POST …/queue (join), fan never seen", e["join_cold"], h, "floor")
    row("POST …/queue (join), signed-in fan", e["join"], h, "floor")
    row(f"GET /queue at {e['scale']['waiting']:,} waiters", e["scale"]["poll"], h, "floor")
    row("POST /reservations (free seats)", e["hold"], ceil, "DB ceiling")
    row("POST /payments", e["pay"], ceil, "DB ceiling")
    c = e["db_ceiling"]
    lines.append(f"| one-row UPDATE tx through the pool (DB ceiling) | {c['rps']:,.0f} | {c['p50_ms']:.2f} | "
                 f"{c['p99_ms']:.2f} | 1.00× DB ceiling | 0 |")
    s, hs, k = e["scale"], e["hot_seat"], e["hot_seat_k6"]
    lines += ["", f"- 1M-waiter line: {s['waiting']:,} WAITING on one concert, last position {s['last_position']:,}; "
                  f"encore RSS {s['encore_rss_mb']:.0f} MB" +
                  (f"; Redis memory for the line {s['redis_mb']:.0f} MB" if s["redis_mb"] is not None else ""),
              f"- hot seat (one-thread racer, `benches/hot_seat.rs`): {hs['won']} × 201, {hs['lost']} × 409, "
              f"{hs['5xx']} × 5xx, {hs['other']} other; p50 {hs['p50_ms']:.1f} ms, p99 {hs['p99_ms']:.1f} ms; the same "
              f"1,000 clicks rejected at the first check (floor): p50 {e['hot_floor']['p50_ms']:.1f} ms, "
              f"p99 {e['hot_floor']['p99_ms']:.1f} ms; p99 {ratio(hs['p99_ms'], e['hot_floor']['p99_ms'])} the floor's",
              f"- hot seat driven by k6 (one batch): {k['won']} × 201, {k['lost']} × 409, {k['5xx']} × 5xx, "
              f"{k['other']} other, {k['new_connections']} clicks opened a connection; p50 {k['p50_ms']:.1f} ms, "
              f"p99 {k['p99_ms']:.1f} ms; k6's floor: p50 {e['hot_floor_k6']['p50_ms']:.1f} ms, "
              f"p99 {e['hot_floor_k6']['p99_ms']:.1f} ms",
              f"- payments: {e['pay']['available']:,} holds were available to pay; signed-in join: "
              f"{e['join']['fans_signed_in']:,} fans signed in, {e['join']['rejoins']:,} requests were re-joins", ""]
    lines += ["CPU per request (µs of each process group's CPU time over the measurement, divided by "
              "its requests; the basis of the sizing model in BENCHMARKS.md):", "",
              "| request | encore | PostgreSQL | Redis |", "|---|---:|---:|---:|"]
    for name, key in (("GET /health", "health"), ("GET /queue (poll)", "poll"),
                      ("POST …/queue (join), signed-in fan", "join"), ("POST /reservations (hold)", "hold"),
                      ("POST /payments", "pay")):
        cpu = e[key].get("cpu_us") or {}
        cells = [f"{cpu[g]:,.0f}" if cpu.get(g) is not None else "–" for g in CPU_GROUPS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def sale_report(f, title):
    if not f:
        return []
    g, d, sw = f["goals"], f["draw"], f["sweep"]
    seen = "–" if f["sold_out_seen_s"] is None else f"{f['sold_out_seen_s']:.2f} s"
    last = ("–" if f["last_waiting_after_s"] is None else
            f"{f['last_waiting_after_s']:.2f} s" if f["last_waiting_after_s"] > 0 else "none after the sell-out")
    first = "–" if f["first_active_s"] is None else f"{f['first_active_s']:.2f} s"
    fs = f["sold_out_first_seen_s"]
    first_seen = "–" if fs is None else f"{abs(fs):.2f} s {'after' if fs >= 0 else 'before'} k6 had its answer"
    rows = [
        ("sale: seats sold, oversold, 5xx, double debits",
         f"{f['seats_sold']:,} of {f['seats_total']:,} sold in {f['time_to_sell_out_s']:.1f} s from onSaleAt "
         f"({f['bookings_per_s']:.0f} completed bookings/s); oversold {f['oversold']}, 5xx {f['5xx']}, "
         f"double debits {f['double_debits']}, balances off their ledger {f['balance_not_ledger']}", g["sale"]),
        (f"draw of {f['pre_queue_in_draw']:,} PRE_QUEUE tickets",
         f"{d['draw_s'] * 1000:.0f} ms from onSaleAt until the probe fan is placed ({d['probe_status']}); "
         f"slowest probe poll {d['slowest_poll_s'] * 1000:.0f} ms, {d.get('probe_503', 0)} of its polls 503; first fan ACTIVE {first} after onSaleAt; "
         f"order recomputed from the seed: {'verified' if f['draw_checked']['order_verified'] else 'DIFFERS'}",
         g["draw"]),
        ("every waiter sees SOLD_OUT",
         f"{seen} from the last payment until every waiter had been answered SOLD_OUT (the first "
         f"{first_seen}; then one sweep of {sw['tickets']:,} tickets in "
         f"{sw['sweep_ms']:.0f} ms: {sw['sold_out']:,} SOLD_OUT, {sw['waiting']:,} WAITING, "
         f"{sw['gone']:,} gone (bought or left), {sw['active']:,} ACTIVE, {sw['5xx']} 5xx); "
         f"k6's last WAITING answer after the sell-out: {last}", g["sold_out"]),
    ]
    lines = [f"### Flash sale ({title})", "", "| figure | measured | goal | status |", "|---|---|---|---|"]
    lines += [f"| {name} | {m} | {goal['goal']} | {status(goal['met'])} |" for name, m, goal in rows]
    lines += ["",
              f"- {f['joined']:,} fans joined in {f['join_phase_s']:.1f} s, {f['pre_queue_tickets']:,} of them PRE_QUEUE; "
              f"{f['expired']:,} tickets expired (410) during the sale",
              f"- in the database: {f['seats_sold_in_db']} SOLD seats, {f['confirmed']} CONFIRMED reservations, "
              f"{f['payments']} payments",
              f"- queue poll during the sale: p50 {f['poll_p50_ms']:.2f} ms, p99 {f['poll_p99_ms']:.2f} ms; "
              f"{f['hold_conflicts']:,} lost seat races retried; {f['requests']:,} requests",
              f"- k6 stops polling once it learns of the sell-out; the sweep above polls every fan instead", ""]
    return lines


def status(met):
    return "not a target in this mode" if met is None else ("**met**" if met else "**not met**")


def venues_report(v, title):
    if not v:
        return []
    g, c, h = v["goals"], v["db_ceiling"], v["health"]
    o, quiet, busy, flow = v["orders"], v["map_quiet"], v["map_busy"], v["map_busy"]["orders"]
    sc, ms, hs, hf = v["stadium_create"], v["map_size"], v["hot_shared"], v["hot_floor"]
    rows = [
        ("POST /reservations, orders of 4 adjacent seats by label",
         f"{o['rps']:,.0f} orders/s ({o['rps'] * ORDER_SEATS:,.0f} seats/s); p50 {o['p50_ms'] or 0:.2f} ms, "
         f"p99 {o['p99_ms'] or 0:.2f} ms; {o['non2xx']:,} non-2xx",
         f"one-row UPDATE {c['rps']:,.0f}/s", ratio(o["rps"], c["rps"]), g["orders"]),
        (f"POST a schedule of {sc['places']:,} places (66 rows × 1,000 seats + 4,000 standing), 3 times",
         f"median {sc['median_s']:.2f} s, slowest {sc['max_s']:.2f} s", "–", "–", g["stadium_create"]),
        ("its seat map, gzip", f"{ms['after_holds_bytes']:,} bytes after the holds below "
         f"({ms['json_bytes']:,} bytes of JSON); {ms['fresh_bytes']:,} bytes with every place free", "–", "–",
         g["map_size"]),
        ("GET …/seatmap at 64 connections while orders are held on that schedule",
         f"{busy['rps']:,.0f}/s; p50 {busy['p50_ms'] or 0:.2f} ms, p99 {busy['p99_ms'] or 0:.2f} ms; "
         f"{busy['non2xx']:,} non-2xx; beside {flow['rps']:,.0f} orders/s ({flow['non2xx']:,} non-2xx)",
         f"GET /health {h['rps']:,.0f}/s, p99 {h['p99_ms'] or 0:.2f} ms",
         f"{ratio(busy['rps'], h['rps'])} floor; p99 {ratio(busy['p99_ms'], h['p99_ms'])} the floor's", g["map_p99"]),
        (f"hot seat: {RACERS:,} orders of 2–4 seats sharing one",
         f"{hs['won']} × 201, {hs['lost']} × 409, {hs['5xx']} × 5xx, {hs['other']} other; p50 {hs['p50_ms']:.1f} ms, "
         f"p99 {hs['p99_ms']:.1f} ms; in the database {hs['reservations_in_db']} reservation, "
         f"{hs['seats_held_in_db']} seats held",
         f"the same clicks rejected at the first check: p99 {hf['p99_ms']:.1f} ms",
         f"p99 {ratio(hs['p99_ms'], hf['p99_ms'])} the floor's", g["hot_shared"]),
    ]
    lines = [f"### Venues ({title})", "", "| figure | measured | its ceiling | ratio | goal | status |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {name} | {m} | {ceil} | {rt} | {goal['goal']} | {status(goal['met'])} |"
              for name, m, ceil, rt, goal in rows]
    lines += ["", f"- the same map with nothing changing: {quiet['rps']:,.0f}/s, p50 {quiet['p50_ms'] or 0:.2f} ms, "
                  f"p99 {quiet['p99_ms'] or 0:.2f} ms ({ratio(quiet['rps'], h['rps'])} the floor)",
              f"- schedule creation, each POST: " + ", ".join(f"{t:.2f} s" for t in sc["seconds"]), ""]
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--modes", default="sqlite,postgres")
    ap.add_argument("--only", default=",".join(PARTS),
                    help="parts to run, of " + ", ".join(PARTS) + " (each in every mode); default all")
    ap.add_argument("--seconds", type=int, default=10, help="wrk duration per endpoint")
    ap.add_argument("--waiters", type=int, default=1_000_000, help="size of the scale test's line")
    ap.add_argument("--fans", type=int, default=100_000)
    ap.add_argument("--warm", type=int, default=400_000, help="fans signed in before the signed-in join")
    ap.add_argument("--vus", type=int, default=400)
    ap.add_argument("--skip-sale", action="store_true")
    ap.add_argument("--streams", type=int, default=50_000,
                    help="open event streams, 200 to an HTTP/2 connection")
    args = ap.parse_args()
    parts = [ALIASES.get(p, p) for p in args.only.split(",") if p]
    unknown = set(parts) - set(PARTS)
    if unknown:
        ap.error(f"--only: unknown part(s) {', '.join(sorted(unknown))}; the parts are {', '.join(PARTS)}")
    if args.skip_sale and "sale" in parts:
        parts.remove("sale")
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    results = {}
    with tempfile.TemporaryDirectory(prefix="encore-bench-") as wd:
        wd = Path(wd)
        for mode in args.modes.split(","):
            if "endpoints" in parts:
                results[f"{mode}_endpoints"] = endpoints(mode, wd, args)
            if "purchases" in parts:
                ceiling = results.get(f"{mode}_endpoints", {}).get("db_ceiling")
                results[f"{mode}_purchases"] = purchases(mode, wd, args, ceiling)
            if "sale" in parts:
                results[f"{mode}_sale"] = flash_sale(mode, wd, args)
            if "venues" in parts:
                ceiling = results.get(f"{mode}_endpoints", {}).get("db_ceiling")
                results[f"{mode}_venues"] = venues(mode, wd, args, ceiling)
            if "streams" in parts:
                results[f"{mode}_streams"] = streams(mode, wd, args)
            (out_dir / "latest.json").write_text(json.dumps(results, indent=2))
    text = report(results, args)
    (out_dir / "latest.md").write_text(text + "\n")
    print("\n" + text)


if __name__ == "__main__":
    sys.exit(main())
