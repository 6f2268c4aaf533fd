"""The NIK rules against an implementation nobody in the project wrote: python-stdnum's
`stdnum.id.nik`, on a fixed sample of 2,000 generated strings.

The two agree on every sample except where a difference is named below, and each named
difference is a rule one side has and the other lacks (checked, not assumed):

- stdnum 2.2's table of provinces lacks those created since 2012 (65 Kalimantan Utara; 92, 93,
  95, 96 in Papua), which the NIK rules know;
- stdnum reads the day as `day % 40`, so days 81-99 pass there; here women's days are 41-71;
- stdnum looks up digits 1-4 but only asks whether the *province* is known (regency 00 and
  regencies missing from its table pass), and does not look at the district (digits 5-6) or the
  serial (digits 13-16): here regency 00, district 00 and serial 0000 are refused (an unknown
  regency is not: a NIK keeps the code of its first registration, and a real person must not be
  refused for a regency a table has not heard of);
- stdnum strips separators (" -."); here a NIK is exactly 16 ASCII digits (the forms and the
  import strip what people type around it before asking).
"""

from __future__ import annotations

import random
from datetime import date

from stdnum import numdb
from stdnum.id import nik as std

from services.hibah_bansos.domain import nik

TODAY = date(2026, 11, 23)
SAMPLE_SIZE = 2000
LOC = numdb.get("id/loc")


def _stdnum_knows_province(value: str) -> bool:
    return bool(LOC.info(value[:4])[0][1])  # what stdnum.id.nik asks of its table


def generated(seed: int = 21) -> list[str]:
    """2,000 strings: most are NIK-shaped (a regency of stdnum's table or a made-up one, a date that may or may
    not exist, women's days, 00 parts), the rest of the wrong length, with letters, separators
    or non-ASCII digits."""
    rng = random.Random(seed)
    regions = sorted(f"{p}{r:02d}" for p in nik.PROVINCES for r in range(1, 100))
    real = [r for r in regions if len(info := LOC.info(r)) > 1 and info[1][1]]  # e.g. 3277 CIMAHI
    out: list[str] = []
    while len(out) < SAMPLE_SIZE:
        kind = rng.random()
        if kind < 0.55:
            region = rng.choice(real)
        elif kind < 0.75:
            region = rng.choice(regions)
        elif kind < 0.85:
            region = f"{rng.randint(0, 99):02d}{rng.choice(['00', f'{rng.randint(0, 99):02d}'])}"
        else:
            out.append(_odd(rng))
            continue
        district = "00" if rng.random() < 0.05 else f"{rng.randint(1, 60):02d}"
        day = rng.choice([rng.randint(1, 31), rng.randint(41, 71), rng.randint(0, 99)])
        month = rng.choice([rng.randint(1, 12)] * 4 + [rng.randint(0, 19)])
        serial = "0000" if rng.random() < 0.05 else f"{rng.randint(1, 9999):04d}"
        out.append(f"{region}{district}{day:02d}{month:02d}{rng.randint(0, 99):02d}{serial}")
    return out


def _odd(rng: random.Random) -> str:
    base = f"3277{rng.randint(10**11, 10**12 - 1)}"
    return rng.choice(
        [
            base[: rng.randint(0, 15)],
            base + str(rng.randint(0, 9)),
            base[:8] + "a" + base[9:],
            base[:6] + "-" + base[6:12] + " " + base[12:],
            base[:4] + "." + base[4:],
            base.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
            " " + base,
        ]
    )


def why_they_differ(value: str) -> str | None:
    """The named difference that explains a disagreement on `value`, or None."""
    if not (len(value) == 16 and value.isascii() and value.isdigit()):
        compact = std.compact(value)
        return "separators" if len(compact) == 16 and compact.isdigit() else None
    if value[:2] in nik.PROVINCES and not _stdnum_knows_province(value):
        return "stdnum's province table"
    if int(value[6:8]) > 80:
        return "stdnum's day % 40"
    if "00" in (value[2:4], value[4:6]) or value[12:16] == "0000":
        return "regency 00, district 00 or serial 0000"
    return None


def test_the_sample_is_fixed_and_varied():
    sample = generated()
    assert len(sample) == SAMPLE_SIZE and sample == generated()
    ours = [nik.nik_problems(v, TODAY) == [] for v in sample]
    theirs = [std.is_valid(v) for v in sample]
    assert 400 < sum(ours) < 1600 and 400 < sum(theirs) < 1600  # both answers well represented


def test_stdnum_agrees_on_every_sample_or_the_difference_is_named():
    unexplained, reasons = [], {}
    for value in generated():
        ours = nik.nik_problems(value, TODAY) == []
        theirs = std.is_valid(value)
        if ours == theirs:
            continue
        reason = why_they_differ(value)
        if reason is None:
            unexplained.append((value, ours, theirs, nik.nik_problems(value, TODAY)))
        else:
            reasons[reason] = reasons.get(reason, 0) + 1
            # the direction of each named difference is the one the docstring says
            if reason == "stdnum's province table":
                assert ours and not theirs, value
            else:
                assert theirs and not ours, (value, reason)
    assert unexplained == []
    assert set(reasons) <= {
        "separators",
        "stdnum's province table",
        "stdnum's day % 40",
        "regency 00, district 00 or serial 0000",
    }


def test_birth_dates_agree_with_stdnum_where_the_century_is_not_in_doubt():
    # stdnum tries 19YY first; the rules here take 20YY unless that is still to come
    for value in generated():
        if nik.nik_problems(value, TODAY) or not std.is_valid(value):
            continue
        ours, theirs = nik.birth_of(value, TODAY), std.get_birth_date(value)
        assert ours is not None and (ours.month, ours.day) == (theirs.month, theirs.day)
        assert ours.year % 100 == theirs.year % 100 and ours <= TODAY


def test_the_lansia_nik_of_the_issue():
    # a woman born 15 December 1926: 20YY would be in the future on 1 December 2026
    assert nik.nik_problems("3277015512260001", date(2026, 12, 1)) == []
    assert nik.birth_of("3277015512260001", date(2026, 12, 1)) == date(1926, 12, 15)
    assert std.is_valid("3277015512260001")
