"""The leaderboard in a real headless browser (Debian's chromium driven by selenium): the front page loads
without console errors, has one row per method, sorts on a header click, and every recipe-card link opens.

Skipped with the reason when chromium, its driver or selenium is missing (.ci/run installs them).
``LTBENCH_UPDATE_SCREENSHOT=1`` also writes the front page's screenshot to docs/leaderboard.png.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from leaderboard_sites import COMMITTED, manifest_labels
from ltbench.cli import main

CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "leaderboard.png"
WINDOW = (1440, 1100)

pytestmark = pytest.mark.slow  # a browser over a built site
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
if not (CHROMIUM.is_file() and DRIVER.is_file()):
    pytest.skip(f"needs Debian's chromium and chromium-driver ({CHROMIUM}, {DRIVER}): "
                "apt-get install -y chromium chromium-driver", allow_module_level=True)

from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "site"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LTBENCH_RESULTS", str(COMMITTED))
        assert main(["leaderboard", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={WINDOW[0]},{WINDOW[1]}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    yield driver
    driver.quit()


def open_page(browser, path: Path) -> None:
    browser.get(path.as_uri())
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, f"{path.name}: console errors {errors}"


def board_rows(browser) -> list:
    return browser.find_elements(By.CSS_SELECTOR, "#T_board-table1-mnist_lt tbody tr")


def column(browser, name: str) -> list[str]:
    headers = [th.text.strip() for th in browser.find_elements(By.CSS_SELECTOR, "#T_board-table1-mnist_lt thead th")]
    index = next(i for i, header in enumerate(headers) if header.startswith(name))
    return [row.find_elements(By.TAG_NAME, "td")[index].text for row in board_rows(browser)]


def test_front_page_has_one_row_per_method_and_no_console_errors(site: Path, browser, tmp_path: Path) -> None:
    open_page(browser, site / "index.html")
    methods = column(browser, "Method")
    assert methods == manifest_labels()  # one row per method of the committed Table 1, in its order
    assert browser.title.startswith("Results")
    shot = tmp_path / "front.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 20_000
    if os.environ.get("LTBENCH_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, SCREENSHOT)


def test_no_cell_of_the_front_board_runs_past_the_right_edge(site: Path, browser) -> None:
    open_page(browser, site / "index.html")
    past = browser.execute_script(
        "const right = document.documentElement.clientWidth;"
        "return [...document.querySelectorAll('#T_board-table1-mnist_lt td')]"
        ".filter(td => td.getBoundingClientRect().right > right || td.scrollWidth > td.clientWidth)"
        ".map(td => td.textContent);")
    assert past == []


def test_clicking_a_header_sorts_the_rows(site: Path, browser) -> None:
    open_page(browser, site / "index.html")
    before = column(browser, "Method")
    header = next(th for th in browser.find_elements(By.CSS_SELECTOR, "#T_board-table1-mnist_lt thead th")
                  if th.text.strip().startswith("Total"))
    header.click()
    totals = [float(cell.split()[0]) for cell in column(browser, "Total")]
    assert totals == sorted(totals) and column(browser, "Method") != before
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    totals = [float(cell.split()[0]) for cell in column(browser, "Total")]
    assert totals == sorted(totals, reverse=True)
    browser.find_elements(By.CSS_SELECTOR, "#T_board-table1-mnist_lt thead th")[0].click()
    assert column(browser, "Method") == sorted(before, key=str.lower)


def test_every_recipe_card_link_opens_its_page(site: Path, browser) -> None:
    links = set()
    for page in [site / "index.html", *sorted((site / "boards").glob("*.html"))]:
        open_page(browser, page)
        links |= {a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "a.card-link")}
    assert len(links) >= 20
    for link in sorted(links):
        browser.get(link)
        heading = browser.find_element(By.TAG_NAME, "h1").text
        assert heading.startswith("Recipe card "), link
        assert browser.find_elements(By.CSS_SELECTOR, "table#T_card tbody tr"), link
        assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"], link
