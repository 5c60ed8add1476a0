"""python -m bench: see bench/cli.py, or `scripts/bench --help`.

The load-generator processes are spawned, and a spawned child imports this module again (as
__mp_main__): it stays empty so that they do not pay for the orchestrator's imports (matplotlib,
SQLAlchemy, the services' code).
"""

if __name__ == "__main__":
    from bench.cli import main

    main()
