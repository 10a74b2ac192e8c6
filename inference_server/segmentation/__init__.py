"""Finding objects: a segmenter interface, its registry, and torchvision's Mask R-CNN behind it.

    segmenter = load_segmenter("maskrcnn_resnet50_fpn_v2", torch.device("cuda"))   # registry.py
    detections = segmenter.detect(image, score_threshold=0.5, mask_threshold=0.5)  # list[Detection]

Modules: detection.py (the Detection value type), segmenter.py (the base class), torchvision_maskrcnn.py (what
segmenters built on torchvision's MaskRCNN share), maskrcnn.py (Mask R-CNN, COCO), scene_maskrcnn.py (a light
Mask R-CNN for the synthetic scenes, trained here; scene_training.py is its training code), weights.py (finding,
checking and loading local weights and their configs), registry.py (name -> segmenter), fetch_weights.py (the
installer's download, never used at request time), errors.py (missing weights, nothing found).
This package file imports nothing heavy: `detection` and `errors` load without torch.
"""
