"""python -m chat_svc [serve | migrate]"""

from __future__ import annotations

import argparse
import logging

from chat_svc import server
from chat_svc.settings import get_settings
from common.logs import setup_logging


def main() -> None:
    """Parse the command line and run the chosen command."""
    parser = argparse.ArgumentParser(prog="python -m chat_svc", description="Parley chat service")
    parser.add_argument(
        "command",
        nargs="?",
        default="serve",
        choices=["serve", "migrate"],
        help="serve (default): run the gRPC server; migrate: upgrade chat_db",
    )
    command = parser.parse_args().command
    settings = get_settings()
    setup_logging("chat_svc", settings.log_level)
    if command == "migrate":
        server.migrate(settings)
        logging.getLogger("chat_svc").info("chat_db is at the latest revision")
    else:
        server.main()


if __name__ == "__main__":
    main()
