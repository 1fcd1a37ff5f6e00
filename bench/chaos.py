"""A chaos run: three encore instances on PostgreSQL + Redis under a bounded mixed load, while one
instance is killed with SIGKILL, Redis goes away and PostgreSQL goes away, each for a while.
Then, in the database: every acknowledged charge and payment is there, no seat is sold twice,
no CONFIRMED reservation lacks its payment, every balance equals its ledger.

PostgreSQL and Redis are reached through TCP proxies that this script starts, so an "outage" is
the proxy dropping every connection and refusing new ones: the real servers, which other work
on this machine may share, are never touched.

    python3 bench/chaos.py [--outage 20] [--short] [--bin target/release/encore]

Prints a report and writes bench/results/chaos.json; exits 1 if an invariant is broken, an
answer hung for more than 5 s, or an outage was answered otherwise than by a 503 problem.
"""

import argparse
import http.client
import json
import os
import random
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

PG = ("127.0.0.1", 5432)
REDIS = ("127.0.0.1", 6379)
ADMIN = "chaos-admin-token"
HANG = 5.0        # an answer slower than this is a hang
PROMPT = 3.0      # an outage must be answered within this
SEATS = 1000


def log(msg):
    print(f"[chaos {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Proxy:
    """Forwards 127.0.0.1:port to `target`; `down()` drops every connection and refuses new ones
    until `up()`."""

    def __init__(self, target):
        self.target = target
        self.port = free_port()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.listener.setblocking(False)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.listener, selectors.EVENT_READ, None)
        self.pairs = {}
        self.is_down = False
        self.lock = threading.Lock()
        threading.Thread(target=self.loop, daemon=True).start()

    def down(self):
        with self.lock:
            self.is_down = True
            for s in list(self.pairs):
                self.close(s)

    def up(self):
        with self.lock:
            self.is_down = False

    def close(self, s):
        peer = self.pairs.pop(s, None)
        for x in (s, peer):
            if x is None:
                continue
            try:
                self.sel.unregister(x)
            except (KeyError, ValueError):
                pass
            x.close()
            self.pairs.pop(x, None)

    def loop(self):
        while True:
            for key, _ in self.sel.select(timeout=0.2):
                with self.lock:
                    if key.fileobj is self.listener:
                        try:
                            client, _ = self.listener.accept()
                        except BlockingIOError:
                            continue
                        if self.is_down:
                            client.close()
                            continue
                        try:
                            server = socket.create_connection(self.target, timeout=2)
                        except OSError:
                            client.close()
                            continue
                        for s in (client, server):
                            s.setblocking(False)
                            self.sel.register(s, selectors.EVENT_READ, None)
                        self.pairs[client], self.pairs[server] = server, client
                        continue
                    s = key.fileobj
                    if s not in self.pairs:
                        continue
                    try:
                        data = s.recv(65536)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        data = b""
                    if not data:
                        self.close(s)
                        continue
                    try:
                        self.pairs[s].setblocking(True)
                        self.pairs[s].sendall(data)
                        self.pairs[s].setblocking(False)
                    except OSError:
                        self.close(s)


def psql(db, sql):
    # The statement goes on standard input: the id lists of a long run pass any argument limit.
    out = subprocess.run(["psql", f"postgres://postgres@{PG[0]}:{PG[1]}/{db}", "-Atq", "-v", "ON_ERROR_STOP=1"],
                         input=sql, check=True, capture_output=True, text=True)
    return out.stdout.strip()


class Instance:
    def __init__(self, binary, env, name):
        self.binary, self.env, self.name = binary, env, name
        self.port = free_port()
        self.proc = None
        self.alive = False

    def start(self, demo=False):
        env = dict(self.env, ENCORE_LISTEN=f"127.0.0.1:{self.port}")
        self.log = open(f"{self.env['CHAOS_DIR']}/{self.name}.log", "ab")
        self.proc = subprocess.Popen([self.binary, "serve"], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/ready")
                if c.getresponse().status == 200:
                    self.alive = True
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"{self.name} did not become ready; see its log")

    def kill(self):
        self.alive = False
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Load:
    """Fans who sign up, top up, join, hold a seat and pay, against whichever instances live.
    Every answer is recorded: (start, seconds, status, kind, problem code)."""

    def __init__(self, instances, concert, schedule, workers):
        self.instances, self.concert, self.schedule = instances, concert, schedule
        self.workers = workers
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.answers = []
        self.charges = []    # acknowledged CHARGE transaction ids
        self.payments = []   # acknowledged payment ids

    def call(self, conns, method, path, body=None, key=None, token=None, idem=None, kind=""):
        live = [i for i in self.instances if i.alive]
        inst = random.choice(live)
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if token:
            headers["X-Queue-Token"] = token
        if idem:
            headers["Idempotency-Key"] = idem
        start = time.time()
        status, data, code = 0, None, "NETWORK"
        try:
            c = conns.get(inst.port)
            if c is None:
                c = conns[inst.port] = http.client.HTTPConnection("127.0.0.1", inst.port, timeout=10)
            c.request(method, "/api/v1" + path, body=None if body is None else json.dumps(body),
                      headers=headers)
            r = c.getresponse()
            raw = r.read()
            status = r.status
            ctype = r.getheader("content-type", "")
            data = json.loads(raw) if raw and "json" in ctype else None
            code = (data or {}).get("code", "") if status >= 400 else ""
            if status >= 400 and ctype != "application/problem+json":
                code = "NOT_A_PROBLEM"
        except (OSError, http.client.HTTPException, json.JSONDecodeError):
            conns.pop(inst.port, None)
        took = time.time() - start
        with self.lock:
            self.answers.append((start, took, status, kind, code))
        return status, data

    def fan(self):
        conns = {}
        while not self.stop.is_set():
            s, d = self.call(conns, "POST", "/users", {"name": "chaos fan"}, kind="signup")
            if s != 201:
                time.sleep(0.2)
                continue
            key = d["apiKey"]
            for _ in range(3):
                if self.stop.is_set():
                    return
                self.purchase(conns, key)

    def purchase(self, conns, key):
        idem = str(uuid.uuid4())
        for _ in range(3):  # a retried charge with its key charges once
            s, d = self.call(conns, "POST", "/wallet/charges", {"amount": 5000}, key=key, idem=idem,
                             kind="charge")
            if s == 200:
                with self.lock:
                    self.charges.append(d["transaction"]["id"])
                break
            time.sleep(0.2)
        s, d = self.call(conns, "POST", f"/concerts/{self.concert}/queue", key=key, kind="join")
        if s not in (200, 201) or d.get("status") != "ACTIVE":
            return
        token = d["token"]
        seat = random.randint(1, SEATS)
        s, d = self.call(conns, "POST", "/reservations", {"scheduleId": self.schedule, "seatNumber": seat},
                         key=key, token=token, kind="hold")
        if s != 201:
            return
        pay_key = str(uuid.uuid4())
        for _ in range(3):
            s, p = self.call(conns, "POST", "/payments", {"reservationId": d["id"]}, key=key,
                             idem=pay_key, kind="pay")
            if s == 201:
                with self.lock:
                    self.payments.append(p["id"])
                break
            if s in (402, 409, 410):
                break
            time.sleep(0.2)

    def run(self):
        self.threads = [threading.Thread(target=self.fan, daemon=True) for _ in range(self.workers)]
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=15)


def window(answers, start, end, kinds=None):
    return [a for a in answers if start <= a[0] < end and (kinds is None or a[3] in kinds)]


def judge(name, answers, start, end, needs):
    """What the load saw while something was down: answers to calls needing it must be quick,
    and be successes, client errors or 503 problems."""
    seen = window(answers, start, end)
    needing = [a for a in seen if a[3] in needs]
    slow = [a for a in seen if a[1] > HANG]
    bad = [a for a in needing if a[2] >= 500 and (a[2] != 503 or a[4] == "NOT_A_PROBLEM")]
    unavailable = [a for a in needing if a[2] == 503]
    late = [a for a in unavailable if a[1] > PROMPT]
    return {
        "event": name,
        "requests": len(seen),
        "ok": sum(1 for a in seen if 200 <= a[2] < 300),
        "answered_503": len(unavailable),
        "max_503_seconds": round(max((a[1] for a in unavailable), default=0), 2),
        "503_over_3s": len(late),
        "hangs_over_5s": len(slow),
        "other_5xx": len(bad),
        "no_answer": sum(1 for a in needing if a[2] == 0),
        "max_seconds": round(max((a[1] for a in seen), default=0), 2),
    }


def recovery(answers, since, kinds):
    """Seconds from `since` to the first success of a call of these kinds."""
    ok = [a[0] + a[1] for a in answers if a[0] >= since and a[3] in kinds and 200 <= a[2] < 300]
    return round(min(ok) - since, 2) if ok else None


def check_database(db, load):
    ids = lambda xs: ",".join(f"'{x}'" for x in xs) or "NULL"
    q = {
        "acknowledged_charges": len(load.charges),
        "charges_missing": int(psql(db, f"SELECT {len(set(load.charges))} - COUNT(*) FROM wallet_transactions "
                                        f"WHERE kind = 'CHARGE' AND id IN ({ids(set(load.charges))})")),
        "acknowledged_payments": len(load.payments),
        "payments_missing": int(psql(db, f"SELECT {len(set(load.payments))} - COUNT(*) FROM payments "
                                         f"WHERE id IN ({ids(set(load.payments))})")),
        "seats_sold_twice": int(psql(db, "SELECT COUNT(*) FROM (SELECT r.schedule_id, rs.number "
                                         "FROM reservations r JOIN reservation_seats rs ON rs.reservation_id = r.id "
                                         "WHERE r.status = 'CONFIRMED' GROUP BY 1, 2 HAVING COUNT(*) > 1) x")),
        "confirmed_without_payment": int(psql(db, "SELECT COUNT(*) FROM reservations r WHERE r.status = 'CONFIRMED' "
                                                  "AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.reservation_id = r.id)")),
        "balance_not_ledger": int(psql(db, "SELECT COUNT(*) FROM wallets w WHERE w.balance <> "
                                           "(SELECT COALESCE(SUM(t.amount), 0) FROM wallet_transactions t "
                                           "WHERE t.user_id = w.user_id)")),
        "payments_in_db": int(psql(db, "SELECT COUNT(*) FROM payments")),
        # The rules the PostgreSQL schema states as comments on the tables a sale writes (it has
        # no CHECKs there: docs/design/postgres-hot-statements.md), checked after the faults.
        "rows_breaking_schema_rules": int(psql(db, "SELECT " + " + ".join([
            "(SELECT COUNT(*) FROM seats WHERE price <= 0 "
            "OR state NOT IN ('AVAILABLE', 'HELD', 'SOLD', 'VOID') "
            "OR (state = 'HELD') <> (held_until IS NOT NULL))",
            "(SELECT COUNT(*) FROM reservations WHERE quantity < 1 OR price <= 0 "
            "OR status NOT IN ('HELD', 'CONFIRMED', 'CANCELLED', 'EXPIRED', 'REFUNDED') "
            "OR (status IN ('CONFIRMED', 'REFUNDED')) <> (confirmed_at IS NOT NULL) "
            "OR (status = 'REFUNDED') <> (refund_amount IS NOT NULL AND refund_fee IS NOT NULL) "
            "OR refund_amount < 0 OR refund_fee < 0)",
            "(SELECT COUNT(*) FROM wallet_transactions WHERE balance_after < 0 "
            "OR NOT ((kind IN ('CHARGE', 'REFUND') AND amount > 0) OR (kind = 'PAYMENT' AND amount < 0)))",
            "(SELECT COUNT(*) FROM payments WHERE amount <= 0 OR balance_after < 0)",
        ]))),
    }
    q["ok"] = all(q[k] == 0 for k in ("charges_missing", "payments_missing", "seats_sold_twice",
                                      "confirmed_without_payment", "balance_not_ledger",
                                      "rows_breaking_schema_rules"))
    return q


def admin(inst, method, path, body):
    c = http.client.HTTPConnection("127.0.0.1", inst.port, timeout=10)
    c.request(method, "/api/v1" + path, body=json.dumps(body),
              headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"})
    r = c.getresponse()
    data = json.loads(r.read())
    assert r.status == 201, data
    return data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--outage", type=float, default=20, help="seconds each fault lasts")
    ap.add_argument("--short", action="store_true", help="the CI form: 6 s faults, fewer fans")
    ap.add_argument("--bin", default="target/release/encore")
    ap.add_argument("--workers", type=int, default=8)
    args = ap.parse_args()
    if args.short:
        args.outage, args.workers = 6, 4
    settle = max(4.0, args.outage / 2)

    tag = uuid.uuid4().hex[:12]
    db = f"encore_chaos_{tag}"
    workdir = f"/tmp/encore-chaos-{tag}"
    os.makedirs(workdir)
    psql("postgres", f"CREATE DATABASE {db}")
    pg, redis = Proxy(PG), Proxy(REDIS)
    env = dict(os.environ,
               CHAOS_DIR=workdir,
               ENCORE_DATABASE_URL=f"postgres://postgres@127.0.0.1:{pg.port}/{db}",
               ENCORE_REDIS_URL=f"redis://127.0.0.1:{redis.port}",
               ENCORE_REDIS_PREFIX=f"encore-chaos-{tag}",
               ENCORE_ADMIN_TOKEN=ADMIN,
               ENCORE_RATE_LIMITS="off",
               ENCORE_QUEUE_ACTIVE_LIMIT="100000",
               ENCORE_DB_POOL_SIZE="8",
               RUST_LOG="warn")
    instances = [Instance(args.bin, env, f"encore-{i}") for i in range(3)]
    result = {}
    try:
        for i in instances:
            i.start()
        concert = admin(instances[0], "POST", "/admin/concerts",
                        {"title": "Chaos Live", "performer": "The Faults", "venue": "Loopback Hall"})["id"]
        now = time.time()
        iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
        schedule = admin(instances[0], "POST", f"/admin/concerts/{concert}/schedules", {
            "startsAt": iso(now + 7 * 86400), "bookingOpensAt": iso(now - 60),
            "bookingClosesAt": iso(now + 6 * 86400), "seatCount": SEATS, "price": 1000})["id"]
        load = Load(instances, concert, schedule, args.workers)
        log(f"load: {args.workers} fans at a time on 3 instances; faults of {args.outage:.0f} s")
        load.run()
        time.sleep(settle)

        events = []
        victim = instances[2]
        log(f"kill -9 {victim.name}")
        t0 = time.time()
        victim.kill()
        time.sleep(args.outage)
        restart = time.time()
        victim.start()
        t1 = time.time()
        e = judge("kill -9 of one instance", load.answers, t0, t1, set())
        e["restart_to_ready_seconds"] = round(t1 - restart, 2)
        events.append((e, t0, t1))
        time.sleep(settle)

        log("Redis goes away")
        t0 = time.time()
        redis.down()
        time.sleep(args.outage)
        redis.up()
        t1 = time.time()
        e = judge("Redis outage", load.answers, t0, t1, {"join", "hold"})
        events.append((e, t0, t1))
        time.sleep(settle)
        e["recovery_seconds"] = recovery(load.answers, t1, {"join"})

        log("PostgreSQL goes away")
        t0 = time.time()
        pg.down()
        time.sleep(args.outage)
        pg.up()
        t1 = time.time()
        e = judge("PostgreSQL outage", load.answers, t0, t1, {"signup", "charge", "hold", "pay"})
        events.append((e, t0, t1))
        time.sleep(settle)
        e["recovery_seconds"] = recovery(load.answers, t1, {"signup", "charge"})

        load.finish()
        log("load stopped; checking the database")
        by_kind = {}
        for a in load.answers:
            k = by_kind.setdefault(a[3], {})
            k[str(a[2])] = k.get(str(a[2]), 0) + 1
        result = {
            "outage_seconds": args.outage,
            "requests": len(load.answers),
            "answers_by_call": by_kind,
            "events": [e for e, _, _ in events],
            "database": check_database(db, load),
        }
    finally:
        for i in instances:
            i.stop()
        try:
            psql("postgres", f"DROP DATABASE IF EXISTS {db}")
        except subprocess.CalledProcessError:
            pass
    report(result)
    os.makedirs("bench/results", exist_ok=True)
    with open("bench/results/chaos.json", "w") as f:
        json.dump(result, f, indent=2)
    failed = not result["database"]["ok"] or any(
        e["hangs_over_5s"] or e["other_5xx"] or e["503_over_3s"] for e in result["events"])
    if failed:
        log(f"FAILED (instance logs in {workdir})")
        sys.exit(1)
    log("passed")


def report(r):
    print(f"\n{r['requests']} requests, faults of {r['outage_seconds']:.0f} s each\n")
    print("| fault | requests | ok | 503 answers | slowest 503 (s) | hangs > 5 s | other 5xx | recovery (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for e in r["events"]:
        rec = e.get("recovery_seconds", e.get("restart_to_ready_seconds"))
        print(f"| {e['event']} | {e['requests']} | {e['ok']} | {e['answered_503']} | {e['max_503_seconds']} "
              f"| {e['hangs_over_5s']} | {e['other_5xx']} | {rec} |")
    d = r["database"]
    print("\nIn the database: "
          f"{d['acknowledged_charges']} acknowledged charges ({d['charges_missing']} missing), "
          f"{d['acknowledged_payments']} acknowledged payments ({d['payments_missing']} missing), "
          f"{d['seats_sold_twice']} seats sold twice, {d['confirmed_without_payment']} CONFIRMED without "
          f"payment, {d['balance_not_ledger']} balances off their ledger, "
          f"{d['rows_breaking_schema_rules']} rows breaking the schema's stated rules.\n")


if __name__ == "__main__":
    main()
