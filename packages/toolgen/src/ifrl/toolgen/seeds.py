"""The built-in seed material for the API pool, written for this project.

* :data:`SEED_TREE` — 32 domains → subdomains → functionalities ("verb object" phrases), each
  domain with the entity its APIs are about (``hotel`` → ``hotel_id``) and the parameter names it
  draws from.
* :data:`PARAMS` — the parameter library: a JSON Schema, a pool of natural values (so generated
  user queries read naturally and mention every value) and a phrase that puts a value in a query.

Functionalities whose verb *produces* entities (search, list, create...) return ``<entity>_id``
values; those that *consume* them (get, cancel, update...) take ``<entity>_id`` as a required
argument. That pairing is what dependent-call dialogs are built from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ParamTemplate:
    """A reusable parameter: its schema, natural values and how a query mentions a value."""

    schema: dict[str, Any]
    pool: tuple[Any, ...] = ()
    phrase: str = "{label} {v}"


@dataclass(frozen=True)
class Domain:
    """A seed domain: its entity, subdomains with functionalities, and parameter vocabulary."""

    name: str
    entity: str
    subdomains: dict[str, tuple[str, ...]]
    params: tuple[str, ...]
    extra: dict[str, ParamTemplate] = field(default_factory=dict)


PRODUCER_VERBS = frozenset(
    [
        "search",
        "list",
        "find",
        "create",
        "add",
        "register",
        "generate",
        "schedule",
        "submit",
        "upload",
        "open",
        "start",
        "plan",
        "discover",
        "recommend",
        "compare",
        "estimate",
        "calculate",
    ]
)
CONSUMER_VERBS = frozenset(
    [
        "get",
        "cancel",
        "update",
        "delete",
        "book",
        "track",
        "check",
        "download",
        "rate",
        "share",
        "close",
        "renew",
        "reschedule",
        "confirm",
        "pay",
        "review",
        "archive",
        "refund",
    ]
)


def _s(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


CITIES = ("Paris", "Tokyo", "Berlin", "Nairobi", "Lima", "Toronto", "Sydney", "Madrid", "Seoul")
COUNTRIES = ("France", "Japan", "Kenya", "Brazil", "Canada", "India", "Norway", "Mexico")

PARAMS: dict[str, ParamTemplate] = {
    "city": ParamTemplate(_s("Name of the city, e.g. Paris"), CITIES, "in {v}"),
    "country": ParamTemplate(_s("Country name"), COUNTRIES, "in {v}"),
    "origin": ParamTemplate(_s("City of departure"), CITIES, "from {v}"),
    "destination": ParamTemplate(_s("City of arrival"), CITIES, "to {v}"),
    "date": ParamTemplate(_s("Date in YYYY-MM-DD format", format="date"), (), "on {v}"),
    "start_date": ParamTemplate(_s("First day, YYYY-MM-DD", format="date"), (), "starting {v}"),
    "end_date": ParamTemplate(_s("Last day, YYYY-MM-DD", format="date"), (), "until {v}"),
    "time": ParamTemplate(_s("Time of day as HH:MM", format="time"), (), "at {v}"),
    "email": ParamTemplate(_s("Email address", format="email"), (), "using the email {v}"),
    "website": ParamTemplate(_s("Web address", format="uri"), (), "for the site {v}"),
    "phone": ParamTemplate(_s("Phone number with country code", format="phone"), (), "phone {v}"),
    "query": ParamTemplate(
        _s("Free-text search terms"),
        (
            "vegan recipes",
            "noise cancelling headphones",
            "climate report",
            "jazz concerts",
            "used bicycles",
            "python tutorials",
            "budget laptops",
            "museum tickets",
        ),
        'matching "{v}"',
    ),
    "title": ParamTemplate(
        _s("Title"),
        ("Quarterly Review", "Team Offsite", "Spring Sale", "Morning Run", "Project Kickoff"),
        'titled "{v}"',
    ),
    "name": ParamTemplate(
        _s("Full name of the person"),
        ("Ada Lovelace", "Kwame Mensah", "Mei Tanaka", "Luis Ortega", "Priya Raman", "Omar Haddad"),
        "for {v}",
    ),
    "message": ParamTemplate(
        _s("Text of the message"),
        ("See you at noon", "The report is ready", "Happy birthday", "Meeting moved to Friday"),
        'saying "{v}"',
    ),
    "language": ParamTemplate(
        _s("Language code", enum=["en", "fr", "de", "es", "ja", "zh"]), (), "in language {v}"
    ),
    "currency": ParamTemplate(
        _s("ISO 4217 currency code", enum=["USD", "EUR", "JPY", "GBP", "KES", "BRL"]), (), "in {v}"
    ),
    "unit": ParamTemplate(_s("Unit system", enum=["metric", "imperial"]), (), "using {v} units"),
    "sort_order": ParamTemplate(_s("Sort direction", enum=["asc", "desc"]), (), "sorted {v}"),
    "priority": ParamTemplate(
        _s("Priority level", enum=["low", "normal", "high", "urgent"]), (), "with {v} priority"
    ),
    "limit": ParamTemplate(
        {
            "type": "integer",
            "description": "Maximum number of results",
            "minimum": 1,
            "maximum": 50,
        },
        (),
        "showing at most {v} results",
    ),
    "page": ParamTemplate(
        {
            "type": "integer",
            "description": "Page number, starting at 1",
            "minimum": 1,
            "maximum": 20,
        },
        (),
        "page {v}",
    ),
    "quantity": ParamTemplate(
        {"type": "integer", "description": "Number of items", "minimum": 1, "maximum": 20},
        (),
        "quantity {v}",
    ),
    "guests": ParamTemplate(
        {"type": "integer", "description": "Number of guests", "minimum": 1, "maximum": 12},
        (),
        "for {v} guests",
    ),
    "year": ParamTemplate(
        {"type": "integer", "description": "Calendar year", "minimum": 1950, "maximum": 2030},
        (),
        "for the year {v}",
    ),
    "age": ParamTemplate(
        {"type": "integer", "description": "Age in years", "minimum": 0, "maximum": 120},
        (),
        "age {v}",
    ),
    "duration_minutes": ParamTemplate(
        {"type": "integer", "description": "Duration in minutes", "minimum": 5, "maximum": 480},
        (),
        "lasting {v} minutes",
    ),
    "amount": ParamTemplate(
        {"type": "number", "description": "Amount of money", "minimum": 0.5, "maximum": 5000},
        (),
        "for an amount of {v}",
    ),
    "max_price": ParamTemplate(
        {
            "type": "number",
            "description": "Highest acceptable price",
            "minimum": 1,
            "maximum": 2000,
        },
        (),
        "under {v}",
    ),
    "min_rating": ParamTemplate(
        {
            "type": "number",
            "description": "Lowest acceptable rating (0-5)",
            "minimum": 0,
            "maximum": 5,
        },
        (),
        "rated at least {v}",
    ),
    "radius_km": ParamTemplate(
        {
            "type": "number",
            "description": "Search radius in kilometres",
            "minimum": 0.5,
            "maximum": 100,
        },
        (),
        "within {v} km",
    ),
    "weight_kg": ParamTemplate(
        {"type": "number", "description": "Weight in kilograms", "minimum": 0.1, "maximum": 500},
        (),
        "weighing {v} kg",
    ),
    "include_details": ParamTemplate(
        {"type": "boolean", "description": "Whether to include full details"}, (), "{flag} details"
    ),
    "notify": ParamTemplate(
        {"type": "boolean", "description": "Whether to send a notification"},
        (),
        "{flag} a notification",
    ),
    "tags": ParamTemplate(
        {"type": "array", "description": "Labels to attach", "items": {"type": "string"}},
        ("urgent", "family", "work", "travel", "health", "finance"),
        "tagged {v}",
    ),
    "categories": ParamTemplate(
        {"type": "array", "description": "Categories to include", "items": {"type": "string"}},
        ("books", "music", "sports", "science", "art", "food"),
        "in the categories {v}",
    ),
    "genre": ParamTemplate(
        _s("Genre", enum=["rock", "jazz", "classical", "pop", "hip-hop", "folk"]),
        (),
        "in the {v} genre",
    ),
    "cuisine": ParamTemplate(
        _s("Type of cuisine"),
        ("Italian", "Ethiopian", "Thai", "Peruvian", "Korean"),
        "serving {v} food",
    ),
    "symbol": ParamTemplate(
        _s("Ticker symbol", pattern="^[A-Z]{3,4}$"), ("AAPL", "MSFT", "NVDA", "SAP"), "for {v}"
    ),
    "account_id": ParamTemplate(
        _s("Account identifier", pattern="^AC[0-9]{6}$"), (), "on account {v}"
    ),
    "user_id": ParamTemplate(_s("User identifier", pattern="^u[0-9]{5}$"), (), "for user {v}"),
    "address": ParamTemplate(
        _s("Street address"),
        ("12 Rue de Rivoli", "221B Baker Street", "5 Kenyatta Avenue", "88 Queen Street"),
        "at {v}",
    ),
    "coordinates": ParamTemplate(
        {
            "type": "object",
            "description": "Geographic position",
            "properties": {
                "lat": {"type": "number", "description": "Latitude", "minimum": -90, "maximum": 90},
                "lon": {
                    "type": "number",
                    "description": "Longitude",
                    "minimum": -180,
                    "maximum": 180,
                },
            },
            "required": ["lat", "lon"],
        },
        (),
        "at coordinates {v}",
    ),
    "price_range": ParamTemplate(
        {
            "type": "object",
            "description": "Accepted price range",
            "properties": {
                "min": {
                    "type": "number",
                    "description": "Lowest price",
                    "minimum": 0,
                    "maximum": 100,
                },
                "max": {
                    "type": "number",
                    "description": "Highest price",
                    "minimum": 100,
                    "maximum": 5000,
                },
            },
            "required": ["min", "max"],
        },
        (),
        "priced {v}",
    ),
    "contact": ParamTemplate(
        {
            "type": "object",
            "description": "Contact person",
            "properties": {
                "name": {"type": "string", "description": "Contact name"},
                "email": {"type": "string", "description": "Contact email", "format": "email"},
            },
            "required": ["name", "email"],
        },
        (),
        "with contact {v}",
    ),
}


def _d(name: str, entity: str, subs: dict[str, str], params: str) -> Domain:
    return Domain(
        name,
        entity,
        {k: tuple(p.strip() for p in v.split(";")) for k, v in subs.items()},
        tuple(params.split()),
    )


SEED_TREE: tuple[Domain, ...] = (
    _d(
        "travel",
        "flight",
        {
            "flights": "search flights; book flight; cancel flight; track flight",
            "trips": "plan itinerary; get trip details; share itinerary",
        },
        "origin destination date guests max_price currency sort_order limit",
    ),
    _d(
        "lodging",
        "hotel",
        {
            "hotels": "search hotels; book hotel; cancel hotel; get hotel details",
            "rentals": "find rentals; review rental; check availability",
        },
        "city start_date end_date guests max_price min_rating currency price_range",
    ),
    _d(
        "weather",
        "forecast",
        {
            "forecasts": "get forecast; list forecasts; compare forecasts",
            "alerts": "list alerts; get alert details; share alert",
        },
        "city date unit language coordinates include_details",
    ),
    _d(
        "finance",
        "transaction",
        {
            "banking": "list transactions; get transaction details; refund transaction",
            "transfers": "create transfer; cancel transfer; track transfer",
        },
        "account_id amount currency start_date end_date limit notify",
    ),
    _d(
        "investing",
        "order",
        {
            "stocks": "search stocks; create order; cancel order; get order details",
            "portfolio": "list holdings; estimate returns; review order",
        },
        "symbol quantity amount currency start_date end_date sort_order",
    ),
    _d(
        "food",
        "restaurant",
        {
            "dining": "search restaurants; book restaurant; review restaurant",
            "delivery": "find delivery options; track restaurant; rate restaurant",
        },
        "city cuisine guests time date max_price min_rating radius_km",
    ),
    _d(
        "recipes",
        "recipe",
        {
            "cooking": "search recipes; get recipe details; share recipe",
            "nutrition": "calculate nutrition; compare recipes; archive recipe",
        },
        "query cuisine duration_minutes categories limit language",
    ),
    _d(
        "music",
        "playlist",
        {
            "streaming": "search songs; create playlist; update playlist; share playlist",
            "concerts": "find concerts; book playlist; review playlist",
        },
        "query genre city date limit sort_order tags",
    ),
    _d(
        "movies",
        "showtime",
        {
            "cinema": "search showtimes; book showtime; cancel showtime",
            "catalog": "list movies; get showtime details; rate showtime",
        },
        "city date time genre language guests year",
    ),
    _d(
        "books",
        "book",
        {
            "library": "search books; renew book; get book details",
            "store": "recommend books; review book; download book",
        },
        "query categories language year limit sort_order",
    ),
    _d(
        "health",
        "appointment",
        {
            "clinics": "find clinics; schedule appointment; cancel appointment",
            "records": "list appointments; get appointment details; reschedule appointment",
        },
        "name city date time age email phone",
    ),
    _d(
        "fitness",
        "workout",
        {
            "training": "plan workout; track workout; share workout",
            "metrics": "calculate calories; list workouts; review workout",
        },
        "duration_minutes weight_kg age date unit tags",
    ),
    _d(
        "ecommerce",
        "product",
        {
            "shopping": "search products; compare products; get product details",
            "orders": "add product; review product; rate product",
        },
        "query categories max_price min_rating quantity currency sort_order limit price_range",
    ),
    _d(
        "shipping",
        "shipment",
        {
            "parcels": "create shipment; track shipment; cancel shipment",
            "rates": "estimate shipping; compare shipment; confirm shipment",
        },
        "origin destination weight_kg address date priority",
    ),
    _d(
        "email",
        "email",
        {
            "mailbox": "search emails; archive email; delete email",
            "compose": "create draft; share email; get email details",
        },
        "query email title message tags start_date limit",
    ),
    _d(
        "messaging",
        "conversation",
        {
            "chat": "start conversation; archive conversation; get conversation details",
            "groups": "create group; update conversation; close conversation",
        },
        "name message user_id tags notify",
    ),
    _d(
        "calendar",
        "event",
        {
            "events": "create event; update event; cancel event; get event details",
            "scheduling": "find free slots; reschedule event; share event",
        },
        "title date time duration_minutes email notify tags",
    ),
    _d(
        "tasks",
        "task",
        {
            "todo": "add task; update task; delete task; list tasks",
            "projects": "create project board; check task; archive task",
        },
        "title date priority tags user_id notify",
    ),
    _d(
        "education",
        "course",
        {
            "courses": "search courses; register course; get course details",
            "exams": "schedule exam; check course; review course",
        },
        "query language categories date limit name",
    ),
    _d(
        "jobs",
        "job",
        {
            "listings": "search jobs; get job details; share job",
            "applications": "submit application; track job; review job",
        },
        "query city max_price categories email name",
    ),
    _d(
        "real_estate",
        "listing",
        {
            "buying": "search listings; get listing details; compare listings",
            "viewings": "schedule viewing; cancel listing; confirm listing",
        },
        "city max_price radius_km address date guests price_range",
    ),
    _d(
        "transport",
        "ride",
        {
            "rides": "estimate fare; book ride; cancel ride; track ride",
            "transit": "plan route; list departures; rate ride",
        },
        "origin destination time date guests coordinates",
    ),
    _d(
        "maps",
        "place",
        {
            "places": "search places; get place details; review place",
            "navigation": "calculate distance; plan route; share place",
        },
        "query coordinates radius_km city limit unit",
    ),
    _d(
        "news",
        "article",
        {
            "headlines": "list headlines; search articles; get article details",
            "topics": "recommend articles; share article; archive article",
        },
        "query categories language start_date end_date limit sort_order",
    ),
    _d(
        "sports",
        "match",
        {
            "scores": "list matches; get match details; track match",
            "tickets": "search tickets; book match; compare teams",
        },
        "city date categories limit year",
    ),
    _d(
        "gaming",
        "session",
        {
            "lobbies": "find lobbies; start session; close session",
            "stats": "get session details; list achievements; share session",
        },
        "user_id query limit language tags",
    ),
    _d(
        "social",
        "post",
        {
            "feed": "create post; update post; delete post; get post details",
            "discovery": "search posts; recommend accounts; share post",
        },
        "user_id message tags query limit language",
    ),
    _d(
        "insurance",
        "claim",
        {
            "claims": "submit claim; track claim; update claim",
            "policies": "compare policies; estimate premium; get claim details",
        },
        "name amount date account_id email phone",
    ),
    _d(
        "utilities",
        "meter",
        {
            "energy": "get meter details; list readings; estimate bill",
            "service": "schedule repair; check meter; confirm meter",
        },
        "account_id address start_date end_date unit",
    ),
    _d(
        "government",
        "permit",
        {
            "permits": "submit permit application; track permit; renew permit",
            "services": "find offices; schedule permit; get permit details",
        },
        "name address city date email",
    ),
    _d(
        "pets",
        "pet",
        {
            "care": "find veterinarians; schedule pet; get pet details",
            "adoption": "search adoptable pets; register pet; share pet",
        },
        "city age weight_kg radius_km name",
    ),
    _d(
        "automotive",
        "vehicle",
        {
            "service": "schedule vehicle; get vehicle details; estimate repair",
            "market": "search vehicles; compare vehicles; review vehicle",
        },
        "year max_price city radius_km query",
    ),
    _d(
        "translation",
        "document",
        {
            "text": "translate text; detect language; get document details",
            "files": "upload document; download document; delete document",
        },
        "message language website email",
    ),
    _d(
        "security",
        "device",
        {
            "monitoring": "list devices; check device; update device",
            "access": "generate access code; cancel device; get device details",
        },
        "user_id address time notify priority",
    ),
)

ID_PATTERN = "^[A-Z]{2}[0-9]{5}$"


def entity_id_template(entity: str) -> ParamTemplate:
    """The ``<entity>_id`` parameter that links producer results to consumer calls."""
    return ParamTemplate(
        {
            "type": "string",
            "description": f"Identifier of the {entity.replace('_', ' ')}",
            "pattern": ID_PATTERN,
        },
        (),
        f"for {entity.replace('_', ' ')} {{v}}",
    )


def verb_of(functionality: str) -> str:
    """The first word of a functionality phrase (``"search flights"`` → ``"search"``)."""
    return functionality.split()[0].lower()


__all__ = [
    "CONSUMER_VERBS",
    "PARAMS",
    "PRODUCER_VERBS",
    "SEED_TREE",
    "Domain",
    "ParamTemplate",
    "entity_id_template",
    "verb_of",
]
