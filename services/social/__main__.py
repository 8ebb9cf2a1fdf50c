"""`python -m services.social`: serve the social ingestion API."""

from __future__ import annotations

from services.social.app import create_app
from services.social.settings import SocialSettings
from shared.ingest import serve


def main() -> None:
    settings = SocialSettings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
