"""docker-compose.yml's one-shot `keys`: the bridged departments' signing keys and the center's key registry,
made exactly as `make run` makes them (`deploy.launcher.System.register_keys`: a key per department of
shared/departments.json with a bridge, one more for a ferry's agent, ids `<name>-1`), in `<workdir>/keys`;
kept if the registry is there already.

    python deploy/compose/keys.py /var/lib/lianban
"""

from __future__ import annotations

import sys
from pathlib import Path

from deploy.kafka_local import KafkaAccess
from deploy.launcher import System


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit("usage: python deploy/compose/keys.py <workdir>  (keys in <workdir>/keys)")
    system = System(kafka=KafkaAccess(""), workdir=Path(argv[0]))  # no Kafka: only its keys are made
    registry = system.workdir / "keys" / "registry.json"
    kept = registry.exists()
    system.register_keys()
    print(f"{registry}: {'kept' if kept else 'made'} for {', '.join(system.departments)}")


if __name__ == "__main__":
    main(sys.argv[1:])
