"""The export page in headless Chromium: recorded exports listed with their manifest and a download link."""

from selenium.webdriver.common.by import By

from annotation.services import export_job_create, export_job_run

from ..monitoring_data import build


def test_export_page_lists_exports(browser, login, members, project, screenshot):
    build(project, members)
    job = export_job_create(project=project, user=members["curator"], fmt="jsonl",
                            options={"gold_only": False, "predictions": 4})
    export_job_run(export_id=job.pk)
    login(members["curator"])
    browser.get(browser.live_url(f"/projects/{project.pk}/export/"))
    table = browser.find_element(By.CSS_SELECTOR, "table.exports").text
    assert "predictions v4" in table and "predictions-v4: 1 docs, 4 mentions, 1 relations" in table
    link = browser.find_element(By.LINK_TEXT, "Download")
    assert link.get_attribute("href").endswith(f"/projects/{project.pk}/exports/{job.pk}/download/")
    options = [o.text for o in browser.find_elements(By.CSS_SELECTOR, "select[name=predictions] option")]
    assert options == ["No predictions", "Version 4 (active)"]
    browser.set_window_size(1400, browser.execute_script("return document.body.scrollHeight") + 40)
    assert screenshot("export-page").stat().st_size > 0
