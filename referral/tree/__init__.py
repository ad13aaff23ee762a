"""The tree of who brought whom: nodes, a closure table and subtree counters kept in step."""
