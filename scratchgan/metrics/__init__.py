"""How good are generated digits? Scores computed with an MNIST classifier trained by scratchgan.

    from scratchgan.metrics import evaluate_samples, real_floor
    scores = evaluate_samples(samples)        # samples: (N, 1, 28, 28) in [-1, 1]
    floor = real_floor(scores["n"])           # the same scores for real digits

* ``frechet_distance``: between Gaussians fitted to the classifier's 128 penultimate features of
  the samples and of the MNIST test set (an FID, but with an MNIST network: not comparable with
  the Inception FIDs in papers). Lower is better; it grows as n shrinks, so compare at equal n.
* ``classifier_score``: exp(E KL(p(y|x) || p(y))), the Inception-score analogue, 1 to 10.
* ``class_histogram`` and ``coverage_kl``: how often each digit is generated; KL to uniform.
* ``nearest_train_distance``: mean pixel distance to the nearest training image; far below the
  real floor means memorisation.
"""
from scratchgan.metrics.classifier import (FEATURE_DIM, MnistClassifier, features,
                                           features_and_proba, load_classifier, predict_proba)
from scratchgan.metrics.evaluation import (MetricsWarning, evaluate_samples, real_floor,
                                           reference_statistics)
from scratchgan.metrics.samples import MetricsError, check_samples, read_samples, to_model_range
from scratchgan.metrics.scores import (class_histogram, classifier_score, coverage_kl,
                                       feature_statistics, frechet_distance,
                                       frechet_distance_from_statistics, label_agreement,
                                       nearest_distances, nearest_train_distance)

__all__ = ["MnistClassifier", "load_classifier", "features", "predict_proba", "features_and_proba",
           "FEATURE_DIM", "evaluate_samples", "real_floor", "reference_statistics", "MetricsError",
           "MetricsWarning", "check_samples", "read_samples", "to_model_range", "frechet_distance",
           "frechet_distance_from_statistics", "feature_statistics", "classifier_score",
           "class_histogram", "coverage_kl", "label_agreement", "nearest_train_distance",
           "nearest_distances"]
