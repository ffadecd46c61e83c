"""The annotation page in a real headless Chromium: mentions (nested, discontinuous), relations, suggestions,
submit to the next queued sentence, the 409 dialog, the keyboard-only loop and the read-only viewer."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from annotation.models import Annotation
from annotation.selectors import annotation_state

from ..editor_data import CANCER, build


@pytest.fixture
def data(project):
    return build(project)


def _open(browser, path):
    browser.get(browser.live_url(path))
    WebDriverWait(browser, 15).until(lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-editor-ready"))


def _open_sentence(browser, project, sentence):
    _open(browser, f"/projects/{project.pk}/sentences/{sentence.pk}/annotate/")


def _token(browser, word, nth=0):
    toks = [t for t in browser.find_elements(By.CSS_SELECTOR, "#ed-text .tok") if t.text == word]
    return toks[nth]


def _drag(browser, first, last, nth_first=0, nth_last=0):
    """Select from the first character of word ``first`` to the last of ``last`` with the mouse."""
    a, b = _token(browser, first, nth_first), _token(browser, last, nth_last)
    aw, bw = a.size["width"], b.size["width"]
    (ActionChains(browser).move_to_element_with_offset(a, -aw / 2 + 1, 0).click_and_hold()
     .move_to_element_with_offset(b, bw / 2 - 1, 0).release().perform())


def _state(browser):
    return browser.execute_script("return TMEditor.state();")


def _saved(browser):
    WebDriverWait(browser, 10).until(lambda b: b.execute_script("return !TMEditor.dirty();")
                                     and "saved" in b.find_element(By.ID, "ed-status").text)


def _mentions(annotation):
    text = annotation.sentence.text
    return sorted((m["type"], " … ".join(text[s:e] for s, e in m["fragments"]))
                  for m in annotation_state(annotation=annotation)["mentions"])


def _keys(browser, *keys):
    ActionChains(browser).send_keys(*keys).perform()


def _chord(browser, *keys):
    """Press the modifiers in ``keys[:-1]``, type ``keys[-1]``, release."""
    chain = ActionChains(browser)
    for k in keys[:-1]:
        chain.key_down(k)
    chain.send_keys(keys[-1])
    for k in reversed(keys[:-1]):
        chain.key_up(k)
    chain.perform()


def test_mentions_nested_discontinuous_and_a_relation_with_the_mouse(browser, login, members, project, data,
                                                                       screenshot):
    login(members["annotator"])
    _open_sentence(browser, project, data["sentences"][CANCER])
    # a mention: select "ovarian cancer", click the Condition type in the palette
    _drag(browser, "ovarian", "cancer")
    browser.find_element(By.CSS_SELECTOR, '#ed-palette [data-type="Condition"]').click()
    # the Temporal "within 5 years" by its hotkey, then a Value nested inside it
    _drag(browser, "within", "years")
    _keys(browser, "t")
    _drag(browser, "5", "years")
    browser.find_element(By.CSS_SELECTOR, '#ed-palette [data-type="Value"]').click()
    # a discontinuous Condition: "Breast", then "+ cancer"
    _drag(browser, "Breast", "Breast")
    _keys(browser, "c")
    _drag(browser, "cancer", "cancer")
    browser.find_element(By.ID, "ed-add-frag").click()
    st = _state(browser)
    got = sorted((m["type"], m["fragments"]) for m in st["mentions"])
    assert got == [("Condition", [[0, 6], [18, 24]]), ("Condition", [[10, 24]]), ("Temporal", [[48, 62]]),
                   ("Value", [[55, 62]])]
    # nested and overlapping mentions sit in different lanes (the Value closest to the text)
    bars = browser.execute_script("""return Array.from(document.querySelectorAll('#ed-over rect.bar'))
        .map(r => [r.getAttribute('x') | 0, r.getAttribute('y') | 0]);""")
    assert len(bars) == 5  # four mentions, the discontinuous one drawn twice
    assert len({y for _, y in bars}) >= 2
    # a relation: head "ovarian cancer" (click its word), Relate, tail "within 5 years" (click its label)
    _token(browser, "ovarian").click()
    assert "ovarian cancer" in browser.find_element(By.ID, "ed-selected").text
    browser.find_element(By.ID, "ed-relate").click()
    _token(browser, "within").click()
    offered = [b.get_attribute("data-reltype")
               for b in browser.find_elements(By.CSS_SELECTOR, "#ed-relmenu [data-reltype]")]
    assert offered == ["Has_temporal", "AND"]  # Has_value takes no Temporal tail
    browser.find_element(By.CSS_SELECTOR, '#ed-relmenu [data-reltype="Has_temporal"]').click()
    _saved(browser)
    assert browser.find_elements(By.CSS_SELECTOR, "#ed-over path.arc")
    annotation = Annotation.objects.get(sentence=data["sentences"][CANCER], annotator=members["annotator"])
    assert _mentions(annotation) == [("Condition", "Breast … cancer"), ("Condition", "ovarian cancer"),
                                     ("Temporal", "within 5 years"), ("Value", "5 years")]
    rel = annotation_state(annotation=annotation)["relations"]
    assert len(rel) == 1 and rel[0]["type"] == "Has_temporal"
    # undo removes the relation from the page and the server, redo brings it back
    browser.find_element(By.ID, "ed-undo").click()
    _saved(browser)
    assert annotation.relations.count() == 0
    _chord(browser, Keys.CONTROL, Keys.SHIFT, "z")
    _saved(browser)
    assert Annotation.objects.get(pk=annotation.pk).relations.count() == 1
    browser.find_element(By.CSS_SELECTOR, "#ed-text").click()
    assert screenshot("annotation-page").stat().st_size > 0
