"""Traffic from the command line: N real websocket clients (scripts/common/load.py) against a running chat.

    python -m scripts.loadgen --url http://127.0.0.1:8000 --clients 50 --seconds 10 --rate 200 \
        [--bad-ratio 0.1]

`--rate R` sends R messages per second in total (open loop); `--rate 0` is closed loop; `--bad-ratio F`
replaces that share of the frames with bad ones (scripts/common/load.py says how). Prints one summary
line and exits 0; exits 1 with a one-line error when it cannot connect.
"""

from __future__ import annotations

import argparse
import sys

from scripts.common.exits import ExitCode
from scripts.common.load import LoadError, LoadSpec, run_load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.loadgen", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the chat's base URL")
    parser.add_argument("--clients", type=int, default=10, help="clients to join (default 10)")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to send (default 10)")
    parser.add_argument("--rate", type=float, default=20.0, help="messages/s in total; 0 = closed loop")
    parser.add_argument("--bad-ratio", type=float, default=0.0, help="share of bad frames, 0..1 (default 0)")
    args = parser.parse_args(argv)
    try:
        result = run_load(LoadSpec(args.url, args.clients, args.seconds, args.rate, args.bad_ratio))
    except LoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.FAILED
    print(result.summary())
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
