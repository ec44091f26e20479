"""The formula engine: runs a DAG formula's steps and records the run (see ``executor``)."""
