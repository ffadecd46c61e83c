"""Review, settings and overview pages in a real headless Chromium against a live server."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from annotation import selectors
from annotation.models import Annotation, EntityType, ModelStatus, ModelVersion, Project

from ..review_data import TEXT, build


def _wait(browser, condition, timeout: float = 10):
    return WebDriverWait(browser, timeout).until(condition)


def _click_and_reload(browser, element):
    """Click a button that posts the page, and wait for the new page."""
    old = browser.find_element(By.TAG_NAME, "html")
    element.click()
    _wait(browser, lambda b: old.id != b.find_element(By.TAG_NAME, "html").id)


def _full_page(browser, screenshot, name: str):
    """A screenshot of the whole page (a window cannot grow past the headless screen; the emulated
    viewport can), taken from the top."""
    browser.execute_script("window.scrollTo(0, 0)")
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": 1400, "height": height, "deviceScaleFactor": 1, "mobile": False})
    try:
        return screenshot(name)
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def _gold(sentence) -> tuple[list, list]:
    state = selectors.annotation_state(annotation=Annotation.objects.get(sentence=sentence, annotator__isnull=True))
    text = {m["id"]: (m["type"], TEXT[m["fragments"][0][0]:m["fragments"][-1][1]]) for m in state["mentions"]}
    return (sorted(text.values()),
            sorted((r["type"], text[r["head"]][1], text[r["tail"]][1]) for r in state["relations"]))


def test_curator_adjudicates_two_disagreeing_annotators(browser, login, members, project, screenshot):
    data = build(project)
    login(members["curator"])
    browser.get(browser.live_url(f"/projects/{project.pk}/review/"))
    rows = browser.find_elements(By.CSS_SELECTOR, ".review-table tbody tr")
    assert len(rows) == 2 and "is-disputed" in rows[0].get_attribute("class")
    _full_page(browser, screenshot, "review-list")
    _click_and_reload(browser, rows[0].find_element(By.TAG_NAME, "a"))

    versions = browser.find_elements(By.CSS_SELECTOR, ".version")
    assert [v.get_attribute("data-annotator") for v in versions] == ["alice", "bob"]
    # Side by side: the two versions share a row.
    assert versions[0].location["y"] == versions[1].location["y"] and versions[0].location["x"] < versions[1].location["x"]
    # Each version marks the Temporal mention only it has, and the agreed ones as agreed.
    for v in versions:
        assert len(v.find_elements(By.CSS_SELECTOR, ".m.diff")) == 1
        assert len(v.find_elements(By.CSS_SELECTOR, ".m.agree")) == 3

    _click_and_reload(browser, browser.find_element(By.ID, "accept-agreed"))
    assert "Accepted 4 agreed item(s)" in browser.find_element(By.CSS_SELECTOR, ".messages").text
    assert browser.find_element(By.ID, "accept-agreed").get_attribute("disabled")
    gold_box = browser.find_element(By.ID, "gold")
    assert "3 mentions, 1 relation" in gold_box.text
    # The one disputed relation bob made (HbA1c → within 3 months) goes into the gold, with its Temporal.
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "#relation-items tbody tr")
               if "Has_temporal" in r.text)
    assert "disputed" in row.text
    _click_and_reload(browser, row.find_element(By.CSS_SELECTOR, "button.accept"))
    assert "4 mentions, 2 relations" in browser.find_element(By.ID, "gold").text
    assert _full_page(browser, screenshot, "review-page").stat().st_size > 0
    assert not Annotation.objects.filter(sentence=data["sentence"], annotator__isnull=True).exists()

    _click_and_reload(browser, browser.find_element(By.ID, "submit-gold"))
    assert "Gold saved for sentence 1 of NCT9_inc (version 1)" in browser.find_element(By.CSS_SELECTOR, ".messages").text
    # ... and the next sentence to review is open.
    assert browser.current_url.endswith(f"/sentences/{data['agreed'].pk}/review/")
    mentions, relations = _gold(data["sentence"])
    assert mentions == sorted([("Condition", "Type 2 diabetes"), ("Measurement", "HbA1c"), ("Value", "> 7%"),
                               ("Temporal", "within 3 months")])
    assert relations == sorted([("Has_value", "HbA1c", "> 7%"), ("Has_temporal", "HbA1c", "within 3 months")])


def test_stale_gold_shows_what_changed_and_keeps_the_draft(browser, login, members, project, screenshot):
    from annotation.services import annotation_save

    data = build(project)
    login(members["curator"])
    browser.get(browser.live_url(f"/projects/{project.pk}/sentences/{data['sentence'].pk}/review/"))
    _click_and_reload(browser, browser.find_element(By.ID, "accept-agreed"))
    # Meanwhile an admin writes this sentence's gold somewhere else.
    annotation_save(sentence=data["sentence"], actor=members["admin"], gold=True, version=0,
                    mentions=[{"id": "x", "type": "Drug", "fragments": [[21, 26]]}])
    _click_and_reload(browser, browser.find_element(By.ID, "submit-gold"))
    conflict = browser.find_element(By.ID, "conflict")
    assert "Not saved: admin-user saved the gold of this sentence (version 1)" in conflict.text
    assert "Drug" in conflict.text and "HbA1c" in conflict.text          # what the other one saved
    assert "3 mentions, 1 relation" in browser.find_element(By.ID, "gold").text  # the draft, kept
    assert _full_page(browser, screenshot, "review-conflict").stat().st_size > 0
    assert _gold(data["sentence"])[0] == [("Drug", "HbA1c")]
    _click_and_reload(browser, conflict.find_element(By.XPATH, ".//button[contains(., 'Overwrite')]"))
    assert _gold(data["sentence"])[0] == sorted([("Condition", "Type 2 diabetes"), ("Measurement", "HbA1c"),
                                                 ("Value", "> 7%")])


def test_gold_draft_retype_and_delete(browser, login, members, project):
    data = build(project)
    login(members["admin"])
    browser.get(browser.live_url(f"/projects/{project.pk}/sentences/{data['sentence'].pk}/review/"))
    _click_and_reload(browser, browser.find_element(By.ID, "accept-agreed"))
    item = next(li for li in browser.find_elements(By.CSS_SELECTOR, "#gold .gold-items li")
                if li.text.startswith("Type 2 diabetes"))
    old = browser.find_element(By.TAG_NAME, "html")
    Select(item.find_element(By.TAG_NAME, "select")).select_by_visible_text("Drug")  # submits on change
    _wait(browser, lambda b: old.id != b.find_element(By.TAG_NAME, "html").id)
    item = next(li for li in browser.find_elements(By.CSS_SELECTOR, "#gold .gold-items li")
                if li.text.startswith("Type 2 diabetes"))
    assert Select(item.find_element(By.TAG_NAME, "select")).first_selected_option.text == "Drug"
    _click_and_reload(browser, item.find_element(By.CSS_SELECTOR, "button.remove"))
    assert "2 mentions, 1 relation" in browser.find_element(By.ID, "gold").text


def test_admin_edits_schema_and_guideline(browser, login, members, project, screenshot):
    build(project)
    login(members["admin"])
    browser.get(browser.live_url(f"/projects/{project.pk}/settings/schema/"))
    # Add an entity type.
    add = browser.find_element(By.CSS_SELECTOR, "#entity-types .add-row")
    add.find_element(By.NAME, "name").send_keys("Procedure")
    add.find_element(By.NAME, "hotkey").send_keys("p")
    _click_and_reload(browser, add.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "Entity type Procedure added." in browser.find_element(By.CSS_SELECTOR, ".messages").text
    # Rename Drug to Medication and recolour it.
    row = browser.find_element(By.CSS_SELECTOR, '#entity-types tr[data-type="Drug"]')
    name = row.find_element(By.NAME, "name")
    name.clear()
    name.send_keys("Medication")
    browser.execute_script("arguments[0].value = '#8c564b';", row.find_element(By.NAME, "colour"))
    _click_and_reload(browser, row.find_element(By.XPATH, ".//button[text()='Save']"))
    drug = EntityType.objects.get(project=project, name="Medication")
    assert drug.colour == "#8c564b" and drug.hotkey == "d"
    # Deleting a used type is refused, with the reason.
    row = browser.find_element(By.CSS_SELECTOR, '#entity-types tr[data-type="Temporal"]')
    _click_and_reload(browser, row.find_element(By.XPATH, ".//button[text()='Delete']"))
    assert "Temporal is used by 2 mention(s)" in browser.find_element(By.CSS_SELECTOR, ".messages").text
    assert _full_page(browser, screenshot, "settings-page").stat().st_size > 0

    browser.get(browser.live_url(f"/projects/{project.pk}/settings/"))
    Select(browser.find_element(By.NAME, "queue_strategy")).select_by_visible_text("Entropy")
    _click_and_reload(browser, browser.find_element(By.CSS_SELECTOR, ".settings-form button[type=submit]"))
    assert "Settings saved." in browser.find_element(By.CSS_SELECTOR, ".messages").text
    assert Project.objects.get(pk=project.pk).queue_strategy == "entropy"
    _full_page(browser, screenshot, "settings-project")

    browser.get(browser.live_url(f"/projects/{project.pk}/settings/guideline/"))
    box = browser.find_element(By.NAME, "guideline")
    box.clear()
    box.send_keys("# Conditions\n\nMark **diseases**, not symptoms.\n\n| Type | Example |\n|---|---|\n"
                  "| Value | > 7% |\n\n<script>document.title='pwned'</script>")
    _click_and_reload(browser, browser.find_element(By.CSS_SELECTOR, "button[value=preview]"))
    assert browser.find_element(By.CSS_SELECTOR, "#guideline-preview strong").text == "diseases"
    _click_and_reload(browser, browser.find_element(By.CSS_SELECTOR, "button[value=save]"))
    assert "Guideline saved (version 2)." in browser.find_element(By.CSS_SELECTOR, ".messages").text
    browser.get(browser.live_url(f"/projects/{project.pk}/guideline/"))
    assert browser.find_element(By.CSS_SELECTOR, "#guideline h1").text == "Conditions"
    _full_page(browser, screenshot, "guideline-page")
    assert "pwned" not in browser.title
    assert Project.objects.get(pk=project.pk).guideline.startswith("# Conditions")


def test_overview_progress_and_live_training_bar(browser, login, members, project, screenshot):
    build(project)
    ModelVersion.objects.create(project=project, number=1, architecture="span.v1", status=ModelStatus.ACTIVE,
                                trained_on_gold_count=120,
                                metrics={"entities": {"micro": {"f1": 71.2}}, "relations": {"micro": {"f1": 44.5}}})
    training = ModelVersion.objects.create(
        project=project, number=2, architecture="span.v1", status=ModelStatus.TRAINING,
        progress={"phase": "train", "epoch": 1, "epochs": 4, "percent": 12.5, "eta_s": 300, "loss": 0.91})
    login(members["admin"])
    browser.get(browser.live_url(f"/projects/{project.pk}/"))
    bar = browser.find_element(By.CSS_SELECTOR, "#training .bar.train")
    assert bar.get_attribute("style") == "width: 12.5%;"
    # The worker reports progress: the page follows without a reload.
    ModelVersion.objects.filter(pk=training.pk).update(
        progress={"phase": "train", "epoch": 3, "epochs": 4, "percent": 62.5, "eta_s": 150, "loss": 0.42})
    _wait(browser, lambda b: "62.5%" in b.find_element(By.ID, "training").text)
    meta = browser.find_element(By.CSS_SELECTOR, "#training .training-meta").text
    assert "epoch 3 of 4" in meta and "about 3 min left" in meta and "loss 0.420" in meta
    assert "Version 1" in browser.find_element(By.ID, "active-model").text
    states = {r.get_attribute("data-state"): r.text for r in browser.find_elements(By.CSS_SELECTOR, ".state-row")}
    assert "3 / 3" in states["submitted"] and "0 / 3" in states["gold"]
    assert _full_page(browser, screenshot, "project-overview").stat().st_size > 0
    # When the training ends, the page reloads to show the new state.
    ModelVersion.objects.filter(pk=project.model_versions.get(number=1).pk).update(status=ModelStatus.RETIRED)
    ModelVersion.objects.filter(pk=training.pk).update(status=ModelStatus.ACTIVE)
    _wait(browser, lambda b: "Version 2" in b.find_element(By.ID, "active-model").text, timeout=15)
    assert not browser.find_element(By.ID, "training").is_displayed()


def test_viewer_and_annotator_get_no_review_or_settings(browser, login, members, project):
    data = build(project)
    for who in ("viewer", "annotator"):
        browser.delete_all_cookies()
        login(members[who])
        browser.get(browser.live_url(f"/projects/{project.pk}/"))
        nav = browser.find_element(By.CSS_SELECTOR, ".project-nav").text
        assert "Overview" in nav and "Guideline" in nav
        assert "Review" not in nav and "Settings" not in nav
        actions = browser.find_element(By.CSS_SELECTOR, ".page-head .actions").text
        assert "Review" not in actions and "Settings" not in actions and "Upload" not in actions
        for path in ("review/", f"sentences/{data['sentence'].pk}/review/", "settings/", "settings/schema/"):
            browser.get(browser.live_url(f"/projects/{project.pk}/{path}"))
            assert browser.title.startswith("Not allowed"), (who, path)
            assert f"Your role ({who}) may not do this" in browser.find_element(By.TAG_NAME, "main").text
