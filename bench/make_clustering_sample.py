"""Make the labelled sample for comment clustering: tests/data/clustering_sample.csv.

Campaign templates in Russian and Kazakh are copied with light edits (typos, an extra word or
two, punctuation, case, Latin look-alike letters, spacing) and mixed with genuinely distinct
comments built from slots (topic, place, proposal, reason, number), no two of which share more
than two slot values. Each row: id, label, lang, text. Comments of one campaign share the label
"campaign-<n>"; a distinct comment has its own label "single-<n>".

Deterministic: the same seed gives the same file byte for byte.

    python bench/make_clustering_sample.py              # writes tests/data/clustering_sample.csv
    python bench/make_clustering_sample.py --out x.csv
"""

from __future__ import annotations

import argparse
import csv
import io
import random
from pathlib import Path

SEED = 5
OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "clustering_sample.csv"

TEMPLATES = [
    ("ru", "Я категорически против повышения тарифов на воду в нашем городе. Люди и так едва "
           "оплачивают коммунальные услуги, а зарплаты не растут."),
    ("ru", "Прошу сохранить сквер на улице Абая и не отдавать землю под строительство "
           "торгового центра. Это единственное зелёное место для детей и пожилых людей района."),
    ("ru", "Поддерживаю законопроект полностью. Давно пора навести порядок в сфере "
           "благоустройства дворов и привлекать жителей к решениям акимата."),
    ("ru", "Статья 7 нарушает права собственников квартир. Требую исключить пункт 3 о "
           "принудительном сносе гаражей без компенсации, это противоречит Конституции. "
           "Собственники должны получать равноценное жильё или денежную компенсацию по "
           "рыночной стоимости, определённой независимым оценщиком."),
    ("ru", "Против переноса автобусной остановки на другую сторону проспекта."),
    ("ru", "Необходимо предусмотреть пандусы и звуковые светофоры для людей с инвалидностью "
           "во всех новых проектах, финансируемых из бюджета."),
    ("kk", "Су тарифін көтеруге қарсымын. Халықтың табысы өспей жатыр, коммуналдық "
           "төлемдерді төлеу қиын болып тұр."),
    ("kk", "Абай көшесіндегі саябақты сақтап қалуды сұраймын. Балалар мен қарттар үшін "
           "ауданда басқа жасыл аймақ жоқ."),
    ("kk", "Заң жобасын толық қолдаймын. Аулаларды абаттандыру мәселесінде тұрғындардың "
           "пікірі міндетті түрде ескерілуі керек."),
    ("kk", "Мектеп жанындағы жолға жаяу жүргіншілер өткелі мен бағдаршам орнатуды талап "
           "етемін, балалардың қауіпсіздігі бірінші орында болуы тиіс."),
    ("kk", "Ауылға таза ауыз су құбырын тартуды сұраймыз."),
    ("kk", "Жобаның 5-бабындағы айыппұл мөлшері тым жоғары, оны екі есе азайту қажет деп "
           "санаймын. Шағын кәсіпкерлер мұндай жүктемеге шыдамайды."),
]  # fmt: skip

COPIES = [60, 45, 120, 25, 30, 15, 80, 40, 20, 35, 12, 18]

EXTRA = {
    "ru": ["Полностью согласен.", "Прошу учесть!", "Спасибо.", "Поддерживаю", "Очень важно."],
    "kk": ["Толық келісемін.", "Ескеруді сұраймын!", "Рақмет.", "Қолдаймын", "Өте маңызды."],
}
LATIN_LOOKALIKES = {"а": "a", "о": "o", "е": "e", "р": "p", "с": "c", "х": "x"}

RU_SLOTS = {
    "topic": ["освещение улиц", "вывоз мусора", "ремонт дорог", "детские площадки",
              "общественный транспорт", "парковки", "отопление", "велодорожки",
              "озеленение", "безопасность во дворах", "уличные собаки", "ливневая канализация"],
    "place": ["в микрорайоне Самал", "на улице Толе би", "в посёлке Шапагат",
              "возле школы номер", "у поликлиники номер", "в районе рынка",
              "на проспекте Республики",
              "в квартале у вокзала", "в частном секторе", "вдоль реки Есиль",
              "у железнодорожного переезда", "в новом жилом комплексе"],
    "proposal": ["установить камеры", "провести общественные слушания", "увеличить финансирование",
                 "привлечь независимых экспертов", "опубликовать смету", "перенести сроки",
                 "добавить контроль жителей", "закупить технику", "объявить конкурс",
                 "создать рабочую группу", "отчитываться ежеквартально", "пересмотреть норматив"],
    "reason": ["потому что зимой темно", "так как жалобы остаются без ответа",
               "ведь бюджет уже выделен", "иначе пострадают пенсионеры",
               "поскольку подрядчик срывает сроки", "ведь там много детей",
               "так как проблема тянется годами", "потому что аварии случаются каждый месяц",
               "иначе деньги уйдут впустую", "поскольку жители готовы помочь",
               "так как нет тротуара", "потому что вода стоит неделями"],
}  # fmt: skip
KK_SLOTS = {
    "topic": ["көше жарығы", "қоқыс шығару", "жол жөндеу", "балалар алаңы", "қоғамдық көлік",
              "көлік тұрағы", "жылу беру", "велосипед жолы", "көгалдандыру", "аула қауіпсіздігі",
              "қаңғыбас иттер", "нөсер кәрізі"],
    "place": ["Самал шағынауданында", "Төле би көшесінде", "Шапағат кентінде", "мектеп маңында",
              "емхана жанында", "базар ауданында", "Республика даңғылында", "вокзал маңында",
              "жеке секторда", "Есіл өзенінің бойында", "теміржол өткелінде",
              "жаңа тұрғын үй кешенінде"],
    "proposal": ["камера орнату керек", "қоғамдық тыңдау өткізу керек",
                 "қаржыландыруды көбейту керек", "тәуелсіз сарапшыларды тарту керек",
                 "сметаны жариялау керек", "мерзімді ауыстыру керек",
                 "тұрғындар бақылауын қосу керек", "техника сатып алу керек",
                 "конкурс жариялау керек", "жұмыс тобын құру керек",
                 "тоқсан сайын есеп беру керек", "нормативті қайта қарау керек"],
    "reason": ["себебі қыста қараңғы", "өйткені шағымдар жауапсыз қалады",
               "себебі бюджет бөлінген", "әйтпесе зейнеткерлер зардап шегеді",
               "өйткені мердігер мерзімді бұзады", "себебі онда балалар көп",
               "өйткені мәселе жылдар бойы шешілмей келеді", "себебі ай сайын апат болады",
               "әйтпесе ақша желге ұшады", "өйткені тұрғындар көмектесуге дайын",
               "себебі тротуар жоқ", "өйткені су апталап тұрып қалады"],
}  # fmt: skip
RU_PATTERNS = [
    "По вопросу «{topic}» {place} {number} предлагаю {proposal}, {reason}.",
    "{place} {number} плохо решён вопрос «{topic}». Считаю нужным {proposal}, {reason}.",
    "Мой комментарий о теме «{topic}»: {proposal} {place} {number}, {reason}.",
]
KK_PATTERNS = [
    "{place} {number} «{topic}» мәселесі бойынша {proposal}, {reason}.",
    "«{topic}» {place} {number} нашар шешілген. Менің ойымша {proposal}, {reason}.",
    "Пікірім «{topic}» туралы: {place} {number} {proposal}, {reason}.",
]
SLOT_NAMES = ("topic", "place", "proposal", "reason")


def light_edit(text: str, lang: str, rng: random.Random) -> str:
    """Apply 1–3 light edits of the kinds a campaign's copies show."""
    edits = [_case, _punctuation, _typo, _extra_words, _homoglyphs, _spacing]
    for edit in rng.sample(edits, rng.randint(1, 3)):
        text = edit(text, lang, rng)
    return text


def _case(text, lang, rng):
    return rng.choice([text.lower(), text.upper(), text.capitalize(), text.swapcase()])


def _punctuation(text, lang, rng):
    text = text.replace(",", "") if rng.random() < 0.5 else text.replace(".", "!")
    return text.rstrip(".!") + rng.choice(["", "!!!", "...", "."])


def _typo(text, lang, rng):
    """One or two typos in letters: swap, drop, double or replace."""
    chars = list(text)
    for _ in range(rng.randint(1, 2)):
        letters = [i for i, c in enumerate(chars[:-1]) if c.isalpha() and chars[i + 1].isalpha()]
        i = rng.choice(letters)
        kind = rng.randrange(4)
        if kind == 0:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        elif kind == 1:
            del chars[i]
        elif kind == 2:
            chars.insert(i, chars[i])
        else:
            chars[i] = rng.choice("аоеиынт" if lang == "ru" else "аеыұіқң")
    return "".join(chars)


def _extra_words(text, lang, rng):
    phrase = rng.choice(EXTRA[lang])
    return f"{phrase} {text}" if rng.random() < 0.5 else f"{text} {phrase}"


def _homoglyphs(text, lang, rng):
    return "".join(
        LATIN_LOOKALIKES.get(c, c) if c in LATIN_LOOKALIKES and rng.random() < 0.3 else c
        for c in text
    )


def _spacing(text, lang, rng):
    return "  ".join(text.split(" ")) if rng.random() < 0.5 else f"  {text}\n"


def distinct_comment(lang: str, rng: random.Random) -> tuple[tuple, str]:
    """A comment built from slots; returns its slot key and text."""
    slots = RU_SLOTS if lang == "ru" else KK_SLOTS
    patterns = RU_PATTERNS if lang == "ru" else KK_PATTERNS
    pattern = rng.randrange(len(patterns))
    values = {name: rng.choice(slots[name]) for name in SLOT_NAMES}
    values["number"] = str(rng.randint(1, 250))
    key = (lang, pattern, *(values[name] for name in (*SLOT_NAMES, "number")))
    return key, patterns[pattern].format(**values)


def _too_close(key: tuple, others: list[tuple]) -> bool:
    """Two distinct comments may share at most two of their slot values (and the number)."""
    return any(sum(a == b for a, b in zip(key[2:], other[2:], strict=True)) > 2 for other in others)


def generate(seed: int = SEED, distinct: int = 700, copies: list[int] | None = None,
             check_distinct: bool = True) -> list[tuple[str, str, str, str]]:  # fmt: skip
    """Rows (id, label, lang, text), shuffled deterministically."""
    rng = random.Random(seed)
    rows = []
    campaigns = zip(TEMPLATES, copies or COPIES, strict=True)
    for number, ((lang, template), count) in enumerate(campaigns):
        label = f"campaign-{number:02d}"
        rows.append((label, lang, template))
        rows.extend((label, lang, light_edit(template, lang, rng)) for _ in range(count - 1))
    keys: dict[str, list[tuple]] = {"ru": [], "kk": []}
    while sum(len(k) for k in keys.values()) < distinct:
        lang = rng.choice(["ru", "kk"])
        key, text = distinct_comment(lang, rng)
        if check_distinct and _too_close(key, keys[lang]):
            continue
        keys[lang].append(key)
        rows.append((f"single-{sum(len(k) for k in keys.values()):05d}", lang, text))
    rng.shuffle(rows)
    return [(f"c{i:06d}", label, lang, text) for i, (label, lang, text) in enumerate(rows)]


def to_csv(rows: list[tuple[str, str, str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "label", "lang", "text"])
    writer.writerows(rows)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(to_csv(generate()), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
