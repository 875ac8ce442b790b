"""Grafana's unit ids: the values of a panel's `fieldConfig.defaults.unit` that its unit picker offers.

grafana/grafana: packages/grafana-data/src/valueFormats/categories.ts (getCategories, each format's `id`),
plus the Boolean category and the IEC data rates newer releases add. Grafana shows an unknown id as a plain
suffix, so a typo renders as a wrong-looking number, not an error: lint checks the ids here.
This is Grafana's vocabulary about the rendered JSON (like expressions.py), so it lives with the other
readers of that JSON; dashboards/core/conventions.py only names the few units our dashboards use (UNIT_*).
"""

from __future__ import annotations

import difflib

GRAFANA_UNITS = frozenset({
    # Misc
    "none", "string", "short", "percent", "percentunit", "humidity", "dB", "hex0x", "hex", "sci", "locale",
    "pixel",
    # Acceleration, Angle, Area, Computation
    "accMS2", "accFS2", "accG", "degree", "radian", "grad", "arcmin", "arcsec", "areaM2", "areaF2",
    "areaMI2", "flops", "mflops", "gflops", "tflops", "pflops", "eflops", "zflops", "yflops",
    # Concentration
    "ppm", "conppb", "conngm3", "conngNm3", "conμgm3", "conμgNm3", "conmgm3", "conmgNm3", "congm3",
    "congNm3", "conmgdL", "conmmolL",
    # Currency
    "currencyUSD", "currencyGBP", "currencyEUR", "currencyJPY", "currencyRUB", "currencyUAH", "currencyBRL",
    "currencyDKK", "currencyISK", "currencyNOK", "currencySEK", "currencyCZK", "currencyCHF", "currencyPLN",
    "currencyBTC", "currencymBTC", "currencyμBTC", "currencyZAR", "currencyINR", "currencyKRW",
    # Data (IEC), Data (metric), Data rate
    "bits", "bytes", "kbytes", "mbytes", "gbytes", "tbytes", "pbytes", "decbits", "decbytes", "deckbytes",
    "decmbytes", "decgbytes", "dectbytes", "decpbytes", "pps", "bps", "Bps", "KBs", "Kbits", "MBs", "Mbits",
    "GBs", "Gbits", "TBs", "Tbits", "PBs", "Pbits",
    # Date & time
    "dateTimeAsIso", "dateTimeAsIsoNoDateIfToday", "dateTimeAsUS", "dateTimeAsUSNoDateIfToday",
    "dateTimeFromNow",
    # Energy
    "watt", "kwatt", "megwatt", "gwatt", "mwatt", "Wm2", "voltamp", "kvoltamp", "voltampreact",
    "kvoltampreact", "watth", "watthperkg", "kwatth", "kwattm", "amph", "kamph", "mamph", "joule", "ev",
    "amp", "kamp", "mamp", "volt", "kvolt", "mvolt", "dBm", "ohm", "kohm", "Mohm", "farad", "µfarad",
    "nfarad", "pfarad", "ffarad", "henry", "mhenry", "µhenry", "lumens",
    # Flow, Force, Hash rate, Mass, Length, Pressure
    "flowgpm", "flowcms", "flowcfs", "flowcfm", "litreh", "flowlpm", "flowmlpm", "lux", "forceNm",
    "forcekNm", "forceN", "forcekN", "Hs", "KHs", "MHs", "GHs", "THs", "PHs", "EHs", "massmg", "massg",
    "masskg", "masst", "lengthmm", "lengthft", "lengthm", "lengthkm", "lengthmi", "pressurembar",
    "pressurebar", "pressurekbar", "pressurepa", "pressurehpa", "pressurekpa", "pressurehg", "pressurepsi",
    # Radiation, Rotational speed, Temperature
    "radbq", "radci", "radgy", "radrad", "radsv", "radmsv", "radusv", "radrem", "radexpckg", "radr",
    "radsvh", "radmsvh", "radusvh", "rotrpm", "rothz", "rotrads", "rotdegs", "celsius", "fahrenheit",
    "kelvin",
    # Time
    "hertz", "ns", "µs", "ms", "s", "m", "h", "d", "dtdurationms", "dtdurations", "dthms", "dtdhms",
    "timeticks", "clockms", "clocks",
    # Throughput
    "cps", "ops", "reqps", "rps", "wps", "iops", "cpm", "opm", "rpm", "wpm",
    # Velocity, Volume
    "velocityms", "velocitykmh", "velocitymph", "velocityknot", "mlitre", "litre", "m3", "Nm3", "dm3",
    "gallons",
    # Newer releases: Boolean, IEC data rates, local and system date formats
    "bool", "bool_yes_no", "bool_on_off", "binBps", "binbps", "KiBs", "MiBs", "GiBs", "TiBs", "PiBs",
    "dateTimeAsLocal", "dateTimeAsLocalNoDateIfToday", "dateTimeAsSystem",
})  # fmt: skip
# Custom units Grafana accepts besides the ids ("suffix:msg/s", "si:B", ...): valueFormats.ts getValueFormat.
CUSTOM_UNIT_PREFIXES = ("suffix:", "prefix:", "si:", "count:", "currency:", "time:", "bool:")


def is_grafana_unit(unit: str) -> bool:
    return unit in GRAFANA_UNITS or unit.startswith(CUSTOM_UNIT_PREFIXES)


def closest_unit(unit: str) -> str | None:
    """The unit id a misspelt one most likely meant ('req/s' -> 'reqps'), or None when none is close."""
    matches = difflib.get_close_matches(unit, sorted(GRAFANA_UNITS), n=1, cutoff=0.6)
    return matches[0] if matches else None
