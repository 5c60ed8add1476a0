"""auth_svc: accounts, passwords, sessions and token signing keys, served over gRPC."""
