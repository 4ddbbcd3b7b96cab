"""Teams and PagerDuty through the dispatcher: real senders against the schema-checking fakes, outcomes judged by our
policy and written to a real SQLite outbox."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from notifier.channels.pagerduty import PagerDutySender
from notifier.channels.teams import TeamsSender
from notifier.config import PagerDutyChannel, TeamsChannel
from notifier.runtime.clock import ManualClock
from notifier.store.records import DEAD, DELIVERED, PENDING, Destination, Outgoing
from notifier.store.sqlite.store import SqliteStore
from tests.support.channels import (
    PAGERDUTY_PATH,
    ROUTING_KEY,
    TEAMS_SIG,
    FakePagerDuty,
    FakeTeams,
    oncall_server,
    teams_url,
)
from tests.support.dispatch import SETTINGS, advance_to, at, commit, dispatcher, lane, notification, rows

THROTTLED_IN_A_200 = (
    "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429 with "
    "ContextId tcid=0,server=msgapi-production-eus-azsc2-4-170,cv=deadbeef"
)


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeTeams, FakePagerDuty, TestServer]]:
    async with oncall_server() as started:
        yield started


async def flush(store: SqliteStore, clock: ManualClock, server: TestServer) -> None:
    """One dispatcher pass over every due row, with both channels pointed at the fakes."""
    teams = TeamsChannel.model_validate({"type": "teams", "webhook_url": teams_url(server)})
    pd = PagerDutyChannel.model_validate(
        {"type": "pagerduty", "routing_key": ROUTING_KEY, "api_url": str(server.make_url(PAGERDUTY_PATH))}
    )
    async with aiohttp.ClientSession() as session:
        lanes = {
            "teams": lane(TeamsSender("teams", teams, session), clock),
            "pd": lane(PagerDutySender("pd", pd, session), clock),
        }
        await dispatcher(store, clock, lanes).flush()


async def test_teams_429_waits_for_its_retry_after_then_delivers(
    fakes: tuple[FakeTeams, FakePagerDuty, TestServer], store: SqliteStore, clock: ManualClock
) -> None:
    """A 429 leaves the row pending until after Retry-After; the next attempt delivers one card."""
    teams, _, server = fakes
    teams.replies.append((429, "", {"Retry-After": "30"}))
    await commit(store, clock, "teams")
    await flush(store, clock, server)
    [row] = await rows(store)
    assert (row.state, row.last_error) == (PENDING, "HTTP 429")
    assert at(clock, 30) <= row.next_at <= at(clock, 30 + SETTINGS.base)
    advance_to(clock, row.next_at)
    await flush(store, clock, server)
    assert ([r.state for r in await rows(store)], len(teams.cards)) == ([DELIVERED], 1)


async def test_teams_200_reporting_throttling_is_retried_not_delivered(
    fakes: tuple[FakeTeams, FakePagerDuty, TestServer], store: SqliteStore, clock: ManualClock
) -> None:
    """An older connector's 200 that says it was throttled stays pending with what Teams said; never delivered."""
    teams, _, server = fakes
    teams.replies.append((200, THROTTLED_IN_A_200, {}))
    await commit(store, clock, "teams")
    await flush(store, clock, server)
    [row] = await rows(store)
    assert row.state == PENDING
    assert row.last_error is not None
    assert row.last_error.startswith("HTTP 429 (answered 200: Webhook message delivery failed")
    assert TEAMS_SIG not in row.last_error


async def test_pagerduty_400_is_a_dead_letter_with_pagerdutys_reason(
    fakes: tuple[FakeTeams, FakePagerDuty, TestServer], store: SqliteStore, clock: ManualClock
) -> None:
    """An invalid event is tried once and dead-lettered; the dead letter says what PagerDuty objected to."""
    _, pagerduty, server = fakes
    reply = {"status": "invalid event", "message": "Event object is invalid", "errors": ["'payload.source' missing"]}
    pagerduty.replies.append((400, json.dumps(reply), {}))
    await commit(store, clock, "pd")
    await flush(store, clock, server)
    [row] = await rows(store)
    assert (pagerduty.requests, row.state) == (1, DEAD)
    assert row.last_error == "HTTP 400 (invalid event: Event object is invalid; 'payload.source' missing)"


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_pagerduty_throttling_and_outages_are_retried_with_backoff(
    fakes: tuple[FakeTeams, FakePagerDuty, TestServer], store: SqliteStore, clock: ManualClock, status: int
) -> None:
    """429 and 5xx leave the row pending within the first backoff window; the retry then gets the event in."""
    _, pagerduty, server = fakes
    pagerduty.replies.append((status, "{}", {}))
    await commit(store, clock, "pd")
    await flush(store, clock, server)
    [row] = await rows(store)
    assert (row.state, row.last_error) == (PENDING, f"HTTP {status}")
    assert at(clock, 0) <= row.next_at <= at(clock, SETTINGS.base)
    advance_to(clock, row.next_at)
    await flush(store, clock, server)
    assert [r.state for r in await rows(store)] == [DELIVERED]
    assert [e["event_action"] for e in pagerduty.events] == ["trigger"]


async def test_a_resolve_never_overtakes_its_trigger(
    fakes: tuple[FakeTeams, FakePagerDuty, TestServer], store: SqliteStore, clock: ManualClock
) -> None:
    """While the trigger waits for its retry, the resolve of the same alert waits too; then both go, in order."""
    _, pagerduty, server = fakes
    pagerduty.replies.append((503, "{}", {}))
    firing = notification(1, alert_key="alert_1")
    await store.commit([Outgoing(firing, (Destination("pd"),))], [], [], clock.now())
    await flush(store, clock, server)
    clock.advance(0.5)
    resolved = notification(2, alert_key="alert_1", status="resolved", created_at=firing.created_at + timedelta(1))
    await store.commit([Outgoing(resolved, (Destination("pd"),))], [], [], clock.now())
    await flush(store, clock, server)
    assert (pagerduty.requests, [r.state for r in await rows(store)]) == (1, [PENDING, PENDING])
    advance_to(clock, max(r.next_at for r in await rows(store)))
    await flush(store, clock, server)
    assert [r.state for r in await rows(store)] == [DELIVERED, DELIVERED]
    assert [(e["event_action"], e["dedup_key"]) for e in pagerduty.events] == [
        ("trigger", "alert_1"),
        ("resolve", "alert_1"),
    ]
