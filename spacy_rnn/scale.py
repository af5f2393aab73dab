"""Annotation on a Ray cluster, with Ray Data (the ``ray`` extra: ``pip install
'spacy-rnn[ray]'``). Nothing else in the package imports this module.

    import ray
    from spacy_rnn.scale import annotate_dataset

    ds = ray.data.read_parquet("docs/")                       # a column "text" (+ "id", "meta")
    out = annotate_dataset(ds, "training/tagger/model-best", workers=8)
    out.write_parquet("tagged/")                              # columns seq, id, result, error, tokens

Each worker is an actor of ``map_batches`` that loads the pipeline **once** from the model
path (the ``nlp`` object is never pickled or put in the object store: spaCy#13506) with
torch pinned to the worker's CPUs, and runs :func:`spacy_rnn.annotate.annotate_records` on
each batch: the same function, so the same outputs, as the local engine and ``nlp.pipe``.
A worker that dies is restarted and its batch retried by Ray. On several machines, the
model path must be on storage every node sees (or the model installed as a package) (``ray start --head`` on
one, ``ray start --address HEAD:6379`` on the others, ``RAY_ADDRESS=HEAD:6379`` for the
command).
"""

import json
import os
import time
from pathlib import Path
from typing import Any, Dict, Iterable, Tuple, Union

from spacy.tokens import Doc

from spacy_rnn.annotate import (
    DEFAULT_MAX_TOKENS,
    Annotated,
    ErrorLog,
    Failure,
    Record,
    Summary,
    Writer,
    annotate_records,
    chunked,
    load_pipeline,
)

BLOCK_BATCHES = 4  # batches per block: Ray Data gives each actor task one block


def ray_data():
    """The ``ray.data`` module (see :func:`require_ray`)."""
    return require_ray().data


def require_ray():
    """``ray`` and ``ray.data``, or an ImportError that says how to install them."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as err:  # pragma: no cover - exercised without the extra
        raise ImportError("the Ray engine needs Ray Data: pip install 'spacy-rnn[ray]'") from err
    return ray


class PipelineAnnotator:
    """The ``map_batches`` callable class: one pipeline per actor, loaded in
    ``__init__`` from ``model``; ``__call__`` takes a pyarrow batch with a ``text``
    column (optional ``seq``, ``id``, ``source``, ``line``, ``meta`` as JSON, ``words`` /
    ``spaces`` as JSON) and returns one row per input row: ``seq``, ``id``, ``source``, ``line``, ``result``
    (the JSON record of :func:`spacy_rnn.annotate.doc_record`, null on failure),
    ``error`` (the reason, null on success), ``tokens`` and, with ``keep_docs``, ``doc``
    (``Doc.to_bytes``)."""

    def __init__(
        self,
        model: str,
        *,
        threads: int = 1,
        gpu: bool = False,
        batch_size: int = 256,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        keep_docs: bool = False,
    ):
        self.nlp = load_pipeline(model, threads, 0 if gpu else -1)
        self.options = {"batch_size": batch_size, "max_tokens": max_tokens, "keep_docs": keep_docs}

    def __call__(self, batch):
        import pyarrow as pa

        rows = batch.to_pylist()
        records = [_record(i, row) for i, row in enumerate(rows)]
        results = annotate_records(self.nlp, records, **self.options)
        out: Dict[str, list] = {
            name: [] for name in ("seq", "id", "source", "line", "result", "error", "tokens", "doc")
        }
        for record, item in zip(records, results):
            out["seq"].append(record.seq)
            out["id"].append(record.id)
            out["source"].append(record.source)
            out["line"].append(record.line)
            ok = isinstance(item, Annotated)
            out["result"].append(json.dumps(item.record, ensure_ascii=False) if ok else None)
            out["error"].append(None if ok else item.reason)
            out["tokens"].append(item.tokens if ok else 0)
            out["doc"].append(item.doc.to_bytes() if ok and item.doc is not None else None)
        types = {"seq": pa.int64(), "id": pa.string(), "source": pa.string(), "line": pa.int64()}
        types.update(result=pa.string(), error=pa.string(), tokens=pa.int64(), doc=pa.binary())
        return pa.table({name: pa.array(values, types[name]) for name, values in out.items()})


def _record(i: int, row: Dict[str, Any]) -> Record:
    text = row.get("text")
    meta = row.get("meta")
    words = row.get("words")
    return Record(
        seq=row.get("seq", i) if row.get("seq") is not None else i,
        id=str(row["id"]) if row.get("id") is not None else str(i),
        source=row.get("source") or "",
        line=row.get("line") or 0,
        text=text if isinstance(text, str) else "",
        meta=json.loads(meta) if isinstance(meta, str) else meta,
        words=json.loads(words) if isinstance(words, str) else words,
        spaces=json.loads(row["spaces"]) if isinstance(row.get("spaces"), str) else row.get("spaces"),
    )


def annotate_dataset(
    ds,
    model: Union[str, Path],
    *,
    workers: int = 1,
    batch_size: int = 256,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    threads: int = 1,
    gpus_per_worker: float = 0.0,
    keep_docs: bool = False,
):
    """A ``ray.data.Dataset`` of annotations of ``ds`` (which has a ``text`` column):
    ``map_batches`` over ``workers`` actors of :class:`PipelineAnnotator`, each with
    ``threads`` CPUs (and ``gpus_per_worker`` GPUs), batches of ``batch_size`` rows;
    actors that die are restarted and their batches retried. Lazy, as Ray Data is."""
    if workers < 1 or threads < 1 or batch_size < 1:
        raise ValueError("workers, threads and batch_size must each be at least 1.")
    # Ray Data's actors default to max_restarts = max_task_retries = -1: a worker that
    # dies is restarted and the batches it held are run again, each output kept once
    return ds.map_batches(
        PipelineAnnotator,
        fn_constructor_args=(str(model),),
        fn_constructor_kwargs={
            "threads": threads,
            "gpu": bool(gpus_per_worker),
            "batch_size": batch_size,
            "max_tokens": max_tokens,
            "keep_docs": keep_docs,
        },
        batch_size=batch_size,
        batch_format="pyarrow",
        compute=ray_data().ActorPoolStrategy(size=workers),
        num_cpus=threads,
        num_gpus=gpus_per_worker or None,
    )


def stage_records(items: Iterable[Union[Record, Failure]], errors: ErrorLog, block_size: int) -> Tuple[list, int, int]:
    """Put the records of ``items`` into Ray's object store as pyarrow tables of
    ``block_size`` rows (the blocks Ray Data reads without a read task, so no CPU is
    needed beside the workers'; the object store spills to disk when full), failures to
    ``errors``. Returns the object refs, the number of records and of failures."""
    import pyarrow as pa

    ray = require_ray()
    schema = pa.schema(
        [("seq", pa.int64()), ("id", pa.string()), ("source", pa.string()), ("line", pa.int64())]
        + [(name, pa.string()) for name in ("text", "meta", "words", "spaces")]
    )
    refs, n_records, n_failed = [], 0, 0
    for chunk in chunked(items, block_size):
        rows = []
        for item in chunk:
            if isinstance(item, Failure):
                errors.write(item)
                n_failed += 1
                continue
            rows.append(
                {
                    "seq": item.seq,
                    "id": item.id,
                    "source": item.source,
                    "line": item.line,
                    "text": item.text,
                    "meta": None if item.meta is None else json.dumps(item.meta, ensure_ascii=False),
                    "words": None if item.words is None else json.dumps(item.words, ensure_ascii=False),
                    "spaces": None if item.spaces is None else json.dumps(item.spaces),
                }
            )
        if rows:
            refs.append(ray.put(pa.Table.from_pylist(rows, schema=schema)))
            n_records += len(rows)
    return refs, n_records, n_failed


def annotate_ray(
    model: str,
    items: Iterable[Union[Record, Failure]],
    writer: Writer,
    errors: ErrorLog,
    *,
    workers: int = 1,
    batch_size: int = 256,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    threads: int = 1,
    gpus_per_worker: float = 0.0,
    progress: bool = True,
) -> Summary:
    """The CLI's Ray engine: stage the input in the object store, annotate it with
    :func:`annotate_dataset` (input order kept), and write the results here through
    ``writer`` and ``errors``. Connects to ``RAY_ADDRESS`` if set, else starts a local
    cluster (and stops it at the end). Every staged record must come back exactly once,
    in order, or the run fails with an error (the ``.partial`` output keeps what was
    written)."""
    from tqdm import tqdm

    ray = require_ray()
    summary = Summary(output=str(writer.output))
    start = time.perf_counter()
    started_here = not ray.is_initialized()
    if started_here:
        address = os.environ.get("RAY_ADDRESS")
        cpus = None if address else workers * threads
        ray.init(address=address, num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    summary_startup = time.perf_counter() - start
    try:
        refs, n_records, n_failed = stage_records(items, errors, BLOCK_BATCHES * batch_size)
        summary.docs, summary.failed = n_records + n_failed, n_failed
        if n_records:
            context = ray.data.DataContext.get_current()
            context.execution_options.preserve_order = True
            context.enable_progress_bars = False
            ds = annotate_dataset(
                ray.data.from_arrow_refs(refs),
                model,
                workers=workers,
                batch_size=batch_size,
                max_tokens=max_tokens,
                threads=threads,
                gpus_per_worker=gpus_per_worker,
                keep_docs=writer.fmt == "spacy",
            )
            vocab, previous, received = None, -1, 0
            with tqdm(total=n_records, unit="doc", disable=not progress, desc="annotate (ray)") as bar:
                for batch in ds.iter_batches(batch_format="pyarrow", batch_size=None):
                    for row in batch.to_pylist():
                        if row["seq"] <= previous:
                            raise RuntimeError(f"Ray returned input #{row['seq']} after #{previous}.")
                        previous = row["seq"]
                        received += 1
                        if row["error"] is not None:
                            errors.write(Failure(row["seq"], row["source"], row["line"], row["error"], row["id"]))
                            summary.failed += 1
                            continue
                        doc = None
                        if row["doc"] is not None:
                            if vocab is None:
                                from spacy.vocab import Vocab

                                vocab = Vocab()
                            doc = Doc(vocab).from_bytes(row["doc"])
                        if summary.first_result_s is None:
                            summary.first_result_s = round(time.perf_counter() - start, 3)
                        writer.write_serialized(row["result"], doc, row["tokens"])
                        summary.annotated += 1
                        summary.words += row["tokens"]
                    bar.update(len(batch))
            if received != n_records:
                raise RuntimeError(f"Ray returned {received} of {n_records} documents.")
    finally:
        if started_here:
            ray.shutdown()
    summary.seconds = round(time.perf_counter() - start, 3)
    summary.startup_s = round(summary_startup, 3)
    return summary
