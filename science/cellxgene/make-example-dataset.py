#!/usr/bin/env python3
"""Write a small synthetic single-cell data set (h5ad) that cellxgene can open.

600 cells in four clusters, 200 genes, a UMAP-like 2-D embedding. Deterministic.
Usage: make-example-dataset.py OUTPUT.h5ad
"""
import sys

import anndata
import numpy as np
import pandas as pd


def main(output: str) -> None:
    rng = np.random.default_rng(20240901)
    n_cells, n_genes, n_clusters = 600, 200, 4
    cluster = rng.integers(0, n_clusters, size=n_cells)
    # Each cluster over-expresses its own block of 20 marker genes.
    rates = np.full((n_clusters, n_genes), 0.5)
    for c in range(n_clusters):
        rates[c, c * 20:(c + 1) * 20] = 5.0
    counts = rng.poisson(rates[cluster]).astype(np.float32)
    centres = rng.normal(scale=8.0, size=(n_clusters, 2))
    embedding = centres[cluster] + rng.normal(size=(n_cells, 2))

    obs = pd.DataFrame(
        {
            "cluster": pd.Categorical([f"cluster {c}" for c in cluster]),
            "n_counts": counts.sum(axis=1),
        },
        index=[f"cell-{i:04d}" for i in range(n_cells)],
    )
    var = pd.DataFrame(index=[f"gene-{j:03d}" for j in range(n_genes)])
    adata = anndata.AnnData(X=counts, obs=obs, var=var)
    adata.obsm["X_umap"] = embedding.astype(np.float32)
    adata.write_h5ad(output)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
