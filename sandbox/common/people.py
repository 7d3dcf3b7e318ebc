"""Fake but realistic buyers (names, e-mails, addresses) per country.

Every value is invented; e-mail domains are the reserved ``example.*`` names (RFC 2606), so
nothing here reaches a real person. Our own code must strip these before storage.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sandbox.common.ids import digits


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    phone: str
    line1: str
    city: str
    state: str
    postal_code: str
    country: str


_FIRST = {
    "US": [
        "Emily",
        "James",
        "Olivia",
        "Michael",
        "Ava",
        "Daniel",
        "Sophia",
        "Ethan",
        "Grace",
        "Lucas",
        "Chloe",
        "Henry",
        "Maya",
        "Owen",
        "Harper",
        "Caleb",
    ],
    "JP": [
        "Haruto",
        "Yui",
        "Sota",
        "Hina",
        "Ren",
        "Aoi",
        "Yuto",
        "Mei",
        "Riku",
        "Sakura",
        "Kaito",
        "Rin",
        "Takumi",
        "Yuna",
    ],
    "DE": [
        "Lukas",
        "Anna",
        "Leon",
        "Marie",
        "Felix",
        "Sophie",
        "Jonas",
        "Lena",
        "Paul",
        "Mia",
        "Finn",
        "Laura",
        "Elias",
        "Clara",
    ],
}
_LAST = {
    "US": [
        "Johnson",
        "Garcia",
        "Miller",
        "Davis",
        "Martinez",
        "Wilson",
        "Anderson",
        "Thomas",
        "Moore",
        "Jackson",
        "Harris",
        "Clark",
        "Lewis",
        "Walker",
    ],
    "JP": [
        "Sato",
        "Suzuki",
        "Takahashi",
        "Tanaka",
        "Watanabe",
        "Ito",
        "Yamamoto",
        "Nakamura",
        "Kobayashi",
        "Kato",
        "Yoshida",
        "Yamada",
    ],
    "DE": [
        "Müller",
        "Schmidt",
        "Schneider",
        "Fischer",
        "Weber",
        "Meyer",
        "Wagner",
        "Becker",
        "Schulz",
        "Hoffmann",
        "Koch",
        "Richter",
    ],
}
_STREETS = {
    "US": [
        "Maple Ave",
        "Oak Street",
        "Cedar Lane",
        "Pine Road",
        "Elm Drive",
        "Lakeview Blvd",
        "Sunset Way",
        "Hillcrest Ct",
    ],
    "JP": ["Jingumae", "Nishi-Shinjuku", "Umeda", "Sakae", "Tenjin", "Kitahama"],
    "DE": [
        "Hauptstraße",
        "Bahnhofstraße",
        "Gartenweg",
        "Schillerstraße",
        "Lindenallee",
        "Bergstraße",
    ],
}
# (city, state/prefecture/Land, postal-code prefix)
_CITIES = {
    "US": [
        ("Seattle", "WA", "981"),
        ("Austin", "TX", "787"),
        ("Denver", "CO", "802"),
        ("Columbus", "OH", "432"),
        ("Raleigh", "NC", "276"),
        ("Portland", "OR", "972"),
    ],
    "JP": [
        ("Shibuya-ku", "Tokyo", "150"),
        ("Osaka-shi", "Osaka", "530"),
        ("Nagoya-shi", "Aichi", "460"),
        ("Fukuoka-shi", "Fukuoka", "810"),
    ],
    "DE": [
        ("Berlin", "Berlin", "10"),
        ("München", "Bayern", "80"),
        ("Hamburg", "Hamburg", "20"),
        ("Köln", "Nordrhein-Westfalen", "50"),
        ("Leipzig", "Sachsen", "04"),
    ],
}
_MAIL_DOMAIN = {"US": "example.com", "JP": "example.jp", "DE": "example.de"}


def _ascii(text: str) -> str:
    return text.lower().replace("ü", "ue").replace("ö", "oe").replace("ä", "ae").replace("ß", "ss")


def fake_person(rng: random.Random, country: str) -> Person:
    first = rng.choice(_FIRST[country])
    last = rng.choice(_LAST[country])
    city, state, postal_prefix = rng.choice(_CITIES[country])
    street = rng.choice(_STREETS[country])
    number = rng.randint(1, 980)
    if country == "US":
        line1 = f"{number} {street}"
        postal = postal_prefix + digits(rng, 2)
        phone = f"+1 206-555-{digits(rng, 4)}"
    elif country == "JP":
        line1 = f"{street} {rng.randint(1, 6)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}"
        postal = f"{postal_prefix}-{digits(rng, 4)}"
        phone = f"+81 3-5555-{digits(rng, 4)}"
    else:
        line1 = f"{street} {number % 120 + 1}"
        postal = postal_prefix + digits(rng, 5 - len(postal_prefix))
        phone = f"+49 30 5555{digits(rng, 4)}"
    email = f"{_ascii(first)}.{_ascii(last)}{rng.randint(1, 99)}@{_MAIL_DOMAIN[country]}"
    name = f"{last} {first}" if country == "JP" else f"{first} {last}"
    return Person(name, email, phone, line1, city, state, postal, country)
