"""Chapter 5 (05_generalization): Table V's dropout and the t-SNE of penultimate features — claims, evidence, live demo.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from typing import Sequence

from lgtools.data import augment
from lgtools.training.config import TrainConfig
from lgtools.training.loop import RunResult
from lgtools.training.run_data import load_run_data

from lgtools.report.ledger import claim_frame, finding_box
from lgtools.report.ledger import claim_row, first_row
from lgtools.report.scorecard import scorecard
from lgtools.runs.compare import delta_table  # offered to the notebook, which imports its own chapter only
NOTEBOOK = "05_generalization"  # the notebook this module serves
WHERE = "[Chapter 5](05_generalization.ipynb)"  # the ledger's link to it


@torch.no_grad()
def penultimate_features(run: RunResult, n: int = 1000, batch_size: int = 512
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, fine labels, coarse labels) of up to ``n`` test images through ``model.features`` (chapter 5, Fig 4).

    The test images are the run's own (same dataset, hierarchy and caps), preprocessed with the
    test transform and normalisation that training used.
    """
    if run.model is None:
        raise ValueError("run has no trained model (a stored result keeps none); train it again")
    if n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    config = TrainConfig.from_dict(run.config)
    data = load_run_data(config)
    hierarchy, (images, fine), (mean, std) = data.hierarchy, data.test, data.stats
    keep = np.random.default_rng(config.seed).permutation(len(fine))[:n]  # a random, unbiased sample
    images, fine = images[keep], fine[keep].numpy()
    model = run.model
    device = next(model.parameters()).device
    side = images.shape[-1] if images.shape[-1] <= 64 else 224
    was_training = model.training
    model.eval()
    chunks = []
    for start in range(0, len(images), batch_size):
        x = augment.eval_transform(images[start:start + batch_size].to(device), side)
        chunks.append(model.features(augment.normalize(x, mean, std)).float().cpu())
    model.train(was_training)
    return torch.cat(chunks).numpy(), fine, np.asarray(hierarchy.fine_to_coarse)[fine]


def tsne_embedding(features: np.ndarray, seed: int = 0, perplexity: float = 30.0,
                   max_iter: int = 1000, threads: int = 1) -> np.ndarray:
    """A 2-D t-SNE embedding of feature vectors (scikit-learn) (chapter 5, Fig 4).

    One thread by default: for a few hundred points more threads gain little, and on a busy
    2-core machine OpenMP threads contend so badly that t-SNE runs several times slower.
    """
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or len(features) < 5:
        raise ValueError(f"features must be an n×d array with n >= 5, got shape {features.shape}")
    if max_iter < 250:
        raise ValueError(f"max_iter must be at least 250 (scikit-learn's minimum), got {max_iter}")
    perplexity = min(perplexity, (len(features) - 1) / 3)  # TSNE requires perplexity < n
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed, max_iter=max_iter)
    with threadpool_limits(threads):
        return tsne.fit_transform(features)


def tsne_scatter(embedding: np.ndarray, coarse_labels: np.ndarray, coarse_names: Sequence[str],
                 title: str | None = None, ax: plt.Axes | None = None) -> plt.Figure:
    """Fig 4: a 2-D embedding coloured by coarse class, each class mean as a red triangle."""
    embedding, coarse_labels = np.asarray(embedding), np.asarray(coarse_labels)
    if embedding.ndim != 2 or embedding.shape[1] != 2 or len(embedding) != len(coarse_labels):
        raise ValueError(f"embedding must be n×2 with one coarse label per row, got {embedding.shape} "
                         f"and {coarse_labels.shape}")
    fig, ax = plt.subplots(figsize=(5, 4.5)) if ax is None else (ax.figure, ax)
    # Coarse classes get a palette without red, which is kept for the class means.
    colors = sns.color_palette("Set2" if len(coarse_names) <= 8 else "tab20", len(coarse_names))
    for c, name in enumerate(coarse_names):
        points = embedding[coarse_labels == c]
        ax.scatter(points[:, 0], points[:, 1], s=10, alpha=0.75, color=colors[c], label=name,
                   edgecolors="none")
    for c in range(len(coarse_names)):
        points = embedding[coarse_labels == c]
        if len(points):
            centre = points.mean(axis=0)
            ax.scatter(*centre, marker="^", s=120, color="red", edgecolors="black", zorder=3)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title or "t-SNE of penultimate features")
    ax.legend(fontsize=10, markerscale=2, loc="best", title="coarse class (▲ = mean)", title_fontsize=10)
    return fig


def claims(stored: pd.DataFrame) -> pd.DataFrame:
    """Chapter 5's ledger row from the stored runs: Table V at dropout 0.3 on CIFAR-10."""
    table5 = scorecard(stored, "table5")
    printed = table5[table5["dataset"].eq("cifar10") & table5["setting_value"].astype(str).eq("0.3")]
    rows = [] if printed.empty else [claim_row(
        "With dropout 0.3, fine labels still beat coarse on CIFAR-10 (Table V)", WHERE,
        float(printed["paper_delta"].iloc[0]), first_row(table5, dataset="cifar10", setting_value="0.3"))]
    return claim_frame(rows, NOTEBOOK)


def finding(ledger: pd.DataFrame) -> str:
    """This chapter's "what we found" box: its own rows of the book's ledger (Holm over the whole book) as Markdown."""
    return finding_box(ledger, NOTEBOOK)


VARIANTS = {  # the live demo's Table V: labels and dropout rate per setting
    "F, dropout 0": {"labels": "fine", "dropout": 0.0},
    "C, dropout 0": {"labels": "coarse", "dropout": 0.0},
    "F, dropout 0.3": {"labels": "fine", "dropout": 0.3},
    "C, dropout 0.3": {"labels": "coarse", "dropout": 0.3},
}


def train_gap_text(stored: pd.DataFrame) -> str:
    """Table I's training-accuracy ΔA on CIFAR-10 in words (Markdown): mean [95 % interval], seeds, both accuracies."""
    train = scorecard(stored, "table1", metric="train_acc")
    train = train[train["dataset"].eq("cifar10") & train["n"].gt(0)]
    if train.empty:
        return "no stored run yet"
    r = train.iloc[0]
    return (f"{r['ours_delta']:+.2f} [{r['ours_delta_low']:+.2f}, {r['ours_delta_high']:+.2f}] "
            f"points ({int(r['n'])} seeds; fine runs {r['ours_fine']} % against coarse runs {r['ours_coarse']} %)")
