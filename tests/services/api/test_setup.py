"""The API's configuration: the keys file is checked at start, and jurisdiction_id is needed only when the server
serves several jurisdictions."""

import pytest
from fastapi.testclient import TestClient

from civicflow.services.api import keys as api_keys
from civicflow.services.api.exceptions import ApiConfigError
from civicflow.services.api.service import create_app
from civicflow.streams.settings import Settings
from tests.services.api.helpers import BASE, descriptions


def test_the_demo_keys_load_with_their_channels_and_agencies(jurisdictions):
    keys = api_keys.load(Settings().api_keys_file, jurisdictions=jurisdictions)
    assert keys["demo-mobile-key"].channel == "mobile" and keys["demo-mobile-key"].agency is None
    assert keys["demo-dot-agency-key"].agency == "DOT"


@pytest.mark.parametrize(("text", "expected"), [
    ("keys: {k: {client: c, channel: carrier-pigeon}}", "channel"),
    ("keys: {k: {client: c, channel: web, agency: FBI}}", "'FBI' is no jurisdiction's agency"),
    ("keys: {k: {client: c, channel: web, colour: red}}", "colour"),
    ("keys: [", "not valid YAML"),
])
def test_a_bad_keys_file_stops_the_api_naming_the_problem(jurisdictions, engine, tmp_path, text, expected):
    path = tmp_path / "keys.yaml"
    path.write_text(text)
    with pytest.raises(ApiConfigError, match=expected):
        create_app(settings=Settings(api_keys_file=path), jurisdictions=jurisdictions, engine=engine,
                   submit=list.append, send_update=list.append)


def test_a_missing_keys_file_stops_the_api(jurisdictions, engine, tmp_path):
    with pytest.raises(ApiConfigError, match="cannot be read"):
        create_app(settings=Settings(api_keys_file=tmp_path / "none.yaml"), jurisdictions=jurisdictions,
                   engine=engine, submit=list.append, send_update=list.append)


def test_with_several_jurisdictions_the_id_is_required(jurisdictions, engine, sent):
    several = {"nyc": jurisdictions["nyc"], "nyc_copy": jurisdictions["nyc"]}
    client = TestClient(create_app(settings=Settings(), jurisdictions=several, engine=engine, submit=sent.submit,
                                   send_update=sent.send_update, post_wait_s=0))
    for path in ("services.json", "services/noise-residential.json", "requests.json", "servicerequestupdates.json",
                 "requests/x.json", "tokens/x.json"):
        response = client.get(f"{BASE}/{path}")
        assert response.status_code == 400, path
        assert "jurisdiction_id is required" in descriptions(response)
    assert client.get(f"{BASE}/services.json", params={"jurisdiction_id": "nyc"}).status_code == 200
    form = {"api_key": "demo-web-key", "service_code": "noise-residential", "address_string": "1 Times Sq",
            "attribute[descriptor]": "loud-music-party"}
    response = client.post(f"{BASE}/requests.json", data=form)
    assert response.status_code == 400 and "jurisdiction_id is required" in descriptions(response)
    assert sent.requests == []
    assert client.post(f"{BASE}/requests.json", data={**form, "jurisdiction_id": "nyc"}).status_code == 200
    assert [r["jurisdiction_id"] for r in sent.requests] == ["nyc"]
