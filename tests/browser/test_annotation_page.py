"""The annotation page in a real headless Chromium: mentions (nested, discontinuous), relations, suggestions,
submit to the next queued sentence, the 409 dialog, the keyboard-only loop and the read-only viewer."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from annotation.models import Annotation, SuggestionDecision
from annotation.selectors import annotation_state
from annotation.services import annotation_save

from ..editor_data import ADULTS, BMI, CANCER, HBA1C, build


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
    """Wait until the page has nothing unsaved and no request in flight (then the database may be read)."""
    WebDriverWait(browser, 10).until(lambda b: b.execute_script("return TMEditor.idle();")
                                     and "saved" in b.find_element(By.ID, "ed-status").text)


def _idle(browser):
    WebDriverWait(browser, 10).until(lambda b: b.execute_script("return TMEditor.idle();"))


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
    _token(browser, "ovarian").click()  # the screenshot shows a selected mention and its panel
    assert screenshot("annotation-page").stat().st_size > 0


def _decisions(user):
    return sorted((d.kind, d.index, d.decision) for d in SuggestionDecision.objects.filter(user=user))


def test_suggestions_accepted_and_rejected_one_by_one_and_all_at_once(browser, login, members, project, data,
                                                                       screenshot):
    login(members["annotator"])
    _open(browser, f"/projects/{project.pk}/annotate/")  # the queue opens HBA1C first
    assert browser.current_url.endswith(f"/sentences/{data['sentences'][HBA1C].pk}/annotate/?via=queue")
    head = browser.find_element(By.CLASS_NAME, "ed-meta").text
    assert "Joint entity+relation uncertainty with diversity" in head and "uncertainty 0.430" in head
    # three dashed suggestions with their confidence, and one dashed arc
    assert len(browser.find_elements(By.CSS_SELECTOR, "#ed-over line.bar.sugg")) == 3
    assert len(browser.find_elements(By.CSS_SELECTOR, "#ed-over path.arc.sugg")) == 1
    items = browser.find_element(By.ID, "ed-suggestions").text
    assert "HbA1c 93%" in items and "> 7% 81%" in items and "within 3 months 55%" in items
    assert screenshot("annotation-suggestions").stat().st_size > 0
    browser.find_element(By.CSS_SELECTOR, '[data-accept="sm:0"]').click()   # Measurement HbA1c
    browser.find_element(By.CSS_SELECTOR, '[data-reject="sm:2"]').click()   # Temporal
    _idle(browser)
    assert _decisions(members["annotator"]) == [("mention", 0, "accepted"), ("mention", 2, "rejected")]
    assert [m["type"] for m in _state(browser)["mentions"]] == ["Measurement"]
    # what is left (the Value and the relation) goes in one step
    browser.find_element(By.ID, "ed-accept-all").click()
    _idle(browser)
    assert _decisions(members["annotator"]) == [("mention", 0, "accepted"), ("mention", 1, "accepted"),
                                                ("mention", 2, "rejected"), ("relation", 0, "accepted")]
    _saved(browser)
    annotation = Annotation.objects.get(sentence=data["sentences"][HBA1C], annotator=members["annotator"])
    assert _mentions(annotation) == [("Measurement", "HbA1c"), ("Value", "> 7%")]
    assert [r["type"] for r in annotation_state(annotation=annotation)["relations"]] == ["Has_value"]
    assert "nothing left to decide" in browser.find_element(By.ID, "ed-suggestions").text
    row = SuggestionDecision.objects.get(user=members["annotator"], kind="mention", index=2)
    assert row.label == "Temporal" and row.item["fragments"] == [[11, 26]] and row.model_version == data["version"]


def test_submit_lands_on_the_next_queued_sentence_and_skip_moves_on(browser, login, members, project, data):
    login(members["annotator"])
    _open(browser, f"/projects/{project.pk}/annotate/")
    assert f"/sentences/{data['sentences'][HBA1C].pk}/" in browser.current_url
    _drag(browser, "HbA1c", "HbA1c")
    _keys(browser, "m")
    browser.find_element(By.ID, "ed-submit").click()
    WebDriverWait(browser, 10).until(lambda b: f"/sentences/{data['sentences'][CANCER].pk}/" in b.current_url)
    annotation = Annotation.objects.get(sentence=data["sentences"][HBA1C], annotator=members["annotator"])
    assert annotation.status == "submitted" and _mentions(annotation) == [("Measurement", "HbA1c")]
    # suggestions left undecided get the decision the submitted annotation implies
    assert _decisions(members["annotator"]) == [("mention", 0, "accepted"), ("mention", 1, "rejected"),
                                                ("mention", 2, "rejected"), ("relation", 0, "rejected")]
    # skip: CANCER is put aside, BMI (next by score) comes, then ADULTS
    WebDriverWait(browser, 15).until(lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-editor-ready"))
    browser.find_element(By.ID, "ed-skip").click()
    WebDriverWait(browser, 10).until(lambda b: f"/sentences/{data['sentences'][BMI].pk}/" in b.current_url)
    assert not Annotation.objects.filter(sentence=data["sentences"][CANCER]).exists()


def test_a_stale_save_shows_what_changed_and_keeps_the_users_work(browser, login, members, project, data,
                                                                  screenshot):
    sentence = data["sentences"][CANCER]
    me = members["annotator"]
    login(me)
    _open_sentence(browser, project, sentence)
    _drag(browser, "ovarian", "cancer")
    _keys(browser, "c")
    _saved(browser)
    assert browser.execute_script("return TMEditor.version();") == 1
    # meanwhile the same annotation is changed on the server (another tab, a script through the API)
    annotation_save(sentence=sentence, actor=me, version=1, mentions=[
        {"id": "a", "type": "Condition", "fragments": [[10, 24]]},
        {"id": "b", "type": "Drug", "fragments": [[38, 47]]},
    ])
    _drag(browser, "within", "years")
    _keys(browser, "t")
    dialog = WebDriverWait(browser, 10).until(lambda b: b.find_element(By.ID, "ed-conflict").is_displayed()
                                              and b.find_element(By.ID, "ed-conflict"))
    theirs, mine = (s.text for s in dialog.find_elements(By.CSS_SELECTOR, ".ed-diff section"))
    assert "They added\nDrug tamoxifen" in theirs
    assert "Only in yours\nTemporal within 5 years" in mine
    assert "Only on the server\nDrug tamoxifen" in mine
    assert screenshot("annotation-conflict").stat().st_size > 0
    # nothing was overwritten: the server still has theirs, the page still has mine
    assert _mentions(Annotation.objects.get(sentence=sentence, annotator=me)) == [
        ("Condition", "ovarian cancer"), ("Drug", "tamoxifen")]
    assert sorted(m["type"] for m in _state(browser)["mentions"]) == ["Condition", "Temporal"]
    # take theirs, then Undo brings mine back; keep mine on the next conflict overwrites
    browser.find_element(By.ID, "ed-take-theirs").click()
    assert sorted(m["type"] for m in _state(browser)["mentions"]) == ["Condition", "Drug"]
    browser.find_element(By.ID, "ed-undo").click()
    _saved(browser)
    assert _mentions(Annotation.objects.get(sentence=sentence, annotator=me)) == [
        ("Condition", "ovarian cancer"), ("Temporal", "within 5 years")]
    v = Annotation.objects.get(sentence=sentence, annotator=me).version
    annotation_save(sentence=sentence, actor=me, version=v, mentions=[
        {"id": "b", "type": "Drug", "fragments": [[38, 47]]}])
    _drag(browser, "Breast", "Breast")
    _keys(browser, "c")
    WebDriverWait(browser, 10).until(lambda b: b.find_element(By.ID, "ed-conflict").is_displayed())
    browser.find_element(By.ID, "ed-keep-mine").click()
    _saved(browser)
    assert _mentions(Annotation.objects.get(sentence=sentence, annotator=me)) == [
        ("Condition", "Breast"), ("Condition", "ovarian cancer"), ("Temporal", "within 5 years")]


def test_keyboard_only_main_loop(browser, login, members, project, data, screenshot):
    me = members["annotator"]
    login(me)
    # next: the queue URL (no mouse from here on)
    _open(browser, f"/projects/{project.pk}/annotate/")
    assert f"/sentences/{data['sentences'][HBA1C].pk}/" in browser.current_url
    # suggestions: Tab to the first one (after the text's mentions: none yet), Enter accepts it
    _keys(browser, Keys.TAB)
    assert "Suggested" in browser.find_element(By.ID, "ed-selected").text
    _keys(browser, Keys.ENTER)
    # a mention typed from the keyboard: "months" is word 6 (HbA1c > 7 % within 3 months) -> Temporal
    _keys(browser, Keys.HOME)
    _keys(browser, *([Keys.ARROW_RIGHT] * 4))  # within
    _chord(browser, Keys.SHIFT, Keys.ARROW_RIGHT)
    _chord(browser, Keys.SHIFT, Keys.ARROW_RIGHT)  # within 3 months
    _keys(browser, "t")
    # reject the remaining Temporal suggestion? it is the same words as ours, so it is already taken;
    # accept everything else at once
    _chord(browser, Keys.SHIFT, Keys.ENTER)
    st = _state(browser)
    assert sorted(m["type"] for m in st["mentions"]) == ["Measurement", "Temporal", "Value"]
    assert [r["type"] for r in st["relations"]] == ["Has_value"]
    # relate: Tab to HbA1c (the first mention), ">" , Tab to the tail "within 3 months", Enter, pick the type
    _keys(browser, Keys.ESCAPE, Keys.ESCAPE)
    _keys(browser, Keys.TAB)
    assert "HbA1c" in browser.find_element(By.ID, "ed-selected").text
    _keys(browser, ">")
    _keys(browser, Keys.TAB, Keys.TAB)  # HbA1c -> > 7% -> within 3 months
    _keys(browser, Keys.ENTER)
    offered = browser.find_element(By.ID, "ed-relmenu").text
    assert "Has_temporal" in offered and "Has_value" not in offered
    screenshot("annotation-keyboard-relate")
    _keys(browser, "1")
    st = _state(browser)
    assert sorted(r["type"] for r in st["relations"]) == ["Has_temporal", "Has_value"]
    # help overlay
    _keys(browser, "?")
    assert browser.find_element(By.ID, "ed-help").is_displayed()
    screenshot("annotation-help")
    _keys(browser, Keys.ESCAPE)
    assert not browser.find_element(By.ID, "ed-help").is_displayed()
    # submit with Ctrl+Enter: the next sentence of the queue opens
    _chord(browser, Keys.CONTROL, Keys.ENTER)
    WebDriverWait(browser, 10).until(lambda b: f"/sentences/{data['sentences'][CANCER].pk}/" in b.current_url)
    annotation = Annotation.objects.get(sentence=data["sentences"][HBA1C], annotator=me)
    assert annotation.status == "submitted"
    assert _mentions(annotation) == [("Measurement", "HbA1c"), ("Temporal", "within 3 months"), ("Value", "> 7%")]
    assert sorted(r["type"] for r in annotation_state(annotation=annotation)["relations"]) == [
        "Has_temporal", "Has_value"]
    # the Temporal typed by hand equals the third suggestion: submitting records it as accepted
    assert _decisions(me) == [("mention", 0, "accepted"), ("mention", 1, "accepted"), ("mention", 2, "accepted"),
                              ("relation", 0, "accepted")]


def test_a_viewer_sees_gold_read_only_and_cannot_write(browser, login, members, project, data):
    sentence = data["sentences"][BMI]
    annotation_save(sentence=sentence, actor=members["curator"], gold=True, version=0, mentions=[
        {"id": "1", "type": "Measurement", "fragments": [[0, 15]]},
        {"id": "2", "type": "Value", "fragments": [[18, 26]]}], relations=[{"type": "Has_value", "head": "1", "tail": "2"}])
    login(members["viewer"])
    _open_sentence(browser, project, sentence)
    assert "Read only" in browser.find_element(By.CLASS_NAME, "ed-readonly").text
    assert not browser.find_elements(By.ID, "ed-submit") and not browser.find_elements(By.ID, "ed-undo")
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-del-mention]")
    assert all(not b.is_enabled() for b in browser.find_elements(By.CSS_SELECTOR, "#ed-palette button"))
    # the gold version is drawn (non-ASCII offsets land on the right characters)
    labels = browser.find_element(By.ID, "ed-mentions").text
    assert "Body mass index" in labels and "25 kg/m²" in labels
    assert len(browser.find_elements(By.CSS_SELECTOR, "#ed-over rect.bar")) == 2
    _drag(browser, "Body", "index")
    _keys(browser, "c")
    assert len(_state(browser)["mentions"]) == 2
    # and the server refuses a write even if the page were tricked into one
    status = browser.execute_async_script("""
        var done = arguments[1];
        fetch(arguments[0], {method: 'PUT', credentials: 'same-origin', headers: {'Content-Type': 'application/json',
          'X-CSRFToken': document.cookie.replace(/.*csrftoken=([^;]+).*/, '$1')},
          body: JSON.stringify({version: 0, mentions: []})}).then(r => done(r.status));""",
        f"/api/projects/{project.pk}/sentences/{sentence.pk}/annotation/")
    assert status == 403
    assert not Annotation.objects.filter(sentence=sentence, annotator=members["viewer"]).exists()


def test_the_page_never_shows_another_annotators_work(browser, login, members, project, data):
    annotation_save(sentence=data["sentences"][ADULTS], actor=members["curator"], version=0, mentions=[
        {"id": "1", "type": "Value", "fragments": [[12, 20]]}])
    login(members["annotator"])
    _open_sentence(browser, project, data["sentences"][ADULTS])
    assert _state(browser)["mentions"] == []
    assert "18 to 75" not in browser.find_element(By.ID, "ed-mentions").text


def test_offsets_are_code_points_across_astral_characters_and_crlf(browser, login, members, project, data):
    sentence = data["sentences"][ADULTS]
    sentence.text = "Adults 😀 aged\r\n18 to 75 years (Ünal ≥ 2) ok"
    sentence.save()
    login(members["annotator"])
    _open_sentence(browser, project, sentence)
    _drag(browser, "18", "years")
    _keys(browser, "v")
    _drag(browser, "ok", "ok")
    _keys(browser, "c")
    _saved(browser)
    annotation = Annotation.objects.get(sentence=sentence, annotator=members["annotator"])
    text = sentence.text
    frags = sorted(m["fragments"][0] for m in annotation_state(annotation=annotation)["mentions"])
    assert frags == [[text.index("18"), text.index("years") + 5], [text.index("ok"), len(text)]]
    assert _mentions(annotation) == [("Condition", "ok"), ("Value", "18 to 75 years")]


DENSE = ("Type 2 diabetes mellitus with HbA1c ≥ 7.5% within 3 months; breast or ovarian cancer treated with "
         "tamoxifen; eGFR < 45 mL/min/1.73 m² at screening; prior exposure to anti-PD-1 antibodies in the last "
         "6 months")


def _span(word, nth=0):
    start = -1
    for _ in range(nth + 1):
        start = DENSE.index(word, start + 1)
    return [start, start + len(word)]


def test_a_dense_criterion_stays_legible(browser, login, members, project, data, screenshot):
    sentence = data["sentences"][CANCER]
    sentence.text = DENSE
    sentence.save()
    m = {
        "dm": ("Condition", [_span("Type 2 diabetes mellitus")]), "d": ("Condition", [_span("diabetes mellitus")]),
        "hb": ("Measurement", [_span("HbA1c")]), "v1": ("Value", [_span("≥ 7.5%")]),
        "t1": ("Temporal", [_span("within 3 months")]),
        "bc": ("Condition", [_span("breast"), _span("cancer")]), "oc": ("Condition", [_span("ovarian cancer")]),
        "tam": ("Drug", [_span("tamoxifen")]), "egfr": ("Measurement", [_span("eGFR")]),
        "v2": ("Value", [_span("< 45 mL/min/1.73 m²")]), "t2": ("Temporal", [_span("at screening")]),
        "pd1": ("Drug", [_span("anti-PD-1 antibodies")]), "pd": ("Drug", [_span("anti-PD-1")]),
        "t3": ("Temporal", [_span("in the last 6 months")]),
    }
    annotation_save(sentence=sentence, actor=members["annotator"], version=0,
                    mentions=[{"id": k, "type": t, "fragments": f} for k, (t, f) in m.items()],
                    relations=[{"type": "Has_value", "head": "hb", "tail": "v1"},
                               {"type": "Has_temporal", "head": "hb", "tail": "t1"},
                               {"type": "Has_value", "head": "egfr", "tail": "v2"},
                               {"type": "Has_temporal", "head": "egfr", "tail": "t2"},
                               {"type": "AND", "head": "bc", "tail": "oc"},
                               {"type": "Has_temporal", "head": "pd1", "tail": "t3"},
                               {"type": "Has_temporal", "head": "dm", "tail": "t3"}])
    login(members["annotator"])
    _open_sentence(browser, project, sentence)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#ed-over path.arc")) == 7
    # no two mention labels overlap, no two relation labels overlap
    for selector in ("#ed-over text.lbl", "#ed-over rect.arc-lbl-bg"):
        boxes = browser.execute_script(
            "return Array.from(document.querySelectorAll(arguments[0])).map(e => { var b = e.getBBox(); "
            "return [b.x, b.y, b.x + b.width, b.y + b.height]; });", selector)
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert not (a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5), (
                    selector, a, b)
    assert screenshot("annotation-dense").stat().st_size > 0


def test_reject_all_records_every_pending_suggestion(browser, login, members, project, data):
    login(members["curator"])
    _open_sentence(browser, project, data["sentences"][HBA1C])
    _chord(browser, Keys.SHIFT, Keys.DELETE)
    _idle(browser)
    assert _decisions(members["curator"]) == [("mention", 0, "rejected"), ("mention", 1, "rejected"),
                                              ("mention", 2, "rejected"), ("relation", 0, "rejected")]
    assert not browser.find_elements(By.CSS_SELECTOR, "#ed-over .sugg")
    assert _state(browser)["mentions"] == []
    # undo brings the suggestions back on the page; deciding again replaces the recorded decision
    browser.find_element(By.ID, "ed-undo").click()
    browser.find_element(By.CSS_SELECTOR, '[data-accept="sm:1"]').click()
    _idle(browser)
    assert ("mention", 1, "accepted") in _decisions(members["curator"])
    assert SuggestionDecision.objects.filter(user=members["curator"]).count() == 4
