"""Stand-ins for departments' own IT systems, each a small HTTP process with its own protocol."""
