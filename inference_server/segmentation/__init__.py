"""Finding objects: a segmenter interface, its registry, and torchvision's Mask R-CNN behind it.

    segmenter = load_segmenter("maskrcnn_resnet50_fpn_v2", torch.device("cuda"))   # registry.py
    detections = segmenter.detect(image, score_threshold=0.5, mask_threshold=0.5)  # list[Detection]

Modules: detection.py (the Detection value type), segmenter.py (the base class), maskrcnn.py (Mask R-CNN),
weights.py (finding, checking and loading local weights), registry.py (name -> segmenter), fetch_weights.py (the
installer's download, never used at request time), errors.py (missing weights, nothing found).
This package file imports nothing heavy: `detection` and `errors` load without torch.
"""
