"""`python -m services.tickets`: serve the tickets ingestion API."""

from __future__ import annotations

from services.tickets.app import create_app
from services.tickets.settings import TicketsSettings
from shared.ingest import serve


def main() -> None:
    settings = TicketsSettings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
