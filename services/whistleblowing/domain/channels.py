"""How a report came in: filed by the reporter online, or entered by an intake official for a
reporter who came by another channel (assisted intake). Recorded on the case, counted in the
statistics, carried by the submitted event."""

from __future__ import annotations

ONLINE = "online"
ASSISTED = ("walk_in", "phone", "letter", "email")  # in the order the intake form offers them
LAPOR = "lapor"  # a corruption report SP4N-LAPOR! passed on (lapor_cases.take_referrals)
ALL = (ONLINE, *ASSISTED, LAPOR)
WITH_TRANSCRIPT = ASSISTED  # entered by an official: the reporter confirms what was written
