"""Load campaigns for the order pipeline: place orders and follow them to their notification.

Two personas share the load:

- ``OrderPlacer`` posts valid random orders (1 to 5 items, catalogue prices, an Idempotency-Key per
  order) and, now and then, an invalid one that must be refused with 400;
- ``OrderFollower`` places an order, then polls ``GET /notify/<orderId>`` until the notification
  exists, and reports the client-side time from the POST to that first 200 as a request of type
  ``E2E`` named ``order-to-notification``.

The scenario (a load shape from ``scenarios.json``) is chosen with ``ORDERLAB_SCENARIO``: smoke,
baseline, step, spike or soak. Each has a time limit and stops by itself. Unset, no shape is used and
``--users``, ``--spawn-rate`` and ``--run-time`` decide, as in the web UI and the Nomad batch job.
At the end the scenario's thresholds (failure ratio, p95 of POST /order, p95 of order-to-notification)
are checked and the exit code is 1 when one is exceeded.

Environment:

- ``ORDERLAB_SCENARIO``: smoke | baseline | step | spike | soak (default: none, see above)
- ``ORDERLAB_DURATION``: stretch or shrink the scenario to this many seconds, stages in proportion
- ``NOTIFY_HOST``: base URL of notification-service (default: the ``--host`` URL, with port 3002
  instead of 3000 when the host is order-service's own port; through Traefik both are on one host)
- ``ORDERLAB_FOLLOW_TIMEOUT``: seconds a follower waits for a notification (default 10)

Only ever point this at a pipeline you run yourself (127.0.0.1 or your lab's Traefik).

Usage:
    ORDERLAB_SCENARIO=smoke locust -f locust/locustfile.py --host http://127.0.0.1:3000 --headless
    locust -f locust/locustfile.py --host http://127.0.0.1:18080          # web UI on :8089, lab
"""

from locust import FastHttpUser, LoadTestShape, between, events, run_single_user, task
from locust.runners import WorkerRunner

import json
import logging
import os
import random
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

SCENARIOS = json.loads((Path(__file__).parent / "scenarios.json").read_text(encoding="utf-8"))
SCENARIO_NAME = os.environ.get("ORDERLAB_SCENARIO", "").strip() or "manual"
if SCENARIO_NAME not in SCENARIOS:
    raise ValueError(f"ORDERLAB_SCENARIO must be one of {', '.join(SCENARIOS)}, but {SCENARIO_NAME!r} was provided")
SCENARIO = SCENARIOS[SCENARIO_NAME]

ORDER_CONTRACT_PORT = 3000
NOTIFICATION_CONTRACT_PORT = 3002
FOLLOW_TIMEOUT_S = float(os.environ.get("ORDERLAB_FOLLOW_TIMEOUT", "10"))
POLL_INTERVAL_S = 0.025
E2E_REQUEST_TYPE = "E2E"
E2E_NAME = "order-to-notification"

CATALOGUE = [
    ("BOOK-NOMAD", 39.90),
    ("BOOK-CONSUL", 34.50),
    ("MUG-VAULT", 12.50),
    ("SHIRT-TRAEFIK", 24.00),
    ("STICKER-PACK", 1.99),
    ("HOODIE-HASHI", 59.00),
    ("CABLE-USB-C", 9.95),
    ("KEYBOARD-MECH", 129.00),
]
CURRENCIES = ["EUR", "EUR", "EUR", "USD", "GBP"]

# Bodies the order schema must refuse, each with what it breaks.
INVALID_ORDERS = [
    ("no items", {"customerId": "c-1", "items": [], "currency": "EUR"}),
    ("zero quantity", {"customerId": "c-1", "items": [{"sku": "BOOK-NOMAD", "quantity": 0, "unitPrice": 39.9}],
                       "currency": "EUR"}),
    ("three decimals", {"customerId": "c-1", "items": [{"sku": "MUG-VAULT", "quantity": 1, "unitPrice": 12.505}],
                        "currency": "EUR"}),
    ("bad currency", {"customerId": "c-1", "items": [{"sku": "MUG-VAULT", "quantity": 1, "unitPrice": 12.5}],
                      "currency": "euro"}),
    ("unknown field", {"customerId": "c-1", "items": [{"sku": "MUG-VAULT", "quantity": 1, "unitPrice": 12.5}],
                       "currency": "EUR", "coupon": "FREE"}),
]

log = logging.getLogger("orderlab")


def random_order():
    """A plausible basket: 1 to 5 distinct catalogue items, 1 to 3 of each."""
    picks = random.sample(CATALOGUE, k=random.randint(1, 5))
    return {
        "customerId": f"customer-{random.randint(1, 5000)}",
        "items": [{"sku": sku, "quantity": random.randint(1, 3), "unitPrice": price} for sku, price in picks],
        "currency": random.choice(CURRENCIES),
    }


def error_code(response):
    """The stable ``error.code`` of a JSON error answer, or None when the body is not one."""
    try:
        return ((response.json() or {}).get("error") or {}).get("code")
    except ValueError:
        return None


def notification_base(host):
    """NOTIFY_HOST, else the host with notification-service's port when the host is order-service's own port."""
    explicit = os.environ.get("NOTIFY_HOST", "").strip()
    if explicit:
        return explicit.rstrip("/")
    parts = urlsplit(host.rstrip("/"))
    if parts.port == ORDER_CONTRACT_PORT:
        netloc = f"{parts.hostname}:{NOTIFICATION_CONTRACT_PORT}"
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return host.rstrip("/")


class OrderClient(FastHttpUser):
    """Shared order placement; the personas below decide what happens around it."""

    abstract = True

    def place_order(self, body):
        """POSTs a valid order; returns its id, or None after reporting the failure."""
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        with self.client.post("/order", json=body, headers=headers, name="/order", catch_response=True) as response:
            if response.status_code != 202:
                response.failure(f"expected 202, got {response.status_code}: {response.text[:200]}")
                return None
            order_id = (response.json() or {}).get("orderId")
            if not order_id:
                response.failure(f"expected an orderId in the 202 answer, got {response.text[:200]}")
                return None
            response.success()
            return order_id


class OrderPlacer(OrderClient):
    """A shop front placing orders; about one in twenty is malformed on purpose."""

    weight = 4
    wait_time = between(0.5, 1.5)

    @task(19)
    def place_valid_order(self):
        self.place_order(random_order())

    @task(1)
    def place_invalid_order(self):
        what, body = random.choice(INVALID_ORDERS)
        with self.client.post("/order", json=body, name="/order [invalid]", catch_response=True) as response:
            code = error_code(response) if response.status_code == 400 else None
            if response.status_code != 400:
                response.failure(f"{what}: expected 400, got {response.status_code}: {response.text[:200]}")
            elif code != "REQ_ERR_VALIDATION":
                response.failure(f"{what}: expected error code REQ_ERR_VALIDATION, got {code!r}")
            else:
                response.success()


class OrderFollower(OrderClient):
    """A customer who places an order and watches until it is notified."""

    weight = 1
    wait_time = between(1, 2)

    def on_start(self):
        self.notify_base = notification_base(self.host)

    @task
    def follow_order_to_notification(self):
        started = time.perf_counter()
        order_id = self.place_order(random_order())
        if order_id is None:
            return
        with self.client.get(f"/order/{order_id}", name="/order/[orderId]", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"expected 200 for an accepted order, got {response.status_code}")
        deadline = started + FOLLOW_TIMEOUT_S
        polls = 0
        while time.perf_counter() < deadline:
            polls += 1
            url = f"{self.notify_base}/notify/{order_id}"
            with self.client.get(url, name="/notify/[orderId]", catch_response=True) as response:
                if response.status_code == 200:
                    response.success()
                    self.report_e2e(started, order_id, polls, None)
                    return
                if response.status_code == 404:
                    # Not notified yet: expected while the order travels through the pipeline.
                    response.success()
                else:
                    response.failure(f"expected 200 or 404 while following, got {response.status_code}")
            time.sleep(POLL_INTERVAL_S)
        error = TimeoutError(f"order {order_id} not notified within {FOLLOW_TIMEOUT_S:g} s ({polls} polls)")
        self.report_e2e(started, order_id, polls, error)

    def report_e2e(self, started, order_id, polls, error):
        events.request.fire(
            request_type=E2E_REQUEST_TYPE,
            name=E2E_NAME,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=error,
            context={"orderId": order_id, "polls": polls},
        )


class ScenarioShape(LoadTestShape):
    """Runs the stages of one scenario in order, then stops.

    Each stage is ``{"duration": s, "users": n, "spawn_rate": r}``: hold ``users`` (reached at ``spawn_rate``
    per second) for ``duration`` seconds. ``ORDERLAB_DURATION`` rescales every stage in proportion.
    """

    abstract = True
    stages = []

    def __init__(self):
        super().__init__()
        total = sum(stage["duration"] for stage in self.stages)
        wanted = float(os.environ.get("ORDERLAB_DURATION", "0") or 0)
        scale = wanted / total if wanted > 0 and total > 0 else 1.0
        ends, elapsed = [], 0.0
        for stage in self.stages:
            elapsed += stage["duration"] * scale
            ends.append((elapsed, stage["users"], stage["spawn_rate"]))
        self.timeline = ends

    def tick(self):
        run_time = self.get_run_time()
        for end, users, spawn_rate in self.timeline:
            if run_time < end:
                return users, spawn_rate
        return None


def shape_for(name):
    """A concrete shape class for one scenario, named after it (``SmokeShape``, ``SpikeShape``...)."""
    return type(f"{name.capitalize()}Shape", (ScenarioShape,), {"abstract": False, "stages": SCENARIOS[name]["stages"]})


# Locust picks up every non-abstract shape in this module; exactly one exists, the chosen scenario's.
if SCENARIO["stages"]:
    SelectedShape = shape_for(SCENARIO_NAME)


def check_thresholds(stats, thresholds):
    """Returns one message per threshold exceeded, empty when the run passes."""
    problems = []
    total = stats.total
    if total.num_requests == 0:
        return ["no requests were made"]
    if total.fail_ratio > thresholds["max_failure_ratio"]:
        problems.append(f"failure ratio {total.fail_ratio:.4f} above {thresholds['max_failure_ratio']}")
    orders = stats.entries.get(("/order", "POST"))
    if orders is None or orders.num_requests == 0:
        problems.append("no valid order was placed")
    else:
        p95 = orders.get_response_time_percentile(0.95)
        if p95 > thresholds["max_order_p95_ms"]:
            problems.append(f"POST /order p95 {p95:.0f} ms above {thresholds['max_order_p95_ms']} ms")
    e2e = stats.entries.get((E2E_NAME, E2E_REQUEST_TYPE))
    if e2e is not None and e2e.num_requests > 0:
        p95 = e2e.get_response_time_percentile(0.95)
        if p95 > thresholds["max_e2e_p95_ms"]:
            problems.append(f"order-to-notification p95 {p95:.0f} ms above {thresholds['max_e2e_p95_ms']} ms")
    return problems


@events.test_start.add_listener
def announce(environment, **_kwargs):
    if isinstance(environment.runner, WorkerRunner):
        return
    log.info(
        "scenario %s: %s notifications from %s; thresholds %s",
        SCENARIO_NAME,
        SCENARIO["description"],
        notification_base(environment.host or ""),
        SCENARIO["thresholds"],
    )


@events.quitting.add_listener
def enforce_thresholds(environment, **_kwargs):
    if isinstance(environment.runner, WorkerRunner):
        return
    problems = check_thresholds(environment.stats, SCENARIO["thresholds"])
    for problem in problems:
        log.error("threshold exceeded (%s): %s", SCENARIO_NAME, problem)
    if not problems:
        log.info("scenario %s passed its thresholds %s", SCENARIO_NAME, SCENARIO["thresholds"])
    environment.process_exit_code = 1 if problems else 0


if __name__ == "__main__":
    run_single_user(OrderFollower)
