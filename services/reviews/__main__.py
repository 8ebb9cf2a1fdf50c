"""`python -m services.reviews`: serve the reviews ingestion API."""

from __future__ import annotations

from services.reviews.app import create_app
from services.reviews.settings import ReviewsSettings
from shared.ingest import serve


def main() -> None:
    settings = ReviewsSettings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
