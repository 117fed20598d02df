"""Unpaired image-to-image translation: image sets, offline datasets, loaders, models' tools.

An image set (:class:`ImageSet`) is one domain's uint8 images with their content labels,
stored as ``data/<split>/<domain>.npz``; the builders in :mod:`vc.image.datasets` write them.
"""

from vc.image.imageset import ImageSet

__all__ = ["ImageSet"]
