"""continuum.core.federation.protocol: what a signature covers and the only payloads nodes exchange."""

from __future__ import annotations

import pytest

from continuum.core.federation import protocol
from continuum.errors import InvalidInput, Unauthorized
from continuum.models import FederatedConcept, FederatedLink


def test_signing_input_covers_every_part() -> None:
    base = ("POST", "/v1/federation/exchange/push", 1700000000, "a" * 32, b"{}", "k" * 43)
    reference = protocol.signing_input(*base)
    for i, changed in enumerate(("GET", "/v1/other", 1700000001, "b" * 32, b"{ }", "j" * 43)):
        varied = list(base)
        varied[i] = changed
        assert protocol.signing_input(*varied) != reference, f"part {i} is not covered"
    assert protocol.signing_input("post", *base[1:]) == reference  # the method's case does not matter


def test_node_id_is_derived_from_the_key() -> None:
    assert protocol.node_id("k" * 43) == protocol.node_id("k" * 43) != protocol.node_id("j" * 43)
    assert len(protocol.node_id("k" * 43)) == 16


@pytest.mark.parametrize(
    "headers,fragment",
    [
        ({}, "missing x-continuum-node"),
        ({"X-Continuum-Node": "k", "X-Continuum-Timestamp": "soon", "X-Continuum-Nonce": "n",
          "X-Continuum-Signature": "s"}, "whole seconds"),
    ],
)  # fmt: skip
def test_unsigned_headers_are_refused(headers: dict[str, str], fragment: str) -> None:
    with pytest.raises(Unauthorized) as caught:
        protocol.read_signed(headers)
    assert fragment in caught.value.message


def test_outgoing_payload_holds_names_types_and_rounded_strengths_only() -> None:
    concepts = [FederatedConcept("redis", "technical"), FederatedConcept("aurora", "name")]
    links = [FederatedLink("aurora", "redis", 0.123456), FederatedLink("aurora", "private", 0.9)]
    payload = protocol.concepts_payload(concepts, links)
    assert payload == {
        "concepts": [{"name": "redis", "type": "technical"}, {"name": "aurora", "type": "name"}],
        "links": [{"a": "aurora", "b": "redis", "strength": 0.123}],  # no link to an unshared concept
    }
    assert protocol.parse_concepts_payload(payload) == (concepts, [FederatedLink("aurora", "redis", 0.123)])


@pytest.mark.parametrize(
    "payload,fragment",
    [
        ([], "body: must be an object"),
        ({"concepts": [], "links": [], "tenant_id": "t"}, "unexpected field 'tenant_id'"),
        ({"concepts": [{"name": "x", "type": "name", "created_at": "2030"}], "links": []}, "'created_at'"),
        ({"concepts": [{"name": "", "type": "name"}], "links": []}, "concepts[0].name"),
        ({"concepts": [{"name": "x\x00y", "type": "name"}], "links": []}, "control characters"),
        ({"concepts": [{"name": "x", "type": "Bad Type"}], "links": []}, "concepts[0].type"),
        ({"concepts": [{"name": "x", "type": "name"}] * 1001, "links": []}, "at most 1000"),
        ({"concepts": [{"name": "a", "type": "name"}, {"name": "b", "type": "name"}],
          "links": [{"a": "a", "b": "b", "strength": 2}]}, "links[0].strength"),
        ({"concepts": [{"name": "a", "type": "name"}], "links": [{"a": "a", "b": "z", "strength": 0.5}]},
         "same payload"),
    ],
)  # fmt: skip
def test_received_payloads_are_checked_field_by_field(payload: object, fragment: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        protocol.parse_concepts_payload(payload)
    assert fragment in caught.value.message


def test_received_names_are_case_folded_and_links_ordered() -> None:
    concepts, links = protocol.parse_concepts_payload(
        {"concepts": [{"name": " Zeta ", "type": "name"}, {"name": "ALPHA", "type": "name"}],
         "links": [{"a": "zeta", "b": "alpha", "strength": 1}]}
    )  # fmt: skip
    assert [c.name for c in concepts] == ["zeta", "alpha"]
    assert links == [FederatedLink("alpha", "zeta", 1.0)]


@pytest.mark.parametrize("payload", [{"limit": 0}, {"limit": True}, {"limit": 5000}, {"limit": 1, "x": 1}])
def test_pull_limits_are_checked(payload: object) -> None:
    with pytest.raises(InvalidInput):
        protocol.parse_pull(payload)
    assert protocol.parse_pull({"limit": 10}) == 10
