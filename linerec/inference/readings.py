"""Reading crop files with an exported model and writing what it read: the predict stage and
``python -m linerec.recognize`` both go through here.

A crop that is missing or cannot be decoded gets an empty reading with confidence 0, and the
caller is told which and why, so a bad file never stops a run nor shifts the rows.
"""

from tqdm import tqdm

from linerec.inference.preprocess import read_image

EMPTY = ("", 0.0)


def load_crop(path):
    """(BGR image, None), or (None, why not) for a file that is missing or unreadable."""
    if not path.exists():
        return None, "not found"
    try:
        image = read_image(path)
    except OSError as error:
        return None, error.strerror or type(error).__name__
    return (None, "unreadable image") if image is None else (image, None)


def recognize_files(predictor, paths, **progress_bar):
    """([(text, confidence)] in path order, EMPTY where a crop cannot be read; [(position, why
    not)] of those crops). ``progress_bar``: tqdm's options for the bar over readable crops."""
    images, positions, failures = [], [], []
    for position, path in enumerate(paths):
        image, reason = load_crop(path)
        if image is None:
            failures.append((position, reason))
        else:
            positions.append(position)
            images.append(image)
    results = [EMPTY] * len(paths)
    if images:
        with tqdm(total=len(images), unit="img", mininterval=2.0, **progress_bar) as bar:
            for position, result in zip(positions, predictor.predict(images, progress=bar.update)):
                results[position] = result
    return results, failures


def write_readings(out, key_column, names, results):
    """``key_column<TAB>text<TAB>confidence``, then a row per name, to an open text stream."""
    out.write(f"{key_column}\ttext\tconfidence\n")
    for name, (text, confidence) in zip(names, results):
        out.write(f"{name}\t{text}\t{confidence:.5f}\n")
