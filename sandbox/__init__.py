"""The sandbox (issue 11): a whole hotfix rehearsed on this machine, with no Slack workspace.

What is here so far is the sample world the sandbox runs against (``sandbox.world``): a
local git origin holding a small sample service with a history, production tags, ``main``
and ``develop`` and a test suite; the service's deploy script; its health endpoint, which
can be broken and healed (``sandbox.health``); the sample team with its roles; and a policy
file with short durations that points the bot at all of them. The bot itself is the same
code as in production: nothing in ``sandbox`` is imported by ``bot`` or ``workflows``.
"""
