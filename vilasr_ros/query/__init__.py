"""The query layer: a request and its validation, the one query path, the worker, and the result files.

- ``request``: :class:`QueryRequest` -> validated :class:`ResolvedQuery` (or :class:`QueryError`);
- ``answering``: :func:`answer`, the one query path (keyframes -> drawing loop -> 3D estimates ->
  :class:`QueryOutcome`), with the frame selectors :func:`from_store` and :func:`given`, and
  :func:`answer_frames` for given frames (reason, eval, training);
- ``worker``: the thread that owns the model and runs queries in order, with a bounded queue;
- ``results``: ``result.json`` and the drawn images of an outcome.

``from vilasr_ros.query import answer`` gives the function.
"""

from vilasr_ros.query.answering import Estimation, QueryOutcome, answer, answer_frames, from_store, given

__all__ = ["Estimation", "QueryOutcome", "answer", "answer_frames", "from_store", "given"]
