"""python -m auth_svc [serve | migrate | new-key]"""

from __future__ import annotations

import argparse
import logging

from auth_svc import keys, server
from auth_svc.settings import get_settings
from common.logs import setup_logging


def main() -> None:
    """Parse the command line and run the chosen command."""
    parser = argparse.ArgumentParser(prog="python -m auth_svc", description="Parley auth service")
    parser.add_argument(
        "command",
        nargs="?",
        default="serve",
        choices=["serve", "migrate", "new-key"],
        help="serve (default): run the gRPC server; migrate: upgrade auth_db; new-key: add a signing key",
    )
    command = parser.parse_args().command
    settings = get_settings()
    setup_logging("auth_svc", settings.log_level)
    if command == "migrate":
        server.migrate(settings)
        logging.getLogger("auth_svc").info("auth_db is at the latest revision")
    elif command == "new-key":
        key = keys.new_key(settings.keys_dir)
        print(f"created signing key {key.key_id} in {settings.keys_dir}; restart auth_svc to sign with it")
    else:
        server.main()


if __name__ == "__main__":
    main()
