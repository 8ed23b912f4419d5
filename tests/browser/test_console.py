"""The web console in a real browser against a real server: sign in, find, open, edit and
delete memories, the concept graph, the recall playground with its explanation, export and
import; no console error on the way (the page's CSP included), no serious or critical axe
violation in any view, at desktop and mobile width. Screenshots of the views land in
docs/console/ (the README shows them)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from continuum.ids import IdGenerator
from tests.browser.conftest import SHOTS
from tests.support.servers import RunningServer

TURNS = [
    ("I adopted a dog named Biscuit last week.", "Biscuit sounds lovely; a young dog needs daily walks."),
    ("Biscuit loves the beach at Brighton.", "Brighton beach is great for dogs early in the morning."),
    ("My sister Ana lives in Brighton near the pier.", "Then you can visit Ana when you walk Biscuit there."),
    ("I work on the Orion dashboard with FastAPI and PostgreSQL.", "FastAPI and PostgreSQL suit Orion well."),
    ("Orion needs a Redis cache for the charts.", "Redis in front of PostgreSQL keeps Orion's charts fast."),
    ("My blog runs on Django these days.", "Django is a fine choice for a blog."),
]
pytestmark = pytest.mark.slow  # a browser and a server, or an npm build: tens of seconds
VIEWS = ["overview", "memories", "graph", "recall", "data"]


def history_lines(tenant_id: str) -> str:
    """An export of notes from the past weeks (import keeps their times): the growth chart's days."""
    now = datetime.now(UTC)
    ids = IdGenerator()
    lines = [{"type": "header", "format": "continuum-export", "version": 1, "tenant_id": tenant_id,
              "exported_at": now.isoformat()}]  # fmt: skip
    for days_ago in range(24, 0, -1):
        for n in range(days_ago % 4):
            at = now - timedelta(days=days_ago, minutes=n)
            lines.append({
                "type": "memory", "id": ids.new_id(int(at.timestamp() * 1000)),
                "content": f"Walked Biscuit for {20 + n * 10} minutes on day {24 - days_ago}.",
                "role": "user", "instance_id": "pet-bot", "session_id": f"walks-{days_ago}", "metadata": {},
                "created_at": at.isoformat(), "updated_at": at.isoformat(), "expires_at": None,
            })  # fmt: skip
    return "\n".join(json.dumps(line) for line in lines) + "\n"


@pytest.fixture(scope="module")
def tenant(console_server: RunningServer) -> Iterator[tuple[str, str]]:
    """A tenant with a key and what an agent taught it."""
    with console_server.admin() as admin:
        tenant_id = "console-demo"
        key = admin.post("/v1/keys", json={"tenant_id": tenant_id, "name": "console"}).json()["api_key"]
    with console_server.client(key) as client:
        imported = client.post(
            "/v1/import", content=history_lines(tenant_id), headers={"Content-Type": "application/x-ndjson"}
        )
        assert imported.status_code == 200, imported.text
        for user, ai in TURNS:
            response = client.post(
                "/v1/learn",
                json={"user_message": user, "ai_response": ai, "session_id": "s-1", "instance_id": "pet-bot"},
            )
            assert response.status_code == 200, response.text
        stored = client.post(
            "/v1/memories",
            json={
                "content": "Ana's birthday is on 3 March.",
                "role": "user",
                "session_id": "s-2",
                "metadata": {"kind": "fact"},
            },
        )
        assert stored.status_code == 201
    yield tenant_id, key


@pytest.fixture
def page(browser, console_server: RunningServer) -> Iterator[tuple[Page, list[str]]]:
    """A fresh page (its own session storage) and the errors it logs."""
    context = browser.new_context(base_url=console_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("dialog", lambda dialog: dialog.accept())
    yield page, errors
    context.close()


def sign_in(page: Page, key: str) -> None:
    page.goto("/console")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def check_axe(page: Page, axe_source: str, where: str) -> None:
    page.evaluate(axe_source)  # evaluated by the driver: the page's CSP does not apply to it
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{where}: " + "\n".join(bad)


def test_console_is_served_with_its_headers(console_server: RunningServer):
    page = httpx.get(f"{console_server.url}/console")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-cache" and page.headers["x-content-type-options"] == "nosniff"
    scripts = re.findall(r'src="(/console/assets/[^"]+\.js)"', page.text)
    assert scripts, page.text
    asset = httpx.get(f"{console_server.url}{scripts[0]}")
    assert asset.status_code == 200 and asset.headers["content-type"].startswith("text/javascript")
    assert "immutable" in asset.headers["cache-control"]
    for missing in ("/console/nope.js", "/console/../pyproject.toml", "/console/assets/%2e%2e/index.html"):
        response = httpx.get(f"{console_server.url}{missing}")
        assert response.status_code == 404, missing
    assert "X-API-Key" not in page.text and "api_key=" not in page.text


def test_the_console_flow(page, tenant, console_server, axe_source):
    page, errors = page
    tenant_id, key = tenant
    sign_in(page, key)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.locator(".counts")).to_contain_text("Memories")
    expect(page.get_by_role("heading", name="Recent activity")).to_be_visible()
    assert key not in page.url and page.evaluate("sessionStorage.getItem('continuum.console.key')") == key
    page.screenshot(path=SHOTS / "overview.png", full_page=True)

    # memories: filters, search, open one, edit it
    page.get_by_role("link", name="Memories").click()
    expect(page.get_by_role("heading", name="Memories")).to_be_visible()
    page.get_by_label("Session").fill("s-2")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("region", name="Memories")).to_contain_text("Ana's birthday")
    page.get_by_label("Session").fill("")
    page.get_by_label("Search", exact=True).fill("Biscuit beach")
    page.get_by_role("button", name="Apply").click()
    results = page.get_by_role("region", name="Memories")
    expect(results).to_contain_text("Brighton")
    page.screenshot(path=SHOTS / "memories.png", full_page=True)
    results.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Memory", exact=True)).to_be_visible()
    content = page.get_by_label("Content")
    content.fill("Biscuit loves the beach at Brighton, and the dunes at Camber.")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".content")).to_have_text("Biscuit loves the beach at Brighton, and the dunes at Camber.")
    expect(page.locator(".history")).to_contain_text("update")
    memory_url = page.url
    page.screenshot(path=SHOTS / "memory.png", full_page=True)

    # the concept graph: click a concept, see its neighbours and memories
    page.get_by_role("link", name="Concept graph").click()
    expect(page.locator(".graph canvas").first).to_be_attached()
    concepts = page.get_by_role("navigation", name="Concepts")
    concepts.get_by_role("button", name=re.compile(r"^Orion \(")).click()
    panel = page.get_by_role("region", name="Selected concept")
    expect(panel.get_by_role("heading", name="Orion")).to_be_visible()
    expect(panel).to_contain_text("Neighbours")
    expect(panel.get_by_role("link").first).to_be_visible()
    page.screenshot(path=SHOTS / "graph.png", full_page=True)
    # a click on a node in the canvas selects it too (cytoscape keeps its instance on its container)
    box = page.locator(".graph").bounding_box()
    at = page.evaluate("document.querySelector('.graph')._cyreg.cy.getElementById('Biscuit').renderedPosition()")
    page.mouse.click(box["x"] + at["x"], box["y"] + at["y"])
    expect(panel.get_by_role("heading", name="Biscuit")).to_be_visible()

    # the recall playground: the context block and each memory's score parts
    page.get_by_role("link", name="Recall playground").click()
    page.get_by_label("Message").fill("When did I adopt Biscuit?")
    page.get_by_role("button", name="Recall").click()
    expect(page.get_by_label("Context block")).to_contain_text("Biscuit")
    expect(page.locator("table.parts").first).to_contain_text("weighted part")
    expect(page.locator("table.parts").first).to_contain_text("lexical")
    page.screenshot(path=SHOTS / "recall.png", full_page=True)

    # delete the edited memory
    page.goto(memory_url)
    page.get_by_role("button", name="Delete memory").click()
    expect(page.get_by_role("heading", name="Memories")).to_be_visible()
    memory_id = memory_url.rsplit("/", 1)[1]
    with console_server.client(key) as client:
        assert client.get(f"/v1/memories/{memory_id}").status_code == 404

    # export, then import it back (everything is already there: all skipped)
    page.get_by_role("link", name="Export / import").click()
    page.get_by_role("button", name="Export this tenant").click()
    save = page.get_by_role("link", name=f"Save continuum-{tenant_id}.jsonl")
    with page.expect_download() as download:
        save.click()
    path = download.value.path()
    lines = path.read_text().splitlines()
    assert json.loads(lines[0])["tenant_id"] == tenant_id and len(lines) > 10
    page.get_by_label("Export file").set_input_files(str(path))
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("form .note")).to_contain_text("Skipped, already present: memory")
    page.screenshot(path=SHOTS / "data.png", full_page=True)
    assert errors == [], errors


def test_admin_key_picks_a_tenant(page, tenant, console_server):
    page, errors = page
    tenant_id, _ = tenant
    sign_in(page, console_server.admin_key)
    expect(page.get_by_role("heading", name="Pick a tenant")).to_be_visible()
    page.get_by_label("Tenant", exact=True).select_option(tenant_id)
    page.get_by_role("button", name="Open").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.locator(".who")).to_contain_text(f"tenant {tenant_id}")
    expect(page.locator(".counts")).to_contain_text("Memories")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0
    assert errors == []


def test_a_refused_key_is_told_and_not_kept(page):
    page, errors = page
    sign_in(page, "ck_not-a-key")
    expect(page.get_by_role("alert")).to_contain_text("invalid API key")
    assert page.evaluate("sessionStorage.length") == 0
    assert [e for e in errors if "401" not in e] == []  # the browser logs the refused request itself


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "mobile"])
def test_every_view_passes_axe_and_fits(browser, console_server, tenant, axe_source, width):
    _, key = tenant
    context = browser.new_context(base_url=console_server.url, viewport={"width": width, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto("/console")
        check_axe(page, axe_source, f"sign-in at {width}px")
        sign_in(page, key)
        for view in VIEWS:
            page.goto(f"/console#/{view}")
            page.wait_for_load_state("networkidle")
            check_axe(page, axe_source, f"{view} at {width}px")
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 1, f"{view} at {width}px scrolls sideways by {overflow}px"
        if width < 600:
            page.goto("/console#/recall")
            page.get_by_label("Message").fill("Where does Ana live?")
            page.get_by_role("button", name="Recall").click()
            expect(page.locator("table.parts").first).to_be_visible()
            check_axe(page, axe_source, f"recall result at {width}px")
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 1, f"the recall result at {width}px scrolls sideways by {overflow}px"
            page.screenshot(path=SHOTS / "mobile-recall.png", full_page=True)
    finally:
        context.close()
    assert errors == []


def test_the_console_is_keyboard_usable(page, tenant):
    page, errors = page
    _, key = tenant
    page.goto("/console")
    expect(page.get_by_label("API key")).to_be_focused()
    page.keyboard.type(key)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    page.goto("/console#/recall")
    expect(page.get_by_label("Message")).to_be_focused()
    page.keyboard.type("Orion charts")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_label("Context block")).to_contain_text("Orion")
    assert errors == []
