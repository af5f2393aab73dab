"""Annotating corpora with a trained pipeline, streaming: read records, annotate them in
batches, write them in input order, report the lines that could not be annotated.

    records = read_records(input_files("corpus/"))          # Record | Failure, input order
    for item in annotate_records(nlp, batch):                # Annotated | Failure, same order
        ...
    annotate("model-best", "in.jsonl", "out.jsonl")          # the whole job (the CLI's local engine)

Inputs: text files (one doc a line), JSONL (an object a line: the text under ``field``,
optionally an ``id`` and a ``meta`` value), ``.spacy`` DocBins (their tokens are kept), or a
directory or glob of them. Outputs: JSONL (one object a doc: ``id``, ``text``, ``meta`` and
the annotations, :func:`doc_record`), ``.spacy`` shards (``--format spacy``, the annotated
Docs with their extensions), or Parquet. Nothing here imports Ray; ``spacy_rnn.scale``
runs the same per-batch function on a Ray cluster.
"""

import json
import multiprocessing
import shutil
import threading
import time
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Union

from spacy.language import Language
from spacy.tokens import Doc, DocBin, Token

TEXT_SUFFIXES = (".txt", ".text")
INPUT_SUFFIXES = TEXT_SUFFIXES + (".jsonl", ".spacy")
FORMATS = ("jsonl", "spacy", "parquet")
DEFAULT_MAX_TOKENS = 20000
LM_DOC_FIELDS = ("logprob", "perplexity", "lm_predicted")


@dataclass
class Record:
    """One input document. ``seq`` is its position in the whole input (0-based), ``line``
    its line (or doc number) in ``source``; ``words``/``spaces`` are set for DocBin input,
    whose tokenization is kept."""

    seq: int
    id: str
    source: str
    line: int
    text: str
    meta: Any = None
    words: Optional[List[str]] = None
    spaces: Optional[List[bool]] = None


@dataclass
class Failure:
    """An input line that was not annotated, and why."""

    seq: int
    source: str
    line: int
    reason: str
    id: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        return {"source": self.source, "line": self.line, "id": self.id, "reason": self.reason}


@dataclass
class Annotated:
    """An annotated document: its output record (:func:`doc_record`) and the Doc."""

    seq: int
    record: Dict[str, Any]
    doc: Optional[Doc] = field(default=None, repr=False)
    tokens: int = 0


def input_files(path: Union[str, Path]) -> List[Path]:
    """The files an INPUT names: the file itself, the input files under a directory
    (recursively, sorted), or the files a glob pattern matches (sorted)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in INPUT_SUFFIXES)
    elif path.exists():
        files = [path]
    else:
        files = sorted(Path(p) for p in glob(str(path), recursive=True) if Path(p).is_file())
    if not files:
        raise ValueError(f"{path}: no input files (text, .jsonl or .spacy) found.")
    return files


def read_records(
    paths: Sequence[Union[str, Path]],
    *,
    field: str = "text",
    id_field: str = "id",
    meta_field: str = "meta",
    vocab=None,
) -> Iterator[Union[Record, Failure]]:
    """The documents of ``paths``, file after file, as :class:`Record`; a line that holds
    no document (invalid JSON, no string ``field``, empty text) comes as a
    :class:`Failure` in its place (so does a line that is not UTF-8), so every input
    line is accounted for. The id of a
    record is its ``id_field`` (JSONL) or ``<file name>:<line>``."""
    seq = 0
    for path in map(Path, paths):
        if path.suffix == ".spacy":
            from spacy.vocab import Vocab

            for n, doc in enumerate(DocBin().from_disk(path).get_docs(vocab or Vocab()), 1):
                if len(doc) == 0:
                    yield Failure(seq, str(path), n, "empty doc")
                else:
                    yield Record(
                        seq,
                        f"{path.name}:{n}",
                        str(path),
                        n,
                        doc.text,
                        words=[t.text for t in doc],
                        spaces=[bool(t.whitespace_) for t in doc],
                    )
                seq += 1
            continue
        with path.open("rb") as f:
            for n, raw in enumerate(f, 1):
                try:
                    line = raw.decode("utf8").rstrip("\r\n")
                except UnicodeDecodeError as err:
                    yield Failure(seq, str(path), n, f"not UTF-8: {err}")
                else:
                    yield _parse_line(path, n, seq, line, field, id_field, meta_field)
                seq += 1


def _parse_line(
    path: Path, n: int, seq: int, line: str, field: str, id_field: str, meta_field: str
) -> Union[Record, Failure]:
    if path.suffix != ".jsonl":
        if not line.strip():
            return Failure(seq, str(path), n, "empty text")
        return Record(seq, f"{path.name}:{n}", str(path), n, line)
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        return Failure(seq, str(path), n, f"invalid JSON: {err}")
    if not isinstance(obj, dict):
        return Failure(seq, str(path), n, f"not a JSON object but {type(obj).__name__}")
    doc_id = obj.get(id_field)
    doc_id = str(doc_id) if doc_id is not None else f"{path.name}:{n}"
    text = obj.get(field)
    if not isinstance(text, str):
        reason = f"no field {field!r}" if field not in obj else f"field {field!r} is not a string"
        return Failure(seq, str(path), n, reason, doc_id)
    if not text.strip():
        return Failure(seq, str(path), n, "empty text", doc_id)
    return Record(seq, doc_id, str(path), n, text, meta=obj.get(meta_field))


def doc_record(doc: Doc, record: Record) -> Dict[str, Any]:
    """The JSON-able output of one annotated doc: ``id``, ``text``, ``meta`` (when the
    input had one), and what the pipeline set: ``words`` with ``pos`` / ``tag`` lists
    (taggers), ``cats`` (text classifiers), ``logprob`` / ``perplexity`` /
    ``lm_predicted`` and per-token ``surprisal`` (``rnn_lm``). Floats are the Doc's values
    as Python floats, so they compare equal to what ``nlp.pipe`` gives."""
    out: Dict[str, Any] = {"id": record.id, "text": record.text}
    if record.meta is not None:
        out["meta"] = record.meta
    has_pos, has_tag = doc.has_annotation("POS"), doc.has_annotation("TAG")
    if has_pos or has_tag:
        out["words"] = [t.text for t in doc]
        if has_pos:
            out["pos"] = [t.pos_ for t in doc]
        if has_tag:
            out["tag"] = [t.tag_ for t in doc]
    if doc.cats:
        out["cats"] = {label: float(score) for label, score in doc.cats.items()}
    for name in LM_DOC_FIELDS:
        if Doc.has_extension(name) and doc._.get(name) is not None:
            value = doc._.get(name)
            out[name] = int(value) if name == "lm_predicted" else float(value)
    if Token.has_extension("surprisal") and any(t._.surprisal is not None for t in doc):
        out.setdefault("words", [t.text for t in doc])
        out["surprisal"] = [None if t._.surprisal is None else float(t._.surprisal) for t in doc]
    return out


def annotate_records(
    nlp: Language,
    records: Sequence[Record],
    *,
    batch_size: int = 256,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    keep_docs: bool = False,
) -> List[Union[Annotated, Failure]]:
    """Annotate ``records`` with ``nlp.pipe`` (batches of ``batch_size``), in their order.
    A doc of more than ``max_tokens`` tokens (0: no limit) is a :class:`Failure`; so is a
    doc on which the pipeline raises: a batch that raises is re-run doc by doc, so only
    the docs that fail are lost, each with the error as its reason."""
    results: Dict[int, Union[Annotated, Failure]] = {}
    todo: List[tuple] = []
    for record in records:
        if record.words is not None:
            doc = Doc(nlp.vocab, words=record.words, spaces=record.spaces)
        else:
            doc = nlp.make_doc(record.text)
        if max_tokens and len(doc) > max_tokens:
            results[record.seq] = _failure(record, f"{len(doc)} tokens, over the limit of {max_tokens} (--max-tokens)")
        else:
            todo.append((record, doc))
    try:
        docs = list(nlp.pipe([doc for _, doc in todo], batch_size=batch_size))
        for (record, _), doc in zip(todo, docs):
            results[record.seq] = Annotated(record.seq, doc_record(doc, record), doc if keep_docs else None, len(doc))
    except Exception:  # noqa: BLE001 - isolate the docs that fail, report the rest
        for record, doc in todo:
            try:
                (doc,) = list(nlp.pipe([doc]))
                results[record.seq] = Annotated(
                    record.seq, doc_record(doc, record), doc if keep_docs else None, len(doc)
                )
            except Exception as err:  # noqa: BLE001
                results[record.seq] = _failure(record, f"{type(err).__name__}: {err}")
    return [results[record.seq] for record in records]


def _failure(record: Record, reason: str) -> Failure:
    return Failure(record.seq, record.source, record.line, reason, record.id)


def chunked(items: Iterable, size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# ---------------------------------------------------------------------------- writers


def output_format(output: Union[str, Path], fmt: Optional[str]) -> str:
    """The output format: ``fmt`` if given, else from OUTPUT's suffix (.jsonl, .parquet,
    .spacy)."""
    if fmt is None:
        suffix = Path(output).suffix.lstrip(".")
        fmt = suffix if suffix in FORMATS else None
        if fmt is None:
            raise ValueError(
                f"{output}: cannot tell the output format from the name; pass --format {'/'.join(FORMATS)}."
            )
    if fmt not in FORMATS:
        raise ValueError(f"unknown output format {fmt!r}; expected one of {', '.join(FORMATS)}.")
    return fmt


class Writer:
    """Writes annotated docs to ``<output>.partial`` and renames it to ``output`` on
    :meth:`close`; a run that stops half way leaves the docs written so far in the
    ``.partial`` file (or folder). An existing ``output`` is an error unless ``overwrite``."""

    def __init__(self, output: Union[str, Path], fmt: str, *, overwrite: bool = False, shard_size: int = 10000):
        self.output = Path(output)
        self.fmt = fmt
        self.partial = self.output.with_name(self.output.name + ".partial")
        for path in (self.output, self.partial, errors_path(self.output)):
            if path.exists():
                if not overwrite:
                    raise ValueError(
                        f"{path} exists; choose another OUTPUT or pass --overwrite (two runs are never mixed)."
                    )
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self.shard_size = shard_size
        self._docbin: Optional[DocBin] = None
        self._shards = 0
        self._rows: List[dict] = []
        self._parquet = None
        if fmt == "jsonl":
            self._file = self.partial.open("w", encoding="utf8")
        elif fmt == "spacy":
            self.partial.mkdir(parents=True)
        else:
            import pyarrow  # noqa: F401  (a clear ImportError before any work)

    def write(self, item: Annotated) -> None:
        if self.fmt == "jsonl":
            self._file.write(json.dumps(item.record, ensure_ascii=False) + "\n")
        elif self.fmt == "spacy":
            if item.doc is None:
                raise ValueError("--format spacy needs the annotated Docs (keep_docs=True).")
            if self._docbin is None:
                self._docbin = DocBin(store_user_data=True)
            self._docbin.add(item.doc)
            if len(self._docbin) >= self.shard_size:
                self._flush_docbin()
        else:
            row = dict(item.record)
            if "meta" in row:
                row["meta"] = json.dumps(row["meta"], ensure_ascii=False)
            self._rows.append(row)
            if len(self._rows) >= self.shard_size:
                self._flush_parquet()

    def write_serialized(self, record_json: str, doc: Optional[Doc], tokens: int) -> None:
        """Write a record given as JSON text: as it is to JSONL, parsed for the others."""
        if self.fmt == "jsonl":
            self._file.write(record_json + "\n")
        else:
            self.write(Annotated(-1, json.loads(record_json), doc, tokens))

    def _flush_docbin(self) -> None:
        if self._docbin is not None and len(self._docbin):
            self._docbin.to_disk(self.partial / f"part-{self._shards:05d}.spacy")
            self._shards += 1
        self._docbin = None

    def _flush_parquet(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self._rows:
            return
        if self._parquet is None:
            schema = pa.Table.from_pylist(self._rows).schema
            if "meta" not in schema.names:
                schema = schema.append(pa.field("meta", pa.string()))
            self._parquet = pq.ParquetWriter(str(self.partial), schema)
        self._parquet.write_table(pa.Table.from_pylist(self._rows, schema=self._parquet.schema))
        self._rows = []

    def abort(self) -> None:
        """Keep what was written so far in the ``.partial`` output (a run that failed)."""
        if self.fmt == "jsonl":
            self._file.close()
        elif self.fmt == "spacy":
            self._flush_docbin()
        else:
            self._flush_parquet()
            if self._parquet is not None:
                self._parquet.close()

    def close(self) -> None:
        """Finish the output and move it into place."""
        if self.fmt == "parquet" and self._parquet is None and not self._rows:
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.table({"id": pa.array([], pa.string())}), str(self.partial))  # no doc annotated
        self.abort()
        self.partial.rename(self.output)


def errors_path(output: Union[str, Path]) -> Path:
    """Where the lines that failed are reported: ``<output>.errors.jsonl``."""
    output = Path(output)
    return output.with_name(output.name + ".errors.jsonl")


class ErrorLog:
    """The failed lines as JSONL (``source``, ``line``, ``id``, ``reason``), written
    only when there is one."""

    def __init__(self, path: Path):
        self.path = path
        self.count = 0
        self._file = None

    def write(self, failure: Failure) -> None:
        if self._file is None:
            self._file = self.path.open("w", encoding="utf8")
        self._file.write(json.dumps(failure.to_dict(), ensure_ascii=False) + "\n")
        self._file.flush()
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


# ---------------------------------------------------------------------- local engine

_WORKER: Dict[str, Any] = {}


def load_pipeline(model: Union[str, Path], threads: int = 1, gpu_id: int = -1) -> Language:
    """``spacy.load(model)`` with torch pinned to ``threads`` CPU threads (and on GPU
    ``gpu_id`` when it is ≥ 0)."""
    import spacy
    import torch

    torch.set_num_threads(max(1, threads))
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    return spacy.load(model)


def _worker_init(model: str, threads: int, options: dict) -> None:
    _WORKER["nlp"] = load_pipeline(model, threads)
    _WORKER["options"] = options


def _worker_annotate(records: List[Record]) -> List[Union[Annotated, Failure]]:
    results = annotate_records(_WORKER["nlp"], records, **_WORKER["options"])
    for item in results:  # Docs travel back as bytes (their vocab stays in the worker)
        if isinstance(item, Annotated) and item.doc is not None:
            item.doc = item.doc.to_bytes()
    return results


def _bounded(items: Iterable, semaphore: threading.Semaphore) -> Iterator:
    for item in items:
        semaphore.acquire()
        yield item


def annotate_local(
    model: Union[str, Path],
    items: Iterable[Union[Record, Failure]],
    *,
    n_process: int = 1,
    batch_size: int = 256,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    keep_docs: bool = False,
    threads: int = 1,
    gpu_id: int = -1,
) -> Iterator[Union[Annotated, Failure]]:
    """Annotate a stream of records in input order, in this process (``n_process=1``)
    or in a pool of ``n_process`` processes that each load the pipeline once (chunks of
    ``batch_size`` records go round them; at most 2 chunks per process are in flight,
    so memory does not grow with the input). Failures from reading pass through in
    their place."""
    options = {"batch_size": batch_size, "max_tokens": max_tokens, "keep_docs": keep_docs}
    chunks = chunked(items, batch_size)
    if n_process <= 1:
        nlp = load_pipeline(model, threads, gpu_id)
        for chunk in chunks:
            yield from _annotate_chunk(chunk, lambda records: annotate_records(nlp, records, **options))
        return
    semaphore = threading.Semaphore(2 * n_process)
    context = multiprocessing.get_context("spawn")
    with context.Pool(n_process, initializer=_worker_init, initargs=(str(model), threads, options)) as pool:
        vocab = None
        for chunk in pool.imap(_run_chunk, _bounded(chunks, semaphore)):
            semaphore.release()
            for item in chunk:
                if isinstance(item, Annotated) and isinstance(item.doc, bytes):
                    if vocab is None:
                        from spacy.vocab import Vocab

                        vocab = Vocab()
                    item.doc = Doc(vocab).from_bytes(item.doc)
                yield item


def _run_chunk(chunk: list) -> list:
    return list(_annotate_chunk(chunk, _worker_annotate))


def _annotate_chunk(chunk: list, run: Callable[[List[Record]], list]) -> Iterator[Union[Annotated, Failure]]:
    records = [item for item in chunk if isinstance(item, Record)]
    done = {item.seq: item for item in run(records)} if records else {}
    for item in chunk:
        yield done[item.seq] if isinstance(item, Record) else item


@dataclass
class Summary:
    """What a run did: docs read, annotated and failed, words annotated, seconds."""

    docs: int = 0
    annotated: int = 0
    failed: int = 0
    words: int = 0
    seconds: float = 0.0
    output: str = ""
    errors: Optional[str] = None
    startup_s: Optional[float] = None  # Ray: seconds to start or join the cluster
    first_result_s: Optional[float] = None  # seconds until the first doc was written (start-up, model loading)

    def to_dict(self) -> Dict[str, Any]:
        return dict(self.__dict__, words_per_second=round(self.words / self.seconds) if self.seconds else None)

    @property
    def steady_words_per_second(self) -> Optional[float]:
        """Words/s after the first result (start-up and model loading left out)."""
        if self.first_result_s is None or self.seconds <= self.first_result_s:
            return None
        return self.words / (self.seconds - self.first_result_s)


def write_results(
    results: Iterable[Union[Annotated, Failure]],
    writer: Writer,
    errors: ErrorLog,
    *,
    total: Optional[int] = None,
    progress: bool = True,
) -> Summary:
    """Write annotated docs and failures as they come, checking that each input position
    arrives once and in order (an error otherwise: never a silent gap or duplicate)."""
    from tqdm import tqdm

    summary = Summary(output=str(writer.output))
    start = time.perf_counter()
    expected = 0
    with tqdm(total=total, unit="doc", disable=not progress, desc="annotate") as bar:
        for item in results:
            if item.seq != expected:
                raise RuntimeError(f"result for input #{item.seq} arrived where #{expected} was expected.")
            if summary.first_result_s is None:
                summary.first_result_s = round(time.perf_counter() - start, 3)
            expected += 1
            summary.docs += 1
            if isinstance(item, Failure):
                errors.write(item)
                summary.failed += 1
            else:
                writer.write(item)
                summary.annotated += 1
                summary.words += item.tokens
            bar.update(1)
    summary.seconds = round(time.perf_counter() - start, 3)
    return summary


def annotate(
    model: Union[str, Path],
    input_path: Union[str, Path],
    output: Union[str, Path],
    *,
    fmt: Optional[str] = None,
    engine: str = "local",
    n_process: int = 1,
    workers: int = 1,
    batch_size: int = 256,
    field: str = "text",
    id_field: str = "id",
    meta_field: str = "meta",
    max_tokens: int = DEFAULT_MAX_TOKENS,
    threads: int = 1,
    gpu_id: int = -1,
    gpus_per_worker: float = 0.0,
    overwrite: bool = False,
    progress: bool = True,
) -> Summary:
    """The whole job: annotate every document of INPUT with the pipeline MODEL and write
    them to OUTPUT (format from ``fmt`` or the suffix), in input order; failed lines go
    to ``<output>.errors.jsonl``. ``engine="ray"`` runs the batches on a Ray cluster
    (``spacy_rnn.scale``; needs the ``ray`` extra), ``"local"`` here."""
    if engine not in ("local", "ray"):
        raise ValueError(f"unknown engine {engine!r}; expected 'local' or 'ray'.")
    for name, value in (
        ("batch_size", batch_size),
        ("n_process", n_process),
        ("workers", workers),
        ("threads", threads),
    ):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}.")
    if max_tokens < 0:
        raise ValueError(f"max_tokens must be 0 (no limit) or more, got {max_tokens}.")
    files = input_files(input_path)
    fmt = output_format(output, fmt)
    model = str(model)
    writer = Writer(output, fmt, overwrite=overwrite)
    errors = ErrorLog(errors_path(output))
    items = read_records(files, field=field, id_field=id_field, meta_field=meta_field)
    try:
        if engine == "ray":
            from spacy_rnn.scale import annotate_ray

            summary = annotate_ray(
                model,
                items,
                writer,
                errors,
                workers=workers,
                batch_size=batch_size,
                max_tokens=max_tokens,
                threads=threads,
                gpus_per_worker=gpus_per_worker,
                progress=progress,
            )
        else:
            results = annotate_local(
                model,
                items,
                n_process=n_process,
                batch_size=batch_size,
                max_tokens=max_tokens,
                keep_docs=fmt == "spacy",
                threads=threads,
                gpu_id=gpu_id,
            )
            summary = write_results(results, writer, errors, progress=progress)
    except BaseException:
        writer.abort()
        raise
    finally:
        errors.close()
    writer.close()
    summary.errors = str(errors.path) if errors.count else None
    return summary
