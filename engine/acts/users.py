"""Who is asking: the token's user as the server knows it (`aidcal login` checks a token with it)."""
from __future__ import annotations

from ..access import READ
from ..service import op


@op("whoami", READ)
def whoami(conn, actor, today):
    return dict(name=actor.name, role=actor.role, scope=actor.scope)
