"""The procedure's severity matrix: what each level means and whether it warrants a hotfix."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def label(self) -> str:
        return self.value.upper()

    @property
    def warrants_hotfix(self) -> bool:
        """CRITICAL requires a hotfix and HIGH may take one; MEDIUM and LOW go to the release."""
        return self in (Severity.CRITICAL, Severity.HIGH)

    @property
    def verdict(self) -> str:
        return MATRIX[self][0]

    @property
    def criteria(self) -> tuple[str, ...]:
        return MATRIX[self][1]

    @property
    def emoji(self) -> str:
        return {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "🟢"}[self.value]


MATRIX: dict[Severity, tuple[str, tuple[str, ...]]] = {
    Severity.CRITICAL: (
        "Hotfix Required",
        (
            "Complete service outage",
            "Security breach or vulnerability",
            "Data loss or corruption",
            "Financial impact (payments broken, billing issues)",
            "Legal/compliance violations",
        ),
    ),
    Severity.HIGH: (
        "Consider Hotfix",
        (
            "Partial service degradation affecting >50% of users",
            "Significant feature completely broken",
            "Performance degradation causing timeouts",
        ),
    ),
    Severity.MEDIUM: (
        "Normal Release",
        (
            "Feature partially working",
            "Affects <50% of users",
            "Workaround available",
            "Can wait 24-48 hours",
        ),
    ),
    Severity.LOW: (
        "Normal Release",
        ("Cosmetic issues", "Minor bugs", "Edge cases", "Can wait for next sprint"),
    ),
}
