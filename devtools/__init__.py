"""Tools for developing on this machine: a local SQS, `make local`, benchmarks' shared parts."""
