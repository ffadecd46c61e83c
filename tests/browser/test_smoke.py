"""The browser fixture itself: a member logs in through the real form and sees the project list."""

from selenium.webdriver.common.by import By


def test_login_shows_the_members_projects(browser, login, members, project, screenshot):
    login(members["annotator"])
    body = browser.find_element(By.TAG_NAME, "body").text
    assert project.name in body
    assert screenshot("project-list").stat().st_size > 0


def test_outsider_sees_no_project(browser, login, members, project):
    login(members["outsider"])
    assert project.name not in browser.find_element(By.TAG_NAME, "body").text
