from conversations.paging import Footer, lay_out, paginate
from phonetext.encoding import Budget

FOOTER = Footer(last="0 Back 00 Home", more="98 More\n0 Back 00 Home")


def content(page: str) -> list[str]:
    return [line for line in page.split("\n") if line not in ("98 More", "0 Back 00 Home")]


def test_short_screen_is_one_page_with_the_last_footer() -> None:
    pages = paginate(["Title"], ["1 One", "2 Two"], Budget().fits, FOOTER)
    assert pages == ["Title\n1 One\n2 Two\n0 Back 00 Home"]


def test_long_list_pages_and_keeps_every_choice_whole() -> None:
    choices = [f"{i} Programme number {i}" for i in range(1, 30)]
    budget = Budget(max_gsm7=80)
    pages = paginate(["Programmes"], choices, budget.fits, FOOTER)
    assert len(pages) > 1
    assert all(budget.fits(p) for p in pages)
    assert all(p.endswith("98 More\n0 Back 00 Home") for p in pages[:-1])
    assert pages[-1].endswith("\n0 Back 00 Home") and "98 More" not in pages[-1]
    shown = [line for p in pages for line in content(p)]
    assert list(dict.fromkeys(shown)) == ["Programmes", *choices]  # a lone last option repeats one
    assert all(len([x for x in content(p) if x[0].isdigit()]) >= 2 for p in pages)


def test_long_text_is_cut_to_fill_pages_and_nothing_is_lost() -> None:
    text = " ".join(f"word{i}" for i in range(200))
    budget = Budget(max_gsm7=60)
    pages = paginate([text], ["1 Send by SMS"], budget.fits, FOOTER)
    assert all(budget.fits(p) for p in pages)
    words = " ".join(line for p in pages for line in content(p) if line != "1 Send by SMS").split()
    assert words == text.split()
    assert "1 Send by SMS" in pages[-1]


def test_a_menu_page_shows_its_question_with_at_least_two_options() -> None:
    question = " ".join(f"word{i}" for i in range(40)) + " Do you agree?"
    budget = Budget(max_gsm7=90)
    pages = paginate([question], ["1 I agree", "2 I do not agree"], budget.fits, FOOTER)
    assert len(pages) > 1 and all(budget.fits(p) for p in pages)
    assert "Do you agree?" in pages[-1] and "1 I agree" in pages[-1] and "2 I do not agree" in pages[-1]
    words = " ".join(line for p in pages for line in content(p) if not line[0].isdigit()).split()
    assert words == question.split()


def test_every_menu_page_leaves_room_for_the_reason_of_a_reprompt() -> None:
    budget = Budget(max_gsm7=90)
    choices = [f"{i} Option {i}" for i in range(1, 9)]
    pages = lay_out(["Pick"], choices, budget.fits, FOOTER, reason="Invalid choice. Try again.")
    for page in pages:
        again = page.with_reason("Invalid choice. Try again.", budget.fits)
        assert budget.fits(again.text) and again.choices == page.choices


def test_khmer_text_pages_within_the_ucs2_budget() -> None:
    text = "ប្រាក់ឧបត្ថម្ភប្រចាំខែសម្រាប់ជនមានពិការភាព ក្នុងគ្រួសារក្រីក្រ។" * 4
    footer = Footer("0 ថយ 00 ដើម", "98 ទៀត\n0 ថយ 00 ដើម")
    pages = paginate([text], [], Budget().fits, footer)
    assert len(pages) > 2
    assert all(Budget().fits(p) for p in pages)
    rebuilt = "".join(p.split("\n")[0] for p in pages)
    assert rebuilt.replace(" ", "") == text.replace(" ", "")


def test_a_line_is_not_cut_inside_a_word_when_the_page_has_other_lines() -> None:
    pages = paginate(
        ["Pedido 5396074: Pagamento não recebido ou atrasado", "Estado: recebido, à espera"],
        [],
        Budget(max_ucs2=60).fits,
        FOOTER,
    )
    assert all(not line.endswith("Esta") for page in pages for line in page.split("\n"))
    assert any(line.startswith("Estado: recebido") for page in pages for line in page.split("\n"))


def test_a_footer_that_leaves_no_room_still_returns_a_page() -> None:
    pages = paginate(["A text far too long for the screen"], [], Budget(max_gsm7=5).fits, FOOTER)
    assert pages and all(pages)


def test_a_wrong_key_on_a_full_khmer_text_page_keeps_some_text_beside_the_reason() -> None:
    budget = Budget()
    footer = Footer("0 ថយ 00 ដើម", "98 ទៀត\n0 ថយ 00 ដើម")
    text = "ប្រាក់ឧបត្ថម្ភប្រចាំខែ សម្រាប់ជនមានពិការភាព ក្នុងគ្រួសារក្រីក្រ ដែលមានប័ណ្ណសមធម៌ និងរស់នៅក្នុងឃុំ"
    page = lay_out([text], [], budget.fits, footer)[0]
    assert budget.fits(page.text) and not budget.fits(f"ជម្រើសខុស។\n{page.text}")  # a full page
    again = page.with_reason("ជម្រើសខុស។", budget.fits)
    assert budget.fits(again.text)
    assert again.body[0] == "ជម្រើសខុស។" and len(again.body) == 2 and text.startswith(again.body[1])


def test_a_menu_too_full_for_the_reason_drops_its_navigation_before_cutting_the_question() -> None:
    budget = Budget()  # 80 UCS-2 units: "ã" makes every line UCS-2
    question = "Quer dar o seu nome ao balcão?"
    options = ["1 Sim, dar o meu nome", "2 Não, ficar anónimo"]
    reason = "Opção inválida."
    footer = Footer("0 Voltar 00 Menu", "98 Mais\n0 Voltar 00 Menu")
    pages = lay_out([question], options, budget.fits, footer, reason=reason)
    assert all(page.body in ((), (question,)) for page in pages), pages
    assert [line for page in pages for line in page.choices] == options
    again = pages[0].with_reason(reason, budget.fits)
    assert budget.fits(again.text) and again.choices == pages[0].choices and again.body
