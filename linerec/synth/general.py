"""General text for keeping what a pretrained reader knows while it learns a new domain.

Rendered lines of the sample's ``realistic`` profile (shop names, addresses, phones, slogans
over PaddleOCR's 6,623-character dictionary, 1-25 characters), written as crop folders in
PaddleOCR's layout (``labels.tsv`` of ``image<TAB>text`` beside the images), the layout extract
reads for a user's own crops:

  replay/   lines a fine-tune may mix into its batches (train_<m>.retain)
  guard/    the default guard set, scored for every model to catch forgetting

Each folder renders from its own stream of the seed, so no crop of one is a crop of the other
or of the sample (a short text can still recur by chance).
"""

from pathlib import Path

from linerec.atomic import atomic_dir
from linerec.synth import text
from linerec.synth.dataset import CropRenderer, SampleSpec

LABEL_FILE = "labels.tsv"
# Streams 0 and 1 are the sample's train and test splits.
FOLDERS = {"replay": 2, "guard": 3}


def write_general(out_dir, seed, counts, difficulty, font_dir=None):
    """Renders ``counts[folder]`` crops into out_dir/<folder>/ for each folder of FOLDERS; the
    whole out_dir appears at once. Returns {folder: number of distinct characters used}."""
    spec = SampleSpec(seed=seed, profile=text.REALISTIC, difficulty=difficulty)
    renderer = CropRenderer(spec, font_dir)
    used = {}
    with atomic_dir(Path(out_dir)) as tmp:
        for folder, stream in FOLDERS.items():
            target = tmp / folder
            target.mkdir()
            rows, texts = [], []
            for name, line, jpeg in renderer.crops(stream, counts[folder]):
                (target / name).write_bytes(jpeg)
                rows.append(f"{name}\t{line}\n")
                texts.append(line)
            (target / LABEL_FILE).write_text("".join(rows), encoding="utf-8")
            used[folder] = len(set("".join(texts)))
    return used
