"""Streaming: the batch transforms on unbounded input, in event time (SPEC §1, §4, §7).

``events`` moves single events stamped with their event time; ``identity`` and
``journey`` apply the batch job's plain functions one step at a time; ``advance`` is the
stateful step with windows, allowed lateness and alert timers; ``sources`` and ``sinks``
are what differs between a local folder and Pub/Sub / Kafka / BigQuery.
"""
