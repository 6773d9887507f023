"""Labs on one machine: throw-away test hosts and the programs run in them.

    netns     network namespaces joined by veth pairs, addressed from the RFC 5737 ranges
    procwait  wait for a background program to be ready, and stop it

Tests, recorders and benchmarks use these; the cores never do.
"""
