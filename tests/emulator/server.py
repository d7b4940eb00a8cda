"""Run the AWS emulator: moto's server with the project's Security Hub, Organizations, STS and EC2
additions, faults and a control API, threaded so that concurrent requests with injected latency overlap.

    python -m emulator.server --host 127.0.0.1 --port 0 --port-file FILE

Port 0 picks a free port; the chosen port is written to FILE (atomically) once the socket listens. `make venv`
installs the package (tests/pyproject.toml), so that it runs from any directory.
"""

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import make_server

from emulator.app import build_app
from emulator.state import EmulatorState

LOOPBACK = "127.0.0.1"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default=LOOPBACK, choices=[LOOPBACK], help="only loopback is ever bound")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", type=Path, help="write the chosen port here once listening")
    return parser.parse_args(argv)


def write_port_file(path: Path, port: int) -> None:
    """Write then rename, so a reader polling for the file never sees it half-written."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(f"{port}\n")
    partial.replace(path)


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    # One line per request would swamp the log during benchmarks; errors and tracebacks still show.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server(
        args.host, args.port, build_app(EmulatorState()), threaded=True, request_handler=MotoRequestHandler
    )
    # moto builds some URLs (e.g. SQS queue URLs) from MOTO_PORT.
    os.environ["MOTO_PORT"] = str(server.server_port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.port_file:
        write_port_file(args.port_file, server.server_port)
    print(f"listening on http://{args.host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main(sys.argv[1:])
