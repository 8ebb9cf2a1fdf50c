"""`python -m services.surveys`: serve the surveys ingestion API."""

from __future__ import annotations

from services.surveys.app import create_app
from services.surveys.settings import SurveysSettings
from shared.ingest import serve


def main() -> None:
    settings = SurveysSettings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
