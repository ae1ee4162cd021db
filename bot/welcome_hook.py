"""After a customer-added event is recorded, send the new_contact campaign's welcome in the same unit of work.

An outer middleware rather than a handler: the contact handlers must have stored the customer first, and the
campaigns package is wired into the bot here, at the composition root's edge (handlers never import campaigns).
"""

from __future__ import annotations

from bot.campaign_policy import campaign_policy
from bot.config.settings import Settings
from bot.dispatch import Context, Next
from bot.events import CustomerAdded, Event
from campaigns.policy import CampaignPolicy
from campaigns.welcome import welcome_new_contact


class WelcomeNewContacts:
    def __init__(self) -> None:
        self._built: tuple[Settings, CampaignPolicy] | None = None

    def _policy(self, settings: Settings) -> CampaignPolicy:
        # Built once per settings object: the calendar behind it is not free to build per event.
        if self._built is None or self._built[0] is not settings:
            self._built = (settings, campaign_policy(settings))
        return self._built[1]

    async def __call__(self, handler: Next, event: Event, ctx: Context) -> bool:
        handled = await handler(event, ctx)
        if isinstance(event, CustomerAdded) and event.welcome_code and not event.half:
            await welcome_new_contact(
                ctx.session,
                self._policy(ctx.features.settings),
                external_userid=event.external_userid,
                member_userid=event.member_userid,
                state=event.state,
                welcome_code=event.welcome_code,
                received_at=event.occurred_at,
                now=ctx.clock.now(),
            )
        return handled
