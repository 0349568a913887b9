"""Support on a REAL road network with facilitator-days binding (issue 18's floor, small).

Real roads: the Abbottabad OpenStreetMap extract (``tests/data/abbottabad``,
© OpenStreetMap contributors, ODbL 1.0). Generated: the schools on its
intersections, 3 to 12 staff each (``tests.fixtures.real_network``), and the
facilitators (walking and driving, three days each: fewer facilitator-days
than clusters). The count of clusters supported is checked against a bound
computed here, independently of the planner: a max flow (networkx) in which
each facilitator takes at most ``days x 2`` clusters (a 480-minute day holds
two 180-minute meetings) among the clusters they may support (same gender for
a single-gender cluster, same district) whose venue they can reach and leave
within a day, on travel times the test computes itself with the validator's
edge weights and networkx Dijkstra. No plan supports more; the planner must
support exactly that many, the same on two runs, and pass the validator (no
false "everyone within reach is full").
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from cluster_mapper import Scenario, TravelSource, plan, validate_plan, write_plan
from cluster_mapper.support import plan_support
from cluster_mapper.validate.travel import edge_minutes_drive, edge_minutes_walk, snap_points
from tests.fixtures.generate_facilitators import facilitators_for_plan
from tests.fixtures.real_network import make_real_district, road_graph

DAYS = 3
MEETING, DAY = 180.0, 480.0


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """A 50-school district on the real roads, its clusters, a team whose days bind, and support planned twice."""
    work = tmp_path_factory.mktemp("real_support")
    paths = make_real_district(work / "inputs", n_schools=50, seed=7)
    policy = work / "policy.toml"
    policy.write_text("time_limit_seconds = 10\n", encoding="utf-8")
    cplan = plan(Scenario(paths["schools"], TravelSource(network_path=str(paths["network"])), paths["teachers"], policy=policy, cache_dir=work / "cache"))
    common = {"days_per_month": DAYS, "max_clusters": "", "with_district": True}
    walk = facilitators_for_plan(cplan, clusters_per_facilitator=12, id_prefix="W", travel_mode="walk", **common)
    drive = facilitators_for_plan(cplan, clusters_per_facilitator=100, id_prefix="D", travel_mode="drive", seed=8, **common)
    fac = pd.concat([walk, drive], ignore_index=True)
    fac_path = work / "facilitators.csv"
    fac.to_csv(fac_path, index=False)
    first = plan_support(cplan, fac_path, sizing=False)
    second = plan_support(cplan, fac_path, sizing=False)
    cplan.support = first
    out = write_plan(cplan, work / "plan", review=False)
    return {"paths": paths, "plan": cplan, "fac": fac, "first": first, "second": second, "out": out}


def _minutes_from(H: nx.DiGraph, G, lonlat: dict[str, tuple[float, float]]) -> dict[str, dict]:
    """Minutes from each school's node to every node, and from every node to it (Dijkstra both ways)."""
    ids = sorted(lonlat)
    nodes, _ = snap_points(G, np.array([lonlat[s][0] for s in ids]), np.array([lonlat[s][1] for s in ids]))
    node = dict(zip(ids, nodes))
    R = H.reverse(copy=False)
    return {
        s: (node[s], nx.single_source_dijkstra_path_length(H, node[s], weight="w"), nx.single_source_dijkstra_path_length(R, node[s], weight="w")) for s in ids
    }


def independent_bound(real) -> int:
    """Most clusters any plan can support: a max flow, facilitator capacity days x 2, over eligible pairs within a day's round trip."""
    schools = pd.read_csv(real["paths"]["schools"])
    lonlat = {s: (x, y) for s, x, y in zip(schools["school_id"], schools["longitude"], schools["latitude"])}
    clusters = pd.read_csv(real["out"] / "clusters.csv")
    a = pd.read_csv(real["out"] / "assignments.csv")
    genders = a[a["status"] == "placed"].groupby("cluster_id")["gender"].agg(lambda g: set(g))
    fac = real["fac"]
    F = nx.DiGraph()
    for mode, weigh in (("walk", lambda G: edge_minutes_walk(G, 5.0)), ("drive", edge_minutes_drive)):
        G = road_graph(real["paths"]["network"], mode)
        team = fac[fac["travel_mode"] == mode]
        wanted = set(team["base_school_id"]) | set(clusters["venue_school_id"])
        mins = _minutes_from(weigh(G), G, {s: lonlat[s] for s in wanted})
        for f in team.itertuples(index=False):
            F.add_edge("source", f.facilitator_id, capacity=DAYS * 2)
            base_node, out_of, into = mins[f.base_school_id]
            for c in clusters.itertuples(index=False):
                g = genders[c.cluster_id]
                if len(g) == 1 and f.gender not in g:
                    continue
                v = mins[c.venue_school_id][0]
                if out_of.get(v, np.inf) + into.get(v, np.inf) + MEETING <= DAY:
                    F.add_edge(f.facilitator_id, c.cluster_id, capacity=1)
                    F.add_edge(c.cluster_id, "sink", capacity=1)
    return int(nx.maximum_flow_value(F, "source", "sink"))


def test_days_bind_on_the_real_network(real):
    fig = real["first"].figures
    days = int(real["fac"]["days_per_month"].sum())
    assert fig["clusters"] >= 30, "a district of some size"
    assert days * 2 < fig["clusters"], "fewer meetings the facilitators can hold than clusters: the days bind"
    assert set(real["fac"]["travel_mode"]) == {"walk", "drive"}


def test_supported_equals_the_independent_bound(real):
    fig = real["first"].figures
    bound = independent_bound(real)
    assert bound < fig["clusters"], "the bound itself leaves clusters out: the days bind"
    assert fig["clusters_supported"] == bound
    assert fig["supported_bound"] == bound and fig["supported_proven_maximal"]
    assert fig["status"] == "optimal", fig["notes"]
    # most days hold two meetings: without sharing days the team could support only days x 1
    assert fig["clusters_supported"] > int(real["fac"]["days_per_month"].sum())


def test_the_same_support_on_two_runs(real):
    a, b = real["first"], real["second"]
    pd.testing.assert_frame_equal(a.support, b.support)
    pd.testing.assert_frame_equal(a.itineraries, b.itineraries)


def test_the_validator_finds_no_false_full_reason(real):
    rep = validate_plan(real["out"])
    assert rep.ok, rep.violations
    sup = pd.read_csv(real["out"] / "support.csv", keep_default_na=False)
    left = sup[sup["facilitator_id"] == ""]
    assert len(left) and left["reason"].str.startswith("everyone within reach is full").all()
