"""What a sign line says: shop names, addresses, phone numbers, prices, slogans over a charset."""

from dataclasses import dataclass

from linerec.synth import vocabulary as vocab

STREET = "street"
REALISTIC = "realistic"
PROFILES = (STREET, REALISTIC)
REALISTIC_LENGTHS = (1, 25)

# Characters the street profile always keeps, because the number templates (phones, addresses,
# prices) need them whatever words are chosen. Most useful first.
STREET_CORE = "0123456789" + "ABCDEKLTV" + "-:.·" + " " + "号路店元电话区街楼"
MIN_STREET_CHARSET = len(STREET_CORE) + 10

# The order in which word groups take turns adding characters to the street charset.
_STREET_GROUPS = (vocab.TRADES, vocab.BRANDS, vocab.SLOGANS, vocab.ROAD_STEMS,
                  vocab.CITIES + vocab.DISTRICTS, vocab.PRODUCTS, vocab.SHOP_SUFFIXES)

# A word this far down its list costs twice as much as the first: see street_charset.
_RANK_PENALTY = 10
_MAX_TRIES = 60


@dataclass(frozen=True)
class Profile:
    """Which characters a label may use and how long it may be."""

    name: str
    charset: frozenset
    min_chars: int
    max_chars: int
    # Characters for made-up shop names, so a large charset is used beyond the word lists.
    name_chars: tuple = ()


def street_profile(charset_size, min_chars, max_chars, drawable):
    return Profile(STREET, street_charset(charset_size, max_chars, drawable), min_chars, max_chars)


def realistic_profile(dictionary, drawable):
    """Lines over the recognition dictionary: only characters the fonts draw and GBK encodes."""
    charset = frozenset(c for c in dictionary if c in drawable and _in_gbk(c)) | {" "}
    name_chars = tuple(sorted(c for c in charset if "\u4e00" <= c <= "\u9fff"))
    return Profile(REALISTIC, charset, *REALISTIC_LENGTHS, name_chars=name_chars)


def street_charset(size, max_chars, drawable):
    """The core characters plus whole words, chosen greedily so few characters make many words.

    Word groups take turns; each adds the word with the lowest cost: new characters needed, times
    a penalty that grows down the list, so a common word (超市, 品质保证) wins over an obscure one
    that happens to reuse characters. Stops when no group can add a word within ``size``.
    """
    chosen = dict.fromkeys(c for c in STREET_CORE if c in drawable)
    groups = [[w for w in group if len(w) <= max_chars and set(w) <= drawable]
              for group in _STREET_GROUPS]
    active = list(range(len(groups)))
    while active:
        for index in list(active):
            best, best_cost = None, None
            for rank, word in enumerate(groups[index]):
                new = [c for c in dict.fromkeys(word) if c not in chosen]
                if not new or len(chosen) + len(new) > size:
                    continue
                cost = len(new) * (1 + rank / _RANK_PENALTY)
                if best is None or cost < best_cost:
                    best, best_cost = new, cost
            if best is None:
                active.remove(index)
            else:
                chosen.update(dict.fromkeys(best))
    return frozenset(chosen)


def _in_gbk(char):
    try:
        char.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


class _Missing(Exception):
    """A template needs a word that the profile's charset cannot spell."""


class SignText:
    """Draws sign lines that fit a profile: every character in its charset, length in bounds."""

    def __init__(self, profile):
        self.profile = profile
        allowed = profile.charset
        self.words = {name: tuple(w for w in getattr(vocab, name) if set(w) <= allowed)
                      for name in _WORD_LISTS}
        self.letters = tuple(c for c in vocab.BLOCK_LETTERS if c in allowed)
        self.kinds = [(kind, weight) for kind, weight in _KINDS
                      if not (kind == "named_shop" and not profile.name_chars)]
        total = sum(weight for _, weight in self.kinds)
        self.cumulative = []
        running = 0.0
        for _, weight in self.kinds:
            running += weight / total
            self.cumulative.append(running)

    def line(self, rng):
        """One line; a kind that cannot fit the profile is retried with another draw."""
        for _ in range(_MAX_TRIES):
            kind = self._pick_kind(rng)
            try:
                text = getattr(self, "_" + kind)(rng)
            except _Missing:
                continue
            text = self._finish(text, rng)
            if self.fits(text):
                return text
        return self._random_chars(rng)

    def fits(self, text):
        p = self.profile
        return (p.min_chars <= len(text) <= p.max_chars and set(text) <= p.charset
                and text == text.strip() and "  " not in text)

    def _pick_kind(self, rng):
        draw = rng.random()
        for (kind, _), edge in zip(self.kinds, self.cumulative):
            if draw < edge:
                return kind
        return self.kinds[-1][0]

    def _finish(self, text, rng):
        text = " ".join(part for part in text.split(" ") if part).strip("\u3000")
        # Now and then a sign is set in full-width forms: ６号, ｉＷｏＷ.
        if rng.random() < 0.12:
            text = "".join(_widen(c, self.profile.charset) for c in text)
        return text

    def _random_chars(self, rng):
        # Only reached if no template fits (a tiny charset with long minimum lengths).
        chars = sorted(c for c in self.profile.charset if not c.isspace())
        length = int(rng.integers(self.profile.min_chars, self.profile.max_chars + 1))
        return "".join(chars[int(i)] for i in rng.integers(len(chars), size=length))

    # -- helpers --------------------------------------------------------------------------------

    def _word(self, rng, name):
        return _pick(rng, self.words[name])

    def _has(self, text):
        return set(text) <= self.profile.charset

    def _choose(self, rng, options):
        """One of ``options`` the charset can spell (options are literal template pieces)."""
        return _pick(rng, [o for o in options if self._has(o)])

    def _colon(self, rng):
        return self._choose(rng, vocab.COLONS)

    def _separator(self, rng):
        return self._choose(rng, ("",) * 4 + vocab.SEPARATORS)

    def _number(self, rng, low, high):
        return str(int(rng.integers(low, high + 1)))

    def _road(self, rng):
        return self._word(rng, "ROAD_STEMS") + self._word(rng, "ROAD_SUFFIXES")

    # -- kinds of line --------------------------------------------------------------------------

    def _shop(self, rng):
        brand, trade = self._word(rng, "BRANDS"), self._word(rng, "TRADES")
        form = rng.random()
        if form < 0.45:
            text = brand + trade
        elif form < 0.6:
            text = self._word(rng, "CITIES") + trade
        elif form < 0.75:
            text = brand + trade + self._word(rng, "SHOP_SUFFIXES")
        elif form < 0.85:
            opening, closing = self._choose(rng, vocab.BRACKETS)
            text = brand + trade + opening + self._word(rng, "ROAD_STEMS") + "店" + closing
        elif form < 0.93:
            text = brand + self._word(rng, "PRODUCTS")
        else:
            text = brand + self._word(rng, "LATIN_WORDS")
        return text

    def _trade(self, rng):
        first = self._word(rng, "TRADES")
        if rng.random() < 0.5:
            return first
        return first + self._separator(rng) + self._word(rng, "TRADES")

    def _named_shop(self, rng):
        # Invented names from the whole dictionary, so rare characters appear in context.
        count = int(rng.integers(1, 4))
        name = "".join(_pick(rng, self.profile.name_chars) for _ in range(count))
        return name + self._word(rng, "TRADES")

    def _address(self, rng):
        form = rng.random()
        number = self._number(rng, 1, 999)
        if form < 0.35:
            return self._road(rng) + number + "号"
        if form < 0.5:
            first = int(rng.integers(1, 60))
            return (_pick(rng, self.letters) + "区" + str(first) + "-" + str(first + 1) + "号")
        if form < 0.65:
            return (self._number(rng, 1, 30) + self._choose(rng, ("号楼", "栋", "幢"))
                    + self._number(rng, 1, 6) + self._choose(rng, ("单元", "层", "楼")))
        if form < 0.75:
            return (_pick(rng, self.letters) + self._choose(rng, ("座", "栋", "区"))
                    + self._number(rng, 1, 30) + f"{int(rng.integers(1, 30)):02d}")
        if form < 0.82:
            return self._word(rng, "DISTRICTS") + self._road(rng)
        parts = [self._word(rng, "CITIES"), self._word(rng, "DISTRICTS"), self._road(rng),
                 number + "号"]
        start = int(rng.integers(0, 3))
        prefix = self._word(rng, "ADDRESS_WORDS") + self._colon(rng) if rng.random() < 0.4 else ""
        return prefix + "".join(parts[start:])

    def _phone(self, rng):
        form = rng.random()
        if form < 0.4:
            number = _pick(rng, vocab.MOBILE_PREFIXES) + _digits(rng, 8)
            gap = self._choose(rng, ("", "", " ", "-"))
            number = number[:3] + gap + number[3:7] + gap + number[7:]
        elif form < 0.65:
            area, local = _pick(rng, vocab.AREA_CODES), _digits(rng, 8 - int(rng.random() < 0.3))
            if rng.random() < 0.2:
                opening, closing = self._choose(rng, vocab.BRACKETS)
                number = opening + area + closing + local
            else:
                number = area + "-" + local
        elif form < 0.9:
            local = _digits(rng, int(rng.integers(7, 9)))
            number = local if rng.random() < 0.6 else local[:-4] + "-" + local[-4:]
        else:
            number = "400-" + _digits(rng, 3) + "-" + _digits(rng, 4)
        if rng.random() < 0.4:
            number = self._word(rng, "PHONE_PREFIXES") + self._colon(rng) + number
        return number

    def _slogan(self, rng):
        text = self._word(rng, "SLOGANS")
        form = rng.random()
        if form < 0.3:
            text += self._separator(rng) + self._word(rng, "SLOGANS")
        elif form < 0.4:
            text = self._word(rng, "BRANDS") + text
        elif form < 0.5:
            symbol = self._word(rng, "SYMBOLS")
            text = symbol + text + (symbol if rng.random() < 0.7 else "")
        return text

    def _price(self, rng):
        amount = self._number(rng, 1, 199)
        if rng.random() < 0.3:
            amount += "." + self._number(rng, 1, 9)
        form = rng.random()
        if form < 0.15:
            return self._choose(rng, ("￥", "¥")) + amount
        head = self._word(rng, "PRODUCTS") if form < 0.6 else self._word(rng, "PRICE_WORDS")
        return head + self._colon(rng) + amount + self._word(rng, "PRICE_UNITS")

    def _hours(self, rng):
        if rng.random() < 0.3:
            return self._word(rng, "HOURS_SUFFIXES")
        opening = f"{int(rng.integers(6, 11)):d}:{_pick(rng, ('00', '30'))}"
        if rng.random() < 0.3:
            opening = "0" + opening
        closing = f"{int(rng.integers(17, 24))}:{_pick(rng, ('00', '30'))}"
        text = opening + self._choose(rng, vocab.TIME_DASHES) + closing
        if rng.random() < 0.6:
            text = self._word(rng, "HOURS_WORDS") + self._colon(rng) + text
        return text

    def _latin(self, rng):
        word = self._word(rng, "LATIN_WORDS")
        form = rng.random()
        if form < 0.3:
            word = self._word(rng, "BRANDS") + word
        elif form < 0.45:
            word += self._choose(rng, (" ", "-", "·", "|")) + self._word(rng, "LATIN_WORDS")
        elif form < 0.55:
            word = word.upper()
        return word

    def _place(self, rng):
        form = rng.random()
        if form < 0.3:
            province = self._word(rng, "PROVINCES")
            if province in vocab.CITIES:  # 北京北京, 上海广州: a municipality holds no cities
                raise _Missing()
            return province + self._word(rng, "CITIES")
        if form < 0.6:
            return self._word(rng, "CITIES") + self._word(rng, "DISTRICTS")
        if form < 0.8:
            return self._road(rng)
        return self._word(rng, "CITIES")

    def _single(self, rng):
        return _pick(rng, self._word(rng, "TRADES"))

    def _combo(self, rng):
        # The long lines of a full shop front: name and phone, name and address.
        first = self._shop(rng)
        second = self._phone(rng) if rng.random() < 0.5 else self._address(rng)
        return first + self._choose(rng, (" ", "　", "", "·")) + second


# How often each kind of line is drawn, before lines that do not fit the profile are redrawn.
_KINDS = (
    ("shop", 0.24), ("trade", 0.07), ("named_shop", 0.05), ("address", 0.14), ("phone", 0.13),
    ("slogan", 0.11), ("price", 0.07), ("hours", 0.04), ("latin", 0.06), ("place", 0.05),
    ("single", 0.02), ("combo", 0.04),
)

_WORD_LISTS = ("BRANDS", "TRADES", "SHOP_SUFFIXES", "PRODUCTS", "PRICE_WORDS", "PRICE_UNITS",
               "PROVINCES", "CITIES", "DISTRICTS", "ROAD_STEMS", "ROAD_SUFFIXES", "SLOGANS",
               "LATIN_WORDS", "PHONE_PREFIXES", "ADDRESS_WORDS", "HOURS_WORDS", "HOURS_SUFFIXES",
               "SYMBOLS")


def _pick(rng, options):
    if not options:
        raise _Missing()
    return options[int(rng.integers(len(options)))]


def _digits(rng, count):
    return "".join(str(int(d)) for d in rng.integers(0, 10, size=count))


def _widen(char, charset):
    """The full-width form of an ASCII character, if the charset has it."""
    if char == " ":
        wide = "\u3000"
    elif "!" <= char <= "~":
        wide = chr(ord(char) + 0xFEE0)
    else:
        return char
    return wide if wide in charset else char
