"""Run the emulators in the foreground: ``python -m sandbox --state-dir .sellerhub/sandbox``."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from sandbox.server import BUILDERS, start_sandbox


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the sellerhub platform emulators.")
    parser.add_argument("--platforms", default=",".join(BUILDERS), help="comma-separated")
    parser.add_argument("--state-dir", type=Path, default=Path(".sellerhub/sandbox"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--limits", choices=("sandbox", "production"), default="sandbox")
    for name in BUILDERS:
        parser.add_argument(f"--{name}-port", type=int, default=0)
    args = parser.parse_args()
    platforms = [p.strip() for p in args.platforms.split(",") if p.strip()]
    ports = {p: getattr(args, f"{p}_port") for p in platforms}
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with start_sandbox(
        platforms, args.state_dir, seed=args.seed, limits=args.limits, ports=ports
    ) as sb:
        for platform in sb.platforms:
            print(f"{platform}: {sb.base_url(platform)}", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
