"""`lianban-ferry`: run the agent (the default), or, as its operator, `waive --seq N` (give up on a bundle
of the center's that never came) and `resend --seq N` (write one of the agent's bundles again)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator

from aiohttp import web

from services.department_adapter.adapters.http_connector import HttpConnector
from services.ferry_agent.agent import FerryAgent
from services.ferry_agent.settings import FerrySettings
from services.ferry_agent.tables import AgentBundleIn, Base
from shared.clock import SYSTEM_CLOCK
from shared.db import make_engine, session_factory
from shared.ferry.ledger import waive
from shared.logs import configure
from shared.signing import KeyRegistry, Signer


def main(argv: list[str] | None = None) -> None:
    top = argparse.ArgumentParser(prog="lianban-ferry", description="The department side of a Lianban file ferry.")
    actions = top.add_subparsers(dest="action", metavar="ACTION")
    actions.add_parser("run", help="take the center's bundles, ask the department system, send answers back (default)")
    waiving = actions.add_parser("waive", help="give up on a bundle of the center's that never came: later ones apply")
    waiving.add_argument("--seq", type=int, required=True)
    resend = actions.add_parser("resend", help="write one of the agent's bundles again (the ferry lost it)")
    resend.add_argument("--seq", type=int, required=True)
    args = top.parse_args(argv)
    settings = FerrySettings()
    configure(settings.log_level, settings.log_format)
    if args.action in (None, "run"):
        asyncio.run(run(settings))
    else:
        print(asyncio.run(operate(settings, args.action, args.seq)))


@contextlib.asynccontextmanager
async def agent_for(settings: FerrySettings) -> AsyncIterator[FerryAgent]:
    """The agent on its own database (its tables created when missing), its engine disposed after; the agent
    closes its connection to the department system when it stops (`operate` never opens one)."""
    engine = make_engine(settings.database())
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    system = HttpConnector(settings.system_url, settings.system_timeout_seconds, settings.intake_url)
    try:
        yield FerryAgent(
            settings.department,
            settings.center,
            session_factory(engine),
            system,
            Signer.load(settings.signing_key, settings.signing_key_id),
            KeyRegistry.load(settings.key_registry),
            settings.incoming,
            settings.outgoing,
            SYSTEM_CLOCK,
            poll_seconds=settings.poll_seconds,
            bundle_seconds=settings.bundle_seconds,
            ask_again_seconds=settings.ask_again_seconds,
            backoff=settings.retry_backoff_seconds,
            max_backoff=settings.retry_backoff_max_seconds,
            concurrency=settings.concurrency,
        )
    finally:
        await engine.dispose()


async def run(settings: FerrySettings) -> None:
    """Until SIGTERM or SIGINT; state is in the database after every step, so a kill -9 is no worse."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    async with agent_for(settings) as agent:
        await agent.start()
        health = await _health(agent, settings) if settings.port else None
        try:
            await stopping.wait()
        finally:
            if health is not None:
                await health.cleanup()
            await agent.stop()


async def _health(agent: FerryAgent, settings: FerrySettings) -> web.AppRunner:
    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "ferry": agent.ledger.state.detail()})

    app = web.Application()
    app.router.add_get("/health", health)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    return runner


async def operate(settings: FerrySettings, action: str, seq: int) -> str:
    async with agent_for(settings) as agent:
        if action == "waive":  # recorded only: the running agent applies what waited at its next read
            return await waive(agent.sessions, AgentBundleIn, seq, SYSTEM_CLOCK.now())
        return f"written again: {await agent.ledger.rewrite(seq)}"


if __name__ == "__main__":
    main()
