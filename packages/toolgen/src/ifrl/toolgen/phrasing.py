"""Paraphrase banks for every user and assistant move of the offline dialogs, and the functions
that write a move from them.

Each bank holds at least 20 grammatical surface forms (:data:`BANKS`; a test checks the count):
request openers, context sentences, closers, follow-up requests of a session, clarifying
questions and their answers, refusals, answers for search results, for actions and for other
results, error explanations and retries, and thoughts. Requests put an API's functionality into
one of several verb paraphrases and every argument into one of several phrases (``from Paris``,
``leaving Paris``); a value the grounding check must find is always written as
:func:`render_value` writes it. The banks are written for this project.
"""

from __future__ import annotations

import datetime as _dt
import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ifrl.core.records import ToolSpec
from ifrl.toolgen import lexicon
from ifrl.toolgen.apis import ApiInfo
from ifrl.toolgen.seeds import verb_of
from ifrl.toolgen.world import CUISINES, FIRST_NAMES, Scene


def _bank(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.strip().splitlines() if line.strip())


OPENERS = _bank("""
Can you {r}?
Could you {r}?
Could you please {r}?
Would you {r}?
Please {r}.
I need you to {r}.
I'd like you to {r}.
Help me {r}.
I want to {r}.
I'd like to {r}.
I need to {r}.
Go ahead and {r}.
Let's {r}.
Can we {r}?
Is it possible to {r}?
I was hoping you could {r}.
Any chance you could {r}?
When you have a moment, {r}.
Quick favour: {r}.
Hey, can you {r}?
Hi there! Could you {r}?
Hello, I need to {r}.
I'm trying to {r}.
Think you could {r}?
If you can, {r}.
Would you be able to {r}?
Mind helping me {r}?
I'm looking to {r}.
Next on my list: {r}.
I'd appreciate it if you could {r}.
Please could you {r}?
Do me a favour and {r}.
Would it be possible to {r}?
Could I ask you to {r}?
Can I get you to {r}?
I've got to {r}.
Today I need to {r}.
First thing: {r}.
Kindly {r}.
Can you help me {r}?
Could you help me {r}?
Can you quickly {r}?
Could you kindly {r}?
I'd love it if you could {r}.
Please go ahead and {r}.
Let me ask you to {r}.
It'd be great if you could {r}.
Could you possibly {r}?
Can you try to {r}?
I could use some help: {r}.
Here's what I need: {r}.
Small request: {r}.
One thing, please: {r}.
Morning! Could you {r}?
Good afternoon. Please {r}.
Hi! I'd like to {r}.
Hello there, can you {r}?
Hey! I need to {r}.
Hi, quick one: can you {r}?
Evening! Would you {r}?
Sorry to bother you, but could you {r}?
If it's not too much trouble, {r}.
Whenever you get a chance, {r}.
As soon as you can, {r}.
My next task is to {r}.
I'm hoping to {r}.
I have to {r}.
We need to {r}.
We'd like to {r}.
Our team needs to {r}.
Could we {r}?
Shall we {r}?
Time to {r}.
Let's go ahead and {r}.
Can you please {r}?
Could you do me a favour and {r}?
Would you kindly {r}?
Is there any way you could {r}?
Would you be so kind as to {r}?
How about we {r}?
I'd be grateful if you could {r}.
Please help me {r}.
Can you take a minute to {r}?
I've been meaning to {r}.
Right now I need to {r}.
Before lunch, I need to {r}.
Can you handle this for me and {r}?
Let's try to {r}.
I'm wondering if you could {r}.
""")
# Openers that restate the scene: who the request is for, where the user is.
SCENE_OPENERS = _bank("""
{companion_first} asked whether you could {r}.
On behalf of {companion}, please {r}.
Since I'm in {city} now, could you {r}?
{companion_first} and I need to {r}.
For {companion_first}'s sake, could you {r}?
I'm doing this for {companion}: please {r}.
Before I leave for {other}, can you {r}?
While I'm still in {city}, I'd like to {r}.
{companion_first} reminded me to {r}.
My {relation} {first} wants me to {r}.
Can you {r}? {companion_first} is waiting on it.
As {companion_first} suggested, let's {r}.
I told {companion_first} I would {r}.
Back in {city} after {other}; now I need to {r}.
{companion} needs this: {r}, please.
Could you {r}? I promised {companion_first}.
Ahead of {event}, could you {r}?
For {event}, I need to {r}.
The {team} team asked me to {r}.
Our {group} needs me to {r}.
""")
CONTEXTS = _bank("""
I'm sorting out a few errands this morning.
{companion} asked me to take care of this.
We're spending a few days in {city}.
It's for a trip with {companion}.
Planning ahead for {month}.
Busy week over here.
This is for {companion}, who is visiting {city}.
I'm at my desk in {city} with a few minutes to spare.
My calendar for {month} is filling up fast.
Trying to get organised before {weekday}.
{companion} and I are splitting the planning.
I promised {companion} I'd handle it today.
Something came up on {weekday}.
I've been meaning to do this since {month}.
The office in {city} needs this sorted.
Small change of plans on my side.
Before I forget,
Here's what I'm after.
I'm helping {companion} with some admin.
New week, new to-do list.
I'm back in {city} on {weekday}.
Long day, so let's keep it simple.
My phone is almost dead, so quickly:
Following up on my chat with {companion},
Just got back from {other}.
""")
CLOSERS = _bank("""
Thanks!
Thank you.
Thanks a lot.
Much appreciated.
Cheers.
Thanks in advance.
Appreciate it.
That would help a lot.
Thanks so much.
Many thanks.
That's all for now.
No rush.
Let me know how it goes.
Thanks, you're a star.
Grateful for the help.
Keep it short, please.
Thank you kindly.
That would be great.
Talk soon.
Thanks for sorting it.
Thanks a bunch.
Thanks, that's everything.
I owe you one.
Cheers for that.
Thanks very much.
Much obliged.
Hope that's not too much.
That's it from me.
Thanks again.
Looking forward to it.
Ta.
Thanks for the help.
That'd be lovely.
Really appreciate it.
Thanks, much appreciated.
""")
FOLLOW_UPS = _bank("""
Great. Now {r}.
Perfect, thanks. Could you {r}?
Nice. Next, please {r}.
Okay. Can you also {r}?
Good. Then {r}, please.
Lovely. While you're at it, {r}.
Sounds good. One more thing: {r}.
That works. Now I'd like to {r}.
Brilliant. Could you go ahead and {r}?
Got it. Please {r} as well.
Thanks! Next I need you to {r}.
Cool. Would you {r} too?
Alright. After that, {r}.
Excellent. Let's {r}.
Noted. Can we {r} now?
Super. Also, {r}.
Fine by me. Please {r}.
Okay, good. Now {r}, if you can.
Handy, thanks. I also want to {r}.
Right. Could you then {r}?
Thanks. Now could you {r}?
Okay, next up: {r}.
Good stuff. Can you {r} next?
Great, that helps. Please {r}.
Perfect. Now let's {r}.
Thank you! Could you also {r}?
Nice one. Now {r}, please.
That's helpful. Next, {r}.
Okay. Now I need you to {r}.
Fantastic. Can we also {r}?
Sweet. Could you {r} as well?
All good. Then please {r}.
Great stuff. While we're at it, {r}.
Wonderful. I'd also like to {r}.
Thanks for that. Now {r}.
Understood. Next, could you {r}?
Neat. Please also {r}.
Okay, that's done. Now {r}.
Appreciated. Would you {r} next?
Good, thanks. Let's also {r}.
Perfect, that's what I wanted. Now {r}.
Great news. Next I'd like to {r}.
Alright, thanks. Can you {r}?
Cheers. Could you now {r}?
Good to know. Please {r} next.
""")
CLARIFY_QUESTIONS = _bank("""
Which {label} should I use?
What {label} would you like?
Sure, what should I use as the {label}?
Happy to help. Could you tell me the {label}?
I just need the {label} first. What is it?
Before I {action}, what {label} do you want?
Almost there: which {label}?
Can you give me the {label}?
What should the {label} be?
One detail is missing, the {label}. What is it?
To {action}, I need the {label}. Which one?
Got it. And the {label}?
Which {label} do you have in mind?
What {label} should I put down?
I'll need {a_label} for that. What is it?
Could you share the {label}?
Do you have {a_label} in mind?
Sure thing. What {label} works for you?
Let me check one thing: which {label} do you mean?
And what {label} should I go with?
""")
CLARIFY_ANSWERS = _bank("""
Oh, {phrase}.
Sorry, {phrase}.
Use {value}.
Make it {value}.
{value}, please.
Let's say {value}.
Go with {value}.
The {label} is {value}.
Right, {phrase}.
Good catch: {phrase}.
I forgot to say: {phrase}.
That would be {value}.
Put down {value}.
{value} works.
Let's do {value}.
Please use {value}.
Ah yes, {phrase}.
{value} for the {label}.
It should be {value}.
Oops, {phrase}.
{value}, thanks.
Just use {value}.
Let's go with {value}.
Ah, right: {phrase}.
My bad, {phrase}.
Sure, {phrase}.
Of course, {phrase}.
Yes, {phrase}.
It's {value}.
The {label} should be {value}.
Use {value} as the {label}.
Set the {label} to {value}.
I'd go with {value}.
How about {value}?
Try {value}.
Definitely {value}.
""")
REFUSALS = _bank("""
Sorry, I can't {action} here: the tools I have only {abilities}.
I'm afraid none of my tools can {action}. I can {abilities}, though.
That's outside what these tools do; they {abilities}, nothing more.
Unfortunately there is no tool here to {action}.
I don't have a way to {action} right now.
None of the available tools lets me {action}, sorry.
I wish I could, but nothing here can {action}.
My tools can't {action}. They only {abilities}.
That one I can't do: no tool here can {action}.
Sadly, I'm not able to {action} with what I have.
There's no function for that. I can only {abilities}.
I checked the tools, and none of them can {action}.
I can't help you {action} here, sorry about that.
No luck: my toolset doesn't cover that. It can {abilities}.
Afraid that's beyond my tools, which only {abilities}.
You'd need a different service to {action}.
I'm not equipped to {action}; I can {abilities} instead.
Sorry, {action} isn't something these tools support.
This isn't possible with the current tools. They {abilities}.
Nothing I have access to can {action}.
""")
LIST_ANSWERS = _bank("""
Top matches: {list}.
{first} looks best ({score}); the other options are {rest}.
Here are the options: {list}.
These came up: {list}.
The search returned {list}.
Good news, there are options: {list}.
I found {list}.
Results are in: {list}.
{list} came back from the search.
Best rated is {first} at {score}. Also available: {rest}.
You could go with {list}.
Options include {list}.
Have a look at {list}.
Among the results are {list}.
Search done. Matches: {list}.
Take your pick from {list}.
I've got {list} for you.
So far the best fits are {list}.
Out of {total} matches, the top ones are {list}.
{total} matches in total; these lead the list: {list}.
Right, the {entities} I found are {list}.
Okay! Available now: {list}.
""")
ACTION_ANSWERS = _bank("""
Done: {message}
{message}
All set. {message}
Your {entity} {id} is now {status}.
{entity_cap} {id} shows as {status}.
The {entity} {id} is {status} now.
Update on {id}: {status}.
Status for {id}: {status}. {message}
Finished. {message}
Here's the outcome: {message}
That went through: {entity} {id} is {status}.
Taken care of. {message}
Okay, {entity} {id} is marked {status}.
{id} is {status}, as requested.
I've handled it. {message}
Result: {message}
The system says {entity} {id} is {status}.
Request processed. {message}
As of now, {id} is {status}.
Good to go. {message}
""")
VALUE_ANSWERS = _bank("""
Here you go: {summary}.
The result: {summary}.
{summary_cap}.
It came back as follows: {summary}.
Done. {summary_cap}.
All right, {summary}.
The tool reports: {summary}.
Finished: {summary}.
I got this back: {summary}.
Outcome: {summary}.
Okay, here it is: {summary}.
According to the service, {summary}.
That's ready. {summary_cap}.
Here's the answer: {summary}.
Result in: {summary}.
Looks like {summary}.
Short version: {summary}.
So, {summary}.
The service answered: {summary}.
Good news: {summary}.
""")
ERROR_ANSWERS = _bank("""
I couldn't {action}: {message}
The {service} service said: {message}
Unfortunately that didn't work. The tool reported: {message}
Sorry, no luck this time. {message}
That request failed with the message: {message}
I tried to {action}, but it came back with an error. {message}
It didn't go through. {message}
Something went wrong on their side: {message}
The attempt failed. Here's why: {message}
Bad news: {message}
I hit a problem while trying to {action}. {message}
No success, I'm afraid. {message}
The service refused: {message}
It couldn't be done. {message}
Sorry, I couldn't complete that. {message}
The lookup failed. {message}
That one errored out. {message}
It wasn't possible to {action}. {message}
Apologies, the request was declined. {message}
Unable to {action} right now. {message}
""")
RETRY_PREFIXES = _bank("""
The first try failed, but the retry worked.
It took a second attempt, but it's done.
After one retry it went through.
The service hiccupped at first; the retry succeeded.
Second time lucky.
There was a temporary error, so I tried again, and it worked.
A retry fixed a temporary glitch.
The first call timed out or failed; the next one succeeded.
It worked on the second attempt.
That needed one more try, and it went through.
Got there on the retry.
The service was busy at first, then it answered.
A brief outage slowed things down, but it worked.
I had to retry once.
Retried once after an error, and it succeeded.
One failed attempt, then success.
After a short error, the second call went fine.
It failed once and then succeeded.
The first request bounced; the retry was accepted.
Recovered after a retry.
""")
CALL_THOUGHTS = _bank("""
The user wants to {action}; {api} does that, with {args}.
{api} fits this request. Arguments: {args}.
Plan: call {api} with {args}.
To {action} I need {api}; the request gives {args}.
I'll use {api} ({args}) for this.
Best tool here is {api}. Pass {args}.
This maps to {api}; fill in {args}.
Call {api} now with {args}.
{api} covers it: {args}.
Next step: {api} with {args}.
The right function is {api}, called with {args}.
Use {api}; the values are {args}.
{api} is what's needed, taking {args}.
I should call {api} with {args}.
Going with {api}: {args}.
First, {api} with {args}.
{api} handles requests to {action}; use {args}.
Run {api} with {args}.
Request understood; {api} with {args}.
Invoke {api} using {args}.
""")
TEXT_THOUGHTS = _bank("""
Summarise what the tool returned.
Report the results back to the user.
The tool answered; pass on what it said.
Tell the user the outcome, using only the result.
Give a short answer based on the result.
Share the result without adding anything.
Wrap up with the facts from the tool.
Relay the result.
Answer from the tool output.
Time to report back.
The call is done; explain the outcome.
State the outcome plainly.
Write the final answer from the result.
Let the user know what came back.
Close the loop with the result.
Present the result.
Turn the tool output into an answer.
Give the user the key facts.
Answer now.
Sum it up for the user.
""")
ASK_THOUGHTS = _bank("""
The {label} is missing and required; ask for it.
Need the {label} before calling anything.
Ask the user for the {label}.
Can't call without the {label}; ask.
The request lacks the {label}.
First get the {label}.
Missing: {label}. Ask.
Check the {label} with the user.
The {label} wasn't given; request it.
No {label} yet, so ask.
Ask which {label} they want.
Clarify the {label} first.
One required value is absent: the {label}.
Get the {label}, then call.
The call needs {a_label}; ask for one.
Hold the call; ask for the {label}.
Ask about the {label}.
The {label} is required and unknown.
Request the {label} from the user.
Before calling, confirm the {label}.
""")
REFUSE_THOUGHTS = _bank("""
No offered tool can {action}; say so.
None of the tools fit; decline politely.
Nothing here can {action}.
Decline: no matching tool.
The tools don't cover this request.
Explain that this isn't possible here.
No function does that; tell the user.
This is out of scope for the tools.
Say I can't {action} with these tools.
No tool to {action}; refuse.
Can't help with the tools at hand.
Decline and say what the tools can do.
Refuse; nothing matches.
No call possible here.
The request falls outside the toolset.
Nothing to call; explain.
Tell the user it can't be done here.
No suitable function; say that.
Decline the request.
Point out the missing capability.
""")

# Composed user moves: a lead before a request, a clause after it, and follow-ups built from an
# acknowledgement and a next-request frame (each pair multiplies the surface forms).
LEADS = _bank("""
Hi.
Hi!
Hello.
Hey.
Hey there.
Hi there.
Morning!
Good morning.
Good afternoon.
Good evening.
Evening!
Hiya.
Hello again.
Hi, me again.
Quick question.
Quick one.
One more thing for today.
Hope you're well.
Thanks for earlier.
Sorry, one more.
Okay, next thing.
Hi! Hope your day is going well.
Hey, got a minute?
Hello from {city}!
Greetings from {city}.
Back again.
Hi, it's {first} here.
Hello, {first} again.
Right, something else.
Another one for you.
Hi, sorry to bother you.
Happy {weekday}!
Morning from {city}.
Good to be back.
Hey, hope all is well.
""")
TAILS = _bank("""
It's for {companion}.
This is on behalf of {companion}.
{companion_first} asked me to sort it out.
We're in {city} this week.
I'm flying back to {other} soon.
Ideally before {weekday}.
No rush, {weekday} is fine.
I'll check back after lunch.
Let me know if anything is unclear.
Reply when it's done.
It's part of planning for {event}.
{companion_first} will be happy.
Fingers crossed.
It's been on my list since {month}.
I'm on the train to {other}, so keep it brief.
My {relation} {first} recommended this.
It's for {event} in {month}.
{companion_first} is counting on me.
I'm between meetings, so short answers are fine.
This is for the {group}.
Keep {companion_first} in mind, it's really for them.
I'll be in {other} on {weekday}.
It's a surprise for {companion_first}.
The {team} team needs it by {weekday}.
I'm sorting it out from {city}.
If there's a problem, tell me straight away.
Please double-check everything.
This one matters for {event}.
We've been talking about it since {month}.
{companion_first} and I will decide tonight.
""")
ACKS = _bank("""
Great.
Perfect, thanks.
Nice.
Okay.
Good.
Lovely.
Sounds good.
That works.
Brilliant.
Got it.
Thanks!
Cool.
Alright.
Excellent.
Noted.
Super.
Fine by me.
Handy, thanks.
Right.
Thanks.
Good stuff.
Thank you!
Nice one.
That's helpful.
Fantastic.
Sweet.
All good.
Wonderful.
Understood.
Neat.
Appreciated.
Cheers.
Good to know.
Oh nice.
Okay, that's clear.
Thanks, that helps.
Great, just what I needed.
That settles it.
Makes sense.
Hm, okay.
""")
NEXTS = _bank("""
Now {r}.
Could you {r}?
Next, please {r}.
Can you also {r}?
Then {r}, please.
While you're at it, {r}.
One more thing: {r}.
Now I'd like to {r}.
Could you go ahead and {r}?
Please {r} as well.
Next I need you to {r}.
Would you {r} too?
After that, {r}.
Let's {r}.
Can we {r} now?
Also, {r}.
Now {r}, if you can.
I also want to {r}.
Could you then {r}?
Next up: {r}.
Can you {r} next?
Now let's {r}.
Next, {r}.
Now I need you to {r}.
Could you {r} as well?
Then please {r}.
I'd also like to {r}.
Would you {r} next?
Let's also {r}.
Next I'd like to {r}.
Based on that, {r}.
In that case, {r}.
With that sorted, {r}.
Following on from that, {r}.
Now, can you {r}?
""")

# Requests without a verb, for searches: "Any hotels in Paris under 200?"
NOUN_REQUESTS = _bank("""
Any {obj} {args}?
Are there any {obj} {args}?
I'm after {obj} {args}.
I'm looking for {obj} {args}.
What {obj} are there {args}?
Which {obj} can you find {args}?
Show me what {obj} there are {args}.
Got any {obj} {args}?
Need {obj} {args}.
{Obj} {args}, please.
{Obj} {args}?
Do you know of any {obj} {args}?
Find me some {obj} {args}.
I'd like to see {obj} {args}.
Let me see {obj} {args}.
Could I see {obj} {args}?
What are my options for {obj} {args}?
Recommendations for {obj} {args}?
Searching for {obj} {args}.
Anything in the way of {obj} {args}?
""")
#: Verbs whose request can be said as a noun phrase (a search for plural things).
NOUN_VERBS = frozenset(("search", "list", "find", "discover", "recommend"))
# A detail given after the request, as its own sentence ("Ideally under 200.").
AFTERTHOUGHTS = _bank("""
Ideally {p}.
Preferably {p}.
Oh, and {p}.
Also {p}, please.
And {p}, if possible.
{P}, by the way.
Plus, {p}.
Oh, {p} too.
One more detail: {p}.
And {p}.
And {p}, please.
{P}, if you can.
{P}, ideally.
{P}, please.
Ah, and {p}.
Sorry, and {p}.
Forgot to say: {p}.
Oh, one more thing: {p}.
{P}, if that's possible.
Also, {p}.
""")

# The context grammar: "<who> <situation> <when>." with slots from the scene and these lists.
RELATIONS = _bank("""
sister
brother
cousin
neighbour
landlord
flatmate
manager
colleague
client
coach
partner
daughter
son
aunt
uncle
grandmother
grandfather
friend
boss
intern
tutor
mentor
teammate
housemate
godmother
stepfather
niece
nephew
roommate
accountant
stepmother
stepsister
half-brother
father-in-law
mother-in-law
sister-in-law
brother-in-law
godson
goddaughter
grandson
granddaughter
fiancée
fiancé
wife
husband
childhood friend
old schoolmate
best friend
next-door neighbour
line manager
business partner
supervisor
personal trainer
babysitter
doctor
lawyer
assistant
co-founder
piano teacher
driving instructor
""")
_GENDERED = frozenset(
    _bank("""
sister
brother
daughter
son
aunt
uncle
grandmother
grandfather
godmother
stepfather
niece
nephew
stepmother
stepsister
half-brother
father-in-law
mother-in-law
sister-in-law
brother-in-law
godson
goddaughter
grandson
granddaughter
fiancée
fiancé
wife
husband
landlord
""")
)
_NEUTRAL_RELATIONS = tuple(r for r in RELATIONS if r not in _GENDERED)
GROUPS = _bank("""
book club
running club
choir
five-a-side team
study group
climbing crew
supper club
chess club
volunteer group
band
reading circle
startup
walking group
gardening club
cycling club
quiz team
film society
knitting circle
parents' group
language exchange
hiking club
jazz trio
amateur theatre group
swim squad
robotics club
photography club
board game night
debate society
alumni network
football team
""")
TEAMS = _bank("""
design
sales
research
support
finance
data
marketing
legal
operations
product
engineering
customer success
HR
procurement
logistics
security
partnerships
analytics
content
infrastructure
events
recruiting
""")
ITEMS = _bank("""
a new laptop
two suitcases
a cargo bike
a second-hand sofa
a standing desk
an espresso machine
a used car
a rowing machine
winter tyres
a drone
a piano
a camping tent
a washing machine
a gaming chair
a tablet
noise cancelling headphones
a pram
a mountain bike
a telescope
a sewing machine
an electric scooter
a dishwasher
a baby car seat
a bookshelf
a double bed
a fridge freezer
a robot vacuum
a road bike
a second monitor
a winter coat
a set of golf clubs
a kayak
a violin
a 3D printer
a smart watch
a vintage record player
a sofa bed
a garden shed
a coffee grinder
a wedding dress
""")
EVENTS = _bank("""
a wedding
a product launch
a half marathon
a school play
an exam
a job interview
a family reunion
a board meeting
a hackathon
a graduation
a housewarming
a book fair
a charity gala
a chess tournament
a birthday party
a dentist appointment
a trade show
a retirement party
a christening
a concert
a marathon
an anniversary dinner
a baby shower
a farewell lunch
a client pitch
a conference talk
a town hall
a charity run
a street festival
a science fair
a recital
a job fair
an open day
a court hearing
a driving test
a visa appointment
a team offsite
a cooking class
a photo shoot
a tasting evening
""")
GENRES_HEARD = _bank("""
jazz
folk
techno
opera
reggae
blues
punk
soul
ambient
salsa
hip-hop
classical
country
funk
indie
metal
gospel
bossa nova
k-pop
drum and bass
afrobeat
flamenco
""")
SITUATIONS: dict[str, tuple[str, ...]] = {
    cluster: _bank(text)
    for cluster, text in {
        "trip": """
flies in from {other}
is visiting {city}
lands in {city}
has a conference in {city}
is moving to {city}
starts a new job in {city}
is planning a road trip to {other}
booked a week in {city}
has {event} in {other}
is showing clients around {city}
just got back from {other}
wants a long weekend away from {city}
is meeting friends in {other}
needs to be in {city} for {event}
is driving down from {other}
has a layover in {other}
""",
        "food": """
is hosting a dinner for {n}
has {event} coming up
just went vegetarian
wants to cook something special for {first2}
is opening a small bakery in {city}
is catering {event}
keeps asking for new recipes
is on a tight food budget
is learning to cook {cuisine} dishes
has a potluck at the office
is throwing a surprise party for {first2}
misses the food back in {other}
wants to eat out near {street}
is cooking for {n} hungry teenagers
won a cooking contest in {city}
is allergic to nuts
""",
        "admin": """
is sorting out the household bills
needs the paperwork done before {event}
is renovating the flat on {street}
just changed banks
is saving for {item}
lost a wallet in {city}
got a raise
is doing the quarterly accounts
is renting out a room on {street}
moved house last month
needs to renew some documents
is helping a neighbour with forms
is claiming back travel costs from {other}
started freelancing
is paying off {item}
is budgeting for {event}
""",
        "care": """
has a checkup coming up
adopted a puppy called {pet}
is training for {event}
hurt a knee playing football
is getting back into shape
looks after an elderly parent in {city}
has a cat that hates the vet
is recovering from the flu
started running at {clock} every morning
wants to sleep better
is counting calories
needs a new dentist in {city}
walks {pet} twice a day
joined a gym near {street}
is expecting a baby
is off work for {n} days
""",
        "leisure": """
loves {genre} music
is in a book club
plays tennis every {weekday}
collects vinyl records
is organising a film night for {n}
follows every match of the season
streams games late at night
wants new reading material
is learning the guitar
runs a photography blog about {city}
has tickets for {event}
is bored of the usual playlists
writes a weekly newsletter
is hosting a quiz night for {n}
just joined a choir in {city}
binges documentaries about {other}
""",
        "buying": """
needs {item}
is selling {item}
is furnishing a flat in {city}
wants to compare prices first
has a budget for {item}
is sending a parcel to {other}
is house-hunting in {city}
returned {item} last week
is replacing {item}
shops for the whole family
runs a small online shop from {city}
is moving out of {city}
wants something cheaper than last time
is shipping gifts for {event}
just sold {item}
is looking at cars around {city}
""",
        "work": """
has a deadline on {date}
runs the {team} team
is onboarding {n} new hires
works from {city} this month
is preparing for {event}
juggles three projects at once
is back from leave on {weekday}
needs the {team} team in sync
is chasing a client in {other}
is applying for jobs in {city}
teaches a class at {clock}
is translating documents for a client in {other}
shares an inbox with {first2}
keeps missing meetings
is presenting on {date}
is reorganising the office on {street}
""",
    }.items()
}
CLUSTERS = {
    **dict.fromkeys(("travel", "lodging", "transport", "maps", "weather"), "trip"),
    **dict.fromkeys(("food", "recipes"), "food"),
    **dict.fromkeys(("finance", "investing", "insurance", "utilities", "government"), "admin"),
    **dict.fromkeys(("health", "fitness", "pets"), "care"),
    **dict.fromkeys(("music", "movies", "books", "gaming", "sports", "news", "social"), "leisure"),
    **dict.fromkeys(("ecommerce", "shipping", "real_estate", "automotive"), "buying"),
}
WHO = _bank("""
My {relation} {first}
{person}
{first}, my {relation},
My {kin}
{first} from the {team} team
Our {group}
{first}
My {kin}'s friend {first}
{person}, my {relation},
A {kin} of mine
My {relation}, {person},
{first}, who works in {team},
Our {relation} {first}
{first}'s {kin}
""")
WHEN = _bank("""
this {weekday}
next {month}
on {date}
at {clock} tomorrow
in {n} days
tonight
over the weekend
before {event}
later this week
from {date}
around {clock}
this month
first thing tomorrow
by {weekday}
early next {month}
after {event}
the week of {date}
right after lunch
on {weekday} evening
at the end of {month}
in {n} weeks
starting {weekday}
""")
CONTEXT_FRAMES = _bank("""
{who} {what} {when}.
{when_cap}, {who_low} {what}.
Some background: {who_low} {what} {when}.
For context, {who_low} {what} {when}.
{who} {what}, {when}.
{who} {what}.
So, {who_low} {what} {when}.
Heads-up: {who_low} {what}.
""")


BANKS: dict[str, tuple[str, ...]] = {
    "openers": OPENERS,
    "scene_openers": SCENE_OPENERS,
    "noun_requests": NOUN_REQUESTS,
    "afterthoughts": AFTERTHOUGHTS,
    "situations": tuple(x for group in SITUATIONS.values() for x in group),
    "contexts": CONTEXTS,
    "closers": CLOSERS,
    "leads": LEADS,
    "tails": TAILS,
    "acks": ACKS,
    "nexts": NEXTS,
    "follow_ups": FOLLOW_UPS,
    "clarify_questions": CLARIFY_QUESTIONS,
    "clarify_answers": CLARIFY_ANSWERS,
    "refusals": REFUSALS,
    "list_answers": LIST_ANSWERS,
    "action_answers": ACTION_ANSWERS,
    "value_answers": VALUE_ANSWERS,
    "error_answers": ERROR_ANSWERS,
    "retry_prefixes": RETRY_PREFIXES,
    "call_thoughts": CALL_THOUGHTS,
    "text_thoughts": TEXT_THOUGHTS,
    "ask_thoughts": ASK_THOUGHTS,
    "refuse_thoughts": REFUSE_THOUGHTS,
}

_VERBS_MORE = {
    "search": "browse for; dig up; check for; scout for; seek out",
    "list": "list out; bring up; display; run through",
    "find": "dig up; turn up; hunt down; pin down; seek out",
    "create": "put together; draw up; start; build",
    "add": "include; insert; log",
    "register": "register for; join",
    "generate": "make; put together; come up with",
    "schedule": "book; line up; slot in; pencil in",
    "submit": "lodge; hand in; put in",
    "upload": "post; put up",
    "open": "set up; launch",
    "start": "begin; launch",
    "plan": "sketch out; figure out; lay out; put together",
    "discover": "come across; explore; uncover",
    "recommend": "pick out; propose",
    "compare": "contrast; size up; evaluate",
    "estimate": "gauge; approximate; calculate",
    "calculate": "figure out; tally; determine",
    "get": "grab; bring up; check; obtain; read",
    "cancel": "drop; axe; withdraw",
    "update": "modify; amend; revise; adjust; tweak",
    "delete": "erase; get rid of; wipe; clear",
    "book": "secure; lock in; grab; hold",
    "track": "monitor; keep tabs on; trace; follow up on",
    "check": "inspect; examine; go over; look into",
    "download": "save; fetch; export",
    "rate": "grade; give a rating to",
    "share": "forward; circulate; distribute",
    "close": "wrap up; finish; terminate",
    "renew": "prolong; roll over; refresh",
    "reschedule": "shift; push back; rearrange",
    "confirm": "finalise; approve",
    "pay": "pay off; clear; cover",
    "review": "evaluate; assess; critique",
    "archive": "store away; shelve; put away",
    "refund": "reimburse; pay back",
    "translate": "convert; render",
    "detect": "spot; recognise",
}

VERBS: dict[str, tuple[str, ...]] = {
    verb: tuple(v.strip() for v in f"{forms}; {_VERBS_MORE.get(verb, '')}".split(";") if v.strip())
    for verb, forms in {
        "search": "search for; look up; find; look for; pull up; hunt for",
        "list": "list; show; pull up; give me; show me",
        "find": "find; look for; track down; search for; locate",
        "create": "create; set up; make",
        "add": "add; put in; create",
        "register": "register; enrol in; sign up for",
        "generate": "generate; create; produce",
        "schedule": "schedule; set up; arrange",
        "submit": "submit; send in; file",
        "upload": "upload; send",
        "open": "open; start",
        "start": "start; open; kick off",
        "plan": "plan; map out; work out",
        "discover": "discover; find",
        "recommend": "recommend; suggest",
        "compare": "compare; weigh up",
        "estimate": "estimate; work out; figure out",
        "calculate": "calculate; work out; compute",
        "get": "get; fetch; pull up; look up; retrieve",
        "cancel": "cancel; call off; scrap",
        "update": "update; change; edit",
        "delete": "delete; remove",
        "book": "book; reserve",
        "track": "track; check on; follow",
        "check": "check; look at; verify",
        "download": "download; grab",
        "rate": "rate; score",
        "share": "share; send out; pass on",
        "close": "close; shut down; end",
        "renew": "renew; extend",
        "reschedule": "reschedule; move",
        "confirm": "confirm; lock in",
        "pay": "pay; settle",
        "review": "review; write a review of",
        "archive": "archive; file away",
        "refund": "refund",
        "translate": "translate",
        "detect": "detect; identify",
    }.items()
}

_PHRASES_MORE = {
    "city": "over in {v}; inside {v}; in downtown {v}; based in {v}; in and around {v}; local to {v}; in the city of {v}; around central {v}; across {v}; in greater {v}; anywhere in {v}",
    "country": "throughout {v}; inside {v}; based in {v}; over in {v}",
    "origin": "flying out of {v}; starting from {v}; coming from {v}; with {v} as the origin; departing from {v}; out from {v}",
    "destination": "into {v}; for arrival in {v}; with {v} as the destination; landing in {v}; heading for {v}",
    "date": "on day {v}; scheduled for {v}; set for {v}; with the date {v}; dated for {v}; for the date of {v}",
    "start_date": "from {v} onwards; opening on {v}; first day {v}; beginning {v}; starting on {v}; as of {v}",
    "end_date": "to {v}; finishing {v}; last day {v}; up to {v}; ending {v}; till {v}; finishing on {v}",
    "time": "for around {v}; roughly at {v}; at {v} sharp; timed for {v}; at {v} or so; for {v} exactly; at roughly {v}",
    "start_time": "kicking off at {v}; from {v} onwards; opening at {v}; at {v}",
    "deadline": "due by {v}; at the latest by {v}; before {v}",
    "email": "via {v}; at {v}; to {v}; for the address {v}; with the address {v}; email {v}; at the address {v}; with contact email {v}",
    "contact_email": "keeping {v} posted; with {v} in copy; updating {v}",
    "phone": "at {v}; on the number {v}; with the number {v}",
    "query": 'searching "{v}"; for the phrase "{v}"; with the search "{v}"; looking for "{v}"; containing "{v}"; about "{v}"; to do with "{v}"; for anything on "{v}"; using the terms "{v}"',
    "title": 'entitled "{v}"; under the title "{v}"; headed "{v}"',
    "name": "as {v}; booked under {v}; for the person {v}; with the name {v}; for the name {v}; under {v}; named {v}",
    "message": 'reading "{v}"; with the message "{v}"; to say "{v}"; with "{v}" as the text',
    "language": "for language {v}; with the language set to {v}; in the language {v}; in {v}; language {v}; set to language {v}",
    "currency": "using {v}; denominated in {v}; converted to {v}",
    "unit": "measured in {v} units; in the {v} system",
    "sort_order": "in {v} sort order; ranked {v}; sorting {v}",
    "priority": "as {v} priority; with a {v} priority level; at a {v} priority",
    "limit": "max {v} results; {v} results at most; no more than {v} results; just the top {v}; only {v} results; the first {v} results; {v} at most; up to {v} results; the top {v}; a maximum of {v} results; only the first {v}",
    "page": "at page {v}; going to page {v}; page number {v}",
    "quantity": "quantity of {v}; {v} of those; {v} items; {v} in total",
    "guests": "for {v} of us; with {v} people; hosting {v} guests; for {v} in total; with a group of {v}",
    "year": "from the year {v}; of {v}; around {v}; from around {v}; released in {v}",
    "age": "{v} years old; at age {v}; of age {v}",
    "duration_minutes": "running {v} minutes; taking {v} minutes; over {v} minutes",
    "amount": "of {v}; amounting to {v}; in the amount of {v}; to the tune of {v}",
    "max_price": "cheaper than {v}; up to {v}; no more than {v}; priced below {v}; within {v}; at {v} or less; no higher than {v}; topping out at {v}",
    "min_rating": "with at least {v} stars; rated {v} and up; with a minimum rating of {v}",
    "radius_km": "inside {v} km; up to {v} km away; within a {v} km range; {v} km around; in a radius of {v} km",
    "weight_kg": "with a weight of {v} kg; of about {v} kg; at roughly {v} kg; with {v} kg",
    "tags": "with tags {v}; marked {v}; under the tags {v}; with the labels {v}; tagged as {v}; carrying the tags {v}",
    "categories": "within {v}; spanning {v}; from the categories {v}; limited to {v}; in {v}; filtered to {v}",
    "genre": "leaning towards {v}; in a {v} style; mostly {v}; from the {v} scene",
    "cuisine": "offering {v} food; with a {v} menu; specialising in {v} food",
    "symbol": "ticker {v}; with symbol {v}; for the stock {v}",
    "account_id": "using account {v}; billed to {v}; via account {v}; out of account {v}",
    "user_id": "for the user {v}; under user {v}; for account holder {v}; under the profile {v}; for user ID {v}",
    "address": "at the address {v}; located at {v}; going to {v}; delivered to {v}; at address {v}; sent to {v}; for the place at {v}",
    "coordinates": "near the coordinates {v}; centred on {v}; by the point {v}",
    "price_range": "within the range {v}; in the {v} bracket",
    "contact": "naming {v} as the contact; with {v} to contact",
    "options": "with the settings {v}; using options {v}; with these options: {v}; options set to {v}",
    "settings": "configured as {v}; with config {v}; applying {v}",
    "include_details": "{flag} all the details; {flag} the specifics; {flag} more detail",
    "notify": "{flag} sending a notification; {flag} an alert to anyone; {flag} a heads-up",
    "reference_uuid": "reference number {v}; citing reference {v}",
    "callback_url": "with the callback {v}; reporting back to {v}",
}

PHRASES: dict[str, tuple[str, ...]] = {
    name: tuple(
        v.strip() for v in f"{forms}; {_PHRASES_MORE.get(name, '')}".split(";") if v.strip()
    )
    for name, forms in {
        "city": "in {v}; around {v}; near {v}; in the {v} area; for {v}; somewhere in {v}; "
        "close to central {v}; within {v}",
        "country": "in {v}; for {v}; within {v}; anywhere in {v}; across {v}",
        "origin": "from {v}; leaving {v}; departing {v}; out of {v}; starting in {v}; "
        "setting off from {v}",
        "destination": "to {v}; going to {v}; arriving in {v}; bound for {v}; headed to {v}; "
        "ending in {v}",
        "date": "on {v}; for {v}; dated {v}; for the day {v}; on the date {v}",
        "start_date": "starting {v}; from {v}; beginning on {v}; with {v} as the first day; "
        "kicking off {v}",
        "end_date": "until {v}; through {v}; ending on {v}; with {v} as the last day; "
        "wrapping up {v}",
        "time": "at {v}; around {v}; for {v}; at about {v}; close to {v}; no earlier than {v}",
        "start_time": "from {v}; starting at {v}; beginning {v}",
        "deadline": "by {v}; no later than {v}; before the end of {v}; due {v}",
        "email": "using the email {v}; with email {v}; reachable at {v}; replying to {v}; "
        "copying {v}",
        "contact_email": "sending updates to {v}; with updates going to {v}; notifying {v}",
        "phone": "phone {v}; with phone number {v}; callable at {v}; on {v}",
        "query": 'matching "{v}"; about "{v}"; for "{v}"; with the keywords "{v}"; '
        'on the topic "{v}"; along the lines of "{v}"',
        "title": 'titled "{v}"; called "{v}"; named "{v}"; with the title "{v}"; labelled "{v}"',
        "name": "for {v}; under the name {v}; in the name of {v}; on behalf of {v}; "
        "registered to {v}",
        "message": 'saying "{v}"; with the text "{v}"; that reads "{v}"; with the note "{v}"; '
        'with the words "{v}"',
        "language": "in language {v}; with language code {v}; using language {v}",
        "currency": "in {v}; priced in {v}; with amounts in {v}; quoting {v}; paid in {v}",
        "unit": "using {v} units; in {v} units; with {v} measurements",
        "sort_order": "sorted {v}; in {v} order; ordered {v}",
        "priority": "with {v} priority; at {v} priority; marked {v} priority; flagged {v}",
        "limit": "showing at most {v} results; capped at {v} results; limited to {v} results; "
        "returning up to {v} results; top {v} only",
        "page": "page {v}; on page {v}; from page {v}",
        "quantity": "quantity {v}; {v} of them; in a quantity of {v}; {v} units; times {v}",
        "guests": "for {v} guests; for {v} people; for a party of {v}; for a group of {v}; "
        "with {v} travellers",
        "year": "for the year {v}; from {v}; in {v}; dating from {v}; made in {v}",
        "age": "age {v}; aged {v}; who is {v} years old; {v} years of age",
        "duration_minutes": "lasting {v} minutes; for {v} minutes; {v} minutes long; "
        "of about {v} minutes",
        "amount": "for an amount of {v}; for {v}; totalling {v}; worth {v}; adding up to {v}",
        "max_price": "under {v}; for at most {v}; below {v}; capped at {v}; not above {v}; "
        "with a budget of {v}",
        "min_rating": "rated at least {v}; with a rating of {v} or more; scoring {v} or higher; "
        "with {v} stars or better",
        "radius_km": "within {v} km; no more than {v} km away; in a {v} km radius; "
        "at most {v} km out",
        "weight_kg": "weighing {v} kg; at {v} kg; of {v} kg; that weighs {v} kg",
        "tags": "tagged {v}; with the tags {v}; labelled {v}; filed under {v}",
        "categories": "in the categories {v}; covering {v}; under {v}; across {v}",
        "genre": "in the {v} genre; with {v} music; of the {v} kind; leaning {v}",
        "cuisine": "serving {v} food; with {v} cuisine; that do {v} dishes; cooking {v}",
        "symbol": "for {v}; on the ticker {v}; for shares of {v}; trading as {v}",
        "account_id": "on account {v}; for account {v}; from account {v}; charged to {v}",
        "user_id": "for user {v}; as user {v}; on behalf of user {v}; for the profile {v}",
        "address": "at {v}; to the address {v}; for {v}; over at {v}",
        "coordinates": "at coordinates {v}; at the position {v}; around the point {v}",
        "price_range": "priced {v}; in the range {v}; costing {v}",
        "contact": "with contact {v}; listing {v} as the contact; with {v} as the contact person",
        "options": "with options {v}; setting {v}; with the options {v}; configured as {v}",
        "settings": "with settings {v}; using the settings {v}; set up as {v}",
        "include_details": "{flag} details; {flag} the full details; {flag} extra detail",
        "notify": "{flag} a notification; {flag} notifying anyone; {flag} an alert",
        "reference_uuid": "with reference {v}; under reference {v}; quoting reference {v}",
        "callback_url": "with callback {v}; calling back {v}; posting the result to {v}",
    }.items()
}
ORDINALS = ("first", "second", "third")
FIRST_HITS = (
    "the first {entity} you find",
    "the top {entity} on the list",
    "whichever {entity} comes up first",
    "the best match",
    "the first {entity} that comes back",
    "the top result",
    "the first hit",
    "the {entity} at the top",
    "the first one that shows up",
    "the leading {entity}",
    "the first {entity} in the results",
    "the {entity} that comes up first",
    "the top-listed {entity}",
    "the highest-ranked {entity}",
    "the number one {entity}",
    "the first match",
    "the {entity} listed first",
    "whatever {entity} shows up first",
    "the best {entity} you find",
    "the first {entity} it returns",
    "the top {entity} it finds",
    "the {entity} in first place",
    "the first {entity} returned",
    "the {entity} heading the list",
    "the first option",
    "the top option",
    "the most relevant {entity}",
    "the {entity} ranked first",
    "the top pick",
    "the first entry",
    "the top entry",
)


def render_value(value: Any) -> str:
    """How a message writes a value; the verifier's grounding check looks for exactly this."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return join([render_value(v) for v in value])
    if isinstance(value, Mapping):
        return (
            "("
            + ", ".join(f"{k.replace('_', ' ')} {render_value(v)}" for k, v in value.items())
            + ")"
        )
    return str(value)


def join(parts: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def label(name: str) -> str:
    """How a message names a parameter (``start_date`` → ``start date``)."""
    return name.replace("_", " ")


def phrase(
    api: ToolSpec,
    name: str,
    value: Any,
    info: ApiInfo | None = None,
    rng: random.Random | None = None,
) -> str:
    """One argument as a phrase of a request (``"in Paris"``, ``"with details"``): one of the
    bank's forms for a known parameter name (with ``rng``), else the API's own phrase."""
    phrases = (info or ApiInfo.of(api)).phrases
    forms = PHRASES.get(name, ()) or _list_forms(name)
    template = (
        rng.choice(forms)
        if forms and rng is not None
        else phrases.get(name) or (forms[0] if forms else f"{label(name)} {{v}}")
    )
    if isinstance(value, bool):
        flag = "with" if value else "without"
        if "{flag}" in template:
            return template.replace("{flag}", flag)
        return f"{flag} {label(name)}"
    text = render_value(value)
    if rng is not None and isinstance(value, str) and _ISO_DATE.fullmatch(value):
        text = _with_weekday(template, text, rng)
    return template.replace("{flag}", "with").replace("{v}", text)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_BEFORE_DAY = re.compile(r"(?:^|\s)(?:on|for|from|until|through|by|starting|to|before)\s\{v\}")


def _with_weekday(template: str, text: str, rng: random.Random) -> str:
    """A date now and then written with its weekday (``Friday 2025-03-07``,
    ``2025-03-07 (a Friday)``); the ISO date stays as :func:`render_value` writes it."""
    try:
        day = _dt.date.fromisoformat(text).strftime("%A")
    except ValueError:
        return text
    roll = rng.random()
    if roll < 0.2 and _BEFORE_DAY.search(template):
        return f"{day} {text}"
    if roll < 0.35:
        return f"{text} ({rng.choice(('a ', '', 'that is a '))}{day})"
    return text


#: Forms for a list argument ``<base>_list`` ("for the cities Paris, Lima and Rome").
LIST_FORMS = (
    "for the {plural} {v}",
    "with the {plural} {v}",
    "for {plural} {v}",
    "covering the {plural} {v}",
    "for each {label} in {v}",
    "across the {plural} {v}",
)
#: Bases whose own phrases read well with a joined list ("in Paris, Lima and Rome").
_LIST_BASES = frozenset(
    ("city", "country", "origin", "destination", "date", "start_date", "end_date", "time")
)


def plural(noun: str) -> str:
    """``city`` → ``cities``, ``start date`` → ``start dates``, ``address`` → ``addresses``."""
    if noun.endswith("y") and noun[-2:-1] not in tuple("aeiou"):
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def _list_forms(name: str) -> tuple[str, ...]:
    """Phrases for a ``<base>_list`` argument: :data:`LIST_FORMS` with the base's label, plus
    the base's own phrases where they read well with a list; empty for other names."""
    base = name.removesuffix("_list")
    if base == name or not base:
        return ()
    noun = label(base)
    forms = tuple(f.replace("{plural}", plural(noun)).replace("{label}", noun) for f in LIST_FORMS)
    if base in _LIST_BASES:
        forms += PHRASES.get(base, ())
    return forms


_MASS = frozenset(
    _bank("""
nutrition
distance
text
language
shipping
premium
fare
returns
bill
availability
calories
repair
delivery
options
access
code
route
itinerary
""")
)
_SINGULAR = {"guests": "guest", "people": "person", "results": "result", "minutes": "minute"}


def _article(obj: str, definite: bool) -> str:
    """``obj`` with the article a request puts before it (none for plurals and mass nouns)."""
    last = obj.split()[-1] if obj else ""
    if not obj or obj in _MASS or last in _MASS or (last.endswith("s") and not last.endswith("ss")):
        return obj
    if definite:
        return f"the {obj}"
    return f"{'an' if obj[0] in 'aeiou' else 'a'} {obj}"


# Other ways to say an API's object (the first form is the object itself).
_OBJECT_FORMS = {
    "details": "details; info; information; specifics; particulars; record",
    "flights": "flights; flight options; available flights; direct flights; some flights",
    "hotels": "hotels; places to stay; hotel options; available hotels; accommodation",
    "restaurants": "restaurants; places to eat; restaurant options; good restaurants",
    "recipes": "recipes; recipe ideas; dishes; something to cook",
    "products": "products; items; product options; things to buy",
    "jobs": "jobs; job openings; vacancies; open positions; roles",
    "courses": "courses; classes; course options; programmes",
    "books": "books; titles; something to read; book options",
    "listings": "listings; properties; homes on the market; available places",
    "places": "places; spots; locations; places nearby",
    "articles": "articles; stories; news pieces; reports",
    "headlines": "headlines; top stories; the news; latest headlines",
    "matches": "matches; fixtures; games",
    "transactions": "transactions; payments; account activity; recent payments",
    "appointments": "appointments; bookings; visits; upcoming appointments",
    "workouts": "workouts; training sessions; sessions; exercise sessions",
    "songs": "songs; tracks; music; tunes",
    "movies": "movies; films; something to watch",
    "showtimes": "showtimes; screenings; show times",
    "tickets": "tickets; seats; ticket options",
    "vehicles": "vehicles; cars; car options",
    "emails": "emails; messages; mail",
    "tasks": "tasks; to-dos; open tasks; items on my list",
    "posts": "posts; updates; recent posts",
    "departures": "departures; trains leaving; upcoming departures",
    "forecasts": "forecasts; weather outlooks; weather reports",
    "stocks": "stocks; shares; equities",
    "clinics": "clinics; medical centres; practices nearby",
    "veterinarians": "veterinarians; vets; animal clinics",
    "concerts": "concerts; gigs; live shows",
    "rentals": "rentals; rental options; rental places",
    "devices": "devices; gadgets; connected devices",
    "offices": "offices; office locations; branches",
    "lobbies": "lobbies; game rooms; open lobbies",
    "teams": "teams; clubs; squads",
    "policies": "policies; insurance policies; cover options",
    "adoptable pets": "adoptable pets; pets to adopt; animals up for adoption",
    "free slots": "free slots; open slots; available times; free time slots",
    "alerts": "alerts; notifications; warnings",
    "readings": "readings; meter readings; recent readings",
    "holdings": "holdings; positions; investments",
    "accounts": "accounts; profiles; user accounts",
}
_OBJECTS = {k: tuple(f.strip() for f in v.split(";")) for k, v in _OBJECT_FORMS.items()}


def object_form(obj: str, rng: random.Random | None) -> str:
    """``obj`` or, with ``rng``, another way to say it (``hotels`` → ``places to stay``,
    ``recipe details`` → ``recipe info``)."""
    if rng is None:
        return obj
    forms = _OBJECTS.get(obj)
    if forms is not None:
        return rng.choice(forms)
    head, _, last = obj.rpartition(" ")
    if head and last in _OBJECTS and rng.random() < 0.5:
        return f"{head} {rng.choice(_OBJECTS[last])}"
    return obj


def action(
    info: ApiInfo,
    api: ToolSpec,
    rng: random.Random | None = None,
    *,
    article: bool = False,
    objects: bool = True,
) -> str:
    """The API's functionality as a verb phrase, paraphrased with ``rng`` (``look up flights``,
    ``hunt for places to stay``; the object too unless ``objects`` is false); with
    ``article``, a singular object gets one (``plan a route``, ``cancel the booking``)."""
    fn = info.functionalities[0] if info.functionalities else api.name.replace("_", " ")
    verb, _, rest = fn.partition(" ")
    forms = VERBS.get(verb_of(fn))
    head = rng.choice(forms) if rng is not None and forms else verb
    if rest:
        with_article = _article(rest, definite=info.role == "consumer") if article else rest
        if with_article != rest:
            rest = with_article
        elif objects:
            rest = object_form(rest, rng)  # a plural or mass object: no article to agree with
    return f"{head} {rest}".strip()


def indefinite(noun: str) -> str:
    """``a date``, ``an end date``."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def singular(text: str) -> str:
    """``for 1 guests`` → ``for 1 guest``."""
    for plural, one in _SINGULAR.items():
        text = text.replace(f" 1 {plural}", f" 1 {one}")
    return text


_OF_ID = (
    "the {o} of {w}",
    "the {o} for {w}",
    "the {o} on {w}",
    "the {o} tied to {w}",
    "the {o} linked to {w}",
    "the {o} belonging to {w}",
    "the {o} attached to {w}",
    "the {o} that go with {w}",
    "{w}'s {o}",
    "the {o} we have for {w}",
    "the {o} stored for {w}",
    "the current {o} of {w}",
    "the {o} listed for {w}",
    "the latest {o} for {w}",
)
#: The same when the object repeats the entity (``recipe details`` of a recipe): the entity
#: is said once (``the details of my recipe RE12345``).
_OF_ID_SHORT = (
    "the {o} of {w}",
    "the {o} for {w}",
    "the {o} on {w}",
    "the full {o} of {w}",
    "{w}'s {o}",
    "all the {o} on {w}",
    "the {o} we have on {w}",
    "the latest {o} for {w}",
    "the {o} behind {w}",
    "every {o2} about {w}",
    "the {o} they hold for {w}",
    "what {o2} there are on {w}",
)


def _possessive_ok(forms: Sequence[str], what: str) -> Sequence[str]:
    """``forms`` without the possessive ones when ``what`` is a phrase with a comma."""
    return [f for f in forms if "{w}'s" not in f] if "," in what else forms


def request_body(
    api: ToolSpec,
    info: ApiInfo,
    args: Mapping[str, Any],
    rng: random.Random,
    *,
    skip: Sequence[str] = (),
    target: str = "",
    note: bool = False,
    held: list[str] | None = None,
) -> str:
    """A request for ``api`` in base form, mentioning every argument except ``skip``; with a
    ``held`` list (and two or more details), the last detail goes there instead, for the
    caller to say as its own sentence (:func:`afterthought`).
    ``target`` names what the entity-id argument refers to (``"Harbour Inn"``); else the id is
    written after the object (``cancel the flight FL12345``). A ``note`` is terse:
    ``Look up flights: from Paris, to Tokyo.``"""
    id_name = f"{info.entity}_id" if info.entity else ""
    with_id = id_name in args and id_name not in skip
    verb_phrase = action(info, api, rng, article=not with_id and not target, objects=not with_id)
    form = note and rng.random() < FORM_P
    parts = [
        field_entry(k, v, rng) if form else phrase(api, k, v, info, rng)
        for k, v in args.items()
        if k not in skip and k != id_name
    ]
    rng.shuffle(parts)  # people give details in any order
    if with_id:
        what = (
            target
            or f"{rng.choice(('the ', 'my ', '', 'our ', 'that '))}{info.entity.replace('_', ' ')} {render_value(args[id_name])}"
        )
        fn = info.functionalities[0] if info.functionalities else ""
        obj = fn.partition(" ")[2]
        head = (
            verb_phrase.rsplit(" " + obj, 1)[0]
            if obj and verb_phrase.endswith(obj)
            else verb_phrase
        )
        if (
            obj
            and obj.split()[0] == info.entity.replace("_", " ").split()[0]
            and len(obj.split()) == 1
        ):
            verb_phrase = f"{head} {what}"
        elif (
            obj
            and obj.split()[0] == info.entity.replace("_", " ").split()[0]
            and rng.random() < 0.6
        ):
            rest = object_form(obj.split(" ", 1)[1], rng)
            forms = _possessive_ok(_OF_ID_SHORT, what)
            if rest != "details":
                forms = [f for f in forms if "{o2}" not in f]
            verb_phrase = f"{head} {rng.choice(forms).format(o=rest, o2=rest, w=what)}"
        elif obj:
            forms = _possessive_ok(_OF_ID, what)
            verb_phrase = f"{head} {rng.choice(forms).format(o=object_form(obj, rng), w=what)}"
        else:
            verb_phrase = f"{head} {what}"
    elif target:
        verb_phrase = f"{verb_phrase} for {target}"
    if note and parts:
        sep = rng.choice(_FORM_SEPARATORS) if form else ", "
        return singular(f"{cap(verb_phrase)}: {sep.join(parts)}")
    if held is not None and len(parts) >= 2:
        held.append(singular(parts.pop()))
    return singular(verb_phrase + ("" if not parts else " " + " ".join(parts)))


FORM_P = 0.5
_FORM_SEPARATORS = (", ", "; ", ", ", " / ")


def field_entry(name: str, value: Any, rng: random.Random) -> str:
    """One argument as a form entry of a terse request (``origin Paris``, ``guests: 4``,
    ``notify: yes``)."""
    text = render_value(value)
    base, _, unit = name.rpartition("_")
    if base and unit in ("kg", "km", "minutes") and not isinstance(value, (list, dict)):
        return f"{label(base)}{rng.choice((' ', ': '))}{text} {unit}"
    return f"{label(name)}{rng.choice((' ', ': ', ' '))}{text}"


def noun_request(
    api: ToolSpec,
    info: ApiInfo,
    args: Mapping[str, Any],
    rng: random.Random,
    *,
    skip: Sequence[str] = (),
) -> str | None:
    """A search said without a verb (``Any places to stay in Paris under 200?``), mentioning
    every argument except ``skip``; None when the API's functionality is no search for plural
    things or it takes an entity id."""
    fn = info.functionalities[0] if info.functionalities else ""
    obj = fn.partition(" ")[2]
    id_name = f"{info.entity}_id" if info.entity else ""
    if verb_of(fn) not in NOUN_VERBS or not obj.endswith("s") or id_name in args:
        return None
    parts = [phrase(api, k, v, info, rng) for k, v in args.items() if k not in skip]
    rng.shuffle(parts)
    noun = object_form(obj, rng)
    text = rng.choice(NOUN_REQUESTS)
    text = text.replace("{Obj}", cap(noun)).replace("{obj}", noun)
    text = text.replace("{args}", " ".join(parts))
    return singular(" ".join(text.split()).replace(" ?", "?").replace(" .", ".").replace(" ,", ","))


def afterthought(text: str, rng: random.Random) -> str:
    """``text`` (one argument's phrase) as a sentence of its own (``Ideally under 200.``)."""
    return fill(rng.choice(AFTERTHOUGHTS), rng, p=text, P=cap(text))


def context(rng: random.Random, scene: Scene, domain: str) -> str:
    """One sentence of background about the scene: who, in what situation, when (or, now and
    then, a first-person remark from :data:`CONTEXTS`)."""
    slots = scene_slots(rng, scene)
    if rng.random() < 0.25:
        return fill(rng.choice(CONTEXTS), rng, **slots)
    return _situation(rng, domain, slots)


def scene_slots(rng: random.Random, scene: Scene) -> dict[str, Any]:
    """Values for the slots of leads, tails and context sentences: the scene's places and
    companion, and people, groups, events and times drawn around them."""
    hour, minute = rng.randint(6, 21), rng.randint(0, 59)
    earlier = scene.start.toordinal() - rng.randint(1, 40)
    return {
        "relation": rng.choice(_NEUTRAL_RELATIONS),  # next to a name: no gender to agree with
        "kin": rng.choice(RELATIONS),
        "first": lexicon.first_name(rng),
        "first2": lexicon.first_name(rng),
        "person": " ".join(lexicon.person(rng)),
        "companion": scene.companion,
        "team": rng.choice(TEAMS),
        "group": rng.choice(GROUPS),
        "city": scene.city.name,
        "other": scene.other.name,
        "n": rng.randint(2, 12),
        "event": rng.choice(EVENTS),
        "item": rng.choice(ITEMS),
        "pet": lexicon.pet_name(rng),
        "street": lexicon.street(rng, scene.city.language),
        "cuisine": rng.choice(CUISINES),
        "genre": rng.choice(GENRES_HEARD),
        "weekday": rng.choice(_DAYS),
        "month": rng.choice(_MONTHS),
        "date": type(scene.start).fromordinal(earlier).isoformat(),
        "clock": f"{hour % 12 or 12}:{minute:02d} {'am' if hour < 12 else 'pm'}",
        "companion_first": scene.companion.split()[0],
    }


def _situation(rng: random.Random, domain: str, slots: Mapping[str, Any]) -> str:
    what = fill(rng.choice(SITUATIONS[CLUSTERS.get(domain, "work")]), rng, **slots)
    what = what[:1].lower() + what[1:]
    who = fill(rng.choice(WHO), rng, **slots)
    when = fill(rng.choice(WHEN), rng, **slots) if rng.random() < 0.7 else ""
    frames = [f for f in CONTEXT_FRAMES if ("{when" in f) == bool(when)] or list(CONTEXT_FRAMES)
    text = fill(
        rng.choice(frames),
        rng,
        who=who,
        who_low=who if who.startswith(tuple(FIRST_NAMES)) else who[:1].lower() + who[1:],
        what=what,
        when=when[:1].lower() + when[1:],
        when_cap=cap(when),
    )
    return text.replace(", .", ".").replace(",,", ",")


_DAYS = _bank("""
Monday
Tuesday
Wednesday
Thursday
Friday
Saturday
Sunday
""")
_MONTHS = _bank("""
January
February
March
April
May
June
July
August
September
October
November
December
""")


def fill(template: str, rng: random.Random, **slots: Any) -> str:
    """``template`` with its slots filled and its first letter capitalised, unless it starts
    with a slot."""
    text = template
    for key, value in slots.items():
        text = text.replace("{" + key + "}", str(value))
    if template.startswith("{"):
        return text  # a value stays exactly as written (the grounding check looks for it)
    return cap(text)


__all__ = [
    "BANKS",
    "LIST_FORMS",
    "ORDINALS",
    "PHRASES",
    "VERBS",
    "action",
    "cap",
    "context",
    "fill",
    "indefinite",
    "join",
    "label",
    "phrase",
    "plural",
    "render_value",
    "request_body",
    "singular",
]
