"""Block Kit, built by small pure functions over ``slack_sdk.models`` (no I/O here)."""
