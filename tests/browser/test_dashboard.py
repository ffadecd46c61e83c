"""The dashboard in a real headless Chromium: the vendored Chart.js draws every chart."""

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from ..monitoring_data import build

CHARTS = ["chart-history", "chart-learning", "chart-per-type", "chart-reliability", "chart-suggestions",
          "chart-throughput"]


def test_dashboard_draws_its_charts(browser, login, members, project, screenshot):
    build(project, members)
    login(members["curator"])
    browser.get(browser.live_url(f"/projects/{project.pk}/dashboard/"))
    WebDriverWait(browser, 15).until(lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-charts-ready"))
    for chart_id in CHARTS:
        # Chart.registry knows a chart per canvas once drawn; its dataset values reach the canvas
        drawn = browser.execute_script(
            "var c = Chart.getChart(arguments[0]); return c ? c.data.datasets.length : 0;", chart_id)
        assert drawn > 0, chart_id
    history = browser.execute_script("return Chart.getChart('chart-history').data.datasets[0].data;")
    assert history == [50, 33.33, None, 75]
    relations = browser.execute_script("return Chart.getChart('chart-history').data.datasets[1].data;")
    assert relations == [66.67, 0, None, 66.67]
    failed = browser.execute_script("return Chart.getChart('chart-history').data.datasets[2];")
    assert failed["label"] == "Failed" and failed["data"] == [None, None, 0, None]
    # a drawn canvas is not blank: some pixel differs from the first one
    blank = browser.execute_script("""
        var c = document.getElementById('chart-history'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (var i = 4; i < d.length; i += 4) { if (d[i] !== d[0] || d[i + 3] !== d[3]) return false; } return true;""")
    assert blank is False
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Active model: v4" in body and "most disputed sentences" in body.lower() and "NCT9_inc" in body
    # the model-version table is a table: each header sits over its column, and it stays inside its card
    layout = browser.execute_script("""
        var t = document.querySelector('table.model-versions'), card = t.closest('.card');
        var th = t.querySelectorAll('thead th'), td = t.querySelector('tbody tr').querySelectorAll('td');
        return {display: getComputedStyle(t).display, th0: th[0].getBoundingClientRect().left,
                td0: td[0].getBoundingClientRect().left, th7: th[7].getBoundingClientRect().left,
                td7: td[7].getBoundingClientRect().left, right: t.getBoundingClientRect().right,
                cardRight: card.getBoundingClientRect().right};""")
    assert layout["display"] == "table"
    assert abs(layout["th0"] - layout["td0"]) < 2 and abs(layout["th7"] - layout["td7"]) < 2, layout
    assert layout["right"] <= layout["cardRight"] + 1, layout
    browser.set_window_size(1400, browser.execute_script("return document.body.scrollHeight") + 40)
    assert screenshot("dashboard").stat().st_size > 0
