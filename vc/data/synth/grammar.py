"""A seeded template grammar of everyday English sentences for the synthetic corpus.

Every word list below was written for this toolkit. Templates mix statements, questions
and commands over people, things, places, times and numbers; subject-verb agreement is
kept simple by using past tense, ``will`` and singular subjects for the present tense.
"""

from __future__ import annotations

import random
from typing import Callable

from vc.errors import VCError

MIN_WORDS = 5
MAX_WORDS = 15
# Draws allowed per requested sentence before giving up; the grammar has millions of
# distinct sentences, so this is only reached for absurd requests.
_MAX_DRAWS_PER_SENTENCE = 50

NAMES = (
    "Anna", "Peter", "Maria", "David", "Laura", "Tom", "Sarah", "James", "Emma", "Daniel",
    "Lucy", "Mark", "Grace", "Henry", "Olivia", "Sam", "Nora", "Victor", "Helen", "Oscar",
)
PEOPLE = (
    "teacher", "farmer", "doctor", "driver", "waiter", "neighbour", "nurse", "baker",
    "painter", "student", "pilot", "gardener", "manager", "artist", "fisherman", "singer",
)
RELATIVES = (
    "brother", "sister", "uncle", "aunt", "cousin", "father", "mother", "friend",
    "grandmother", "grandfather", "daughter", "son",
)
POSSESSIVES = ("my", "your", "his", "her", "our", "their")
PERSON_ADJECTIVES = ("old", "young", "tall", "quiet", "busy", "friendly", "clever", "tired")

# (singular, plural) nouns for things one can carry, buy, paint or lose.
THINGS = (
    ("box", "boxes"), ("chair", "chairs"), ("apple", "apples"), ("map", "maps"),
    ("coat", "coats"), ("umbrella", "umbrellas"), ("cup", "cups"), ("book", "books"),
    ("basket", "baskets"), ("lamp", "lamps"), ("letter", "letters"), ("key", "keys"),
    ("bicycle", "bicycles"), ("table", "tables"), ("bottle", "bottles"), ("ticket", "tickets"),
    ("blanket", "blankets"), ("window", "windows"), ("picture", "pictures"), ("bag", "bags"),
    ("kite", "kites"), ("drum", "drums"), ("clock", "clocks"), ("pencil", "pencils"),
)
ADJECTIVES = (
    "red", "small", "heavy", "bright", "old", "new", "warm", "clean", "wooden", "broken",
    "yellow", "empty", "cheap", "green", "round", "blue", "soft", "large", "dusty", "shiny",
)
THING_DETERMINERS = ("the", "a", "my", "her", "his", "our", "their", "that", "this", "your")

# (base, past, third person singular) of verbs taking one of THINGS as object.
TRANSITIVE = (
    ("buy", "bought", "buys"), ("find", "found", "finds"), ("paint", "painted", "paints"),
    ("carry", "carried", "carries"), ("clean", "cleaned", "cleans"), ("open", "opened", "opens"),
    ("lose", "lost", "loses"), ("borrow", "borrowed", "borrows"), ("fix", "fixed", "fixes"),
    ("sell", "sold", "sells"), ("wrap", "wrapped", "wraps"), ("wash", "washed", "washes"),
    ("drop", "dropped", "drops"), ("move", "moved", "moves"), ("check", "checked", "checks"),
    ("hide", "hid", "hides"), ("bring", "brought", "brings"), ("keep", "kept", "keeps"),
)
# Verbs one would ask or remind somebody to do (nobody is asked to lose or drop things).
WANTED = tuple(v for v in TRANSITIVE if v[0] not in ("lose", "drop", "hide"))
# (base, past, third person singular) of verbs without an object.
INTRANSITIVE = (
    ("arrive", "arrived", "arrives"), ("wait", "waited", "waits"), ("laugh", "laughed", "laughs"),
    ("sleep", "slept", "sleeps"), ("work", "worked", "works"), ("stay", "stayed", "stays"),
    ("sing", "sang", "sings"), ("dance", "danced", "dances"), ("read", "read", "reads"),
    ("eat", "ate", "eats"), ("rest", "rested", "rests"), ("study", "studied", "studies"),
)
PLACES = (
    "at the station", "near the river", "in the garden", "behind the library", "on the bus",
    "at the market", "in the kitchen", "by the old bridge", "outside the bank", "at school",
    "in the park", "on the beach", "at the corner shop", "in the attic", "near the harbour",
    "under the big tree", "at the post office", "in the hotel lobby", "on the top floor",
    "beside the church", "in the village hall", "at the bakery",
)
PAST_TIMES = (
    "this morning", "last night", "on Monday", "after lunch", "yesterday", "last week",
    "on Friday evening", "two days ago", "before breakfast", "last summer", "at noon",
    "in the afternoon", "at half past nine", "on Sunday", "at seven o'clock",
)
FUTURE_TIMES = (
    "tomorrow", "next week", "on Saturday", "after dinner", "tonight", "later today",
    "next month", "on Thursday morning", "before the party", "at eight o'clock",
    "in the evening", "after work",
)
HABITS = (
    "every Sunday", "every morning", "twice a week", "on weekdays", "once a month",
    "every evening", "most days", "every winter",
)
NUMBERS = (
    "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "fifteen", "twenty", "thirty", "a hundred",
)
FEELINGS = ("happy", "surprised", "worried", "glad", "sure", "pleased")


def generate_sentences(count: int, seed: int) -> list[str]:
    """``count`` distinct sentences of MIN_WORDS..MAX_WORDS words, the same for the same seed."""
    if count < 0:
        raise VCError(f"number of sentences must be >= 0, got {count}")
    rng = random.Random(seed)
    seen: set[str] = set()
    sentences: list[str] = []
    for _ in range(max(count, 1) * _MAX_DRAWS_PER_SENTENCE):
        if len(sentences) == count:
            return sentences
        sentence = random_sentence(rng)
        if sentence not in seen and MIN_WORDS <= len(sentence.split()) <= MAX_WORDS:
            seen.add(sentence)
            sentences.append(sentence)
    if len(sentences) == count:
        return sentences
    raise VCError(f"the sentence grammar produced only {len(sentences)} distinct sentences of {count} requested")


def random_sentence(rng: random.Random) -> str:
    """One sentence from a template chosen uniformly at random."""
    words = rng.choice(TEMPLATES)(rng)
    return words[0].upper() + words[1:]


# --- phrases ---------------------------------------------------------------------------


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _subject(rng: random.Random) -> str:
    """A singular person: a name, 'the nurse', 'my cousin', 'the tall driver'."""
    kind = rng.randrange(4)
    if kind == 0:
        return rng.choice(NAMES)
    if kind == 1:
        return f"the {rng.choice(PEOPLE)}"
    if kind == 2:
        return f"{rng.choice(POSSESSIVES)} {rng.choice(RELATIVES)}"
    return f"the {rng.choice(PERSON_ADJECTIVES)} {rng.choice(PEOPLE)}"


def _thing(rng: random.Random, *, singular: bool = False) -> str:
    """An object: 'the heavy box', 'an old map', 'three green apples'."""
    noun, plural = rng.choice(THINGS)
    adjective = rng.choice(ADJECTIVES) if rng.random() < 0.6 else ""
    if not singular and rng.random() < 0.25:
        return " ".join(w for w in (rng.choice(NUMBERS), adjective, plural) if w)
    head = f"{adjective} {noun}" if adjective else noun
    determiner = rng.choice(THING_DETERMINERS)
    return f"{_article(head) if determiner == 'a' else determiner} {head}"


def _maybe(rng: random.Random, options: tuple[str, ...], p: float = 0.5) -> str:
    return f" {rng.choice(options)}" if rng.random() < p else ""


# --- templates: each returns one sentence with its final punctuation --------------------


def _past_action(rng: random.Random) -> str:
    _, past, _ = rng.choice(TRANSITIVE)
    return f"{_subject(rng)} {past} {_thing(rng)}{_maybe(rng, PLACES)}{_maybe(rng, PAST_TIMES)}."


def _time_first(rng: random.Random) -> str:
    _, past, _ = rng.choice(INTRANSITIVE)
    return f"{rng.choice(PAST_TIMES)}, {_subject(rng)} {past} {rng.choice(PLACES)}."


def _future_plan(rng: random.Random) -> str:
    base, _, _ = rng.choice(TRANSITIVE)
    return f"{_subject(rng)} will {base} {_thing(rng)} {rng.choice(FUTURE_TIMES)}."


def _habit(rng: random.Random) -> str:
    if rng.random() < 0.5:
        _, _, third = rng.choice(TRANSITIVE)
        return f"{_subject(rng)} {third} {_thing(rng)} {rng.choice(HABITS)}."
    _, _, third = rng.choice(INTRANSITIVE)
    return f"{_subject(rng)} {third} {rng.choice(PLACES)} {rng.choice(HABITS)}."


def _there_is(rng: random.Random) -> str:
    noun, plural = rng.choice(THINGS)
    adjective = rng.choice(ADJECTIVES)
    if rng.random() < 0.5:
        return f"there {rng.choice(('is', 'was'))} {_article(adjective)} {adjective} {noun} {rng.choice(PLACES)}."
    return f"there {rng.choice(('are', 'were'))} {rng.choice(NUMBERS)} {adjective} {plural} {rng.choice(PLACES)}."


def _description(rng: random.Random) -> str:
    first, second = rng.sample(ADJECTIVES, 2)
    return f"{_thing(rng, singular=True)} was {first} and {second}{_maybe(rng, PAST_TIMES)}."


def _reported(rng: random.Random) -> str:
    _, past, _ = rng.choice(INTRANSITIVE)
    verb = rng.choice(("said", "thought", "told me", "heard"))
    return f"{_subject(rng)} {verb} that {_subject(rng)} {past} {rng.choice(PLACES)}."


def _two_actions(rng: random.Random) -> str:
    (_, past1, _), (_, past2, _) = rng.sample(TRANSITIVE, 2)
    return f"{_subject(rng)} {past1} {_thing(rng)} and {past2} {_thing(rng)}."


def _feeling(rng: random.Random) -> str:
    _, past, _ = rng.choice(TRANSITIVE)
    return f"I am {rng.choice(FEELINGS)} that {_subject(rng)} {past} {_thing(rng)}."


def _yes_no_question(rng: random.Random) -> str:
    base, _, _ = rng.choice(TRANSITIVE)
    return f"did {_subject(rng)} {base} {_thing(rng)} {rng.choice(PAST_TIMES)}?"


def _wh_question(rng: random.Random) -> str:
    base, _, _ = rng.choice(TRANSITIVE)
    wh = rng.choice(("where", "why", "when", "how"))
    return f"{wh} did {_subject(rng)} {base} {_thing(rng)}?"


def _future_question(rng: random.Random) -> str:
    base, _, _ = rng.choice(INTRANSITIVE)
    return f"{rng.choice(('when', 'where', 'why'))} will {_subject(rng)} {base}{_maybe(rng, FUTURE_TIMES, 0.7)}?"


def _how_many(rng: random.Random) -> str:
    base, _, _ = rng.choice(TRANSITIVE)
    _, plural = rng.choice(THINGS)
    return f"how many {plural} did {_subject(rng)} {base} {rng.choice(PAST_TIMES)}?"


def _who_question(rng: random.Random) -> str:
    _, past, _ = rng.choice(TRANSITIVE)
    return f"who {past} {_thing(rng)} {rng.choice(PLACES)}?"


def _request(rng: random.Random) -> str:
    base, _, _ = rng.choice(WANTED)
    opener = rng.choice(("can you", "could you", "would you"))
    return f"{opener} {base} {_thing(rng)} {rng.choice(PLACES)}?"


def _please(rng: random.Random) -> str:
    base, _, _ = rng.choice(WANTED)
    return f"please {base} {_thing(rng)} {rng.choice(FUTURE_TIMES)}."


def _warning(rng: random.Random) -> str:
    base, _, _ = rng.choice(TRANSITIVE)
    return f"don't {base} {_thing(rng)} {rng.choice(PLACES)}!"


def _suggestion(rng: random.Random) -> str:
    base, _, _ = rng.choice(INTRANSITIVE)
    return f"let's {base} {rng.choice(PLACES)} {rng.choice(FUTURE_TIMES)}."


def _reminder(rng: random.Random) -> str:
    base, _, _ = rng.choice(WANTED)
    return f"remember to {base} {_thing(rng)} before {_subject(rng)} {rng.choice(INTRANSITIVE)[2]}."


TEMPLATES: tuple[Callable[[random.Random], str], ...] = (
    _past_action, _time_first, _future_plan, _habit, _there_is, _description, _reported,
    _two_actions, _feeling, _yes_no_question, _wh_question, _future_question, _how_many,
    _who_question, _request, _please, _warning, _suggestion, _reminder,
)
