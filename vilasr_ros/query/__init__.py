"""The query layer: a request and its validation, the one query path, the worker, and the result files.

- ``request``: :class:`QueryRequest` -> validated :class:`ResolvedQuery` (or :class:`QueryError`);
- ``answer``: :func:`answer` (keyframes -> drawing loop -> 3D estimates -> :class:`QueryOutcome`);
- ``worker``: the thread that owns the model and runs queries in order, with a bounded queue;
- ``results``: ``result.json`` and the drawn images of an outcome.
"""
