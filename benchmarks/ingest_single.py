"""ingest_single: POST /api/v1/purchases with the whole pipeline against a control endpoint.

    python -m benchmarks.ingest_single [--seconds 20] [--concurrency 8] [--workers 4] [--rounds 4] [--loyalty]

One gunicorn (sync workers, DEBUG off) serves both: ours is the real endpoint
(API key, idempotency, card match, line items, rollups, purchase_recorded and
whatever its receivers do); the control (benchmarks/control.py) validates the
same body with a plain serializer and inserts one row. The two alternate in
rounds of equal length at the same concurrency, after a warm-up, so noise on a
shared machine falls on both. Bodies are unique; 40 % carry the token of a
linked card, 30 % an Idempotency-Key. Prints one JSON line.
"""

import argparse
import uuid
from typing import Any

from benchmarks.common import (
    PurchaseBodies,
    bench_merchant_seed,
    django_setup,
    emit,
    gunicorn,
    note,
    scratch_database_url,
)
from benchmarks.load import LoadResult, post_load

NAME = "ingest_single"
OURS_PATH = "/api/v1/purchases"
CONTROL_PATH = "/bench/control"


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{NAME}", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per endpoint (default 20)")
    parser.add_argument("--concurrency", type=int, default=8, help="client connections (default 8)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    parser.add_argument("--rounds", type=int, default=4, help="alternations of ours and the control (default 4)")
    parser.add_argument(
        "--loyalty",
        action="store_true",
        help="give the merchant a loyalty program with ten active earn rules and two card-linked offers",
    )
    args = parser.parse_args(argv)

    note(f"{NAME}: preparing the scratch database")
    env = django_setup(scratch_database_url())
    bench = bench_merchant_seed()
    if args.loyalty:
        from benchmarks.loyalty import bench_program_seed

        bench_program_seed(merchant=bench.merchant, store_ids=bench.store_ids)
    env["BENCH_MERCHANT_ID"] = str(bench.merchant.pk)
    bodies = PurchaseBodies(prefix="single", store_ids=bench.store_ids, card_tokens=bench.card_tokens)
    authorization = {"Authorization": f"Api-Key {bench.api_key}"}

    def make_request(rng: Any, number: str) -> tuple[dict[str, Any], dict[str, str]]:
        headers = dict(authorization)
        if rng.random() < 0.3:
            headers["Idempotency-Key"] = str(uuid.UUID(int=rng.getrandbits(128)))
        return bodies.body(rng, number), headers

    ours, control = LoadResult(), LoadResult()
    with gunicorn(env, workers=args.workers) as port:

        def run(path: str, seconds: float, label: str) -> LoadResult:
            return post_load(
                port=port,
                path=path,
                make_request=make_request,
                concurrency=args.concurrency,
                seconds=seconds,
                label=label,
            )

        note(f"{NAME}: warming up")
        run(OURS_PATH, 2, "warm-ours")
        run(CONTROL_PATH, 2, "warm-control")
        for round_number in range(args.rounds):
            note(f"{NAME}: round {round_number + 1} of {args.rounds}")
            ours.add(run(OURS_PATH, args.seconds / args.rounds, f"ours-{round_number}"))
            control.add(run(CONTROL_PATH, args.seconds / args.rounds, f"control-{round_number}"))

    figure = emit(
        bench=NAME,
        **ours.summary("ours"),
        **control.summary("baseline"),
        ratio=round(ours.rps / control.rps, 3) if control.rps else None,
        loyalty=args.loyalty,
        concurrency=args.concurrency,
        workers=args.workers,
        seconds=args.seconds,
    )
    if ours.errors or control.errors:
        note(f"{NAME}: non-2xx responses: ours {dict(ours.statuses)}, control {dict(control.statuses)}")
    return [figure]


if __name__ == "__main__":
    main()
