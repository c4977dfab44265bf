"""What a quarantine message or row copy may repeat from a rejected cell.

A misplaced name or participant code can land in any column, so a cell is repeated only when it cannot
be personal: public text (school names, subjects, school codes), short numbers and dates, short
symbol strings («??», «-11»), and lower-case vocabulary in choice columns («высший»). A value that looks
like a person's name is never repeated, whatever its column: it is shown as «[скрыто]». The patterns are
heuristics: they miss names written without initials in lower case, and may hide an odd title.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ingestion.core.cells import UNCACHED_FORMULA

if TYPE_CHECKING:
    from ingestion.core.columns import Column

NUMBER = re.compile(r"-?\d{1,8}(?:[.,]\d+)?%?")
DATE = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}")
WORD_RUN = re.compile(r"[^\W\d_]{2,}")
VOCABULARY = re.compile(r"[а-яёa-z]+(?: [а-яёa-z]+)?")
HIDDEN = "[скрыто]"

# A person's name: «Иванов Иван Иванович», «Петрова Анна», «Петрова А.», «Петрова А.И.», «А.И. Петрова»,
# «ИВАНОВ ИВАН ИВАНОВИЧ». Capitalised words only: organisation and place names have lower-case words
# («Средняя школа», «Большемуртинский район») or capitals and numbers («МБОУ СОШ № 2»), and the few that
# capitalise every word are told apart by a word of STOP_WORDS or by being adjectives throughout
# («Красноярский Краевой»).
_WORD = r"[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?"
_INITIALS = r"[А-ЯЁ]\.\s?(?:[А-ЯЁ]\.)?"
_PATRONYMIC = r"[А-ЯЁ][а-яё]+(?:вич|вна|чна|ична|инична|оглы|кызы)"
# initials beside a surname, or a surname, a given name and a patronymic, anywhere in the text
PERSON_IN_TEXT = re.compile(rf"(?<![\w.]){_WORD}\s+{_INITIALS}(?!\w)|(?<![\w.]){_INITIALS}\s?{_WORD}(?!\w)"
                            rf"|{_WORD}\s+{_WORD}\s+{_PATRONYMIC}(?!\w)")
# A surname with two dotted initials in any case and script («иванова и.и.», «Ivanova I.I.», «и. и. иванова»);
# the dotted pairs of common abbreviations («т.е.», «и.о.») and of places and bodies («р.п. Шушенское»,
# «г.о. Норильск», «с.ш.») are not initials.
_LETTERS = r"[^\W\d_]{2,}(?:-[^\W\d_]{2,})?"
_DOTTED = r"[^\W\d_]\.\s?[^\W\d_]\."
PERSON_DOTTED = re.compile(rf"(?<![\w.]){_LETTERS}\s+({_DOTTED})(?!\w)|(?<![\w.])({_DOTTED})\s?{_LETTERS}(?!\w)")
ABBREVIATIONS = frozenset({"т.е.", "т.д.", "т.п.", "т.ч.", "т.к.", "т.о.", "и.о.", "н.э.", "у.е.", "с.г.", "e.g.",
                           "i.e.", "р.п.", "г.о.", "м.о.", "м.р.", "с.п.", "г.п.", "н.п.", "ж.д.", "с.ш.", "о.ш.",
                           "у.о.", "д.о.", "п.г."})
# a capitalised surname and two initials without dots at the end («Консультация Иванов И И»)
PERSON_BARE_INITIALS = re.compile(r"(?<!\w)[А-ЯЁA-Z][а-яёa-z]+(?:-[А-ЯЁA-Z][а-яёa-z]+)?\s+[А-ЯЁA-Z]\s+[А-ЯЁA-Z]$")
# two or three capitalised words and nothing else
PERSON_WORDS = re.compile(rf"{_WORD}(?:\s+{_WORD}){{1,2}}")
PERSON_UPPER = re.compile(r"[А-ЯЁ]{2,}(?:-[А-ЯЁ]{2,})?\s+[А-ЯЁ]{2,}\s+[А-ЯЁ]{2,}(?:ВИЧ|ВНА|ЧНА|ОГЛЫ|КЫЗЫ)")
STOP_WORDS = frozenset({
    "школа", "школы", "лицей", "гимназия", "интернат", "колледж", "техникум", "училище", "центр", "филиал",
    "детский", "сад", "корпус", "отделение", "район", "края", "край", "область", "округ", "город", "село",
    "поселок", "посёлок", "деревня", "станица", "улица", "республика", "федерация", "россия", "российская",
    "министерство", "управление", "комитет", "отдел", "департамент", "институт", "университет", "академия",
    "язык", "литература", "математика", "история", "физика", "химия", "биология", "география", "информатика",
    "обществознание", "культура", "технология", "искусство", "музыка", "право", "экономика", "экология",
    "астрономия", "грамотность"
})
# Events capitalise every word of their names («Региональный Методический Семинар», «Пушкинские Чтения»):
# a word beginning with one of these stems is not a name.
EVENT_STEMS = ("семинар", "чтени", "конференц", "форум", "конкурс", "олимпиад", "фестивал", "вебинар", "совещани",
               "акци", "недел", "декад", "месячник", "марафон", "слет", "турнир", "педсовет", "диктант",
               "практикум", "тренинг", "мастер-класс", "лекци", "заседани", "собрани", "урок", "сесси")
_ADJECTIVE = re.compile(r"\w+(?:ый|ий|ой|ая|яя|ое|ее|ие|ые|ого|его|ской|ская|ский|ское)$")


def looks_like_person(value: str | None) -> bool:
    """Whether a text cell looks like a person's name (see the patterns above)."""
    if not value:
        return False
    text = " ".join(str(value).replace("\xa0", " ").split())
    if PERSON_IN_TEXT.search(text) or PERSON_UPPER.fullmatch(text) or PERSON_BARE_INITIALS.search(text):
        return True
    for found in PERSON_DOTTED.finditer(text):
        if re.sub(r"\s", "", (found.group(1) or found.group(2)).lower()) not in ABBREVIATIONS:
            return True
    if not PERSON_WORDS.fullmatch(text):
        return False
    words = [w.lower().replace("ё", "е") for w in re.split(r"[\s-]+", text)]
    if any(w in STOP_WORDS or w.startswith(EVENT_STEMS) for w in words):
        return False
    return not all(_ADJECTIVE.fullmatch(w) for w in words)


def displayable(value: str | None, column: Column | None = None) -> str | None:
    if value is None:
        return None
    if value == str(UNCACHED_FORMULA):
        return value
    if looks_like_person(value):
        return HIDDEN
    if column is not None and column.is_public:
        return value
    if NUMBER.fullmatch(value) or DATE.fullmatch(value):
        return value
    if len(value) <= 8 and not WORD_RUN.search(value):
        return value
    if column is not None and column.kind in ("choice", "bool") and len(value) <= 25 and VOCABULARY.fullmatch(value):
        return value
    return None


def shown(value: str | None, column: Column | None = None) -> str:
    """The value in guillemets for a message, or a note that it is hidden."""
    safe = displayable(value, column)
    if safe is not None:
        return f"«{safe}»"
    return "(пусто)" if value is None else f"(скрыто, {len(value)} симв.)"
