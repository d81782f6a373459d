"""The server and the worker of `formloop run`, started warm: each loads what it needs while DynamoDB Local boots,
then waits for `formloop run`'s go (a byte on a pipe) before it touches the database or opens a port.

Loading Chalice, the app and boto3 takes seconds, about as long as Java's start: done side by side, all are ready
sooner. The server gets its go once the tables exist and only then takes its port, as `chalice local` did when it
started after them: until then a browser is refused and tries again, never answered 503 for a missing table, and a
script waiting for the port waits for a server that works. The worker gets its go once the gift codes are in.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from chalicelib.core.config import PROJECT_ROOT


def wait_for_go(go_fd: int) -> bool:
    """Block until `formloop run` writes its go; False when it closed the pipe without one (it is stopping)."""
    with os.fdopen(go_fd, "rb", buffering=0) as go:
        return go.read(1) == b"1"


def serve(go_fd: int, host: str, port: int, stage: str) -> int:
    """What `chalice local --no-autoreload` does (chalice.cli: the project folder, its marker variable, stdout
    logging, the stage's config and app, the routes checked), with the port taken only at the go."""
    from chalice.cli.factory import CLIFactory
    from chalice.deploy.validate import validate_routes
    os.chdir(PROJECT_ROOT)
    os.environ["AWS_CHALICE_CLI_MODE"] = "true"
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    factory = CLIFactory(str(PROJECT_ROOT), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    app = config.chalice_app
    validate_routes(app.routes)
    from chalicelib.routes.edge import services
    services()  # what the first request would build (from the stage's variables, now in the environment)
    if not wait_for_go(go_fd):
        return 1
    factory.create_local_server(app, config, host, port).serve_forever()
    return 0


def work(go_fd: int, worker_args: list[str]) -> int:
    """`formloop worker` with its modules loaded before the go."""
    import botocore.session  # noqa: F401  (the stream client's)

    from chalicelib.core.config import Settings
    from chalicelib.wiring import build_services
    from formloop_cli import worker
    build_services(Settings.from_environ(os.environ))  # loads the stores' modules; the worker builds its own at the go
    if not wait_for_go(go_fd):
        return 1
    return worker.main(worker_args)


def main(argv: list[str]) -> int:
    """`python -m formloop_cli.warm_start --go-fd N server --host H --port P` or `… worker [worker options]`."""
    parser = argparse.ArgumentParser(prog="python -m formloop_cli.warm_start")
    parser.add_argument("--go-fd", type=int, required=True, help="a pipe `formloop run` writes 1 to at the go")
    commands = parser.add_subparsers(dest="command", required=True)
    server = commands.add_parser("server")
    server.add_argument("--host", default="127.0.0.1")
    server.add_argument("--port", type=int, default=8000)
    server.add_argument("--stage", default="local")
    commands.add_parser("worker", add_help=False)
    args, rest = parser.parse_known_args(argv)
    if args.command == "server":
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        return serve(args.go_fd, args.host, args.port, args.stage)
    return work(args.go_fd, rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
