"""A synthetic population and the enquiries families make about it, with realistic spelling noise.

Names come from French, Arabic, Russian/Ukrainian and Chinese pools; each name is a list of the
ways it is written in Latin letters (and, for Cyrillic and Chinese names, in its own script). A
person is recorded under one spelling; an enquiry asks with another one, often with accents
dropped, given and family names swapped, a typo, or the family name only. Some enquiries seek a
person who is not in the records at all (their best candidate must stay under the threshold).
Deterministic for a seed. Used by tests/matching and benchmarks/bench_matching.py.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from typing import Any

Variants = tuple[str, ...]

FRENCH_FAMILY: tuple[Variants, ...] = tuple(
    (name,)
    for name in (
        "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
        "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David",
        "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "André", "Lefebvre",
        "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Legrand",
        "Garnier", "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Henry", "Roussel",
        "Nicolas", "Perrin", "Morin", "Mathieu", "Clément", "Gauthier", "Dumont", "Lopez",
        "Fontaine", "Chevalier", "Robin", "Masson", "Sanchez", "Gérard", "Nguyen", "Boyer",
        "Denis", "Lemaire", "Duval", "Joly", "Gautier", "Roger", "Roche", "Roy", "Noël",
        "Meyer", "Lucas", "Meunier", "Jean", "Pérez", "Marchand", "Dufour", "Blanchard",
        "Marie", "Barbier", "Brun", "Dumas", "Brunet", "Schmitt", "Leroux", "Colin",
        "Fernandez", "Pierre", "Renard", "Arnaud", "Rolland", "Caron", "Aubert", "Giraud",
        "Leclerc", "Vidal", "Bourgeois", "Renaud", "Lemoine", "Picard", "Gaillard", "Philippe",
        "Leclercq", "Lacroix", "Fabre", "Dupuis", "Olivier", "Rodriguez", "Da Silva", "Hubert",
        "Louis", "Charles", "Guillot", "Rivière", "Le Gall", "Guillaume", "Adam", "Rey",
        "Moulin", "Gonzalez", "Berger", "Lecomte", "Ménard", "Fleury", "Deschamps", "Carpentier",
        "Julien", "Benoît", "Paris", "Maillard", "Marchal", "Aubry", "Vasseur", "Le Roux",
        "Renault", "Jacquet", "Collet", "Prévost", "Poirier", "Charpentier", "Royer", "Huet",
        "Baron", "Dupuy", "Pons", "Paul", "Laine", "Carré", "Breton", "Rémy", "Schneider",
        "Perrot", "Guyot", "Barre", "Marty", "Cousin", "De la Fontaine", "Van der Berg",
        "Dos Santos", "D'Almeida", "Du Pont", "De Villiers", "Le Goff", "Saint-Martin",
    )
)  # fmt: skip
# Family names are far more varied than any list: compose more from common French syllables.
_STARTS = (
    "Le", "Du", "Bel", "Mont", "Ro", "Ga", "Ber", "Char", "Bou", "Fon", "Mar", "Ri", "Va",
    "Ma", "Che", "Lau", "Gre", "Pel", "Tes", "Bri", "Cour", "Ven", "Sau", "Tru", "Quen",
)  # fmt: skip
_ENDS = (
    "chard", "bert", "ger", "lin", "not", "vier", "ret", "mont", "teau", "lier", "sson",
    "quet", "dieu", "vé", "rand", "naud", "ville", "court", "lot", "gnon", "mès", "zier",
)  # fmt: skip
FRENCH_FAMILY = FRENCH_FAMILY + tuple((a + b,) for a in _STARTS for b in _ENDS)
FRENCH_GIVEN_F = (
    "Marie", "Hélène", "Chloé", "Léa", "Zoé", "Anaïs", "Agnès", "Céline", "Thérèse",
    "Nathalie", "Isabelle", "Sylvie", "Catherine", "Françoise", "Valérie", "Christine",
    "Sandrine", "Sophie", "Émilie", "Aurélie", "Camille", "Manon", "Inès", "Mélanie",
    "Élodie", "Pauline", "Margaux", "Clémence", "Joséphine", "Geneviève", "Béatrice",
    "Anne-Sophie", "Marie-Claire", "Noémie", "Océane", "Laetitia", "Séverine", "Gaëlle",
)  # fmt: skip
FRENCH_GIVEN_M = (
    "Jean", "François", "Stéphane", "Jérôme", "Benoît", "Noël", "Éric", "Philippe",
    "Michel", "Alain", "Patrick", "Nicolas", "Christophe", "Pierre", "Laurent", "Frédéric",
    "Sébastien", "Julien", "David", "Olivier", "Thierry", "Bruno", "Guillaume", "Hervé",
    "Antoine", "Maxime", "Hugo", "Théo", "Clément", "Rémi", "Loïc", "Gaël", "Jean-Pierre",
    "Jean-Luc", "Jean-François", "Grégoire", "Mathéo", "Raphaël", "Léon", "Valentin",
)  # fmt: skip

ARABIC_FAMILY: tuple[Variants, ...] = (
    ("Benali", "Ben Ali", "Ben-Ali"),
    ("El Amrani", "El-Amrani", "Elamrani", "Al Amrani"),
    ("Haddad", "Hadad", "Haddade"),
    ("Mansour", "Mansur", "Mansoor"),
    ("Bouzid", "Bouzide", "Bou Zid"),
    ("Al-Rashid", "Al Rachid", "Alrashid", "El Rachid"),
    ("Khoury", "Khouri", "Khuri", "Khoudri"),
    ("Saleh", "Salih", "Salah"),
    ("Chaabane", "Chaaban", "Shaaban", "Chabane"),
    ("Benjelloun", "Ben Jelloun", "Bendjelloun"),
    ("Zidane", "Zidan"),
    ("Belkacem", "Belkasem", "Belqasim"),
    ("Ouali", "Wali", "Ouali"),
    ("Hamdi", "Hamdy", "Hamdhi"),
    ("Yacoubi", "Yaqubi", "Yakoubi"),
    ("Naceri", "Nasseri", "Nasiri"),
    ("Touati", "Touaty", "Twati"),
    ("Chérif", "Cherif", "Sharif", "Shareef"),
    ("Boukhari", "Bukhari", "Boukhary"),
    ("Abdallah", "Abdullah", "Abdellah"),
    ("Ben Youssef", "Benyoussef", "Ben Yusuf"),
    ("El Idrissi", "Idrissi", "Al-Idrisi"),
    ("Kaddour", "Qaddour", "Kadour"),
    ("Messaoudi", "Masoudi", "Messaoudi"),
    ("Hamidi", "Hamidy", "Hamedi"),
    ("Rahmani", "Rahmany", "Rahmane"),
    ("Slimani", "Sliman", "Souleimani"),
    ("Aziz", "Abdelaziz", "Azziz"),
    ("Mahjoub", "Mahdjoub", "Mahjub"),
    ("Ghazali", "Ghazaly", "Gazali"),
    ("Benmoussa", "Ben Moussa", "Benmusa"),
    ("Tahiri", "Taheri", "Tahiry"),
    ("Ouazzani", "Wazzani", "Ouazani"),
    ("Lahlou", "Lahlu", "Lahlou"),
    ("Jaber", "Djaber", "Jabir"),
    ("Mokrani", "Moqrani", "Mokhrani"),
    ("Bensaïd", "Bensaid", "Ben Saïd"),
    ("Amara", "Amarah", "Ammara"),
    ("Dahmani", "Dahmane", "Dahmany"),
    ("Kettani", "Ketani", "Al-Kattani"),
)
ARABIC_GIVEN_M: tuple[Variants, ...] = (
    ("Mohamed", "Mohammed", "Muhammad", "Mohamad", "Mouhamed", "Mohammad"),
    ("Ahmed", "Ahmad", "Ahmet"),
    ("Youssef", "Yusuf", "Youcef", "Yousef", "Youssouf"),
    ("Khaled", "Khalid", "Khaleed"),
    ("Abdelkader", "Abd el-Kader", "Abdulkadir", "Abdel Kader"),
    ("Karim", "Kareem", "Karime"),
    ("Rachid", "Rashid", "Rachide"),
    ("Saïd", "Said", "Saeed", "Sayed"),
    ("Hassan", "Hasan", "Hacène"),
    ("Hussein", "Houssein", "Husayn", "Hossein"),
    ("Omar", "Umar", "Omer"),
    ("Samir", "Sameer", "Samire"),
    ("Mustapha", "Mustafa", "Moustafa"),
    ("Ibrahim", "Brahim", "Ebrahim"),
    ("Abderrahmane", "Abdel Rahman", "Abdurrahman"),
    ("Bilal", "Belal", "Bilel"),
    ("Nabil", "Nabeel", "Nabile"),
    ("Walid", "Oualid", "Waleed"),
    ("Tarek", "Tariq", "Tarik"),
    ("Hicham", "Hisham", "Hichem"),
    ("Mehdi", "Mahdi", "Mahdy"),
    ("Sofiane", "Sufyan", "Soufiane"),
    ("Ali", "Aly", "Alli"),
    ("Farid", "Fareed", "Faride"),
    ("Jamal", "Djamel", "Gamal", "Jamel"),
)
ARABIC_GIVEN_F: tuple[Variants, ...] = (
    ("Fatima", "Fatma", "Fatimah", "Fatimah"),
    ("Aïcha", "Aicha", "Aisha", "Aïsha"),
    ("Nour", "Noor", "Nur"),
    ("Leïla", "Leila", "Layla", "Laila"),
    ("Khadija", "Khadidja", "Khadijah"),
    ("Meriem", "Maryam", "Myriam", "Meryem"),
    ("Yasmina", "Yasmine", "Jasmina"),
    ("Samira", "Sameera", "Samirah"),
    ("Nadia", "Nadiya", "Nadja"),
    ("Zineb", "Zaynab", "Zeinab", "Zainab"),
    ("Salma", "Selma", "Salmah"),
    ("Houda", "Huda", "Hoda"),
    ("Rachida", "Rashida", "Rachidah"),
    ("Amina", "Aminah", "Ameena"),
    ("Soumaya", "Sumaya", "Soumaia"),
    ("Imane", "Iman", "Eman"),
    ("Karima", "Kareema", "Karimah"),
    ("Latifa", "Latifah", "Lateefa"),
    ("Hayat", "Hayet", "Hayate"),
    ("Jamila", "Djamila", "Jameela"),
)

ARABIC_FAMILY = ARABIC_FAMILY + tuple(
    tuple(prefix + v for v in given)
    for prefix in ("Ben ", "Ould ", "Abou ")
    for given in ARABIC_GIVEN_M
)
CYRILLIC_FAMILY: tuple[Variants, ...] = (
    ("Иванов", "Ivanov", "Ivanoff"),
    ("Смирнов", "Smirnov", "Smirnoff"),
    ("Кузнецов", "Kuznetsov", "Kouznetsov", "Kuznecov"),
    ("Попов", "Popov", "Popoff"),
    ("Шевченко", "Shevchenko", "Chevtchenko", "Schewtschenko"),
    ("Чайковский", "Tchaikovsky", "Chaykovskiy", "Tchaïkovski", "Tschaikowski"),
    ("Соколов", "Sokolov", "Sokoloff"),
    ("Лебедев", "Lebedev", "Lebedeff"),
    ("Козлов", "Kozlov", "Koslov"),
    ("Новиков", "Novikov", "Nowikow"),
    ("Морозов", "Morozov", "Morosov"),
    ("Волков", "Volkov", "Wolkow"),
    ("Фёдоров", "Fedorov", "Fyodorov", "Fiodorov"),
    ("Михайлов", "Mikhailov", "Mikhaylov", "Mihailov"),
    ("Жуков", "Zhukov", "Joukov", "Schukow"),
    ("Хрущёв", "Khrushchev", "Khrouchtchev", "Chruschtschow"),
    ("Бондаренко", "Bondarenko", "Bondarenco"),
    ("Ковальчук", "Kovalchuk", "Kovaltchouk", "Kowaltschuk"),
    ("Ткаченко", "Tkachenko", "Tkatchenko"),
    ("Павлов", "Pavlov", "Pawlow"),
    ("Семёнов", "Semenov", "Semyonov", "Semionov"),
    ("Григорьев", "Grigoriev", "Grigoryev", "Grigorjew"),
    ("Захаров", "Zakharov", "Zaharov", "Sacharow"),
    ("Орлов", "Orlov", "Orloff"),
    ("Белов", "Belov", "Bielov"),
)
CYRILLIC_GIVEN_M: tuple[Variants, ...] = (
    ("Александр", "Aleksandr", "Alexandre", "Alexander", "Oleksandr"),
    ("Сергей", "Sergei", "Sergey", "Serguei", "Sergej"),
    ("Дмитрий", "Dmitri", "Dmitry", "Dimitri"),
    ("Юрий", "Yuri", "Iouri", "Yury"),
    ("Михаил", "Mikhail", "Mikhaïl", "Michail"),
    ("Николай", "Nikolai", "Nikolay", "Nikolaï"),
    ("Андрей", "Andrei", "Andrey", "Andreï"),
    ("Владимир", "Vladimir", "Wladimir"),
    ("Алексей", "Alexei", "Alexey", "Aleksei"),
    ("Евгений", "Evgeni", "Yevgeny", "Evgueni"),
    ("Игорь", "Igor", "Ihor"),
    ("Олег", "Oleg", "Oleh"),
    ("Виктор", "Viktor", "Victor", "Wiktor"),
    ("Павел", "Pavel", "Pawel"),
)
CYRILLIC_GIVEN_F: tuple[Variants, ...] = (
    ("Наталья", "Natalia", "Natalya", "Nathalia"),
    ("Екатерина", "Ekaterina", "Yekaterina", "Iekaterina"),
    ("Ольга", "Olga", "Olha"),
    ("Татьяна", "Tatiana", "Tatyana", "Tatjana"),
    ("Ирина", "Irina", "Iryna"),
    ("Анастасия", "Anastasia", "Anastasiya", "Anastassia"),
    ("Юлия", "Yulia", "Ioulia", "Julia"),
    ("Светлана", "Svetlana", "Swetlana"),
    ("Людмила", "Lyudmila", "Ludmila", "Lioudmila"),
    ("Мария", "Mariya", "Maria"),
    ("Ксения", "Kseniya", "Xenia", "Ksenia"),
    ("Елена", "Elena", "Yelena", "Olena"),
)

CHINESE_FAMILY: tuple[Variants, ...] = (
    ("王", "Wang", "Wong"),
    ("李", "Li", "Lee"),
    ("张", "Zhang", "Chang", "Cheung"),
    ("刘", "Liu", "Lau", "Lieu"),
    ("陈", "Chen", "Chan"),
    ("杨", "Yang", "Yeung"),
    ("黄", "Huang", "Hwang"),
    ("赵", "Zhao", "Chao", "Chiu"),
    ("周", "Zhou", "Chou", "Chow"),
    ("吴", "Wu", "Woo"),
    ("徐", "Xu", "Hsu"),
    ("孙", "Sun", "Suen"),
    ("马", "Ma", "Mah"),
    ("朱", "Zhu", "Chu"),
    ("胡", "Hu", "Hoo"),
    ("郭", "Guo", "Kuo", "Kwok"),
    ("何", "He", "Ho"),
    ("高", "Gao", "Kao"),
    ("林", "Lin", "Lam", "Lim"),
    ("罗", "Luo", "Lo", "Law"),
    ("郑", "Zheng", "Cheng"),
    ("梁", "Liang", "Leung"),
    ("谢", "Xie", "Hsieh", "Tse"),
    ("宋", "Song", "Sung"),
)
CHINESE_GIVEN: tuple[Variants, ...] = (
    ("伟", "Wei", "Wai"),
    ("芳", "Fang", "Fong"),
    ("秀英", "Xiuying", "Hsiu-ying", "Xiu Ying"),
    ("敏", "Min", "Man"),
    ("静", "Jing", "Ching"),
    ("强", "Qiang", "Chiang", "Keung"),
    ("磊", "Lei", "Lui"),
    ("军", "Jun", "Chun"),
    ("洋", "Yang", "Yeung"),
    ("勇", "Yong", "Yung"),
    ("艳", "Yan", "Yim"),
    ("杰", "Jie", "Chieh", "Kit"),
    ("小明", "Xiaoming", "Hsiao-ming", "Xiao Ming"),
    ("建国", "Jianguo", "Chien-kuo", "Jian Guo"),
    ("丽娟", "Lijuan", "Li-chuan", "Li Juan"),
    ("志强", "Zhiqiang", "Chih-chiang", "Zhi Qiang"),
    ("海燕", "Haiyan", "Hai-yen", "Hai Yan"),
    ("文博", "Wenbo", "Wen-po", "Wen Bo"),
    ("子涵", "Zihan", "Tzu-han", "Zi Han"),
    ("宇轩", "Yuxuan", "Yu-hsuan", "Yu Xuan"),
    ("欣怡", "Xinyi", "Hsin-yi", "Xin Yi"),
    ("思远", "Siyuan", "Ssu-yuan", "Si Yuan"),
    ("国华", "Guohua", "Kuo-hua", "Guo Hua"),
    ("春梅", "Chunmei", "Chun-mei", "Chun Mei"),
)

CLOTHES = (
    "red jacket", "blue jeans", "black coat", "white shirt", "green dress", "grey hoodie",
    "yellow scarf", "brown boots", "striped sweater", "denim jacket", "leather jacket",
)  # fmt: skip
MARKS = (
    "tattoo of a rose on the left arm", "scar on the chin", "wedding ring", "glasses",
    "beard", "gold necklace", "earrings", "wristwatch", "anchor tattoo", "piercing",
)  # fmt: skip


@dataclass(frozen=True)
class Person:
    person_id: str
    values: dict[str, Any]


@dataclass(frozen=True)
class Enquiry:
    enquiry_id: str
    values: dict[str, Any]
    sought: str | None  # the person_id sought, None when that person is not in the records
    noise: tuple[str, ...]


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def _typo(rng: random.Random, text: str) -> str:
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    if len(letters) < 4:
        return text
    i = rng.choice(letters[1:-1])
    kind = rng.randrange(4)
    if kind == 0:  # deletion
        return text[:i] + text[i + 1 :]
    if kind == 1 and i + 1 < len(text) and text[i + 1].isalpha():  # transposition
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind == 2:  # doubling
        return text[:i] + text[i] + text[i:]
    near = "aeiouy" if text[i].lower() in "aeiouy" else "bcdfghjklmnpqrstvwxz"
    return text[:i] + rng.choice(near) + text[i + 1 :]


@dataclass(frozen=True)
class _Identity:
    origin: str
    family: Variants
    given: Variants
    sex: str


def _identity(rng: random.Random) -> _Identity:
    roll = rng.random()
    sex = rng.choice("FM")
    if roll < 0.5:
        given = rng.choice(FRENCH_GIVEN_F if sex == "F" else FRENCH_GIVEN_M)
        return _Identity("fr", rng.choice(FRENCH_FAMILY), (given,), sex)
    if roll < 0.75:
        given_v = rng.choice(ARABIC_GIVEN_F if sex == "F" else ARABIC_GIVEN_M)
        return _Identity("ar", rng.choice(ARABIC_FAMILY), given_v, sex)
    if roll < 0.9:
        family = rng.choice(CYRILLIC_FAMILY)
        if sex == "F":  # Russian feminine family names: Ivanova, Kuznetsova, Tchaikovskaya
            if _is_script(family[0]) and len(family) > 4:  # spelled by rule: from the Cyrillic
                family = _cyrillic(_ru_feminine(family[0]))
            else:
                family = tuple(_feminine(v) for v in family)
        given_v = rng.choice(CYRILLIC_GIVEN_F if sex == "F" else CYRILLIC_GIVEN_M)
        return _Identity("ru", family, given_v, sex)
    given = rng.choice(CHINESE_GIVEN) if rng.random() < 0.3 else _zh_given(rng)
    return _Identity("zh", rng.choice(CHINESE_FAMILY), given, sex)


def _feminine(name: str) -> str:
    for ending, feminine in (
        ("ский", "ская"),
        ("sky", "skaya"),
        ("skiy", "skaya"),
        ("ski", "skaïa"),
        ("ов", "ова"),
        ("ёв", "ёва"),
        ("ев", "ева"),
        ("ов", "ова"),
        ("off", "ova"),
        ("ow", "owa"),
        ("ov", "ova"),
        ("ev", "eva"),
        ("ïov", "ïova"),
    ):
        if name.endswith(ending):
            return name[: -len(ending)] + feminine
    return name


def _latin_variants(variants: Variants) -> Variants:
    return tuple(v for v in variants if v.isascii() or not _is_script(v)) or variants


def _is_script(text: str) -> bool:
    return any(ord(ch) > 0x2E7F or 0x0400 <= ord(ch) <= 0x04FF for ch in text)


def _recorded(rng: random.Random, variants: Variants, origin: str) -> str:
    """How a PMA wrote the name: a Latin spelling, sometimes the original script."""
    if origin in ("ru", "zh") and _is_script(variants[0]) and rng.random() < 0.2:
        return variants[0]
    return rng.choice(_latin_variants(variants))


def population(
    persons: int, enquiries: int, *, seed: int = 7, absent: float = 0.15, x_share: float = 0.02
) -> tuple[list[Person], list[Enquiry]]:
    """``persons`` person records and ``enquiries`` enquiries about them (some about absent ones)."""
    rng = random.Random(seed)
    people: list[Person] = []
    identities: list[tuple[_Identity, int]] = []
    for i in range(persons):
        person_id = f"p{i:07d}"
        age = rng.randint(3, 88)
        if rng.random() < x_share:
            sex = rng.choice("FM")
            description = {
                "sex": sex,
                "clothing": rng.choice(CLOTHES),
                "scars": rng.choice(MARKS),
            }
            people.append(
                Person(
                    person_id,
                    {"sex": sex, "apparent_age": age, "x_description": description},
                )
            )
            continue
        who = _identity(rng)
        values: dict[str, Any] = {
            "family_name": _recorded(rng, who.family, who.origin),
            "given_names": _recorded(rng, who.given, who.origin),
            "sex": who.sex,
        }
        if rng.random() < 0.75:
            values["birth_date"] = f"{2026 - age}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        else:
            values["apparent_age"] = max(0, age + rng.randint(-5, 5))
        people.append(Person(person_id, values))
        identities.append((who, len(people) - 1))
    asked: list[Enquiry] = []
    for j in range(enquiries):
        enquiry_id = f"e{j:06d}"
        if rng.random() < absent or not identities:
            who = _identity(rng)
            age = rng.randint(3, 88)
            sought = None
        else:
            who, index = rng.choice(identities)
            person = people[index]
            sought = person.person_id
            born = person.values.get("birth_date")
            age = 2026 - int(born[:4]) if born else int(person.values["apparent_age"])
        values, noise = _enquiry_values(rng, who, age)
        asked.append(Enquiry(enquiry_id, values, sought, noise))
    return people, asked


def _enquiry_values(
    rng: random.Random, who: _Identity, age: int
) -> tuple[dict[str, Any], tuple[str, ...]]:
    noise: list[str] = []
    family = rng.choice(_latin_variants(who.family))
    given = rng.choice(_latin_variants(who.given))
    if rng.random() < 0.6 and not (family.isascii() and given.isascii()):
        family, given = _strip_accents(family), _strip_accents(given)
        noise.append("accents")
    if rng.random() < 0.25:
        if rng.random() < 0.5:
            family = _typo(rng, family)
        else:
            given = _typo(rng, given)
        noise.append("typo")
    if rng.random() < 0.3:
        family = family.upper()
        noise.append("upper")
    values: dict[str, Any] = {
        "enquirer_name": "Famille",
        "relation": rng.choice(("mother", "brother", "wife", "son", "friend")),
        "phone": "+33 6 00 00 00 00",
        "sought_sex": who.sex,
    }
    if rng.random() < 0.25:
        family, given = given, family
        noise.append("swapped")
    values["sought_family_name"] = family
    if rng.random() < 0.05:
        noise.append("family_only")
    else:
        values["sought_given_names"] = given
    roll = rng.random()
    if roll < 0.6:
        values["sought_age"] = age + rng.choice((0, 0, 0, 1, -1))
    elif roll < 0.85:
        low = age - rng.randint(0, 3)
        values["sought_age"] = f"{low}-{low + 5}"
        noise.append("age_range")
    else:
        noise.append("no_age")
    return values, tuple(noise)


@dataclass(frozen=True)
class Quality:
    enquiries: int
    present: int
    recall_at_1: float
    recall_at_5: float
    wrong_above: float  # share of all enquiries whose rank-1 candidate is wrong and >= ACCEPT
    wrong_accepted: float  # ... wrong and taken by the acceptance rule (threshold, margin, no
    # contradiction of sex or age): what would tell a family "found" about someone else
    taken_right: float  # share of the recorded sought persons taken by the acceptance rule
    misses: tuple[Enquiry, ...]
    wrong: tuple[tuple[Enquiry, str, float], ...]


def evaluate(people: list[Person], asked: list[Enquiry], *, year: int = 2026) -> Quality:
    """Index ``people``, run every enquiry, measure recall@1, recall@5 and wrong acceptances."""
    from fieldkit.domain.matching import ACCEPT, MatchIndex, accepted, enquiry_facts, person_facts

    index = MatchIndex()
    for person in people:
        index.upsert(person_facts(person.person_id, person.values))
    present = hit1 = hit5 = 0
    misses: list[Enquiry] = []
    wrong: list[tuple[Enquiry, str, float]] = []
    taken_wrong = taken_right = 0
    for enquiry in asked:
        found = index.search(enquiry_facts(enquiry.enquiry_id, enquiry.values), year=year)
        ids = [c.person_id for c in found]
        if enquiry.sought is not None:
            present += 1
            hit1 += bool(ids[:1] == [enquiry.sought])
            hit5 += enquiry.sought in ids[:5]
            if enquiry.sought not in ids[:5]:
                misses.append(enquiry)
        if found and found[0].score >= ACCEPT and found[0].person_id != enquiry.sought:
            wrong.append((enquiry, found[0].person_id, found[0].score))
        taken = accepted(found)
        taken_wrong += taken is not None and taken.person_id != enquiry.sought
        taken_right += taken is not None and taken.person_id == enquiry.sought
    return Quality(
        len(asked),
        present,
        hit1 / max(present, 1),
        hit5 / max(present, 1),
        len(wrong) / max(len(asked), 1),
        taken_wrong / max(len(asked), 1),
        taken_right / max(present, 1),
        tuple(misses),
        tuple(wrong),
    )


# --- more names, spelled by rule -------------------------------------------------------------
# Cyrillic names transliterated the English (BGN), French and German ways, plus anyascii's.
def _words(text: str) -> list[str]:
    return text.split()


_RU_EN = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        _words("a b v g d e yo zh z i y k l m n o p r s t u f kh ts ch sh shch - y - e yu ya"),
        strict=True,
    )
)
_RU_FR = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        _words("a b v g d e io j z i ï k l m n o p r s t ou f kh ts tch ch chtch - y - e iou ia"),
        strict=True,
    )
)
_RU_DE = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        (
            _words(
                "a b w g d e jo sch s i j k l m n o p r s t u f ch z tsch sch schtsch - y - e ju ja"
            )
        ),
        strict=True,
    )
)
_RU_VOWELS = set("аеёиоуыэюя")


def _translit(word: str, table: dict[str, str]) -> str:
    out = []
    lower = word.lower()
    for i, ch in enumerate(lower):
        latin = table.get(ch, ch).replace("-", "")
        if (
            ch == "с"
            and table is not _RU_EN
            and 0 < i < len(lower) - 1
            and lower[i - 1] in _RU_VOWELS
            and lower[i + 1] in _RU_VOWELS
        ):
            latin = "ss"
        out.append(latin)
    text = "".join(out)
    return text[:1].upper() + text[1:]


def _cyrillic(word: str) -> Variants:
    from anyascii import anyascii

    spelled = [word] + [_translit(word, t) for t in (_RU_EN, _RU_FR, _RU_DE)] + [anyascii(word)]
    return tuple(dict.fromkeys(spelled))


def _ru_feminine(word: str) -> str:
    for ending, feminine in (
        ("ский", "ская"),
        ("ов", "ова"),
        ("ёв", "ёва"),
        ("ев", "ева"),
        ("ин", "ина"),
    ):
        if word.endswith(ending):
            return word[: -len(ending)] + feminine
    return word


_RU_FAMILY_WORDS = _words(
    "Петров Сидоров Васильев Фролов Гусев Зайцев Титов Комаров Медведев Беляев Тарасов "
    "Белоусов Жданов Щербаков Ефимов Егоров Яковлев Юдин Чернов Шувалов Журавлёв Цветков "
    "Хохлов Ершов Быков Голубев Кудрявцев Баранов Воробьёв Карпов Рябов Никитин Соловьёв "
    "Борисов Кириллов Макаров Андреев Ковалёв Ильин Гаврилов Максимов Сорокин Виноградов "
    "Богданов Воронов Осипов Лазарев Дьячков Шубин Мельник Бойко Кравченко Коваленко Олейник "
    "Шевчук Поляков Ткачук Лысенко Марченко Руденко Савченко Петренко Мороз Зинченко "
    "Гончаренко Клименко Левченко Панченко Харченко Высоцкий Жуковский Чернышевский"
)
_RU_GIVEN_M_WORDS = _words(
    "Антон Борис Вадим Григорий Денис Егор Иван Кирилл Леонид Максим Никита Роман "
    "Станислав Тимур Фёдор Артём Руслан Святослав Ярослав Богдан Валерий Геннадий Эдуард"
)
_RU_GIVEN_F_WORDS = _words(
    "Алина Валентина Вера Галина Дарья Евгения Жанна Зоя Инна Кристина Лариса Марина "
    "Надежда Оксана Полина Раиса София Ульяна Яна Любовь Людмила Виктория Алёна"
)

# Chinese syllables: (pinyin, Wade-Giles) of common given-name syllables.
_ZH_SYLLABLES = (
    ("zhi", "chih"), ("qiang", "chiang"), ("xiu", "hsiu"), ("jian", "chien"), ("guo", "kuo"),
    ("hua", "hua"), ("mei", "mei"), ("ling", "ling"), ("hong", "hung"), ("xin", "hsin"),
    ("hai", "hai"), ("yan", "yen"), ("wen", "wen"), ("bo", "po"), ("zi", "tzu"), ("si", "ssu"),
    ("chun", "chun"), ("de", "te"), ("ming", "ming"), ("dong", "tung"), ("ping", "ping"),
    ("qing", "ching"), ("xiao", "hsiao"), ("jie", "chieh"), ("fang", "fang"), ("tao", "tao"),
    ("zhen", "chen"), ("rong", "jung"), ("kai", "kai"), ("hui", "hui"), ("feng", "feng"),
    ("yun", "yun"), ("xue", "hsueh"), ("jing", "ching"), ("lan", "lan"), ("shan", "shan"),
)  # fmt: skip


def _zh_given(rng: random.Random) -> Variants:
    first = rng.choice(_ZH_SYLLABLES)
    if rng.random() < 0.25:
        return (first[0].capitalize(), first[1].capitalize())
    second = rng.choice(_ZH_SYLLABLES)
    return (
        (first[0] + second[0]).capitalize(),
        f"{first[0].capitalize()} {second[0].capitalize()}",
        f"{first[1].capitalize()}-{second[1]}",
    )


CYRILLIC_FAMILY = CYRILLIC_FAMILY + tuple(_cyrillic(w) for w in _RU_FAMILY_WORDS)
CYRILLIC_GIVEN_M = CYRILLIC_GIVEN_M + tuple(_cyrillic(w) for w in _RU_GIVEN_M_WORDS)
CYRILLIC_GIVEN_F = CYRILLIC_GIVEN_F + tuple(_cyrillic(w) for w in _RU_GIVEN_F_WORDS)
