"""The vendor-contract layer: MediaNest's API subsets and stand-ins against the vendors' own documents.

The vendors' OpenAPI files (Overseerr's ``overseerr-api.yml``, the community Plex
documents ``plex-api-spec.yaml`` and ``plex-pms-deref-2025.yaml``) are third-party
documents and not part of the repository. These tests read them from
``MEDIANEST_CONTRACTS`` (default: ``shared/contracts`` beside the checkout); they
are collected only when the files are there, and the terminal summary says so in
one line when they are not (tests/conftest.py). CI always has them.

What they add to the rest of the suite, which checks against MediaNest's own
subset files (tests/contracts/): that those subset files say what the vendors'
documents say, and that the stand-ins' answers and the requests made to them
also pass the vendors' own documents.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.standins.overseerr import OVERSEERR_SPEC, VENDOR_OVERSEERR_SPEC, OverseerrStandin
from tests.standins.plex import (
    PLEX_CONTRACTS_DIR,
    PLEX_TV_SPEC,
    PMS_SPEC,
    VENDOR_PLEX_TV_SPEC,
    VENDOR_PMS_SPEC,
    PlexServerStandin,
    PlexTvStandin,
    load_plex_spec,
    validate_plex_requests,
    validate_plex_responses,
)
from tests.standins.schema_agreement import disagreements
from tests.standins.test_overseerr_standin import DOCUMENTED_NULL_FIELDS, KEY, TIMEOUT, call_every_endpoint
from tests.standins.test_plex_standin import BASE_HEADERS, call_every_pms_endpoint, get, pms_headers

pytestmark = pytest.mark.vendor_contracts

VENDOR_PLEX = {"spec": VENDOR_PMS_SPEC, "tv_spec": VENDOR_PLEX_TV_SPEC}


@pytest.fixture
def overseerr() -> Iterator[OverseerrStandin]:
    with OverseerrStandin(api_key="testkey") as standin:
        yield standin


@pytest.fixture
def pms() -> Iterator[PlexServerStandin]:
    with PlexServerStandin(token="servertoken", machine_identifier="a" * 40) as standin:
        yield standin


@pytest.fixture
def tv() -> Iterator[PlexTvStandin]:
    with PlexTvStandin() as standin:
        yield standin


# ------------------------------------------------------- the subset files agree


def test_overseerr_subset_agrees_with_overseerrs_document() -> None:
    assert disagreements(OVERSEERR_SPEC, VENDOR_OVERSEERR_SPEC) == []


def test_plex_server_subset_agrees_with_the_plex_documents() -> None:
    # The 2026 file first; the classic operations it dropped are in the 2025 file.
    assert disagreements(PLEX_CONTRACTS_DIR / PMS_SPEC, VENDOR_PMS_SPEC, VENDOR_PLEX_TV_SPEC) == []


def test_plex_tv_subset_agrees_with_the_2025_plex_document() -> None:
    assert disagreements(PLEX_CONTRACTS_DIR / PLEX_TV_SPEC, VENDOR_PLEX_TV_SPEC) == []


# ------------------------------------------------------- Overseerr's own document


def test_overseerr_answers_pass_the_vendor_document_except_the_documented_nulls(
    overseerr: OverseerrStandin,
) -> None:
    call_every_endpoint(overseerr, overseerr.api_url)
    assert overseerr.validate_requests(VENDOR_OVERSEERR_SPEC) == []
    assert overseerr.validate_responses(VENDOR_OVERSEERR_SPEC) == []

    # The tolerance covers exactly the documented nulls: without it, nothing else shows up.
    strict = overseerr.validate_responses(VENDOR_OVERSEERR_SPEC, tolerate_documented_quirks=False)
    assert strict
    assert all(any(f"{name}:" in error or f"/{name}:" in error for name in DOCUMENTED_NULL_FIELDS) for error in strict)


def test_overseerrs_document_rejects_what_the_stand_in_rejects(overseerr: OverseerrStandin) -> None:
    api = overseerr.api_url
    requests.post(f"{api}/request", headers=KEY, json={"mediaType": "book", "mediaId": 603}, timeout=TIMEOUT)
    requests.get(f"{api}/request", headers=KEY, params={"sort": "newest"}, timeout=TIMEOUT)
    requests.get(f"{api}/search", headers=KEY, params={"query": "The Matrix"}, timeout=TIMEOUT)
    requests.get(f"{api}/auth/me", timeout=TIMEOUT)
    assert [r.extra["response"]["status"] for r in overseerr.requests] == [400, 400, 400, 401]
    assert overseerr.validate_requests(VENDOR_OVERSEERR_SPEC) == overseerr.validate_requests()
    assert len(overseerr.validate_requests()) == 4


def test_undocumented_error_statuses_are_reported_against_the_vendor_document(overseerr: OverseerrStandin) -> None:
    requests.get(f"{overseerr.api_url}/request/42", headers=KEY, timeout=TIMEOUT)
    assert overseerr.validate_responses(VENDOR_OVERSEERR_SPEC) == []
    assert overseerr.validate_responses(VENDOR_OVERSEERR_SPEC, include_undocumented_statuses=True) == [
        "GET /api/v1/request/42 -> 404: status 404 is not documented in the spec"
    ]


# ---------------------------------------------------------- the Plex documents


def test_a_whole_plex_server_session_passes_the_vendor_documents(pms: PlexServerStandin) -> None:
    call_every_pms_endpoint(pms)
    assert validate_plex_requests(pms, **VENDOR_PLEX) == []
    assert validate_plex_responses(pms, **VENDOR_PLEX) == []


def test_plex_server_refusals_are_not_documented_by_the_2026_document(pms: PlexServerStandin) -> None:
    # Deviation named, not hidden: the 2026 file documents no 400/401 for these
    # operations, so the answer check reports them as ResponseNotFound. (The
    # bodies are the 2025 file's `errors` shape, which the subset file documents.)
    pms.add_library("Movies")
    get(pms, "/library/sections/all", BASE_HEADERS)
    problems = validate_plex_responses(pms, **VENDOR_PLEX)
    assert len(problems) == 1 and "ResponseNotFound" in problems[0] and "401" in problems[0]
    assert validate_plex_responses(pms) == []


def test_the_pin_flow_passes_the_2025_document(tv: PlexTvStandin) -> None:
    pin = requests.post(tv.url + "/api/v2/pins", params={"strong": "true"}, headers=BASE_HEADERS, timeout=TIMEOUT)
    alice = tv.add_account("alice", "alice@example.org", "alice-token", title="Alice")
    tv.grant_server(alice, "a" * 40, owned=True, name="Home", access_token="servertoken")
    get(tv, f"/api/v2/pins/{pin.json()['id']}", BASE_HEADERS)
    tv.claim_pin(pin.json()["code"], alice)
    signed_in = {**BASE_HEADERS, "X-Plex-Token": "alice-token"}
    for endpoint in (f"/api/v2/pins/{pin.json()['id']}", "/api/v2/user", "/api/v2/resources"):
        assert get(tv, endpoint, signed_in).status_code == 200
    assert validate_plex_requests(tv, **VENDOR_PLEX) == []

    # The refusals' bodies are the ones the 2025 file documents too.
    assert get(tv, "/api/v2/user", BASE_HEADERS).status_code == 401
    assert get(tv, "/api/v2/pins/77", BASE_HEADERS).status_code == 404
    assert validate_plex_responses(tv, **VENDOR_PLEX) == []


def test_the_vendor_documents_reject_bad_plex_requests(pms: PlexServerStandin, tv: PlexTvStandin) -> None:
    section = pms.add_library("Movies")
    get(pms, f"/library/sections/{section}/all", **{"X-Plex-Container-Start": "abc"})
    requests.post(
        pms.url + "/library/collections", params={"title": "No section"}, headers=pms_headers(), timeout=TIMEOUT
    )
    get(pms, "/no/such/endpoint")
    problems = validate_plex_requests(pms, **VENDOR_PLEX, contract_checks=False)
    assert any("X-Plex-Container-Start" in p and "CastError" in p for p in problems)
    assert any("/library/collections" in p and "sectionId" in p for p in problems)
    assert any("/no/such/endpoint" in p and "PathNotFound" in p for p in problems)

    requests.get(tv.url + "/api/v2/pins/12", headers={"Accept": "application/json"}, timeout=TIMEOUT)
    requests.get(tv.url + "/api/v2/pins/not-a-number", headers=BASE_HEADERS, timeout=TIMEOUT)
    tv_problems = validate_plex_requests(tv, **VENDOR_PLEX, contract_checks=False)
    assert any("MissingRequiredParameter" in p and "X-Plex-Client-Identifier" in p for p in tv_problems)
    assert any("not-a-number" in p and "pinID" in p for p in tv_problems)


def test_vendor_documents_are_loaded_once_per_process() -> None:
    assert load_plex_spec(VENDOR_PMS_SPEC) is load_plex_spec(VENDOR_PMS_SPEC)
    assert load_plex_spec(VENDOR_PLEX_TV_SPEC) is not load_plex_spec(PLEX_TV_SPEC)
