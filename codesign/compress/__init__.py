"""Model compression: magnitude pruning, ap_fixed quantization, k-means weight sharing, Huffman coding and
exact storage accounting (Deep Compression, Han et al. 2016; SqueezeNet's Table 2, Iandola et al. 2016).

Typical use::

    masks = prune(model, 0.33)                              # keep 33% of each layer's weights
    with keep_masks(model, masks, optimizer):               # fine-tune with pruned weights held at 0
        train(model)
    shared = share_weights(model, bits=8, reserve_zero=True)
    apply_sharing(model, shared)
    print(storage_table(model, StorageFormat("codebook_sparse", bits=8, index_bits=4)))
    q = quantized_copy(model, 16, activations=calibrate_activations(model, batches))
"""

from __future__ import annotations

from codesign.compress.huffman import HuffmanCode, code_lengths, huffman_bits
from codesign.compress.prune import (
    LayerDensity,
    apply_masks,
    density_report,
    keep_masks,
    magnitude_masks,
    overall_density,
    prunable_layers,
    prune,
)
from codesign.compress.quantize import (
    FakeQuant,
    FixedPoint,
    QuantizedCopy,
    calibrate_activations,
    default_activation_layers,
    insert_fake_quant,
    integer_bits_for_range,
    observe_activation_ranges,
    quantize_fixed,
    quantize_weights_,
    quantized_copy,
    remove_fake_quant,
    weight_precisions,
)
from codesign.compress.share import (
    SharedWeights,
    apply_sharing,
    centroid_gradient,
    kmeans_share,
    share_weights,
)
from codesign.compress.size import (
    KIB,
    MB,
    MIB,
    PAPER_MB,
    LayerStorage,
    StorageFormat,
    StorageTable,
    compression_ratio,
    layer_storage,
    relative_index_stream,
    storage_table,
)
from codesign.errors import CompressionError

__all__ = [
    "KIB",
    "MB",
    "MIB",
    "PAPER_MB",
    "CompressionError",
    "FakeQuant",
    "FixedPoint",
    "HuffmanCode",
    "LayerDensity",
    "LayerStorage",
    "QuantizedCopy",
    "SharedWeights",
    "StorageFormat",
    "StorageTable",
    "apply_masks",
    "apply_sharing",
    "calibrate_activations",
    "centroid_gradient",
    "code_lengths",
    "compression_ratio",
    "default_activation_layers",
    "density_report",
    "huffman_bits",
    "insert_fake_quant",
    "integer_bits_for_range",
    "keep_masks",
    "kmeans_share",
    "layer_storage",
    "magnitude_masks",
    "observe_activation_ranges",
    "overall_density",
    "prunable_layers",
    "prune",
    "quantize_fixed",
    "quantize_weights_",
    "quantized_copy",
    "relative_index_stream",
    "remove_fake_quant",
    "share_weights",
    "storage_table",
    "weight_precisions",
]
