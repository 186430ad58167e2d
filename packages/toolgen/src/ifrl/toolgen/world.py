"""One consistent world for offline dialogs: values that respect meaning and results that fit
their call.

* :class:`Scene` — where, when and for whom one dialog happens: a home city and another one (an
  origin never equals its destination), an ordered date range, a person with a matching email,
  an account. Every request of a multi-request session shares its scene.
* :func:`argument_value` — a value for a parameter that means what its name says (a city from
  the world, dates in order, plausible quantities and prices, the scene's person), checked
  against the parameter's schema; a value the schema rejects falls back to
  :func:`~ifrl.toolgen.tool_schema.sample_value`.
* :class:`Records` and :func:`simulate` — tool results consistent with the call and with each
  other across a session: search results with names that fit the entity, ids unique in the
  dialog and remembered, so a later call on an id gets that record back, statuses that follow the
  verb (``cancel`` → ``cancelled``); results that break the response schema are never returned.
* :func:`failure` — an error result for a call (transient: retry; permanent: explain).

The value banks are written for this project.
"""

from __future__ import annotations

import datetime as _dt
import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from ifrl.core.records import ToolCall, ToolSpec
from ifrl.toolgen import lexicon
from ifrl.toolgen.apis import ApiInfo
from ifrl.toolgen.dialog import error_result
from ifrl.toolgen.seeds import verb_of
from ifrl.toolgen.tool_schema import SampleError, fast_valid, sample_value, value_issues


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(";") if part.strip())


@dataclass(frozen=True)
class City:
    """A place of the world: its country, currency, language and position."""

    name: str
    country: str
    currency: str
    language: str
    lat: float
    lon: float


CITIES: tuple[City, ...] = tuple(
    City(n, c, cur, lang, lat, lon)
    for n, c, cur, lang, lat, lon in (
        ("Paris", "France", "EUR", "fr", 48.8566, 2.3522),
        ("Lyon", "France", "EUR", "fr", 45.764, 4.8357),
        ("Marseille", "France", "EUR", "fr", 43.2965, 5.3698),
        ("Berlin", "Germany", "EUR", "de", 52.52, 13.405),
        ("Munich", "Germany", "EUR", "de", 48.1351, 11.582),
        ("Hamburg", "Germany", "EUR", "de", 53.5511, 9.9937),
        ("Madrid", "Spain", "EUR", "es", 40.4168, -3.7038),
        ("Seville", "Spain", "EUR", "es", 37.3891, -5.9845),
        ("Valencia", "Spain", "EUR", "es", 39.4699, -0.3763),
        ("Lisbon", "Portugal", "EUR", "pt", 38.7223, -9.1393),
        ("Porto", "Portugal", "EUR", "pt", 41.1579, -8.6291),
        ("Rome", "Italy", "EUR", "it", 41.9028, 12.4964),
        ("Milan", "Italy", "EUR", "it", 45.4642, 9.19),
        ("Naples", "Italy", "EUR", "it", 40.8518, 14.2681),
        ("Vienna", "Austria", "EUR", "de", 48.2082, 16.3738),
        ("Dublin", "Ireland", "EUR", "en", 53.3498, -6.2603),
        ("Amsterdam", "Netherlands", "EUR", "nl", 52.3676, 4.9041),
        ("London", "United Kingdom", "GBP", "en", 51.5072, -0.1276),
        ("Manchester", "United Kingdom", "GBP", "en", 53.4808, -2.2426),
        ("Edinburgh", "United Kingdom", "GBP", "en", 55.9533, -3.1883),
        ("Oslo", "Norway", "NOK", "no", 59.9139, 10.7522),
        ("Bergen", "Norway", "NOK", "no", 60.3913, 5.3221),
        ("Tokyo", "Japan", "JPY", "ja", 35.6762, 139.6503),
        ("Osaka", "Japan", "JPY", "ja", 34.6937, 135.5023),
        ("Kyoto", "Japan", "JPY", "ja", 35.0116, 135.7681),
        ("Sapporo", "Japan", "JPY", "ja", 43.0618, 141.3545),
        ("Nairobi", "Kenya", "KES", "en", -1.2921, 36.8219),
        ("Mombasa", "Kenya", "KES", "en", -4.0435, 39.6682),
        ("Kisumu", "Kenya", "KES", "en", -0.0917, 34.768),
        ("Sao Paulo", "Brazil", "BRL", "pt", -23.5505, -46.6333),
        ("Rio de Janeiro", "Brazil", "BRL", "pt", -22.9068, -43.1729),
        ("Salvador", "Brazil", "BRL", "pt", -12.9777, -38.5016),
        ("Toronto", "Canada", "CAD", "en", 43.6532, -79.3832),
        ("Montreal", "Canada", "CAD", "fr", 45.5019, -73.5674),
        ("Vancouver", "Canada", "CAD", "en", 49.2827, -123.1207),
        ("New York", "United States", "USD", "en", 40.7128, -74.006),
        ("Chicago", "United States", "USD", "en", 41.8781, -87.6298),
        ("Seattle", "United States", "USD", "en", 47.6062, -122.3321),
        ("Austin", "United States", "USD", "en", 30.2672, -97.7431),
        ("Denver", "United States", "USD", "en", 39.7392, -104.9903),
        ("Mexico City", "Mexico", "MXN", "es", 19.4326, -99.1332),
        ("Guadalajara", "Mexico", "MXN", "es", 20.6597, -103.3496),
        ("Lima", "Peru", "PEN", "es", -12.0464, -77.0428),
        ("Cusco", "Peru", "PEN", "es", -13.532, -71.9675),
        ("Mumbai", "India", "INR", "en", 19.076, 72.8777),
        ("Bengaluru", "India", "INR", "en", 12.9716, 77.5946),
        ("Delhi", "India", "INR", "en", 28.7041, 77.1025),
        ("Seoul", "South Korea", "KRW", "en", 37.5665, 126.978),
        ("Busan", "South Korea", "KRW", "en", 35.1796, 129.0756),
        ("Sydney", "Australia", "AUD", "en", -33.8688, 151.2093),
        ("Melbourne", "Australia", "AUD", "en", -37.8136, 144.9631),
        ("Auckland", "New Zealand", "NZD", "en", -36.8485, 174.7633),
        ("Cape Town", "South Africa", "ZAR", "en", -33.9249, 18.4241),
        ("Accra", "Ghana", "GHS", "en", 5.6037, -0.187),
        ("Lagos", "Nigeria", "NGN", "en", 6.5244, 3.3792),
        ("Cairo", "Egypt", "EGP", "en", 30.0444, 31.2357),
        ("Istanbul", "Turkey", "TRY", "en", 41.0082, 28.9784),
        ("Singapore", "Singapore", "SGD", "en", 1.3521, 103.8198),
        ("Bangkok", "Thailand", "THB", "en", 13.7563, 100.5018),
        ("Hanoi", "Vietnam", "VND", "en", 21.0278, 105.8342),
        ("Bordeaux", "France", "EUR", "fr", 44.8378, -0.5792),
        ("Toulouse", "France", "EUR", "fr", 43.6047, 1.4442),
        ("Strasbourg", "France", "EUR", "fr", 48.5734, 7.7521),
        ("Cologne", "Germany", "EUR", "de", 50.9375, 6.9603),
        ("Frankfurt", "Germany", "EUR", "de", 50.1109, 8.6821),
        ("Leipzig", "Germany", "EUR", "de", 51.3397, 12.3731),
        ("Barcelona", "Spain", "EUR", "es", 41.3874, 2.1686),
        ("Bilbao", "Spain", "EUR", "es", 43.263, -2.935),
        ("Granada", "Spain", "EUR", "es", 37.1773, -3.5986),
        ("Florence", "Italy", "EUR", "it", 43.7696, 11.2558),
        ("Turin", "Italy", "EUR", "it", 45.0703, 7.6869),
        ("Bologna", "Italy", "EUR", "it", 44.4949, 11.3426),
        ("Salzburg", "Austria", "EUR", "de", 47.8095, 13.055),
        ("Graz", "Austria", "EUR", "de", 47.0707, 15.4395),
        ("Cork", "Ireland", "EUR", "en", 51.8985, -8.4756),
        ("Galway", "Ireland", "EUR", "en", 53.2707, -9.0568),
        ("Rotterdam", "Netherlands", "EUR", "nl", 51.9244, 4.4777),
        ("Utrecht", "Netherlands", "EUR", "nl", 52.0907, 5.1214),
        ("Brussels", "Belgium", "EUR", "fr", 50.8503, 4.3517),
        ("Zurich", "Switzerland", "CHF", "de", 47.3769, 8.5417),
        ("Geneva", "Switzerland", "CHF", "fr", 46.2044, 6.1432),
        ("Bristol", "United Kingdom", "GBP", "en", 51.4545, -2.5879),
        ("Glasgow", "United Kingdom", "GBP", "en", 55.8642, -4.2518),
        ("Leeds", "United Kingdom", "GBP", "en", 53.8008, -1.5491),
        ("Stockholm", "Sweden", "SEK", "sv", 59.3293, 18.0686),
        ("Gothenburg", "Sweden", "SEK", "sv", 57.7089, 11.9746),
        ("Copenhagen", "Denmark", "DKK", "da", 55.6761, 12.5683),
        ("Helsinki", "Finland", "EUR", "fi", 60.1699, 24.9384),
        ("Trondheim", "Norway", "NOK", "no", 63.4305, 10.3951),
        ("Fukuoka", "Japan", "JPY", "ja", 33.5904, 130.4017),
        ("Nagoya", "Japan", "JPY", "ja", 35.1815, 136.9066),
        ("Nakuru", "Kenya", "KES", "en", -0.3031, 36.08),
        ("Belo Horizonte", "Brazil", "BRL", "pt", -19.9167, -43.9345),
        ("Recife", "Brazil", "BRL", "pt", -8.0476, -34.877),
        ("Ottawa", "Canada", "CAD", "en", 45.4215, -75.6972),
        ("Calgary", "Canada", "CAD", "en", 51.0447, -114.0719),
        ("Quebec City", "Canada", "CAD", "fr", 46.8139, -71.208),
        ("Boston", "United States", "USD", "en", 42.3601, -71.0589),
        ("San Francisco", "United States", "USD", "en", 37.7749, -122.4194),
        ("Portland", "United States", "USD", "en", 45.5152, -122.6784),
        ("New Orleans", "United States", "USD", "en", 29.9511, -90.0715),
        ("Miami", "United States", "USD", "en", 25.7617, -80.1918),
        ("Monterrey", "Mexico", "MXN", "es", 25.6866, -100.3161),
        ("Oaxaca", "Mexico", "MXN", "es", 17.0732, -96.7266),
        ("Arequipa", "Peru", "PEN", "es", -16.409, -71.5375),
        ("Chennai", "India", "INR", "en", 13.0827, 80.2707),
        ("Jaipur", "India", "INR", "en", 26.9124, 75.7873),
        ("Kolkata", "India", "INR", "en", 22.5726, 88.3639),
        ("Incheon", "South Korea", "KRW", "en", 37.4563, 126.7052),
        ("Brisbane", "Australia", "AUD", "en", -27.4698, 153.0251),
        ("Perth", "Australia", "AUD", "en", -31.9505, 115.8605),
        ("Wellington", "New Zealand", "NZD", "en", -41.2865, 174.7762),
        ("Johannesburg", "South Africa", "ZAR", "en", -26.2041, 28.0473),
        ("Durban", "South Africa", "ZAR", "en", -29.8587, 31.0218),
        ("Kumasi", "Ghana", "GHS", "en", 6.6885, -1.6244),
        ("Abuja", "Nigeria", "NGN", "en", 9.0765, 7.3986),
        ("Alexandria", "Egypt", "EGP", "en", 31.2001, 29.9187),
        ("Izmir", "Turkey", "TRY", "en", 38.4237, 27.1428),
        ("Chiang Mai", "Thailand", "THB", "en", 18.7883, 98.9853),
        ("Ho Chi Minh City", "Vietnam", "VND", "en", 10.8231, 106.6297),
        ("Kuala Lumpur", "Malaysia", "MYR", "en", 3.139, 101.6869),
        ("Buenos Aires", "Argentina", "ARS", "es", -34.6037, -58.3816),
        ("Santiago", "Chile", "CLP", "es", -33.4489, -70.6693),
        ("Bogota", "Colombia", "COP", "es", 4.711, -74.0721),
        ("Medellin", "Colombia", "COP", "es", 6.2476, -75.5658),
    )
)

FIRST_NAMES = lexicon.FIRST_NAMES
MAIL_DOMAINS = _split("example.com; mail.example.org; example.net; inbox.example.com")
CUISINES = _split(
    "Italian; Ethiopian; Thai; Peruvian; Korean; Lebanese; Mexican; Japanese; Indian; Greek; "
    "Vietnamese; Moroccan; Georgian; Turkish; Spanish; Senegalese; Sichuan; Brazilian"
)
SYMBOLS = _split("AAPL; MSFT; NVDA; SAP; ASML; TSLA; AMZN; SONY; NFLX; INTC; ORCL; SHOP")

# Free text per domain (queries, titles, messages): what a user of that domain would type.
_QUERIES = {
    "recipes": "vegan lasagna; quick weeknight curry; gluten-free bread; lemon tart; "
    "mushroom risotto; spicy tofu bowl; banana pancakes; slow cooker chili",
    "music": "late night jazz; 90s hip-hop; piano covers; summer road trip songs; "
    "acoustic folk; synthwave classics; opera arias; lo-fi study beats",
    "books": "climate fiction; history of Rome; beginner chess; space opera; "
    "Japanese poetry; startup memoirs; detective novels; urban gardening",
    "ecommerce": "noise cancelling headphones; trail running shoes; standing desk; "
    "espresso grinder; rain jacket; mechanical keyboard; cast iron pan; kids bike helmet",
    "email": "invoice March; flight confirmation; team offsite; password reset; "
    "quarterly report; dentist reminder; lease renewal; conference badge",
    "education": "data science basics; conversational Spanish; watercolor painting; "
    "intro to statistics; public speaking; web accessibility; machine learning; music theory",
    "jobs": "backend engineer; nurse practitioner; graphic designer; data analyst; "
    "sous chef; product manager; electrician apprentice; museum curator",
    "maps": "quiet cafe; pharmacy open late; electric car charger; dog park; "
    "coworking space; bike repair shop; bakery; public library",
    "news": "monsoon forecast; central bank rates; chess championship; rail strike; "
    "Mars rover; housing prices; election results; heatwave warning",
    "gaming": "ranked duos; co-op survival; speedrun practice; casual racing; "
    "strategy league; puzzle marathon; retro arcade; battle royale squads",
    "social": "marathon training; sourdough tips; street photography; birdwatching; "
    "home office setups; plant care; vintage cameras; trail maps",
    "automotive": "hybrid hatchback; used pickup truck; electric SUV; family minivan; "
    "compact city car; vintage roadster; winter tires; cargo van",
}
_TITLES = {
    "email": "Quarterly Review; Invoice for March; Weekend Plans; Project Kickoff; "
    "Lease Renewal; Trip Itinerary; Welcome Aboard; Budget Draft",
    "calendar": "Team Offsite; Dentist Visit; Morning Run; Project Kickoff; Book Club; "
    "Parent Meeting; Yoga Class; Quarterly Review",
    "tasks": "Renew passport; Pay electricity bill; Draft slides; Call the plumber; "
    "Book flights; Water the plants; Submit expenses; Fix the bike",
}
_MESSAGES = {
    "email": "The report is ready for review; Can we move the call to Friday; "
    "Thanks for the quick turnaround; Please find the invoice attached; "
    "Looking forward to the offsite",
    "messaging": "See you at noon; Running ten minutes late; Happy birthday; "
    "Meeting moved to Friday; Dinner is on me tonight",
    "social": "Finished my first half marathon; New sourdough loaf turned out great; "
    "Spotted a kingfisher by the river; Our community garden opens Saturday",
    "translation": "Where is the train station; The museum opens at nine; "
    "Thank you for your hospitality; Please send the signed contract",
}
_TAGS = _split(
    "urgent; family; work; travel; health; finance; school; weekend; home; errands; kids; "
    "garden; car; taxes; birthday; holiday; clients; admin; shopping; fitness; reading; "
    "follow-up; later; important; personal; team; volunteering; pets; house move; wedding; "
    "paperwork; bills; groceries; side project; exam prep; renovation; insurance; medical"
)
_CATEGORIES = _split(
    "books; music; sports; science; art; food; travel; technology; health; history; design; "
    "business; politics; nature; film; gaming; fashion; education; photography; finance; "
    "parenting; architecture; cooking; cycling; theatre; comedy; wellness; gardening; "
    "climate; space; crafts; local news; careers; pets; cars; poetry"
)

# Names of the records a search returns, per entity: two word lists combined.
_NAMES: dict[str, tuple[str, str]] = {
    "flight": (
        "Skyward; Northwind; Atlas; Bluejet; Meridian; Coral; Aurora; Zephyr",
        "Air; Airways",
    ),
    "hotel": (
        "Harbour; Old Town; Riverside; Grand; Central; Garden; Skyline; Lighthouse; Copper; Linden",
        "Hotel; Inn; Suites; Lodge; Residence",
    ),
    "forecast": ("Morning; Afternoon; Evening; Overnight; Weekend; Hourly", "Outlook; Forecast"),
    "transaction": (
        "Grocery; Rent; Utility; Payroll; Travel; Restaurant; Pharmacy; Bookstore",
        "Payment; Transfer; Charge; Deposit",
    ),
    "order": ("Limit; Market; Stop; Trailing", "Buy Order; Sell Order"),
    "restaurant": (
        "Casa; Little; Golden; Blue; Corner; Olive; Saffron; Ember; Harvest; Juniper",
        "Kitchen; Bistro; Table; Grill; Canteen",
    ),
    "recipe": (
        "Smoky; Zesty; Creamy; Crispy; Herbed; Spiced; Roasted; Honey",
        "Stew; Salad; Tart; Noodles; Curry; Flatbread",
    ),
    "playlist": (
        "Sunday; Midnight; Road Trip; Focus; Rainy Day; Workout; Chill; Throwback",
        "Mix; Sessions; Essentials; Hits",
    ),
    "showtime": ("Evening; Matinee; Late Night; Premiere", "Screening; Showing"),
    "book": (
        "The Quiet; The Last; A Winter; The Glass; The Hidden; A Northern",
        "Orchard; Harbour; Archive; Garden; Compass; Lantern",
    ),
    "appointment": ("Checkup; Consultation; Follow-up; Screening; Vaccination", "Visit; Slot"),
    "workout": ("Interval; Tempo; Core; Mobility; Strength; Hill", "Session; Circuit; Run"),
    "product": (
        "Aero; Nimbus; Terra; Vector; Pulse; Summit; Echo; Atlas",
        "Pro; Lite; Max; Mini; Plus",
    ),
    "shipment": ("Express; Standard; Economy; Overnight; Freight", "Parcel; Delivery; Shipment"),
    "email": ("Re: Budget; Fwd: Itinerary; Re: Invoice; Meeting Notes; Welcome", "Draft; Thread"),
    "conversation": ("Family; Project; Book Club; Running; Neighbours; Design", "Chat; Group"),
    "event": ("Team; Family; Board; Launch; Charity; Alumni", "Dinner; Meeting; Workshop; Brunch"),
    "task": ("Weekly; Urgent; Quarterly; Home; Garden", "Checklist; Errand; Review; Cleanup"),
    "course": (
        "Foundations of; Practical; Advanced; Hands-on; Modern",
        "Statistics; Photography; Spanish; Web Design; Negotiation; Nutrition",
    ),
    "job": (
        "Senior; Junior; Lead; Remote; Part-time",
        "Data Analyst; Designer; Engineer; Nurse; Chef; Curator",
    ),
    "listing": (
        "Sunny; Spacious; Renovated; Quiet; Modern; Charming",
        "Loft; Flat; Townhouse; Studio",
    ),
    "ride": ("Shared; Comfort; Premium; Eco; XL", "Ride; Trip"),
    "place": (
        "Corner; Riverside; Old Mill; Market; Station; Garden",
        "Cafe; Park; Library; Bakery",
    ),
    "article": (
        "Inside the; Why the; How the; What the; Behind the",
        "Rail Strike; Rate Decision; Heatwave; Mars Landing; Housing Boom",
    ),
    "match": ("Derby; Final; Semi-final; Friendly; Cup Tie", "Match; Fixture"),
    "session": ("Ranked; Casual; Co-op; Practice; Tournament", "Lobby; Session; Room"),
    "post": ("Morning; Weekend; Trail; Kitchen; Garden; Studio", "Update; Story; Photo; Thread"),
    "claim": ("Water Damage; Windscreen; Travel Delay; Theft; Storm", "Claim"),
    "meter": ("Main; Kitchen; Garage; Annex; Rooftop", "Electricity Meter; Gas Meter; Water Meter"),
    "permit": ("Parking; Building; Event; Street Vending; Residence", "Permit"),
    "pet": (
        "Biscuit; Luna; Pepper; Miso; Rocket; Juniper; Otis; Maple",
        "the Terrier; the Tabby; the Collie; the Rabbit",
    ),
    "vehicle": ("Compact; Hybrid; Electric; Diesel; Family", "Hatchback; SUV; Sedan; Van; Pickup"),
    "document": (
        "Signed; Draft; Final; Scanned; Translated",
        "Contract; Letter; Report; Invoice; Manual",
    ),
    "device": ("Front Door; Garage; Hallway; Back Garden; Office", "Camera; Lock; Sensor; Alarm"),
}
# More first and second words per entity (added to the ones above).
_NAMES_MORE: dict[str, tuple[str, str]] = {
    "flight": (
        "Solstice; Pelican; Horizon; Starline; Mistral; Condor; Kestrel; Equator",
        "Express",
    ),
    "hotel": (
        "Marble; Willow; Harbourview; Station; Cathedral; Orchard; Palm; Beacon; Corner; "
        "Saffron; Ivy; Cedar; Seaside; Hillside; Ambassador; Canal; Park; Heritage",
        "House; Rooms; Boutique Hotel; Guesthouse; Hostel",
    ),
    "forecast": ("Early; Late; Daily; Coastal; Mountain; Extended", "Report; Update; Summary"),
    "transaction": (
        "Insurance; Gym; Subscription; Taxi; Salary; Refund; Electricity; Phone; Parking; "
        "Tuition; Charity; Hardware; Cinema; Florist",
        "Debit; Withdrawal; Top-up",
    ),
    "order": ("Limit; Bracket; Day; Good-till-cancelled", "Order; Trade"),
    "restaurant": (
        "Tamarind; Fennel; Copper; Lemon; Fig; Wild; Brass; Cardamom; Smokehouse; Paprika; "
        "Anchor; Lantern; Orchard; Basil; Sumac; Mango; Chestnut; Driftwood; Pomegranate; Pepper",
        "Diner; Trattoria; Eatery; Cantina; Brasserie; House; Kitchen & Bar; Noodle Bar; Taqueria",
    ),
    "recipe": (
        "Garlicky; Lemony; Charred; Maple; Miso; Sticky; Peppery; Golden; Rustic; Harissa; "
        "Coconut; Sesame; Buttery; Tangy; Ginger",
        "Soup; Bake; Traybake; Risotto; Pie; Skewers; Bowl; Pasta; Dumplings; Tacos; Fritters",
    ),
    "playlist": (
        "Late Summer; Coffeehouse; Night Drive; Deep Focus; Kitchen Disco; Slow Morning; "
        "Golden Hour; Festival; Sunset; Throwback Thursday; Commute; Study",
        "Vibes; Selection; Soundtrack; Rotation; Tapes; Grooves",
    ),
    "showtime": ("Early; Twilight; Midnight; Family; Subtitled; IMAX", "Screening; Show"),
    "book": (
        "The Silent; The Paper; A Distant; The Salt; The Burning; The Lost; The Second; "
        "The Winter; An Unfinished; The Borrowed; The Iron; A Small",
        "River; Kingdom; Letters; Island; Season; Atlas; Library; Orchard; Sea; Mountain; Winter",
    ),
    "appointment": ("Dental; Eye; Blood Test; Physio; Skin; Hearing", "Check; Appointment; Review"),
    "workout": (
        "Pyramid; Recovery; Ladder; Sprint; Endurance; Balance; Upper Body; Leg Day",
        "Set; Workout; Routine; Ride; Swim",
    ),
    "product": (
        "Zenith; Orbit; Drift; Halo; Nova; Ember; Glide; Quill; Breeze; Forge; Flux; Strata",
        "Air; Go; One; Edge; Duo; Ultra; S; X",
    ),
    "shipment": ("Priority; Next-Day; International; Tracked; Weekend", "Package; Consignment"),
    "email": ("Re: Offsite; Fwd: Contract; Re: Lease; Quarterly Numbers; Intro", "Note; Reply"),
    "conversation": ("Weekend; Holiday; Birthday; Flat; Allotment; Carpool; Alumni", "Thread"),
    "event": ("Summer; Holiday; Quarterly; Volunteer; Welcome; Farewell", "Party; Picnic; Review"),
    "task": ("Monthly; Spring; Garage; Office; Paperwork; Kitchen", "Sort-out; Clear-out; Plan"),
    "course": (
        "Introduction to; Essentials of; Mastering; Weekend; Evening",
        "Pottery; Bookkeeping; Python; Public Speaking; First Aid; Calligraphy; Sign Language",
    ),
    "job": (
        "Graduate; Principal; Contract; Freelance; Trainee",
        "Pharmacist; Copywriter; Teacher; Pilot",
    ),
    "listing": (
        "Bright; Cosy; Split-level; Garden; Top-floor; Riverside",
        "Apartment; Cottage; Bungalow; Duplex",
    ),
    "ride": ("Standard; Express; Green; Family", "Car; Pool"),
    "place": (
        "Harbour; Castle; Hilltop; Old Town; Canal; Chapel",
        "Market; Museum; Gardens; Pool; Bookshop",
    ),
    "article": (
        "After the; Inside a; The Cost of the; Lessons from the",
        "Flood; Budget Vote; Transfer Window; Chip Shortage",
    ),
    "match": ("League; Quarter-final; Charity; Testimonial", "Game; Clash"),
    "session": ("Weekend; Midnight; Beginners; Squad; Speedrun", "Party; Raid; Scrim"),
    "post": ("Sunday; Market; Holiday; Balcony; Recipe", "Note; Reel; Snapshot"),
    "claim": ("Burst Pipe; Lost Luggage; Hail; Flood; Cracked Screen", "Report"),
    "meter": ("Basement; Ground Floor; Shop; Workshop; Cellar", "Heat Meter; Smart Meter"),
    "permit": ("Scaffolding; Skip; Fishing; Market Stall; Work", "Licence"),
    "pet": (
        "Mochi; Pickle; Waffles; Nala; Bean; Noodle; Clover; Chester; Frida; Banjo; Scout; Tilly",
        "the Spaniel; the Beagle; the Ginger Cat; the Parrot; the Hamster; the Lab",
    ),
    "vehicle": ("City; Estate; Sport; Touring; Long-range", "Coupe; Estate; Minivan; Roadster"),
    "document": (
        "Revised; Annotated; Notarised; Certified; Updated",
        "Agreement; Certificate; Statement; Plan",
    ),
    "device": (
        "Kitchen; Porch; Nursery; Driveway; Side Gate; Loft",
        "Doorbell; Light; Thermostat; Detector",
    ),
}
_NAME_PARTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    entity: (
        _split(first + "; " + _NAMES_MORE.get(entity, ("", ""))[0]),
        _split(second + "; " + _NAMES_MORE.get(entity, ("", ""))[1]),
    )
    for entity, (first, second) in _NAMES.items()
}
_DEFAULT_PARTS = (_split("Blue; Green; North"), _split("One"))

_STATUS = {  # the consumer status a verb leads to (the response enum of pool APIs)
    "cancel": "cancelled",
    "delete": "cancelled",
    "refund": "cancelled",
    "book": "confirmed",
    "confirm": "confirmed",
    "pay": "confirmed",
    "update": "updated",
    "reschedule": "updated",
    "renew": "updated",
    "get": "completed",
    "track": "pending",
    "check": "completed",
}
PAST = {
    "cancel": "cancelled",
    "book": "booked",
    "get": "retrieved",
    "update": "updated",
    "delete": "deleted",
    "track": "located",
    "check": "checked",
    "download": "downloaded",
    "rate": "rated",
    "share": "shared",
    "close": "closed",
    "renew": "renewed",
    "reschedule": "rescheduled",
    "confirm": "confirmed",
    "pay": "paid",
    "review": "reviewed",
    "archive": "archived",
    "refund": "refunded",
}
TRANSIENT = (
    ("service_unavailable", "The {service} service is temporarily unavailable; try again shortly."),
    ("timeout", "The {service} request timed out after 30 seconds."),
    ("rate_limited", "Too many {service} requests right now; retry in a few seconds."),
)
PERMANENT = (
    ("not_found", "No {entity} matches {value}."),
    ("unavailable", "Nothing is available for {value} at the moment."),
    ("rejected", "The {service} service rejected {value}: outside the supported range."),
)


@dataclass(frozen=True)
class Scene:
    """Where, when and for whom a dialog happens."""

    city: City
    other: City
    first: str
    last: str
    start: _dt.date
    nights: int
    time: str
    account: str
    user: str
    mail_domain: str
    companion: str

    @classmethod
    def draw(cls, rng: random.Random) -> Scene:
        city, other = rng.sample(CITIES, 2)
        start = _dt.date(2025, 1, 6) + _dt.timedelta(days=rng.randint(0, 1000))
        first, last = lexicon.person(rng)
        return cls(
            city,
            other,
            first,
            last,
            start,
            rng.choice((1, 2, 2, 3, 3, 4, 5, 6, 7, 9, 10, 12, 14, 21)),
            f"{rng.randint(6, 22):02d}:{rng.choice((0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55)):02d}",
            f"AC{rng.randint(0, 999999):06d}",
            f"u{rng.randint(0, 99999):05d}",
            rng.choice(MAIL_DOMAINS),
            " ".join(lexicon.person(rng)),
        )

    @property
    def person(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def email(self) -> str:
        last = "".join(ch for ch in self.last.lower() if ch.isalnum() or ch == "-")
        return f"{self.first.lower().replace('-', '')}.{last}@{self.mail_domain}"

    @property
    def end(self) -> _dt.date:
        return self.start + _dt.timedelta(days=self.nights)


def entity_id(entity: str, rng: random.Random) -> str:
    """An id of the pool's ``<entity>_id`` pattern with the entity's letters (``HO12345``)."""
    letters = "".join(ch for ch in entity.upper() if ch.isalpha())[:2].ljust(2, "X")
    return f"{letters}{rng.randint(10000, 99999)}"


def _fit(value: Any, schema: Mapping[str, Any]) -> bool:
    quick = fast_valid(schema, value)
    return quick if quick is not None else not value_issues(schema, value)


def _number(name: str, domain: str, rng: random.Random) -> float | int | None:
    """A plausible number for a numeric parameter named ``name`` (None: no rule)."""
    picks: dict[str, tuple[float, ...]] = {
        "limit": (3, 4, 5, 5, 6, 8, 10, 10, 12, 15, 20, 25, 30),
        "page": (1, 1, 2, 2, 3, 4, 5, 7),
        "quantity": (1, 1, 2, 2, 3, 4, 5, 6, 8, 10, 12),
        "guests": (1, 2, 2, 2, 3, 4, 4, 5, 6, 7, 8, 10),
        "duration_minutes": (10, 15, 20, 25, 30, 30, 40, 45, 50, 60, 60, 75, 90, 105, 120, 150),
        "min_rating": (2.5, 3, 3.5, 3.8, 4, 4, 4.2, 4.5, 4.7),
        "radius_km": (0.5, 1, 1.5, 2, 3, 4, 5, 5, 7, 8, 10, 12, 15, 20, 25, 40),
    }
    if name in picks:
        return rng.choice(picks[name])
    if name == "amount":
        return round(rng.uniform(5, 1500), 2) if rng.random() < 0.5 else rng.randint(5, 1500)
    if name == "max_price":
        top = {"lodging": 400, "food": 90, "ecommerce": 1500, "real_estate": 2000}.get(domain, 600)
        return rng.randrange(10, top + 1, 5)
    if name == "year":
        return rng.randint(1995, 2025)
    if name == "age":
        return rng.randint(1, 16) if domain == "pets" else rng.randint(18, 80)
    if name == "weight_kg":
        return round(rng.uniform(0.5, 30 if domain != "fitness" else 110), 1)
    if name in ("price", "budget"):
        return rng.randrange(10, 1200, 5)
    return None


def argument_value(
    name: str,
    schema: Mapping[str, Any],
    scene: Scene,
    rng: random.Random,
    *,
    domain: str = "",
    pool: Any = None,
) -> Any:
    """A value for parameter ``name`` that fits ``schema`` and the scene (see the module
    docstring); raises ``SampleError`` only when nothing fits."""
    kind = schema.get("type")
    if kind == "array" and isinstance(schema.get("items"), Mapping):
        single = name.removesuffix("_list")
        n = rng.randint(
            max(1, int(schema.get("minItems", 1))), max(1, min(3, schema.get("maxItems", 3)))
        )
        values: list[Any] = []
        for _ in range(n * 3):
            if len(values) == n:
                break
            v = argument_value(single, schema["items"], scene, rng, domain=domain, pool=pool)
            if v not in values:
                values.append(v)
        if _fit(values, schema):
            return values
    elif kind == "object" and isinstance(schema.get("properties"), Mapping):
        required = set(schema.get("required") or ())
        out = {
            key: argument_value(key, sub, scene, rng, domain=domain)
            for key, sub in schema["properties"].items()
            if isinstance(sub, Mapping) and (key in required or rng.random() < 0.5)
        }
        if name == "price_range" and {"min", "max"} <= set(out):
            out["min"], out["max"] = rng.choice((0, 20, 50, 80)), rng.choice((150, 300, 800, 1200))
        if name == "coordinates" and {"lat", "lon"} <= set(out):
            out["lat"], out["lon"] = round(scene.city.lat, 4), round(scene.city.lon, 4)
        if _fit(out, schema):
            return out
    else:
        value = _semantic(name, schema, scene, rng, domain, pool)
        if value is not None and _fit(value, schema):
            return value
    return sample_value(schema, rng, pool if isinstance(pool, list) else None)


def _semantic(
    name: str, schema: Mapping[str, Any], scene: Scene, rng: random.Random, domain: str, pool: Any
) -> Any:
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        prefer = {"currency": scene.city.currency, "language": scene.city.language}.get(name)
        return prefer if prefer in enum else rng.choice(enum)
    if schema.get("type") in ("integer", "number"):
        value = _number(name, domain, rng)
        if value is not None and schema.get("type") == "integer":
            return int(value)
        return value
    if schema.get("type") == "boolean":
        return rng.random() < 0.5
    text: dict[str, Any] = {
        "city": scene.city.name,
        "origin": scene.city.name,
        "destination": scene.other.name,
        "country": scene.city.country,
        "date": scene.start.isoformat(),
        "start_date": scene.start.isoformat(),
        "end_date": scene.end.isoformat(),
        "deadline": scene.end.isoformat(),
        "time": scene.time,
        "start_time": scene.time,
        "name": scene.person if rng.random() < 0.7 else scene.companion,
        "email": scene.email,
        "contact_email": scene.email,
        "phone": f"+{rng.randint(1, 99)} {rng.randint(100, 999)} {rng.randint(1000000, 9999999)}",
        "account_id": scene.account,
        "user_id": scene.user,
        "address": lexicon.address(rng, scene.city.language),
        "cuisine": rng.choice(CUISINES),
        "symbol": rng.choice(SYMBOLS),
        "website": f"https://www.{scene.email.split('@')[0].split('.')[-1]}{rng.randint(1, 99)}.example.com",
        "callback_url": f"https://hooks.example.com/{scene.user}",
    }
    if name in text:
        return text[name]
    if name.endswith("_id"):
        return entity_id(name.removesuffix("_id"), rng)
    made = None
    if name == "query":
        made = lexicon.query(domain, rng)
    elif name == "title":
        made = lexicon.title(domain, rng)
    elif name == "message" and domain in _MESSAGES:
        made = lexicon.message(rng) if rng.random() < 0.7 else None
    if made is not None:
        return made
    banks = {"query": _QUERIES, "title": _TITLES, "message": _MESSAGES}
    if name in banks:
        options = _split(banks[name].get(domain, "")) or tuple(
            v for v in (pool or ()) if isinstance(v, str)
        )
        return rng.choice(options) if options else None
    if name in ("tag", "tags"):
        return rng.choice(_TAGS)
    if name in ("category", "categories"):
        return rng.choice(_CATEGORIES)
    return None


def arguments(
    api: ToolSpec,
    info: ApiInfo,
    scene: Scene,
    rng: random.Random,
    *,
    optional_p: float = 0.5,
    skip: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Argument values for a call of ``api``: every required parameter and each optional one
    with probability ``optional_p`` (none of ``skip``)."""
    required = set(api.required)
    out: dict[str, Any] = {}
    for pname, schema in api.properties.items():
        if pname in skip or not (pname in required or rng.random() < optional_p):
            continue
        out[pname] = argument_value(
            pname, schema or {}, scene, rng, domain=info.domain, pool=info.pools.get(pname)
        )
    return out


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class Records:
    """What the tools of one dialog returned so far: each record's name by its id."""

    names: dict[str, str] = field(default_factory=dict)

    def new_id(self, entity: str, rng: random.Random) -> str:
        for _ in range(20):
            found = entity_id(entity, rng)
            if found not in self.names:
                return found
        raise SampleError(f"no fresh {entity} id")


def record_name(entity: str, rng: random.Random, taken: Collection[str] = ()) -> str:
    """A display name that fits ``entity`` (a hotel is a hotel, a flight an airline number)."""
    first, second = _NAME_PARTS.get(entity, _DEFAULT_PARTS)
    for _ in range(12):
        name = f"{rng.choice(first)} {rng.choice(second)}"
        if entity == "flight":
            name += f" {rng.randint(100, 989)}"
        if name not in taken:
            return name
    return f"{name} {rng.randint(2, 9)}"


# Result fields the simulator writes itself (a call argument of the same name is not echoed).
_OWN_FIELDS = frozenset(
    ["status", "message", "summary", "value", "name", "score", "total", "results"]
)


def _fill(schema: Mapping[str, Any], key: str, ctx: dict[str, Any], rng: random.Random) -> Any:
    """A result value for the response field ``key`` (echoing the call where it can)."""
    call: ToolCall = ctx["call"]
    echoed = key.endswith("_id") or key not in _OWN_FIELDS
    if echoed and key in call.arguments and _fit(call.arguments[key], schema):
        return call.arguments[key]
    if schema.get("type") == "object" and isinstance(schema.get("properties"), Mapping):
        required = set(schema.get("required") or ())
        return {
            k: _fill(sub, k, ctx, rng)
            for k, sub in schema["properties"].items()
            if isinstance(sub, Mapping) and (k in required or rng.random() < 0.7)
        }
    value: Any = None
    if key == "status" and isinstance(schema.get("enum"), list):
        wanted = _STATUS.get(ctx["verb"], "completed")
        value = wanted if wanted in schema["enum"] else schema["enum"][0]
    elif key == "message":
        value = ctx["message"]
    elif key == "summary":
        value = ctx["summary"]
    elif key == "value" and schema.get("type") in ("number", "integer"):
        value = ctx["value"]
    elif key == "name":
        value = record_name(ctx["entity"], rng)
    elif key == "score":
        value = round(rng.uniform(3.2, 4.9), 1)
    if value is not None and _fit(value, schema):
        return value
    return sample_value(schema, rng)


def simulate(
    api: ToolSpec, info: ApiInfo, call: ToolCall, records: Records, rng: random.Random
) -> Any:
    """A result for ``call`` that fits ``api.responses`` and the records seen so far; raises
    ``SampleError`` when none can be drawn."""
    schema = api.responses or {"type": "object"}
    entity = info.entity or "item"
    verb = verb_of(info.functionalities[0]) if info.functionalities else ""
    id_key = f"{entity}_id"
    props = schema.get("properties") or {}
    items = (props.get("results") or {}).get("items") if isinstance(props, Mapping) else None
    if info.role == "producer" and isinstance(items, Mapping):
        n = rng.randint(
            int((props["results"]).get("minItems", 1)),
            min(3, int(props["results"].get("maxItems", 3))),
        )
        found = []
        taken: set[str] = set(records.names.values())
        for _ in range(n):
            new, name = records.new_id(entity, rng), record_name(entity, rng, taken)
            taken.add(name)
            records.names[new] = name
            row = {id_key: new, "name": name, "score": round(rng.uniform(3.2, 4.9), 1)}
            found.append({k: v for k, v in row.items() if k in (items.get("properties") or {})})
        result: Any = {"results": found}
        if "total" in props:
            result["total"] = len(found) + rng.choice((0, 0, 4, 11, 27, 58))
    else:
        rid = call.arguments.get(id_key)
        label = entity.replace("_", " ")
        known = records.names.get(rid) if isinstance(rid, str) else None
        what = f"{label} {rid}" + (f" ({known})" if known else "") if rid else label
        value = round(rng.uniform(1, 250), 1)
        ctx = {
            "call": call,
            "verb": verb,
            "entity": entity,
            "value": value,
            "message": f"{what[0].upper()}{what[1:]} {PAST.get(verb, 'processed')}.",
            "summary": f"{info.functionalities[0] if info.functionalities else api.name}: "
            f"done ({value})",
        }
        result = _fill(schema, "", ctx, rng)
    if not _fit(result, schema):
        result = sample_value(schema, rng)
    return result


def failure(
    api: ToolSpec, info: ApiInfo, call: ToolCall, transient: bool, rng: random.Random
) -> dict[str, Any]:
    """An error result for ``call``: a transient one (a retry may work) or a permanent one
    naming the value it refused."""
    service = (info.subdomain or info.domain or api.name).replace("_", " ")
    code, text = rng.choice(TRANSIENT if transient else PERMANENT)
    ids: list[Any] = [v for k, v in call.arguments.items() if k.endswith("_id")]
    values = ids or [
        v for v in call.arguments.values() if isinstance(v, (str, int)) and not isinstance(v, bool)
    ]
    value = str(rng.choice(values)) if values else "this request"
    return error_result(
        code,
        text.format(
            service=service, entity=(info.entity or "record").replace("_", " "), value=value
        ),
    )


__all__ = [
    "CITIES",
    "City",
    "Records",
    "Scene",
    "argument_value",
    "arguments",
    "entity_id",
    "failure",
    "record_name",
    "simulate",
]
