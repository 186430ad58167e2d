"""Value vocabularies that grow with the data: seeded compositional generators for the free
values of offline dialogs.

A fixed list of 50 first names makes 5,000 dialogs repeat the same people; these generators
compose values from parts, so the number of distinct values grows with the number of dialogs
while every value stays a plausible one of its kind:

* :func:`person` — a first name (about 300, from many languages) and a surname, real or built
  the way surnames of that family are built (``Ash`` + ``ford``, ``Lind`` + ``qvist``,
  ``Erik`` + ``sson``, ``Kovac`` + ``evic``), now and then double-barrelled;
* :func:`street` and :func:`address` — a street written as the city's language writes it
  (``12 Mill Lane``, ``Lindenstraße 8``, ``Calle del Sol 31``, ``14 rue des Lilas``);
* :func:`pet_name`, :func:`company`;
* :func:`query`, :func:`title`, :func:`message` — what a user of a domain would type: modifiers
  and heads of that domain, titles and short messages from frames with slots.

Every function takes the ``random.Random`` of the dialog, so a seeded run writes the same
values. The parts are written for this project.
"""

from __future__ import annotations

import random

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _words(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(";") if part.strip())


FIRST_NAMES = _words(
    "Ada; Kwame; Mei; Luis; Priya; Omar; Ingrid; Tomas; Amara; Hiro; Sofia; Diego; Lena; Yusuf; "
    "Chloe; Mateo; Aisha; Jonas; Nadia; Ravi; Elif; Marco; Zoe; Kenji; Fatima; Oscar; Leila; "
    "Pablo; Hana; Emeka; Clara; Idris; Maya; Felix; Ana; Tariq; Iris; Bruno; Noor; Samuel; Greta; "
    "Arjun; Lucia; Dmitri; Esme; Kofi; Rosa; Viktor; Wen; Alma; Abebe; Adaeze; Agnes; Ahmed; "
    "Aiko; Akira; Alejandro; Alexei; Alice; Amir; Anand; Andrea; Anika; Annika; Antoine; Anya; "
    "Aram; Arturo; Astrid; Aurelie; Ayumi; Baptiste; Beatriz; Bilal; Bjorn; Bongani; Camille; "
    "Carlos; Carmen; Cecilia; Chidi; Chen; Chiara; Daniel; Dario; Deepa; Delphine; Dong-hyun; "
    "Eduardo; Efua; Eleni; Elena; Elias; Emil; Emma; Enzo; Erik; Ester; Eun-ji; Fabio; Farah; "
    "Fernanda; Finn; Freya; Gabriel; Gaurav; Gemma; Giulia; Goran; Hamid; Hannah; Hassan; Helga; "
    "Henrik; Hugo; Imani; Ines; Irina; Isaac; Isabel; Ivan; Jamal; Jana; Javier; Jia; Joao; "
    "Johanna; Jorge; Josefina; Julia; Julien; Jun; Kaito; Kamala; Karim; Karin; Kasia; Katarina; "
    "Kemal; Khadija; Kiran; Klara; Kwabena; Lars; Laura; Layla; Leon; Li; Lina; Lorenzo; Lotte; "
    "Louis; Lucas; Magnus; Mahmoud; Malik; Manon; Marisol; Marta; Mateus; Matilda; Mehmet; "
    "Mia; Mikael; Min-jun; Miriam; Mohammed; Nabil; Naledi; Nana; Naveen; Nikolai; Nils; Nina; "
    "Noah; Nora; Ola; Olga; Oliver; Olu; Paolo; Pedro; Petra; Pierre; Quentin; Rafael; Rahul; "
    "Rania; Rashid; Rebecca; Renata; Ricardo; Rin; Rohan; Ruth; Sakura; Salma; Sami; Sandra; "
    "Santiago; Sara; Sasha; Sebastian; Selin; Seo-yeon; Shira; Simone; Sipho; Sven; Taiwo; Takumi; "
    "Tamar; Thabo; Theo; Thiago; Tobias; Ugo; Valentina; Vera; Vikram; Wanjiru; Xavier; Ximena; "
    "Yara; Yasmin; Yuki; Yuri; Zainab; Zanele; Zara; Ziggy; Adele; Bea; Cyrus; Dalia; Ewan; "
    "Fiona; Gideon; Halima; Ilse; Jasper; Keiko; Lukas; Moana; Nomvula; Orla; Pia; Quinn; Reza; "
    "Soren; Tove; Uma; Vusi; Wilhelmina; Yoshiro; Zeynep; Ayesha; Bogdan; Cormac; Dagny; Eero; "
    "Fatou; Gulnara; Hyun-woo; Ismail; Jelena; Kalani; Linnea; Mirela; Nkechi; Oskar; Paulina"
)
_SURNAMES = _words(
    "Lovelace; Mensah; Tanaka; Ortega; Raman; Haddad; Berg; Novak; Okafor; Sato; Rossi; Alvarez; "
    "Fischer; Demir; Martin; Silva; Bello; Larsen; Petrova; Iyer; Kaya; Romano; Clarke; Mori; "
    "Benali; Lindqvist; Nasser; Moreno; Kim; Eze; Dubois; Rahman; Cohen; Weber; Costa; Farah; "
    "Jansen; Herrera; Ali; Walker; Nilsson; Kapoor; Ferreira; Volkov; Grant; Boateng; Castillo; "
    "Horvat; Chen; Reyes; Abara; Achebe; Adeyemi; Agarwal; Aguilar; Akhtar; Almeida; Amoah; "
    "Andersen; Aoki; Asante; Bakker; Banerjee; Barros; Bauer; Bianchi; Bose; Brandt; Cardoso; "
    "Carvalho; Chatterjee; Choi; Conti; Cruz; Dang; Das; De Luca; Delgado; Diallo; Dlamini; "
    "Doherty; Eriksen; Esposito; Fernandes; Fujita; Gallo; Garcia; Ghosh; Gomes; Gonzalez; Gupta; "
    "Hahn; Hashemi; Hayashi; Hoang; Ibrahim; Ito; Jung; Kamau; Khan; Kimura; Koch; Kowalski; "
    "Kruger; Kumar; Lee; Leclerc; Lopes; Lopez; Maeda; Marino; Mehta; Meyer; Mohamud; Molina; "
    "Murphy; Mwangi; Nakamura; Navarro; Ndlovu; Nguyen; Njoroge; Nowak; Obi; Oliveira; Omondi; "
    "Osei; Otieno; Owusu; Park; Patel; Pereira; Pham; Quispe; Ramos; Reddy; Ricci; Rodrigues; "
    "Ruiz; Saito; Sanchez; Santos; Schmidt; Schulz; Shah; Singh; Suzuki; Takahashi; Tran; Vargas; "
    "Vogel; Wagner; Wang; Watanabe; Wu; Yamamoto; Yilmaz; Zhang; Zhou; Zulu; Byrne; Gallagher; "
    "O'Brien; Kelly; MacLeod; Campbell; Morgan; Price; Hughes; Evans; Bianco; Fontaine; Girard; "
    "Lambert; Moreau; Rousseau; Vidal; Okonkwo; Adebayo; Chukwu; Kariuki; Wanjiku; Haile; Tesfaye"
)
# Surname families: (roots, endings) composed as surnames of that family are built.
_FAMILIES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (
        _words(
            "Ash; Brook; Brad; Chat; Cliff; Dun; Elm; Fair; Fox; Green; Hal; Hart; Haw; Kings; "
            "Lang; Marsh; Mid; Mill; Nor; Oak; Red; Rad; Sand; Shel; South; Stan; Stock; Thorn; "
            "Wake; Wal; West; Whit; Wood; Bar; Craw; Hamp; Ald; Black; Brom; Cal; Dal; Ever; "
            "Hather; Lock; Pem; Ross; Sut; Tal; Bram; Wynd"
        ),
        _words(
            "ford; field; wood; ley; ton; worth; by; ham; stead; more; croft; well; bridge; "
            "brook; hurst; combe; dale; wick; ridge; shaw"
        ),
    ),
    (
        _words(
            "Lind; Berg; Sand; Ek; Hag; Sjo; Strom; Dahl; Holm; Lund; Nord; Fors; Ny; Wall; "
            "Ljung; Bjork; Alm; Gran; Ask; Rosen; Blom; Eng; Hed; Malm; Sol"
        ),
        _words("qvist; gren; berg; strom; holm; lund; dahl; man; blad; stedt; vall; feldt"),
    ),
    (
        _words(
            "Schwarz; Weiss; Stein; Roth; Gruen; Blum; Eisen; Hoff; Lich; Winter; Sommer; Feld; "
            "Wald; Kirch; Brunn; Linden; Hirsch; Adler; Falken; Neu; Alt; Kalt; Eichen; Frei"
        ),
        _words("mann; berg; feld; stein; bach; hof; haus; thal; meier; ner; hauser; brenner"),
    ),
    (
        _words(
            "Erik; Lar; Sven; Nil; Ander; Johan; Karl; Per; Olaf; Magnu; Gunnar; Ivar; Jon; "
            "Halvor; Torsten; Ulf; Bengt; Gustaf; Harald; Einar"
        ),
        _words("sson; sen; sdottir"),
    ),
    (
        _words(
            "Kovac; Petr; Horv; Ivan; Volk; Sokol; Pav; Bel; Kozl; Orl; Lebed; Vasil; Kral; "
            "Dvor; Mil; Stan; Bogd; Grig; Marin; Radov; Tomas; Jurk; Mart; Nikol"
        ),
        _words("evic; enko; ak; ovski; in; ev; ic; uk; chuk; ovic"),
    ),
)


def surname(rng: random.Random) -> str:
    """A surname: a real one, or one composed as its family composes them."""
    if rng.random() < 0.35:
        return rng.choice(_SURNAMES)
    roots, endings = rng.choice(_FAMILIES)
    name = rng.choice(roots) + rng.choice(endings)
    if rng.random() < 0.05:
        name = f"{name}-{rng.choice(_SURNAMES)}"
    return name


def first_name(rng: random.Random) -> str:
    return rng.choice(FIRST_NAMES)


def person(rng: random.Random) -> tuple[str, str]:
    """``(first name, surname)``."""
    return first_name(rng), surname(rng)


_STREET_ROOTS = _words(
    "Mill; Elm; Station; Market; King; Queen; Garden; Canal; Bridge; Park; Church; River; Oak; "
    "Castle; Quay; Hill; Orchard; Bay; Victoria; Lotus; Maple; Chestnut; Willow; Birch; Cedar; "
    "Hawthorn; Juniper; Laurel; Poplar; Rowan; Alder; Beech; Holly; Ivy; Heather; Primrose; "
    "Meadow; Brook; Harbour; Ferry; Tannery; Foundry; Ropewalk; Brewery; Granary; Abbey; "
    "Chapel; College; Library; School; Windmill; Dockside; Lighthouse; Forge; Bakers; Weavers; "
    "Coopers; Potters; Fishers; Wellington; Nelson; Albert; Alexandra; Gladstone; Cromwell; "
    "Sheridan; Darwin; Newton; Shelley; Byron; Austen; Brunel; Faraday; Tennyson; Kingfisher; "
    "Swallow; Heron; Falcon; Lark; Wren; Sparrow; Robin; Bluebell; Clover; Foxglove; Lavender; "
    "Sunflower; Thistle; Silver; Golden; Copper; North; South; East; West; High; Low; Long; "
    "Broad; Green; Spring; Summer; Pine; Ash; Fern; Moss; Stone; Flint; Slate; Chalk; Clay"
)
_STREET_KINDS = _words(
    "Street; Road; Lane; Avenue; Close; Way; Crescent; Terrace; Row; Gardens; Place; Drive; "
    "Walk; Hill; Square; Court; Mews; Parade; Grove; Rise; Yard; Green"
)
# Streets as the city's language writes them: (kinds, names, number after the street).
_LOCAL_STREETS: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool]] = {
    "fr": (
        _words("rue; avenue; boulevard; place; quai; allée; impasse"),
        _words(
            "des Lilas; de la Paix; Victor Hugo; du Moulin; des Écoles; Saint-Michel; de la Gare; "
            "du Port; des Roses; Jean Jaurès; Pasteur; de la République; du Marché; des Tanneurs; "
            "Émile Zola; des Peupliers; du Château; de la Fontaine; des Vignes; Voltaire; "
            "de Verdun; des Acacias; du Pont; Sainte-Anne; Molière; des Carmes"
        ),
        False,
    ),
    "de": (
        _words("straße; weg; gasse; allee; platz; ring; ufer"),
        _words(
            "Linden; Berg; Schiller; Goethe; Bahnhof; Garten; Kirch; Markt; Mühlen; Rosen; "
            "Wald; Schloss; Hafen; Wiesen; Birken; Eichen; Sonnen; Heine; Mozart; Tannen; "
            "Brunnen; Kastanien; Burg; Feld"
        ),
        True,
    ),
    "es": (
        _words("Calle; Avenida; Paseo; Plaza; Camino; Ronda"),
        _words(
            "Mayor; del Sol; de la Luna; de Alcalá; San Vicente; de las Flores; del Río; Real; "
            "de Cervantes; del Mar; Nueva; de la Paz; de Goya; del Prado; de los Olivos; "
            "San Juan; de la Estación; del Carmen; de Colón; Santa Ana; de la Iglesia"
        ),
        True,
    ),
    "it": (
        _words("Via; Viale; Piazza; Corso; Vicolo; Largo"),
        _words(
            "Roma; Garibaldi; Dante; Verdi; dei Mille; della Libertà; Cavour; Mazzini; "
            "del Corso; dei Fiori; San Marco; Vittorio Emanuele; Manzoni; della Repubblica; "
            "dei Tigli; delle Rose; Leopardi; del Duomo; San Francesco; dei Pini"
        ),
        True,
    ),
    "pt": (
        _words("Rua; Avenida; Travessa; Largo; Praça; Alameda"),
        _words(
            "das Flores; do Comércio; da Liberdade; Augusta; do Carmo; dos Anjos; da Boavista; "
            "de Santa Catarina; do Sol; Nova; da Alegria; dos Pescadores; do Mercado; da Paz; "
            "das Palmeiras; São Bento; do Rosário; da Esperança"
        ),
        True,
    ),
}


def street(rng: random.Random, language: str = "en") -> str:
    """A street name as a city of ``language`` writes it."""
    local = _LOCAL_STREETS.get(language)
    if local is not None:
        kinds, names, _ = local
        kind, name = rng.choice(kinds), rng.choice(names)
        if language == "de":
            return name + kind
        return f"{kind} {name}"
    return f"{rng.choice(_STREET_ROOTS)} {rng.choice(_STREET_KINDS)}"


def address(rng: random.Random, language: str = "en") -> str:
    """A street address, the house number where the city's language puts it."""
    number = rng.randint(1, 240)
    name = street(rng, language)
    local = _LOCAL_STREETS.get(language)
    if local is not None and local[2]:
        return f"{name} {number}"
    return f"{number} {name}"


PET_NAMES = _words(
    "Biscuit; Luna; Pepper; Miso; Rocket; Juniper; Otis; Maple; Bella; Max; Coco; Milo; Daisy; "
    "Rufus; Ginger; Mochi; Pickle; Waffles; Nala; Simba; Oreo; Poppy; Teddy; Hazel; Bruno; "
    "Pumpkin; Olive; Ziggy; Bean; Noodle; Sushi; Tofu; Caramel; Marble; Pebble; Clover; Chester; "
    "Winston; Frida; Bowie; Banjo; Scout; Archie; Tilly; Figaro; Muffin; Socks; Shadow; Smudge; "
    "Toffee; Basil; Sage; Ruby; Goose; Kiwi; Mango; Nacho; Peanut; Dumpling; Chai"
)


def pet_name(rng: random.Random) -> str:
    return rng.choice(PET_NAMES)


_COMPANY_HEADS = _words(
    "Northwind; Bluebird; Harbour; Summit; Lantern; Copperleaf; Riverstone; Greenfield; Ironwood; "
    "Silverline; Redwood; Brightwater; Oakridge; Skylark; Meridian; Evergreen; Cobalt; Amber; "
    "Granite; Willow; Falcon; Tidewater; Highland; Starling; Juniper; Beacon; Cedar; Kestrel"
)
_COMPANY_TAILS = _words(
    "Labs; Studio; Works; Partners; Logistics; Foods; Health; Analytics; Design; Motors; Media; "
    "Consulting; Bakery; Outfitters; Energy; Systems; Press; Supply; Dental; Architects"
)


def company(rng: random.Random) -> str:
    return f"{rng.choice(_COMPANY_HEADS)} {rng.choice(_COMPANY_TAILS)}"


# What a user of a domain types into a search box: modifiers and heads of that domain.
_QUERY_PARTS: dict[str, tuple[str, str]] = {
    "recipes": (
        "vegan; quick; gluten-free; one-pot; spicy; creamy; slow cooker; budget; high-protein; "
        "kid-friendly; summer; make-ahead; low-carb; crispy; smoky; lemony; 20-minute; "
        "dairy-free; Sunday; leftover",
        "lasagna; curry; bread; lemon tart; risotto; tofu bowl; pancakes; chili; dumplings; "
        "flatbread; noodle soup; fish tacos; granola; stew; frittata; biryani; salad; "
        "brownies; shakshuka; ramen",
    ),
    "music": (
        "late night; 90s; acoustic; upbeat; mellow; instrumental; live; rainy day; workout; "
        "road trip; summer; chill; classic; underground; vintage; cinematic; dreamy; "
        "high-energy; Sunday morning; cozy",
        "jazz; hip-hop; piano covers; folk; synthwave; opera arias; lo-fi beats; bossa nova; "
        "soul; indie rock; afrobeat; ambient; blues; disco; string quartets; reggae; "
        "techno; gospel; flamenco; k-pop",
    ),
    "books": (
        "beginner; illustrated; award-winning; short; classic; modern; Nordic; Japanese; "
        "Victorian; funny; dark; cozy; epic; true-crime; Latin American; bestselling; "
        "forgotten; graphic; young adult; debut",
        "climate fiction; history of Rome; chess; space opera; poetry; startup memoirs; "
        "detective novels; urban gardening; philosophy; travel writing; biographies; fantasy; "
        "cookbooks; essays; thrillers; science writing; short stories; mythology; "
        "ghost stories; economics",
    ),
    "ecommerce": (
        "wireless; lightweight; waterproof; budget; refurbished; compact; ergonomic; foldable; "
        "stainless steel; kids; vegan leather; noise cancelling; cordless; second-hand; "
        "eco-friendly; heavy-duty; travel; bamboo; vintage; smart",
        "headphones; running shoes; standing desk; espresso grinder; rain jacket; keyboard; "
        "cast iron pan; bike helmet; backpack; desk lamp; air fryer; yoga mat; office chair; "
        "sleeping bag; phone case; blender; monitor arm; water bottle; kettle; sunglasses",
    ),
    "email": (
        "invoice; flight; team; password; quarterly; dentist; lease; conference; payroll; "
        "school; insurance; hotel; contract; newsletter; delivery; tax; refund; interview; "
        "budget; project",
        "March; confirmation; offsite; reset; report; reminder; renewal; badge; receipt; "
        "schedule; update; draft; summary; notice; agenda; follow-up; statement; approval; "
        "feedback; minutes",
    ),
    "education": (
        "beginner; intermediate; online; weekend; evening; intensive; free; certified; "
        "self-paced; practical; advanced; introductory; hands-on; summer; part-time",
        "data science; conversational Spanish; watercolor painting; statistics; public speaking; "
        "web accessibility; machine learning; music theory; creative writing; bookkeeping; "
        "photography; Japanese; pottery; UX design; first aid; calculus; negotiation; "
        "woodworking; nutrition; Python",
    ),
    "jobs": (
        "senior; junior; remote; part-time; entry-level; freelance; hybrid; contract; lead; "
        "graduate; night-shift; bilingual; weekend; trainee; principal",
        "backend engineer; nurse practitioner; graphic designer; data analyst; sous chef; "
        "product manager; electrician; museum curator; copywriter; physiotherapist; "
        "accountant; barista; teacher; pharmacist; carpenter; translator; pilot; "
        "social worker; lab technician; UX researcher",
    ),
    "maps": (
        "quiet; late-night; 24-hour; cheap; family-friendly; dog-friendly; rooftop; "
        "wheelchair-accessible; open-air; cozy; independent; nearby; vegan; historic; new",
        "cafe; pharmacy; electric car charger; dog park; coworking space; bike repair shop; "
        "bakery; library; laundrette; playground; swimming pool; bookshop; market; "
        "petrol station; viewpoint; museum; gym; post office; food hall; ATM",
    ),
    "news": (
        "latest; local; weekly; breaking; regional; global; long-read; live; overnight; "
        "analysis of; explainer on; reactions to; photos of; updates on; opinion on",
        "monsoon forecast; central bank rates; chess championship; rail strike; Mars rover; "
        "housing prices; election results; heatwave; wildfires; trade talks; tech layoffs; "
        "vaccine trial; transit fares; flood defences; school reforms; energy prices; "
        "space launch; football transfers; teachers' pay; air quality",
    ),
    "gaming": (
        "ranked; casual; co-op; competitive; weekend; beginner; late-night; retro; "
        "cross-play; hardcore; friendly; European; speedrun; community; tournament",
        "duos; survival; racing; strategy; puzzle; arcade; battle royale; RPG; platformer; "
        "fighting; sandbox; tactics; deck-building; horror; sports; rhythm; MMO; "
        "tower defence; roguelike; shooter",
    ),
    "social": (
        "marathon; sourdough; street; bird; home office; plant; vintage; trail; balcony; "
        "thrift; coffee; rooftop; zero-waste; tiny house; van life; film; knitting; "
        "sketching; fermentation; urban",
        "training; tips; photography; watching; setups; care; cameras; maps; gardening; "
        "finds; recipes; ideas; hacks; tours; diaries; swaps; challenges; meetups; "
        "journals; makeovers",
    ),
    "automotive": (
        "hybrid; used; electric; family; compact; vintage; automatic; low-mileage; "
        "four-wheel-drive; diesel; convertible; seven-seat; certified; budget; sporty",
        "hatchback; pickup truck; SUV; minivan; city car; roadster; winter tires; cargo van; "
        "estate car; saloon; camper van; coupe; roof rack; dash cam; child seat",
    ),
}
_TITLE_PARTS: dict[str, tuple[str, str]] = {
    "calendar": (
        "Team; Quarterly; Budget; Design; Hiring; Product; Client; Sprint; Board; Family; "
        "Book Club; Marketing; Research; Onboarding; Strategy; Volunteer; Parents'; Alumni; "
        "Garden; Neighbourhood",
        "Review; Sync; Kickoff; Planning; Retro; Dinner; Check-in; Workshop; Call; Brunch; "
        "Offsite; Standup; Demo; Lunch; Meetup; Drinks; Briefing; Catch-up; Social; Session",
    ),
    "email": (
        "Quarterly; Invoice; Weekend; Project; Lease; Trip; Welcome; Budget; Contract; "
        "Holiday; Interview; Shipping; Conference; Renovation; Newsletter; Insurance; "
        "School; Wedding; Payroll; Workshop",
        "Review; for March; Plans; Kickoff; Renewal; Itinerary; Draft; Update; "
        "Schedule; Follow-up; Details; Reminder; Notes; Summary; Questions; Confirmation; "
        "Invitation; Agenda; Feedback",
    ),
}
# Task titles: a verb and the things it is done to.
_TASKS: dict[str, str] = {
    "Renew": "passport; gym membership; car insurance; library card; parking permit; visa",
    "Pay": "electricity bill; rent; council tax; phone bill; water bill; invoice",
    "Call": "plumber; landlord; dentist; electrician; bank; grandma; insurer",
    "Book": "flights; dentist; car service; haircut; train tickets; vet visit",
    "Submit": "expenses; tax return; timesheet; grant application; report",
    "Fix": "bike; leaking tap; garden gate; wobbly shelf; doorbell",
    "Clean": "gutters; oven; garage; windows; fridge",
    "Return": "library books; parcel; rental car; borrowed drill",
    "Order": "groceries; printer ink; birthday present; new glasses",
    "Draft": "slides; newsletter; speech; cover letter; budget",
    "Send": "birthday card; thank-you notes; invoice; contract",
    "Water": "plants; tomatoes; herb garden",
}
_TASKS_SPLIT = {verb: _words(objects) for verb, objects in _TASKS.items()}

_MESSAGES = _words(
    "See you at {clock} by the {spot}; Running {n} minutes late; Happy birthday, {first}; "
    "Can we move the call to {day}; The {doc} is ready for review; Thanks for the quick turnaround; "
    "Please find the {doc} attached; Looking forward to {day}; Dinner is on me tonight; "
    "Meeting moved to {day} at {clock}; Don't forget the {thing}; I left the {thing} at {first}'s; "
    "Landed safely, call you later; Can you pick up {thing} on the way; "
    "The {doc} needs one more signature; Back home by {clock}; "
    "Congratulations on the new job, {first}; Is {day} still good for you; "
    "Parking is behind the {spot}; I'll bring the {thing}; Lunch at the {spot} on {day}; "
    "Thanks again for having us, {first}; The keys are under the mat; "
    "Could you send me the {doc} by {day}; Just finished the {doc}, have a look; "
    "Welcome to the team, {first}; Rain expected on {day}, bring a {thing}; "
    "Sorry I missed your call; Train delayed, new arrival {clock}; "
    "Shall we meet at the {spot} instead"
)
_SLOTS = {
    "spot": _words(
        "station; library; bakery; fountain; main entrance; car park; bus stop; cafe; museum; "
        "ticket office; town hall; market; bridge; old church; gym"
    ),
    "doc": _words(
        "report; invoice; contract; slide deck; budget; draft; floor plan; lease; proposal; "
        "itinerary; quote; timesheet; agenda; minutes; brochure"
    ),
    "thing": _words(
        "umbrella; charger; cake; spare keys; tickets; passport; laptop; snacks; picnic blanket; "
        "camera; receipts; wine; board game; flowers; extension cable"
    ),
}


def _frame(template: str, rng: random.Random) -> str:
    hour, minute = rng.randint(7, 21), rng.choice((0, 10, 15, 20, 30, 40, 45, 50))
    values = {
        "clock": f"{hour % 12 or 12}:{minute:02d}",
        "n": str(rng.choice((5, 10, 15, 20, 25, 30))),
        "first": first_name(rng),
        "day": rng.choice(_DAYS),
        **{k: rng.choice(v) for k, v in _SLOTS.items()},
    }
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


def query(domain: str, rng: random.Random) -> str | None:
    """Search terms a user of ``domain`` would type (None: no bank for the domain)."""
    parts = _QUERY_PARTS_SPLIT.get(domain)
    if parts is None:
        return None
    mods, heads = parts
    head = rng.choice(heads)
    return head if rng.random() < 0.15 else f"{rng.choice(mods)} {head}"


def title(domain: str, rng: random.Random) -> str | None:
    """A title of ``domain``'s kind (an event, an email subject, a task)."""
    parts = _TITLE_PARTS_SPLIT.get(domain)
    if parts is None:
        return None
    heads, tails = parts
    if domain == "tasks":
        verb = rng.choice(heads)
        return f"{verb} {rng.choice(_TASKS_SPLIT[verb])}"
    if domain == "calendar" and rng.random() < 0.2:
        return f"{first_name(rng)}'s {rng.choice(tails)}"
    text = f"{rng.choice(heads)} {rng.choice(tails)}"
    if domain == "email" and rng.random() < 0.25:
        text = f"{rng.choice(('Re:', 'Fwd:'))} {text}"
    return text


def message(rng: random.Random) -> str:
    """A short message as people send them."""
    return _frame(rng.choice(_MESSAGES), rng)


_QUERY_PARTS_SPLIT = {k: (_words(a), _words(b)) for k, (a, b) in _QUERY_PARTS.items()}
_TITLE_PARTS_SPLIT = {k: (_words(a), _words(b)) for k, (a, b) in _TITLE_PARTS.items()}
_TITLE_PARTS_SPLIT["tasks"] = (tuple(_TASKS), ())

__all__ = [
    "FIRST_NAMES",
    "PET_NAMES",
    "address",
    "company",
    "first_name",
    "message",
    "person",
    "pet_name",
    "query",
    "street",
    "surname",
    "title",
]
