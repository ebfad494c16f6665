"""The ACL plan: every topic has exactly its writers and readers (the broker holds them to it, see
tests/e2e/test_kafka_access.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.center_link import CenterLink
from deploy.kafka_acls import (
    Binding,
    Operation,
    PatternType,
    ResourceType,
    department_cluster_plan,
    exchange_mirror_group,
    exchange_mirror_topics,
    exchange_principal,
    main,
    mirror_group,
    mirror_topics,
    plan,
    redrive,
)
from deploy.kafka_local import KafkaAccess
from shared.topics import CHANNELS, Topics

DEPARTMENTS = ("tax", "fire")
BINDINGS = plan("c1", DEPARTMENTS)
T = Topics("c1")
READ, WRITE, CREATE, DESCRIBE = Operation.READ, Operation.WRITE, Operation.CREATE, Operation.DESCRIBE
TOPIC, GROUP = ResourceType.TOPIC, ResourceType.GROUP
PREFIXED = PatternType.PREFIXED
HZ, XH, SC = Topics("hz"), Topics("xh"), Topics("sc")  # a city and two of its districts
EXCHANGING = plan("hz", DEPARTMENTS, peers=("xh", "sc"))


def allowed(operation: Operation, resource: ResourceType, name: str, bindings: list[Binding] = BINDINGS) -> set[str]:
    """The principals the plan allows this, matching names as the broker does (literal or prefix)."""
    return {
        b.principal
        for b in bindings
        if b.operation is operation
        and b.resource is resource
        and (name.startswith(b.name) if b.pattern is PREFIXED else name == b.name)
    }


def test_each_topic_has_exactly_its_writers_and_readers() -> None:
    """Supervision also writes every topic a consumer reads: the console redrives a dead letter where it came
    from. A department's action it made up would not hold: intake checks the department's signature."""
    expected = {
        T.case_events: ({"intake", "supervision"}, {"gateway", "supervision"}),
        T.work("tax"): ({"intake", "supervision"}, {"department-tax"}),
        T.actions("tax"): ({"department-tax", "supervision"}, {"intake"}),
        T.acknowledgements("tax"): ({"department-tax", "supervision"}, {"supervision"}),
        T.bridge("tax"): ({"department-tax", "supervision"}, {"supervision"}),
        T.feedback("tax"): ({"intake", "supervision"}, {"department-tax"}),
        T.deemed_approvals: ({"supervision"}, {"intake"}),
        T.replies: ({"gateway", "supervision"}, {"supervision"}),
        T.alerts: ({"supervision"}, set()),
        T.dead_letters: ({"intake", "gateway", "supervision", "department-tax", "department-fire"}, {"supervision"}),
    }
    for topic, (writers, readers) in expected.items():
        assert (allowed(WRITE, TOPIC, topic), allowed(READ, TOPIC, topic)) == (writers, readers), topic


def test_a_department_gets_its_own_topics_and_groups_and_nothing_else() -> None:
    literal = PatternType.LITERAL
    assert {b for b in BINDINGS if b.principal == "department-tax"} == {
        Binding("department-tax", READ, TOPIC, "lianban.c1.work.tax"),
        Binding("department-tax", READ, TOPIC, "lianban.c1.feedback.tax"),
        Binding("department-tax", WRITE, TOPIC, "lianban.c1.actions.tax"),
        Binding("department-tax", WRITE, TOPIC, "lianban.c1.acks.tax"),
        Binding("department-tax", WRITE, TOPIC, "lianban.c1.bridge.tax"),
        Binding("department-tax", WRITE, TOPIC, "lianban.c1.dead-letters"),
        *(
            Binding("department-tax", CREATE, TOPIC, f"lianban.c1.{suffix}", literal)
            for suffix in ("work.tax", "feedback.tax", "actions.tax", "acks.tax", "bridge.tax", "dead-letters")
        ),
        *(Binding("department-tax", op, TOPIC, "lianban.c1.mirror.tax.", PREFIXED) for op in (READ, WRITE, CREATE)),
        Binding("department-tax", READ, GROUP, "lianban-c1-adapter-tax"),
        Binding("department-tax", READ, GROUP, "lianban-c1-adapter-tax.", PREFIXED),
    }


def test_services_reach_every_departments_topics_by_prefix() -> None:
    assert Binding("intake", READ, TOPIC, "lianban.c1.actions.", PREFIXED) in BINDINGS
    assert Binding("intake", WRITE, TOPIC, "lianban.c1.work.", PREFIXED) in BINDINGS
    assert Binding("supervision", READ, TOPIC, "lianban.c1.acks.", PREFIXED) in BINDINGS
    assert allowed(WRITE, TOPIC, T.work("a_department_added_later")) == {"intake", "supervision"}


def test_each_principal_may_create_what_it_uses_and_read_its_own_group() -> None:
    redriving = redrive(T)  # to topics that exist: the dead letter came from there
    for b in BINDINGS:
        if b.resource is TOPIC and b.operation is not CREATE and b not in redriving:
            assert b.principal in allowed(CREATE, TOPIC, b.name), b
    assert allowed(READ, GROUP, "lianban-c1-intake") == {"intake"}
    assert allowed(READ, GROUP, "lianban-c1-adapter-fire.ops") == {"department-fire"}
    assert allowed(READ, GROUP, "lianban-c2-intake") == set()  # another center's resources are its own grant


def test_supervision_may_describe_the_adapters_groups_and_nothing_more() -> None:
    """To show each adapter's lag it fetches the adapters' committed offsets (DESCRIBE on the group); it may
    not join them or commit for them (READ), and no one else is given DESCRIBE (READ and WRITE imply it)."""
    assert Operation.DESCRIBE.value == 8  # Kafka's wire code (AclOperation.DESCRIBE)
    assert [b for b in BINDINGS if b.operation is DESCRIBE] == [
        Binding("supervision", DESCRIBE, GROUP, "lianban-c1-adapter-", PREFIXED)
    ]
    for group in ("lianban-c1-adapter-tax", "lianban-c1-adapter-fire.ops", "lianban-c1-adapter-added_later"):
        assert allowed(DESCRIBE, GROUP, group) == {"supervision"}, group
        assert "supervision" not in allowed(READ, GROUP, group), group
    for group in ("lianban-c1-intake", "lianban-c1-gateway", "lianban-c2-adapter-tax"):
        assert allowed(DESCRIBE, GROUP, group) == set(), group
    assert not any(b.operation is DESCRIBE for b in department_cluster_plan("c1", "tax"))


def test_the_plan_lists_each_binding_once() -> None:
    assert len(set(BINDINGS)) == len(BINDINGS)
    assert str(Binding("intake", READ, TOPIC, "lianban.c1.actions.", PREFIXED)).split() == [
        "User:intake",
        "READ",
        "topic",
        "lianban.c1.actions.*",
    ]


def test_a_departments_mirror_maker_gets_its_own_connect_topics_and_group_on_the_center() -> None:
    """MirrorMaker 2 connects to the center as the department (deploy/mirror_maker.py): its Connect topics
    are a family of the department's alone, apart from every channel, and its group is under the department's."""
    internal = f"{mirror_topics(T, 'tax')}offsets"
    assert internal == "lianban.c1.mirror.tax.offsets"
    for operation in (READ, WRITE, CREATE):
        assert allowed(operation, TOPIC, internal) == {"department-tax"}
    assert allowed(READ, TOPIC, "lianban.c1.mirror.taxi.offsets") == set()  # the prefix ends with a dot
    assert not any(T.of(c, d).startswith("lianban.c1.mirror.") for c in CHANNELS for d in ("tax", "mirror"))
    assert allowed(READ, GROUP, mirror_group(T, "tax")) == {"department-tax"}


def test_a_departments_own_cluster_lets_its_system_act_and_mirror_maker_carry() -> None:
    """On the department's cluster the same topics, the other way round for the mirror: it writes the work
    that comes from the center and reads the actions that go to it; the system cannot write its own work."""
    own = department_cluster_plan("c1", "tax")
    system, mirror = {"department-tax"}, {"mirror-maker"}
    for topic in (T.work("tax"), T.feedback("tax")):
        assert (allowed(WRITE, TOPIC, topic, own), allowed(READ, TOPIC, topic, own)) == (mirror, system)
    for topic in (T.actions("tax"), T.acknowledgements("tax")):
        assert (allowed(WRITE, TOPIC, topic, own), allowed(READ, TOPIC, topic, own)) == (system, mirror)
    assert allowed(WRITE, TOPIC, "lianban.c1.mirror.tax.configs", own) == mirror
    assert allowed(READ, GROUP, "lianban-c1-adapter-tax.mirror", own) == system | mirror
    assert allowed(READ, GROUP, "lianban-c1-adapter-tax.system", own) == system
    assert allowed(WRITE, TOPIC, T.actions("fire"), own) == set()
    assert len(set(own)) == len(own)


def test_no_binding_names_a_topic_with_a_placeholder_left_in_it() -> None:
    """A channel with a topic per department or per peer is never granted under its unfilled name."""
    for bindings in (EXCHANGING, plan("xh", DEPARTMENTS, peers=("hz",)), department_cluster_plan("c1", "tax")):
        for b in bindings:
            assert not {"{", "}"} & set(b.name), b
            assert "None" not in b.name, b


def test_intake_and_supervision_send_to_a_peer_here_and_receive_the_peers_records_only_through_the_link() -> None:
    """What hz sends xh (intake's case records, supervision's figures): written by hz's services, read by the
    link. What xh sends hz, mirrored in under xh's name: written by the link alone (no redrive either), read
    by hz's intake and supervision, each taking its own."""
    link, services = exchange_principal("xh"), {"intake", "supervision"}
    assert link == "exchange-xh"
    for topic, (writers, readers) in {
        HZ.exchange("xh"): (services, {link}),
        XH.exchange("hz"): ({link}, services),
    }.items():
        assert (allowed(WRITE, TOPIC, topic, EXCHANGING), allowed(READ, TOPIC, topic, EXCHANGING)) == (writers, readers), topic
        assert allowed(CREATE, TOPIC, topic, EXCHANGING) == {*services, link}, topic
    for elsewhere in (XH.exchange("sc"), SC.exchange("xh"), HZ.exchange("fz"), Topics("fz").exchange("hz")):
        assert not any(allowed(op, TOPIC, elsewhere, EXCHANGING) for op in (READ, WRITE, CREATE)), elsewhere


def test_the_link_to_a_peer_gets_its_two_topics_its_connect_topics_and_its_group_and_nothing_else() -> None:
    internal = exchange_mirror_topics("hz", "xh")
    assert (internal, exchange_mirror_group("hz", "xh")) == ("lianban.hz.exchange-mirror.xh.", "lianban-hz-exchange-mirror-xh")
    assert {b for b in EXCHANGING if b.principal == "exchange-xh"} == {
        Binding("exchange-xh", READ, TOPIC, "lianban.hz.exchange.xh"),
        Binding("exchange-xh", WRITE, TOPIC, "lianban.xh.exchange.hz"),
        Binding("exchange-xh", CREATE, TOPIC, "lianban.hz.exchange.xh"),
        Binding("exchange-xh", CREATE, TOPIC, "lianban.xh.exchange.hz"),
        *(Binding("exchange-xh", op, TOPIC, internal, PREFIXED) for op in (READ, WRITE, CREATE)),
        Binding("exchange-xh", READ, GROUP, "lianban-hz-exchange-mirror-xh"),
    }
    assert allowed(READ, TOPIC, "lianban.hz.exchange-mirror.xhz.offsets", EXCHANGING) == set()  # the prefix ends with a dot
    assert allowed(READ, TOPIC, f"{exchange_mirror_topics('hz', 'sc')}offsets", EXCHANGING) == {"exchange-sc"}


def test_without_peers_there_is_no_exchange_and_a_center_is_not_its_own_peer() -> None:
    assert not [b for b in BINDINGS if ".exchange" in b.name or b.principal.startswith("exchange-")]
    assert plan("c1", DEPARTMENTS, peers=()) == BINDINGS
    without = plan("hz", DEPARTMENTS)
    assert EXCHANGING[: len(without)] == without  # peers only add
    assert len(set(EXCHANGING)) == len(EXCHANGING) == len(plan("hz", DEPARTMENTS, peers=("xh", "sc", "xh")))
    with pytest.raises(ValueError, match="itself"):
        plan("hz", DEPARTMENTS, peers=("xh", "hz"))


def test_the_center_link_connects_and_keeps_its_worker_as_each_clusters_plan_allows() -> None:
    """On each cluster the link's principal is `exchange-<other>`, and the Connect topics and group of the flow
    that writes there are the ones that cluster's plan gives that principal."""
    hz = KafkaAccess("hz:9092", {exchange_principal("xh"): "hz-secret"})
    xh = KafkaAccess("xh:9092", {exchange_principal("hz"): "xh-secret"})
    properties = CenterLink("hz", hz, "xh", xh, Path("unused")).properties()
    assert properties["hz->xh.topics"] == "lianban[.]hz[.]exchange[.]xh"
    assert properties["xh->hz.topics"] == "lianban[.]xh[.]exchange[.]hz"
    for here, other in (("hz", "xh"), ("xh", "hz")):
        grants, principal = plan(here, [], peers=[other]), exchange_principal(other)
        assert f'username="{principal}"' in properties[f"{here}.sasl.jaas.config"]
        assert allowed(READ, GROUP, properties[f"{here}.group.id"], grants) == {principal}
        for kind in ("config", "offset", "status"):
            name = properties[f"{here}.{kind}.storage.topic"]
            assert all(allowed(op, TOPIC, name, grants) == {principal} for op in (READ, WRITE, CREATE)), name


def test_the_cli_plans_the_exchange_with_each_peer_given(capsys: pytest.CaptureFixture[str]) -> None:
    main(["plan", "--center", "hz", "--department", "tax", "--peer", "xh", "--peer", "sc"])
    *lines, summary = capsys.readouterr().out.splitlines()
    assert lines == [str(b) for b in plan("hz", ["tax"], peers=["xh", "sc"])]
    assert summary == f"{len(lines)} binding(s) planned for center hz"
    assert ["User:exchange-sc", "READ", "topic", "lianban.hz.exchange.sc"] in [line.split() for line in lines]
    assert ["User:intake", "READ", "topic", "lianban.xh.exchange.hz"] in [line.split() for line in lines]
