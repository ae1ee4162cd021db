"""The campaign policy from Settings: quiet hours, caps and batches, with the service calendar's holidays."""

from __future__ import annotations

from bot.config.settings import Settings
from bot.policies import service_rules
from campaigns.policy import CampaignPolicy


def campaign_policy(settings: Settings) -> CampaignPolicy:
    """Quiet hours, the frequency cap and batches from `campaigns:`; holidays and workdays from the service calendar."""
    section = settings.campaigns
    return CampaignPolicy(
        zone=settings.timezone,
        calendar=service_rules(settings).calendar,
        quiet_start=section.quiet_hours.start,
        quiet_end=section.quiet_hours.end,
        frequency_cap=section.frequency_cap,
        frequency_days=section.frequency_days,
        batch_size=section.batch_size,
        monthly_cap=settings.sender.mass_cap_period == "month" and settings.sender.mass_cap is None,
    )
