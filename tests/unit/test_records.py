import pytest

from continuum.core.operations.learn import LearnInput
from continuum.core.records import LINK_RATE


def turn(user, ai="Noted."):
    return LearnInput(user_message=user, ai_response=ai)


async def link(services, a, b, tenant="t"):
    links = await services.storage.entity_links(tenant, [a], limit=50)
    return next((x for x in links if {x.concept_a, x.concept_b} == {a, b}), None)


async def test_co_occurrence_creates_then_strengthens_links(services):
    first = await services.engine.learn("t", turn("Orion runs on Kubernetes."))
    assert first.links_created == 1
    created = await link(services, "orion", "kubernetes")
    assert created.strength == pytest.approx(LINK_RATE) and created.occurrences == 1

    again = await services.engine.learn("t", turn("Orion still runs on Kubernetes."))
    assert again.links_created == 0
    strengthened = await link(services, "orion", "kubernetes")
    assert strengthened.strength == pytest.approx(LINK_RATE + LINK_RATE * (1 - LINK_RATE))
    assert strengthened.occurrences == 2


async def test_strength_saturates_below_one(services):
    for _ in range(40):
        await services.engine.learn("t", turn("Orion and Kubernetes again."))
    strength = (await link(services, "orion", "kubernetes")).strength
    assert 0.99 < strength < 1.0


async def test_links_are_stored_once_per_unordered_pair(services):
    await services.engine.learn("t", turn("Kubernetes hosts Orion.", "Orion on Kubernetes."))
    links = await services.storage.entity_links("t", ["orion"], limit=50)
    assert [(x.concept_a, x.concept_b) for x in links] == [("kubernetes", "orion")]


async def test_links_never_cross_tenants(services):
    await services.engine.learn("a", turn("Orion runs on Kubernetes."))
    assert await services.storage.entity_links("b", ["orion"], limit=50) == []
    await services.engine.learn("b", turn("Orion runs on Kubernetes."))
    assert (await link(services, "orion", "kubernetes", tenant="a")).occurrences == 1
    assert (await link(services, "orion", "kubernetes", tenant="b")).occurrences == 1


async def test_strongest_links_first(services):
    for _ in range(3):
        await services.engine.learn("t", turn("Orion needs Redis."))
    await services.engine.learn("t", turn("Orion met Kafka once."))
    detail = await services.engine.get_entity("t", "ORION")
    assert [x.concept for x in detail.links] == ["Redis", "Kafka"]
    assert detail.links[0].strength > detail.links[1].strength
