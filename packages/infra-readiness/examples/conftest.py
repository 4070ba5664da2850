"""The sample node is checked by the quickstart, not collected by the repository's test run."""

collect_ignore = ["sample_node"]
