"""asyncio face of LogShipper.

``ship()`` is already safe to call on the event loop (it never waits on the network), so it
is passed straight through; only the calls that really wait — flush and close — are moved
to a worker thread so they do not freeze the loop while the server is slow or gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from .shipper import LogShipper


class AsyncLogShipper:
    def __init__(self, url_or_shipper: str | LogShipper, api_key: str | None = None, **options: Any) -> None:
        if isinstance(url_or_shipper, LogShipper):
            self.shipper = url_or_shipper
        else:
            if api_key is None:
                raise TypeError("api_key is required when a URL is given")
            self.shipper = LogShipper(url_or_shipper, api_key, **options)

    def ship(self, log: Mapping[str, Any]) -> bool:
        return self.shipper.ship(log)

    @property
    def stats(self) -> dict[str, int]:
        return self.shipper.stats

    async def flush(self, timeout: float | None = None) -> bool:
        return await asyncio.to_thread(self.shipper.flush, timeout)

    async def close(self, timeout: float | None = None) -> bool:
        return await asyncio.to_thread(self.shipper.close, timeout)

    async def __aenter__(self) -> AsyncLogShipper:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
