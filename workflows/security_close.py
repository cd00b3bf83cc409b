"""The procedure's Security Hotfix Pattern after deploy: notify in order (internal first,
customers once the fix is deployed, a public disclosure if any after mitigation), update the
security advisory and the security changelog. A security fix does not close until a holder
of ``security`` has ticked every item, or waived them with a reason."""

from __future__ import annotations

from typing import Final

from workflows.snapshot import HotfixSnapshot

SECURITY_ITEMS: Final = (
    ("sec_internal", "Internal teams notified first"),
    ("sec_customers", "Customers notified (now that the fix is deployed)"),
    ("sec_public", "Public disclosure made after mitigation, or not applicable"),
    ("sec_advisory", "Security advisory updated"),
    ("sec_changelog", "Security changelog updated"),
)
WAIVED: Final = "sec_waived"
SECURITY_ROLE: Final = "security"
#: When the items can be ticked: once the fix is deployed, until the hotfix closes.
TICKABLE: Final = ("monitoring", "merging_back")


def security_pending(hotfix: HotfixSnapshot) -> list[str]:
    """The security items still open before ``hotfix`` may close (none if not a security
    fix, or if they were waived)."""
    if not hotfix.security_fix or WAIVED in hotfix.deploy_ticks:
        return []
    return [text for item, text in SECURITY_ITEMS if item not in hotfix.deploy_ticks]
