"""The per-message send decision (pure): may this message go out, given the suppressions of
its address and the lead's flags? Kept apart from :mod:`nurture.mail.suppression` (the
database side) so render worker processes load no database code.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FORGOTTEN", "GLOBAL", "LeadFlags", "block_reason"]

GLOBAL = "*"
#: The reason of a forgotten person's address (nurture leads forget): no mail of any kind.
FORGOTTEN = "forgotten"


@dataclass(frozen=True)
class LeadFlags:
    do_not_contact: bool = False
    unsubscribed: bool = False
    undeliverable: bool = False


def block_reason(
    *,
    kind: str,
    campaign: str | None,
    scopes: dict[str, str],
    lead: LeadFlags | None,
) -> str | None:
    """Why this message must not go out, or None. Plain data in, plain data out.

    ``scopes`` maps suppression scope -> reason for the recipient address. Marketing mail
    respects every suppression and the lead's flags; digests and system mail (to managers)
    stop only for addresses that bounce or complained, and no mail goes to a forgotten
    person.
    """
    if kind == "marketing":
        if GLOBAL in scopes:
            return f"suppressed ({scopes[GLOBAL]})"
        if campaign and campaign in scopes:
            return f"suppressed for campaign {campaign} ({scopes[campaign]})"
        if lead is not None:
            if lead.unsubscribed:
                return "lead unsubscribed"
            if lead.do_not_contact:
                return "lead is do-not-contact"
            if lead.undeliverable:
                return "lead e-mail is undeliverable"
        return None
    if scopes.get(GLOBAL) in ("bounce", "complaint", FORGOTTEN):
        return f"suppressed ({scopes[GLOBAL]})"
    return None
