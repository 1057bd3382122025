"""The check that MediaNest's API subset files agree with the vendors' documents finds disagreements.

Runs without the vendors' files: each subset file is compared with itself and
with altered copies of itself standing in for a vendor's document.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.standins.overseerr import OVERSEERR_SPEC
from tests.standins.plex import PLEX_CONTRACTS_DIR, PLEX_TV_SPEC, PMS_SPEC
from tests.standins.schema_agreement import disagreements

SUBSETS = [OVERSEERR_SPEC, PLEX_CONTRACTS_DIR / PMS_SPEC, PLEX_CONTRACTS_DIR / PLEX_TV_SPEC]


def altered(tmp_path: Path, source: Path, change: Any) -> Path:
    document = copy.deepcopy(yaml.safe_load(source.read_text()))
    change(document)
    path = tmp_path / f"vendor-{source.name}"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.mark.parametrize("subset", SUBSETS, ids=lambda p: p.name)
def test_a_subset_file_agrees_with_itself(subset: Path) -> None:
    assert disagreements(subset, subset) == []


def test_disagreements_in_requests_are_found(tmp_path: Path) -> None:
    def change(vendor: dict[str, Any]) -> None:
        body = vendor["paths"]["/request"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        body["properties"]["mediaType"]["enum"] = ["tv", "movie"]  # the order is in the server's messages
        body["required"].append("is4k")
        vendor["components"]["parameters"]["take"]["schema"]["type"] = "string"
        vendor["paths"]["/search"]["get"]["parameters"][1]["required"] = True  # page
        del vendor["paths"]["/settings/main"]

    problems = disagreements(OVERSEERR_SPEC, altered(tmp_path, OVERSEERR_SPEC, change))
    assert problems == [
        "GET /user query parameter take: type ['number'] here, ['string'] in the vendor's",
        "GET /search query parameter page: required False here, True in the vendor's",
        "GET /request query parameter take: type ['number'] here, ['string'] in the vendor's",
        "POST /request body: the vendor's requires ['is4k'], not required here",
        "POST /request body.mediaType: values ['movie', 'tv'] here, ['tv', 'movie'] in the vendor's",
        "GET /settings/main: not in the vendor's document",
    ]


def test_disagreements_in_answers_are_found(tmp_path: Path) -> None:
    def change(vendor: dict[str, Any]) -> None:
        schemas = vendor["components"]["schemas"]
        schemas["User"]["properties"]["id"]["type"] = "string"
        del schemas["User"]["properties"]["email"]
        del schemas["User"]["properties"]["plexId"]  # marked x-beyond-vendor-spec: not compared
        schemas["MediaStatus"]["enum"] = [1, 2, 3]
        del vendor["paths"]["/status"]["get"]["responses"]["200"]

    problems = disagreements(OVERSEERR_SPEC, altered(tmp_path, OVERSEERR_SPEC, change))
    assert "GET /status -> 200: not documented in the vendor's document" in problems
    assert "GET /auth/me -> 200.id: type ['integer'] here, ['string'] in the vendor's" in problems
    assert "GET /auth/me -> 200.email: not in the vendor's document" in problems
    assert "GET /request/{requestId} -> 200.media.status: values [4, 5] not in the vendor's" in problems
    assert not any("plexId" in p for p in problems)


def test_a_missing_required_header_and_a_media_type_are_found(tmp_path: Path) -> None:
    pms = PLEX_CONTRACTS_DIR / PMS_SPEC

    def change(vendor: dict[str, Any]) -> None:
        vendor["paths"]["/identity"]["get"]["parameters"] = [
            {"name": "X-Plex-Token", "in": "header", "required": True, "schema": {"type": "string"}}
        ]
        vendor["components"]["responses"]["Jpeg"]["content"] = {"image/png": {"schema": {"type": "string"}}}

    problems = disagreements(pms, altered(tmp_path, pms, change))
    assert "GET /identity: the vendor's requires the header parameter X-Plex-Token" in problems
    assert (
        "GET /library/collections/{collectionId}/composite/{updatedAt} -> 200: image/jpeg not in the vendor's document"
        in problems
    )
