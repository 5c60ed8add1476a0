"""Code shared by every service: errors, token verification, database access, server plumbing."""
