"""Use cases shared by handlers, campaigns, console and CLI; no aiohttp, no WeCom wire formats."""
