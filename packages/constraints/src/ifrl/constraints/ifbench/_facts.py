"""Facts the ``custom:*`` checks compare answers with, written for this package.

African countries are the 54 UN member states of Africa, each with the names an answer may
use; European capitals carry their latitude in degrees north (city centre, two decimals).
"""

from __future__ import annotations

import re
import unicodedata

# canonical name: other accepted names
AFRICAN_COUNTRIES: dict[str, tuple[str, ...]] = {
    "Algeria": (),
    "Angola": (),
    "Benin": (),
    "Botswana": (),
    "Burkina Faso": (),
    "Burundi": (),
    "Cabo Verde": ("Cape Verde",),
    "Cameroon": (),
    "Central African Republic": ("CAR",),
    "Chad": (),
    "Comoros": (),
    "Democratic Republic of the Congo": (
        "DR Congo",
        "DRC",
        "Democratic Republic of Congo",
        "Congo-Kinshasa",
        "Congo, Democratic Republic of the",
        "Congo (Democratic Republic)",
        "Congo (Kinshasa)",
    ),
    "Republic of the Congo": (
        "Congo",
        "Republic of Congo",
        "Congo-Brazzaville",
        "Congo, Republic of the",
        "Congo (Republic)",
        "Congo (Brazzaville)",
    ),
    "Djibouti": (),
    "Egypt": (),
    "Equatorial Guinea": (),
    "Eritrea": (),
    "Eswatini": ("Swaziland", "Eswatini (Swaziland)"),
    "Ethiopia": (),
    "Gabon": (),
    "Gambia": ("The Gambia", "Gambia, The"),
    "Ghana": (),
    "Guinea": (),
    "Guinea-Bissau": ("Guinea Bissau",),
    "Ivory Coast": (
        "Cote d'Ivoire",
        "Côte d’Ivoire",
        "Cote dIvoire",
        "Côte d'Ivoire (Ivory Coast)",
    ),
    "Kenya": (),
    "Lesotho": (),
    "Liberia": (),
    "Libya": (),
    "Madagascar": (),
    "Malawi": (),
    "Mali": (),
    "Mauritania": (),
    "Mauritius": (),
    "Morocco": (),
    "Mozambique": (),
    "Namibia": (),
    "Niger": (),
    "Nigeria": (),
    "Rwanda": (),
    "Sao Tome and Principe": ("São Tomé and Príncipe", "Sao Tome & Principe"),
    "Senegal": (),
    "Seychelles": (),
    "Sierra Leone": (),
    "Somalia": (),
    "South Africa": (),
    "South Sudan": (),
    "Sudan": (),
    "Tanzania": ("United Republic of Tanzania",),
    "Togo": (),
    "Tunisia": (),
    "Uganda": (),
    "Zambia": (),
    "Zimbabwe": (),
}
# Territories an answer may list without being wrong (not required).
AFRICAN_OPTIONAL: dict[str, tuple[str, ...]] = {
    "Western Sahara": ("Sahrawi Arab Democratic Republic", "Sahrawi Republic"),
    "Somaliland": (),
}

# (accepted names, latitude): every European capital north of 45 degrees, plus Astana
# (Kazakhstan spans Europe and Asia; listing it is not an error when placed correctly).
EUROPEAN_CAPITALS_NORTH_OF_45: tuple[tuple[tuple[str, ...], float], ...] = (
    (("Reykjavik", "Reykjavík"), 64.15),
    (("Helsinki",), 60.17),
    (("Oslo",), 59.91),
    (("Tallinn",), 59.44),
    (("Stockholm",), 59.33),
    (("Riga",), 56.95),
    (("Moscow",), 55.76),
    (("Copenhagen",), 55.68),
    (("Vilnius",), 54.69),
    (("Minsk",), 53.90),
    (("Dublin",), 53.35),
    (("Berlin",), 52.52),
    (("Amsterdam",), 52.37),
    (("Warsaw",), 52.23),
    (("London",), 51.51),
    (("Brussels",), 50.85),
    (("Kyiv", "Kiev"), 50.45),
    (("Prague",), 50.08),
    (("Luxembourg", "Luxembourg City"), 49.61),
    (("Paris",), 48.86),
    (("Vienna",), 48.21),
    (("Bratislava",), 48.15),
    (("Budapest",), 47.50),
    (("Vaduz",), 47.14),
    (("Chisinau", "Chișinău", "Chişinău", "Kishinev"), 47.01),
    (("Bern", "Berne"), 46.95),
    (("Ljubljana",), 46.06),
    (("Zagreb",), 45.81),
)
OPTIONAL_CAPITALS: tuple[tuple[tuple[str, ...], float], ...] = ((("Astana", "Nur-Sultan"), 51.17),)


def norm_name(name: str) -> str:
    """Accents removed, lower case, ``&`` as ``and``, punctuation dropped, spaces collapsed."""
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    s = s.replace("&", " and ")
    s = re.sub(r"[^a-z0-9 ]+", " ", s)
    return " ".join(s.split())


def _index(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    out = {}
    for canonical, aliases in table.items():
        for name in (canonical, *aliases):
            out[norm_name(name)] = canonical
    return out


AFRICA_INDEX = _index(AFRICAN_COUNTRIES)
AFRICA_OPTIONAL_INDEX = _index(AFRICAN_OPTIONAL)
