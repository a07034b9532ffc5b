"""Command line: ``python -m lgtools train|sweep|results`` (the one place that prints).

- ``train``: every ``TrainConfig`` field is an option (``--epochs 2``, ``--no-augment``);
  trains, prints a one-screen summary and stores the result (``lgtools.runs.results``).
- ``sweep``: runs YAML sweep specs (``lgtools.runs.sweep``), resumably, one after another.
- ``results``: a table of the stored results, mean ± std over seeds; ``--scorecard`` sets them
  beside the paper's numbers as chapter 8 does.
- ``chapter``: executes a chapter through papermill with ``-p NAME VALUE`` parameters, each checked against the
  chapter's parameters cell (and the folders it reads) before the kernel starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import logging
import os
import re
import signal
import sys
import types
import typing
from pathlib import Path
from typing import Any

CHOICES = {"labels": ("training.config", "LABELS"), "schedule": ("training.config", "SCHEDULES"),
           "precision": ("training.config", "PRECISIONS"), "model": ("nets.models", "MODELS"),
           "extra_layer": ("nets.models", "EXTRA_LAYERS"), "loss": ("nets.losses", "LOSSES"),
           "coarse_head": ("nets.models", "COARSE_HEAD_STAGES"), "pseudo_features": ("labels.pseudo", "FEATURES"),
           "pseudo_within": ("labels.pseudo", "WITHIN"), "noise_mode": ("labels.noise", "NOISE_MODES"),
           "train_part": ("data.datasets", "TRAIN_PARTS")}
LISTING_BATCH = 1000  # lines of a dry run's listing written at once
DEFAULT_BY = ["scale", "experiment", "dataset", "hierarchy", "labels", "model", "epochs",
              "data_ratio", "noise", "dropout", "extra_layer"]


def field_help(config_class: type) -> dict[str, str]:
    """Each field's description: its ``metadata["help"]``, else its trailing source comment."""
    comments = {}
    try:
        for line in inspect.getsource(config_class).splitlines():
            found = re.match(r"\s+(\w+)\s*:[^#]*#\s*(.+)$", line)
            if found:
                comments[found.group(1)] = found.group(2).strip()
    except (OSError, TypeError):
        pass  # no source (frozen app): metadata only
    return {f.name: f.metadata.get("help") or comments.get(f.name, "")
            for f in dataclasses.fields(config_class)}


def _optional(convert):
    """An argparse type that reads none/None/null as None."""
    def parse(text: str):
        return None if text.lower() in ("none", "null") else convert(text)
    parse.__name__ = getattr(convert, "__name__", "value")
    return parse


def _argument_type(hint: Any) -> tuple[Any, bool]:
    """(argparse type, is_bool) for a field's type hint."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    is_union = typing.get_origin(hint) is typing.Union or isinstance(hint, types.UnionType)
    base = (int if int in args else float if float in args else str) if is_union else hint
    if base is bool:
        return None, True
    convert = base if base in (int, float) else str
    return (_optional(convert) if is_union and type(None) in typing.get_args(hint) else convert), False


def add_train_options(parser: argparse.ArgumentParser) -> None:
    """One option per TrainConfig field, documented from the dataclass."""
    from importlib import import_module

    from lgtools.training.config import TrainConfig

    hints, helps = typing.get_type_hints(TrainConfig), field_help(TrainConfig)
    group = parser.add_argument_group("training configuration (TrainConfig fields)")
    for f in dataclasses.fields(TrainConfig):
        convert, is_bool = _argument_type(hints[f.name])
        text = helps[f.name] or f.name
        if f.name in CHOICES:
            module, constant = CHOICES[f.name]
            allowed = getattr(import_module(f"lgtools.{module}"), constant, None)
            text += f"; one of {', '.join(map(str, allowed))}" if allowed else ""
        text = (text + f" (default: {f.default})").replace("%", "%%")  # argparse formats help
        names = [f"--{f.name}"] + ([f"--{f.name.replace('_', '-')}"] if "_" in f.name else [])
        if is_bool:
            group.add_argument(*names, dest=f.name, action=argparse.BooleanOptionalAction,
                               default=argparse.SUPPRESS, help=text)
        else:
            group.add_argument(*names, dest=f.name, type=convert, default=argparse.SUPPRESS,
                               metavar=f.name.upper(), help=text)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m lgtools`` argument parser."""
    parser = argparse.ArgumentParser(prog="python -m lgtools", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log progress details (a sweep logs each finished run)")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train one run and store its result",
                                description="Train one run; every TrainConfig field is an option.")
    train.add_argument("--results", default="results", help="results root (default: results)")
    train.add_argument("--run-id", default=None, help="result file name (default: config hash)")
    train.add_argument("--overwrite", action="store_true", help="replace an existing result")
    add_train_options(train)

    sweep = commands.add_parser("sweep", help="run a YAML sweep spec, resumably",
                                description="Run every run of a sweep spec that has no result yet.")
    sweep.add_argument("spec", nargs="+",
                       help="YAML spec(s), e.g. sweeps/cpu/table1.yaml or sweeps/cpu/*.yaml "
                            "(all are checked before any runs; then run one after another)")
    sweep.add_argument("--results", default="results", help="results root (default: results)")
    sweep.add_argument("--runs-dir", default="runs",
                       help="executed notebooks, checkpoints, submitit logs (default: runs)")
    sweep.add_argument("--dry-run", action="store_true", help="list the runs, run nothing")
    sweep.add_argument("--jobs", default="auto",
                       help="runs at a time, or auto (default): one one-thread run per CPU core without a GPU "
                            "(measured to give the most runs per hour on a small CPU), 1 with one")
    sweep.add_argument("--launcher", choices=("local", "submitit"), default="local",
                       help="local processes, or submitit (SLURM; its local executor elsewhere)")
    sweep.add_argument("--cluster", default=None,
                       help="submitit cluster: slurm, local, debug (default: auto-detect)")
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")
    sweep.add_argument("--only", action="append", default=[], metavar="KEY=VALUE",
                       help="run only the runs with this parameter value (repeatable; values as in "
                            "YAML), e.g. --only dataset=cifar10 --only seed=0")
    sweep.add_argument("--data-root", default=None, metavar="PATH",
                       help="every run's data_root instead of the spec's (not part of run ids), "
                            "e.g. with --only dataset=cifar10 --data-root data/cifar10-jpeg.npz")
    sweep.add_argument("--no-reuse", action="store_true",
                       help="train runs even when another sweep stored an identical one")

    results = commands.add_parser("results", help="summarise stored results")
    results.add_argument("directory", nargs="?", default="results", help="(default: results)")
    results.add_argument("--check", action="store_true",
                         help="list every file that should be a result and is not; exit 1 if there is one")
    results.add_argument("--scorecard", action="store_true",
                         help="the paper's numbers beside ours, source by source (chapter 8's tables)")
    results.add_argument("--by", nargs="+", default=None,
                         help=f"group columns (default: {' '.join(DEFAULT_BY)})")
    clusters = commands.add_parser("clusters", help="how well label-free clusters recover the fine classes",
                                   description="Cluster each coarse class as a pseudo-fine run would (no training) "
                                               "and store NMI and adjusted Rand against the true fine labels.")
    clusters.add_argument("--out", required=True, help="JSON file to write (replaced if it exists)")
    clusters.add_argument("--k", type=int, nargs="+", default=[2, 5, 10], help="clusters per coarse class")
    clusters.add_argument("--features", nargs="+", default=["pixels", "random_net"], help="feature sources")
    clusters.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="clustering seeds")
    clusters.add_argument("--methods", nargs="+", default=["kmeans"], help="kmeans and/or spectral (the authors' choice)")
    add_train_options(clusters)
    probes = commands.add_parser("probes", help="linear probes of every stage at every kept epoch",
                                 description="Fit a coarse and a fine logistic-regression probe on each residual "
                                             "stage of runs trained with --keep_weights, at every kept epoch.")
    probes.add_argument("--weights", nargs="+", required=True, metavar="DIR",
                        help="checkpoint_dir(s) of runs trained with --keep_weights")
    probes.add_argument("--out", required=True, help="JSON file to write (replaced if it exists)")
    probes.add_argument("--probe-train", type=int, default=5000, help="training images per probe, stratified")
    probes.add_argument("--probe-test", type=int, default=2000, help="test images per probe, stratified")
    probes.add_argument("--data-root", default=None, metavar="PATH", help="data path instead of the runs' own")
    tsne = commands.add_parser("tsne", help="Fig 4: t-SNE maps of a fine and a coarse network's penultimate features",
                               description="Embed the penultimate features of one class-balanced subset of the test "
                                           "images through the last kept epoch of a fine- and a coarse-label network "
                                           "(runs trained with keep_weights) and store the maps for chapter 5.")
    tsne.add_argument("--fine", required=True, metavar="DIR", help="kept weights of the fine-label run (folder or file)")
    tsne.add_argument("--coarse", required=True, metavar="DIR", help="kept weights of the coarse-label run (folder or file)")
    tsne.add_argument("--out", required=True, help="JSON file to write (replaced if it exists)")
    tsne.add_argument("--points", type=int, default=1000, help="test images embedded, the same number of each fine class")
    tsne.add_argument("--seed", type=int, default=0, help="seed of the subset and of t-SNE")
    tsne.add_argument("--max-iter", type=int, default=1000, help="t-SNE optimisation steps (250 at least)")
    tsne.add_argument("--results", default="results", help="results root searched for the runs' stored predictions")
    tsne.add_argument("--data-root", default=None, metavar="PATH", help="data path instead of the runs' own")
    finetune = commands.add_parser("finetune", help="fine-tune pretrained networks on the coarse labels (probe and full)",
                                   description="For each folder of kept weights: a linear probe of the coarse labels on "
                                               "the frozen features, and a full fine-tuning stored as a run result.")
    finetune.add_argument("--weights", nargs="+", required=True, metavar="DIR",
                          help="folders of runs trained with keep_weights (a sweep keeps them in runs/<sweep>/<run>.weights)")
    finetune.add_argument("--out", required=True, help="JSON file to write (replaced if it exists, unless --update)")
    finetune.add_argument("--update", action="store_true",
                          help="keep --out's rows of pretrainings not given here (same epochs, probe size, scale, "
                               "experiment), so earlier weights need not be at hand")
    finetune.add_argument("--epochs", type=int, default=1, help="fine-tuning epochs (default: 1)")
    finetune.add_argument("--probe-train", type=int, default=10000, help="training images of the linear probe, stratified")
    finetune.add_argument("--results", default="results", help="results root for the fine-tuning runs (default: results)")
    finetune.add_argument("--experiment", default="finetune-cpu-scale", help="their folder under --results")
    finetune.add_argument("--data-root", default=None, metavar="PATH", help="data path instead of the runs' own")
    finetune.add_argument("--scale", default="cpu-scale", help="scale tag of the fine-tuning runs (default: cpu-scale)")
    finetune.add_argument("--target-part", default=None, choices=("all", "a", "b"),
                          help="transfer: fine-tune on this half of the training images, the one the pretraining "
                               "did not see (default: the pretraining's own images)")
    finetune.add_argument("--target-ratio", type=float, default=None,
                          help="transfer: share of the target images kept (its data_ratio; 0.2 of part b is 10%% of "
                               "the training images)")
    finetune.add_argument("--scratch", action="store_true",
                          help="also the from-scratch baseline of each seed (the fine-tuning without pretrained weights)")
    chapter = commands.add_parser("chapter", help="execute a chapter through papermill, its parameters checked first",
                                  description="Execute a notebook (e.g. book/08_conclusion.ipynb) with papermill. Every "
                                              "parameter must be in the notebook's parameters cell and of its type, and "
                                              "the folders it reads must exist; all checked before the kernel starts.")
    chapter.add_argument("notebook", help="the chapter, e.g. book/08_conclusion.ipynb")
    chapter.add_argument("output", help="the executed notebook to write, e.g. runs/08_conclusion.ipynb")
    chapter.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                         help="a parameter, its value read as YAML (3, 0.5, true, [0, 1]) like papermill's -p, "
                              "kept as text where the parameters cell declares a str")
    chapter.add_argument("-r", "--raw", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                         help="a parameter whose value is kept as text")
    chapter.add_argument("--kernel", default=None, help="Jupyter kernel name (default: the notebook's own)")
    return parser


# A chapter's parameters naming folders it reads: one that is not there is an error before the kernel starts.
READ_FOLDERS = ("results_dir", "benchmarks_dir", "sweeps_dir")


def _chapter(args: argparse.Namespace) -> int:
    from lgtools.report.paths import existing_folder
    from lgtools.runs.parameter_types import check_notebook_parameters, notebook_parameter_types
    from lgtools.runs.sweep_spec import load_yaml

    notebook = Path(args.notebook)
    if notebook.suffix != ".ipynb" or not notebook.is_file():
        raise ValueError(f"notebook {args.notebook!r} is not an .ipynb file" if notebook.exists()
                         else f"notebook {args.notebook!r} not found")
    parameters, types = {}, notebook_parameter_types(notebook)
    for name, text in args.parameter:
        if types.get(name) is str:  # a text parameter keeps its text: -p hierarchy 0011100 is bits, not a number
            parameters[name] = text
            continue
        try:
            parameters[name] = load_yaml(text)
        except Exception as error:  # yaml's errors: the value named, in one line
            raise ValueError(f"-p {name} {text!r}: the value is not YAML ({' '.join(str(error).split())[:120]}); "
                             f"use -r {name} VALUE for text") from None
    parameters.update(dict(args.raw))
    check_notebook_parameters(notebook, parameters)
    for name in READ_FOLDERS:
        if name in parameters:
            existing_folder(parameters[name], name)
    output = Path(args.output)
    if output.resolve() == notebook.resolve():
        raise ValueError(f"output {args.output!r} is the notebook itself; give another file")
    from lgtools.runs.results import ensure_writable

    ensure_writable(output.parent if str(output.parent) else Path("."), "output")
    import papermill

    try:
        papermill.execute_notebook(str(notebook), str(output), parameters=parameters, kernel_name=args.kernel,
                                   progress_bar=False, cwd=str(notebook.resolve().parent))
    except papermill.PapermillExecutionError as error:
        where = f"{notebook.name} (cell {error.exec_count or error.cell_index})"
        if error.ename == "ValueError":  # the project's word for bad input: exit 2, as on the command line
            raise ValueError(f"{where}: {error.evalue}") from None
        print(f"error: {where} failed: {error.ename}: {' '.join(str(error.evalue).split())}; see {output}",
              file=sys.stderr)
        return 1
    print(f"chapter {notebook.name}: executed with {parameters or 'its defaults'} → {output}")
    return 0


def _check_out(out: str) -> Path:
    """A study's ``--out``: a JSON file whose folder is writable, checked before any work; ValueError naming it."""
    from lgtools.runs.results import ensure_writable

    path = Path(out)
    if path.is_dir() or not path.name or path.name in (".", ".."):
        raise ValueError(f"--out {out!r} is a folder; give the JSON file to write, e.g. {str(path / 'study.json')!r}")
    ensure_writable(path.parent if str(path.parent) else Path("."), "--out")
    return path


def _finetune(args: argparse.Namespace) -> int:
    from lgtools.runs.finetune_study import finetune_study, load_finetune_study, save_finetune_study

    _check_out(args.out)
    if args.epochs < 1:
        raise ValueError(f"--epochs must be a positive integer, got {args.epochs}")
    previous = load_finetune_study(args.out) if args.update else None
    frame, parameters = finetune_study(args.weights, args.epochs, args.probe_train, args.results, args.experiment,
                                       args.data_root, args.scale, previous, args.target_part, args.target_ratio,
                                       args.scratch)
    return _report_study(frame.drop(columns=["probe_pred", "finetune_pred"]),
                         save_finetune_study(frame, args.out, parameters))


def _probes(args: argparse.Namespace) -> int:
    from lgtools.runs.probe_study import probe_study, save_probe_study

    _check_out(args.out)
    frame, parameters = probe_study(args.weights, args.probe_train, args.probe_test, args.data_root)
    return _report_study(frame, save_probe_study(frame, args.out, parameters))


def _tsne(args: argparse.Namespace) -> int:
    from lgtools.runs.embedding_study import embedding_study, save_embedding_study

    _check_out(args.out)
    frame, parameters = embedding_study(args.fine, args.coarse, args.points, args.seed, max_iter=args.max_iter,
                                        results=args.results, data_root=args.data_root)
    agree = {name: net["stored_predictions_agree"] for name, net in parameters["networks"].items()}
    print(f"stored predictions agree (share of the subset): {agree}")
    # what was embedded, per network, in named columns (describe()'s row names were lost in the printed table)
    shown = frame.groupby("network").agg(images=("image", "nunique"), x_min=("x", "min"), x_max=("x", "max"),
                                         y_min=("y", "min"), y_max=("y", "max")).reset_index()
    return _report_study(shown, save_embedding_study(frame, args.out, parameters))


def _clusters(args: argparse.Namespace) -> int:
    from lgtools.runs.cluster_study import cluster_study, save_cluster_study
    from lgtools.training.config import TrainConfig

    _check_out(args.out)
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    base = {key: value for key, value in vars(args).items() if key in names}
    frame = cluster_study(base, args.k, args.features, args.seeds, args.methods)
    return _report_study(frame, save_cluster_study(frame, args.out, base))


def _report_study(shown: Any, path: Path) -> int:
    """Print a study's table and where it was stored (the study commands' output); exit status 0."""
    print(shown.to_string(index=False))
    print(f"stored {path}")
    return 0


def _fmt(value: Any, digits: int = 2, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def _train(args: argparse.Namespace) -> int:
    from lgtools.runs.record import check_run_id
    from lgtools.runs.results import ensure_writable, save_result
    from lgtools.training.config import TrainConfig
    from lgtools.training.identity import run_id as make_run_id
    from lgtools.training.identity import run_identity
    from lgtools.training.loop import train

    names = {f.name for f in dataclasses.fields(TrainConfig)}
    config = TrainConfig(**{k: v for k, v in vars(args).items() if k in names})
    run_id = check_run_id(args.run_id) if args.run_id is not None else make_run_id(run_identity(config))
    target = ensure_writable(Path(args.results) / config.experiment) / f"{run_id}.json"
    if target.exists() and not args.overwrite:
        print(f"error: {target} exists (same configuration); pass --overwrite or --run-id",
              file=sys.stderr)
        return 1
    result = train(config)
    path = save_result(result, args.results, run_id=run_id, overwrite=args.overwrite)
    s, fine = result.summary, config.labels == "fine"
    print(f"{config.dataset} · {config.labels} labels ({len(result.fine_names)} fine → "
          f"{len(result.coarse_names)} coarse classes) · {config.model} · seed {config.seed}")
    print(f"{'epoch':>5} {'lr':>8} {'train loss':>10} {'train acc':>9} {'test acc':>8}")
    for row in result.history[-8:]:
        print(f"{row['epoch']:>5} {row.get('lr', 0):>8.4f} {row.get('train_loss', 0):>10.4f} "
              f"{row.get('train_acc', 0):>9.2f} {row.get('test_acc', 0):>8.2f}")
    label = f"{'A_FC' if fine else 'A_CC'} (coarse test accuracy):"
    print(f"{label:<28}{_fmt(s.get('test_acc'), unit=' %')}")
    print(f"{'coarse train accuracy:':<28}{_fmt(s.get('train_acc'), unit=' %')}")
    if fine:
        print(f"{'fine test accuracy:':<28}{_fmt(s.get('test_acc_fine'), unit=' %')}")
        print(f"{'ACR (authors code):':<28}{_fmt(s.get('acr'), 4)}   "
              f"(eq. 1 as printed: {_fmt(s.get('acr_equation'), 4)})")
    print(f"time: {_fmt(s.get('seconds'), 1, ' s')} · {_fmt(s.get('images_per_s'), 0)} images/s"
          f" · {s.get('device')} · peak memory {_fmt(s.get('peak_memory_mb'), 0, ' MB')}")
    print(f"result: {path}")
    return 0


def _only(pairs: list[str]) -> dict:
    """``--only KEY=VALUE`` options as a dict, each value read as YAML (``0.3``, ``null``, ``fine``)."""
    import yaml

    only = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--only takes KEY=VALUE (e.g. dataset=cifar10), got {pair!r}")
        try:
            only[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as error:
            raise ValueError(f"--only {pair!r}: the value is not YAML ({' '.join(str(error).split())[:120]})") from None
    return only


def _jobs(value: str, launcher: str) -> int:
    """``--jobs``: a positive integer, or ``auto`` (``lgtools.runs.sweep.default_jobs``)."""
    from lgtools.runs.sweep import default_jobs

    if value == "auto":
        return default_jobs(launcher)
    if not str(value).isdigit() or int(value) < 1:
        raise ValueError(f"--jobs must be a positive integer or auto, got {value!r}")
    return int(value)


def _sweep(args: argparse.Namespace) -> int:
    from lgtools.runs.sweep_spec import expand, load_spec, select

    _jobs(args.jobs, args.launcher)  # a bad --jobs stops everything before any run
    # A bad spec stops everything before any run. A dry run lists each run as the grid expands and checks it as it
    # comes (one expansion, one run held at a time); a real sweep expands and checks every run first.
    specs = [load_spec(path, expand_runs=not args.dry_run) for path in args.spec]
    args.only = _only(args.only)
    for spec in specs if not args.dry_run else ():  # the same for --only: a value no run has stops everything
        select(expand(spec), args.only)
    names = [spec.name for spec in specs]
    if len(set(names)) < len(names):
        raise ValueError(f"spec: two specs share a name (results would mix): {sorted(names)}")
    status = 0
    for spec in specs:
        status = max(status, _sweep_one(spec, args))
        if status > 1:  # interrupted: the remaining specs are not started
            return status
    return status


def _dry_run(spec, args: argparse.Namespace) -> int:
    """List a sweep's runs as the grid expands (state, id, varying values), then the counts; nothing is written."""
    from lgtools.runs.sweep import plan

    counts = {"done": 0, "reuse": 0, "todo": 0}
    print(f"sweep {spec.name}: each run as the grid expands, done (stored), reuse (copied from an identical run of "
          "another sweep) or todo", flush=True)
    lines: list[str] = []  # written a batch at a time: one write per line is most of a listing's time unbuffered
    for state, task, _, _ in plan(spec, Path(args.results).resolve(), Path(args.runs_dir).resolve(),
                                  _jobs(args.jobs, args.launcher), args.launcher, not args.no_reuse, args.only,
                                  args.data_root):
        counts[state] += 1
        lines.append(f"  [{state}] {task.run_id}  {_varying(task, spec)}\n")
        if len(lines) >= LISTING_BATCH or sum(counts.values()) == 1:
            sys.stdout.write("".join(lines))
            sys.stdout.flush()
            lines.clear()
    sys.stdout.write("".join(lines))
    print(f"sweep {spec.name}: {sum(counts.values())} runs, {counts['done']} with results, "
          f"{counts['reuse']} to copy from identical runs of other sweeps, {counts['todo']} to run")
    return 0


def _varying(task, spec) -> dict:
    """The case and grid values that set a run apart (as ``Run.varying``), read from its parameters."""
    keys = dict.fromkeys([*(k for case in spec.cases for k in case), *spec.grid])
    return {k: task.parameters[k] for k in keys if k in task.parameters}


def _sweep_one(spec, args: argparse.Namespace) -> int:
    from lgtools.runs.sweep import run_sweep

    if args.dry_run:
        return _dry_run(spec, args)
    try:
        summary = run_sweep(spec, results=args.results, runs_dir=args.runs_dir, jobs=_jobs(args.jobs, args.launcher),
                            launcher=args.launcher, dry_run=args.dry_run,
                            progress=not args.no_progress, cluster=args.cluster,
                            reuse=not args.no_reuse, only=args.only,
                            data_root=args.data_root)
    except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM/SIGHUP as lgtools.runs.sweep.SweepInterrupted
        signum = getattr(stop, "signum", signal.SIGINT)
        flight = ("runs in flight were stopped and resume from their checkpoints when you re-run "
                  "this command" if args.launcher == "local" else
                  "submitted jobs were not cancelled (see your scheduler's queue)")
        print(f"sweep {spec.name}: interrupted by {signal.Signals(signum).name}; {flight}",
              file=sys.stderr)
        return 128 + signum
    if summary.nothing_to_do:
        print(f"sweep {spec.name}: all {summary.total} runs already have results; nothing to do")
        return 0
    print(f"sweep {spec.name}: done {len(summary.done)}, skipped {len(summary.skipped)}, "
          f"reused {len(summary.reused)}, failed {len(summary.failed)}, trained elsewhere "
          f"{len(summary.locked)} (of {summary.total})")
    for run_id, error in summary.failed.items():
        print(f"  failed {run_id}: {error}  → {Path(args.results) / spec.name / run_id}.failed.json")
    return 1 if summary.failed else 0


def _results(args: argparse.Namespace) -> int:
    import pandas as pd

    from lgtools.runs.compare import as_text
    from lgtools.runs.results import check_results, load_results

    if not Path(args.directory).is_dir():
        raise ValueError(f"results folder {args.directory!r} does not exist" if not Path(args.directory).exists()
                         else f"results folder {args.directory!r} is not a folder")
    if args.check:
        problems = check_results(args.directory)
        for path, problem in problems:
            print(f"{path}: {problem}")
        print(f"{len(problems)} problem(s) under {args.directory}")
        return 1 if problems else 0
    frame = load_results(args.directory)
    if frame.empty:
        print(f"no results under {args.directory}")
        return 0
    if args.scorecard:
        return _print_scorecard(args.directory)
    by = args.by or DEFAULT_BY
    unknown = [c for c in by if c not in frame.columns]
    if unknown:
        print(f"error: --by {unknown} not among {list(frame.columns)}", file=sys.stderr)
        return 2
    frame = frame.assign(**{c: as_text(frame[c]) for c in by})  # keep runs with None keys
    table = frame.groupby(by, sort=True).agg(
        test_acc=("test_acc", "mean"), std=("test_acc", "std"), n=("test_acc", "count"),
        fine_acc=("test_acc_fine", "mean"), acr=("acr", "mean"), seconds=("seconds", "mean"))
    with pd.option_context("display.width", 200, "display.max_rows", 500,
                           "display.float_format", "{:.2f}".format):
        print(table.reset_index().to_string(index=False))
    return 0


def _print_scorecard(directory: str) -> int:
    """Chapter 8's overview and, for every source with runs of ours, its rows that have them."""
    import pandas as pd

    from lgtools.report.scorecard import scorecard, scorecard_summary
    from lgtools.report.selection import SOURCE_KEYS
    from lgtools.report.stored import stored_results

    stored = stored_results(directory)  # a run copied between sweeps counts once
    with pd.option_context("display.width", 250, "display.max_rows", 500, "display.max_columns", 30,
                           "display.float_format", "{:.2f}".format):
        print("ΔA = A_FC − A_CC per source and scale: printed pairs, ours, sign agreement")
        cards = {source: scorecard(stored, source) for source in SOURCE_KEYS}
        print(scorecard_summary(stored, cards).to_string(index=False))
        for source, card in cards.items():
            card = card[card["n"] > 0]
            if not card.empty:
                print(f"\n{source}: the paper beside ours (ours: mean over seeds [95 % interval]; ΔA paired over n seeds)")
                print(card.to_string(index=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return {"train": _train, "sweep": _sweep, "results": _results, "clusters": _clusters,
                "probes": _probes, "tsne": _tsne, "finetune": _finetune, "chapter": _chapter}[args.command](args)
    except BrokenPipeError:  # `lgtools results | head` closed the pipe: the reader is done, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 128 + signal.SIGPIPE
    except (ValueError, OSError, FloatingPointError) as error:  # bad values, missing or unwritable files,
        # a diverged run: one line, no traceback
        text = f"{error.strerror}: {error.filename!r}" if isinstance(error, OSError) and error.filename and error.strerror else str(error)
        print(f"error: {' '.join(text.split())}", file=sys.stderr)
        return 2
