from phonetext.encoding import Budget, encoding_of, is_gsm7, measure_sms, units


def test_plain_english_is_gsm7_and_counts_one_per_character() -> None:
    assert encoding_of("1 Programmes\n2 Language") == "GSM-7"
    assert units("Hello") == 5


def test_extension_characters_count_two() -> None:
    assert is_gsm7("a{b}€")
    assert units("^{}\\[~]|€") == 18


def test_khmer_and_portuguese_accents_need_ucs2() -> None:
    assert encoding_of("ភាសា") == "UCS-2"
    assert encoding_of("Língua") == "UCS-2"
    assert encoding_of("Reclamações") == "UCS-2"
    # é and à are in the GSM-7 alphabet, ç is not (only Ç is).
    assert encoding_of("Pré-registo à vista") == "GSM-7"
    assert encoding_of("ç") == "UCS-2"
    assert units("ភាសា") == 4


def test_characters_beyond_the_bmp_count_two_ucs2_units() -> None:
    assert units("a😀") == 3


def test_budget_picks_the_limit_of_the_encoding() -> None:
    budget = Budget(max_gsm7=10, max_ucs2=4)
    assert budget.fits("a" * 10)
    assert not budget.fits("a" * 11)
    assert budget.fits("ភាសា")
    assert not budget.fits("ភាសាខ")
    assert not budget.fits("{" * 6)  # 12 septets


def test_sms_segments_gsm7() -> None:
    assert measure_sms("").segments == 0
    assert measure_sms("a" * 160).segments == 1
    assert measure_sms("a" * 161).segments == 2
    assert measure_sms("a" * 306).segments == 2
    assert measure_sms("a" * 307).segments == 3


def test_sms_segments_never_split_an_escape_pair() -> None:
    # 152 plain characters then '{' (2 septets) would straddle the 153 boundary: it moves on.
    text = "a" * 152 + "{" + "a" * 152
    m = measure_sms(text)
    assert m.units == 306
    assert m.segments == 3


def test_sms_segments_ucs2() -> None:
    assert measure_sms("ក" * 70).segments == 1
    m = measure_sms("ក" * 71)
    assert (m.encoding, m.units, m.segments) == ("UCS-2", 71, 2)
    assert measure_sms("ក" * 134).segments == 2
    assert measure_sms("ក" * 135).segments == 3
