"""A referral tree of realistic shape, loaded into PostgreSQL by COPY with its closure and counters.

Shape (deterministic for a size): member 1 is a big root sharer; member 2 (the hub) sits under it
and ends up with about 10% of all members below it; members 3..42 are a chain under member 1
reaching depth 40. Every later member is a root (5%), joins the hub's community (10%: their parent is
drawn among the hub and its descendants) or joins everyone else (85%), the parent drawn in proportion
to an invitation weight: 70% of members have weight 0 (they invite no one), the others a Pareto
weight, so a few invite hundreds. A third of members have paid orders (their own counters).

The closure rows (every ancestor of every member, with the distance) and the subtree counters are
computed here and written with COPY, so a million members load in a minute or two instead of the
hours a million ``tree.bind`` calls would take. ``tree.bind`` is what keeps them in production; the
bench checks the counters it loaded against a recursive walk of the parent links.
"""

from __future__ import annotations

import bisect
import random
from array import array
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex

from referral.tree.models import ReferralClosure, ReferralNode
from tests.bench.loading import libpq_url

CHAIN_LENGTH = 40
ROOT, HUB, CHAIN_START = 1, 2, 3
P_ROOT, P_HUB = 0.05, 0.10
P_NO_INVITES = 0.70
PARETO_ALPHA = 1.1
NULL = "\\N"  # COPY's null
CHUNK = 1 << 20  # characters of COPY text per write


@dataclass
class Tree:
    """Members 1..size (index 0 unused): parent (0: a root), depth, own orders and GMV, subtree counters."""

    size: int
    parent: array
    depth: array
    own_orders: array
    own_gmv: array
    descendants: array
    subtree_orders: array
    subtree_gmv: array

    def chain_member_at(self, depth: int) -> int:
        """The chain member at ``depth`` (1..40) below the big root."""
        return CHAIN_START + depth - 1

    @property
    def closure_rows(self) -> int:
        return sum(self.depth)


def shape(size: int, seed: int = 20261123) -> Tree:
    """The tree of ``size`` members described in the module docstring."""
    rng = random.Random(seed + size)
    zeros = lambda: array("q", bytes(8 * (size + 1)))  # noqa: E731
    parent, depth, own_orders, own_gmv = zeros(), zeros(), zeros(), zeros()
    # Cumulative invitation weights of each community, with the members they belong to.
    communities = {"hub": ([], []), "rest": ([], [])}

    def join(community: str, member: int, weight: float) -> None:
        cumulative, members = communities[community]
        if weight > 0:
            cumulative.append((cumulative[-1] if cumulative else 0.0) + weight)
            members.append(member)

    def pick(community: str) -> int:
        cumulative, members = communities[community]
        return members[bisect.bisect_right(cumulative, rng.random() * cumulative[-1])]

    join("rest", ROOT, 200.0)
    parent[HUB], depth[HUB] = ROOT, 1
    join("hub", HUB, 200.0)
    for member in range(CHAIN_START, min(size, CHAIN_START + CHAIN_LENGTH - 1) + 1):
        parent[member] = ROOT if member == CHAIN_START else member - 1
        depth[member] = depth[parent[member]] + 1
    for member in range(CHAIN_START + CHAIN_LENGTH, size + 1):
        weight = 0.0 if rng.random() < P_NO_INVITES else rng.paretovariate(PARETO_ALPHA)
        draw = rng.random()
        if draw < P_ROOT:
            join("rest", member, weight)
            continue
        community = "hub" if draw < P_ROOT + P_HUB else "rest"
        parent[member] = pick(community)
        depth[member] = depth[parent[member]] + 1
        join(community, member, weight)
    for member in range(1, size + 1):
        if rng.random() < 1 / 3:
            own_orders[member] = rng.randint(1, 5)
            own_gmv[member] = own_orders[member] * rng.randint(1_000, 30_000)
    return _with_counters(Tree(size, parent, depth, own_orders, own_gmv, zeros(), zeros(), zeros()))


def _with_counters(tree: Tree) -> Tree:
    # A parent always has a smaller id than its children: one pass from the last member up adds
    # each subtree into its parent.
    for member in range(tree.size, 0, -1):
        up = tree.parent[member]
        if up:
            tree.descendants[up] += 1 + tree.descendants[member]
            tree.subtree_orders[up] += tree.own_orders[member] + tree.subtree_orders[member]
            tree.subtree_gmv[up] += tree.own_gmv[member] + tree.subtree_gmv[member]
    return tree


def load(database_url: str, tree: Tree) -> None:
    """COPY members, nodes and closure rows of ``tree`` into the empty tables, then VACUUM ANALYZE them.

    Bulk-load as PostgreSQL advises: foreign-key triggers off for the session (the rows are consistent
    by construction), and the tree's secondary indexes (and the closure's primary key) built after
    the rows are in, exactly as the models declare them.
    """
    now = datetime.now(UTC)
    joined = (now - timedelta(days=365)).isoformat()
    with psycopg.connect(libpq_url(database_url)) as connection:
        connection.execute("SET session_replication_role = replica")
        with connection.cursor() as cursor:
            _copy(cursor, "members (id, openid, created_at)",
                  (f"{m}\tbench-{m}\t{joined}\n" for m in range(1, tree.size + 1)))
            with _indexes_after(connection, ReferralNode.__table__, primary_key=False):
                _copy(cursor, "referral_nodes (member_id, parent_id, depth, bound_at, descendants, subtree_orders, "
                              "subtree_gmv, own_orders, own_gmv, created_at)",
                      (_node_line(tree, m, joined) for m in range(1, tree.size + 1)))
            with _indexes_after(connection, ReferralClosure.__table__, primary_key=True):
                _copy(cursor, "referral_closure (ancestor_id, descendant_id, distance)", _closure_lines(tree))
            cursor.execute("SELECT setval(pg_get_serial_sequence('members', 'id'), %s)", (tree.size,))
        connection.commit()
    with psycopg.connect(libpq_url(database_url), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE members, referral_nodes, referral_closure")


@contextmanager
def _indexes_after(connection: psycopg.Connection, table: Table, *, primary_key: bool):
    """Drop the table's indexes (and primary key) for the block; build them again after it."""
    dialect = postgresql.dialect()
    pk = table.primary_key
    for index in table.indexes:
        connection.execute(f"DROP INDEX {index.name}")
    if primary_key:
        connection.execute(f"ALTER TABLE {table.name} DROP CONSTRAINT {pk.name}")
    yield
    if primary_key:
        columns = ", ".join(column.name for column in pk.columns)
        connection.execute(f"ALTER TABLE {table.name} ADD CONSTRAINT {pk.name} PRIMARY KEY ({columns})")
    for index in table.indexes:
        connection.execute(str(CreateIndex(index).compile(dialect=dialect)))


def _node_line(tree: Tree, member: int, joined: str) -> str:
    up = tree.parent[member]
    return (f"{member}\t{up or NULL}\t{tree.depth[member]}\t{joined if up else NULL}\t{tree.descendants[member]}\t"
            f"{tree.subtree_orders[member]}\t{tree.subtree_gmv[member]}\t{tree.own_orders[member]}\t"
            f"{tree.own_gmv[member]}\t{joined}\n")


def _closure_lines(tree: Tree):
    parent = tree.parent
    for member in range(1, tree.size + 1):
        ancestor, distance = parent[member], 1
        while ancestor:
            yield f"{ancestor}\t{member}\t{distance}\n"
            ancestor, distance = parent[ancestor], distance + 1


def _copy(cursor: psycopg.Cursor, target: str, lines) -> None:
    with cursor.copy(f"COPY {target} FROM STDIN") as copy:
        buffer, length = [], 0
        for line in lines:
            buffer.append(line)
            length += len(line)
            if length >= CHUNK:
                copy.write("".join(buffer))
                buffer, length = [], 0
        if buffer:
            copy.write("".join(buffer))
