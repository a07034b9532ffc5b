"""lgtools.report.page: the book's one table style (classes, headers in words, number formats, extra columns)."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from lgtools.report import page
from lgtools.report.page import note_if_empty, show, table_html

CSS = Path(__file__).resolve().parents[1] / "_static" / "lgtools.css"


def _soup(df: pd.DataFrame, **kwargs) -> BeautifulSoup:
    return BeautifulSoup(table_html(df, **kwargs), "html.parser")


def _column(soup: BeautifulSoup, header: str, table: int = 0) -> list[str]:
    """The text of every body cell under ``header`` in the ``table``-th table."""
    found = soup.find_all("table")[table]
    heads = [th.get_text() for th in found.thead.find_all("th")]
    at = heads.index(header)
    return [tr.find_all("td")[at].get_text() for tr in found.tbody.find_all("tr")]


def _delta_frame() -> pd.DataFrame:
    return pd.DataFrame({"dataset": ["cifar10", "cifar10"], "noise": [0.1, 0.3], "a_fc": [95.22, 94.616],
                         "a_cc": [94.02, 94.02], "delta": [1.2, 0.6], "delta_low": [0.86, -0.23],
                         "delta_high": [1.53, 1.44], "n": [3, 3]})


def test_the_table_carries_the_theme_and_project_classes_and_its_caption():
    soup = _soup(_delta_frame(), caption="Table VII <ours> & the paper's")
    table = soup.find("table")
    assert set(table["class"]) == {"table", "lg-table"}
    assert "lg-table-wrap" in soup.find("div")["class"]
    assert table.caption.get_text() == "Table VII <ours> & the paper's"  # escaped, shown as written
    assert "<ours>" not in str(table.caption) and "the paper's" in str(table.caption)


def test_headers_are_words_with_units_and_an_interval_is_one_column():
    soup = _soup(_delta_frame())
    heads = [th.get_text() for th in soup.find("table").thead.find_all("th")]
    # get_text() drops the <sub> of A<sub>FC</sub>: the header reads "AFC (%)" as text
    assert heads == ["dataset", "randomness", "AFC (%)", "ACC (%)", "ΔA (points)", "95 % CI", "seeds"]
    assert _column(soup, "95 % CI") == ["[+0.86, +1.53]", "[\u22120.23, +1.44]"]
    assert _column(soup, "ΔA (points)") == ["+1.20", "+0.60"]
    assert _column(soup, "AFC (%)") == ["95.22", "94.62"]


def test_unknown_names_fall_back_to_spaces_and_n_says_what_it_counts():
    assert page.label("my_odd_column") == "my odd column"
    assert page.label("A_FC (%)") == "A_FC (%)"  # already readable: kept as it is
    assert page.label("setting_value") == "setting" and page.label("p_value") == "p"
    assert page.label("n") == "seeds" and page.label("n", ["both_right", "n"]) == "test images"
    assert page.label("test_acc_vs_baseline C") == "Δ test accuracy vs baseline C (points)"


def test_p_values_are_scientific_and_an_underflow_says_so():
    frame = pd.DataFrame({"seed": [0, 1, 2], "p_value": [3.2e-05, 0.0, 0.43]})
    assert _column(_soup(frame), "p") == ["3.2e-05", "< 1e-300", "0.43"]


def test_a_share_of_one_is_written_as_percent():
    frame = pd.DataFrame({"noise": [0.1, 0.3], "share": [0.4, 0.151], "data_ratio": [0.2, 1.0]})
    soup = _soup(frame)
    assert _column(soup, "labels changed") == ["40.00 %", "15.10 %"]
    assert _column(soup, "share of data") == ["20 %", "100 %"]


def test_lists_mappings_booleans_and_gaps_are_readable_text():
    frame = pd.DataFrame({"round_speedups": [[1.4824, 1.47], [2.0]], "args": [{"width": 16}, {}],
                          "sign_agrees": [True, np.nan], "verdict": ["agrees", None], "n": [3.0, 2.0]})
    soup = _soup(frame)
    cells = [td.get_text() for td in soup.find("tbody").find_all("td")]
    assert not any(cell.startswith(("[", "{", "(")) for cell in cells), cells
    assert _column(soup, "round speedups") == ["1.48, 1.47", "2.00"]
    assert _column(soup, "args") == ["width: 16", "—"]
    assert _column(soup, "sign agrees") == ["yes", "—"] and _column(soup, "verdict") == ["agrees", "—"]
    assert _column(soup, "seeds") == ["3", "2"]  # counts as integers even when stored as floats


def test_numbers_are_right_aligned_by_class_and_text_left():
    soup = _soup(_delta_frame())
    rows = soup.find("tbody").find_all("tr")
    cells = rows[0].find_all("td")
    assert cells[0].get("class") is None and all("lg-num" in td["class"] for td in cells[1:])  # text: the default
    assert soup.find("thead").find_all("th")[0]["class"] == ["lg-text"]
    assert all("lg-num" in th["class"] for th in soup.find("thead").find_all("th")[1:])
    text = CSS.read_text(encoding="utf-8")
    assert ".lg-num" in text and "text-align: right" in text and "tabular-nums" in text
    assert re.search(r"table\.lg-table td,\s*table\.lg-table \.lg-text \{\s*text-align: left", text)


def test_more_than_seven_columns_go_into_a_collapsed_block_with_the_keys_repeated():
    wide = _delta_frame().assign(dataset=["cifar10", "cifar100"], acr=[0.18, 0.17], paper_delta=[-0.3, -0.7],
                                 verdict=["disagrees", "inconclusive"])
    soup = _soup(wide)
    main, *more = soup.find_all("table")
    assert len(main.thead.find_all("th")) == 7
    details = soup.find("details")
    assert details is not None and details.summary.get_text() == "More columns" and not details.has_attr("open")
    assert more and all(t.find_parent("details") is details for t in more)
    assert all(len(t.thead.find_all("th")) <= 7 for t in more)
    extra = [th.get_text() for th in more[0].thead.find_all("th")]
    assert extra == ["dataset", "randomness", "ACC (%)", "seeds", "ACR"], extra  # keys repeated, then table order
    shown = {th.get_text() for t in soup.find_all("table") for th in t.thead.find_all("th")}
    assert {"ΔA (points)", "95 % CI", "paper ΔA (points)", "verdict", "ACR", "seeds"} <= shown
    assert _soup(_delta_frame()).find("details") is None  # seven columns fit


def test_columns_choose_the_main_table_and_an_interval_can_be_named_by_its_bounds():
    soup = _soup(_delta_frame(), columns=["noise", "delta", "delta_low"], keys=["noise"])
    heads = [th.get_text() for th in soup.find("table").thead.find_all("th")]
    assert heads == ["randomness", "ΔA (points)", "95 % CI"]
    extra = [th.get_text() for th in soup.find("details").find("table").thead.find_all("th")]
    assert extra == ["randomness", "dataset", "AFC (%)", "ACC (%)", "seeds"]
    with pytest.raises(ValueError, match="not a column"):
        table_html(_delta_frame(), columns=["nope"])


def test_show_displays_html_with_its_old_signature_and_the_note_names_stored_real_data_runs(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    show(_delta_frame(), "caption here", 3)
    assert isinstance(shown[0], IPython.display.HTML) and "caption here" in shown[0].data
    assert "+1.200" in shown[0].data  # digits still sets the decimals
    note_if_empty(pd.DataFrame(), "Table VII")
    assert "stored real-data runs" in shown[1].data.lower() and "full runs" not in shown[1].data.lower()
    note_if_empty(_delta_frame(), "Table VII")
    assert len(shown) == 2  # nothing noted when there are rows


def test_headers_and_captions_write_the_accuracies_as_the_equations_do():
    from lgtools.report.page import notation_html, table_html

    assert notation_html("A_FC − A_CC < 1") == "<i>A</i><sub>FC</sub> − <i>A</i><sub>CC</sub> &lt; 1"
    assert notation_html("ΔA") == "Δ<i>A</i>" and notation_html("A_FCX") == "A_FCX"
    out = table_html(pd.DataFrame({"a_fc": [95.0], "delta": [1.0]}), caption="A_FC and ΔA")
    assert "<caption><i>A</i><sub>FC</sub> and Δ<i>A</i></caption>" in out and "A_FC" not in out


def test_dataset_and_hierarchy_cells_read_as_names():
    from lgtools.report.page import display_name

    assert display_name("cifar100_animals") == "CIFAR-100 animals" and display_name("cifar10_table6_3") == "Table VI (3)"
    assert display_name("extra_layer (square_relu)") == "extra layer (square + ReLU)" and display_name("fig6") == "fig6"
    soup = BeautifulSoup(table_html(pd.DataFrame({"dataset": ["imagenet_dog_cat"], "labels": ["fine_x"]})), "html.parser")
    cells = [td.get_text() for td in soup.find_all("td")]
    assert cells[0] == "ImageNet dog vs cat" and cells[1].replace("\u200b", "") == "fine_x"  # other columns as they are


def test_an_interval_over_fewer_than_three_seeds_is_not_printed():
    """The book's rule (issue 31): n = 2 prints "n = 2: no interval", n = 3 its bounds; a bare low/high is one column."""
    frame = pd.DataFrame({"loss": ["a", "b"], "delta": [-3.19, 0.58], "low": [-5.15, -0.62], "high": [-1.22, 1.79],
                          "n": [2, 3]})
    soup = _soup(frame)
    assert [th.get_text() for th in soup.find("table").thead.find_all("th")] == [
        "loss", "ΔA (points)", "95 % CI", "seeds"]
    assert _column(soup, "95 % CI") == ["n = 2: no interval", "[\u22120.62, 1.79]"]
    assert "5.15" not in str(soup)
    images = pd.DataFrame({"both_right": [10], "low": [1.0], "high": [2.0], "n": [2]})  # n counts test images here
    assert _column(_soup(images), "95 % CI") == ["[1.00, 2.00]"]


def test_math_notation_typesets_the_accuracies_for_markdown_and_mathtext():
    """Issue 31: plain "A_FC" beside rendered $A_{FC}$; one rewrite serves MyST's dollar math and matplotlib's mathtext."""
    assert page.math_notation("ΔA = A_FC − A_CC (points)") == r"$\Delta A = A_{FC} - A_{CC}$ (points)"
    assert page.math_notation("A_FC(pseudo) minus A_CC") == "$A_{FC}$(pseudo) minus $A_{CC}$"
    assert page.math_notation("Δ A_FC (points)") == r"$\Delta A_{FC}$ (points)"
    assert page.math_notation("a_fc_test and $A_{FC}$ stay") == "a_fc_test and $A_{FC}$ stay"


def test_raw_measure_columns_get_readable_headers():
    """Issue 31: chapters 9-11 showed headers ``afc``, ``nmi``, ``ari``, ``control_ari``."""
    soup = _soup(pd.DataFrame({"afc": [95.8], "nmi": [0.31], "ari": [0.2], "control_ari": [0.01]}))
    heads = [th.get_text() for th in soup.find("table").thead.find_all("th")]
    assert heads == ["AFC (%)", "NMI", "ARI", "ARI of random groupings"]


def test_chapter_12_columns_get_readable_headers():
    """Reader's review: chapter 12 showed ``pretrained afc``, ``probe acc``, ``finetune acc``, ``probe hard``, ``hard n``."""
    columns = ["pretrained_afc", "probe_acc", "finetune_acc", "probe_hard", "finetune_hard", "hard_n"]
    soup = _soup(pd.DataFrame({c: [1.0] for c in columns}))
    heads = [th.get_text() for th in soup.find("table").thead.find_all("th")]
    assert heads == ["pretrained AFC (%)", "linear probe (%)", "fine-tuned (%)", "linear probe, hard images (%)",
                     "fine-tuned, hard images (%)", "hard images"]


SHELL_LANGUAGES = ("bash", "sh", "shell", "console")


def _fenced_languages() -> set[str]:
    """The language of every fenced code block in the book's pages (Markdown files and notebooks' Markdown cells)."""
    import json
    import re

    book = Path(__file__).resolve().parents[1] / "book"
    texts = [p.read_text(encoding="utf-8") for p in book.glob("*.md")]
    texts += ["".join(cell["source"]) for p in book.glob("*.ipynb")
              for cell in json.loads(p.read_text(encoding="utf-8"))["cells"] if cell["cell_type"] == "markdown"]
    return {m.group(1) for text in texts for m in re.finditer(r"^```(\w+)\s*$", text, flags=re.M)}


def test_shell_blocks_wrap_inside_the_column():
    """Issue 31: the landing page's shell commands scrolled sideways at 390 px; every shell block's lines now wrap."""
    import re

    rules = re.findall(r"([^{}]+)\{([^{}]*)\}", re.sub(r"/\*.*?\*/", "", CSS.read_text(), flags=re.S))
    wrapping = {selector.strip() for selectors, body in rules if re.search(r"white-space:\s*pre-wrap", body)
                for selector in selectors.split(",")}
    used = _fenced_languages() & set(SHELL_LANGUAGES)
    assert "bash" in used  # the landing page's make and papermill lines
    missing = [lang for lang in used if f"div.highlight-{lang} pre" not in wrapping]
    assert not missing, f"shell blocks that scroll sideways: {missing} (wrapping rules: {sorted(wrapping)})"
    assert "div.highlight-python pre" not in wrapping and "div.highlight-ipython3 pre" not in wrapping
