"""mlcore: joint entity and relation extraction for TrialMark (pure PyTorch + transformers)."""

__version__ = "0.1.0"

from .api import JointExtractor, default_encoder_path, evaluate, load_model, train_model  # noqa: E402
from .checkpoint import CheckpointVersionError  # noqa: E402
from .io import read_spert_json, write_spert_json  # noqa: E402
from .registry import available_architectures  # noqa: E402
from .training import TrainingCancelled  # noqa: E402
from .types import Example, Mention, Prediction, Relation, RelationTypeSpec, Schema  # noqa: E402

__all__ = [
    "CheckpointVersionError",
    "Example",
    "JointExtractor",
    "Mention",
    "Prediction",
    "Relation",
    "RelationTypeSpec",
    "Schema",
    "TrainingCancelled",
    "available_architectures",
    "default_encoder_path",
    "evaluate",
    "load_model",
    "read_spert_json",
    "train_model",
    "write_spert_json",
    "__version__",
]
