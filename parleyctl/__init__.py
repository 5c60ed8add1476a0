"""parleyctl: the operator's command line, and the small typed client other internal tools import.

client.py   ParleyClient: channels to auth_svc and chat_svc, a service token fetched and renewed,
            deadlines on every call, retries of the idempotent ones (the model of an internal tool)
config.py   where to connect and with which credentials: flags, then PARLEYCTL_* env, then a TOML file
commands.py one function per subcommand: typed stubs in, rows or JSON out
output.py   human tables, or JSON lines for scripts (--json)
cli.py      the argparse tree, shell completion, and the exit codes (docs/grpc-api.md)
"""
