"""The command line: ``spacy-rnn COMMAND`` or ``python -m spacy_rnn COMMAND`` (``--help``
lists the commands). Built with typer and wasabi, as spaCy's own CLI is."""

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

app = typer.Typer(
    name="spacy-rnn",
    help="Recurrent-network components for spaCy: corpus converters, evaluation, generation, annotation.",
    no_args_is_help=True,
    add_completion=False,
)


def _fail(err: Exception) -> None:
    msg.fail(str(err), exits=1)


@app.command("convert-tweeteval")
def convert_tweeteval_cli(
    task_dir: Path = typer.Argument(
        ..., help="TweetEval task folder (mapping.txt, {train,val,test}_{text,labels}.txt), or a folder of targets"
    ),
    output_dir: Path = typer.Argument(..., help="where train.spacy, dev.spacy (from val) and test.spacy are written"),
    lang: str = typer.Option("en", "--lang", help="language of the tokenizer"),
) -> None:
    """TweetEval task folder -> train/dev/test .spacy files with doc.cats (one folder per
    target for a task with targets, e.g. stance)."""
    from .data import convert_tweeteval

    try:
        paths = convert_tweeteval(task_dir, output_dir, lang=lang)
    except ValueError as err:
        _fail(err)
    for path in paths:
        msg.good(f"wrote {path}")


@app.command("convert-lines")
def convert_lines_cli(
    input_path: Path = typer.Argument(..., help="text file, one sentence per line, tokens split on spaces"),
    output: Path = typer.Argument(..., help=".spacy file to write"),
    lang: str = typer.Option("en", "--lang"),
) -> None:
    """Pre-tokenized text -> .spacy, one doc per line (the EWT LM benchmark's format)."""
    from .data import token_lines_docbin

    try:
        docbin = token_lines_docbin(input_path, lang=lang)
    except ValueError as err:
        _fail(err)
    output.parent.mkdir(parents=True, exist_ok=True)
    docbin.to_disk(output)
    msg.good(f"wrote {output} ({len(docbin)} docs)")


@app.command("convert-text")
def convert_text_cli(
    inputs: List[Path] = typer.Argument(..., help="text files (one document a line), .jsonl files, or folders of them"),
    output_dir: Path = typer.Option(..., "--output", "-o", help="folder for the .spacy shards"),
    field: str = typer.Option("text", "--field", help="the text field of JSONL records"),
    max_words: int = typer.Option(0, "--max-words", help="stop after this many training tokens (0: all)"),
    interleave: bool = typer.Option(False, "--interleave", help="one document of each file in turn"),
    dev_output: Optional[Path] = typer.Option(None, "--dev-output", help="folder for held-out shards"),
    dev_every: int = typer.Option(100, "--dev-every", help="every n-th document is held out (with --dev-output)"),
    dev_docs: int = typer.Option(2000, "--dev-docs", help="at most this many held-out documents"),
    lang: str = typer.Option("en", "--lang"),
) -> None:
    """Unlabelled text (lines or JSONL) -> .spacy shards tokenized by spaCy, for
    language-model pretraining (a folder spacy train reads as one corpus), and optionally
    a held-out folder for model-best."""
    from .data import text_shards

    try:
        counts = text_shards(
            inputs,
            output_dir,
            lang=lang,
            field=field,
            max_words=max_words,
            interleave=interleave,
            dev_dir=dev_output,
            dev_every=dev_every,
            dev_docs=dev_docs,
        )
    except ValueError as err:
        _fail(err)
    msg.good(f"wrote {counts['shards']} shards to {output_dir}: {counts['docs']:,} docs, {counts['tokens']:,} tokens")
    if dev_output is not None:
        msg.good(f"held out in {dev_output}: {counts['dev_docs']:,} docs, {counts['dev_tokens']:,} tokens")


LM_SCORES = [("lm_ppl", "perplexity"), ("lm_loss", "cross-entropy (nats/token)"), ("lm_score", "1 / perplexity")]


@app.command("evaluate")
def evaluate_cli(
    model: str = typer.Argument(..., help="pipeline directory or package name"),
    data_path: Path = typer.Argument(..., help=".spacy file with the reference docs"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="write all scores to this JSON file"),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g"),
    gold_preproc: bool = typer.Option(False, "--gold-preproc", "-G", help="use the reference docs' tokens"),
) -> None:
    """``spacy evaluate``, plus the scores it does not print: the language model's
    perplexity and cross-entropy, and each text classification label's F-score."""
    from spacy.cli.evaluate import evaluate

    if not data_path.exists():
        _fail(ValueError(f"{data_path} not found"))
    scores = evaluate(model, data_path, output=None, use_gpu=gpu_id, gold_preproc=gold_preproc, silent=True)
    rows = [("TOK", f"{100 * scores['token_acc']:.2f}")] if scores.get("token_acc") is not None else []
    for key, label in [
        ("pos_acc", "POS"),
        ("tag_acc", "TAG"),
        ("cats_score", "TEXTCAT"),
        ("cats_macro_f", "TEXTCAT (macro F)"),
    ]:
        if scores.get(key) is not None:
            rows.append((label, f"{100 * scores[key]:.2f}"))
    for key, label in LM_SCORES:
        if scores.get(key) is not None:
            rows.append((label, f"{scores[key]:.4f}" if key != "lm_ppl" else f"{scores[key]:.2f}"))
    if scores.get("speed") is not None:
        rows.append(("SPEED (words/s)", f"{scores['speed']:.0f}"))
    msg.table(rows, title="Results")
    per_type = scores.get("cats_f_per_type") or {}
    if per_type:
        msg.table(
            [
                (label, f"{100 * s['p']:.2f}", f"{100 * s['r']:.2f}", f"{100 * s['f']:.2f}")
                for label, s in per_type.items()
            ],
            header=("", "P", "R", "F"),
            title="Textcat F (per label)",
        )
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(scores, indent=2) + "\n")
        msg.good(f"saved the scores to {output}")


@app.command("generate")
def generate_cli(
    model: str = typer.Argument(..., help="pipeline directory or package name"),
    prompt: str = typer.Argument("", help="text to continue (default: none)"),
    max_tokens: int = typer.Option(40, "--max-tokens"),
    temperature: float = typer.Option(1.0, "--temperature"),
    top_k: Optional[int] = typer.Option(None, "--top-k"),
    top_p: float = typer.Option(1.0, "--top-p"),
    greedy: bool = typer.Option(False, "--greedy", help="take the most likely token each step"),
    seed: Optional[int] = typer.Option(None, "--seed"),
    samples: int = typer.Option(1, "--samples", help="how many continuations (seeds seed, seed+1, ...)"),
    no_stop_at_eos: bool = typer.Option(False, "--no-stop-at-eos", help="go on past the end of the sentence"),
    component: str = typer.Option("rnn_lm", "--component", help="name of the language model in the pipeline"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="also write the samples to this file"),
) -> None:
    """Continue a prompt with a pipeline's rnn_lm; prints one continuation per line."""
    import spacy

    nlp = spacy.load(model)
    lines = []
    try:
        lm = nlp.get_pipe(component)
        for i in range(samples):
            sample_seed = None if seed is None else seed + i
            lines.append(
                lm.generate(
                    prompt,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    top_k=top_k,
                    top_p=top_p,
                    greedy=greedy,
                    seed=sample_seed,
                    stop_at_eos=not no_stop_at_eos,
                )
            )
    except (KeyError, ValueError) as err:
        _fail(err)
    for line in lines:
        print(line)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("a", encoding="utf8") as f:
            f.write("".join(line + "\n" for line in lines))


@app.command("annotate")
def annotate_cli(
    model: str = typer.Argument(..., help="pipeline directory or package name"),
    input_path: str = typer.Argument(
        ..., help="text file (a doc a line), .jsonl, .spacy, or a directory or glob of them"
    ),
    output: Path = typer.Argument(..., help="output: .jsonl, .parquet, or a folder of .spacy shards (--format spacy)"),
    fmt: Optional[str] = typer.Option(
        None, "--format", "-f", help="jsonl, spacy or parquet (default: OUTPUT's suffix)"
    ),
    engine: str = typer.Option("local", "--engine", help="local (this machine) or ray (RAY_ADDRESS, else local Ray)"),
    n_process: int = typer.Option(1, "--n-process", "-n", help="local engine: processes"),
    workers: int = typer.Option(1, "--workers", "-w", help="ray engine: worker actors"),
    batch_size: int = typer.Option(256, "--batch-size", "-b", help="docs per batch"),
    threads: int = typer.Option(1, "--threads", help="torch threads per process or worker"),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="local engine: GPU to use (-1: CPU)"),
    gpus_per_worker: float = typer.Option(0.0, "--gpus-per-worker", help="ray engine: GPUs per worker"),
    field: str = typer.Option("text", "--field", help="JSONL: the text field"),
    id_field: str = typer.Option("id", "--id-field", help="JSONL: the id field (default: FILE:LINE)"),
    meta_field: str = typer.Option("meta", "--meta-field", help="JSONL: a field copied to the output"),
    max_tokens: int = typer.Option(20000, "--max-tokens", help="longer docs are reported as errors (0: no limit)"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace an existing OUTPUT"),
    no_progress: bool = typer.Option(False, "--no-progress", help="no progress bar"),
) -> None:
    """Annotate a corpus with a trained pipeline, streaming, in input order: per doc its
    id, text, meta and what the pipeline sets (pos/tag lists, cats, logprob / perplexity /
    surprisal). Lines that cannot be annotated go to OUTPUT.errors.jsonl with their line
    number and reason; the exit code is then 1."""
    from spacy_rnn.annotate import annotate

    try:
        summary = annotate(
            model,
            input_path,
            output,
            fmt=fmt,
            engine=engine,
            n_process=n_process,
            workers=workers,
            batch_size=batch_size,
            field=field,
            id_field=id_field,
            meta_field=meta_field,
            max_tokens=max_tokens,
            threads=threads,
            gpu_id=gpu_id,
            gpus_per_worker=gpus_per_worker,
            overwrite=overwrite,
            progress=not no_progress,
        )
    except (ValueError, ImportError, OSError) as err:
        _fail(err)
    wps = f", {summary.words / summary.seconds:,.0f} words/s" if summary.seconds else ""
    msg.good(f"annotated {summary.annotated:,} of {summary.docs:,} docs into {output} in {summary.seconds:.1f} s{wps}")
    if summary.failed:
        msg.warn(f"{summary.failed:,} lines could not be annotated: see {summary.errors}")
        sys.exit(1)


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
