"""python -m benchmarks [NAME ...]: run the named benchmarks (all by default), one process each.

Each prints its figures as JSON lines on stdout; progress goes to stderr.
"""

import subprocess
import sys

BENCHMARKS = (
    "ingest_single",
    "ingest_batch",
    "shopper_pages",
    "dashboard",
    "campaign_report",
    "trigger_latency",
    "provider_feed",
    "broadcast",
    "export_csv",
    "webhook_fanout",
    "import_csv",
)


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    failed = 0
    for name in names:
        # Separate processes: each benchmark recreates the scratch database and sets up Django its own way.
        failed += subprocess.run([sys.executable, "-m", f"benchmarks.{name}"], check=False).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
