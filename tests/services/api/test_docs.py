"""/docs works without internet: Swagger UI's page and assets come from the API itself, endpoints grouped by tag."""

import re

from civicflow.services.api.service import BASE, TAGS


def test_the_docs_page_names_no_outside_url(client):
    page = client.get(f"{BASE}/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    outside = [url for url in re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", page.text)
               if re.match(r"(https?:)?//", url)]
    assert outside == [], f"the page loads from elsewhere: {outside}"
    assert "cdn" not in page.text.lower()


def test_the_assets_it_names_are_served(client):
    page = client.get(f"{BASE}/docs").text
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+\.(?:js|css))""", page)
    assert len(assets) >= 2 and all(a.startswith(f"{BASE}/docs-assets/") for a in assets)
    for asset in assets:
        answer = client.get(asset)
        assert answer.status_code == 200 and len(answer.content) > 10_000, asset
    assert "openapi.json" in page


def test_every_documented_operation_has_one_declared_tag(client):
    document = client.get(f"{BASE}/openapi.json").json()
    declared = [tag["name"] for tag in document["tags"]]
    assert declared == [tag["name"] for tag in TAGS]
    used = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert len(operation.get("tags", [])) == 1, f"{method.upper()} {path}"
            used.update(operation["tags"])
    assert used == set(declared)
    assert document["paths"][f"{BASE}/servicerequestupdates.json"]["post"]["tags"] == ["updates"]
    assert document["paths"][f"{BASE}/tokens/{{token}}.json"]["get"]["tags"] == ["requests"]
