"""Request dependencies: settings, the per-request session and repository, the catalog."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.models import CatalogEntry
from services.api.repository import Repository
from services.api.settings import ApiSettings


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    # Reads only: the session is closed (rolled back) at the end of the request, never committed.
    # "End" is after the response is sent, so a streamed CSV export still reads through it.
    async with request.app.state.sessionmaker() as session:
        yield session


def get_catalog(request: Request) -> Sequence[CatalogEntry]:
    catalog: Sequence[CatalogEntry] = request.app.state.catalog
    return catalog


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
CatalogDep = Annotated[Sequence[CatalogEntry], Depends(get_catalog)]


def get_repository(session: SessionDep, settings: SettingsDep) -> Repository:
    return Repository(session, settings.query_timeout_s)


RepositoryDep = Annotated[Repository, Depends(get_repository)]
