"""Where the extract and split stages put their outputs (relative to the project root)."""

from pathlib import Path

# Raw competition files, inside data.raw_dir.
TRAIN_ZIP, TRAIN_CSV = "train_images.zip", "train_label.csv"
TEST_ZIP, TEST_CSV = "test_images.zip", "test_label.csv"

# The extract stage's folder.
EXTRACTED_DIR = Path("data/extracted")
TRAIN_IMAGES, TEST_IMAGES = "train_images", "test_images"
TRAIN_LABELS, TEST_LIST, TEST_LABELS = "train_labels.tsv", "test_images.txt", "test_labels.tsv"
PROBLEMS, REPORT = "problems.tsv", "report.json"

# The split stage's folder and metrics.
SPLIT_DIR = Path("data/split")
TRAIN_LIST, VAL_LIST, DICT_FILE, SUMMARY = "train.txt", "val.txt", "dict.txt", "summary.md"
# Every counter of extract and split, by split and problem kind (metrics/data.json has the headline).
DATA_REPORT = "data_report.json"
METRICS_FILE = Path("metrics/data.json")
