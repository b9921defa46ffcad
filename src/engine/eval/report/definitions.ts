// What every number in the report means; shown in report.html and stored in report.json.
export const DEFINITIONS: Record<string, string> = {
  protocol:
    'One inspector per generator, trained on the same normal images (train/good, empty masks) with the same seed and step count; every batch is half normal images, half defect pairs. Tested on all test/good images plus the held-out two thirds of each defect type; the last training step is tested (no model selection on the test set).',
  inspector:
    'Segmentation U-Net with skip connections (GroupNorm + ReLU conv blocks, stride-2 downsampling, nearest upsampling), two output channels, focal loss (gamma 2), Adam.',
  imageScore: 'Maximum of the defect-probability map average-pooled with a k x k window (21 x 21 at 256 x 256, scaled to the working resolution).',
  auroc: 'Area under the ROC curve; ties count half.',
  ap: "Average precision, scikit-learn's step-wise definition: sum over thresholds of (recall increase) x precision.",
  f1Max: 'Largest F1 score over all thresholds.',
  auPro: 'Area under the per-region-overlap curve up to a false-positive rate of 0.3, divided by 0.3 (8-connected ground-truth regions).',
  resolution:
    'Images are resized to the working resolution (about 128 x 128 pixels, the aspect ratio kept, sides multiples of 8); pixel metrics are computed there, against ground-truth masks reduced by area coverage (a pixel is defect when at least 25% of it is).',
  pixelBinning:
    'Pixel metrics are streamed through 65536 bins on the logit scale; the exact values lie within the reported bounds (AUROC: half the tied positive/negative pairs within a bin).',
  maskAlignment: 'Share of the change a generator made (sum of |generated - normal| over RGB) that lies inside its mask; 1 = all change inside the label. Not defined for real defects (none).',
  appearanceDiversity:
    'Mean over pairs of up to 50 training defects of (1 - NCC)/2 between 16x16 grey crops of their mask bounding boxes (NCC = normalised cross-correlation): 0 identical, 0.5 unrelated. Needs no pretrained network.',
  classifier:
    'Defect-type classifier (small CNN on image + mask, cross-entropy, Adam) trained on the generator\'s pairs only and tested on the real held-out defects: accuracy and confusion matrix (rows: true type, columns: predicted). Only for categories with two or more defect types; perlin pairs carry no type, so it sits at chance by design.',
  maskDiversity: 'Mean over pairs of up to 50 training masks of 1 - IoU.',
};
