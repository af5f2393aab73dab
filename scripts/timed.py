"""Run a command and record its wall time and peak memory:

    python scripts/timed.py OUT.json [--threads N] [--budget SECONDS] [--set "KEY=VALUE ..."] -- COMMAND ...

Writes ``{"seconds", "peak_rss_mb", "threads", "budget_s", "interrupted", "command"}``
to OUT.json after the command ends; its exit status is passed on. ``--threads`` sets
OMP_NUM_THREADS (torch's and numpy's thread count) for the command. ``--budget`` gives
it a wall-clock budget: after that many seconds it gets SIGINT (``spacy train`` then
saves model-last and stops; model-best is the best checkpoint evaluated so far), and the
run counts as a success. ``--set "training.max_steps=20 corpora.train.limit=200"`` adds
``--training.max_steps 20 --corpora.train.limit 200`` to the command (config overrides for
``spacy train``; the project's quick run passes them this way); an empty string adds
nothing.
"""

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path


def main(argv):
    if "--" not in argv or len(argv) < 3:
        sys.exit(__doc__)
    split = argv.index("--")
    opts, command = argv[:split], argv[split + 1 :]
    out = Path(opts[0])
    threads = opts[opts.index("--threads") + 1] if "--threads" in opts else None
    budget = float(opts[opts.index("--budget") + 1]) if "--budget" in opts else None
    if "--set" in opts:
        for item in opts[opts.index("--set") + 1].split():
            key, sep, value = item.partition("=")
            if not sep or not key:
                sys.exit(f"timed.py: --set takes KEY=VALUE items, got {item!r}")
            command += [f"--{key}", value]
    env = dict(os.environ)
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    start = time.perf_counter()
    # a shell that starts jobs in the background makes them ignore SIGINT, and ignored
    # signals stay ignored across exec: give the command SIGINT's default back
    proc = subprocess.Popen(command, env=env, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    interrupted = False
    try:
        status = proc.wait(timeout=budget)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        status = proc.wait()
        interrupted = True
    seconds = time.perf_counter() - start
    if status == 0 or interrupted:
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        out.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "seconds": round(seconds, 1),
            "peak_rss_mb": round(peak_kb / 1024, 1),
            "threads": threads,
            "budget_s": budget,
            "interrupted": interrupted,
            "command": " ".join(command),
        }
        out.write_text(json.dumps(record, indent=2) + "\n")
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
