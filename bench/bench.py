#!/usr/bin/env python3
"""encore benchmarks: ceilings and endpoints measured in one run, in both modes.

Every figure is printed next to a ceiling taken in the same run on the same machine (the HTTP
floor `GET /health`, and a one-row-UPDATE transaction through encore's own pool), because these
machines are noisy. Run through `bench/run`; results land in bench/results/latest.{json,md}.
"""

import argparse
import concurrent.futures
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
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset_s))


def create_concert(c, title):
    status, body = c.call("POST", "/api/v1/admin/concerts", {"title": title, "performer": "Bench"}, admin=True)
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


def wrk(base, path="/", script=None, seconds=10, env=None, conns=CONNS):
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if script:
        cmd += ["-s", str(WRK_DIR / script)]
    e = dict(os.environ, BENCH_WRK_DIR=str(WRK_DIR), BENCH_THREADS="2", **(env or {}))
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


def db_ceiling(db_url):
    out = subprocess.run(["cargo", "bench", "--quiet", "--bench", "db_ceiling"], cwd=ROOT, capture_output=True,
                         text=True, env=dict(os.environ, BENCH_DATABASE_URL=db_url, BENCH_SECONDS="10"))
    line = [l for l in out.stdout.splitlines() if l.startswith("{")]
    if not line:
        raise RuntimeError(f"db_ceiling failed: {out.stderr[-2000:]}")
    return json.loads(line[-1])


def racer(base, schedule, holders, warm="health"):
    """The hot seat from `benches/hot_seat.rs`: a one-thread client on warm connections.

    `warm="seats"`: each racer first reads the seat map, as a fan's page does before the click.
    """
    out = subprocess.run(["cargo", "bench", "--quiet", "--bench", "hot_seat"], cwd=ROOT, capture_output=True,
                         text=True, env=dict(os.environ, BENCH_BASE=base, BENCH_SCHEDULE=schedule,
                                             BENCH_HOLDERS=str(holders), BENCH_WARM=warm))
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
    srv = Server(mode, queue_active_limit=1000, max_holds_per_user=1_000_000, hold_ttl="30m",
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
        pays = [p for per in c.parallel(held, range(1000)) for p in per]
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
    mode = Mode(mode_name, workdir, f"{mode_name}_sale")
    srv = Server(mode, queue_active_limit=1000)
    c = srv.client
    try:
        prefix = f"enc_sale_{secrets.token_hex(8)}_"
        log(f"{mode_name}: flash sale: seeding {args.fans:,} fans with wallets")
        seed_users(mode, 0, args.fans, prefix, 10_000_000)
        concert = create_concert(c, "sold out in seconds")
        create_schedules(c, concert, 100, 50, 50_000)
        log(f"{mode_name}: flash sale: {args.fans:,} fans, 100 dates x 50 seats, active cap 1,000")
        m = k6("flash_sale.js", {"BASE": srv.base, "CONCERT": concert, "KEY_PREFIX": prefix,
                                 "USERS": args.fans, "VUS": args.vus}, workdir / f"{mode_name}-sale.json")
    finally:
        srv.stop()
    sold = metric(m, "sale_seats_sold")
    sell_out_s = metric(m, "sale_sold_at_ms", "max") / 1000
    r = {
        "fans": args.fans, "joined": metric(m, "sale_joined"), "seats_sold": sold,
        "join_phase_s": metric(m, "sale_joined_at_ms", "max") / 1000,
        "time_to_sell_out_s": sell_out_s, "bookings_per_s": sold / sell_out_s if sell_out_s else 0,
        "5xx": metric(m, "sale_5xx"), "hold_conflicts": metric(m, "sale_hold_conflicts"),
        "poll_p50_ms": metric(m, "sale_queue_poll", "p(50)"), "poll_p99_ms": metric(m, "sale_queue_poll", "p(99)"),
        "requests": metric(m, "http_reqs"),
    }
    r.update(check_database(mode))
    mode.cleanup()
    return r


def check_database(mode):
    """After the sale, in the database itself: no seat sold twice, no double debit, every balance
    equal to its ledger."""
    queries = {
        "seats_sold_in_db": "SELECT COUNT(*) FROM seats WHERE state = 'SOLD'",
        "confirmed": "SELECT COUNT(*) FROM reservations WHERE status = 'CONFIRMED'",
        "payments": "SELECT COUNT(*) FROM payments",
        "oversold": "SELECT COUNT(*) FROM (SELECT schedule_id, seat_number FROM reservations "
                    "WHERE status = 'CONFIRMED' GROUP BY schedule_id, seat_number HAVING COUNT(*) > 1) x",
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


# ---------------------------------------------------------------- report

def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "–"


def report(results, args):
    lines = [f"# encore benchmark run, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", "",
             f"Machine: {os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB; "
             f"wrk -t2 -c{CONNS}, {args.seconds}s per endpoint; load generator on the same machine.", ""]
    for mode in ("sqlite", "postgres"):
        e = results.get(f"{mode}_endpoints")
        if not e:
            continue
        h, ceil = e["health"]["rps"], e["db_ceiling"]["rps"]
        title = "SQLite + embedded queue" if mode == "sqlite" else "PostgreSQL + Redis"
        lines += [f"## {title}", "", "| measurement | req/s | p50 ms | p99 ms | ratio to its ceiling | non-2xx |",
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
        f = results.get(f"{mode}_sale")
        if f:
            lines += [f"### Flash sale ({title})", "",
                      f"- {f['fans']:,} fans joined in {f['join_phase_s']:.1f} s; {f['seats_sold']:,} of {f['seats_total']:,} seats "
                      f"sold in {f['time_to_sell_out_s']:.1f} s ({f['bookings_per_s']:.0f} completed bookings/s)",
                      f"- oversold {f['oversold']}, 5xx {f['5xx']}, double debits {f['double_debits']}, "
                      f"balances not equal to their ledger {f['balance_not_ledger']}; in the database: "
                      f"{f['seats_sold_in_db']} SOLD seats, {f['confirmed']} CONFIRMED reservations, {f['payments']} payments",
                      f"- queue poll during the sale: p50 {f['poll_p50_ms']:.2f} ms, p99 {f['poll_p99_ms']:.2f} ms; "
                      f"{f['hold_conflicts']:,} lost seat races retried; {f['requests']:,} requests", ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--modes", default="sqlite,postgres")
    ap.add_argument("--seconds", type=int, default=10, help="wrk duration per endpoint")
    ap.add_argument("--waiters", type=int, default=1_000_000, help="size of the scale test's line")
    ap.add_argument("--fans", type=int, default=100_000)
    ap.add_argument("--warm", type=int, default=400_000, help="fans signed in before the signed-in join")
    ap.add_argument("--vus", type=int, default=400)
    ap.add_argument("--skip-sale", action="store_true")
    args = ap.parse_args()
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    results = {}
    with tempfile.TemporaryDirectory(prefix="encore-bench-") as wd:
        wd = Path(wd)
        for mode in args.modes.split(","):
            results[f"{mode}_endpoints"] = endpoints(mode, wd, args)
            if not args.skip_sale:
                results[f"{mode}_sale"] = flash_sale(mode, wd, args)
            (out_dir / "latest.json").write_text(json.dumps(results, indent=2))
    text = report(results, args)
    (out_dir / "latest.md").write_text(text + "\n")
    print("\n" + text)


if __name__ == "__main__":
    sys.exit(main())
